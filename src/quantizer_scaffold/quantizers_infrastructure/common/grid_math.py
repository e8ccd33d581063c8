"""The quantization grids, written once for every back end.

Notation: ``n`` bits, threshold ``t > 0``, range ``[a, b]``; rounding is round-half-up,
``floor(v + 0.5)``, the rounding of ``tf.quantization.fake_quant_with_min_max_vars``.

- symmetric / power-of-two: ``delta = t / 2^(n - signed)``; the grid spans ``[-t, t - delta]``
  (signed) or ``[0, t - delta]`` (unsigned). Power-of-two thresholds are ``2^ceil(log2 t)``
  (``grid.power_of_two_ceil``).
- uniform: ``[a, b]`` is first moved so that 0 is a grid level:
  ``s = (b - a) / (2^n - 1)``, ``a' = s * round(a / s)``, ``b' = b - a + a'``.
- every grid is then the ``2^n`` levels spanning ``[low, high]``:
  ``s * round((clip(x, low, high) - low) / s) + low`` with ``s = (high - low) / (2^n - 1)``,
  computed as ``(round(...) - z) * s`` with the integer zero point ``z = round(-low / s)``.

The functions take the array library as ``xp`` (``keras.ops`` for Keras 3, a TensorFlow
namespace for Keras 2) and otherwise use Python operators only, so each back end computes the
same arithmetic in the same order; gradients are the back ends' business.

Every division by a value that is a constant in some model is written as a product with its
reciprocal (``divide``): graph compilers rewrite ``x / c`` for a constant ``c`` as
``x * (1 / c)`` (TensorFlow's constant folding, XLA's algebraic simplifier), which rounds
otherwise. A QAT model reads its grid parameters from variables and its finalized copy from
constants, so with ``x / c`` the two put a value next to a rounding boundary on different
levels; with the product they compute the same.
"""

from __future__ import annotations

from typing import Any, Protocol


class ArrayOps(Protocol):
    """The elementwise functions the grids need besides Python's arithmetic operators."""

    def floor(self, x: Any) -> Any: ...

    def minimum(self, x: Any, y: Any) -> Any: ...

    def maximum(self, x: Any, y: Any) -> Any: ...


def round_half_up(xp: ArrayOps, x: Any) -> Any:
    """``floor(x + 0.5)``: the rounding of every quantizer of this package."""
    return xp.floor(x + 0.5)


def divide(x: Any, d: Any) -> Any:
    """``x / d`` as ``x * (1 / d)``: what a graph compiler makes of it when ``d`` is a constant,
    written out so that a constant ``d`` and a variable one give the same values."""
    return x * (1.0 / d)


def symmetric_step(threshold: Any, n_bits: int, signed: bool) -> Any:
    """``delta = t / 2^(n - signed)``: exact in floating point (a power-of-two division)."""
    return threshold / float(2 ** (n_bits - int(signed)))


def symmetric_bounds(threshold: Any, n_bits: int, signed: bool) -> tuple[Any, Any]:
    """``(low, high)`` of the symmetric grid: ``[-t, t - delta]`` or ``[0, t - delta]``."""
    low = -threshold if signed else threshold * 0.0
    return low, threshold - symmetric_step(threshold, n_bits, signed)


def zero_adjusted_range(xp: ArrayOps, range_min: Any, range_max: Any, n_bits: int) -> tuple:
    """Move ``[a, b]`` so 0 is a level (``a > 0`` gives ``[0, b]``, ``b < 0`` gives ``[a, 0]``)."""
    low = xp.minimum(range_min, 0.0)
    high = xp.maximum(range_max, 0.0)
    scale = divide(high - low, float(2**n_bits - 1))
    adjusted_low = scale * round_half_up(xp, divide(low, scale))
    return adjusted_low, high - low + adjusted_low


def quantize_clipped(
    xp: ArrayOps, clipped: Any, low: Any, high: Any, n_bits: int, scale: Any = None
) -> Any:
    """The level nearest to ``clipped`` (already within ``[low, high]``) of the 2^n spanning it.

    ``scale`` is the step, ``(high - low) / (2^n - 1)`` unless given (the symmetric grids give
    their exact ``delta``). A level is written ``(code - zero_point) * s`` with an integer zero
    point (``-low / s`` rounded, as the fused fake-quant op nudges it): one rounding, and no
    product-plus-sum that a compiler could fuse into an FMA in one program and not in another,
    so two compilations of a model (a QAT model and its finalized copy under XLA) agree.
    """
    if scale is None:
        scale = divide(high - low, float(2**n_bits - 1))
    inverse = 1.0 / scale
    zero_point = round_half_up(xp, -low * inverse)
    return (round_half_up(xp, (clipped - low) * inverse) - zero_point) * scale
