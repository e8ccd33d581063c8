"""LSQ: the trainable weights quantizer for Keras 3.

Learned Step Size Quantization (Esser et al., ICLR 2020) on the signed symmetric grid:
``q(w) = s * round(clip(w / s, -2^(b-1), 2^(b-1) - 1))`` with a trainable step size ``s`` per
output channel, its gradient scaled by ``1 / sqrt(N * Qp)``; as the Keras 2 LSQ does.

``s`` starts at the calibrated threshold of the config (``s = t / 2^(b-1)``, the
post-training grid) and is set to the paper's ``2 * mean(|w|) / sqrt(Qp)`` the first time the
quantizer runs in training, from the weights at that moment (``qat_init`` copies the float
weights in after the wrapper is built). Keras 3 on JAX keeps no assignment to a trainable
variable made inside a training step, so the setting goes into a non-trainable offset:
``s = step_size + offset``, the offset fixed from then on, and ``step_size`` receives exactly
the gradient of ``s``. A flag variable, saved with the model, keeps a reloaded model from
resetting.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from quantizer_scaffold.qat.common.lsq import integer_bounds, threshold_per_step
from quantizer_scaffold.quantizers_infrastructure import keras3 as qi3
from quantizer_scaffold.quantizers_infrastructure.common.quantizer_parameters import tensor_layout
from quantizer_scaffold.quantizers_infrastructure.keras3 import quantizer_utils
from quantizer_scaffold.quantizers_infrastructure.keras3.compat import keras, ops
from quantizer_scaffold.quantizers_infrastructure.keras3.quantizer_variables import (
    add_fixed_variable,
    add_variable,
    as_list,
)

from .step_size import gradient_scale, lsq_quantize

METHODS = [qi3.QuantizationMethod.SYMMETRIC]


@qi3.register_quantizer
class LSQWeightsTrainingQuantizer(qi3.BaseKerasTrainableQuantizer):
    """Quantizes weights while training with a learned step size per channel (or per tensor)."""

    def __init__(self, quantization_config: qi3.NodeWeightsQuantizationConfig) -> None:
        super().__init__(quantization_config, qi3.QuantizationTarget.Weights, METHODS)
        self.num_bits = quantization_config.weights_n_bits
        self.qn, self.qp = integer_bounds(self.num_bits, signed=True)
        self.threshold_per_step = threshold_per_step(self.num_bits, signed=True)
        self.min_step = quantization_config.min_threshold / self.threshold_per_step
        per_channel = quantization_config.weights_per_channel_threshold
        self.channel_axis = quantization_config.weights_channels_axis if per_channel else None
        self.initial_threshold = quantization_config.weights_quantization_params["threshold"]
        self.parameters: dict[str, Any] = {}

    def initialize_quantization(
        self, tensor_shape: Any, name: str, layer: keras.layers.Layer
    ) -> dict[str, Any]:
        """The trainable step size (one per channel), its offset and its "initialized" flag."""
        threshold = tensor_layout(
            self.initial_threshold, tensor_shape, self.channel_axis, "threshold"
        ).reshape([-1])
        step = threshold / self.threshold_per_step
        self.parameters = {
            "step_size": add_variable(layer, f"{name}_step_size", step, trainable=True),
            "offset": add_fixed_variable(layer, f"{name}_step_size_offset", np.zeros_like(step)),
            "initialized": add_fixed_variable(layer, f"{name}_step_size_initialized", 0.0),
        }
        self.quantizer_parameters = dict(self.parameters)
        return self.quantizer_parameters

    def __call__(self, inputs: Any, training: bool = True) -> Any:
        """LSQ in training; in inference the symmetric grid with ``t = s * 2^(b-1)``."""
        if not self.parameters:
            raise RuntimeError(
                f"{type(self).__name__}: call initialize_quantization() (the wrapper's build) first"
            )
        x = quantizer_utils.as_tensor(inputs)
        if not training:
            return quantizer_utils.symmetric_quantize(
                x, self._broadcast(self._step(), x) * self.threshold_per_step, self.num_bits
            )
        channels = 1 if self.channel_axis is None else x.shape[self.channel_axis]
        scale = gradient_scale(int(np.prod(x.shape)) // channels, self.qp)
        return lsq_quantize(
            x, self._broadcast(self._training_step(x), x), self.num_bits, True, scale
        )

    def _step(self) -> Any:
        """``s = step_size + offset``, kept at least ``min_threshold / 2^(b-1)``."""
        step_size, offset = (
            quantizer_utils.as_tensor(self.parameters[k]) for k in ("step_size", "offset")
        )
        return ops.maximum(step_size + offset, self.min_step)

    def _training_step(self, weights: Any) -> Any:
        """``s``, the first training call setting it to ``2 * mean(|w|) / sqrt(Qp)``."""
        parameters = self.parameters
        step_size, offset, initialized = (
            quantizer_utils.as_tensor(parameters[k]) for k in ("step_size", "offset", "initialized")
        )
        magnitudes = ops.abs(weights)
        if self.channel_axis is None:
            mean = ops.reshape(ops.mean(magnitudes), [1])
        else:
            axis = self.channel_axis % len(weights.shape)
            mean = ops.mean(magnitudes, axis=[i for i in range(len(weights.shape)) if i != axis])
        paper = ops.maximum(2.0 * mean / float(np.sqrt(self.qp)), self.min_step)
        first = ops.equal(initialized, 0.0)
        offset = ops.stop_gradient(ops.where(first, paper - step_size, offset))
        parameters["offset"].assign(offset)
        parameters["initialized"].assign(1.0)
        return ops.maximum(step_size + offset, self.min_step)

    def _broadcast(self, step: Any, x: Any) -> Any:
        if self.channel_axis is None:
            return ops.reshape(step, [])
        return quantizer_utils.channel_broadcast(step, len(x.shape), self.channel_axis)

    def convert2inferable(self) -> qi3.BaseKerasInferableQuantizer:
        """The symmetric inferable quantizer with the learned threshold ``t = s * 2^(b-1)``."""
        return qi3.WeightsSymmetricInferableQuantizer(
            num_bits=self.num_bits,
            threshold=as_list(self._step() * self.threshold_per_step),
            per_channel=self.channel_axis is not None,
            channel_axis=self.channel_axis,
        )
