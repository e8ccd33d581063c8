"""Learned Step Size Quantization (Esser et al., ICLR 2020): the math both LSQ quantizers share.

With a step size ``s`` and integer bounds ``[-Qn, Qp]``::

    q(v) = s * round(clip(v / s, -Qn, Qp))        round straight-through

so ``dq/dv`` is 1 inside the range and 0 outside it, and ``dq/ds`` is ``round(v/s) - v/s``
inside and ``-Qn`` or ``Qp`` outside. The gradient reaching ``s`` is scaled by
``g = 1 / sqrt(N * Qp)``, ``N`` the number of values that share the step size. On the
symmetric grid of ``quantizer_utils.symmetric_quantize`` the same quantizer has the threshold
``t = s * 2^(b - signed)``, which is what the inferable quantizers are given.
"""

from __future__ import annotations

import math
from typing import Any

from quantizer_scaffold.qat.common.lsq import (  # noqa: F401  (the shared LSQ math)
    initial_step_size,
    integer_bounds,
    threshold_per_step,
)
from quantizer_scaffold.quantizers_infrastructure.keras import quantizer_utils
from quantizer_scaffold.quantizers_infrastructure.keras.compat import tf


def gradient_scale(values_per_step: Any, qp: int) -> Any:
    """``g = 1 / sqrt(N * Qp)``; ``values_per_step`` is ``N`` (a number or a scalar tensor)."""
    if isinstance(values_per_step, (int, float)):
        return 1.0 / math.sqrt(values_per_step * qp)
    return tf.math.rsqrt(tf.cast(values_per_step, tf.float32) * float(qp))


def lsq_quantize(
    x: tf.Tensor, step: tf.Tensor, num_bits: int, signed: bool, step_gradient_scale: Any
) -> tf.Tensor:
    """``step * round(clip(x / step, -Qn, Qp))``: LSQ's forward and its two gradients.

    ``step`` is a scalar or broadcastable against ``x`` (one step per channel). The forward is
    the symmetric grid with ``t = step * 2^(b - signed)`` (``quantizer_utils``' fused
    fake-quantization where it applies, so training and inference compute the same values);
    the gradient to ``x`` is straight-through (1 inside the range, 0 outside) and the gradient
    to ``step`` is the paper's, multiplied by ``step_gradient_scale``.
    """
    qn, qp = integer_bounds(num_bits, signed)
    per_step = threshold_per_step(num_bits, signed)

    @tf.custom_gradient
    def quantize(x: tf.Tensor, step: tf.Tensor) -> Any:
        quantized = quantizer_utils.symmetric_quantize(x, step * per_step, num_bits, signed)

        def gradient(upstream: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            inside = tf.logical_and(x >= -qn * step, x <= qp * step)
            # d q / d step: round(x/s) - x/s inside, -Qn or Qp outside, i.e. (q - x_inside) / s
            local = upstream * (quantized - tf.where(inside, x, 0.0))
            axes = [i for i in range(x.shape.rank) if i >= step.shape.rank or step.shape[i] == 1]
            per_step_sum = tf.reshape(
                tf.reduce_sum(local, axis=axes, keepdims=True), tf.shape(step)
            )
            return tf.where(inside, upstream, 0.0), per_step_sum / step * step_gradient_scale

        return quantized, gradient

    return quantize(x, step)
