"""Straight-through-estimator quantizers on a symmetric or power-of-two grid.

Forward: ``delta * clip(round(x / delta), low, high)`` with ``delta = t / 2^(n - signed)``;
backward: the gradient passes unchanged inside the range and is zero outside it. Thresholds
are fixed during training (set from the config, which ``qat_init`` fills from data); a
power-of-two threshold is rounded up to ``2^ceil(log2(t))`` once, at construction.
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

SYMMETRIC_METHODS = [qi.QuantizationMethod.SYMMETRIC, qi.QuantizationMethod.POWER_OF_TWO]


def effective_threshold(threshold: Any, method: qi.QuantizationMethod, min_threshold: float):
    """The threshold the grid uses: as given, or rounded up to a power of two (float32 array)."""
    values = np.asarray(threshold, dtype=np.float32)
    if method is not qi.QuantizationMethod.POWER_OF_TWO:
        return values
    with tf.init_scope():  # an eager constant even when built inside a tf.function
        return quantizer_utils.power_of_two_threshold(
            tf.constant(values), min_threshold=min_threshold
        ).numpy()


@register_quantizer
class STEWeightQuantizer(BaseKerasTrainableQuantizer):
    """Signed symmetric / power-of-two weights, per-channel or per-tensor, with an STE gradient."""

    def __init__(self, quantization_config: qi.NodeWeightsQuantizationConfig) -> None:
        super().__init__(quantization_config, qi.QuantizationTarget.Weights, SYMMETRIC_METHODS)
        config = quantization_config
        self.num_bits = config.weights_n_bits
        self.per_channel = config.weights_per_channel_threshold
        self.channel_axis = config.weights_channels_axis if self.per_channel else None
        self.power_of_two = config.weights_quantization_method is qi.QuantizationMethod.POWER_OF_TWO
        self.threshold: tf.Variable | np.ndarray = effective_threshold(
            config.weights_quantization_params["threshold"],
            config.weights_quantization_method,
            config.min_threshold,
        )

    def initialize_quantization(
        self, tensor_shape: Any, name: str, layer: keras.layers.Layer
    ) -> dict[str, tf.Variable]:
        """One non-trainable threshold variable: a vector along the channel axis, or a scalar."""
        values = self.threshold
        if self.per_channel:
            values = channel_values(values, tensor_shape, self.channel_axis, "threshold")
        elif values.size != 1:
            raise ValueError(f"per-tensor quantization takes one threshold, got {values.size}")
        else:
            values = values.reshape([])
        self.threshold = add_fixed_variable(layer, f"{name}_threshold", values)
        self.quantizer_parameters = {"threshold": self.threshold}
        return self.quantizer_parameters

    def __call__(self, inputs: tf.Tensor) -> tf.Tensor:
        threshold = self.threshold
        if self.per_channel:
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
            threshold=as_list(self.threshold),
            per_channel=self.per_channel,
            channel_axis=self.channel_axis,
        )


@register_quantizer
class STEActivationQuantizer(BaseKerasTrainableQuantizer):
    """Signed or unsigned symmetric / power-of-two activations with an STE gradient.

    ``activation_quantization_params`` holds ``threshold`` and ``is_signed`` (default True).
    """

    def __init__(self, quantization_config: qi.NodeActivationQuantizationConfig) -> None:
        super().__init__(quantization_config, qi.QuantizationTarget.Activation, SYMMETRIC_METHODS)
        config = quantization_config
        params = config.activation_quantization_params
        self.num_bits = config.activation_n_bits
        self.signed = params.get("is_signed", True)
        self.power_of_two = (
            config.activation_quantization_method is qi.QuantizationMethod.POWER_OF_TWO
        )
        self.threshold: tf.Variable | np.ndarray = effective_threshold(
            params["threshold"], config.activation_quantization_method, config.min_threshold
        ).reshape([])

    def initialize_quantization(
        self, tensor_shape: Any, name: str, layer: keras.layers.Layer
    ) -> dict[str, tf.Variable]:
        """One scalar non-trainable threshold variable."""
        self.threshold = add_fixed_variable(layer, f"{name}_threshold", self.threshold)
        self.quantizer_parameters = {"threshold": self.threshold}
        return self.quantizer_parameters

    def __call__(self, inputs: tf.Tensor) -> tf.Tensor:
        return quantizer_utils.symmetric_quantize(
            inputs, self.threshold, self.num_bits, signed=self.signed
        )

    def convert2inferable(self) -> qi.BaseInferableQuantizer:
        inferable = (
            qi.ActivationPOTInferableQuantizer
            if self.power_of_two
            else qi.ActivationSymmetricInferableQuantizer
        )
        return inferable(
            num_bits=self.num_bits, threshold=as_list(self.threshold), signed=self.signed
        )
