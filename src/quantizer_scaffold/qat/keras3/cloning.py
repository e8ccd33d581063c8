"""The inputs of a Keras 3 model's clone: made by the caller, so that each keeps its name and is
known by position (``keras.models.clone_model`` renames the ones it makes)."""

from __future__ import annotations

from typing import Any

from quantizer_scaffold.quantizers_infrastructure.keras3.compat import keras


def input_name(tensor: Any) -> str:
    """The name of the ``InputLayer`` a model input tensor comes from."""
    return tensor._keras_history.operation.name


def fresh_inputs(model: keras.Model) -> list[Any]:
    """New ``keras.Input`` tensors like ``model``'s inputs (shape, dtype, name), in order."""
    return [
        keras.Input(batch_shape=t.shape, dtype=t.dtype, name=input_name(t)) for t in model.inputs
    ]
