"""Registration of quantizer classes for Keras (de)serialization under qualified names.

Each class is registered as ``"<module>><ClassName>"``, so a user's ``MyQuantizer`` and a
built-in ``MyQuantizer`` cannot be confused when a model loads. Registering a *different*
class under a name already taken is an error now, not a wrong model later.
"""

from __future__ import annotations

from typing import TypeVar

from .compat import keras

T = TypeVar("T", bound=type)

_REGISTERED: dict[str, type] = {}


def _identity(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def register_quantizer(
    cls: T | None = None, *, package: str | None = None, name: str | None = None
):  # type: ignore[no-untyped-def]
    """Class decorator: make ``cls`` loadable by ``load_quantized_model``.

    ``package`` defaults to the class's module, ``name`` to its class name.
    """

    def register(klass: T) -> T:
        registered_name = f"{package or klass.__module__}>{name or klass.__name__}"
        previous = _REGISTERED.get(registered_name)
        if previous is not None and _identity(previous) != _identity(klass):
            raise ValueError(
                f"{registered_name!r} is already registered to {_identity(previous)}; "
                f"give {_identity(klass)} another name or package"
            )
        _REGISTERED[registered_name] = klass
        keras.utils.register_keras_serializable(
            package=package or klass.__module__, name=name or klass.__name__
        )(klass)
        return klass

    return register(cls) if cls is not None else register


def registered_quantizer_classes() -> dict[str, type]:
    """Every class registered through ``register_quantizer``, by registered name."""
    return dict(_REGISTERED)


def is_registered(cls: type) -> bool:
    """Whether ``cls`` itself was registered through ``register_quantizer``."""
    return any(klass is cls for klass in _REGISTERED.values())
