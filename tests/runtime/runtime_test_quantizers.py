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
class RoundQuantizer(BaseKerasTrainableQuantizer):
    """Parameter-free, ignores ``training``: rounds with an STE in both modes."""

    def __init__(self, quantization_config: qi.NodeWeightsQuantizationConfig) -> None:
        super().__init__(
            quantization_config, qi.QuantizationTarget.Weights, [qi.QuantizationMethod.SYMMETRIC]
        )

    def __call__(self, inputs, training):  # type: ignore[no-untyped-def]
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
    """Symmetric weights with one learned threshold, started at ``extra_scale`` x the config's."""

    parameter_spec = qi.ParameterSpec(
        qi.QuantizerParameter("threshold", qi.ParameterKind.LEARNED, per_channel=False)
    )

    def __init__(
        self, quantization_config: qi.NodeWeightsQuantizationConfig, extra_scale: float = 1.0
    ) -> None:
        super().__init__(
            quantization_config, qi.QuantizationTarget.Weights, [qi.QuantizationMethod.SYMMETRIC]
        )
        self.extra_scale = extra_scale
        self.initial_values["threshold"] = [
            t * extra_scale for t in self.initial_values["threshold"]
        ]

    def __call__(self, inputs, training):  # type: ignore[no-untyped-def]
        return quantizer_utils.symmetric_quantize(
            inputs, self.parameters["threshold"], self.num_bits
        )

    def convert2inferable(self) -> BaseKerasInferableQuantizer:
        return qi.WeightsSymmetricInferableQuantizer(
            num_bits=self.num_bits,
            threshold=self.parameter_values()["threshold"],
            per_channel=False,
        )

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "extra_scale": self.extra_scale}
