"""Shared test setup: quiet TensorFlow, Keras 2 for tfmot, fixed seeds, the tiny QAT data."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    """64 random 8x8x1 images and labels of 3 classes, for the tiny QAT models."""
    rng = np.random.default_rng(0)
    return rng.normal(size=(64, 8, 8, 1)).astype(np.float32), rng.integers(0, 3, 64)


@pytest.fixture(scope="module")
def representative_dataset(data):
    """TFLite-style: a callable returning an iterable of input batches."""
    images = data[0]
    return lambda: (images[i : i + 16] for i in range(0, len(images), 16))
