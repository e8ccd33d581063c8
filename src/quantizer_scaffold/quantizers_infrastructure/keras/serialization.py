"""Registration of quantizer classes for Keras (de)serialization under qualified names.

Each class is registered as ``"<module>><ClassName>"``, so a user's ``MyQuantizer`` and a
built-in ``MyQuantizer`` cannot be confused when a model loads. Registering a *different*
class under a name already taken is an error now, not a wrong model later.
"""

from __future__ import annotations

from typing import Any, TypeVar

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


def serialize_quantizer(quantizer: Any, owner: str) -> dict[str, Any]:
    """Keras' serialization of a registered quantizer; ``owner`` names the layer in errors."""
    if not is_registered(type(quantizer)):
        raise ValueError(
            f"{owner}: {type(quantizer).__name__} is not registered for saving: decorate it "
            "with @qi.register_quantizer so load_quantized_model can rebuild it"
        )
    return keras.utils.serialize_keras_object(quantizer)


def deserialize_quantizer(
    spec: dict[str, Any], custom_objects: dict[str, Any] | None = None
) -> Any:
    """Rebuild a quantizer from its registered name only (the same in every save format)."""
    name = spec.get("registered_name") or spec["class_name"]
    cls = keras.saving.get_registered_object(name, custom_objects=custom_objects)
    if cls is None:
        raise ValueError(
            f"unknown quantizer {name!r}: import the module that defines it (decorated with "
            "@qi.register_quantizer) before loading, or pass it in custom_objects"
        )
    return cls.from_config(spec["config"])
