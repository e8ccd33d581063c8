"""``UniformGrid``: the values an inferable quantizer can output, described without running it.

Every grid of this package is uniform: ``scale * (q - zero_point)`` for the integers ``q`` in
``[quant_min, quant_max]``, one scale and zero point per channel where the quantizer is per
channel. An inferable quantizer returns its grid from ``grid()`` (None when its values are not
a uniform grid). Tools read it instead of guessing from parameter names: the contract tests
check outputs against it, and an integer export asks ``fits_integers(8)``: whether an int8
tensor with that scale and an integer zero point holds the grid exactly (the symmetric,
power-of-two and uniform grids do; DoReFa's levels, which do not contain 0.0, do not).

Framework-free: plain Python floats.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import validation

__all__ = ["UniformGrid", "power_of_two_ceil"]

MIN_THRESHOLD = 2.0**-16


def _floats(values: Any) -> tuple[float, ...]:
    items, _ = validation.as_items(values)
    return tuple(float(v) for v in items)


def _f32(value: float) -> float:
    """``value`` rounded to float32, as the quantizers compute (exact for + - * / of float32s)."""
    return struct.unpack("f", struct.pack("f", value))[0]


def power_of_two_ceil(
    thresholds: float | Sequence[float], min_threshold: float = MIN_THRESHOLD
) -> list[float]:
    """Each threshold, as float32, rounded up to the smallest power of two >= it.

    ``2 ** ceil(log2(max(t, min_threshold)))``, exact (no logarithm): what
    ``quantizer_utils.power_of_two_threshold`` computes on tensors.
    """
    rounded = []
    for threshold in _floats(thresholds):
        value = max(_f32(threshold), min_threshold)
        mantissa, exponent = math.frexp(value)  # value = mantissa * 2^exponent, in [0.5, 1)
        rounded.append(value if mantissa == 0.5 else math.ldexp(1.0, exponent))
    return rounded


@dataclass(frozen=True)
class UniformGrid:
    """``scale * (q - zero_point)`` for integer ``q`` in ``[quant_min, quant_max]``.

    ``scale`` and ``zero_point`` hold one value, or one per channel along ``channel_axis``.
    The zero point may be fractional: then 0.0 is not on the grid and no integer tensor with
    a zero point represents it exactly.
    """

    scale: tuple[float, ...]
    zero_point: tuple[float, ...]
    quant_min: int
    quant_max: int
    channel_axis: int | None = None

    def __post_init__(self) -> None:
        scale, zero_point = _floats(self.scale), _floats(self.zero_point)
        if not scale or len(zero_point) not in (1, len(scale)):
            raise ValueError(
                f"UniformGrid: scale and zero_point need matching, non-empty lengths, "
                f"got {len(scale)} and {len(zero_point)}"
            )
        if len(zero_point) == 1 and len(scale) > 1:
            zero_point = zero_point * len(scale)
        for i, s in enumerate(scale):
            validation.positive_float(s, f"UniformGrid: scale[{i}]")
        for i, z in enumerate(zero_point):
            validation.finite_float(z, f"UniformGrid: zero_point[{i}]")
        if not int(self.quant_min) < int(self.quant_max):
            raise ValueError(
                f"UniformGrid: quant_min must be < quant_max, got {self.quant_min}, "
                f"{self.quant_max}"
            )
        if len(scale) > 1 and self.channel_axis is None:
            raise ValueError("UniformGrid: several scales need a channel_axis")
        object.__setattr__(self, "scale", scale)
        object.__setattr__(self, "zero_point", zero_point)
        object.__setattr__(self, "quant_min", int(self.quant_min))
        object.__setattr__(self, "quant_max", int(self.quant_max))

    @classmethod
    def symmetric(
        cls,
        threshold: float | Sequence[float],
        num_bits: int,
        signed: bool = True,
        channel_axis: int | None = None,
    ) -> UniformGrid:
        """The symmetric grid of threshold t: step t / 2^(n - signed), zero point 0."""
        thresholds = _floats(threshold)
        steps = [t / 2.0 ** (num_bits - int(signed)) for t in thresholds]
        low = -(2 ** (num_bits - 1)) if signed else 0
        high = 2 ** (num_bits - 1) - 1 if signed else 2**num_bits - 1
        return cls(tuple(steps), (0.0,), low, high, channel_axis if len(steps) > 1 else None)

    @classmethod
    def uniform(
        cls,
        range_min: float | Sequence[float],
        range_max: float | Sequence[float],
        num_bits: int,
        channel_axis: int | None = None,
    ) -> UniformGrid:
        """The uniform grid on [a, b], moved so that 0 is on it (as the quantizers move it).

        Computed in float32 step by step like ``adjust_range_to_include_zero``, so that a range
        end exactly between two grid points lands where the quantizer puts it.
        """
        lows, highs = _floats(range_min), _floats(range_max)
        if not lows or not highs:
            raise ValueError("UniformGrid.uniform: range_min and range_max must not be empty")
        if len(lows) != len(highs) and 1 not in (len(lows), len(highs)):
            raise ValueError(
                f"UniformGrid.uniform: {len(lows)} range_min but {len(highs)} range_max values"
            )
        count = max(len(lows), len(highs))
        lows, highs = lows * (count // len(lows)), highs * (count // len(highs))
        levels = 2**num_bits - 1
        scales, zero_points = [], []
        for a, b in zip(lows, highs, strict=True):
            a, b = min(_f32(a), 0.0), max(_f32(b), 0.0)
            # grid_math.divide: x * (1 / d), each product rounded to float32
            scale = _f32(_f32(b - a) * _f32(1.0 / levels))
            scales.append(scale)
            zero_points.append(-math.floor(_f32(_f32(a * _f32(1.0 / scale)) + 0.5)))
        return cls(
            tuple(scales),
            tuple(zero_points),
            0,
            levels,
            channel_axis if len(scales) > 1 else None,
        )

    @property
    def channels(self) -> int:
        return len(self.scale)

    @property
    def has_integer_zero_point(self) -> bool:
        """Whether 0.0 is a grid value of every channel (its zero point is an integer in range)."""
        return all(
            float(z).is_integer() and self.quant_min <= z <= self.quant_max for z in self.zero_point
        )

    def fits_integers(self, bits: int = 8) -> bool:
        """Whether a ``bits``-bit integer tensor with this scale and an integer zero point holds
        every value of the grid exactly (what int8 TFLite and the fake-quant ops compute)."""
        return self.has_integer_zero_point and self.quant_max - self.quant_min < 2**bits

    def values(self, channel: int = 0) -> list[float]:
        """The grid values of one channel, ascending."""
        scale, zero_point = self.scale[channel], self.zero_point[channel]
        return [scale * (q - zero_point) for q in range(self.quant_min, self.quant_max + 1)]

    def bounds(self, channel: int = 0) -> tuple[float, float]:
        """The smallest and the largest value of one channel."""
        scale, zero_point = self.scale[channel], self.zero_point[channel]
        return scale * (self.quant_min - zero_point), scale * (self.quant_max - zero_point)
