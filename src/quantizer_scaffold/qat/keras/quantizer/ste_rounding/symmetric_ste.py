"""Straight-through-estimator quantizers on a symmetric or power-of-two grid.

Forward: ``delta * clip(round(x / delta), low, high)`` with ``delta = t / 2^(n - signed)``;
backward: the gradient passes unchanged inside the range and is zero outside it. The
threshold is a fixed parameter (set from the config, which ``qat_init`` fills from data); a
power-of-two threshold is rounded up to ``2^ceil(log2(t))`` once, at construction.
"""

from __future__ import annotations

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.quantizers_infrastructure.keras import quantizer_utils
from quantizer_scaffold.quantizers_infrastructure.keras.base_keras_trainable_quantizer import (
    BaseKerasTrainableQuantizer,
)
from quantizer_scaffold.quantizers_infrastructure.keras.compat import tf
from quantizer_scaffold.quantizers_infrastructure.keras.serialization import register_quantizer

SYMMETRIC_METHODS = [qi.QuantizationMethod.SYMMETRIC, qi.QuantizationMethod.POWER_OF_TWO]
# one fixed threshold: per output channel for a per-channel weights config, else one
THRESHOLD = qi.ParameterSpec(qi.QuantizerParameter("threshold"))


class _ThresholdSTE(BaseKerasTrainableQuantizer):
    """The threshold, rounded up to a power of two for a power-of-two config."""

    parameter_spec = THRESHOLD

    def _round_threshold_for_power_of_two(self) -> None:
        self.power_of_two = self.quantization_method is qi.QuantizationMethod.POWER_OF_TWO
        if self.power_of_two:
            self.initial_values["threshold"] = qi.power_of_two_ceil(
                self.initial_values["threshold"], self.quantization_config.min_threshold
            )


@register_quantizer
class STEWeightQuantizer(_ThresholdSTE):
    """Signed symmetric / power-of-two weights, per-channel or per-tensor, with an STE gradient."""

    def __init__(self, quantization_config: qi.NodeWeightsQuantizationConfig) -> None:
        super().__init__(quantization_config, qi.QuantizationTarget.Weights, SYMMETRIC_METHODS)
        self._round_threshold_for_power_of_two()

    def __call__(self, inputs: tf.Tensor, training: bool) -> tf.Tensor:
        threshold = self.parameters["threshold"]
        if self.channel_axis is not None:
            threshold = quantizer_utils.channel_broadcast(
                threshold, inputs.shape.rank, self.channel_axis
            )
        return quantizer_utils.symmetric_quantize(inputs, threshold, self.num_bits, signed=True)

    def convert2inferable(self) -> qi.BaseInferableQuantizer:
        inferable = (
            qi.WeightsPOTInferableQuantizer
            if self.power_of_two
            else qi.WeightsSymmetricInferableQuantizer
        )
        return inferable(
            num_bits=self.num_bits,
            threshold=self.parameter_values()["threshold"],
            per_channel=self.channel_axis is not None,
            channel_axis=self.channel_axis,
        )


@register_quantizer
class STEActivationQuantizer(_ThresholdSTE):
    """Signed or unsigned symmetric / power-of-two activations with an STE gradient.

    ``activation_quantization_params`` holds ``threshold`` and ``is_signed`` (default True).
    """

    def __init__(self, quantization_config: qi.NodeActivationQuantizationConfig) -> None:
        super().__init__(quantization_config, qi.QuantizationTarget.Activation, SYMMETRIC_METHODS)
        self.signed = quantization_config.activation_quantization_params.get("is_signed", True)
        self._round_threshold_for_power_of_two()

    def __call__(self, inputs: tf.Tensor, training: bool) -> tf.Tensor:
        return quantizer_utils.symmetric_quantize(
            inputs, self.parameters["threshold"], self.num_bits, signed=self.signed
        )

    def convert2inferable(self) -> qi.BaseInferableQuantizer:
        inferable = (
            qi.ActivationPOTInferableQuantizer
            if self.power_of_two
            else qi.ActivationSymmetricInferableQuantizer
        )
        return inferable(
            num_bits=self.num_bits,
            threshold=self.parameter_values()["threshold"],
            signed=self.signed,
        )
