"""Learned Step Size Quantization (Esser et al., ICLR 2020): the math of every back end's LSQ.

With a step size ``s`` and integer bounds ``[-Qn, Qp]``::

    q(v) = s * round(clip(v / s, -Qn, Qp))        round straight-through

so ``dq/dv`` is 1 inside the range and 0 outside it, and ``dq/ds`` is ``round(v/s) - v/s``
inside and ``-Qn`` or ``Qp`` outside. The gradient reaching ``s`` is scaled by
``g = 1 / sqrt(N * Qp)``, ``N`` the number of values that share the step size. On the
symmetric grid the same quantizer has the threshold ``t = s * 2^(b - signed)``, which is what
the inferable quantizers are given. Framework-free: numpy and Python numbers only.
"""

from __future__ import annotations

import math

import numpy as np


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
