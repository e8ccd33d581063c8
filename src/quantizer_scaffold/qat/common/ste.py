"""The straight-through-estimator (STE) quantizers, written once for every back end.

Forward: the grid's level nearest to the input (symmetric or power-of-two: ``delta *
clip(round(x / delta), low, high)`` with ``delta = t / 2^(n - signed)``; uniform: the range
[a, b] moved so that zero lies on it, then ``s * clip(round((x - a') / s), 0, 2^n - 1) + a'``);
backward: the gradient passes unchanged inside the range and is zero outside it. The threshold
or the range is a fixed parameter, set from the config (which ``qat_init`` fills from data); a
power-of-two threshold is rounded up to ``2^ceil(log2(t))`` once, at construction.

A back end declares each family with its trainable base class, ``grid_ops`` (its
``quantizer_utils`` module: ``channel_broadcast``, ``symmetric_quantize``,
``uniform_quantize``), ``inferables`` (the package of its inferable quantizers, ``qi`` or
``qi3``) and its own registration.
"""

from __future__ import annotations

from typing import Any, ClassVar

from quantizer_scaffold.quantizers_infrastructure.common import (
    BaseInferableQuantizer,
    BaseTrainableQuantizer,
    NodeActivationQuantizationConfig,
    NodeWeightsQuantizationConfig,
    ParameterSpec,
    QuantizationMethod,
    QuantizationTarget,
    QuantizerParameter,
    power_of_two_ceil,
)

SYMMETRIC_METHODS = [QuantizationMethod.SYMMETRIC, QuantizationMethod.POWER_OF_TWO]
# one fixed threshold: per output channel for a per-channel weights config, else one
THRESHOLD = ParameterSpec(QuantizerParameter("threshold"))
# two fixed range ends: per output channel for a per-channel weights config, else one each
RANGE = ParameterSpec(QuantizerParameter("range_min"), QuantizerParameter("range_max"))


class STEQuantizer(BaseTrainableQuantizer):
    """Shared by the families: the back end's math and inferable quantizers."""

    grid_ops: ClassVar[Any]  # the back end's quantizer_utils module
    inferables: ClassVar[Any]  # the package of the back end's inferable quantizers

    def _per_channel(self, values: Any, inputs: Any) -> Any:
        """``values`` shaped to broadcast against ``inputs`` when the config is per channel."""
        if self.channel_axis is None:
            return values
        return self.grid_ops.channel_broadcast(values, len(inputs.shape), self.channel_axis)


class _ThresholdSTE(STEQuantizer):
    """The threshold, rounded up to a power of two for a power-of-two config."""

    parameter_spec = THRESHOLD

    def _round_threshold_for_power_of_two(self) -> None:
        self.power_of_two = self.quantization_method is QuantizationMethod.POWER_OF_TWO
        if self.power_of_two:
            self.initial_values["threshold"] = power_of_two_ceil(
                self.initial_values["threshold"], self.quantization_config.min_threshold
            )


class WeightsThresholdSTE(_ThresholdSTE):
    """Signed symmetric / power-of-two weights, per-channel or per-tensor, with an STE gradient."""

    def __init__(self, quantization_config: NodeWeightsQuantizationConfig) -> None:
        super().__init__(quantization_config, QuantizationTarget.Weights, SYMMETRIC_METHODS)
        self._round_threshold_for_power_of_two()

    def __call__(self, inputs: Any, training: Any) -> Any:
        threshold = self._per_channel(self.parameters["threshold"], inputs)
        return self.grid_ops.symmetric_quantize(inputs, threshold, self.num_bits, signed=True)

    def convert2inferable(self) -> BaseInferableQuantizer:
        inferable = (
            self.inferables.WeightsPOTInferableQuantizer
            if self.power_of_two
            else self.inferables.WeightsSymmetricInferableQuantizer
        )
        return inferable(
            num_bits=self.num_bits,
            threshold=self.parameter_values()["threshold"],
            per_channel=self.channel_axis is not None,
            channel_axis=self.channel_axis,
        )


class ActivationThresholdSTE(_ThresholdSTE):
    """Signed or unsigned symmetric / power-of-two activations with an STE gradient.

    ``activation_quantization_params`` holds ``threshold`` and ``is_signed`` (default True).
    """

    def __init__(self, quantization_config: NodeActivationQuantizationConfig) -> None:
        super().__init__(quantization_config, QuantizationTarget.Activation, SYMMETRIC_METHODS)
        self.signed = quantization_config.activation_quantization_params.get("is_signed", True)
        self._round_threshold_for_power_of_two()

    def __call__(self, inputs: Any, training: Any) -> Any:
        return self.grid_ops.symmetric_quantize(
            inputs, self.parameters["threshold"], self.num_bits, signed=self.signed
        )

    def convert2inferable(self) -> BaseInferableQuantizer:
        inferable = (
            self.inferables.ActivationPOTInferableQuantizer
            if self.power_of_two
            else self.inferables.ActivationSymmetricInferableQuantizer
        )
        return inferable(
            num_bits=self.num_bits,
            threshold=self.parameter_values()["threshold"],
            signed=self.signed,
        )


class WeightsUniformSTE(STEQuantizer):
    """Uniform weights over [range_min, range_max], per-channel or per-tensor, STE gradient."""

    parameter_spec = RANGE

    def __init__(self, quantization_config: NodeWeightsQuantizationConfig) -> None:
        super().__init__(
            quantization_config, QuantizationTarget.Weights, [QuantizationMethod.UNIFORM]
        )

    def __call__(self, inputs: Any, training: Any) -> Any:
        range_min = self._per_channel(self.parameters["range_min"], inputs)
        range_max = self._per_channel(self.parameters["range_max"], inputs)
        return self.grid_ops.uniform_quantize(inputs, range_min, range_max, self.num_bits)

    def convert2inferable(self) -> BaseInferableQuantizer:
        values = self.parameter_values()
        return self.inferables.WeightsUniformInferableQuantizer(
            num_bits=self.num_bits,
            min_range=values["range_min"],
            max_range=values["range_max"],
            per_channel=self.channel_axis is not None,
            channel_axis=self.channel_axis,
        )


class ActivationUniformSTE(STEQuantizer):
    """Uniform activations over one [range_min, range_max], STE gradient."""

    parameter_spec = RANGE

    def __init__(self, quantization_config: NodeActivationQuantizationConfig) -> None:
        super().__init__(
            quantization_config, QuantizationTarget.Activation, [QuantizationMethod.UNIFORM]
        )

    def __call__(self, inputs: Any, training: Any) -> Any:
        return self.grid_ops.uniform_quantize(
            inputs, self.parameters["range_min"], self.parameters["range_max"], self.num_bits
        )

    def convert2inferable(self) -> BaseInferableQuantizer:
        values = self.parameter_values()
        return self.inferables.ActivationUniformInferableQuantizer(
            num_bits=self.num_bits, min_range=values["range_min"], max_range=values["range_max"]
        )
