"""The framework-free contract of an inferable quantizer: fixed parameters, no training.

An inferable quantizer is a pure function of its input with constant parameters:

- its constructor takes plain values (the declared parameters as lists of floats, one per
  channel or one) and validates them; ``get_config()`` returns exactly those arguments as
  JSON-safe values (names, never enum numbers) and ``from_config(get_config())`` rebuilds it;
- ``__call__(inputs)`` returns the quantized tensor (no ``training``: it never learns);
- ``parameter_spec`` declares its parameters (see ``parameters.py``; empty when it has none);
- ``grid()`` describes the values it outputs as a ``UniformGrid`` (scale, zero point, integer
  range, channel axis), or returns None when they are not a uniform grid. Exporters and the
  contract tests read it; an integer export needs ``grid().fits_integers(8)``.

``mark_quantizer`` records which target and methods an inferable class implements, and
``get_inferable_quantizer_class`` finds the one class for a (target, method) pair. The
``identifier`` keeps families apart: the built-in classes are ``"built-in"``, a scaffolded
training method's classes carry the method's name.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from .constants import QuantizationMethod, QuantizationTarget
from .grid import UniformGrid
from .parameters import ParameterSpec

_INFERABLE_CLASSES: list[type] = []

BUILT_IN = "built-in"

T = TypeVar("T", bound=type)


class BaseInferableQuantizer(abc.ABC):
    """Quantizes a tensor with fixed parameters for deployment."""

    quantization_target: QuantizationTarget
    quantization_methods: tuple[QuantizationMethod, ...] = ()
    identifier: str = BUILT_IN
    parameter_spec: ParameterSpec = ParameterSpec()

    @abc.abstractmethod
    def __call__(self, inputs: Any) -> Any:
        """Return the quantized ``inputs``."""

    @abc.abstractmethod
    def get_config(self) -> dict[str, Any]:
        """Constructor keyword arguments as plain lists, floats, ints and bools."""

    def grid(self) -> UniformGrid | None:
        """The values this quantizer outputs, or None when they are not a uniform grid."""
        return None

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> BaseInferableQuantizer:
        return cls(**config)


def mark_quantizer(
    quantization_target: QuantizationTarget,
    quantization_method: Sequence[QuantizationMethod],
    identifier: str = BUILT_IN,
) -> Callable[[T], T]:
    """Class decorator: declare the target and methods an inferable quantizer implements."""

    def mark(cls: T) -> T:
        cls.quantization_target = QuantizationTarget(quantization_target)  # type: ignore[attr-defined]
        cls.quantization_methods = tuple(QuantizationMethod(m) for m in quantization_method)  # type: ignore[attr-defined]
        cls.identifier = identifier  # type: ignore[attr-defined]
        _INFERABLE_CLASSES[:] = [c for c in _INFERABLE_CLASSES if not _same_class(c, cls)]
        _INFERABLE_CLASSES.append(cls)
        return cls

    return mark


def _same_class(a: type, b: type) -> bool:
    """Whether ``b`` redefines ``a`` (a module reloaded), so the old entry is replaced."""
    return (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__)


def get_inferable_quantizer_class(
    quantization_target: QuantizationTarget,
    quantization_method: QuantizationMethod,
    base_class: type,
    identifier: str = BUILT_IN,
) -> type:
    """The one inferable subclass of ``base_class`` marked for this target, method and family."""
    target = QuantizationTarget(quantization_target)
    method = QuantizationMethod(quantization_method)
    matches = [
        cls
        for cls in _INFERABLE_CLASSES
        if issubclass(cls, base_class)
        and cls.quantization_target is target  # type: ignore[attr-defined]
        and method in cls.quantization_methods  # type: ignore[attr-defined]
        and cls.identifier == identifier  # type: ignore[attr-defined]
    ]
    if len(matches) != 1:
        found = ", ".join(f"{c.__module__}.{c.__qualname__}" for c in matches) or "none"
        raise ValueError(
            f"expected exactly one {base_class.__name__} for {target.name} / {method.name} "
            f"({identifier}), "
            f"found {len(matches)}: {found}"
        )
    return matches[0]
