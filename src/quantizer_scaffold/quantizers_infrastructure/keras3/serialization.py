"""Registration of Keras 3 quantizer classes for saving and loading (``common/registration.py``).

Each class is registered as ``"<module>><ClassName>"`` in Keras 3's own registry, apart from
the Keras 2 one, so the Keras 2 and Keras 3 classes of one name never meet.
"""

from __future__ import annotations

from typing import TypeVar

from ..common.registration import QuantizerRegistry
from .compat import keras

T = TypeVar("T", bound=type)

_REGISTRY = QuantizerRegistry(keras, "@qi3.register_quantizer")


def register_quantizer(
    cls: T | None = None, *, package: str | None = None, name: str | None = None
):  # type: ignore[no-untyped-def]
    """Class decorator: make ``cls`` loadable by ``load_quantized_model``.

    ``package`` defaults to the class's module, ``name`` to its class name.
    """
    return _REGISTRY.register(cls, package=package, name=name)


registered_quantizer_classes = _REGISTRY.classes
is_registered = _REGISTRY.is_registered
serialize_quantizer = _REGISTRY.serialize
deserialize_quantizer = _REGISTRY.deserialize
