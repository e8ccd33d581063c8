"""Straight-through-estimator quantizers on a uniform (asymmetric) grid, for Keras 3.

Forward: the range [a, b] is first moved so that zero lies on the grid, then
``s * clip(round((x - a') / s), 0, 2^n - 1) + a'``; backward: the gradient passes unchanged
inside the range and is zero outside it. Ranges are fixed during training (set from the
config, which ``qat_init`` fills from data).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from quantizer_scaffold.quantizers_infrastructure import keras3 as qi3
from quantizer_scaffold.quantizers_infrastructure.common.quantizer_parameters import tensor_layout
from quantizer_scaffold.quantizers_infrastructure.keras3 import quantizer_utils
from quantizer_scaffold.quantizers_infrastructure.keras3.compat import keras
from quantizer_scaffold.quantizers_infrastructure.keras3.quantizer_variables import (
    add_fixed_variable,
    as_list,
)


@qi3.register_quantizer
class STEUniformWeightQuantizer(qi3.BaseKerasTrainableQuantizer):
    """Uniform weights over [range_min, range_max], per-channel or per-tensor, STE gradient."""

    def __init__(self, quantization_config: qi3.NodeWeightsQuantizationConfig) -> None:
        super().__init__(
            quantization_config, qi3.QuantizationTarget.Weights, [qi3.QuantizationMethod.UNIFORM]
        )
        config = quantization_config
        params = config.weights_quantization_params
        self.num_bits = config.weights_n_bits
        self.per_channel = config.weights_per_channel_threshold
        self.channel_axis = config.weights_channels_axis if self.per_channel else None
        self.range_min: Any = np.asarray(params["range_min"], np.float32)
        self.range_max: Any = np.asarray(params["range_max"], np.float32)

    def initialize_quantization(
        self, tensor_shape: Any, name: str, layer: keras.layers.Layer
    ) -> dict[str, Any]:
        """Two non-trainable variables: vectors along the channel axis, or scalars."""
        bounds = {}
        for key, values in (("range_min", self.range_min), ("range_max", self.range_max)):
            values = tensor_layout(values, tensor_shape, self.channel_axis, key)
            bounds[key] = add_fixed_variable(layer, f"{name}_{key}", values)
        self.range_min, self.range_max = bounds["range_min"], bounds["range_max"]
        self.quantizer_parameters = bounds
        return bounds

    def __call__(self, inputs: Any) -> Any:
        range_min, range_max = self.range_min, self.range_max
        if self.per_channel:
            rank = len(inputs.shape)
            range_min = quantizer_utils.channel_broadcast(range_min, rank, self.channel_axis)
            range_max = quantizer_utils.channel_broadcast(range_max, rank, self.channel_axis)
        return quantizer_utils.uniform_quantize(inputs, range_min, range_max, self.num_bits)

    def convert2inferable(self) -> qi3.BaseKerasInferableQuantizer:
        return qi3.WeightsUniformInferableQuantizer(
            num_bits=self.num_bits,
            min_range=as_list(self.range_min),
            max_range=as_list(self.range_max),
            per_channel=self.per_channel,
            channel_axis=self.channel_axis,
        )


@qi3.register_quantizer
class STEUniformActivationQuantizer(qi3.BaseKerasTrainableQuantizer):
    """Uniform activations over one [range_min, range_max], STE gradient."""

    def __init__(self, quantization_config: qi3.NodeActivationQuantizationConfig) -> None:
        super().__init__(
            quantization_config,
            qi3.QuantizationTarget.Activation,
            [qi3.QuantizationMethod.UNIFORM],
        )
        params = quantization_config.activation_quantization_params
        self.num_bits = quantization_config.activation_n_bits
        self.range_min: Any = np.asarray(params["range_min"], np.float32).reshape([])
        self.range_max: Any = np.asarray(params["range_max"], np.float32).reshape([])

    def initialize_quantization(
        self, tensor_shape: Any, name: str, layer: keras.layers.Layer
    ) -> dict[str, Any]:
        """Two scalar non-trainable variables."""
        self.range_min = add_fixed_variable(layer, f"{name}_range_min", self.range_min)
        self.range_max = add_fixed_variable(layer, f"{name}_range_max", self.range_max)
        self.quantizer_parameters = {"range_min": self.range_min, "range_max": self.range_max}
        return self.quantizer_parameters

    def __call__(self, inputs: Any) -> Any:
        return quantizer_utils.uniform_quantize(
            inputs, self.range_min, self.range_max, self.num_bits
        )

    def convert2inferable(self) -> qi3.BaseKerasInferableQuantizer:
        return qi3.ActivationUniformInferableQuantizer(
            num_bits=self.num_bits,
            min_range=as_list(self.range_min),
            max_range=as_list(self.range_max),
        )
