"""What a quantization wrapper of any back end decides about its quantizers, once.

A quantizer is trainable by its class (``BaseTrainableQuantizer``), never by its call
signature: a trainable one is called ``quantizer(tensor, training)``, an inferable one
``quantizer(tensor)``. A quantizer of the other Keras is refused with one clear error.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .activation_scope import quantizing_activations
from .base_inferable_quantizer import BaseInferableQuantizer
from .base_trainable_quantizer import BaseTrainableQuantizer
from .frameworks import check_keras

Quantizer = BaseTrainableQuantizer | BaseInferableQuantizer


def check_quantizer(quantizer: Any, where: str, keras: str) -> Quantizer:
    """``quantizer`` if it is a trainable or inferable quantizer of the ``keras`` back end."""
    if not isinstance(quantizer, (BaseTrainableQuantizer, BaseInferableQuantizer)):
        raise TypeError(
            f"{where} must be a BaseKerasTrainableQuantizer or BaseKerasInferableQuantizer, "
            f"got {type(quantizer).__name__}"
        )
    check_keras(quantizer, keras, where)
    return quantizer


def is_trainable(quantizer: Quantizer) -> bool:
    """Whether the wrapper calls ``quantizer(tensor, training)`` (and gives it variables)."""
    return isinstance(quantizer, BaseTrainableQuantizer)


def to_inferable(quantizer: Quantizer) -> BaseInferableQuantizer:
    """``quantizer`` itself if inferable, else its ``convert2inferable()`` (checked)."""
    if isinstance(quantizer, BaseTrainableQuantizer):
        quantizer = quantizer.convert2inferable()
        if not isinstance(quantizer, BaseInferableQuantizer):
            raise TypeError(
                f"convert2inferable() must return a BaseKerasInferableQuantizer, "
                f"got {type(quantizer).__name__}"
            )
    return quantizer


class QuantizationWrapperMixin:
    """What a ``KerasQuantizationWrapper`` does the same on every back end.

    A back end's wrapper (a ``Wrapper`` layer of its Keras, this mixin first) sets
    ``framework`` (``KERAS2`` or ``KERAS3``) and its registry's ``serialize_quantizer`` /
    ``deserialize_quantizer``, and implements ``_weight_value`` (a weight as numpy),
    ``_build_like`` (build a wrapper as this one was built) and ``_deserialize_layer``. Its
    ``build`` checks the weights and calls ``_initialize_quantizers``; its ``call`` stands each
    quantized weight in for the variable (each Keras reaches weights its own way) and applies
    ``_quantize_outputs``.
    """

    framework: str
    name: str
    layer: Any
    built: bool

    def _set_quantizers(
        self,
        layer: Any,
        weights_quantizers: Mapping[str, Quantizer] | None,
        activation_quantizers: Iterable[Quantizer] | None,
    ) -> None:
        weights = dict(weights_quantizers or {})
        for attr, quantizer in weights.items():
            check_quantizer(quantizer, f"{self.name}: weights_quantizers[{attr!r}]", self.framework)
        activations = list(activation_quantizers or [])
        for i, quantizer in enumerate(activations):
            check_quantizer(quantizer, f"{self.name}: activation_quantizers[{i}]", self.framework)
        # plain attributes, out of Keras' automatic tracking (the variables are the wrapper's)
        state = {
            "_weights_quantizers": weights,
            "_activation_quantizers": activations,
            "_weights_plan": [(attr, q, is_trainable(q)) for attr, q in weights.items()],
            "_activation_plan": [(q, is_trainable(q)) for q in activations],
            "_layer_takes_training": "training" in inspect.signature(layer.call).parameters,
            "_quantizer_variables": {},
        }
        for key, value in state.items():
            object.__setattr__(self, key, value)

    @property
    def weights_quantizers(self) -> dict[str, Quantizer]:
        """Quantizer of each quantized weight attribute of the inner layer."""
        return self._weights_quantizers

    @property
    def activation_quantizers(self) -> list[Quantizer]:
        """Quantizers applied, in order, to the inner layer's output."""
        return self._activation_quantizers

    @property
    def quantizer_variables(self) -> dict[str, dict[str, Any]]:
        """Variables each trainable quantizer created, by weight attribute or ``activation_i``."""
        return self._quantizer_variables

    def _initialize_quantizers(self, input_shape: Any, weight_shapes: Mapping[str, Any]) -> None:
        """Claim every trainable quantizer and create its variables on this wrapper."""
        variables = self._quantizer_variables
        for attr, quantizer, trainable in self._weights_plan:
            if trainable:
                quantizer.claim(f"{self.name}.{attr}")
                variables[attr] = quantizer.initialize_quantization(
                    weight_shapes[attr], f"{attr}_quantizer", self
                )
        if any(trainable for _, trainable in self._activation_plan):
            output_shape = self.layer.compute_output_shape(input_shape)
            for i, (quantizer, trainable) in enumerate(self._activation_plan):
                if trainable:
                    quantizer.claim(f"{self.name}.activation_{i}")
                    variables[f"activation_{i}"] = quantizer.initialize_quantization(
                        output_shape, f"activation_{i}_quantizer", self
                    )

    def _quantize_outputs(self, outputs: Any, training: Any) -> Any:
        with quantizing_activations():  # grids below 8 bits in the graph form of activations
            for quantizer, trainable in self._activation_plan:
                outputs = quantizer(outputs, training) if trainable else quantizer(outputs)
        return outputs

    def calibrate(
        self, activation_values: Sequence[Any] | None = None
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
                assigned[attr] = quantizer.calibrate_parameters(self._weight_value(attr))
        for i, (quantizer, trainable) in enumerate(self._activation_plan):
            if trainable and i < len(values) and values[i] is not None:
                assigned[f"activation_{i}"] = quantizer.calibrate_parameters(values[i])
        return assigned

    def convert_to_inferable_quantizers(self) -> Any:
        """A new wrapper of a copy of the inner layer, every trainable quantizer converted.

        The copy carries the inner layer's weights but none of the quantizers' variables.
        """
        weights = {attr: to_inferable(q) for attr, q in self._weights_quantizers.items()}
        activations = [to_inferable(q) for q in self._activation_quantizers]
        layer = self.layer.__class__.from_config(self.layer.get_config())
        wrapper = type(self)(layer, weights, activations, name=self.name)
        if self.built:
            self._build_like(wrapper)
            layer.set_weights(self.layer.get_weights())
        return wrapper

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()  # type: ignore[misc]
        config["weights_quantizers"] = {
            attr: self.serialize_quantizer(q, self.name)
            for attr, q in self._weights_quantizers.items()
        }
        config["activation_quantizers"] = [
            self.serialize_quantizer(q, self.name) for q in self._activation_quantizers
        ]
        return config

    @classmethod
    def from_config(
        cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None
    ) -> Any:
        config = dict(config)
        layer = cls._deserialize_layer(config.pop("layer"), custom_objects)
        weights = {
            attr: cls.deserialize_quantizer(q, custom_objects)
            for attr, q in config.pop("weights_quantizers", {}).items()
        }
        activations = [
            cls.deserialize_quantizer(q, custom_objects)
            for q in config.pop("activation_quantizers", [])
        ]
        return cls(layer, weights, activations, **config)  # type: ignore[call-arg]

    # ---- what each back end provides -------------------------------------------------------
    @staticmethod
    def serialize_quantizer(quantizer: Any, owner: str) -> dict[str, Any]:
        raise NotImplementedError

    @staticmethod
    def deserialize_quantizer(spec: dict[str, Any], custom_objects: Any) -> Any:
        raise NotImplementedError

    @staticmethod
    def _deserialize_layer(spec: dict[str, Any], custom_objects: Any) -> Any:
        raise NotImplementedError

    def _weight_value(self, attr: str) -> Any:
        raise NotImplementedError

    def _build_like(self, wrapper: Any) -> None:
        raise NotImplementedError
