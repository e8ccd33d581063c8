"""Straight-through-estimator quantizers on a uniform (asymmetric) grid.

Forward: the range [a, b] is first moved so that zero lies on the grid, then
``s * clip(round((x - a') / s), 0, 2^n - 1) + a'``; backward: the gradient passes unchanged
inside the range and is zero outside it. The range is two fixed parameters (set from the
config, which ``qat_init`` fills from data).
"""

from __future__ import annotations

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.quantizers_infrastructure.keras import quantizer_utils
from quantizer_scaffold.quantizers_infrastructure.keras.base_keras_trainable_quantizer import (
    BaseKerasTrainableQuantizer,
)
from quantizer_scaffold.quantizers_infrastructure.keras.compat import tf
from quantizer_scaffold.quantizers_infrastructure.keras.serialization import register_quantizer

# two fixed range ends: per output channel for a per-channel weights config, else one each
RANGE = qi.ParameterSpec(qi.QuantizerParameter("range_min"), qi.QuantizerParameter("range_max"))


@register_quantizer
class STEUniformWeightQuantizer(BaseKerasTrainableQuantizer):
    """Uniform weights over [range_min, range_max], per-channel or per-tensor, STE gradient."""

    parameter_spec = RANGE

    def __init__(self, quantization_config: qi.NodeWeightsQuantizationConfig) -> None:
        super().__init__(
            quantization_config, qi.QuantizationTarget.Weights, [qi.QuantizationMethod.UNIFORM]
        )

    def __call__(self, inputs: tf.Tensor, training: bool) -> tf.Tensor:
        range_min, range_max = self.parameters["range_min"], self.parameters["range_max"]
        if self.channel_axis is not None:
            rank = inputs.shape.rank
            range_min = quantizer_utils.channel_broadcast(range_min, rank, self.channel_axis)
            range_max = quantizer_utils.channel_broadcast(range_max, rank, self.channel_axis)
        return quantizer_utils.uniform_quantize(inputs, range_min, range_max, self.num_bits)

    def convert2inferable(self) -> qi.BaseInferableQuantizer:
        values = self.parameter_values()
        return qi.WeightsUniformInferableQuantizer(
            num_bits=self.num_bits,
            min_range=values["range_min"],
            max_range=values["range_max"],
            per_channel=self.channel_axis is not None,
            channel_axis=self.channel_axis,
        )


@register_quantizer
class STEUniformActivationQuantizer(BaseKerasTrainableQuantizer):
    """Uniform activations over one [range_min, range_max], STE gradient."""

    parameter_spec = RANGE

    def __init__(self, quantization_config: qi.NodeActivationQuantizationConfig) -> None:
        super().__init__(
            quantization_config, qi.QuantizationTarget.Activation, [qi.QuantizationMethod.UNIFORM]
        )

    def __call__(self, inputs: tf.Tensor, training: bool) -> tf.Tensor:
        return quantizer_utils.uniform_quantize(
            inputs, self.parameters["range_min"], self.parameters["range_max"], self.num_bits
        )

    def convert2inferable(self) -> qi.BaseInferableQuantizer:
        values = self.parameter_values()
        return qi.ActivationUniformInferableQuantizer(
            num_bits=self.num_bits, min_range=values["range_min"], max_range=values["range_max"]
        )
