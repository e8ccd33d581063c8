"""The quantizers infrastructure, imported by users as ``qi``.

The framework-free names load at once; the Keras classes load TensorFlow on first access
and raise ``MissingDependencyError`` (an ImportError) naming what to install when it is absent.
"""

from __future__ import annotations

import importlib
from typing import Any

from .common import *  # noqa: F403
from .common import __all__ as _common_all
from .common.dependencies import MissingDependencyError, require_keras_runtime

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


def __getattr__(name: str) -> Any:
    module = _KERAS_EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        require_keras_runtime(name)
    except MissingDependencyError as error:
        raise MissingDependencyError(str(error), name=name) from None
    value = getattr(importlib.import_module(f"{__name__}.keras.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
