"""The six built-in Keras inferable quantizers: fixed parameters, the math of quantizer_utils.

Parameters are validated once, at construction, and kept as plain lists, floats, ints and
bools, so ``get_config`` is JSON-safe and ``from_config(get_config())`` is the same quantizer.
Each declares its parameters (``parameter_spec``) and describes its output values
(``grid()``): all six grids are integer grids with a zero point that int8 tensors can hold.
"""

from __future__ import annotations

import math
from typing import Any

from ..common import validation
from ..common.base_inferable_quantizer import (
    BUILT_IN,
    get_inferable_quantizer_class,
    mark_quantizer,
)
from ..common.constants import QuantizationMethod, QuantizationTarget
from ..common.grid import UniformGrid
from ..common.parameters import ParameterSpec, QuantizerParameter
from .base_keras_inferable_quantizer import BaseKerasInferableQuantizer
from .compat import tf
from .quantizer_utils import channel_broadcast, symmetric_quantize, uniform_quantize
from .serialization import register_quantizer

__all__ = [
    "ActivationPOTInferableQuantizer",
    "ActivationSymmetricInferableQuantizer",
    "ActivationUniformInferableQuantizer",
    "WeightsPOTInferableQuantizer",
    "WeightsSymmetricInferableQuantizer",
    "WeightsUniformInferableQuantizer",
    "get_keras_inferable_quantizer_class",
]


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


def _per_channel_values(
    owner: str, values: list[float], inputs: tf.Tensor, channel_axis: int
) -> tf.Tensor:
    """The per-channel ``values`` shaped to broadcast against ``inputs`` on ``channel_axis``."""
    rank = inputs.shape.rank
    channels = inputs.shape[channel_axis] if -rank <= channel_axis < rank else None
    if channels is not None and len(values) not in (1, channels):
        raise ValueError(
            f"{owner}: {len(values)} per-channel values for {channels} channels on axis "
            f"{channel_axis} of a tensor of shape {inputs.shape}"
        )
    return channel_broadcast(tf.constant(values, inputs.dtype), rank, channel_axis)


THRESHOLD = ParameterSpec(QuantizerParameter("threshold"))
RANGE = ParameterSpec(
    QuantizerParameter("min_range", initial="range_min"),
    QuantizerParameter("max_range", initial="range_max"),
)


class _ThresholdQuantizer(BaseKerasInferableQuantizer):
    """Shared validation of the symmetric and power-of-two quantizers."""

    power_of_two = False
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


class _WeightsThresholdQuantizer(_ThresholdQuantizer):
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

    def __call__(self, inputs: Any) -> tf.Tensor:
        inputs = tf.convert_to_tensor(inputs)
        if self.per_channel:
            threshold = _per_channel_values(
                type(self).__name__, self.threshold, inputs, self.channel_axis
            )
        else:
            threshold = self.threshold[0]
        return symmetric_quantize(inputs, threshold, self.num_bits, signed=True)

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


@register_quantizer
@mark_quantizer(QuantizationTarget.Weights, [QuantizationMethod.SYMMETRIC])
class WeightsSymmetricInferableQuantizer(_WeightsThresholdQuantizer):
    """Signed symmetric weights: delta = t / 2^(n-1), range [-t, t - delta], t per channel."""


@register_quantizer
@mark_quantizer(QuantizationTarget.Weights, [QuantizationMethod.POWER_OF_TWO])
class WeightsPOTInferableQuantizer(_WeightsThresholdQuantizer):
    """Symmetric weights whose thresholds are powers of two."""

    power_of_two = True


class _ActivationThresholdQuantizer(_ThresholdQuantizer):
    def __init__(self, num_bits: int, threshold: list[float], signed: bool) -> None:
        owner = type(self).__name__
        self.num_bits = validation.num_bits(num_bits, f"{owner}: num_bits")
        self.threshold = self._thresholds(threshold)
        if len(self.threshold) != 1:
            raise ValueError(f"{owner}: activations take one threshold, got {len(self.threshold)}")
        self.signed = validation.boolean(signed, f"{owner}: signed")

    def __call__(self, inputs: Any) -> tf.Tensor:
        return symmetric_quantize(inputs, self.threshold[0], self.num_bits, signed=self.signed)

    def grid(self) -> UniformGrid:
        return UniformGrid.symmetric(self.threshold, self.num_bits, self.signed)

    def get_config(self) -> dict[str, Any]:
        return {"num_bits": self.num_bits, "threshold": list(self.threshold), "signed": self.signed}


@register_quantizer
@mark_quantizer(QuantizationTarget.Activation, [QuantizationMethod.SYMMETRIC])
class ActivationSymmetricInferableQuantizer(_ActivationThresholdQuantizer):
    """Symmetric activations: delta = t / 2^(n - signed); [-t, t - delta] or [0, t - delta]."""


@register_quantizer
@mark_quantizer(QuantizationTarget.Activation, [QuantizationMethod.POWER_OF_TWO])
class ActivationPOTInferableQuantizer(_ActivationThresholdQuantizer):
    """Symmetric activations whose threshold is a power of two."""

    power_of_two = True


@register_quantizer
@mark_quantizer(QuantizationTarget.Weights, [QuantizationMethod.UNIFORM])
class WeightsUniformInferableQuantizer(BaseKerasInferableQuantizer):
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
            min_range, max_range, owner, ("min_range", "max_range")
        )
        self.per_channel = validation.boolean(per_channel, f"{owner}: per_channel")
        self.channel_axis = _channel_layout(owner, per_channel, channel_axis, len(self.min_range))

    def __call__(self, inputs: Any) -> tf.Tensor:
        inputs = tf.convert_to_tensor(inputs)
        if self.per_channel:
            owner = type(self).__name__
            low = _per_channel_values(owner, self.min_range, inputs, self.channel_axis)
            high = _per_channel_values(owner, self.max_range, inputs, self.channel_axis)
        else:
            low, high = self.min_range[0], self.max_range[0]
        return uniform_quantize(inputs, low, high, self.num_bits)

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


@register_quantizer
@mark_quantizer(QuantizationTarget.Activation, [QuantizationMethod.UNIFORM])
class ActivationUniformInferableQuantizer(BaseKerasInferableQuantizer):
    """Uniform activations on [min_range, max_range] moved so that zero is on the grid."""

    parameter_spec = RANGE

    def __init__(self, num_bits: int, min_range: list[float], max_range: list[float]) -> None:
        owner = type(self).__name__
        self.num_bits = validation.num_bits(num_bits, f"{owner}: num_bits")
        self.min_range, self.max_range = validation.range_lists(
            min_range, max_range, owner, ("min_range", "max_range")
        )
        if len(self.min_range) != 1:
            raise ValueError(f"{owner}: activations take one range, got {len(self.min_range)}")

    def __call__(self, inputs: Any) -> tf.Tensor:
        return uniform_quantize(inputs, self.min_range[0], self.max_range[0], self.num_bits)

    def grid(self) -> UniformGrid:
        return UniformGrid.uniform(self.min_range, self.max_range, self.num_bits)

    def get_config(self) -> dict[str, Any]:
        return {
            "num_bits": self.num_bits,
            "min_range": list(self.min_range),
            "max_range": list(self.max_range),
        }


def get_keras_inferable_quantizer_class(
    quantization_target: QuantizationTarget,
    quantization_method: QuantizationMethod,
    identifier: str = BUILT_IN,
) -> type[BaseKerasInferableQuantizer]:
    """The one Keras inferable quantizer class for this target, method and family."""
    return get_inferable_quantizer_class(
        quantization_target, quantization_method, BaseKerasInferableQuantizer, identifier
    )
