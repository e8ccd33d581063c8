"""Registration of quantizer classes for Keras (de)serialization under qualified names.

Each class is registered as ``"<module>><ClassName>"``, so a user's ``MyQuantizer`` and a
built-in ``MyQuantizer`` cannot be confused when a model loads. Registering a *different*
class under a name already taken is an error now, not a wrong model later. Each back end keeps
one ``QuantizerRegistry`` over its own Keras (``tf_keras`` or ``keras``), whose ``saving``
module provides the three functions used here.
"""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T", bound=type)


def _identity(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


class QuantizerRegistry:
    """The quantizer classes registered with one Keras, by registered name."""

    def __init__(self, keras: Any, register_hint: str) -> None:
        self._keras = keras
        self._hint = register_hint  # how the user registers a class, for the messages
        self._classes: dict[str, type] = {}

    def register(
        self, cls: T | None = None, *, package: str | None = None, name: str | None = None
    ) -> Any:
        """Class decorator: register ``cls`` (default package: its module; name: its name)."""

        def register(klass: T) -> T:
            registered_name = f"{package or klass.__module__}>{name or klass.__name__}"
            previous = self._classes.get(registered_name)
            if previous is not None and _identity(previous) != _identity(klass):
                raise ValueError(
                    f"{registered_name!r} is already registered to {_identity(previous)}; "
                    f"give {_identity(klass)} another name or package"
                )
            self._classes[registered_name] = klass
            self._keras.saving.register_keras_serializable(
                package=package or klass.__module__, name=name or klass.__name__
            )(klass)
            return klass

        return register(cls) if cls is not None else register

    def classes(self) -> dict[str, type]:
        """Every class registered here, by registered name."""
        return dict(self._classes)

    def is_registered(self, cls: type) -> bool:
        """Whether ``cls`` itself was registered here."""
        return any(klass is cls for klass in self._classes.values())

    def serialize(self, quantizer: Any, owner: str) -> dict[str, Any]:
        """Keras' serialization of a registered quantizer; ``owner`` names the layer in errors."""
        if not self.is_registered(type(quantizer)):
            raise ValueError(
                f"{owner}: {type(quantizer).__name__} is not registered for saving: decorate it "
                f"with {self._hint} so load_quantized_model can rebuild it"
            )
        return self._keras.saving.serialize_keras_object(quantizer)

    def deserialize(
        self, spec: dict[str, Any], custom_objects: dict[str, Any] | None = None
    ) -> Any:
        """Rebuild a quantizer from its registered name only (the same in every save format)."""
        name = spec.get("registered_name") or spec["class_name"]
        cls = self._keras.saving.get_registered_object(name, custom_objects=custom_objects)
        if cls is None:
            raise ValueError(
                f"unknown quantizer {name!r}: import the module that defines it (decorated with "
                f"{self._hint}) before loading, or pass it in custom_objects"
            )
        return cls.from_config(spec["config"])
