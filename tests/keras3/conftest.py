"""Keras 3 test setup: the tests run on whatever back end ``KERAS_BACKEND`` selects.

In the suite's own process that is TensorFlow; ``test_keras3_on_jax.py`` runs this folder
again in a subprocess with ``KERAS_BACKEND=jax``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

# the numpy reference of the grids, shared with the Keras 2 runtime tests
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runtime"))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(64, 8, 8, 1)).astype(np.float32), rng.integers(0, 3, 64)


@pytest.fixture(scope="module")
def representative_dataset(data):
    """TFLite-style: a callable returning an iterable of input batches."""
    images = data[0]
    return lambda: (images[i : i + 16] for i in range(0, len(images), 16))
