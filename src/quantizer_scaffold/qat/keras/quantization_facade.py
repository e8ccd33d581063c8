"""Model in, model out: ``qat_init`` wraps a float Keras model for QAT, ``qat_finalize`` exports it.

``qat_init`` clones a Functional or Sequential model, wrapping every layer it knows how to
quantize in a ``KerasQuantizationWrapper`` whose quantizers come from the dispatcher and
whose initial parameters come from data: weight thresholds (or ranges) from the kernel,
activation thresholds, signedness and ranges from the outputs over the representative
dataset. With activations quantized, each float model input passes through an activation
quantizer first (``quant_<input>``, an ``Identity`` layer wrapped, as tfmot's ``QuantizeLayer``
does), so an int8 model starts from a known grid. A separable convolution is first split into
its depthwise and pointwise halves (``separable.py``), so the tensor between them gets an
activation quantizer too, as TFLite computes it. Once the clone holds the float weights, the
calibration step runs each trainable quantizer's ``calibrate`` hook (weights quantizers on
their weight, activation quantizers that override ``calibrate`` on the layer's representative
outputs). Layers it does not quantize are left as they are and listed in ``model.qat_report``
(and in a log warning when they hold weights). ``qat_finalize`` replaces every trainable
quantizer with its ``convert2inferable()``; the result predicts exactly what the QAT model
predicts in inference mode and reloads with ``load_quantized_model``.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.qat.common.qat_config import QATConfig
from quantizer_scaffold.qat.keras.quantizer.quantization_dispatcher_builder import (
    get_trainable_quantizer_class,
)
from quantizer_scaffold.qat.keras.separable import split_separable_convolutions
from quantizer_scaffold.quantizers_infrastructure.common.node_config import DEFAULT_MIN_THRESHOLD
from quantizer_scaffold.quantizers_infrastructure.common.representative_dataset import (
    RepresentativeDataset,
    input_batches,
)
from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras

logger = logging.getLogger(__name__)

LayerCopier = Callable[[keras.layers.Layer], keras.layers.Layer]

# layer class -> {weight attribute: its output-channel axis, counted from the end}; matched by
# exact class, so a user's subclass (which may change what the weight means) is reported, not
# guessed at. Axes from the end stay right when the kernel is viewed with leading unit axes
# (the TFLite forms of quantization_wrapper). Separable convolutions are wrapped whole only
# where they do not split (separable.py).
QUANTIZED_WEIGHTS: dict[type, dict[str, int]] = {
    keras.layers.Dense: {"kernel": -1},
    keras.layers.Conv1D: {"kernel": -1},
    keras.layers.Conv2D: {"kernel": -1},
    keras.layers.Conv3D: {"kernel": -1},
    keras.layers.Conv1DTranspose: {"kernel": -2},
    keras.layers.Conv2DTranspose: {"kernel": -2},
    keras.layers.Conv3DTranspose: {"kernel": -2},
    keras.layers.DepthwiseConv1D: {"depthwise_kernel": -2},
    keras.layers.DepthwiseConv2D: {"depthwise_kernel": -2},
    keras.layers.SeparableConv1D: {"depthwise_kernel": -2, "pointwise_kernel": -1},
    keras.layers.SeparableConv2D: {"depthwise_kernel": -2, "pointwise_kernel": -1},
}


@dataclass(frozen=True)
class QATReport:
    """What ``qat_init`` did to each layer: wrapped, or left alone and why."""

    quantized: tuple[str, ...] = ()
    skipped: dict[str, str] = field(default_factory=dict)
    # the skipped layers a user most likely meant to quantize: they hold weights
    skipped_with_weights: tuple[str, ...] = ()
    quantized_inputs: tuple[str, ...] = ()
    # separable convolution -> the layers it was split into, each wrapped (separable.py)
    split: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [f"quantized {len(self.quantized)} layer(s): {', '.join(self.quantized)}"]
        if self.quantized_inputs:
            lines.append(f"quantized input(s): {', '.join(self.quantized_inputs)}")
        lines += [f"split {name} into {halves}" for name, halves in self.split.items()]
        lines += [f"left unquantized: {name} ({reason})" for name, reason in self.skipped.items()]
        return "\n".join(lines)


def qat_init(
    model: keras.Model,
    representative_dataset: RepresentativeDataset | None = None,
    qat_config: QATConfig | None = None,
    weights_n_bits: int = 8,
    activation_n_bits: int = 8,
    weights_method: qi.QuantizationMethod | None = qi.QuantizationMethod.SYMMETRIC,
    activation_method: qi.QuantizationMethod | None = qi.QuantizationMethod.SYMMETRIC,
    per_channel: bool = True,
    quantize_inputs: bool = True,
) -> keras.Model:
    """A new, uncompiled model with every supported layer wrapped for quantization-aware training.

    ``representative_dataset`` is a callable returning an iterable of input batches (as TFLite's
    converter takes it); it is required unless ``activation_method`` is None. Pass
    ``weights_method=None`` to quantize activations only, ``quantize_inputs=False`` to leave the
    model's float inputs unquantized (an int8 export then needs them quantized some other
    way). ``model`` itself is not changed.
    """
    qat_config = qat_config or QATConfig()
    _check_model(model)
    if weights_method is None and activation_method is None:
        raise ValueError("nothing to quantize: weights_method and activation_method are both None")
    if weights_method is not None:
        make_weights_quantizer, _ = _quantizer_factory(
            qat_config.weight_training_method,
            weights_method,
            qi.QuantizationTarget.Weights,
            qat_config.weight_quantizer_params_override,
            "weight_quantizer_params_override",
        )
    calibrates_activations = False
    if activation_method is not None:
        make_activation_quantizer, activation_class = _quantizer_factory(
            qat_config.activation_training_method,
            activation_method,
            qi.QuantizationTarget.Activation,
            qat_config.activation_quantizer_params_override,
            "activation_quantizer_params_override",
        )
        calibrates_activations = activation_class.has_calibration()
    if activation_method is not None and representative_dataset is None:
        raise ValueError(
            "activation quantization needs data to set its thresholds: pass "
            "representative_dataset=<callable returning input batches>, or "
            "activation_method=None to quantize weights only"
        )

    model, split = split_separable_convolutions(model)
    plan, report = _plan(model)
    report = replace(report, split=split)
    if not plan:
        supported = ", ".join(sorted(cls.__name__ for cls in QUANTIZED_WEIGHTS))
        raise ValueError(f"no layer of {model.name!r} can be quantized: qat_init wraps {supported}")
    inputs: dict[str, str] = {}
    if activation_method is not None and quantize_inputs:
        inputs, not_float = _float_inputs(model)
        report = replace(
            report,
            quantized_inputs=tuple(inputs),
            skipped={**not_float, **report.skipped},
        )
    statistics, outputs = (
        _output_statistics(model, plan, inputs, representative_dataset, keep=calibrates_activations)
        if activation_method is not None
        else ({}, {})
    )

    # each float input gets an Identity layer, wrapped with its quantizer like any other layer
    identities = {f"{name}_identity": name for name in inputs}

    def wrap(layer: keras.layers.Layer, copy_layer: LayerCopier) -> keras.layers.Layer:
        if layer.name in identities:
            name = identities[layer.name]
            config = _activation_config(statistics[name], activation_method, activation_n_bits)
            return qi.KerasQuantizationWrapper(
                copy_layer(layer),
                activation_quantizers=[make_activation_quantizer(config)],
                name=inputs[name],
            )
        if layer.name not in plan:
            return copy_layer(layer)
        weights_quantizers = {}
        if weights_method is not None:
            for attribute, axis in plan[layer.name].items():
                kernel = keras.backend.get_value(getattr(layer, attribute))
                config = _weights_config(kernel, axis, weights_method, weights_n_bits, per_channel)
                weights_quantizers[attribute] = make_weights_quantizer(config)
        activation_quantizers = []
        if activation_method is not None:
            config = _activation_config(
                statistics[layer.name], activation_method, activation_n_bits
            )
            activation_quantizers.append(make_activation_quantizer(config))
        return qi.KerasQuantizationWrapper(
            copy_layer(layer),
            weights_quantizers=weights_quantizers,
            activation_quantizers=activation_quantizers,
        )

    source = _with_input_identities(model, identities) if identities else model
    qat_model = _clone(source, wrap)
    # the calibration step: the clone now holds the float weights (an input quantizer's
    # Identity layer is named after its input, whose values are kept under the input's name)
    for layer in qat_model.layers:
        if isinstance(layer, qi.KerasQuantizationWrapper):
            name = identities.get(layer.layer.name, layer.layer.name)
            layer.calibrate([outputs.get(name)])
    _log_report(report, model)
    qat_model.qat_report = report
    return qat_model


def qat_finalize(qat_model: keras.Model) -> keras.Model:
    """A new model with every trainable quantizer replaced by its ``convert2inferable()``.

    In inference mode it predicts what ``qat_model`` predicts; save it with ``model.save`` and
    reload it with ``qi.load_quantized_model``.
    """
    _check_model(qat_model)
    if not any(isinstance(layer, qi.KerasQuantizationWrapper) for layer in qat_model.layers):
        raise ValueError(
            f"{qat_model.name!r} has no KerasQuantizationWrapper layer: pass the model that "
            "qat_init returned"
        )

    def convert(layer: keras.layers.Layer, copy_layer: LayerCopier) -> keras.layers.Layer:
        if isinstance(layer, qi.KerasQuantizationWrapper):
            return layer.convert_to_inferable_quantizers()
        return copy_layer(layer)

    return _clone(qat_model, convert)


def _check_model(model: Any) -> None:
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"expected a tf_keras Model, got {type(model).__name__}: build the model with "
            "quantizer_scaffold.quantizers_infrastructure.keras.compat.keras (Keras 2)"
        )
    # tf_keras marks Functional models and Sequential models with a known input this way;
    # only those have a layer graph that clone_model can rebuild
    if not getattr(model, "_is_graph_network", False) or not model.inputs:
        raise TypeError(
            f"{type(model).__name__} {model.name!r} is not a Functional model or a Sequential "
            "model with a known input: subclassed models cannot be cloned layer by layer; "
            "build it with keras.Input (or give the Sequential an input_shape)"
        )


def _quantizer_factory(
    training_method: Any,
    method: qi.QuantizationMethod,
    target: qi.QuantizationTarget,
    override: dict[str, Any] | None,
    override_name: str,
) -> tuple[Callable[[Any], qi.BaseTrainableQuantizer], type]:
    """Resolve the quantizer class (and check the override) before touching the model."""
    quantizer_class = get_trainable_quantizer_class(training_method, method, target)
    override = dict(override or {})
    parameters = inspect.signature(quantizer_class).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    unknown = sorted(set(override) - set(parameters) - {"quantization_config"})
    if unknown and not takes_any:
        raise ValueError(
            f"{override_name} has {unknown}, which {quantizer_class.__name__}() does not take "
            f"(it takes: {', '.join(parameters)})"
        )
    return (lambda config: quantizer_class(config, **override)), quantizer_class


def _plan(model: keras.Model) -> tuple[dict[str, dict[str, int]], QATReport]:
    """Which layers get wrapped (name -> weight attribute -> channel axis), and the report."""
    plan: dict[str, dict[str, int]] = {}
    skipped: dict[str, str] = {}
    with_weights: list[str] = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        weights = QUANTIZED_WEIGHTS.get(type(layer))
        if weights is not None:
            plan[layer.name] = dict(weights)
        elif isinstance(layer, keras.Model):
            skipped[layer.name] = "nested model: its layers are not wrapped; build the model flat"
            with_weights.append(layer.name)
        elif layer.weights:
            skipped[layer.name] = f"{type(layer).__name__} holds weights but has no quantizer"
            with_weights.append(layer.name)
        else:
            skipped[layer.name] = f"{type(layer).__name__} has no weights; output not quantized"
    return plan, QATReport(tuple(plan), skipped, tuple(with_weights))


def _float_inputs(model: keras.Model) -> tuple[dict[str, str], dict[str, str]]:
    """The model's float inputs (name -> its quantizer layer's name) and why others are not."""
    quantized, skipped = {}, {}
    for name, tensor in zip(model.input_names, model.inputs, strict=True):
        if tensor.dtype.is_floating:
            quantized[name] = f"quant_{name}"
        else:
            skipped[name] = f"{tensor.dtype.name} input: only float inputs are quantized"
    return quantized, skipped


def _with_input_identities(model: keras.Model, identities: dict[str, str]) -> keras.Model:
    """A copy of ``model`` (same weights) with an ``Identity`` layer after each named input.

    ``identities`` maps each new layer's name to its input's. The layers are spliced into the
    model's config, between the input and the layers that read it.
    """
    config = model.get_config()
    renamed = {name: identity for identity, name in identities.items()}
    functional = not isinstance(model, keras.Sequential)
    layers = []
    for layer in config["layers"]:
        if functional and layer["class_name"] != "InputLayer":
            layer["inbound_nodes"] = _renamed_inputs(layer["inbound_nodes"], renamed)
        layers.append(layer)
        name = layer["config"].get("name", layer.get("name"))
        if layer["class_name"] == "InputLayer" and name in renamed:
            entry = keras.layers.serialize(keras.layers.Identity(name=renamed[name]))
            if functional:
                entry["name"] = renamed[name]
                entry["inbound_nodes"] = [[[name, 0, 0, {}]]]
            layers.append(entry)
    config["layers"] = layers
    if functional:
        config["output_layers"] = _renamed_inputs(config["output_layers"], renamed)
        copy = keras.Model.from_config(config)
    else:
        copy = keras.Sequential.from_config(config)
    for layer in model.layers:
        copy.get_layer(layer.name).set_weights(layer.get_weights())
    return copy


def _renamed_inputs(nodes: Any, names: dict[str, str]) -> Any:
    """A functional config's ``[layer, node, tensor(, kwargs)]`` references, inputs renamed."""
    if isinstance(nodes, list):
        is_reference = (
            len(nodes) in (3, 4)
            and isinstance(nodes[0], str)
            and all(isinstance(i, int) for i in nodes[1:3])
        )
        if is_reference and nodes[0] in names:
            return [names[nodes[0]], *[_renamed_inputs(part, names) for part in nodes[1:]]]
        return [_renamed_inputs(part, names) for part in nodes]
    if isinstance(nodes, dict):
        return {key: _renamed_inputs(value, names) for key, value in nodes.items()}
    return nodes


def _log_report(report: QATReport, model: keras.Model) -> None:
    logger.info("qat_init(%s): %s", model.name, report)
    if report.skipped_with_weights:
        logger.warning(
            "qat_init(%s) left layers with weights unquantized: %s",
            model.name,
            "; ".join(f"{name} ({report.skipped[name]})" for name in report.skipped_with_weights),
        )


def _clone(
    model: keras.Model,
    replace: Callable[[keras.layers.Layer, LayerCopier], keras.layers.Layer],
) -> keras.Model:
    """Clone ``model`` with ``replace(layer, copy_layer)`` standing in for each layer.

    ``copy_layer`` makes a fresh copy of a layer from its config; the original's weights are
    copied into every such copy once the clone is built.
    """
    pending: list[tuple[keras.layers.Layer, keras.layers.Layer]] = []

    def copy_layer(layer: keras.layers.Layer) -> keras.layers.Layer:
        fresh = layer.__class__.from_config(layer.get_config())
        pending.append((layer, fresh))
        return fresh

    clone = keras.models.clone_model(model, clone_function=lambda layer: replace(layer, copy_layer))
    for source, fresh in pending:
        fresh.set_weights(source.get_weights())
    return clone


def _weights_config(
    kernel: np.ndarray,
    axis: int,
    method: qi.QuantizationMethod,
    n_bits: int,
    per_channel: bool,
) -> qi.NodeWeightsQuantizationConfig:
    """Thresholds (or ranges) that cover the kernel: per output channel, or one for the tensor."""
    channel = axis % kernel.ndim
    reduce_axes = tuple(i for i in range(kernel.ndim) if i != channel) if per_channel else None
    if qi.QuantizationMethod(method) is qi.QuantizationMethod.UNIFORM:
        low = np.min(kernel, axis=reduce_axes)
        high = np.max(kernel, axis=reduce_axes)
        high = np.maximum(high, low + DEFAULT_MIN_THRESHOLD)  # a constant channel still has a range
        params = {"range_min": low.tolist(), "range_max": high.tolist()}
    else:
        threshold = np.maximum(np.max(np.abs(kernel), axis=reduce_axes), DEFAULT_MIN_THRESHOLD)
        params = {"threshold": threshold.tolist()}
    return qi.NodeWeightsQuantizationConfig(
        weights_quantization_method=method,
        weights_n_bits=n_bits,
        weights_quantization_params=params,
        weights_channels_axis=axis if per_channel else None,
        weights_per_channel_threshold=per_channel,
    )


def _activation_config(
    statistics: tuple[float, float], method: qi.QuantizationMethod, n_bits: int
) -> qi.NodeActivationQuantizationConfig:
    """Threshold and sign (or range) that cover every output seen on the representative data."""
    low, high = statistics
    if qi.QuantizationMethod(method) is qi.QuantizationMethod.UNIFORM:
        params: dict[str, Any] = {
            "range_min": low,
            "range_max": max(high, low + DEFAULT_MIN_THRESHOLD),
        }
    else:
        signed = low < 0
        threshold = max(abs(low), abs(high)) if signed else high
        params = {"threshold": max(threshold, DEFAULT_MIN_THRESHOLD), "is_signed": signed}
    return qi.NodeActivationQuantizationConfig(
        activation_quantization_method=method,
        activation_n_bits=n_bits,
        activation_quantization_params=params,
    )


def _output_statistics(
    model: keras.Model,
    plan: dict[str, dict[str, int]],
    inputs: Iterable[str],
    representative_dataset: RepresentativeDataset,
    keep: bool = False,
) -> tuple[dict[str, tuple[float, float]], dict[str, np.ndarray]]:
    """(min, max) of each planned layer's output and of each named model input, over every
    representative batch.

    With ``keep``, also every output itself, the batches (and the calls of a shared layer)
    concatenated on axis 0, for activation quantizers that calibrate from values.
    """
    names: list[str] = []
    outputs = []
    for name in plan:
        for output in _layer_outputs(model, model.get_layer(name)):
            names.append(name)
            outputs.append(output)
    for name, tensor in zip(model.input_names, model.inputs, strict=True):
        if name in inputs:
            names.append(name)
            outputs.append(tensor)
    probe = keras.Model(model.inputs, outputs)
    low = {name: np.inf for name in names}
    high = {name: -np.inf for name in names}
    kept: dict[str, list[np.ndarray]] = {name: [] for name in names} if keep else {}
    seen = 0
    for batch in input_batches(representative_dataset, len(model.inputs)):
        values = probe.predict_on_batch(batch)
        if len(outputs) == 1:
            values = [values]
        for name, value in zip(names, values, strict=True):
            low[name] = min(low[name], float(np.min(value)))
            high[name] = max(high[name], float(np.max(value)))
            if keep:
                kept[name].append(np.asarray(value))
        seen += 1
    if not seen:
        raise ValueError("representative_dataset() yielded no batch: it must yield input batches")
    for name in low:
        if not (np.isfinite(low[name]) and np.isfinite(high[name])):
            what = f"input {name!r}" if name in inputs else f"the output of layer {name!r}"
            raise ValueError(
                f"{what} is not finite on the representative data "
                f"(min {low[name]}, max {high[name]}): check the inputs and the float model"
            )
    return {name: (low[name], high[name]) for name in low}, {
        name: _concatenate(values) for name, values in kept.items()
    }


def _concatenate(values: list[np.ndarray]) -> np.ndarray:
    """Arrays on axis 0; flattened first when a shared layer's calls differ in shape."""
    if len({v.shape[1:] for v in values}) == 1:
        return np.concatenate(values, axis=0)
    return np.concatenate([v.reshape(-1) for v in values])


def _layer_outputs(model: keras.Model, layer: keras.layers.Layer) -> list[Any]:
    """Every output tensor of ``layer`` inside ``model``: one per call of a shared layer.

    ``layer.output`` would silently give the first call only. tf_keras keeps the model's own
    calls in ``_network_nodes`` (keys ``"<layer>_ib-<i>"``); without it, take every call.
    """
    nodes = range(len(layer.inbound_nodes))
    own = getattr(model, "_network_nodes", None)
    if own is not None:
        nodes = [i for i in nodes if f"{layer.name}_ib-{i}" in own]
    return [layer.get_output_at(i) for i in nodes]
