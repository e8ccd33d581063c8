"""Whether the grid being computed is a wrapper's output (an activation) or a weight.

The values are the same either way; only the graph form of a grid below 8 bits differs, since
TensorFlow Lite's converter keeps the two differently: it folds a weight's n-bit fake-quant
op into the int8 constant an 8-bit op of its step makes, but gives an activation the n-bit
op's own tensor type (``i4``), which its int8 kernels refuse. The quantization wrapper of
both Kerases applies its output quantizers inside ``quantizing_activations()``; the grid code
asks ``quantizing_activations_now()``. Framework-free.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

_ACTIVATIONS: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "quantizing_activations", default=False
)


@contextlib.contextmanager
def quantizing_activations() -> Iterator[None]:
    """Within it, the grids computed are activations."""
    token = _ACTIVATIONS.set(True)
    try:
        yield
    finally:
        _ACTIVATIONS.reset(token)


def quantizing_activations_now() -> bool:
    """Whether the grid being computed is an activation (``quantizing_activations``)."""
    return _ACTIVATIONS.get()
