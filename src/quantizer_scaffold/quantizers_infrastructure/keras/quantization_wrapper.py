"""``KerasQuantizationWrapper``: a Keras layer whose weights and outputs pass through quantizers.

The wrapper quantizes the named weights of the inner layer (``"kernel"``,
``"depthwise_kernel"``, ...), runs the inner layer's ``call`` with them, then applies the
activation quantizers to its output. Trainable quantizers create their variables on the
wrapper at build time (``initialize_quantization(shape, name, layer=wrapper)``), so the
variables are ordinary Keras weights: saved, restored, and mirrored under ``tf.distribute``.
Each trainable quantizer serves one tensor: the wrapper claims it at build time, and a
quantizer already serving another tensor is refused there.

A trainable quantizer (a ``BaseTrainableQuantizer``, decided once by class) is called as
``quantizer(tensor, training)``; an inferable one as ``quantizer(tensor)``. ``calibrate()``
is the QAT flow's calibration step, run once the inner layer's float weights are in place.

In inference, a ``Dense``, ``Conv1D`` or ``DepthwiseConv1D`` whose weight is quantized per
channel (``channel_axis`` counted from the end), and a ``Dense`` quantized per tensor, are
computed in their TensorFlow Lite form (``tflite_forms``): the same values, and a graph
TFLite's converter turns into int8 kernels. In inference too, the bias is added on TFLite's
int32 grid where the wrapper can tell it (``bias_grid``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from .compat import keras, tf  # first: the clear error when the Keras runtime is missing

# isort: split
from ..common.frameworks import KERAS2, check_keras
from ..common.wrapping import QuantizationWrapperMixin, Quantizer
from ..tflite_forms import (
    as_4d,
    form_for_weights,
    layer_forms,
    per_tensor_forms,
    takes_form_inputs,
)
from .bias_grid import bias_grid_of
from .serialization import deserialize_quantizer, register_quantizer, serialize_quantizer

# this Keras' layers with a TFLite form (tflite_forms.py): per channel, and per tensor
TFLITE_FORMS = layer_forms(keras.layers, depthwise_attribute="depthwise_kernel")
PER_TENSOR_FORMS = per_tensor_forms(keras.layers)


def _is_inference(training: Any) -> bool:
    if tf.is_tensor(training):
        training = tf.get_static_value(training)
        if training is None:
            return False
    return not training


@register_quantizer
class KerasQuantizationWrapper(QuantizationWrapperMixin, keras.layers.Wrapper):
    """Quantizes the named weights of ``layer`` and, in order, its output."""

    framework = KERAS2
    serialize_quantizer = staticmethod(serialize_quantizer)
    deserialize_quantizer = staticmethod(deserialize_quantizer)

    def __init__(
        self,
        layer: keras.layers.Layer,
        weights_quantizers: Mapping[str, Quantizer] | None = None,
        activation_quantizers: Iterable[Quantizer] | None = None,
        **kwargs: Any,
    ) -> None:
        check_keras(layer, KERAS2, "the layer given to KerasQuantizationWrapper (Keras 2)")
        if isinstance(layer, keras.layers.Layer):
            kwargs.setdefault("name", f"quant_{layer.name}")
        super().__init__(layer, **kwargs)
        self._set_quantizers(layer, weights_quantizers, activation_quantizers)
        weights_quantizers = self._weights_quantizers
        form = form_for_weights(layer, weights_quantizers, TFLITE_FORMS, PER_TENSOR_FORMS)
        object.__setattr__(self, "_tflite_form", form)
        object.__setattr__(self, "_bias_grid", bias_grid_of(self))

    def build(self, input_shape: Any) -> None:
        super().build(input_shape)  # builds the inner layer
        shapes = {}
        for attr, _, _ in self._weights_plan:
            weight = getattr(self.layer, attr, None)
            if not isinstance(weight, tf.Variable):
                available = ", ".join(
                    sorted(n for n, v in vars(self.layer).items() if isinstance(v, tf.Variable))
                )
                raise ValueError(
                    f"{self.name}: {type(self.layer).__name__} has no weight {attr!r} to "
                    f"quantize (its weights: {available or 'none'})"
                )
            shapes[attr] = weight.shape
        self._initialize_quantizers(input_shape, shapes)

    def call(self, inputs: Any, training: Any = None, **kwargs: Any) -> Any:
        if training is None:
            training = False
        layer = self.layer
        inference = _is_inference(training)
        bias = self._bias_grid() if inference and self._bias_grid is not None else None
        with _standing_in(layer, {} if bias is None else {"bias": bias}):
            if (
                self._tflite_form is not None
                and not kwargs
                and inference
                and takes_form_inputs(self._tflite_form, inputs)
            ):
                outputs = self._call_in_tflite_form(inputs, training)
            else:
                outputs = self._call_layer(inputs, training, **kwargs)
        return self._quantize_outputs(outputs, training)

    def _call_layer(self, inputs: Any, training: Any, **kwargs: Any) -> Any:
        """The inner layer's own call, with its quantized weights in place of the float ones."""
        layer = self.layer
        quantized = {
            attr: quantizer(getattr(layer, attr), training)
            if trainable
            else quantizer(getattr(layer, attr))
            for attr, quantizer, trainable in self._weights_plan
        }
        if self._layer_takes_training:
            kwargs["training"] = training
        with _standing_in(layer, quantized):
            return layer.call(inputs, **kwargs)

    def _call_in_tflite_form(self, inputs: tf.Tensor, training: Any) -> tf.Tensor:
        """The inner layer's TFLite form, its weight quantized in the form's view."""
        form = self._tflite_form
        attribute = form.attribute
        ((_, quantizer, trainable),) = self._weights_plan
        weight = getattr(self.layer, attribute)
        view = as_4d(weight) if form.in_4d else weight
        quantized = quantizer(view, training) if trainable else quantizer(view)
        return form.form(self.layer, inputs, {attribute: quantized})

    def compute_output_shape(self, input_shape: Any) -> Any:
        return self.layer.compute_output_shape(input_shape)

    def _weight_value(self, attr: str) -> np.ndarray:
        return keras.backend.get_value(getattr(self.layer, attr))

    def _build_like(self, wrapper: KerasQuantizationWrapper) -> None:
        wrapper.build(self._build_input_shape)

    @staticmethod
    def _deserialize_layer(spec: dict[str, Any], custom_objects: Any) -> keras.layers.Layer:
        return keras.layers.deserialize(spec, custom_objects=custom_objects)


@contextlib.contextmanager
def _standing_in(layer: keras.layers.Layer, values: Mapping[str, Any]) -> Iterator[None]:
    """Within it, ``layer``'s attributes read ``values`` (quantized weights, the rounded bias).

    Set past Keras' attribute tracking: the variables stay the layer's weights.
    """
    originals = {attr: getattr(layer, attr) for attr in values}
    try:
        for attr, value in values.items():
            object.__setattr__(layer, attr, value)
        yield
    finally:
        for attr, value in originals.items():
            object.__setattr__(layer, attr, value)
