"""The generator behind ``scaffold-quantizer``: naming, rendering, registration, transaction.

Library API (what the CLI calls): ``scaffold``, ``remove``, ``list_methods`` and
``MethodName``. Nothing here imports TensorFlow; libcst and cookiecutter load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "scaffold": "api",
    "remove": "api",
    "list_methods": "api",
    "Report": "api",
    "MethodName": "naming",
    "Target": "naming",
    "ScaffoldError": "errors",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
