"""The guard between the framework-free core and the optional TensorFlow runtime."""

from __future__ import annotations

import importlib.util

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
