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
import inspect
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ..common.base_inferable_quantizer import BaseInferableQuantizer
from ..common.base_trainable_quantizer import BaseTrainableQuantizer
from .bias_grid import BiasGrid, bias_grid_weight
from .compat import keras, tf
from .quantizer_utils import quantizing_activations
from .serialization import deserialize_quantizer, register_quantizer, serialize_quantizer
from .tflite_forms import LayerForm, as_4d, takes_form_inputs, tflite_form

Quantizer = BaseTrainableQuantizer | BaseInferableQuantizer


def _trainable(quantizer: Quantizer) -> bool:
    return isinstance(quantizer, BaseTrainableQuantizer)


def per_channel_axis(quantizer: Quantizer) -> int | None:
    """The axis a weights quantizer quantizes per channel along, None per tensor or unknown.

    Read from the ``channel_axis`` attribute every built-in and generated weights quantizer
    has (and ``per_channel``, where a quantizer keeps an axis while quantizing per tensor).
    """
    if getattr(quantizer, "per_channel", True) is False:
        return None
    axis = getattr(quantizer, "channel_axis", None)
    return axis if isinstance(axis, int) and not isinstance(axis, bool) else None


def _inference_form(
    layer: keras.layers.Layer, weights_quantizers: Mapping[str, Quantizer]
) -> tuple[str, LayerForm, bool] | None:
    """The TFLite form to run in inference, and whether it takes its weight in the 4-D view.

    Per channel (the axis counted from the end) the weight is quantized in the 4-D view of
    TFLite's 2-D kernels; per tensor (or an axis the quantizer does not name) in its own shape.
    """
    found = tflite_form(layer)
    if found is None or set(weights_quantizers) != {found[0]}:
        return None
    axis = per_channel_axis(weights_quantizers[found[0]])
    if axis is None:
        per_tensor = tflite_form(layer, per_channel=False)
        return None if per_tensor is None else (*per_tensor, False)
    return (*found, True) if axis < 0 else None


def _is_inference(training: Any) -> bool:
    if tf.is_tensor(training):
        training = tf.get_static_value(training)
        if training is None:
            return False
    return not training


def _check_quantizer(quantizer: Any, where: str) -> Quantizer:
    if not isinstance(quantizer, (BaseTrainableQuantizer, BaseInferableQuantizer)):
        raise TypeError(
            f"{where} must be a BaseKerasTrainableQuantizer or BaseKerasInferableQuantizer, "
            f"got {type(quantizer).__name__}"
        )
    return quantizer


@register_quantizer
class KerasQuantizationWrapper(keras.layers.Wrapper):
    """Quantizes the named weights of ``layer`` and, in order, its output."""

    def __init__(
        self,
        layer: keras.layers.Layer,
        weights_quantizers: Mapping[str, Quantizer] | None = None,
        activation_quantizers: Iterable[Quantizer] | None = None,
        **kwargs: Any,
    ) -> None:
        if isinstance(layer, keras.layers.Layer):
            kwargs.setdefault("name", f"quant_{layer.name}")
        super().__init__(layer, **kwargs)
        weights_quantizers = dict(weights_quantizers or {})
        for attr, quantizer in weights_quantizers.items():
            _check_quantizer(quantizer, f"{self.name}: weights_quantizers[{attr!r}]")
        activation_quantizers = list(activation_quantizers or [])
        for i, quantizer in enumerate(activation_quantizers):
            _check_quantizer(quantizer, f"{self.name}: activation_quantizers[{i}]")
        # plain attributes, out of Keras' automatic tracking (the variables are the wrapper's)
        object.__setattr__(self, "_weights_quantizers", weights_quantizers)
        object.__setattr__(self, "_activation_quantizers", activation_quantizers)
        object.__setattr__(
            self,
            "_weights_plan",
            [(attr, q, _trainable(q)) for attr, q in weights_quantizers.items()],
        )
        object.__setattr__(
            self, "_activation_plan", [(q, _trainable(q)) for q in activation_quantizers]
        )
        object.__setattr__(
            self, "_layer_takes_training", "training" in inspect.signature(layer.call).parameters
        )
        object.__setattr__(self, "_tflite_form", _inference_form(layer, weights_quantizers))
        grid_weight = bias_grid_weight(layer, weights_quantizers)
        object.__setattr__(
            self,
            "_bias_grid",
            None
            if grid_weight is None
            else BiasGrid(self, per_channel_axis(weights_quantizers[grid_weight])),
        )
        object.__setattr__(self, "_quantizer_variables", {})

    @property
    def weights_quantizers(self) -> dict[str, Quantizer]:
        """Quantizer of each quantized weight attribute of the inner layer."""
        return self._weights_quantizers

    @property
    def activation_quantizers(self) -> list[Quantizer]:
        """Quantizers applied, in order, to the inner layer's output."""
        return self._activation_quantizers

    @property
    def quantizer_variables(self) -> dict[str, dict[str, tf.Variable]]:
        """Variables each trainable quantizer created, by weight attribute or ``activation_i``."""
        return self._quantizer_variables

    def build(self, input_shape: Any) -> None:
        super().build(input_shape)  # builds the inner layer
        variables = self._quantizer_variables
        for attr, quantizer, _ in self._weights_plan:
            weight = getattr(self.layer, attr, None)
            if not isinstance(weight, tf.Variable):
                available = ", ".join(
                    sorted(n for n, v in vars(self.layer).items() if isinstance(v, tf.Variable))
                )
                raise ValueError(
                    f"{self.name}: {type(self.layer).__name__} has no weight {attr!r} to "
                    f"quantize (its weights: {available or 'none'})"
                )
            if isinstance(quantizer, BaseTrainableQuantizer):
                quantizer.claim(f"{self.name}.{attr}")
                variables[attr] = quantizer.initialize_quantization(
                    weight.shape, f"{attr}_quantizer", self
                )
        if any(isinstance(q, BaseTrainableQuantizer) for q in self._activation_quantizers):
            output_shape = self.layer.compute_output_shape(input_shape)
            for i, quantizer in enumerate(self._activation_quantizers):
                if isinstance(quantizer, BaseTrainableQuantizer):
                    quantizer.claim(f"{self.name}.activation_{i}")
                    variables[f"activation_{i}"] = quantizer.initialize_quantization(
                        output_shape, f"activation_{i}_quantizer", self
                    )

    def calibrate(
        self, activation_values: Sequence[np.ndarray | None] | None = None
    ) -> dict[str, dict[str, list[float]]]:
        """The calibration step: each trainable quantizer's ``calibrate_parameters``.

        Weights quantizers get the inner layer's current (float) weight values; activation
        quantizer ``i`` gets ``activation_values[i]`` (the layer's outputs on representative
        data), or is skipped when that is None or not given. Run it once the weights are in
        place (``qat_init`` does); returns what each quantizer set, by weight or
        ``activation_i``.
        """
        if not self.built:
            raise RuntimeError(
                f"{self.name}: calibrate() needs the built wrapper (call it on data first)"
            )
        values = list(activation_values or [])
        assigned = {}
        for attr, quantizer, trainable in self._weights_plan:
            if trainable:
                weight = keras.backend.get_value(getattr(self.layer, attr))
                assigned[attr] = quantizer.calibrate_parameters(weight)
        for i, (quantizer, trainable) in enumerate(self._activation_plan):
            if trainable and i < len(values) and values[i] is not None:
                assigned[f"activation_{i}"] = quantizer.calibrate_parameters(values[i])
        return assigned

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
                and takes_form_inputs(layer, inputs)
            ):
                outputs = self._call_in_tflite_form(inputs, training)
            else:
                outputs = self._call_layer(inputs, training, **kwargs)
        with quantizing_activations():  # grids below 8 bits in the form of int8 activations
            for quantizer, trainable in self._activation_plan:
                outputs = quantizer(outputs, training) if trainable else quantizer(outputs)
        return outputs

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
        attribute, form, in_4d = self._tflite_form
        ((_, quantizer, trainable),) = self._weights_plan
        weight = getattr(self.layer, attribute)
        view = as_4d(weight) if in_4d else weight
        quantized = quantizer(view, training) if trainable else quantizer(view)
        return form(self.layer, inputs, {attribute: quantized})

    def compute_output_shape(self, input_shape: Any) -> Any:
        return self.layer.compute_output_shape(input_shape)

    def convert_to_inferable_quantizers(self) -> KerasQuantizationWrapper:
        """A new wrapper of a copy of the inner layer, every trainable quantizer converted.

        The copy carries the inner layer's weights but none of the quantizers' variables.
        """
        weights_quantizers = {attr: _inferable(q) for attr, q in self._weights_quantizers.items()}
        activation_quantizers = [_inferable(q) for q in self._activation_quantizers]
        layer = self.layer.__class__.from_config(self.layer.get_config())
        wrapper = type(self)(layer, weights_quantizers, activation_quantizers, name=self.name)
        if self.layer.built:
            wrapper.build(self._build_input_shape)
            layer.set_weights(self.layer.get_weights())
        return wrapper

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["weights_quantizers"] = {
            attr: serialize_quantizer(q, self.name) for attr, q in self._weights_quantizers.items()
        }
        config["activation_quantizers"] = [
            serialize_quantizer(q, self.name) for q in self._activation_quantizers
        ]
        return config

    @classmethod
    def from_config(
        cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None
    ) -> KerasQuantizationWrapper:
        config = dict(config)
        layer = keras.layers.deserialize(config.pop("layer"), custom_objects=custom_objects)
        weights_quantizers = {
            attr: deserialize_quantizer(q, custom_objects)
            for attr, q in config.pop("weights_quantizers", {}).items()
        }
        activation_quantizers = [
            deserialize_quantizer(q, custom_objects)
            for q in config.pop("activation_quantizers", [])
        ]
        return cls(layer, weights_quantizers, activation_quantizers, **config)


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


def _inferable(quantizer: Quantizer) -> BaseInferableQuantizer:
    if isinstance(quantizer, BaseTrainableQuantizer):
        quantizer = quantizer.convert2inferable()
        if not isinstance(quantizer, BaseInferableQuantizer):
            raise TypeError(
                f"convert2inferable() must return a BaseKerasInferableQuantizer, "
                f"got {type(quantizer).__name__}"
            )
    return quantizer
