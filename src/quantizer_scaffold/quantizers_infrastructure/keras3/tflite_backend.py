"""The Keras 3 back end of ``export_tflite`` (TensorFlow back end): trace, check, convert.

A Keras 3 model computes its grids with ``keras.ops``, which TFLite's converter cannot read as
int8 grids. So the model is traced into a ``tf.function`` inside ``lowering.lowered(...)``:
every grid of ``quantizer_utils`` is then computed by TensorFlow's fused fake-quant ops (the
ops Keras 2 computes with, ``tflite_grids.fused_fake_quant``) and a ``Dense``, ``Conv1D`` or
``DepthwiseConv1D`` whose weight is quantized per channel (a Dense per tensor too) by its
TFLite form (``tflite_forms``),
and that function is converted (``from_concrete_functions``). Values are those of the Keras
model up to float32 rounding; the model itself is not changed.

What int8 can hold is judged as for Keras 2 (``tflite_grids``): each quantizer is traced the
same way and its fake-quant op read. Layers: Dense, Conv1D, Conv2D, DepthwiseConv1D/2D,
Conv2DTranspose (per tensor) and SeparableConv1D/2D (which ``qat_init`` splits into its two
halves) convert; Conv3D, Conv3DTranspose, Conv1DTranspose and a separable convolution wrapped
whole are refused with the reason.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import tensorflow as tf

# TensorFlow's own freezing, as the converter's from_keras_model path uses it (no public name)
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from ..common.activation_scope import quantizing_activations
from ..tflite_backend import WrappedModelBackend, layers_without_int8_kernel
from ..tflite_forms import (
    FormSpec,
    as_4d,
    form_for_weights,
    layer_forms,
    per_tensor_forms,
    takes_form_inputs,
)
from ..tflite_grids import FakeQuantGrid, fake_quant_grid, fused_fake_quant
from .compat import keras
from .lowering import LayerForm, lowered
from .quantization_wrapper import KerasQuantizationWrapper

# Keras 3 keeps a depthwise convolution's weight in ``kernel``
TFLITE_FORMS = layer_forms(keras.layers, depthwise_attribute="kernel")
PER_TENSOR_FORMS = per_tensor_forms(keras.layers)

_TRANSPOSED = (keras.layers.Conv2DTranspose,)


class TFLiteLowering:
    """The ops a Keras 3 model is traced with for TFLite (``lowering.GraphLowering``)."""

    def fake_quant(self, x: Any, low: Any, high: Any, n_bits: int, activation: bool) -> Any:
        # forward only (an export graph); None: no fused op computes it
        return fused_fake_quant(x, low, high, n_bits, activation, gradient=False)

    def layer_form(self, wrapper: Any, inputs: Any) -> tuple[str, LayerForm, Any] | None:
        spec = _form(wrapper)
        if spec is None or not takes_form_inputs(spec, inputs):
            return None
        return spec.attribute, spec.form, as_4d if spec.in_4d else tf.convert_to_tensor


LOWERING = TFLiteLowering()


def _form(wrapper: KerasQuantizationWrapper) -> FormSpec | None:
    return form_for_weights(
        wrapper.layer, wrapper.weights_quantizers, TFLITE_FORMS, PER_TENSOR_FORMS
    )


def _traced(call: Any, *specs: tf.TensorSpec) -> Any:
    """``call`` traced into a graph with the TFLite lowering."""

    def lowered_call(*args: Any) -> Any:
        with lowered(LOWERING):
            return call(*args)

    return tf.function(lowered_call, input_signature=list(specs)).get_concrete_function()


class Keras3TFLiteBackend(WrappedModelBackend):
    """``export_tflite`` for Keras 3 models (``qat_finalize``'s output) on TensorFlow."""

    wrapper_class = KerasQuantizationWrapper
    identity_class = keras.layers.Identity
    no_int8_kernel = layers_without_int8_kernel(keras.layers)
    transposed = _TRANSPOSED
    forms = TFLITE_FORMS

    def converter(self, model: keras.Model) -> tf.lite.TFLiteConverter:
        names, outputs = self.input_names(model), self.output_names(model)
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

    def input_names(self, model: keras.Model) -> list[str]:
        return [tensor.name for tensor in model.inputs]

    def output_names(self, model: keras.Model) -> list[str]:
        """A Functional model's output names; a Sequential model's last layer."""
        names = getattr(model, "output_names", None)
        return list(names) if names else [model.layers[-1].name]

    def readers(self, model: keras.Model, index: int) -> list[keras.layers.Layer]:
        """Read from the layers' call nodes."""
        if isinstance(model, keras.Sequential):
            return model.layers[:1]
        tensor = model.inputs[index]
        return [
            layer
            for layer in model.layers
            if any(t is tensor for node in layer._inbound_nodes for t in node.input_tensors)
        ]

    def grid(self, quantizer: Any, shape: Any, activation: bool) -> FakeQuantGrid | None:
        """Traced with the TFLite lowering, as the exported graph computes it."""

        def quantize(x: tf.Tensor) -> Any:
            with lowered(LOWERING), quantizing_activations() if activation else nullcontext():
                return quantizer(x)

        return fake_quant_grid(quantize, shape)

    def output_shape(self, wrapper: KerasQuantizationWrapper) -> Any:
        return wrapper.layer.compute_output_shape(wrapper.get_build_config()["input_shape"])


BACKEND = Keras3TFLiteBackend()
