"""Quantization-aware training: ``qat_init`` wraps a model, ``qat_finalize`` makes it inferable.

Both load TensorFlow on first access, so importing this package stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from .common.dispatchers import register_dispatcher
from .common.qat_config import QATConfig, TrainingMethod

_KERAS_EXPORTS = {
    "qat_init": "quantizer_scaffold.qat.keras.quantization_facade",
    "qat_finalize": "quantizer_scaffold.qat.keras.quantization_facade",
    "QATReport": "quantizer_scaffold.qat.keras.quantization_facade",
    "TfmotQuantizer": "quantizer_scaffold.qat.keras.tfmot_adapter",
    "TfmotQuantizeConfig": "quantizer_scaffold.qat.keras.tfmot_adapter",
}

__all__ = ["QATConfig", "TrainingMethod", "register_dispatcher", *_KERAS_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _KERAS_EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from ..quantizers_infrastructure.common.dependencies import (
        MissingDependencyError,
        require_keras_runtime,
    )

    try:
        require_keras_runtime(name)
    except MissingDependencyError as error:
        raise MissingDependencyError(str(error), name=name) from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
