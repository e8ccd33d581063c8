"""``BaseKerasTrainableQuantizer``: the Keras form of the trainable-quantizer contract.

Subclass it, call ``super().__init__(config, target, methods)``, create variables in
``initialize_quantization`` with ``layer.add_weight`` (so they live on the wrapping layer and
follow ``tf.distribute`` strategies), and implement ``__call__`` and ``convert2inferable``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..common.base_trainable_quantizer import BaseTrainableQuantizer
from ..common.constants import QuantizationMethod, QuantizationTarget
from ..common.node_config import NodeQuantizationConfig
from .compat import keras, tf  # noqa: F401  (fails with MissingDependencyError without TF)


class BaseKerasTrainableQuantizer(BaseTrainableQuantizer):
    """Base class of every Keras trainable quantizer; not to be instantiated itself."""

    def __init__(
        self,
        quantization_config: NodeQuantizationConfig,
        quantization_target: QuantizationTarget,
        quantization_methods: Sequence[QuantizationMethod],
    ) -> None:
        super().__init__(quantization_config, quantization_target, quantization_methods)

    def initialize_quantization(
        self, tensor_shape: Any, name: str, layer: keras.layers.Layer
    ) -> dict[str, tf.Variable]:
        """Create this quantizer's variables with ``layer.add_weight`` and return them by name."""
        return {}
