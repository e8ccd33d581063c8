"""Tiny models shared by the QAT tests and the tf.distribute worker script."""

from __future__ import annotations

from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras


def conv_dense_model(seed: int = 0) -> keras.Model:
    """Conv2D(4, relu) -> Flatten -> Dense(3): one unsigned and one signed output."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = keras.layers.Dense(3, name="dense")(x)
    return keras.Model(inputs, outputs, name="tiny")
