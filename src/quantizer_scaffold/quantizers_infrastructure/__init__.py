"""The quantizers infrastructure, imported by users as ``qi``.

The framework-free names load at once; the Keras classes load TensorFlow on first access
and raise ``MissingDependencyError`` (an ImportError) naming what to install when it is absent.
"""

from __future__ import annotations

from .common import *  # noqa: F403
from .common import __all__ as _common_all
from .common.dependencies import require_keras_runtime
from .common.lazy_exports import lazy_exports

# public Keras name -> module (under .keras) that defines it
_KERAS_EXPORTS = {
    "BaseKerasTrainableQuantizer": "base_keras_trainable_quantizer",
    "BaseKerasInferableQuantizer": "base_keras_inferable_quantizer",
    "WeightsSymmetricInferableQuantizer": "inferable_quantizers",
    "WeightsPOTInferableQuantizer": "inferable_quantizers",
    "WeightsUniformInferableQuantizer": "inferable_quantizers",
    "ActivationSymmetricInferableQuantizer": "inferable_quantizers",
    "ActivationPOTInferableQuantizer": "inferable_quantizers",
    "ActivationUniformInferableQuantizer": "inferable_quantizers",
    "KerasQuantizationWrapper": "quantization_wrapper",
    "load_quantized_model": "load_model",
    "register_quantizer": "serialization",
    "get_keras_inferable_quantizer_class": "inferable_quantizers",
}

__all__ = [*_common_all, *_KERAS_EXPORTS]

__getattr__, __dir__ = lazy_exports(
    __name__,
    globals(),
    {
        name: (f"{__name__}.keras.{module}", require_keras_runtime)
        for name, module in _KERAS_EXPORTS.items()
    },
    __all__,
)
