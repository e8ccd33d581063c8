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
variable and stands the quantized tensor in for it while the inner layer's ``call`` runs.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ..common.base_trainable_quantizer import BaseTrainableQuantizer
from ..common.frameworks import KERAS3, check_keras
from ..common.wrapping import Quantizer, check_quantizer, is_trainable, to_inferable
from .compat import keras
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
class KerasQuantizationWrapper(keras.layers.Wrapper):
    """Quantizes the named weights of ``layer`` and, in order, its output."""

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
        weights_quantizers = dict(weights_quantizers or {})
        for attr, quantizer in weights_quantizers.items():
            check_quantizer(quantizer, f"{self.name}: weights_quantizers[{attr!r}]", KERAS3)
        activation_quantizers = list(activation_quantizers or [])
        for i, quantizer in enumerate(activation_quantizers):
            check_quantizer(quantizer, f"{self.name}: activation_quantizers[{i}]", KERAS3)
        # plain attributes, out of Keras' automatic tracking (quantizers are not layers)
        state = {
            "_weights_quantizers": weights_quantizers,
            "_activation_quantizers": activation_quantizers,
            "_activation_plan": [(q, is_trainable(q)) for q in activation_quantizers],
            "_weights_plan": [],  # (attribute, holding attribute, quantizer, trainable), at build
            "_layer_takes_training": "training" in inspect.signature(layer.call).parameters,
            "_quantizer_variables": {},
        }
        for name, value in state.items():
            object.__setattr__(self, name, value)

    @property
    def weights_quantizers(self) -> dict[str, Quantizer]:
        """Quantizer of each quantized weight attribute of the inner layer."""
        return self._weights_quantizers

    @property
    def activation_quantizers(self) -> list[Quantizer]:
        """Quantizers applied, in order, to the inner layer's output."""
        return self._activation_quantizers

    @property
    def quantizer_variables(self) -> dict[str, dict[str, keras.Variable]]:
        """Variables each trainable quantizer created, by weight attribute or ``activation_i``."""
        return self._quantizer_variables

    def build(self, input_shape: Any) -> None:
        super().build(input_shape)  # builds the inner layer
        variables = self._quantizer_variables
        plan = []
        for attr, quantizer in self._weights_quantizers.items():
            holder = _holding_attribute(self.layer, attr, self.name)
            plan.append((attr, holder, quantizer, is_trainable(quantizer)))
            if isinstance(quantizer, BaseTrainableQuantizer):
                quantizer.claim(f"{self.name}.{attr}")
                variables[attr] = quantizer.initialize_quantization(
                    getattr(self.layer, attr).shape, f"{attr}_quantizer", self
                )
        object.__setattr__(self, "_weights_plan", plan)
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
        for attr, _, quantizer, trainable in self._weights_plan:
            if trainable:
                weight = keras.ops.convert_to_numpy(getattr(self.layer, attr).value)
                assigned[attr] = quantizer.calibrate_parameters(weight)
        for i, (quantizer, trainable) in enumerate(self._activation_plan):
            if trainable and i < len(values) and values[i] is not None:
                assigned[f"activation_{i}"] = quantizer.calibrate_parameters(values[i])
        return assigned

    def call(self, inputs: Any, training: Any = None, **kwargs: Any) -> Any:
        if training is None:
            training = False
        held = self.layer.__dict__
        originals = []
        try:
            for _, holder, quantizer, trainable in self._weights_plan:
                weight = held[holder]
                originals.append((holder, weight))
                # the inner layer reads the quantized tensor where it keeps the variable
                held[holder] = quantizer(weight, training) if trainable else quantizer(weight)
            if self._layer_takes_training:
                kwargs["training"] = training
            outputs = self.layer.call(inputs, **kwargs)
        finally:
            for holder, weight in originals:
                held[holder] = weight
        for quantizer, trainable in self._activation_plan:
            outputs = quantizer(outputs, training) if trainable else quantizer(outputs)
        return outputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        return self.layer.compute_output_shape(input_shape)

    def convert_to_inferable_quantizers(self) -> KerasQuantizationWrapper:
        """A new wrapper of a copy of the inner layer, every trainable quantizer converted.

        The copy carries the inner layer's weights but none of the quantizers' variables.
        """
        weights_quantizers = {a: to_inferable(q) for a, q in self._weights_quantizers.items()}
        activation_quantizers = [to_inferable(q) for q in self._activation_quantizers]
        layer = self.layer.__class__.from_config(self.layer.get_config())
        wrapper = type(self)(layer, weights_quantizers, activation_quantizers, name=self.name)
        if self.built:
            wrapper.build_from_config(self.get_build_config())
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
        layer = keras.saving.deserialize_keras_object(
            config.pop("layer"), custom_objects=custom_objects
        )
        weights_quantizers = {
            attr: deserialize_quantizer(q, custom_objects)
            for attr, q in config.pop("weights_quantizers", {}).items()
        }
        activation_quantizers = [
            deserialize_quantizer(q, custom_objects)
            for q in config.pop("activation_quantizers", [])
        ]
        return cls(layer, weights_quantizers, activation_quantizers, **config)
