"""``export_tflite``: a finalized model to a TensorFlow Lite file, checked against the model.

Two exports:

- ``mode="int8"``: the two lines that turn a quantization-aware model into an int8 model,
  ``tf.lite.TFLiteConverter.from_keras_model(model)`` with ``optimizations =
  [tf.lite.Optimize.DEFAULT]``. Weights and activations become int8 tensors whose scales and
  zero points are the grids of the model's quantizers, so the integer model computes the grid
  the Keras model simulates. A model whose grids int8 cannot hold (a custom method's own
  levels, more than 8 bits, ...) is refused before conversion, naming each layer; so is a
  result in which some op still computes in float (``allow_float_ops=True`` accepts it).
- ``mode="float"``: the model as it is, its fake-quant ops computed in float. Always converts
  and computes what the Keras model computes.

Given representative data (a callable returning input batches, as the converter and
``qat_init`` take it), the TFLite interpreter runs on it beside the Keras model, and the
report says how often the outputs agree and by how many output quantization steps they differ
at most.

What depends on the Keras in use (which checks, how to convert and predict) comes from a
back end chosen by the model's class: ``BACKENDS`` maps the root package of the model's
classes to the module that implements ``TFLiteBackend``: Keras 2 (``tf_keras``) and Keras 3 on
its TensorFlow back end (``keras``; another back end is refused with the way to export).
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import tensorflow as tf

from .common.representative_dataset import RepresentativeDataset, input_batches

# root package of a model's classes -> module defining ``BACKEND`` (a ``TFLiteBackend``)
BACKENDS = {
    "tf_keras": f"{__package__}.keras.tflite_backend",
    "keras": f"{__package__}.keras3.tflite_backend",
}

MODES = ("int8", "float")
_BOUNDARY_OPS = {"QUANTIZE", "DEQUANTIZE"}


class TFLiteExportError(ValueError):
    """The model cannot be exported as asked; the message names the layers and the way out."""


class TFLiteBackend(Protocol):
    """What ``export_tflite`` needs from a Keras back end."""

    def int8_problems(self, model: Any) -> list[str]:
        """Why the model cannot become an exact int8 model, one line per layer (none: it can)."""

    def converter(self, model: Any) -> tf.lite.TFLiteConverter:
        """The standard converter for the model, no option set."""

    def predict(self, model: Any, batch: Any) -> dict[str, np.ndarray]:
        """The model's outputs in inference, by output name (the names TFLite signatures use)."""

    def input_names(self, model: Any) -> list[str]:
        """The model's input names, in the order the model takes its inputs."""

    def layer_names(self, model: Any) -> list[str]:
        """The names of the model's layers, to name the layer behind a TFLite op."""


@dataclass(frozen=True)
class Agreement:
    """How the TFLite model's outputs compare with the Keras model's on the same inputs."""

    samples: int
    identical_samples: float  # share of samples whose every output value is the same
    identical_values: float  # share of output values that are the same
    max_steps: float | None  # largest difference in output quantization steps (None: no grid)
    max_difference: float  # largest absolute difference
    kernels_note: str | None = None  # why the check ran on the reference kernels, if it did

    def __str__(self) -> str:
        steps = "" if self.max_steps is None else f"{self.max_steps:.3g} output step(s), "
        note = f"\n{self.kernels_note}" if self.kernels_note else ""
        return (
            f"on {self.samples} samples the TFLite outputs equal the model's on "
            f"{100 * self.identical_samples:.2f}% of samples ({100 * self.identical_values:.2f}% "
            f"of values); largest difference {steps}{self.max_difference:.3g}{note}"
        )


@dataclass(frozen=True)
class TFLiteExport:
    """What ``export_tflite`` wrote and what the check found."""

    path: Path
    mode: str
    size_bytes: int
    int8_io: bool
    float_ops: tuple[str, ...]  # int8 mode: ops still computing in float, with their layer
    agreement: Agreement | None  # None: no representative data given

    def __str__(self) -> str:
        if self.mode == "float":
            kind = "float; each fake-quant op a QUANTIZE/DEQUANTIZE pair"
        else:
            kind = "int8 weights and activations" + (", int8 input/output" if self.int8_io else "")
            if self.float_ops:
                kind += f"; in float: {', '.join(self.float_ops)}"
        lines = [f"wrote {self.path} ({self.size_bytes / 1024:.1f} KiB, {kind})"]
        lines.append(str(self.agreement) if self.agreement else "not checked: no data given")
        return "\n".join(lines)


def export_tflite(
    model: Any,
    path: str | os.PathLike[str],
    representative_dataset: RepresentativeDataset | None = None,
    *,
    mode: str = "int8",
    int8_io: bool = False,
    allow_float_ops: bool = False,
) -> TFLiteExport:
    """Convert ``model`` (as ``qat_finalize`` returns it) to a ``.tflite`` file at ``path``.

    ``mode`` is ``"int8"`` or ``"float"`` (fake-quant ops in float); ``int8_io=True`` makes the
    int8 model take and return int8 tensors (quantize inputs with the input's scale and zero
    point from the interpreter's input details). ``representative_dataset`` (a callable
    returning input batches) is used to check the file, not to convert it. Nothing is written
    unless the export succeeds.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if int8_io and mode != "int8":
        raise ValueError("int8_io=True needs mode='int8': a float model takes float inputs")
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write {path}: folder {path.parent} does not exist")
    backend = backend_for(model)
    if mode == "int8":
        problems = backend.int8_problems(model)
        if problems:
            raise TFLiteExportError(_refusal(problems))
    content = _convert(backend.converter(model), mode, int8_io)
    float_ops: tuple[str, ...] = ()
    if mode == "int8":
        float_ops = float_ops_of(content, backend.layer_names(model))
        if float_ops and not allow_float_ops:
            raise TFLiteExportError(
                _refusal([f"{op} computes in float" for op in float_ops])
                + " (or pass allow_float_ops=True to keep those ops in float)"
            )
    agreement = None
    if representative_dataset is not None:
        agreement = check_agreement(content, model, backend, representative_dataset)
    _write_atomically(path, content)
    return TFLiteExport(path, mode, len(content), int8_io, float_ops, agreement)


def backend_for(model: Any) -> TFLiteBackend:
    """The back end for ``model``'s Keras, from the root package of its classes."""
    for cls in type(model).__mro__:
        root = cls.__module__.split(".")[0]
        if root == "keras" and (name := sys.modules["keras"].config.backend()) != "tensorflow":
            raise TFLiteExportError(
                f"{type(model).__name__} is a Keras 3 model on the {name} back end: export_tflite "
                "traces it with TensorFlow; run the export with KERAS_BACKEND=tensorflow "
                "(qi3.load_quantized_model reads the .keras file saved on any back end)"
            )
        if root in BACKENDS:
            return importlib.import_module(BACKENDS[root]).BACKEND
    raise TypeError(f"expected a Keras model, got {type(model).__name__}")


def _refusal(problems: Sequence[str]) -> str:
    return (
        f"cannot export an exact int8 TFLite model: {'; '.join(problems)}. The fake-quant "
        "(float) export always works: export_tflite(model, path, mode='float')"
    )


def _convert(converter: tf.lite.TFLiteConverter, mode: str, int8_io: bool) -> bytes:
    if mode == "int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if int8_io:
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
    try:
        with warnings.catch_warnings():
            # asks for input ranges when the input is float; the input quantizer gives them
            warnings.filterwarnings("ignore", "Statistics for quantized inputs were expected")
            return converter.convert()
    except Exception as error:  # the converter raises several types, all with MLIR text
        lines = [line.strip() for line in str(error).splitlines() if "error:" in line]
        reason = lines[0].split("error:", 1)[1].strip() if lines else f"{error}"[:300]
        raise TFLiteExportError(
            f"TensorFlow Lite's converter failed ({mode}): {reason}. The fake-quant (float) "
            "export always works: export_tflite(model, path, mode='float')"
        ) from error


def _interpreter(content: bytes, delegates: bool = True) -> tf.lite.Interpreter:
    """The TFLite interpreter; with the default delegate (XNNPACK), as a device runs it."""
    resolver = tf.lite.experimental.OpResolverType
    kind = resolver.AUTO if delegates else resolver.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    with warnings.catch_warnings():
        # TF 2.21 still ships it; its successor (ai_edge_litert) runs the same kernels
        warnings.filterwarnings("ignore", "\\s*Warning: tf.lite.Interpreter is deprecated")
        return tf.lite.Interpreter(model_content=content, experimental_op_resolver_type=kind)


def float_ops_of(content: bytes, layer_names: Sequence[str]) -> tuple[str, ...]:
    """The ops that compute in float (not the boundary (de)quantization), as ``OP (layer)``."""
    interpreter = _interpreter(content, delegates=False)
    tensors = {d["index"]: d for d in interpreter.get_tensor_details()}
    found = []
    for op in interpreter._get_ops_details():  # the public API lists tensors, not ops
        outputs = [tensors[i] for i in op["outputs"] if i in tensors]
        if op["op_name"] in _BOUNDARY_OPS or not any(t["dtype"] == np.float32 for t in outputs):
            continue
        layers = _layers_in(outputs[0]["name"], layer_names) if outputs else []
        found.append(f"{op['op_name']} ({', '.join(layers) or 'unnamed'})")
    return tuple(dict.fromkeys(found))


def _layers_in(tensor_name: str, layer_names: Sequence[str]) -> list[str]:
    """The layers whose name is a component of a TFLite tensor name (``model/quant_x/Relu``;
    a Keras 3 name scope may add a suffix, ``quant_x_1``)."""
    parts = {part for name in tensor_name.split(";") for part in name.split("/")}
    return [
        name
        for name in layer_names
        if name in parts or any(re.fullmatch(rf"{re.escape(name)}_\d+", p) for p in parts)
    ]


def check_agreement(
    content: bytes, model: Any, backend: TFLiteBackend, representative_dataset: Any
) -> Agreement:
    """Run the TFLite model and the Keras model on every batch and compare their outputs."""
    interpreter, kernels_note = _checking_interpreter(content)
    runner = interpreter.get_signature_runner()
    inputs = runner.get_input_details()
    outputs = runner.get_output_details()
    steps = _output_steps(_interpreter(content, delegates=False), outputs)  # ops undelegated
    names = backend.input_names(model)
    samples = same_samples = values = same_values = 0
    max_steps, max_difference = 0.0, 0.0
    for batch in input_batches(representative_dataset, len(names)):
        arrays = _as_arrays(batch, names)
        feed = {name: _to_input(arrays[name], inputs[name]) for name in inputs}
        got = runner(**feed)
        expected = backend.predict(model, batch)
        sample_equal = None
        for name, detail in outputs.items():
            actual = _from_output(got[name], detail)
            difference = np.abs(actual - np.asarray(expected[name], np.float64))
            step = steps[name]
            equal = difference <= (0.5 * step if step else 0.0)
            per_sample = equal.reshape(len(equal), -1).all(axis=1)
            sample_equal = per_sample if sample_equal is None else sample_equal & per_sample
            values += equal.size
            same_values += int(equal.sum())
            max_difference = max(max_difference, float(difference.max(initial=0.0)))
            if step:
                max_steps = max(max_steps, float(difference.max(initial=0.0)) / step)
        samples += len(sample_equal)
        same_samples += int(sample_equal.sum())
    if not samples:
        raise ValueError("representative_dataset() yielded no batch: it must yield input batches")
    has_grid = all(steps.values())
    return Agreement(
        samples,
        same_samples / samples,
        same_values / values,
        round(max_steps, 3) if has_grid else None,  # both on the grid: whole steps apart
        max_difference,
        kernels_note,
    )


def _checking_interpreter(content: bytes) -> tuple[tf.lite.Interpreter, str | None]:
    """The interpreter to check with: the default delegate's (XNNPACK), or TFLite's reference
    kernels when that delegate refuses the model (it takes an op's requantization scale, input
    step x weight step / output step, in a limited range only), with a note saying so."""
    interpreter = _interpreter(content)
    try:
        interpreter.allocate_tensors()
        return interpreter, None
    except RuntimeError as error:
        reason = " ".join(str(error).split())
        note = (
            f"note: TFLite's default delegate (XNNPACK) refused the model ({reason}): checked "
            "with TFLite's reference kernels; an output step far finer than input step x "
            "weight step (an activation range that collapsed in training) is the usual cause"
        )
        return _interpreter(content, delegates=False), note


def _output_steps(interpreter: tf.lite.Interpreter, outputs: dict[str, dict]) -> dict[str, float]:
    """Each output's quantization step: its own scale (int8 output) or that of the int8 tensor
    its final DEQUANTIZE reads; 0.0 for an output computed in float."""
    producers = {}
    for op in interpreter._get_ops_details():
        for index in op["outputs"]:
            producers[index] = op
    tensors = {d["index"]: d for d in interpreter.get_tensor_details()}
    steps = {}
    for name, detail in outputs.items():
        scale = _scale(detail)
        op = producers.get(detail["index"])
        if not scale and op is not None and op["op_name"] == "DEQUANTIZE":
            scale = _scale(tensors[op["inputs"][0]])
        steps[name] = scale
    return steps


def _scale(detail: dict) -> float:
    scales = detail["quantization_parameters"]["scales"]
    return float(scales[0]) if len(scales) == 1 else 0.0


def _as_arrays(batch: Any, names: list[str]) -> dict[str, np.ndarray]:
    if isinstance(batch, dict):
        return {name: np.asarray(batch[name]) for name in names}
    parts = batch if isinstance(batch, list) else [batch]
    return {name: np.asarray(part) for name, part in zip(names, parts, strict=True)}


def _to_input(array: np.ndarray, detail: dict) -> np.ndarray:
    if detail["dtype"] != np.int8:
        return array.astype(detail["dtype"])
    scale, zero_point = detail["quantization"]
    codes = np.floor(array.astype(np.float64) / scale + 0.5) + zero_point
    return np.clip(codes, -128, 127).astype(np.int8)


def _from_output(array: np.ndarray, detail: dict) -> np.ndarray:
    if detail["dtype"] != np.int8:
        return array.astype(np.float64)
    scale, zero_point = detail["quantization"]
    return (array.astype(np.float64) - zero_point) * scale


def _write_atomically(path: Path, content: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
