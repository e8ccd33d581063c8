"""Per-node quantization settings: what a trainable quantizer is built from.

Both configs validate on construction and round-trip through a JSON-safe dict, so a saved
model never carries numpy scalars or enum integers whose meaning could drift.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing_extensions import Self

from .constants import QuantizationMethod

MIN_BITS = 1
MAX_BITS = 16
DEFAULT_MIN_THRESHOLD = 2.0**-16
# Quantizers compute in float32: a value outside its range would become inf or 0 there.
FLOAT32_MAX = 3.4028234663852886e38
FLOAT32_TINY = 1.1754943508222875e-38  # the smallest positive normal float32

Threshold = float | list[float]


def _method(value: QuantizationMethod | str, field: str) -> QuantizationMethod:
    if isinstance(value, QuantizationMethod):
        return value
    if isinstance(value, str):
        for member in QuantizationMethod:
            if value in (member.value, member.name):
                return member
    names = ", ".join(m.name for m in QuantizationMethod)
    raise ValueError(f"{field} must be a QuantizationMethod ({names}), got {value!r}")


def _n_bits(value: Any, field: str) -> int:
    # numbers.Integral admits numpy integers (bool is excluded: True is not a bit width)
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or not MIN_BITS <= value <= MAX_BITS
    ):
        raise ValueError(f"{field} must be an int in {MIN_BITS}..{MAX_BITS}, got {value!r}")
    return int(value)


def _finite_float(value: Any, field: str) -> float:
    # numbers.Real: float, int and numpy scalars; not bool, str or bytes (float() takes those)
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


def _positive_float(value: Any, field: str) -> float:
    number = _finite_float(value, field)
    if number <= 0:
        raise ValueError(f"{field} must be positive, got {value!r}")
    if number < FLOAT32_TINY:
        raise ValueError(f"{field} = {value!r} is too small for float32 (at least {FLOAT32_TINY})")
    return number


def _values(value: Any) -> tuple[list[Any], bool]:
    """``value`` as a list of items, and whether it was given as a list (numpy included)."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return list(value), True
    return [value], False


def _threshold(value: Any, field: str) -> Threshold:
    """A positive float, or a non-empty list of positive floats (one per channel)."""
    items, is_list = _values(value)
    if not is_list:
        return _positive_float(items[0], field)
    if not items:
        raise ValueError(f"{field} must not be an empty list")
    return [_positive_float(v, f"{field}[{i}]") for i, v in enumerate(items)]


def check_range_width(low: float, high: float, field: str) -> None:
    """The grid step of [low, high] must be a usable float32 (not inf, not zero)."""
    if not FLOAT32_TINY <= high - low <= FLOAT32_MAX:
        raise ValueError(
            f"{field}: the range [{low}, {high}] is too wide or too narrow for float32"
        )


def _bool(value: Any, field: str) -> bool:
    numpy_bool = type(value).__module__ == "numpy" and type(value).__name__ in ("bool_", "bool")
    if not isinstance(value, bool) and not numpy_bool:
        raise ValueError(f"{field} must be True or False, got {value!r}")
    return bool(value)


def _params(
    method: QuantizationMethod, params: Mapping[str, Any] | None, field: str
) -> dict[str, Any]:
    """Normalise the params a method needs to plain Python values; reject missing ones."""
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise ValueError(f"{field} must be a dict, got {type(params).__name__}")
    clean: dict[str, Any] = {}
    if method is QuantizationMethod.UNIFORM:
        for key in ("range_min", "range_max"):
            if key not in params:
                raise ValueError(f"{field} needs '{key}' for {method.name} quantization")
        lows, is_list = _values(params["range_min"])
        highs, _ = _values(params["range_max"])
        if len(lows) != len(highs) or not lows:
            raise ValueError(
                f"{field}: range_min and range_max need the same, non-zero length, "
                f"got {len(lows)} and {len(highs)}"
            )
        lows = [_finite_float(v, f"{field}['range_min']") for v in lows]
        highs = [_finite_float(v, f"{field}['range_max']") for v in highs]
        for i, (a, b) in enumerate(zip(lows, highs, strict=True)):
            if not a < b:
                raise ValueError(f"{field}: range_min must be < range_max, got {a} >= {b} at {i}")
            check_range_width(a, b, f"{field} at {i}")
        clean["range_min"] = lows if is_list else lows[0]
        clean["range_max"] = highs if is_list else highs[0]
    else:
        if "threshold" not in params:
            raise ValueError(f"{field} needs 'threshold' for {method.name} quantization")
        clean["threshold"] = _threshold(params["threshold"], f"{field}['threshold']")
    if "is_signed" in params:
        clean["is_signed"] = _bool(params["is_signed"], f"{field}['is_signed']")
    return clean


def _channel_count(params: Mapping[str, Any]) -> int | None:
    value = params.get("threshold", params.get("range_min"))
    return len(value) if isinstance(value, list) else None


class _NodeConfig:
    """Shared by both configs: the constructor's arguments are the whole state."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of the constructor arguments; ``from_dict`` gives an equal config."""
        data = {}
        for name in inspect.signature(type(self).__init__).parameters:
            if name == "self":
                continue
            value = getattr(self, name)
            data[name] = value.value if isinstance(value, QuantizationMethod) else value
            if isinstance(value, dict):
                data[name] = dict(value)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return cls(**data)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.to_dict() == other.to_dict()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_dict()!r})"


class NodeWeightsQuantizationConfig(_NodeConfig):
    """How one layer's weights are quantized: method, bits, parameters and channel layout."""

    def __init__(
        self,
        weights_quantization_method: QuantizationMethod | str,
        weights_n_bits: int,
        weights_quantization_params: Mapping[str, Any] | None,
        weights_channels_axis: int | None = -1,
        weights_per_channel_threshold: bool = True,
        enable_weights_quantization: bool = True,
        min_threshold: float = DEFAULT_MIN_THRESHOLD,
    ) -> None:
        self.weights_quantization_method = _method(
            weights_quantization_method, "weights_quantization_method"
        )
        self.weights_n_bits = _n_bits(weights_n_bits, "weights_n_bits")
        self.weights_quantization_params = _params(
            self.weights_quantization_method,
            weights_quantization_params,
            "weights_quantization_params",
        )
        self.weights_per_channel_threshold = _bool(
            weights_per_channel_threshold, "weights_per_channel_threshold"
        )
        if weights_channels_axis is not None and (
            isinstance(weights_channels_axis, bool) or not isinstance(weights_channels_axis, int)
        ):
            raise ValueError(f"weights_channels_axis must be an int, got {weights_channels_axis!r}")
        if self.weights_per_channel_threshold and weights_channels_axis is None:
            raise ValueError(
                "weights_channels_axis is required when weights_per_channel_threshold is True"
            )
        self.weights_channels_axis = weights_channels_axis
        channels = _channel_count(self.weights_quantization_params)
        if not self.weights_per_channel_threshold and channels not in (None, 1):
            raise ValueError(
                f"weights_quantization_params has {channels} per-channel values but "
                "weights_per_channel_threshold is False: pass one value or set it to True"
            )
        self.enable_weights_quantization = _bool(
            enable_weights_quantization, "enable_weights_quantization"
        )
        self.min_threshold = _positive_float(min_threshold, "min_threshold")


class NodeActivationQuantizationConfig(_NodeConfig):
    """How one layer's output activations are quantized: method, bits and parameters."""

    def __init__(
        self,
        activation_quantization_method: QuantizationMethod | str,
        activation_n_bits: int,
        activation_quantization_params: Mapping[str, Any] | None,
        enable_activation_quantization: bool = True,
        min_threshold: float = DEFAULT_MIN_THRESHOLD,
    ) -> None:
        self.activation_quantization_method = _method(
            activation_quantization_method, "activation_quantization_method"
        )
        self.activation_n_bits = _n_bits(activation_n_bits, "activation_n_bits")
        self.activation_quantization_params = _params(
            self.activation_quantization_method,
            activation_quantization_params,
            "activation_quantization_params",
        )
        channels = _channel_count(self.activation_quantization_params)
        if channels not in (None, 1):
            raise ValueError(
                "activation_quantization_params must hold one threshold or range, "
                f"got {channels} values"
            )
        self.enable_activation_quantization = _bool(
            enable_activation_quantization, "enable_activation_quantization"
        )
        self.min_threshold = _positive_float(min_threshold, "min_threshold")


NodeQuantizationConfig = NodeWeightsQuantizationConfig | NodeActivationQuantizationConfig


def config_from_dict(data: Mapping[str, Any]) -> NodeQuantizationConfig:
    """Rebuild either config from its ``to_dict`` form (the keys tell which one it is)."""
    if "weights_quantization_method" in data:
        return NodeWeightsQuantizationConfig.from_dict(data)
    if "activation_quantization_method" in data:
        return NodeActivationQuantizationConfig.from_dict(data)
    raise ValueError(f"not a node quantization config: keys {sorted(data)}")
