"""Which Keras a model, layer, variable or quantizer belongs to, told from its class alone.

Keras 2 (``tf_keras``) and Keras 3 (``keras``) objects do not work together: a Keras 3 layer
called inside a tf_keras model turns into op layers holding frozen copies of its weights, and
a Keras 2 quantizer computes with TensorFlow inside a model that may run on JAX. Each back end
checks what it is given with ``check_keras``, which reads class modules only, so answering
never imports either Keras.
"""

from __future__ import annotations

import sys
from typing import Any

KERAS2 = "Keras 2 (tf_keras)"
KERAS3 = "Keras 3"

# where the quantizer classes of each back end of this package live
_BACK_END_PACKAGES = {
    ("quantizer_scaffold", "quantizers_infrastructure", "keras"): KERAS2,
    ("quantizer_scaffold", "quantizers_infrastructure", "keras3"): KERAS3,
}

_HOW_TO_BUILD = {
    KERAS2: (
        "build it with quantizer_scaffold.quantizers_infrastructure.keras.compat.keras "
        "and quantizers from quantizer_scaffold.quantizers_infrastructure (qi)"
    ),
    KERAS3: (
        "build it with `import keras` (Keras 3) and quantizers from "
        "quantizer_scaffold.quantizers_infrastructure.keras3 (qi3)"
    ),
}


class KerasMismatchError(TypeError):
    """A Keras 2 object was given where Keras 3 is used, or the other way round."""


def _module_keras(module: str) -> str | None:
    parts = tuple(module.split("."))
    if parts[:3] in _BACK_END_PACKAGES:
        return _BACK_END_PACKAGES[parts[:3]]
    if parts[0] == "tf_keras":
        return KERAS2
    if parts[0] == "keras":
        # the class is defined, so its package is imported; a Keras 2 named "keras" is neither
        version = getattr(sys.modules.get("keras"), "__version__", "3")
        return KERAS3 if version.split(".")[0] == "3" else None
    return None


def keras_of(obj: Any) -> str | None:
    """``KERAS2``, ``KERAS3``, or None when ``obj`` (or the class ``obj``) is of neither."""
    cls = obj if isinstance(obj, type) else type(obj)
    for klass in cls.__mro__:
        keras = _module_keras(klass.__module__)
        if keras is not None:
            return keras
    return None


def check_keras(obj: Any, expected: str, what: str) -> None:
    """Raise KerasMismatchError when ``obj`` belongs to the other Keras than ``expected``."""
    found = keras_of(obj)
    if found is None or found == expected:
        return
    cls = obj if isinstance(obj, type) else type(obj)
    raise KerasMismatchError(
        f"{what} is a {found} object ({cls.__module__}.{cls.__qualname__}) but is used with "
        f"{expected}: the two cannot be mixed; {_HOW_TO_BUILD[expected]}"
    )
