"""Laying out a quantizer's fixed parameters for the tensor it quantizes (numpy, any back end).

A trainable quantizer keeps its thresholds and ranges as variables of the wrapping layer; these
functions give the value to store: one per channel along the channel axis, or one scalar for
the whole tensor, with a clear error when the config's values do not fit the tensor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def channel_values(
    values: Sequence[float] | float,
    tensor_shape: Sequence[int | None],
    channel_axis: int,
    field: str,
) -> np.ndarray:
    """``values`` as one float32 per channel of ``tensor_shape`` along ``channel_axis``.

    A single value is repeated over every channel; a list must have one value per channel.
    """
    shape = list(tensor_shape)
    if not -len(shape) <= channel_axis < len(shape):
        raise ValueError(
            f"channel axis {channel_axis} is out of range for a tensor of shape {tuple(shape)}"
        )
    channels = shape[channel_axis]
    array = np.asarray(values, dtype=np.float32).reshape(-1)
    if array.size == 1 and channels is not None:
        return np.full([channels], array[0], dtype=np.float32)
    if channels is not None and array.size != channels:
        raise ValueError(
            f"{field} has {array.size} values but the tensor of shape {tuple(shape)} has "
            f"{channels} channels along axis {channel_axis}: give one value per channel"
        )
    return array


def tensor_layout(
    values: Any,
    tensor_shape: Sequence[int | None],
    channel_axis: int | None,
    field: str,
) -> np.ndarray:
    """What to store for ``values``: per channel along ``channel_axis``, or one scalar if None."""
    if channel_axis is not None:
        return channel_values(values, tensor_shape, channel_axis, field)
    array = np.asarray(values, dtype=np.float32)
    if array.size != 1:
        raise ValueError(f"per-tensor quantization takes one {field}, got {array.size}")
    return array.reshape([])


def as_float_list(values: Any) -> list[float]:
    """A parameter's value (numpy-convertible) as a flat list of Python floats (JSON-safe)."""
    return np.asarray(values, dtype=np.float32).reshape(-1).tolist()
