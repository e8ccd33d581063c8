"""``BaseKerasTrainableQuantizer`` for Keras 3: the trainable-quantizer contract in ``keras.ops``.

The contract is the framework-free one of ``common/base_trainable_quantizer.py``: subclass
this, call ``super().__init__(config, target, methods)``, create variables in
``initialize_quantization`` with ``layer.add_weight`` (so they live on the wrapping layer and
are saved with it), and implement ``__call__`` and ``convert2inferable`` with ``keras.ops``
only, so the quantizer runs on every Keras 3 back end.
"""

from __future__ import annotations

from typing import Any

from ..common.base_trainable_quantizer import BaseTrainableQuantizer
from .compat import keras


class BaseKerasTrainableQuantizer(BaseTrainableQuantizer):
    """Base class of every Keras 3 trainable quantizer; not to be instantiated itself."""

    def initialize_quantization(
        self, tensor_shape: Any, name: str, layer: keras.layers.Layer
    ) -> dict[str, keras.Variable]:
        """Create this quantizer's variables with ``layer.add_weight`` and return them by name."""
        return {}
