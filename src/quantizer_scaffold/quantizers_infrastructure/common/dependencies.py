"""The guard between the framework-free core and the optional Keras runtimes.

Keras 2 (tf_keras, with tfmot) needs the ``tensorflow`` extra; Keras 3 needs ``keras`` and the
package of the back end it runs on (``KERAS_BACKEND``): the ``tensorflow`` or ``jax`` extra.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import sys
from pathlib import Path

INSTALL_HINT = "pip install 'quantizer-scaffold[tensorflow]'"

# import name -> the distribution that provides it
RUNTIME_PACKAGES = {
    "tensorflow": "tensorflow-cpu",
    "tf_keras": "tf-keras",
    "tensorflow_model_optimization": "tensorflow-model-optimization",
}


class MissingDependencyError(ImportError):
    """A Keras feature was used without TensorFlow, tf-keras or tfmot installed."""


def missing_runtime_packages() -> list[str]:
    """Distributions of the Keras runtime that are not importable here, in install order."""
    return [dist for name, dist in RUNTIME_PACKAGES.items() if not _importable(name)]


def _importable(name: str) -> bool:
    """Whether ``import name`` can find the package (an import hook that refuses it: no)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def require_keras_runtime(feature: str) -> None:
    """Raise MissingDependencyError naming ``feature`` when the Keras runtime is incomplete."""
    missing = missing_runtime_packages()
    if missing:
        raise MissingDependencyError(
            f"{feature} needs {', '.join(missing)}, which "
            f"{'is' if len(missing) == 1 else 'are'} not installed: run {INSTALL_HINT}"
        )


# Keras 3 back end -> (import name, distribution, extra of this package that brings it)
KERAS3_BACK_ENDS = {
    "tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow"),
    "jax": ("jax", "jax", "jax"),
}


def keras3_back_end() -> str:
    """The back end Keras 3 uses (fixed once imported), read as Keras reads it otherwise."""
    imported = sys.modules.get("keras")
    if imported is not None and hasattr(imported, "backend"):
        return str(imported.backend.backend())
    name = os.environ.get("KERAS_BACKEND")
    if not name:
        home = os.environ.get("KERAS_HOME") or Path.home() / ".keras"
        try:
            name = json.loads((Path(home) / "keras.json").read_text()).get("backend")
        except (OSError, ValueError, AttributeError):
            name = None
    return name or "tensorflow"


def require_keras3_runtime(feature: str) -> None:
    """Raise MissingDependencyError naming ``feature`` when Keras 3 or its back end is missing.

    Back ends other than TensorFlow and JAX are left to Keras to check (they are untested here).
    """
    back_end = keras3_back_end()
    needed = [("keras", "keras")]
    extra = "jax"
    if back_end in KERAS3_BACK_ENDS:
        module, distribution, extra = KERAS3_BACK_ENDS[back_end]
        needed.append((module, distribution))
    hint = f"pip install 'quantizer-scaffold[{extra}]'"
    missing = [distribution for module, distribution in needed if not _importable(module)]
    if missing:
        raise MissingDependencyError(
            f"{feature} needs {', '.join(missing)} for Keras 3 on the {back_end} back end, "
            f"which {'is' if len(missing) == 1 else 'are'} not installed: run {hint}"
        )
    try:
        version = importlib.metadata.version("keras")
    except importlib.metadata.PackageNotFoundError:  # importable without metadata: trust it
        return
    if int(version.split(".")[0]) < 3:
        raise MissingDependencyError(
            f"{feature} needs Keras 3, but keras {version} is installed: run {hint}"
        )
