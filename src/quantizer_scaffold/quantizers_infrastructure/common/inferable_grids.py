"""The built-in inferable quantizers, written once for every back end.

Each family validates its parameters once, at construction, keeps them as plain lists, floats,
ints and bools (so ``get_config`` is JSON-safe and ``from_config(get_config())`` is the same
quantizer), declares them (``parameter_spec``), describes its output values (``grid()``: all
six are integer grids with a zero point that int8 tensors can hold), and quantizes through
``grid_ops``: the back end's ``quantizer_utils`` module,
which provides ``as_tensor``, ``static_shape``, ``constant``, ``channel_broadcast``,
``symmetric_quantize`` and ``uniform_quantize``. A back end declares its six classes as a
family plus its base class, ``grid_ops``, ``mark_quantizer`` and its own registration.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from . import validation
from .base_inferable_quantizer import BaseInferableQuantizer
from .grid import UniformGrid
from .parameters import ParameterSpec, QuantizerParameter

THRESHOLD = ParameterSpec(QuantizerParameter("threshold"))
RANGE = ParameterSpec(
    QuantizerParameter("min_range", initial="range_min"),
    QuantizerParameter("max_range", initial="range_max"),
)


def _channel_layout(owner: str, per_channel: Any, axis: Any, channels: int) -> int | None:
    """Validate the per-channel flag against the axis and the number of values."""
    per_channel = validation.boolean(per_channel, f"{owner}: per_channel")
    axis = validation.channel_axis(axis, f"{owner}: channel_axis")
    if per_channel:
        if axis is None:
            raise ValueError(
                f"{owner}: per_channel=True needs channel_axis (e.g. -1 for Dense/Conv2D kernels)"
            )
        return axis
    if channels != 1:
        raise ValueError(
            f"{owner}: per_channel=False takes one value, got {channels}: "
            "pass a single value or set per_channel=True with a channel_axis"
        )
    return axis


class GridQuantizer(BaseInferableQuantizer):
    """Shared by the families: the back end's math and per-channel parameter layout."""

    grid_ops: ClassVar[Any]  # the back end's quantizer_utils module
    channel_axis: int | None = None

    def _per_channel(self, values: list[float], inputs: Any) -> Any:
        """``values`` shaped to broadcast against ``inputs`` on ``channel_axis``."""
        ops = self.grid_ops
        shape = ops.static_shape(inputs)
        rank, axis = len(shape), self.channel_axis
        channels = shape[axis] if -rank <= axis < rank else None
        if channels is not None and len(values) not in (1, channels):
            raise ValueError(
                f"{type(self).__name__}: {len(values)} per-channel values for {channels} "
                f"channels on axis {axis} of a tensor of shape {tuple(shape)}"
            )
        return ops.channel_broadcast(ops.constant(values, inputs), rank, axis)


class _ThresholdGrid(GridQuantizer):
    """Validation of the symmetric and power-of-two thresholds."""

    power_of_two: ClassVar[bool] = False
    parameter_spec = THRESHOLD

    def _thresholds(self, threshold: Any) -> list[float]:
        owner = type(self).__name__
        values = validation.float_list(threshold, f"{owner}: threshold", positive=True)
        if self.power_of_two:
            for i, t in enumerate(values):
                if math.frexp(t)[0] != 0.5:
                    raise ValueError(
                        f"{owner}: threshold[{i}] = {t} is not a power of two: use "
                        f"{2.0 ** math.ceil(math.log2(t))} or a symmetric quantizer"
                    )
        return values


class WeightsThresholdGrid(_ThresholdGrid):
    """Signed symmetric (or power-of-two) weights, one threshold per channel or per tensor."""

    def __init__(
        self,
        num_bits: int,
        threshold: list[float],
        per_channel: bool,
        channel_axis: int | None = None,
    ) -> None:
        owner = type(self).__name__
        self.num_bits = validation.num_bits(num_bits, f"{owner}: num_bits")
        self.threshold = self._thresholds(threshold)
        self.per_channel = validation.boolean(per_channel, f"{owner}: per_channel")
        self.channel_axis = _channel_layout(owner, per_channel, channel_axis, len(self.threshold))

    def __call__(self, inputs: Any) -> Any:
        inputs = self.grid_ops.as_tensor(inputs)
        if self.per_channel:
            threshold = self._per_channel(self.threshold, inputs)
        else:
            threshold = self.threshold[0]
        return self.grid_ops.symmetric_quantize(inputs, threshold, self.num_bits, signed=True)

    def grid(self) -> UniformGrid:
        axis = self.channel_axis if self.per_channel else None
        return UniformGrid.symmetric(self.threshold, self.num_bits, True, axis)

    def get_config(self) -> dict[str, Any]:
        return {
            "num_bits": self.num_bits,
            "threshold": list(self.threshold),
            "per_channel": self.per_channel,
            "channel_axis": self.channel_axis,
        }


class ActivationThresholdGrid(_ThresholdGrid):
    """Signed or unsigned symmetric (or power-of-two) activations, one threshold."""

    def __init__(self, num_bits: int, threshold: list[float], signed: bool) -> None:
        owner = type(self).__name__
        self.num_bits = validation.num_bits(num_bits, f"{owner}: num_bits")
        self.threshold = self._thresholds(threshold)
        if len(self.threshold) != 1:
            raise ValueError(f"{owner}: activations take one threshold, got {len(self.threshold)}")
        self.signed = validation.boolean(signed, f"{owner}: signed")

    def __call__(self, inputs: Any) -> Any:
        return self.grid_ops.symmetric_quantize(
            self.grid_ops.as_tensor(inputs), self.threshold[0], self.num_bits, signed=self.signed
        )

    def grid(self) -> UniformGrid:
        return UniformGrid.symmetric(self.threshold, self.num_bits, self.signed)

    def get_config(self) -> dict[str, Any]:
        return {"num_bits": self.num_bits, "threshold": list(self.threshold), "signed": self.signed}


class WeightsUniformGrid(GridQuantizer):
    """Uniform weights on [min_range, max_range] moved so that zero is on the grid."""

    parameter_spec = RANGE

    def __init__(
        self,
        num_bits: int,
        min_range: list[float],
        max_range: list[float],
        per_channel: bool,
        channel_axis: int | None = None,
    ) -> None:
        owner = type(self).__name__
        self.num_bits = validation.num_bits(num_bits, f"{owner}: num_bits")
        self.min_range, self.max_range = validation.range_lists(
            min_range, max_range, owner, ("min_range", "max_range"), self.num_bits
        )
        self.per_channel = validation.boolean(per_channel, f"{owner}: per_channel")
        self.channel_axis = _channel_layout(owner, per_channel, channel_axis, len(self.min_range))

    def __call__(self, inputs: Any) -> Any:
        inputs = self.grid_ops.as_tensor(inputs)
        if self.per_channel:
            low = self._per_channel(self.min_range, inputs)
            high = self._per_channel(self.max_range, inputs)
        else:
            low, high = self.min_range[0], self.max_range[0]
        return self.grid_ops.uniform_quantize(inputs, low, high, self.num_bits)

    def grid(self) -> UniformGrid:
        axis = self.channel_axis if self.per_channel else None
        return UniformGrid.uniform(self.min_range, self.max_range, self.num_bits, axis)

    def get_config(self) -> dict[str, Any]:
        return {
            "num_bits": self.num_bits,
            "min_range": list(self.min_range),
            "max_range": list(self.max_range),
            "per_channel": self.per_channel,
            "channel_axis": self.channel_axis,
        }


class ActivationUniformGrid(GridQuantizer):
    """Uniform activations on [min_range, max_range] moved so that zero is on the grid."""

    parameter_spec = RANGE

    def __init__(self, num_bits: int, min_range: list[float], max_range: list[float]) -> None:
        owner = type(self).__name__
        self.num_bits = validation.num_bits(num_bits, f"{owner}: num_bits")
        self.min_range, self.max_range = validation.range_lists(
            min_range, max_range, owner, ("min_range", "max_range"), self.num_bits
        )
        if len(self.min_range) != 1:
            raise ValueError(f"{owner}: activations take one range, got {len(self.min_range)}")

    def __call__(self, inputs: Any) -> Any:
        return self.grid_ops.uniform_quantize(
            self.grid_ops.as_tensor(inputs), self.min_range[0], self.max_range[0], self.num_bits
        )

    def grid(self) -> UniformGrid:
        return UniformGrid.uniform(self.min_range, self.max_range, self.num_bits)

    def get_config(self) -> dict[str, Any]:
        return {
            "num_bits": self.num_bits,
            "min_range": list(self.min_range),
            "max_range": list(self.max_range),
        }
