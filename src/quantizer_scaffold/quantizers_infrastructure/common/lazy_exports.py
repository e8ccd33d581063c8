"""Package attributes that load a Keras runtime on first access, with a clear install hint.

``import quantizer_scaffold`` and its packages never import TensorFlow, JAX or Keras: a name
that needs one is listed here with its module and the check of what it needs, and is imported
(and cached in the package) the first time it is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

from .dependencies import MissingDependencyError

# public name -> (module that defines it, check raising MissingDependencyError, or None)
Exports = Mapping[str, tuple[str, Callable[[str], None] | None]]


def lazy_exports(
    package: str, namespace: MutableMapping[str, Any], exports: Exports, public: list[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package`` (whose globals are ``namespace``)."""

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, require = exports[name]
        if require is not None:
            try:
                require(name)
            except MissingDependencyError as error:
                raise MissingDependencyError(str(error), name=name) from None
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(public))

    return __getattr__, __dir__
