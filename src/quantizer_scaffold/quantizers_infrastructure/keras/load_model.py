"""``load_quantized_model``: load a saved quantized Keras model with every registered quantizer.

The built-in inferable quantizers, the wrapper and, through the QAT dispatchers, every
built-in and scaffolded trainable quantizer register themselves when their modules are
imported; this module imports them before loading, including the dispatchers of installed
projects (their ``quantizer_scaffold.dispatchers`` entry points). Keras' safe mode stays on
for every format, so a model file cannot run arbitrary Python code (``lambda`` bytecode is refused).
Loading runs inside tfmot's ``quantize_scope`` too, so models built with tfmot's
``quantize_apply`` (and our ``TfmotQuantizeConfig``) load the same way.
"""

from __future__ import annotations

import os
from typing import Any

from ..common.frameworks import KERAS2
from ..common.saved_models import check_saved_keras, import_quantizer_modules
from .compat import keras, safe_mode_scope, tfmot

# importing these modules registers every quantizer class the project ships
_REGISTERING_MODULES = (
    "quantizer_scaffold.quantizers_infrastructure.keras.inferable_quantizers",
    "quantizer_scaffold.quantizers_infrastructure.keras.quantization_wrapper",
    "quantizer_scaffold.qat.keras.quantizer.quantization_dispatcher_builder",
    "quantizer_scaffold.qat.keras.tfmot_adapter",
)


def import_registered_quantizers() -> None:
    """Import the modules that register the Keras 2 quantizer classes, installed projects' too."""
    import_quantizer_modules(_REGISTERING_MODULES, "keras")


def load_quantized_model(
    path: str | os.PathLike[str],
    custom_objects: dict[str, Any] | None = None,
    compile: bool = True,
) -> keras.Model:
    """Load a ``.keras`` file or a SavedModel directory (and ``.h5``) saved with quantizers."""
    path = os.fspath(path)
    check_saved_keras(path, KERAS2)
    import_registered_quantizers()
    with safe_mode_scope(), tfmot.quantization.keras.quantize_scope():
        return keras.models.load_model(
            path, custom_objects=custom_objects, compile=compile, safe_mode=True
        )
