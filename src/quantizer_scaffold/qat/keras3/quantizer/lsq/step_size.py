"""LSQ's quantizer and step-size gradient in ``keras.ops`` (the math: ``qat/common/lsq.py``).

The forward is the symmetric grid of ``quantizer_utils`` with ``t = s * 2^(b - signed)``, so
training and inference compute the same values; the gradient to the input is
straight-through (1 inside the range, 0 outside) and the gradient to the step size is the
paper's, multiplied by the gradient scale. ``LSQQuantizer`` is what the weights and the
activations quantizers share: the learned step size, clamped at ``min_threshold / 2^(b -
signed)``, and the call.
"""

from __future__ import annotations

import abc
import math
from typing import Any

from quantizer_scaffold.qat.common.lsq import integer_bounds, threshold_per_step
from quantizer_scaffold.quantizers_infrastructure import keras3 as qi3
from quantizer_scaffold.quantizers_infrastructure.common import grid_math
from quantizer_scaffold.quantizers_infrastructure.keras3 import quantizer_utils
from quantizer_scaffold.quantizers_infrastructure.keras3.compat import ops
from quantizer_scaffold.quantizers_infrastructure.keras3.quantizer_utils import (
    as_tensor,
    sum_to_shape,
)

METHODS = [qi3.QuantizationMethod.SYMMETRIC]
PARAMETERS = qi3.ParameterSpec(
    # learned, one per output channel for weights: starts from the calibrated threshold
    # (s = t / 2^(b - signed)); the weights quantizer's calibrate() sets the paper's init
    qi3.QuantizerParameter("step_size", qi3.ParameterKind.LEARNED, initial="threshold"),
)


def gradient_scale(values_per_step: Any, qp: int) -> Any:
    """``g = 1 / sqrt(N * Qp)``; ``values_per_step`` is ``N`` (a number or a scalar tensor)."""
    if isinstance(values_per_step, (int, float)):
        return 1.0 / math.sqrt(values_per_step * qp)
    return ops.rsqrt(ops.cast(values_per_step, "float32") * float(qp))


def lsq_quantize(x: Any, step: Any, num_bits: int, signed: bool, step_gradient_scale: Any) -> Any:
    """``step * round(clip(x / step, -Qn, Qp))``: LSQ's forward and its two gradients.

    ``step`` is a scalar or broadcastable against ``x`` (one step per channel).
    """
    per_step = threshold_per_step(num_bits, signed)
    integer_bounds(num_bits, signed)  # refuses a signed 1-bit grid

    @ops.custom_gradient
    def quantize(x: Any, step: Any) -> Any:
        threshold = step * per_step
        low, high = grid_math.symmetric_bounds(threshold, num_bits, signed)
        clipped = ops.clip(x, low, high)
        delta = grid_math.symmetric_step(threshold, num_bits, signed)  # = step, exactly
        quantized = grid_math.quantize_clipped(ops, clipped, low, high, num_bits, delta)

        def gradient(*args: Any, upstream: Any = None) -> tuple[Any, Any]:
            if upstream is None:  # the TensorFlow back end passes it positionally
                (upstream,) = args
            inside = ops.equal(clipped, x)  # x within the range: the clip left it alone
            # d q / d step: round(x/s) - x/s inside, -Qn or Qp outside, i.e. (q - x_inside) / s
            local = upstream * ops.where(inside, quantized - x, quantized)
            step_gradient = sum_to_shape(local, tuple(step.shape)) * (step_gradient_scale / step)
            return ops.where(inside, upstream, 0.0), step_gradient

        return quantized, gradient

    x = as_tensor(x)
    return quantize(x, ops.cast(step, x.dtype))


class LSQQuantizer(qi3.BaseKerasTrainableQuantizer):
    """A learned step size on the symmetric grid; subclasses give ``N`` and the inferable twin."""

    parameter_spec = PARAMETERS

    def __init__(self, quantization_config: Any, target: Any, signed: bool) -> None:
        super().__init__(quantization_config, target, METHODS)
        self.signed = signed
        self.qn, self.qp = integer_bounds(self.num_bits, signed)
        self.threshold_per_step = threshold_per_step(self.num_bits, signed)
        self.min_step = quantization_config.min_threshold / self.threshold_per_step
        self.initial_values["step_size"] = [
            max(t / self.threshold_per_step, self.min_step)
            for t in self.initial_values["step_size"]
        ]

    @abc.abstractmethod
    def values_per_step(self, x: Any) -> Any:
        """``N`` of the gradient scale ``1 / sqrt(N * Qp)``: the values sharing a step size."""

    def __call__(self, inputs: Any, training: Any) -> Any:
        """LSQ in training; in inference the symmetric grid with ``t = s * 2^(b - signed)``."""
        x = as_tensor(inputs)
        step = ops.maximum(as_tensor(self.parameters["step_size"]), self.min_step)
        if self.channel_axis is None:
            step = ops.reshape(step, [])
        else:
            step = quantizer_utils.channel_broadcast(step, len(x.shape), self.channel_axis)
        scale = gradient_scale(self.values_per_step(x), self.qp)
        return quantizer_utils.by_training(
            training,
            lambda: lsq_quantize(x, step, self.num_bits, self.signed, scale),
            lambda: quantizer_utils.symmetric_quantize(
                x, step * self.threshold_per_step, self.num_bits, self.signed
            ),
        )

    def learned_thresholds(self) -> list[float]:
        """The thresholds ``t = s * 2^(b - signed)`` of the learned (clamped) step sizes."""
        return [
            max(s, self.min_step) * self.threshold_per_step
            for s in self.parameter_values()["step_size"]
        ]
