"""Small quantizers the runtime tests wrap, save and load (registered like a user's would be)."""

from __future__ import annotations

from typing import Any

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.quantizers_infrastructure.keras import quantizer_utils
from quantizer_scaffold.quantizers_infrastructure.keras.base_keras_inferable_quantizer import (
    BaseKerasInferableQuantizer,
)
from quantizer_scaffold.quantizers_infrastructure.keras.base_keras_trainable_quantizer import (
    BaseKerasTrainableQuantizer,
)
from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras, tf
from quantizer_scaffold.quantizers_infrastructure.keras.serialization import register_quantizer


def weights_config(threshold: float = 1.0, n_bits: int = 8) -> qi.NodeWeightsQuantizationConfig:
    return qi.NodeWeightsQuantizationConfig(
        qi.QuantizationMethod.SYMMETRIC, n_bits, {"threshold": threshold}, -1, False
    )


@register_quantizer
class IdentityInferableQuantizer(BaseKerasInferableQuantizer):
    """Returns its input unchanged."""

    def __call__(self, inputs: Any) -> Any:
        return inputs

    def get_config(self) -> dict[str, Any]:
        return {}


@register_quantizer
class SeedStyleRoundQuantizer(BaseKerasTrainableQuantizer):
    """The seed's shape: ``__call__(self, inputs)`` with no training flag; rounds with STE."""

    def __init__(self, quantization_config: qi.NodeWeightsQuantizationConfig) -> None:
        super().__init__(
            quantization_config, qi.QuantizationTarget.Weights, [qi.QuantizationMethod.SYMMETRIC]
        )

    def __call__(self, inputs):  # type: ignore[no-untyped-def]
        return quantizer_utils.ste_round(inputs)

    def convert2inferable(self) -> BaseKerasInferableQuantizer:
        return IdentityInferableQuantizer()


@register_quantizer
class TrainingFlagQuantizer(BaseKerasTrainableQuantizer):
    """Rounds in training, identity in inference: shows which ``training`` it was given."""

    def __init__(self, quantization_config: qi.NodeWeightsQuantizationConfig) -> None:
        super().__init__(
            quantization_config, qi.QuantizationTarget.Weights, [qi.QuantizationMethod.SYMMETRIC]
        )

    def __call__(self, inputs, training):  # type: ignore[no-untyped-def]
        return quantizer_utils.ste_round(inputs) if training else inputs

    def convert2inferable(self) -> BaseKerasInferableQuantizer:
        return IdentityInferableQuantizer()


@register_quantizer
class LearnedThresholdQuantizer(BaseKerasTrainableQuantizer):
    """Symmetric weights with a trainable scalar threshold variable created on the wrapper."""

    def __init__(
        self, quantization_config: qi.NodeWeightsQuantizationConfig, extra_scale: float = 1.0
    ) -> None:
        super().__init__(
            quantization_config, qi.QuantizationTarget.Weights, [qi.QuantizationMethod.SYMMETRIC]
        )
        self.extra_scale = extra_scale
        self.threshold: tf.Variable | None = None

    def initialize_quantization(self, tensor_shape, name, layer):  # type: ignore[no-untyped-def]
        initial = self.quantization_config.weights_quantization_params["threshold"]
        self.threshold = layer.add_weight(
            name=f"{name}_threshold",
            shape=(),
            initializer=keras.initializers.Constant(initial * self.extra_scale),
            trainable=True,
        )
        return {"threshold": self.threshold}

    def __call__(self, inputs, training=None):  # type: ignore[no-untyped-def]
        n_bits = self.quantization_config.weights_n_bits
        return quantizer_utils.symmetric_quantize(inputs, self.threshold, n_bits)

    def convert2inferable(self) -> BaseKerasInferableQuantizer:
        return qi.WeightsSymmetricInferableQuantizer(
            num_bits=self.quantization_config.weights_n_bits,
            threshold=[float(self.threshold.numpy())],
            per_channel=False,
        )

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "extra_scale": self.extra_scale}
