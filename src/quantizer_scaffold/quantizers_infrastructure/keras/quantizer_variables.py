"""Fixed quantizer parameters as layer variables, laid out once at build time.

Trainable quantizers keep their thresholds and ranges as non-trainable variables on the
wrapping layer: they are saved with the model, can be re-calibrated by assignment, and are
mirrored identically on every replica under ``tf.distribute``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..common.quantizer_parameters import channel_values
from .compat import keras, tf

__all__ = ["add_fixed_variable", "as_list", "channel_values"]


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


def as_list(value: tf.Variable | np.ndarray) -> list[float]:
    """The current value of a parameter as a flat list of Python floats (JSON-safe)."""
    if isinstance(value, tf.Variable):
        value = value.numpy()
    return np.asarray(value, dtype=np.float32).reshape(-1).tolist()
