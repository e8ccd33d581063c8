"""``BaseKerasInferableQuantizer`` for Keras 3: fixed-parameter quantizers in ``keras.ops``."""

from __future__ import annotations

from typing import Any

from ..common.base_inferable_quantizer import BaseInferableQuantizer
from .compat import keras  # noqa: F401  (fails with MissingDependencyError without Keras 3)


class BaseKerasInferableQuantizer(BaseInferableQuantizer):
    """Base class of the Keras 3 inferable quantizers; subclasses are pure ``keras.ops`` code."""

    def initialize_quantization(self, tensor_shape: Any, name: str, layer: Any) -> dict[str, Any]:
        """Inferable quantizers hold constants only: nothing to create on the layer."""
        return {}
