"""Back-end neutral helpers of the Keras 3 tests: numpy values and gradients on TF or JAX."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import pytest
from keras import ops

TENSORFLOW_ONLY = (
    "TensorFlow only: "  # how a skip on another back end starts (see test_keras3_on_jax)
)


def tensorflow_only(why: str) -> pytest.MarkDecorator:
    """Skip the test on every Keras 3 back end but TensorFlow, saying why."""
    return pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason=TENSORFLOW_ONLY + why)


def numpy(value: Any) -> np.ndarray:
    if isinstance(value, keras.Variable):
        value = value.value
    return np.asarray(ops.convert_to_numpy(value))


def gradients(
    loss: Callable[..., Any], arguments: Sequence[Any], variables: Sequence[Any] = ()
) -> list[np.ndarray]:
    """The gradient of the scalar ``loss(*arguments)`` to each argument, then each variable."""
    tensors = [ops.convert_to_tensor(np.asarray(a, np.float32)) for a in arguments]
    if keras.backend.backend() == "jax":
        import jax

        def stateless(values: Any, *args: Any) -> Any:
            with keras.StatelessScope(state_mapping=list(zip(variables, values, strict=True))):
                return loss(*args)

        values = [v.value for v in variables]
        argnums = tuple(range(len(tensors) + 1))
        grad_values, *grads = jax.grad(stateless, argnums=argnums)(values, *tensors)
        grads = [*grads, *grad_values]
    else:
        import tensorflow as tf

        with tf.GradientTape() as tape:
            for tensor in [*tensors, *(v.value for v in variables)]:
                tape.watch(tensor)
            value = loss(*tensors)
        grads = tape.gradient(value, [*tensors, *(v.value for v in variables)])
    return [numpy(g) for g in grads]


def conv_dense_model(seed: int = 0) -> keras.Model:
    """Conv2D(4, relu) -> Flatten -> Dense(3): one unsigned and one signed output (Keras 3)."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = keras.layers.Dense(3, name="dense")(x)
    return keras.Model(inputs, outputs, name="tiny")
