"""Which Keras saved a model file, read from the file itself before a loader touches it.

A ``.keras`` file is a zip archive whose ``metadata.json`` records the ``keras_version`` that
wrote it. Each back end's ``load_quantized_model`` checks it first, so a file of the other
Keras is refused with one line that names the loader to use, not with a deserialization error
deep inside Keras.
"""

from __future__ import annotations

import importlib
import json
import os
import zipfile
from collections.abc import Iterable

from .frameworks import KERAS2, KERAS3, KerasMismatchError

_LOADER = {
    KERAS2: "quantizer_scaffold.quantizers_infrastructure.load_quantized_model (qi)",
    KERAS3: "quantizer_scaffold.quantizers_infrastructure.keras3.load_quantized_model (qi3)",
}


def saved_keras_version(path: str) -> str | None:
    """The ``keras_version`` recorded in a ``.keras`` archive; None for other files."""
    if not zipfile.is_zipfile(path):
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            metadata = json.loads(archive.read("metadata.json"))
    except (KeyError, ValueError, OSError):
        return None
    version = metadata.get("keras_version") if isinstance(metadata, dict) else None
    return str(version) if version is not None else None


def check_saved_keras(path: str, expected: str) -> None:
    """Refuse a missing path, and a file the other Keras saved (naming the loader to use)."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"no saved model at {path!r}")
    if expected == KERAS3 and os.path.isdir(path):
        raise ValueError(
            f"{path!r} is a SavedModel directory, which Keras 3 cannot load as a model: save "
            f"Keras 3 models as .keras files (a tf_keras SavedModel loads with {_LOADER[KERAS2]})"
        )
    version = saved_keras_version(path)
    if version is None:
        return
    saved_by = KERAS3 if version.split(".")[0] == "3" else KERAS2
    if saved_by != expected:
        raise KerasMismatchError(
            f"{path!r} was saved by {saved_by} (keras_version {version}): load it with "
            f"{_LOADER[saved_by]}"
        )


def import_quantizer_modules(modules: Iterable[str], backend: str) -> None:
    """Import the modules that register quantizer classes for loading (cheap after the first
    call): the library's, and every installed project's dispatcher of ``backend`` (found by
    its ``quantizer_scaffold.dispatchers`` entry point)."""
    for module in modules:
        importlib.import_module(module)
    from quantizer_scaffold.qat.common.dispatchers import import_dispatchers

    import_dispatchers(backend)
