"""Straight-through-estimator quantizers on a uniform (asymmetric) grid.

Forward: the range [a, b] is first moved so that zero lies on the grid, then
``s * clip(round((x - a') / s), 0, 2^n - 1) + a'``; backward: the gradient passes unchanged
inside the range and is zero outside it. Ranges are fixed during training (set from the
config, which ``qat_init`` fills from data).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.quantizers_infrastructure.keras import quantizer_utils
from quantizer_scaffold.quantizers_infrastructure.keras.base_keras_trainable_quantizer import (
    BaseKerasTrainableQuantizer,
)
from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras, tf
from quantizer_scaffold.quantizers_infrastructure.keras.quantizer_variables import (
    add_fixed_variable,
    as_list,
    channel_values,
)
from quantizer_scaffold.quantizers_infrastructure.keras.serialization import register_quantizer


@register_quantizer
class STEUniformWeightQuantizer(BaseKerasTrainableQuantizer):
    """Uniform weights over [range_min, range_max], per-channel or per-tensor, STE gradient."""

    def __init__(self, quantization_config: qi.NodeWeightsQuantizationConfig) -> None:
        super().__init__(
            quantization_config, qi.QuantizationTarget.Weights, [qi.QuantizationMethod.UNIFORM]
        )
        config = quantization_config
        params = config.weights_quantization_params
        self.num_bits = config.weights_n_bits
        self.per_channel = config.weights_per_channel_threshold
        self.channel_axis = config.weights_channels_axis if self.per_channel else None
        self.range_min: tf.Variable | np.ndarray = np.asarray(params["range_min"], np.float32)
        self.range_max: tf.Variable | np.ndarray = np.asarray(params["range_max"], np.float32)

    def initialize_quantization(
        self, tensor_shape: Any, name: str, layer: keras.layers.Layer
    ) -> dict[str, tf.Variable]:
        """Two non-trainable variables: vectors along the channel axis, or scalars."""
        bounds = {"range_min": self.range_min, "range_max": self.range_max}
        for key, values in bounds.items():
            if self.per_channel:
                values = channel_values(values, tensor_shape, self.channel_axis, key)
            elif values.size != 1:
                raise ValueError(f"per-tensor quantization takes one {key}, got {values.size}")
            else:
                values = values.reshape([])
            bounds[key] = add_fixed_variable(layer, f"{name}_{key}", values)
        self.range_min, self.range_max = bounds["range_min"], bounds["range_max"]
        self.quantizer_parameters = bounds
        return bounds

    def __call__(self, inputs: tf.Tensor) -> tf.Tensor:
        range_min, range_max = self.range_min, self.range_max
        if self.per_channel:
            rank = inputs.shape.rank
            range_min = quantizer_utils.channel_broadcast(range_min, rank, self.channel_axis)
            range_max = quantizer_utils.channel_broadcast(range_max, rank, self.channel_axis)
        return quantizer_utils.uniform_quantize(inputs, range_min, range_max, self.num_bits)

    def convert2inferable(self) -> qi.BaseInferableQuantizer:
        return qi.WeightsUniformInferableQuantizer(
            num_bits=self.num_bits,
            min_range=as_list(self.range_min),
            max_range=as_list(self.range_max),
            per_channel=self.per_channel,
            channel_axis=self.channel_axis,
        )


@register_quantizer
class STEUniformActivationQuantizer(BaseKerasTrainableQuantizer):
    """Uniform activations over one [range_min, range_max], STE gradient."""

    def __init__(self, quantization_config: qi.NodeActivationQuantizationConfig) -> None:
        super().__init__(
            quantization_config, qi.QuantizationTarget.Activation, [qi.QuantizationMethod.UNIFORM]
        )
        config = quantization_config
        params = config.activation_quantization_params
        self.num_bits = config.activation_n_bits
        self.range_min: tf.Variable | np.ndarray = np.asarray(
            params["range_min"], np.float32
        ).reshape([])
        self.range_max: tf.Variable | np.ndarray = np.asarray(
            params["range_max"], np.float32
        ).reshape([])

    def initialize_quantization(
        self, tensor_shape: Any, name: str, layer: keras.layers.Layer
    ) -> dict[str, tf.Variable]:
        """Two scalar non-trainable variables."""
        self.range_min = add_fixed_variable(layer, f"{name}_range_min", self.range_min)
        self.range_max = add_fixed_variable(layer, f"{name}_range_max", self.range_max)
        self.quantizer_parameters = {"range_min": self.range_min, "range_max": self.range_max}
        return self.quantizer_parameters

    def __call__(self, inputs: tf.Tensor) -> tf.Tensor:
        return quantizer_utils.uniform_quantize(
            inputs, self.range_min, self.range_max, self.num_bits
        )

    def convert2inferable(self) -> qi.BaseInferableQuantizer:
        return qi.ActivationUniformInferableQuantizer(
            num_bits=self.num_bits,
            min_range=as_list(self.range_min),
            max_range=as_list(self.range_max),
        )
