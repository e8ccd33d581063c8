"""What the export back ends of both Kerases share: the int8 checks of a model of wrappers.

A finalized model is a Keras model whose quantized layers are quantization wrappers and whose
float inputs each pass through an input quantizer first (``qat_init``'s wrapped ``Identity``).
It becomes an exact int8 model when every quantizer's output is computed by a fake-quant op
int8 can hold (``tflite_grids``), every wrapper's output is quantized, and TFLite has an int8
kernel for every wrapped layer. Each back end (``keras/tflite_backend.py``,
``keras3/tflite_backend.py``) subclasses ``WrappedModelBackend`` with its Keras' classes, how it
traces a quantizer and how it converts; TensorFlow only, no Keras here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np
import tensorflow as tf

from .common.base_trainable_quantizer import BaseTrainableQuantizer
from .tflite_forms import FormSpec, form_of, per_channel_axis
from .tflite_grids import FakeQuantGrid, activation_problem, weights_problem

SEPARABLE = (
    "TFLite computes the depthwise result inside it as a tensor of its own, which this wrapper "
    "does not quantize; qat_init splits a separable convolution into its depthwise and "
    "pointwise halves, each wrapped (wrap a DepthwiseConv and a Conv with kernel size 1)"
)


def layers_without_int8_kernel(layers: Any) -> dict[type, str]:
    """Inner layer class of a Keras' ``layers`` -> why TFLite cannot run it in int8, whatever
    its quantizers (a separable convolution wrapped whole: ``SEPARABLE``)."""
    return {
        layers.Conv3D: "TFLite's CONV_3D kernel takes float only",
        layers.Conv3DTranspose: "TFLite's CONV_3D_TRANSPOSE kernel takes float only",
        layers.Conv1DTranspose: (
            "TFLite's converter leaves its TRANSPOSE_CONV and bias ADD in float; use a "
            "Conv2DTranspose on [batch, 1, steps, channels] inputs"
        ),
        layers.SeparableConv1D: SEPARABLE,
        layers.SeparableConv2D: SEPARABLE,
    }


class WrappedModelBackend(ABC):
    """``export_tflite``'s checks, predictions and names for one Keras' finalized models."""

    wrapper_class: ClassVar[type]  # the Keras' quantization wrapper
    identity_class: ClassVar[type]  # the layer an input quantizer wraps
    no_int8_kernel: ClassVar[dict[type, str]]  # inner layer class -> why TFLite has no kernel
    transposed: ClassVar[tuple[type, ...]]  # per-channel weights the converter cannot take
    forms: ClassVar[dict[type, FormSpec]]  # layers computed in a TFLite form per channel

    # what each Keras does its own way
    @abstractmethod
    def converter(self, model: Any) -> tf.lite.TFLiteConverter:
        """The standard converter for the model, no option set."""

    @abstractmethod
    def input_names(self, model: Any) -> list[str]:
        """The model's input names, in the order the model takes its inputs."""

    @abstractmethod
    def output_names(self, model: Any) -> list[str]:
        """The model's output names (the names TFLite signatures use), in order."""

    @abstractmethod
    def readers(self, model: Any, index: int) -> list[Any]:
        """The layers that take the model's input ``index``."""

    @abstractmethod
    def grid(self, quantizer: Any, shape: Any, activation: bool) -> FakeQuantGrid | None:
        """The fake-quant op that computes ``quantizer``'s output on a tensor of ``shape``, as
        the exported graph computes it (None: another op)."""

    @abstractmethod
    def output_shape(self, wrapper: Any) -> Any:
        """The shape of the wrapped layer's output, as it was built."""

    # the same for both
    def int8_problems(self, model: Any) -> list[str]:
        """Why the model cannot become an exact int8 model, one line per layer (none: it can)."""
        wrappers = [layer for layer in model.layers if isinstance(layer, self.wrapper_class)]
        if not wrappers:
            return [f"{model.name!r} has no quantized layer: export the model qat_finalize returns"]
        problems = self._unquantized_inputs(model)
        for wrapper in wrappers:
            problems += self._wrapper_problems(wrapper)
        return problems

    def predict(self, model: Any, batch: Any) -> dict[str, np.ndarray]:
        """The model's outputs in inference, by output name."""
        outputs = model(batch, training=False)
        if not isinstance(outputs, (list, tuple)):
            outputs = [outputs]
        names = self.output_names(model)
        return {name: np.asarray(output) for name, output in zip(names, outputs, strict=True)}

    def layer_names(self, model: Any) -> list[str]:
        """The names of the model's layers, to name the layer behind a TFLite op."""
        return [layer.name for layer in model.layers]

    def _unquantized_inputs(self, model: Any) -> list[str]:
        """Float inputs read by anything but an input quantizer (qat_init's wrapped Identity)."""
        problems = []
        names = self.input_names(model)
        for index, (name, tensor) in enumerate(zip(names, model.inputs, strict=True)):
            readers = self.readers(model, index)
            floating = tf.as_dtype(tensor.dtype).is_floating
            if floating and not all(self._is_input_quantizer(r) for r in readers):
                problems.append(
                    f"input {name!r} is not quantized (build the QAT model with qat_init's "
                    "quantize_inputs=True, the default)"
                )
        return problems

    def _is_input_quantizer(self, layer: Any) -> bool:
        return (
            isinstance(layer, self.wrapper_class)
            and isinstance(layer.layer, self.identity_class)
            and bool(layer.activation_quantizers)
        )

    def _wrapper_problems(self, wrapper: Any) -> list[str]:
        """Why one wrapped layer cannot become exact int8, one line each."""
        inner = wrapper.layer
        where = f"{wrapper.name} ({type(inner).__name__})"
        quantizers = [*wrapper.weights_quantizers.values(), *wrapper.activation_quantizers]
        if any(isinstance(q, BaseTrainableQuantizer) for q in quantizers):
            return [f"{where} holds trainable quantizers: export the model qat_finalize returns"]
        reason = self.no_int8_kernel.get(type(inner))
        if reason is not None:
            return [f"{where}: {reason}"]
        problems = []
        for attribute, quantizer in wrapper.weights_quantizers.items():
            shape = getattr(inner, attribute).shape
            problem = weights_problem(quantizer, self.grid(quantizer, shape, activation=False))
            axis = per_channel_axis(quantizer)
            if problem is None and axis is not None and isinstance(inner, self.transposed):
                problem = (
                    "per-channel weights: TFLite's converter cannot take per-channel transposed-"
                    "convolution weights from a fake-quant op; quantize this layer per tensor "
                    "(qat_init(..., per_channel=False)), as tfmot does"
                )
            if problem is None and axis is not None and axis >= 0 and form_of(inner, self.forms):
                problem = (
                    f"channel_axis {axis} counts from the start; counted from the end "
                    f"({axis - len(shape)}) the layer runs in a form TFLite keeps per channel"
                )
            if problem is not None:
                problems.append(f"{where} {attribute}: {problem}")
        if not wrapper.activation_quantizers:
            problems.append(
                f"{where}: its output is not quantized (no activation quantizer), so what "
                "reads it would compute in float"
            )
        output_shape = self.output_shape(wrapper)
        for quantizer in wrapper.activation_quantizers:
            problem = activation_problem(quantizer, self.grid(quantizer, output_shape, True))
            if problem is not None:
                problems.append(f"{where} output: {problem}")
        return problems
