"""The Keras 3 back end of ``export_tflite`` (TensorFlow back end): trace, check, convert.

A Keras 3 model computes its grids with ``keras.ops``, which TFLite's converter cannot read as
int8 grids. So the model is traced into a ``tf.function`` inside ``lowering.lowered(...)``:
every grid of ``quantizer_utils`` is then computed by TensorFlow's fused fake-quant ops (the
ops Keras 2 computes with, ``tflite_grids.fused_fake_quant``) and a ``Dense``, ``Conv1D`` or
``DepthwiseConv1D`` whose weight is quantized per channel by its TFLite form (``tflite_forms``),
and that function is converted (``from_concrete_functions``). Values are those of the Keras
model up to float32 rounding; the model itself is not changed.

What int8 can hold is judged as for Keras 2 (``tflite_grids``): each quantizer is traced the
same way and its fake-quant op read. Layers: Dense, Conv1D, Conv2D, DepthwiseConv1D/2D and
Conv2DTranspose (per tensor) convert; Conv3D, Conv3DTranspose, Conv1DTranspose and a wrapped
SeparableConv1D/2D are refused with the reason.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from ..common.base_trainable_quantizer import BaseTrainableQuantizer
from ..tflite_forms import (
    FormSpec,
    as_4d,
    form_for_weights,
    form_of,
    layer_forms,
    per_channel_axis,
    takes_form_inputs,
)
from ..tflite_grids import activation_problem, fake_quant_grid, fused_fake_quant, weights_problem
from .compat import keras
from .lowering import LayerForm, lowered
from .quantization_wrapper import KerasQuantizationWrapper

# Keras 3 keeps a depthwise convolution's weight in ``kernel``
TFLITE_FORMS = layer_forms(keras.layers, depthwise_attribute="kernel")

_SEPARABLE = (
    "the depthwise result inside it is not quantized, but TFLite computes it as a tensor of "
    "its own; build it as DepthwiseConv + Conv(kernel_size=1), each wrapped"
)
# inner layer class -> why TFLite cannot run it in int8, whatever its quantizers
_NO_INT8_KERNEL = {
    keras.layers.Conv3D: "TFLite's CONV_3D kernel takes float only",
    keras.layers.Conv3DTranspose: "TFLite's CONV_3D_TRANSPOSE kernel takes float only",
    keras.layers.Conv1DTranspose: (
        "TFLite's converter leaves its TRANSPOSE_CONV and bias ADD in float; use a "
        "Conv2DTranspose on [batch, 1, steps, channels] inputs"
    ),
    keras.layers.SeparableConv1D: _SEPARABLE,
    keras.layers.SeparableConv2D: _SEPARABLE,
}
_TRANSPOSED = (keras.layers.Conv2DTranspose,)


class TFLiteLowering:
    """The ops a Keras 3 model is traced with for TFLite (``lowering.GraphLowering``)."""

    def fake_quant(self, x: Any, low: Any, high: Any, n_bits: int) -> Any:
        fused = fused_fake_quant(x, low, high, n_bits)
        if fused is None:
            raise ValueError(
                f"no fused fake-quant op computes a {n_bits}-bit grid on a {x.dtype.name} "
                f"tensor of shape {x.shape} with bounds of shape {low.shape}"
            )
        return fused

    def layer_form(self, wrapper: Any, inputs: Any) -> tuple[str, LayerForm, Any] | None:
        spec = _form(wrapper)
        if spec is None or not takes_form_inputs(spec, inputs):
            return None
        return spec.attribute, spec.form, as_4d


LOWERING = TFLiteLowering()


def _form(wrapper: KerasQuantizationWrapper) -> FormSpec | None:
    return form_for_weights(wrapper.layer, wrapper.weights_quantizers, TFLITE_FORMS)


def _traced(call: Any, *specs: tf.TensorSpec) -> Any:
    """``call`` traced into a graph with the TFLite lowering."""

    def lowered_call(*args: Any) -> Any:
        with lowered(LOWERING):
            return call(*args)

    return tf.function(lowered_call, input_signature=list(specs)).get_concrete_function()


class Keras3TFLiteBackend:
    """``export_tflite`` for Keras 3 models (``qat_finalize``'s output) on TensorFlow."""

    def int8_problems(self, model: keras.Model) -> list[str]:
        wrappers = [layer for layer in model.layers if isinstance(layer, KerasQuantizationWrapper)]
        if not wrappers:
            return [f"{model.name!r} has no quantized layer: export the model qat_finalize returns"]
        problems = _unquantized_inputs(model)
        for wrapper in wrappers:
            problems += _wrapper_problems(wrapper)
        return problems

    def converter(self, model: keras.Model) -> tf.lite.TFLiteConverter:
        names, outputs = self.input_names(model), _output_names(model)
        specs = [
            tf.TensorSpec(tensor.shape, tensor.dtype, name=name)
            for tensor, name in zip(model.inputs, names, strict=True)
        ]

        def model_outputs(*inputs: tf.Tensor) -> list[tf.Tensor]:
            values = model(list(inputs) if len(inputs) > 1 else inputs[0], training=False)
            return list(values) if isinstance(values, (list, tuple)) else [values]

        # the weights as constants, as from_keras_model freezes a Keras 2 model: the converter
        # reads a weight's int8 grid from a fake-quant op of a constant
        frozen = convert_variables_to_constants_v2(_traced(model_outputs, *specs))

        def serve(*inputs: tf.Tensor) -> dict[str, tf.Tensor]:  # the signature's names
            return dict(zip(outputs, frozen(*inputs), strict=True))

        function = tf.function(serve, input_signature=specs).get_concrete_function()
        # given with an object to save it with, the function keeps its signature in the file
        return tf.lite.TFLiteConverter.from_concrete_functions([function], tf.Module())

    def predict(self, model: keras.Model, batch: Any) -> dict[str, np.ndarray]:
        outputs = model(batch, training=False)
        if not isinstance(outputs, (list, tuple)):
            outputs = [outputs]
        names = _output_names(model)
        return {name: np.asarray(output) for name, output in zip(names, outputs, strict=True)}

    def input_names(self, model: keras.Model) -> list[str]:
        return [tensor.name for tensor in model.inputs]

    def layer_names(self, model: keras.Model) -> list[str]:
        return [layer.name for layer in model.layers]


BACKEND = Keras3TFLiteBackend()


def _output_names(model: keras.Model) -> list[str]:
    """A Functional model's output names; a Sequential model's last layer."""
    names = getattr(model, "output_names", None)
    return list(names) if names else [model.layers[-1].name]


def _unquantized_inputs(model: keras.Model) -> list[str]:
    """Float inputs read by anything but an input quantizer (qat_init's wrapped Identity)."""
    problems = []
    for tensor in model.inputs:
        readers = _readers(model, tensor)
        floating = keras.backend.is_float_dtype(tensor.dtype)
        if floating and not all(_is_input_quantizer(r) for r in readers):
            problems.append(
                f"input {tensor.name!r} is not quantized (build the QAT model with qat_init's "
                "quantize_inputs=True, the default)"
            )
    return problems


def _readers(model: keras.Model, tensor: Any) -> list[keras.layers.Layer]:
    """The layers that take the model input ``tensor``, read from their call nodes."""
    if isinstance(model, keras.Sequential):
        return model.layers[:1]
    return [
        layer
        for layer in model.layers
        if any(t is tensor for node in layer._inbound_nodes for t in node.input_tensors)
    ]


def _is_input_quantizer(layer: keras.layers.Layer) -> bool:
    return (
        isinstance(layer, KerasQuantizationWrapper)
        and isinstance(layer.layer, keras.layers.Identity)
        and bool(layer.activation_quantizers)
    )


def _lowered_grid(quantizer: Any, shape: Any) -> Any:
    def quantize(x: tf.Tensor) -> Any:
        with lowered(LOWERING):
            return quantizer(x)

    try:
        return fake_quant_grid(quantize, shape)
    except ValueError:  # no fused op computes it: not an int8 grid
        return None


def _wrapper_problems(wrapper: KerasQuantizationWrapper) -> list[str]:
    """Why one wrapped layer cannot become exact int8, one line each."""
    inner = wrapper.layer
    where = f"{wrapper.name} ({type(inner).__name__})"
    quantizers = [*wrapper.weights_quantizers.values(), *wrapper.activation_quantizers]
    if any(isinstance(q, BaseTrainableQuantizer) for q in quantizers):
        return [f"{where} holds trainable quantizers: export the model qat_finalize returns"]
    reason = _NO_INT8_KERNEL.get(type(inner))
    if reason is not None:
        return [f"{where}: {reason}"]
    problems = []
    for attribute, quantizer in wrapper.weights_quantizers.items():
        weight = getattr(inner, attribute)
        problem = weights_problem(quantizer, _lowered_grid(quantizer, weight.shape))
        axis = per_channel_axis(quantizer)
        if problem is None and axis is not None and isinstance(inner, _TRANSPOSED):
            problem = (
                "per-channel weights: TFLite's converter cannot take per-channel transposed-"
                "convolution weights from a fake-quant op; quantize this layer per tensor "
                "(qat_init(..., per_channel=False))"
            )
        if problem is None and axis is not None and axis >= 0 and form_of(inner, TFLITE_FORMS):
            problem = (
                f"channel_axis {axis} counts from the start; counted from the end "
                f"({axis - len(weight.shape)}) the layer runs in a form TFLite keeps per channel"
            )
        if problem is not None:
            problems.append(f"{where} {attribute}: {problem}")
    if not wrapper.activation_quantizers:
        problems.append(
            f"{where}: its output is not quantized (no activation quantizer), so what "
            "reads it would compute in float"
        )
    output_shape = inner.compute_output_shape(wrapper._build_shapes_dict["input_shape"])
    for quantizer in wrapper.activation_quantizers:
        problem = activation_problem(quantizer, _lowered_grid(quantizer, output_shape))
        if problem is not None:
            problems.append(f"{where} output: {problem}")
    return problems
