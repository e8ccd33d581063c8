"""The Keras 2 (tf_keras) back end of ``export_tflite``: what int8 can hold, and how to convert.

What TensorFlow Lite's converter needs to make an exact int8 model (checked with
tensorflow 2.21; tests/deploy/test_tflite_export.py holds the evidence):

- every grid reaches it as a fake-quant op (``FakeQuantWithMinMaxVars`` or its per-channel
  form), which gives the tensor's scale and zero point; any other quantizer arithmetic is
  plain float ops, whose levels no int8 scale reproduces;
- weights: at most 8 bits (below 8 the converter packs them into int4 tensors unless an 8-bit
  fake-quant of the same step follows, as quantizer_utils writes them), zero point 0 (its
  int8 kernels take symmetric weights only), per channel along the output channels, the
  fake-quant op feeding a 2-D (depthwise) convolution directly (the TFLite forms of
  ``quantization_wrapper`` see to Dense and the 1-D layers); per-channel transposed
  convolutions are refused by the converter;
- activations: one grid per tensor, computed by an 8-bit fake-quant op (an n-bit op gives the
  tensor an n-bit type the int8 kernels refuse; quantizer_utils writes an n-bit activation
  grid as 8-bit ops of its step around the clip to its levels, which stays int8);
- every tensor between ops quantized, the model inputs too (``qat_init`` quantizes them);
- ops it has int8 kernels for: not ``CONV_3D`` / ``CONV_3D_TRANSPOSE``.
"""

from __future__ import annotations

from typing import Any

from .compat import keras, tf  # first: the clear error when the Keras runtime is missing

# isort: split
from ..common.activation_scope import quantizing_activations
from ..tflite_backend import WrappedModelBackend, layers_without_int8_kernel
from ..tflite_grids import FakeQuantGrid, fake_quant_grid
from .quantization_wrapper import TFLITE_FORMS, KerasQuantizationWrapper


class Keras2TFLiteBackend(WrappedModelBackend):
    """``export_tflite`` for tf_keras models (``qat_finalize``'s output)."""

    wrapper_class = KerasQuantizationWrapper
    identity_class = keras.layers.Identity
    no_int8_kernel = layers_without_int8_kernel(keras.layers)
    transposed = (keras.layers.Conv2DTranspose,)
    forms = TFLITE_FORMS

    def converter(self, model: keras.Model) -> tf.lite.TFLiteConverter:
        return tf.lite.TFLiteConverter.from_keras_model(model)

    def input_names(self, model: keras.Model) -> list[str]:
        return list(model.input_names)

    def output_names(self, model: keras.Model) -> list[str]:
        return list(model.output_names)

    def readers(self, model: keras.Model, index: int) -> list[keras.layers.Layer]:
        """Read from the model's config."""
        if isinstance(model, keras.Sequential):
            return model.layers[:1]
        input_name = model.input_names[index]
        config = model.get_config()
        return [
            model.get_layer(layer["name"])
            for layer in config["layers"]
            if input_name in _referenced_layers(layer.get("inbound_nodes", []))
        ]

    def grid(self, quantizer: Any, shape: Any, activation: bool) -> FakeQuantGrid | None:
        """Traced as the wrapper applies it (an output quantizer: as an activation)."""

        def quantize(x: tf.Tensor) -> tf.Tensor:
            if not activation:
                return quantizer(x)
            with quantizing_activations():
                return quantizer(x)

        return fake_quant_grid(quantize, shape)

    def output_shape(self, wrapper: KerasQuantizationWrapper) -> Any:
        return wrapper.layer.compute_output_shape(wrapper._build_input_shape)


BACKEND = Keras2TFLiteBackend()


def _referenced_layers(nodes: Any) -> set[str]:
    """Layer names in a functional config's ``[layer, node, tensor, kwargs]`` references."""
    if isinstance(nodes, list):
        if len(nodes) in (3, 4) and isinstance(nodes[0], str):
            return {nodes[0]}
        return set().union(*(_referenced_layers(part) for part in nodes))
    return set()
