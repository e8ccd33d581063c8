"""``BaseKerasTrainableQuantizer``: the Keras form of the trainable-quantizer contract.

Subclass it, call ``super().__init__(config, target, methods)``, create variables in
``initialize_quantization`` with ``layer.add_weight`` (so they live on the wrapping layer and
follow ``tf.distribute`` strategies), and implement ``__call__`` and ``convert2inferable``.
"""

from __future__ import annotations

from typing import Any

from ..common.base_trainable_quantizer import BaseTrainableQuantizer
from .compat import keras, tf  # noqa: F401  (fails with MissingDependencyError without TF)


class BaseKerasTrainableQuantizer(BaseTrainableQuantizer):
    """Base class of every Keras trainable quantizer; not to be instantiated itself."""

    def initialize_quantization(
        self, tensor_shape: Any, name: str, layer: keras.layers.Layer
    ) -> dict[str, tf.Variable]:
        """Create this quantizer's variables with ``layer.add_weight`` and return them by name."""
        return {}
