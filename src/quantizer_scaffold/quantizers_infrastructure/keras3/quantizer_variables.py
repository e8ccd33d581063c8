"""Quantizer parameters as Keras 3 variables of the wrapping layer.

Fixed thresholds and ranges are non-trainable variables: saved with the model and changed
only by assignment (calibration). Their layout (per channel or per tensor) comes from
``common/quantizer_parameters.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..common.quantizer_parameters import as_float_list
from . import quantizer_utils
from .compat import keras


def add_variable(layer: keras.layers.Layer, name: str, value: Any, trainable: bool) -> Any:
    """A float32 variable on ``layer`` holding ``value`` (never autocast to a compute dtype)."""
    value = np.asarray(value, dtype=np.float32)
    variable = layer.add_weight(
        name=name,
        shape=value.shape,
        dtype="float32",
        initializer="zeros",
        trainable=trainable,
        autocast=False,
    )
    variable.assign(value)
    return variable


def add_fixed_variable(layer: keras.layers.Layer, name: str, value: Any) -> Any:
    """A non-trainable float32 variable on ``layer`` holding ``value``."""
    return add_variable(layer, name, value, trainable=False)


def as_list(value: Any) -> list[float]:
    """The current value of a parameter (variable or tensor) as a flat list of floats."""
    return as_float_list(keras.ops.convert_to_numpy(quantizer_utils.as_tensor(value)))
