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

import numpy as np

from quantizer_scaffold.quantizers_infrastructure.keras import quantizer_utils
from quantizer_scaffold.quantizers_infrastructure.keras.compat import tf


def integer_bounds(num_bits: int, signed: bool) -> tuple[int, int]:
    """``(Qn, Qp)``: signed ``(2^(b-1), 2^(b-1) - 1)``, unsigned ``(0, 2^b - 1)``."""
    if signed:
        if num_bits < 2:
            raise ValueError(
                "LSQ needs at least 2 bits for a signed tensor (1 bit leaves the grid {-s, 0}, "
                "Qp = 0): use num_bits >= 2"
            )
        return 2 ** (num_bits - 1), 2 ** (num_bits - 1) - 1
    return 0, 2**num_bits - 1


def threshold_per_step(num_bits: int, signed: bool) -> float:
    """``t / s`` on the symmetric grid: ``2^(b-1)`` signed, ``2^b`` unsigned."""
    return float(2 ** (num_bits - int(signed)))


def initial_step_size(values: np.ndarray, qp: int, channel_axis: int | None) -> np.ndarray:
    """The paper's ``2 * mean(|v|) / sqrt(Qp)``, per channel along ``channel_axis`` if given."""
    values = np.abs(np.asarray(values, dtype=np.float64))
    if channel_axis is None:
        mean = np.mean(values).reshape([1])
    else:
        axis = channel_axis % values.ndim
        mean = np.mean(values, axis=tuple(i for i in range(values.ndim) if i != axis))
    return (2.0 * mean / math.sqrt(qp)).astype(np.float32)


def gradient_scale(values_per_step: Any, qp: int) -> Any:
    """``g = 1 / sqrt(N * Qp)``; ``values_per_step`` is ``N`` (a number or a scalar tensor)."""
    if isinstance(values_per_step, (int, float)):
        return 1.0 / math.sqrt(values_per_step * qp)
    return tf.math.rsqrt(tf.cast(values_per_step, tf.float32) * float(qp))


def scale_gradient(x: tf.Tensor, scale: Any) -> tf.Tensor:
    """``x`` forward; its gradient multiplied by ``scale`` backward."""
    scaled = x * scale
    return tf.stop_gradient(x - scaled) + scaled


def lsq_quantize(x: tf.Tensor, step: tf.Tensor, qn: int, qp: int) -> tf.Tensor:
    """``step * round(clip(x / step, -qn, qp))`` with a straight-through round.

    ``step`` is broadcastable against ``x`` and already gradient-scaled by the caller.
    """
    levels = quantizer_utils.ste_clip(x / step, -float(qn), float(qp))
    return quantizer_utils.ste_round(levels) * step


def add_step_size(layer: Any, name: str, values: np.ndarray) -> tf.Variable:
    """The trainable step size as a weight of ``layer`` (saved, and mirrored by tf.distribute)."""
    values = np.asarray(values, dtype=np.float32)
    return layer.add_weight(
        name=name,
        shape=values.shape,
        dtype=tf.float32,
        initializer=tf.constant_initializer(values),
        trainable=True,
    )


def run_by_training_flag(training: Any, train: Any, infer: Any) -> tf.Tensor:
    """``train()`` or ``infer()`` by ``training``: chosen in Python when it is known statically."""
    if tf.is_tensor(training):
        flag = tf.get_static_value(training)
        if flag is None:
            return tf.cond(tf.cast(training, tf.bool), train, infer)
        training = flag
    return train() if training else infer()
