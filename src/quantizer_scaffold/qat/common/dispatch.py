"""Finding the trainable quantizer class in a back end's dispatcher dictionaries.

Each back end keeps its own ``METHOD2WEIGHTQUANTIZER`` / ``METHOD2ACTQUANTIZER`` (keyed by the
one shared ``TrainingMethod``) and looks a class up with ``lookup_trainable_quantizer``, whose
error lists what that back end has registered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from quantizer_scaffold.quantizers_infrastructure.common import (
    QuantizationMethod,
    QuantizationTarget,
)

Table = Mapping[Any, Mapping[QuantizationMethod, type]]


def lookup_trainable_quantizer(
    weights_table: Table,
    activation_table: Table,
    training_method: Any,
    quantization_method: QuantizationMethod,
    quantization_target: QuantizationTarget,
    remedy: str,
) -> type:
    """The class registered for this method pair and target; ``remedy`` ends the error."""
    target = QuantizationTarget(quantization_target)
    method = QuantizationMethod(quantization_method)
    table = weights_table if target is QuantizationTarget.Weights else activation_table
    quantizer_class = table.get(training_method, {}).get(method)
    if quantizer_class is None:
        registered = "; ".join(
            f"{tm.name}: {', '.join(m.name for m in methods)}" for tm, methods in table.items()
        )
        name = getattr(training_method, "name", training_method)
        raise ValueError(
            f"no {target.name} quantizer is registered for training method {name} with "
            f"{method.name} (registered: {registered}); "
            + remedy.format(method=name, target=target.value, quantization_method=method.value)
        )
    return quantizer_class
