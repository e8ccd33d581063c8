"""An independent numpy (float64) reference of the quantization math of docs/DESIGN.md."""

from __future__ import annotations

import numpy as np


def round_half_up(v: np.ndarray) -> np.ndarray:
    return np.floor(v + 0.5)


def reference_symmetric(x, threshold, n_bits, signed=True):  # type: ignore[no-untyped-def]
    """docs/DESIGN.md, in float64: delta * clip(round(x / delta), qmin, qmax)."""
    x = np.asarray(x, np.float64)
    delta = np.asarray(threshold, np.float64) / 2.0 ** (n_bits - int(signed))
    qmin = -(2 ** (n_bits - 1)) if signed else 0
    qmax = 2 ** (n_bits - int(signed)) - 1
    codes = np.clip(round_half_up(x / delta), qmin, qmax)
    return delta * codes, delta, codes, (qmin, qmax)


def reference_range(range_min, range_max, n_bits):  # type: ignore[no-untyped-def]
    a = np.minimum(np.asarray(range_min, np.float64), 0.0)
    b = np.maximum(np.asarray(range_max, np.float64), 0.0)
    scale = (b - a) / (2**n_bits - 1)
    a_adj = scale * round_half_up(a / scale)
    return a_adj, b - a + a_adj, scale


def reference_uniform(x, range_min, range_max, n_bits):  # type: ignore[no-untyped-def]
    x = np.asarray(x, np.float64)
    low, _, scale = reference_range(range_min, range_max, n_bits)
    codes = np.clip(round_half_up((x - low) / scale), 0, 2**n_bits - 1)
    return scale * codes + low, scale, codes, low


def off_tie_codes(rng: np.random.Generator, shape, qmin: int, qmax: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Real-valued grid positions spanning the range and 3 steps beyond, never near a .5 tie."""
    codes = rng.integers(qmin - 3, qmax + 4, size=shape).astype(np.float64)
    frac = rng.uniform(0.05, 0.4, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    return codes + frac
