"""Training methods and the QAT configuration.

``TrainingMethod`` is extended by ``scaffold-quantizer``: new members are appended with the
next free integer. Saved models refer to members by name, never by value.
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
            value = getattr(self, name)
            if not isinstance(value, TrainingMethod):
                known = ", ".join(m.name for m in TrainingMethod)
                raise ValueError(f"{name} must be a TrainingMethod ({known}), got {value!r}")
