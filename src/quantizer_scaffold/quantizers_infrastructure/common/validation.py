"""Checks of quantizer parameters, shared by the node configs and every inferable quantizer.

Each function takes the value and the ``field`` to name in its error (e.g.
``"MyInferableQuantizer: num_bits"``) and returns the value as a plain Python object, or raises
a one-line ``ValueError`` that says what is wrong. Framework-free: no TensorFlow, no numpy.
``grid_parameters`` checks the parameters of a whole grid (what a generated inferable
quantizer's constructor takes).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

from .constants import QuantizationMethod

MIN_BITS = 1
MAX_BITS = 16
# Quantizers compute in float32: a value outside its range would become inf or 0 there.
FLOAT32_MAX = 3.4028234663852886e38
FLOAT32_TINY = 1.1754943508222875e-38  # the smallest positive normal float32

__all__ = [
    "FLOAT32_MAX",
    "FLOAT32_TINY",
    "MAX_BITS",
    "MIN_BITS",
    "as_items",
    "boolean",
    "channel_axis",
    "check_range_width",
    "finite_float",
    "float_list",
    "grid_parameters",
    "num_bits",
    "positive_float",
    "range_lists",
]


def num_bits(value: Any, field: str) -> int:
    """An int bit width in ``MIN_BITS..MAX_BITS`` (numpy ints too; ``True`` is not a width)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or not MIN_BITS <= value <= MAX_BITS
    ):
        raise ValueError(f"{field} must be an int in {MIN_BITS}..{MAX_BITS}, got {value!r}")
    return int(value)


def finite_float(value: Any, field: str) -> float:
    """A finite number that float32 can hold (not bool, str or bytes, which float() accepts)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{field} must be a finite number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{field} must be a finite number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{field} must be a finite number, got {value!r}")
    if abs(number) > FLOAT32_MAX:
        raise ValueError(
            f"{field} must be a finite number within float32 range (|x| <= {FLOAT32_MAX:.4g}), "
            f"got {value!r}"
        )
    return number


def positive_float(value: Any, field: str) -> float:
    """A finite number above zero and at least float32's smallest normal value."""
    number = finite_float(value, field)
    if number <= 0:
        raise ValueError(f"{field} must be positive, got {value!r}")
    if number < FLOAT32_TINY:
        raise ValueError(f"{field} = {value!r} is too small for float32 (at least {FLOAT32_TINY})")
    return number


def boolean(value: Any, field: str) -> bool:
    """``True`` or ``False`` (a numpy bool too; not 0, 1 or a string)."""
    numpy_bool = type(value).__module__ == "numpy" and type(value).__name__ in ("bool_", "bool")
    if not isinstance(value, bool) and not numpy_bool:
        raise ValueError(f"{field} must be True or False, got {value!r}")
    return bool(value)


def channel_axis(value: Any, field: str) -> int | None:
    """An int axis (numpy ints too) or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{field} must be an int, got {value!r}")
    return int(value)


def as_items(value: Any) -> tuple[list[Any], bool]:
    """``value`` as a list of items, and whether it was given as a list (numpy included)."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return list(value), True
    return [value], False


def float_list(value: Any, field: str, positive: bool = False) -> list[float]:
    """``value`` (a number or a non-empty list of numbers) as a list of checked floats."""
    items, _ = as_items(value)
    if not items:
        raise ValueError(f"{field} must not be an empty list")
    check = positive_float if positive else finite_float
    return [check(v, f"{field}[{i}]") for i, v in enumerate(items)]


def check_range_width(low: float, high: float, field: str, num_bits: int | None = None) -> None:
    """The grid step of [low, high] must be a usable float32 (not inf, not zero, not
    subnormal): the width itself, and with ``num_bits`` the step between its levels."""
    width = high - low
    step = width / (2**num_bits - 1) if num_bits else width
    if not (FLOAT32_TINY <= step and width <= FLOAT32_MAX):
        levels = f" with {2**num_bits} levels" if num_bits else ""
        raise ValueError(
            f"{field}: the range [{low}, {high}]{levels} is too wide or too narrow for float32"
        )


def range_lists(
    low: Any,
    high: Any,
    field: str,
    names: tuple[str, str] = ("range_min", "range_max"),
    num_bits: int | None = None,
) -> tuple[list[float], list[float]]:
    """Equally long, non-empty lists of range ends with ``low < high`` and a float32 step.

    ``names`` are the two parameters as the caller spells them, for the messages;
    ``num_bits``: the grid the range is cut into (its step must be a normal float32).
    """
    low_name, high_name = names
    lows = float_list(low, f"{field}: {low_name}")
    highs = float_list(high, f"{field}: {high_name}")
    if len(lows) != len(highs):
        raise ValueError(
            f"{field}: {low_name} and {high_name} need the same length, "
            f"got {len(lows)} and {len(highs)}"
        )
    for i, (a, b) in enumerate(zip(lows, highs, strict=True)):
        if not a < b:
            raise ValueError(f"{field}: {low_name} must be < {high_name}, got {a} >= {b} at {i}")
        check_range_width(a, b, f"{field}: {low_name}/{high_name} at {i}", num_bits)
    return lows, highs


def grid_parameters(
    method: QuantizationMethod, given: Mapping[str, Any], field: str
) -> dict[str, list[float]]:
    """The parameters ``method``'s grid needs, from ``given``, as checked lists of floats.

    ``UNIFORM`` takes ``range_min`` and ``range_max``; the others a positive ``threshold``.
    Each is a number or a list with one value per channel.
    """
    names = ("range_min", "range_max") if method is QuantizationMethod.UNIFORM else ("threshold",)
    for name in names:
        if given.get(name) is None:
            raise ValueError(f"{field} needs '{name}' for {method.name} quantization")
    if method is QuantizationMethod.UNIFORM:
        lows, highs = range_lists(given["range_min"], given["range_max"], field)
        return {"range_min": lows, "range_max": highs}
    return {"threshold": float_list(given["threshold"], f"{field}: threshold", positive=True)}
