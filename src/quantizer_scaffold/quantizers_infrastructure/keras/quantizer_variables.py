"""Fixed quantizer parameters as layer variables, laid out once at build time.

Trainable quantizers keep their thresholds and ranges as non-trainable variables on the
wrapping layer: they are saved with the model, can be re-calibrated by assignment, and are
mirrored identically on every replica under ``tf.distribute``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .compat import keras, tf


def add_fixed_variable(layer: keras.layers.Layer, name: str, value: Any) -> tf.Variable:
    """A non-trainable float32 variable on ``layer`` holding ``value``, equal on all replicas."""
    value = np.asarray(value, dtype=np.float32)
    return layer.add_weight(
        name=name,
        shape=value.shape,
        dtype=tf.float32,
        initializer=keras.initializers.Constant(value),
        trainable=False,
        # Written once (by calibration, never per step): mirrored, and a write from a replica
        # context keeps the first replica's value so replicas cannot drift apart.
        synchronization=tf.VariableSynchronization.ON_WRITE,
        aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
    )


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


def as_list(value: tf.Variable | np.ndarray) -> list[float]:
    """The current value of a parameter as a flat list of Python floats (JSON-safe)."""
    if isinstance(value, tf.Variable):
        value = value.numpy()
    return np.asarray(value, dtype=np.float32).reshape(-1).tolist()
