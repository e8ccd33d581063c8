"""Per-node quantization settings: what a trainable quantizer is built from.

Both configs validate on construction and round-trip through a JSON-safe dict, so a saved
model never carries numpy scalars or enum integers whose meaning could drift.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing_extensions import Self

from . import validation
from .constants import QuantizationMethod

DEFAULT_MIN_THRESHOLD = 2.0**-16


def _method(value: QuantizationMethod | str, field: str) -> QuantizationMethod:
    if isinstance(value, QuantizationMethod):
        return value
    if isinstance(value, str):
        for member in QuantizationMethod:
            if value in (member.value, member.name):
                return member
    names = ", ".join(m.name for m in QuantizationMethod)
    raise ValueError(f"{field} must be a QuantizationMethod ({names}), got {value!r}")


def _params(
    method: QuantizationMethod, params: Mapping[str, Any] | None, field: str
) -> dict[str, Any]:
    """Normalise the params a method needs to plain Python values; reject missing ones."""
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise ValueError(f"{field} must be a dict, got {type(params).__name__}")
    if method is QuantizationMethod.UNIFORM and {"range_min", "range_max"} <= set(params):
        lows, _ = validation.as_items(params["range_min"])
        highs, _ = validation.as_items(params["range_max"])
        if len(lows) != len(highs) or not lows:
            raise ValueError(
                f"{field}: range_min and range_max need the same, non-zero length, "
                f"got {len(lows)} and {len(highs)}"
            )
    grid = validation.grid_parameters(method, params, field)
    # a single number stays a number (per-tensor); a list stays a list (per-channel)
    clean: dict[str, Any] = {
        name: values if validation.as_items(params[name])[1] else values[0]
        for name, values in grid.items()
    }
    if "is_signed" in params:
        clean["is_signed"] = validation.boolean(params["is_signed"], f"{field}['is_signed']")
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
        self.weights_n_bits = validation.num_bits(weights_n_bits, "weights_n_bits")
        self.weights_quantization_params = _params(
            self.weights_quantization_method,
            weights_quantization_params,
            "weights_quantization_params",
        )
        self.weights_per_channel_threshold = validation.boolean(
            weights_per_channel_threshold, "weights_per_channel_threshold"
        )
        weights_channels_axis = validation.channel_axis(
            weights_channels_axis, "weights_channels_axis"
        )
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
        self.enable_weights_quantization = validation.boolean(
            enable_weights_quantization, "enable_weights_quantization"
        )
        self.min_threshold = validation.positive_float(min_threshold, "min_threshold")


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
        self.activation_n_bits = validation.num_bits(activation_n_bits, "activation_n_bits")
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
        self.enable_activation_quantization = validation.boolean(
            enable_activation_quantization, "enable_activation_quantization"
        )
        self.min_threshold = validation.positive_float(min_threshold, "min_threshold")


NodeQuantizationConfig = NodeWeightsQuantizationConfig | NodeActivationQuantizationConfig


def config_from_dict(data: Mapping[str, Any]) -> NodeQuantizationConfig:
    """Rebuild either config from its ``to_dict`` form (the keys tell which one it is)."""
    if "weights_quantization_method" in data:
        return NodeWeightsQuantizationConfig.from_dict(data)
    if "activation_quantization_method" in data:
        return NodeActivationQuantizationConfig.from_dict(data)
    raise ValueError(f"not a node quantization config: keys {sorted(data)}")
