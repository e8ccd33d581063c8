"""A Keras 3 model's training step and forward pass, exactly as ``fit`` and inference run them.

Shared by the Keras 3 speed benchmark. Keras 3 fixes its back end at import, so these work on
whichever back end this process runs: on TensorFlow a step is one call of the model's
``train_function`` on a batch iterator (what ``fit`` runs per batch); on JAX it is one call of
the jitted ``train_function`` on the training state, which ``fit`` threads from step to step
(the time includes waiting for the result, as JAX dispatches asynchronously). A forward pass
is the model in inference mode compiled once (``tf.function`` / ``jax.jit``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import keras
import numpy as np


def training_step(model: Any, x: np.ndarray, y: np.ndarray) -> Callable[[], object]:
    """One ``fit`` step of the compiled ``model`` on (x, y), callable repeatedly."""
    model.train_on_batch(x, y)  # builds the optimizer and the metrics, as fit does first
    model.make_train_function()
    if keras.backend.backend() == "jax":
        import jax

        state = [
            model._get_jax_state(  # what fit threads through its steps
                trainable_variables=True,
                non_trainable_variables=True,
                optimizer_variables=True,
                metrics_variables=True,
            )
        ]
        batches = itertools.repeat((jax.numpy.asarray(x), jax.numpy.asarray(y)))

        def jax_step() -> object:
            logs, state[0] = model.train_function(state[0], batches)
            return jax.block_until_ready(logs)

        return jax_step
    import tensorflow as tf

    batches = iter(tf.data.Dataset.from_tensors((x, y)).repeat())
    return lambda: model.train_function(batches)


def forward_pass(model: Any, x: np.ndarray) -> Callable[[], object]:
    """``model(x, training=False)`` compiled once, callable repeatedly."""
    if keras.backend.backend() == "jax":
        import jax

        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]
        batch = jax.numpy.asarray(x)

        @jax.jit
        def forward(trainable: Any, non_trainable: Any, batch: Any) -> Any:
            return model.stateless_call(trainable, non_trainable, batch, training=False)[0]

        return lambda: forward(trainable, non_trainable, batch).block_until_ready()
    import tensorflow as tf

    batch = tf.constant(x)
    forward = tf.function(lambda b: model(b, training=False))
    return lambda: forward(batch).numpy()
