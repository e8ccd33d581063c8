"""``BaseKerasInferableQuantizer``: fixed-parameter quantizers that run in a Keras model."""

from __future__ import annotations

from ..common.base_inferable_quantizer import BaseInferableQuantizer
from .compat import keras  # noqa: F401  (fails with MissingDependencyError without TF)


class BaseKerasInferableQuantizer(BaseInferableQuantizer):
    """Base class of the Keras inferable quantizers; subclasses are pure TensorFlow functions."""

    def initialize_quantization(self, tensor_shape, name, layer):  # type: ignore[no-untyped-def]
        """Inferable quantizers hold constants only: nothing to create on the layer."""
        return {}
