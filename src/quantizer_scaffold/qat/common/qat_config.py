"""Training methods and the QAT configuration.

``TrainingMethod`` is extended by ``scaffold-quantizer``: new members are appended with the
next free integer. Saved models refer to members by name, never by value. ``QATConfig``
also takes the members of a user project's own ``TrainingMethod`` (its dispatcher is found
through ``quantizer_scaffold.qat.common.dispatchers``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class TrainingMethod(Enum):
    """How a trainable quantizer learns; each member maps to quantizer classes in the dispatcher."""

    STE = 0
    LSQ = 1
    PACT = 2
    DoReFa = 3


@dataclass
class QATConfig:
    """Which training method to use for weights and activations, and parameter overrides."""

    weight_training_method: TrainingMethod = TrainingMethod.STE
    activation_training_method: TrainingMethod = TrainingMethod.STE
    weight_quantizer_params_override: dict[str, Any] | None = field(default=None)
    activation_quantizer_params_override: dict[str, Any] | None = field(default=None)

    def __post_init__(self) -> None:
        for name in ("weight_training_method", "activation_training_method"):
            check_training_method(getattr(self, name), name)


def check_training_method(value: Any, name: str) -> None:
    """Refuse anything but a member of a ``TrainingMethod`` enum (this library's or a project's).

    Whether a back end has a quantizer for it is checked when a model is wrapped: each back
    end has its own dispatcher (``quantizer_scaffold.qat.common.dispatchers``).
    """
    from quantizer_scaffold.quantizers_infrastructure.common.constants import (
        QuantizationMethod,
        QuantizationTarget,
    )

    if isinstance(value, (QuantizationMethod, QuantizationTarget)):
        raise ValueError(
            f"{name} must be a TrainingMethod member, got {value!r}, which is a "
            f"{type(value).__name__}: pass the grid as weights_method/activation_method to "
            f"qat_init and a TrainingMethod (e.g. TrainingMethod.STE) here"
        )
    if not isinstance(value, Enum):
        builtin = ", ".join(m.name for m in TrainingMethod)
        raise ValueError(
            f"{name} must be a TrainingMethod member: quantizer_scaffold.qat.TrainingMethod "
            f"({builtin}) or your project's own TrainingMethod.X; got {value!r}"
        )
