"""``KerasQuantizationWrapper`` for Keras 3: a layer whose weights and outputs are quantized.

The wrapper quantizes the named weights of the inner layer (``"kernel"``,
``"depthwise_kernel"``, ...), runs the inner layer's ``call`` with them, then applies the
activation quantizers to its output. Trainable quantizers create their variables on the
wrapper at build time (``initialize_quantization(shape, name, layer=wrapper)``), so they are
ordinary Keras weights: trained, saved and restored on every back end. Each trainable
quantizer serves one tensor: the wrapper claims it at build time. A trainable quantizer (a
``BaseTrainableQuantizer``, decided once by class) is called ``quantizer(tensor, training)``,
an inferable one ``quantizer(tensor)``. ``calibrate()`` is the QAT flow's calibration step,
run once the inner layer's float weights are in place.

Keras 3 layers often reach a weight through a property (``Dense.kernel`` reads
``Dense._kernel``); the wrapper finds, once at build, the attribute that holds each quantized
variable and stands the quantized tensor in for it while the inner layer's ``call`` runs. In
inference the bias is added on TFLite's int32 grid where the wrapper can tell it
(``bias_grid``), as the Keras 2 wrapper adds it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from ..common.frameworks import KERAS3, check_keras
from ..common.wrapping import QuantizationWrapperMixin, Quantizer
from .bias_grid import bias_grid_of
from .compat import keras
from .lowering import active as active_lowering
from .serialization import deserialize_quantizer, register_quantizer, serialize_quantizer


def _holding_attribute(layer: keras.layers.Layer, attr: str, owner: str) -> str:
    """The attribute of ``layer`` that holds the variable ``layer.<attr>`` returns."""
    variable = getattr(layer, attr, None)
    if not isinstance(variable, keras.Variable):
        available = ", ".join(sorted({w.name for w in layer.weights})) or "none"
        raise ValueError(
            f"{owner}: {type(layer).__name__} has no weight {attr!r} to quantize "
            f"(its weights: {available})"
        )
    for name, value in vars(layer).items():
        if value is variable:
            return name
    raise ValueError(  # pragma: no cover - LoRA or Keras' own quantization computes the weight
        f"{owner}: {type(layer).__name__}.{attr} is computed, not stored (LoRA enabled, or "
        "quantized by Keras): quantize the plain layer"
    )


@register_quantizer
class KerasQuantizationWrapper(QuantizationWrapperMixin, keras.layers.Wrapper):
    """Quantizes the named weights of ``layer`` and, in order, its output."""

    framework = KERAS3
    serialize_quantizer = staticmethod(serialize_quantizer)
    deserialize_quantizer = staticmethod(deserialize_quantizer)

    def __init__(
        self,
        layer: keras.layers.Layer,
        weights_quantizers: Mapping[str, Quantizer] | None = None,
        activation_quantizers: Iterable[Quantizer] | None = None,
        **kwargs: Any,
    ) -> None:
        check_keras(layer, KERAS3, "the layer given to KerasQuantizationWrapper (Keras 3)")
        if isinstance(layer, keras.layers.Layer):
            kwargs.setdefault("name", f"quant_{layer.name}")
        super().__init__(layer, **kwargs)
        self._set_quantizers(layer, weights_quantizers, activation_quantizers)
        object.__setattr__(self, "_holders", {})  # weight attribute -> attribute holding it
        object.__setattr__(self, "_bias_grid", bias_grid_of(self))

    def build(self, input_shape: Any) -> None:
        super().build(input_shape)  # builds the inner layer
        shapes = {}
        for attr, _, _ in self._weights_plan:
            self._holders[attr] = _holding_attribute(self.layer, attr, self.name)
            shapes[attr] = getattr(self.layer, attr).shape
        if self._bias_grid is not None:
            self._holders["bias"] = _holding_attribute(self.layer, "bias", self.name)
        self._initialize_quantizers(input_shape, shapes)

    def call(self, inputs: Any, training: Any = None, **kwargs: Any) -> Any:
        if training is None:
            training = False
        # a Python flag (what Keras 3 passes); a traced one keeps the float bias
        inference = isinstance(training, (bool, int)) and not training
        bias = self._bias_grid() if inference and self._bias_grid is not None else None
        lowering = active_lowering()
        form = lowering.layer_form(self, inputs) if lowering and inference else None
        with self._standing_in({} if bias is None else {"bias": bias}):
            if form is not None:  # an exporter's form of the layer (see lowering.py)
                outputs = self._call_in_form(*form, inputs)
            else:
                outputs = self._call_layer(inputs, training, **kwargs)
        return self._quantize_outputs(outputs, training)

    def _call_layer(self, inputs: Any, training: Any, **kwargs: Any) -> Any:
        """The inner layer's own call, with its quantized weights where it keeps the variables."""
        held = self.layer.__dict__
        quantized = {
            attr: quantizer(held[self._holders[attr]], training)
            if trainable
            else quantizer(held[self._holders[attr]])
            for attr, quantizer, trainable in self._weights_plan
        }
        if self._layer_takes_training:
            kwargs["training"] = training
        with self._standing_in(quantized):
            return self.layer.call(inputs, **kwargs)

    @contextlib.contextmanager
    def _standing_in(self, values: Mapping[str, Any]) -> Iterator[None]:
        """Within it, the inner layer reads ``values`` (quantized weights, the rounded bias)
        where it keeps the variables they stand in for."""
        held = self.layer.__dict__
        originals = []
        try:
            for attr, value in values.items():
                holder = self._holders[attr]
                originals.append((holder, held[holder]))
                held[holder] = value
            yield
        finally:
            for holder, weight in reversed(originals):
                held[holder] = weight

    def _call_in_form(self, attribute: str, form: Any, view: Any, inputs: Any) -> Any:
        """The inner layer in ``form``, its weight quantized in the form's ``view`` of it."""
        ((_, quantizer, trainable),) = self._weights_plan
        weight = view(getattr(self.layer, attribute))
        quantized = quantizer(weight, False) if trainable else quantizer(weight)
        return form(self.layer, inputs, {attribute: quantized})

    def compute_output_shape(self, input_shape: Any) -> Any:
        return self.layer.compute_output_shape(input_shape)

    def _weight_value(self, attr: str) -> np.ndarray:
        return keras.ops.convert_to_numpy(getattr(self.layer, attr).value)

    def _build_like(self, wrapper: KerasQuantizationWrapper) -> None:
        wrapper.build_from_config(self.get_build_config())

    @staticmethod
    def _deserialize_layer(spec: dict[str, Any], custom_objects: Any) -> keras.layers.Layer:
        return keras.saving.deserialize_keras_object(spec, custom_objects=custom_objects)
