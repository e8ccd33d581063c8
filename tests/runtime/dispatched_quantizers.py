"""Every quantizer a back end's dispatcher maps, as pytest parameters (shared by both Keras)."""

from __future__ import annotations

from typing import Any

import pytest


def every_dispatched_quantizer(dispatcher: Any, bit_widths: tuple[int, ...] = (4, 8)) -> list:
    """``(quantizer class, target, method, n_bits)`` for each entry of ``dispatcher``'s
    ``METHOD2WEIGHTQUANTIZER`` and ``METHOD2ACTQUANTIZER`` and each bit width."""
    tables = {
        "weights": dispatcher.METHOD2WEIGHTQUANTIZER,
        "activation": dispatcher.METHOD2ACTQUANTIZER,
    }
    return [
        pytest.param(
            quantizer,
            target,
            method,
            n_bits,
            id=f"{target}-{training.name}-{method.value}-{n_bits}bit",
        )
        for target, table in tables.items()
        for training, quantizers in table.items()
        for method, quantizer in quantizers.items()
        for n_bits in bit_widths
    ]
