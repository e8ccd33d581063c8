"""The shared workload of the Keras benchmarks: scikit-learn's digits and a small CNN.

Everything is seeded, so two runs with the same seed see the same split and initial weights.
The model functions take the Keras to build with (``keras``: Keras 3, on the back end
``KERAS_BACKEND`` selects); without it, Keras 2 (tf_keras), imported only then.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402


def keras2() -> Any:
    """Keras 2 (tf_keras), the Keras of tfmot; TensorFlow's retracing warnings silenced."""
    from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras, tf

    # the benchmarks build many models on purpose: no retracing warnings
    tf.get_logger().setLevel("ERROR")
    return keras


@dataclass(frozen=True)
class Digits:
    """The digits images as NHWC float32 in [0, 1], split into training and held-out parts."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def representative_dataset(self, batches: int = 8, batch_size: int = 32):
        """A callable returning input batches, the form ``qat_init`` and TFLite take."""

        def batches_of_inputs():
            for i in range(batches):
                yield self.x_train[i * batch_size : (i + 1) * batch_size]

        return batches_of_inputs


def seed_everything(seed: int, keras: Any = None) -> None:
    """Python's, numpy's and the Keras back end's random seeds."""
    random.seed(seed)
    np.random.seed(seed)
    (keras or keras2()).utils.set_random_seed(seed)


def load_split(seed: int, test_size: float = 0.25) -> Digits:
    """A stratified held-out split of the 1797 bundled digits (no download)."""
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[..., np.newaxis]
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=test_size, random_state=seed, stratify=digits.target
    )
    return Digits(x_train, y_train.astype(np.int64), x_test, y_test.astype(np.int64))


def build_cnn(filters: int = 16, keras: Any = None) -> Any:
    """Conv-BN-free CNN small enough for 2 CPU cores: two convolutions and a dense head."""
    keras = keras or keras2()
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.Conv2D(2 * filters, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(64, activation="relu")(x)
    outputs = keras.layers.Dense(10)(x)
    return keras.Model(inputs, outputs)


def compile_for_training(
    model: Any, learning_rate: float = 1e-3, keras: Any = None, jit_compile: bool | None = None
) -> Any:
    """Adam on the cross-entropy of the logits; ``jit_compile=True``: XLA (None: Keras' default,
    which on TensorFlow is XLA only on a GPU and on JAX always)."""
    keras = keras or keras2()
    options = {} if jit_compile is None else {"jit_compile": jit_compile}
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        **options,
    )
    return model


def accuracy(model: Any, data: Digits) -> float:
    logits = model.predict(data.x_test, batch_size=256, verbose=0)
    return float(np.mean(np.argmax(logits, axis=-1) == data.y_test))
