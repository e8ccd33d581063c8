"""The grid a traced tensor is on, read from the fake-quant op that computes it.

TensorFlow Lite's converter gives a tensor the scale and zero point of the fake-quant op
(``FakeQuantWithMinMaxVars`` or its per-channel form) that computes it, looking through ops
that only move values. The export's checks and the wrapper's bias grid read the same op.
"""

from __future__ import annotations

from .compat import tf

FAKE_QUANT_OPS = {"FakeQuantWithMinMaxVars", "FakeQuantWithMinMaxVarsPerChannel"}
# ops that only move values: a grid read through them is the grid of the op before
_MOVES = {"Identity", "IdentityN", "Reshape"}


def source_op(tensor: tf.Tensor) -> tf.Operation:
    """The op that computes ``tensor``'s values, looking through ops that only move them."""
    op = tensor.op
    while op.type in _MOVES:
        # IdentityN (a custom gradient's) passes input i to output i
        tensor = op.inputs[tensor.value_index if op.type == "IdentityN" else 0]
        op = tensor.op
    return op


def grid_step(tensor: tf.Tensor) -> tf.Tensor | None:
    """The step of the grid ``tensor`` is on (one per channel for a per-channel op), as a
    tensor of the same graph; None when no fake-quant op computes it. Graph tensors only."""
    op = source_op(tensor)
    if op.type not in FAKE_QUANT_OPS:
        return None
    levels = 2 ** op.get_attr("num_bits") - 1 - int(op.get_attr("narrow_range"))
    return (op.inputs[2] - op.inputs[1]) / float(levels)
