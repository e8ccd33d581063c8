"""The one door to Keras 3 for this back end: ``keras`` and ``keras.ops``, on any back end.

Nothing here imports TensorFlow, tf_keras or JAX directly: Keras 3 imports the back end it was
configured with (``KERAS_BACKEND``), and every computation goes through ``keras.ops``.
"""

from __future__ import annotations

from ..common.dependencies import require_keras3_runtime

require_keras3_runtime("The Keras 3 runtime of quantizer_scaffold")

import keras  # noqa: E402
from keras import ops  # noqa: E402

__all__ = ["keras", "ops"]
