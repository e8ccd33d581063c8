"""Keras 3 test setup: the tests run on whatever back end ``KERAS_BACKEND`` selects.

In the suite's own process that is TensorFlow; ``test_keras3_on_jax.py`` runs this folder
again in a subprocess with ``KERAS_BACKEND=jax``.
"""

from __future__ import annotations

import sys
from pathlib import Path

# the numpy reference of the grids, shared with the Keras 2 runtime tests
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runtime"))
