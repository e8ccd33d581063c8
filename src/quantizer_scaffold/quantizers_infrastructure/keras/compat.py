"""The one door to TensorFlow, Keras 2 (tf_keras) and tfmot for the whole runtime.

TF 2.21's ``tf.keras`` is Keras 3, but tfmot only works with Keras 2 (``tf_keras``). Every
module of this package takes ``keras`` from here, so quantizers, wrappers and tfmot's own
layers always share one Keras.
"""

from __future__ import annotations

import os
from typing import Any

from ..common.dependencies import require_keras_runtime

require_keras_runtime("The Keras runtime of quantizer_scaffold")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import tensorflow as tf  # noqa: E402
import tensorflow_model_optimization as tfmot  # noqa: E402
import tf_keras as keras  # noqa: E402
from tensorflow_model_optimization.python.core.keras.compat import keras as _tfmot_keras  # noqa: E402

if (
    _tfmot_keras.layers.Layer is not keras.layers.Layer
):  # pragma: no cover - a broken install, not a code path
    raise ImportError(
        f"tfmot uses {_tfmot_keras.__name__} but quantizer_scaffold uses {keras.__name__}: "
        "install tf-keras matching your TensorFlow (pip install 'quantizer-scaffold[tensorflow]')"
    )


def safe_mode_scope() -> Any:
    """A scope in which every Keras deserialization runs in safe mode.

    ``keras.models.load_model(safe_mode=True)`` enforces it for ``.keras`` files only; the
    SavedModel and HDF5 loaders read the same thread-local flag, which only this scope sets.
    """
    from tf_keras.src.saving.serialization_lib import SafeModeScope

    return SafeModeScope(True)


__all__ = ["keras", "safe_mode_scope", "tf", "tfmot"]
