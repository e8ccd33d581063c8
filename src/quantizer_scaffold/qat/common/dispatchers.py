"""Which dispatcher serves a training method: the library's own, or a user project's.

Every ``TrainingMethod`` enum (this library's, or one that ``scaffold-quantizer`` created in
a user's package) has one *dispatcher module* per back end: a module with the two dicts
``METHOD2WEIGHTQUANTIZER`` and ``METHOD2ACTQUANTIZER`` mapping the enum's members to
trainable quantizer classes. The runtime finds the dispatcher for a member's enum class, per
back end, in three places:

1. the built-in ones (``BUILTIN_DISPATCHERS``), for ``quantizer_scaffold.qat.TrainingMethod``;
2. entry points of the group ``quantizer_scaffold.dispatchers`` declared by installed
   projects, named by back end::

       [project.entry-points."quantizer_scaffold.dispatchers"]
       keras = "myproj.qat.keras.quantizer.quantization_dispatcher_builder"

   (``scaffold-quantizer`` writes this into the project's pyproject.toml on its first run);
3. ``register_dispatcher(module, backend="keras")``, for code that is not installed.

A dispatcher module is imported only when a member of a foreign enum is looked up (or by
``import_dispatchers`` before a model loads, so that the project's quantizer classes are
registered for deserialization). Back ends: ``keras`` is Keras 2 (tf_keras), ``keras3`` is
Keras 3; a new back end adds its built-in module to ``BUILTIN_DISPATCHERS`` and projects name
it in their entry point, nothing else changes. This module does not import TensorFlow.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from enum import Enum
from types import ModuleType
from typing import Any

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "quantizer_scaffold.dispatchers"
WEIGHTS_TABLE = "METHOD2WEIGHTQUANTIZER"
ACTIVATIONS_TABLE = "METHOD2ACTQUANTIZER"
ENUM_NAME = "TrainingMethod"
DEFAULT_BACKEND = "keras"
BUILTIN_DISPATCHERS = {
    "keras": "quantizer_scaffold.qat.keras.quantizer.quantization_dispatcher_builder",
    "keras3": "quantizer_scaffold.qat.keras3.quantizer.quantization_dispatcher_builder",
}
# back ends the generator renders quantizers for (the others are filled in by hand for now)
SCAFFOLDED_BACKENDS = {"keras"}


@dataclass(frozen=True)
class Dispatcher:
    """One dispatcher module: the enum it serves and its two tables, and where it came from."""

    module: str
    backend: str
    enum: type[Enum]
    weights: dict[Any, dict[Any, type]]
    activations: dict[Any, dict[Any, type]]
    origin: str  # "built-in", "entry point of <distribution>", or "register_dispatcher"

    def table(self, weights: bool) -> dict[Any, dict[Any, type]]:
        return self.weights if weights else self.activations


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


# (backend, enum class) -> Dispatcher; filled by registration and discovery
_BY_ENUM: dict[tuple[str, type], Dispatcher] = {}
_LOADED_ENTRY_POINTS: set[tuple[str, str]] = set()  # (backend, module) already imported
_ENTRY_POINT_ERRORS: dict[tuple[str, str], str] = {}


def _enum_of(module: ModuleType, weights: dict[Any, Any], activations: dict[Any, Any]) -> type:
    classes = {type(key) for key in (*weights, *activations)}
    declared = getattr(module, ENUM_NAME, None)
    if isinstance(declared, type) and issubclass(declared, Enum):
        classes.add(declared)
    if len(classes) != 1 or not issubclass(next(iter(classes)), Enum):
        found = ", ".join(sorted(_qualified(c) for c in classes)) or "none"
        raise ValueError(
            f"dispatcher {module.__name__} must map the members of one TrainingMethod enum "
            f"(found keys of: {found}); import the enum as {ENUM_NAME} there"
        )
    return next(iter(classes))


def _load(module: ModuleType | str, backend: str, origin: str) -> Dispatcher:
    if isinstance(module, str):
        module = importlib.import_module(module)
    tables = []
    for name in (WEIGHTS_TABLE, ACTIVATIONS_TABLE):
        table = getattr(module, name, None)
        if not isinstance(table, dict):
            raise ValueError(
                f"dispatcher {module.__name__} has no dict {name}; a dispatcher module defines "
                f"both {WEIGHTS_TABLE} and {ACTIVATIONS_TABLE}"
            )
        tables.append(table)
    return Dispatcher(
        module.__name__, backend, _enum_of(module, *tables), tables[0], tables[1], origin
    )


def _add(dispatcher: Dispatcher) -> None:
    key = (dispatcher.backend, dispatcher.enum)
    previous = _BY_ENUM.get(key)
    if previous is not None and previous.module != dispatcher.module:
        raise ValueError(
            f"{_qualified(dispatcher.enum)} already has a {dispatcher.backend} dispatcher, "
            f"{previous.module} ({previous.origin}); {dispatcher.module} cannot be a second one"
        )
    if previous is None:
        _BY_ENUM[key] = dispatcher


def register_dispatcher(module: ModuleType | str, backend: str = DEFAULT_BACKEND) -> None:
    """Make a project's dispatcher module known to the runtime (no install needed).

    ``module`` is the module object or its dotted name; registering the same module again
    does nothing. An installed project needs no call: its entry point is found by itself.
    """
    _add(_load(module, backend, "register_dispatcher"))


def _entry_points(backend: str) -> list[tuple[str, str]]:
    """(module, distribution) of every installed entry point for ``backend``."""
    from importlib.metadata import entry_points

    found = []
    for point in entry_points(group=ENTRY_POINT_GROUP):
        if point.name == backend:
            dist = getattr(point, "dist", None)
            found.append((point.value.split(":")[0].strip(), getattr(dist, "name", "?")))
    return sorted(set(found))


def _import_builtin(backend: str) -> None:
    builtin = BUILTIN_DISPATCHERS.get(backend)
    if builtin is not None and (backend, builtin) not in _LOADED_ENTRY_POINTS:
        _add(_load(builtin, backend, "built-in"))
        _LOADED_ENTRY_POINTS.add((backend, builtin))


def import_dispatchers(backend: str = DEFAULT_BACKEND, prefer: str = "") -> None:
    """Import the built-in dispatcher and every installed project's one for ``backend``.

    ``prefer``: a module name prefix to import first (the package of the enum being looked
    up). A project whose dispatcher fails to import is logged and skipped here; looking up
    one of its methods reports the error.
    """
    _import_builtin(backend)
    points = _entry_points(backend)
    points.sort(key=lambda item: not (prefer and item[0].startswith(prefer)))
    for module, distribution in points:
        if (backend, module) in _LOADED_ENTRY_POINTS:
            continue
        _LOADED_ENTRY_POINTS.add((backend, module))
        try:
            _add(_load(module, backend, f"entry point of {distribution}"))
        except Exception as error:  # a broken plugin must not break other projects' models
            message = f"{type(error).__name__}: {error}"
            _ENTRY_POINT_ERRORS[(backend, module)] = message
            logger.warning(
                "the %s dispatcher %s (entry point of %s) failed to import: %s",
                backend,
                module,
                distribution,
                message,
            )


def dispatchers(backend: str = DEFAULT_BACKEND) -> list[Dispatcher]:
    """Every dispatcher known for ``backend`` (built-in, installed and registered)."""
    import_dispatchers(backend)
    return [d for (b, _), d in _BY_ENUM.items() if b == backend]


def dispatcher_for(training_method: Any, backend: str = DEFAULT_BACKEND) -> Dispatcher:
    """The dispatcher that serves ``training_method``'s enum on ``backend``.

    ValueError names the fix when ``training_method`` is not a member of a known enum.
    """
    if not isinstance(training_method, Enum):
        raise ValueError(
            f"expected a TrainingMethod member (quantizer_scaffold.qat.TrainingMethod.STE, or "
            f"your project's TrainingMethod.X), got {training_method!r}"
        )
    enum = type(training_method)
    if (backend, enum) not in _BY_ENUM:
        _import_builtin(backend)
    found = _BY_ENUM.get((backend, enum))
    if found is None:
        import_dispatchers(backend, prefer=enum.__module__.split(".")[0])
        found = _BY_ENUM.get((backend, enum))
    if found is not None:
        return found
    top = enum.__module__.split(".")[0]
    failed = [
        f"{module} ({error})"
        for (b, module), error in _ENTRY_POINT_ERRORS.items()
        if b == backend and module.split(".")[0] == top
    ]
    if failed:
        raise ValueError(
            f"the {backend} dispatcher of {_qualified(enum)} failed to import: {'; '.join(failed)}"
        )
    known = ", ".join(sorted(_qualified(d.enum) for d in dispatchers(backend))) or "none"
    raise ValueError(
        f"{enum.__name__}.{training_method.name} ({_qualified(enum)}) has no {backend} "
        f"dispatcher (known enums: {known}); install the project that defines it "
        f"(pip install -e .; its pyproject.toml declares "
        f'[project.entry-points."{ENTRY_POINT_GROUP}"] {backend} = "<dispatcher module>") or call '
        f'quantizer_scaffold.qat.register_dispatcher("<dispatcher module>") first'
    )


def get_trainable_quantizer_class(
    training_method: Any,
    quantization_method: Any,
    quantization_target: Any,
    backend: str = DEFAULT_BACKEND,
) -> type:
    """The trainable quantizer class registered for this method pair and target."""
    from quantizer_scaffold.quantizers_infrastructure.common.constants import (
        QuantizationMethod,
        QuantizationTarget,
    )

    target = QuantizationTarget(quantization_target)
    method = QuantizationMethod(quantization_method)
    dispatcher = dispatcher_for(training_method, backend)
    weights = target is QuantizationTarget.Weights
    table = dispatcher.table(weights)
    quantizer_class = table.get(training_method, {}).get(method)
    if quantizer_class is None:
        registered = "; ".join(
            f"{tm.name}: {', '.join(m.name for m in methods)}" for tm, methods in table.items()
        )
        name = training_method.name
        if backend in SCAFFOLDED_BACKENDS:
            remedy = (
                f"scaffold one with: scaffold-quantizer --method {name} --target {target.value} "
                f"--quantization-method {method.value}"
            )
        else:
            remedy = f"add a {backend} quantizer class to the dictionaries of {dispatcher.module}"
        raise ValueError(
            f"no {target.name} quantizer is registered for training method {name} with "
            f"{method.name} in {dispatcher.module} (registered: {registered or 'none'}); " + remedy
        )
    return quantizer_class
