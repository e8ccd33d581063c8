"""The quantizers infrastructure, imported by users as ``qi``.

The framework-free names load at once; the Keras classes load TensorFlow on first access
and raise ``MissingDependencyError`` (an ImportError) naming what to install when it is absent.
"""

from __future__ import annotations

from .common import *  # noqa: F403
from .common import __all__ as _common_all
from .common.dependencies import require_keras_runtime
from .common.lazy_exports import lazy_exports

# public name that needs TensorFlow -> module (under this package) that defines it
_KERAS_EXPORTS = {
    "BaseKerasTrainableQuantizer": "keras.base_keras_trainable_quantizer",
    "BaseKerasInferableQuantizer": "keras.base_keras_inferable_quantizer",
    "WeightsSymmetricInferableQuantizer": "keras.inferable_quantizers",
    "WeightsPOTInferableQuantizer": "keras.inferable_quantizers",
    "WeightsUniformInferableQuantizer": "keras.inferable_quantizers",
    "ActivationSymmetricInferableQuantizer": "keras.inferable_quantizers",
    "ActivationPOTInferableQuantizer": "keras.inferable_quantizers",
    "ActivationUniformInferableQuantizer": "keras.inferable_quantizers",
    "KerasQuantizationWrapper": "keras.quantization_wrapper",
    "load_quantized_model": "keras.load_model",
    "register_quantizer": "keras.serialization",
    "get_keras_inferable_quantizer_class": "keras.inferable_quantizers",
    "export_tflite": "tflite_export",
    "TFLiteExport": "tflite_export",
    "TFLiteExportError": "tflite_export",
}

__all__ = [*_common_all, *_KERAS_EXPORTS]

__getattr__, __dir__ = lazy_exports(
    __name__,
    globals(),
    {
        name: (f"{__name__}.{module}", require_keras_runtime)
        for name, module in _KERAS_EXPORTS.items()
    },
    __all__,
)
