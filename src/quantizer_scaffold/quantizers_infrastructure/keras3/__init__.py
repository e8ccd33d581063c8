"""The Keras 3 back end of the quantizers infrastructure, imported by users as ``qi3``.

``from quantizer_scaffold.quantizers_infrastructure import keras3 as qi3`` gives the same names
as ``qi`` (the Keras 2 back end) for Keras 3 models, on every Keras 3 back end (TensorFlow,
JAX): the framework-free names load at once; the Keras classes import Keras 3 on first access
and raise ``MissingDependencyError`` (an ImportError) naming what to install when it, or the
back end it is configured with (``KERAS_BACKEND``), is absent.
"""

from __future__ import annotations

from ..common import *  # noqa: F403
from ..common import __all__ as _common_all
from ..common.dependencies import require_keras3_runtime
from ..common.lazy_exports import lazy_exports

# public Keras 3 name -> module (in this package) that defines it
_KERAS3_EXPORTS = {
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

__all__ = [*_common_all, *_KERAS3_EXPORTS]

__getattr__, __dir__ = lazy_exports(
    __name__,
    globals(),
    {
        name: (f"{__name__}.{module}", require_keras3_runtime)
        for name, module in _KERAS3_EXPORTS.items()
    },
    __all__,
)
