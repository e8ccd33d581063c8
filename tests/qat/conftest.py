"""Tiny models and data shared by the QAT tests (8x8x1 inputs, a few filters)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(64, 8, 8, 1)).astype(np.float32), rng.integers(0, 3, 64)


@pytest.fixture(scope="module")
def representative_dataset(data):
    """TFLite-style: a callable returning an iterable of input batches."""
    images = data[0]
    return lambda: (images[i : i + 16] for i in range(0, len(images), 16))
