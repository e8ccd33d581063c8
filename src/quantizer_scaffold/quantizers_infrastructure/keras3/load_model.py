"""``load_quantized_model`` for Keras 3: load a ``.keras`` file saved with quantizers.

The built-in inferable quantizers, the wrapper and, through the Keras 3 QAT dispatchers, every
built-in and project trainable quantizer register themselves when their modules are imported;
this module imports them before loading, including the ``keras3`` dispatchers of installed
projects (their ``quantizer_scaffold.dispatchers`` entry points). Keras' safe mode stays on,
so a model file cannot run arbitrary Python code (``lambda`` bytecode is refused).
"""

from __future__ import annotations

import os
from typing import Any

from ..common.frameworks import KERAS3
from ..common.saved_models import check_saved_keras, import_quantizer_modules
from .compat import keras

# importing these modules registers every Keras 3 quantizer class the project ships
_REGISTERING_MODULES = (
    "quantizer_scaffold.quantizers_infrastructure.keras3.inferable_quantizers",
    "quantizer_scaffold.quantizers_infrastructure.keras3.quantization_wrapper",
    "quantizer_scaffold.qat.keras3.quantizer.quantization_dispatcher_builder",
)


def import_registered_quantizers() -> None:
    """Import the modules that register the Keras 3 quantizer classes, installed projects' too."""
    import_quantizer_modules(_REGISTERING_MODULES, "keras3")


def load_quantized_model(
    path: str | os.PathLike[str],
    custom_objects: dict[str, Any] | None = None,
    compile: bool = True,
) -> keras.Model:
    """Load a ``.keras`` file saved by Keras 3 with quantizers, in safe mode."""
    path = os.fspath(path)
    check_saved_keras(path, KERAS3)
    import_registered_quantizers()
    return keras.saving.load_model(
        path, custom_objects=custom_objects, compile=compile, safe_mode=True
    )
