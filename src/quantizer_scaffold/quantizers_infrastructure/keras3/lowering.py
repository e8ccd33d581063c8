"""Where a graph exporter swaps in its own ops while it traces a Keras 3 model.

The Keras 3 grids are computed with ``keras.ops`` on every back end. TensorFlow Lite's
converter, though, reads a tensor's int8 scale and zero point only from TensorFlow's fused
fake-quant ops, and a per-channel weight grid only when that op feeds a 2-D (depthwise)
convolution directly. So ``export_tflite`` traces the model inside ``lowered(lowering)``:
``quantizer_utils.fake_quant`` then computes each grid with ``lowering.fake_quant`` and the
wrapper computes a layer with a per-channel weight in ``lowering.layer_form`` if it has one.
Outside that scope (training, inference, saving) nothing changes. Framework-free: the
lowering brings its ops.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from typing import Any, Protocol

# a layer's call in an exporter's form: (layer, inputs, {weight attribute: quantized weight})
LayerForm = Callable[[Any, Any, dict[str, Any]], Any]


class GraphLowering(Protocol):
    """The ops an exporter computes the grids and layers with while it traces."""

    def fake_quant(self, x: Any, low: Any, high: Any, n_bits: int, activation: bool) -> Any:
        """The 2^n levels spanning ``[low, high]`` (scalars or broadcast against ``x``);
        ``activation``: a wrapper's output (``common.activation_scope``).
        None: the exporter has no op for this grid, which is then computed as usual."""

    def layer_form(self, wrapper: Any, inputs: Any) -> tuple[str, LayerForm, Any] | None:
        """How ``wrapper``'s inner layer computes in the exporter's form, if it has one: the
        attribute of its one quantized weight, the form, and the view of the weight the form
        takes (a function of the weight, quantized after it); None: the layer's own call."""


_ACTIVE: contextvars.ContextVar[GraphLowering | None] = contextvars.ContextVar(
    "keras3_graph_lowering", default=None
)


def active() -> GraphLowering | None:
    """The lowering of the trace in progress, if any."""
    return _ACTIVE.get()


@contextlib.contextmanager
def lowered(lowering: GraphLowering) -> Iterator[None]:
    """Within it, quantizers and wrappers compute with ``lowering``'s ops."""
    token = _ACTIVE.set(lowering)
    try:
        yield
    finally:
        _ACTIVE.reset(token)
