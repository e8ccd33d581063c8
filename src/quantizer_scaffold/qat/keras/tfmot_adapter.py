"""Any ``BaseKerasTrainableQuantizer`` inside tfmot's own QAT flow.

``TfmotQuantizer`` gives a trainable quantizer tfmot's ``Quantizer`` shape (``build`` claims
the quantizer and creates its declared variables on tfmot's ``QuantizeWrapper``; ``__call__``
takes ``training`` and ``weights`` and calls ``quantizer(inputs, training)``, which reads the
same variables). tfmot's flow has no calibration step: parameters start from their initial
values (the config's calibrated statistics or constants). ``TfmotQuantizeConfig`` is a ready
``QuantizeConfig`` that applies such quantizers to named weights and to the layer output, for
``quantize_annotate_layer`` / ``quantize_apply``. Both are registered, so models save and
reload inside tfmot's ``quantize_scope()`` (or with ``load_quantized_model``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from quantizer_scaffold.quantizers_infrastructure.keras.base_keras_trainable_quantizer import (
    BaseKerasTrainableQuantizer,
)
from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras, tf, tfmot
from quantizer_scaffold.quantizers_infrastructure.keras.serialization import (
    deserialize_quantizer,
    register_quantizer,
    serialize_quantizer,
)

QuantizerSpec = BaseKerasTrainableQuantizer | Mapping[str, Any]


def _trainable(quantizer: QuantizerSpec, where: str) -> BaseKerasTrainableQuantizer:
    """``quantizer`` itself, or rebuilt from its Keras serialization (as get_config stores it)."""
    if isinstance(quantizer, Mapping):
        quantizer = deserialize_quantizer(dict(quantizer), None)
    if not isinstance(quantizer, BaseKerasTrainableQuantizer):
        raise TypeError(
            f"{where} must be a BaseKerasTrainableQuantizer, got {type(quantizer).__name__}"
        )
    return quantizer


@register_quantizer
class TfmotQuantizer(tfmot.quantization.keras.quantizers.Quantizer):
    """A ``BaseKerasTrainableQuantizer`` acting as a tfmot ``Quantizer``."""

    def __init__(self, quantizer: QuantizerSpec) -> None:
        self.quantizer = _trainable(quantizer, "TfmotQuantizer(quantizer)")

    def build(
        self, tensor_shape: tf.TensorShape, name: str, layer: keras.layers.Layer
    ) -> dict[str, tf.Variable]:
        self.quantizer.claim(f"{layer.name}.{name}")
        return self.quantizer.initialize_quantization(tensor_shape, name, layer)

    def __call__(
        self, inputs: tf.Tensor, training: Any, weights: dict[str, tf.Variable], **kwargs: Any
    ) -> tf.Tensor:
        # the quantizer reads the variables it created in build; ``weights`` holds the same ones
        return self.quantizer(inputs, False if training is None else training)

    def get_config(self) -> dict[str, Any]:
        return {"quantizer": serialize_quantizer(self.quantizer, "TfmotQuantizer")}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TfmotQuantizer) and self.get_config() == other.get_config()

    def __ne__(self, other: object) -> bool:
        return not self == other


@register_quantizer
class TfmotQuantizeConfig(tfmot.quantization.keras.QuantizeConfig):
    """Quantize the named weights of a layer and its output with trainable quantizers.

    Give each annotated layer its own config: the quantizers hold that layer's variables.
    """

    def __init__(
        self,
        weights_quantizers: Mapping[str, QuantizerSpec] | None = None,
        activation_quantizer: QuantizerSpec | None = None,
    ) -> None:
        self.weights_quantizers = {
            attr: TfmotQuantizer(_trainable(q, f"weights_quantizers[{attr!r}]"))
            for attr, q in (weights_quantizers or {}).items()
        }
        self.activation_quantizer = (
            None
            if activation_quantizer is None
            else TfmotQuantizer(_trainable(activation_quantizer, "activation_quantizer"))
        )

    def get_weights_and_quantizers(self, layer: keras.layers.Layer) -> list[tuple[Any, Any]]:
        missing = [attr for attr in self.weights_quantizers if not hasattr(layer, attr)]
        if missing:
            raise ValueError(
                f"{type(layer).__name__} {layer.name!r} has no weight {missing[0]!r}: "
                "name weights as the layer does (e.g. 'kernel', 'depthwise_kernel')"
            )
        return [(getattr(layer, attr), q) for attr, q in self.weights_quantizers.items()]

    def get_activations_and_quantizers(self, layer: keras.layers.Layer) -> list[tuple[Any, Any]]:
        return []

    def set_quantize_weights(self, layer: keras.layers.Layer, quantize_weights: list[Any]) -> None:
        for attr, weight in zip(self.weights_quantizers, quantize_weights, strict=True):
            setattr(layer, attr, weight)

    def set_quantize_activations(
        self, layer: keras.layers.Layer, quantize_activations: list[Any]
    ) -> None:
        pass

    def get_output_quantizers(self, layer: keras.layers.Layer) -> list[TfmotQuantizer]:
        return [] if self.activation_quantizer is None else [self.activation_quantizer]

    def get_config(self) -> dict[str, Any]:
        return {
            "weights_quantizers": {
                attr: serialize_quantizer(q.quantizer, "TfmotQuantizeConfig")
                for attr, q in self.weights_quantizers.items()
            },
            "activation_quantizer": None
            if self.activation_quantizer is None
            else serialize_quantizer(self.activation_quantizer.quantizer, "TfmotQuantizeConfig"),
        }
