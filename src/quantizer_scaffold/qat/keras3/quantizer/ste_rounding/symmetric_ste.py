"""Straight-through-estimator quantizers on a symmetric or power-of-two grid, for Keras 3.

Forward: ``delta * clip(round(x / delta), low, high)`` with ``delta = t / 2^(n - signed)``;
backward: the gradient passes unchanged inside the range and is zero outside it. Thresholds
are fixed during training (set from the config, which ``qat_init`` fills from data); a
power-of-two threshold is rounded up to ``2^ceil(log2(t))`` once, at construction.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from quantizer_scaffold.quantizers_infrastructure import keras3 as qi3
from quantizer_scaffold.quantizers_infrastructure.common import grid_math
from quantizer_scaffold.quantizers_infrastructure.common.quantizer_parameters import tensor_layout
from quantizer_scaffold.quantizers_infrastructure.keras3 import quantizer_utils
from quantizer_scaffold.quantizers_infrastructure.keras3.compat import keras
from quantizer_scaffold.quantizers_infrastructure.keras3.quantizer_variables import (
    add_fixed_variable,
    as_list,
)

SYMMETRIC_METHODS = [qi3.QuantizationMethod.SYMMETRIC, qi3.QuantizationMethod.POWER_OF_TWO]


def effective_threshold(
    threshold: Any, method: qi3.QuantizationMethod, min_threshold: float
) -> np.ndarray:
    """The threshold the grid uses: as given, or rounded up to a power of two (float32)."""
    if method is qi3.QuantizationMethod.POWER_OF_TWO:
        return grid_math.power_of_two_ceil(threshold, min_threshold)
    return np.asarray(threshold, dtype=np.float32)


@qi3.register_quantizer
class STEWeightQuantizer(qi3.BaseKerasTrainableQuantizer):
    """Signed symmetric / power-of-two weights, per-channel or per-tensor, with an STE gradient."""

    def __init__(self, quantization_config: qi3.NodeWeightsQuantizationConfig) -> None:
        super().__init__(quantization_config, qi3.QuantizationTarget.Weights, SYMMETRIC_METHODS)
        config = quantization_config
        self.num_bits = config.weights_n_bits
        self.per_channel = config.weights_per_channel_threshold
        self.channel_axis = config.weights_channels_axis if self.per_channel else None
        self.power_of_two = (
            config.weights_quantization_method is qi3.QuantizationMethod.POWER_OF_TWO
        )
        self.threshold: Any = effective_threshold(
            config.weights_quantization_params["threshold"],
            config.weights_quantization_method,
            config.min_threshold,
        )

    def initialize_quantization(
        self, tensor_shape: Any, name: str, layer: keras.layers.Layer
    ) -> dict[str, Any]:
        """One non-trainable threshold variable: a vector along the channel axis, or a scalar."""
        values = tensor_layout(self.threshold, tensor_shape, self.channel_axis, "threshold")
        self.threshold = add_fixed_variable(layer, f"{name}_threshold", values)
        self.quantizer_parameters = {"threshold": self.threshold}
        return self.quantizer_parameters

    def __call__(self, inputs: Any) -> Any:
        threshold = self.threshold
        if self.per_channel:
            threshold = quantizer_utils.channel_broadcast(
                threshold, len(inputs.shape), self.channel_axis
            )
        return quantizer_utils.symmetric_quantize(inputs, threshold, self.num_bits, signed=True)

    def convert2inferable(self) -> qi3.BaseKerasInferableQuantizer:
        inferable = (
            qi3.WeightsPOTInferableQuantizer
            if self.power_of_two
            else qi3.WeightsSymmetricInferableQuantizer
        )
        return inferable(
            num_bits=self.num_bits,
            threshold=as_list(self.threshold),
            per_channel=self.per_channel,
            channel_axis=self.channel_axis,
        )


@qi3.register_quantizer
class STEActivationQuantizer(qi3.BaseKerasTrainableQuantizer):
    """Signed or unsigned symmetric / power-of-two activations with an STE gradient.

    ``activation_quantization_params`` holds ``threshold`` and ``is_signed`` (default True).
    """

    def __init__(self, quantization_config: qi3.NodeActivationQuantizationConfig) -> None:
        super().__init__(quantization_config, qi3.QuantizationTarget.Activation, SYMMETRIC_METHODS)
        config = quantization_config
        params = config.activation_quantization_params
        self.num_bits = config.activation_n_bits
        self.signed = params.get("is_signed", True)
        self.power_of_two = (
            config.activation_quantization_method is qi3.QuantizationMethod.POWER_OF_TWO
        )
        self.threshold: Any = effective_threshold(
            params["threshold"], config.activation_quantization_method, config.min_threshold
        ).reshape([])

    def initialize_quantization(
        self, tensor_shape: Any, name: str, layer: keras.layers.Layer
    ) -> dict[str, Any]:
        """One scalar non-trainable threshold variable."""
        self.threshold = add_fixed_variable(layer, f"{name}_threshold", self.threshold)
        self.quantizer_parameters = {"threshold": self.threshold}
        return self.quantizer_parameters

    def __call__(self, inputs: Any) -> Any:
        return quantizer_utils.symmetric_quantize(
            inputs, self.threshold, self.num_bits, signed=self.signed
        )

    def convert2inferable(self) -> qi3.BaseKerasInferableQuantizer:
        inferable = (
            qi3.ActivationPOTInferableQuantizer
            if self.power_of_two
            else qi3.ActivationSymmetricInferableQuantizer
        )
        return inferable(
            num_bits=self.num_bits, threshold=as_list(self.threshold), signed=self.signed
        )
