"""The quantization math for every Keras 3 quantizer, in ``keras.ops`` (any back end).

The grids are those of ``common/grid_math.py``, computed in the same order as the Keras 2
back end (round-half-up, the range clipped first), so the two agree to float32 rounding.
Gradients are straight-through, defined once in ``fake_quant``: 1 for ``x`` inside the range
and 0 outside; the range bounds receive the gradient of the values clipped to them (as
``tf.quantization.fake_quant_with_min_max_vars`` gives them), so a quantizer that learns its
threshold or range gets that gradient too.
"""

from __future__ import annotations

from typing import Any

from ..common import grid_math
from ..common.activation_scope import quantizing_activations_now
from ..common.grid_math import divide as divide  # x / d for a grid parameter d: see grid_math
from .compat import keras, ops
from .lowering import active as active_lowering

MIN_THRESHOLD = 2.0**-16


def round_half_up(x: Any) -> Any:
    """``floor(x + 0.5)``: the rounding used by every quantizer of this package."""
    return grid_math.round_half_up(ops, x)


def as_tensor(x: Any) -> Any:
    """``x`` as a tensor; a variable is read (``convert_to_tensor`` hands a Keras variable back)."""
    x = ops.convert_to_tensor(x)
    return ops.cast(x, x.dtype)


def static_shape(x: Any) -> tuple[int | None, ...]:
    return tuple(x.shape)


def constant(values: Any, like: Any) -> Any:
    """``values`` as a tensor of ``like``'s dtype."""
    return ops.convert_to_tensor(values, dtype=keras.backend.standardize_dtype(like.dtype))


def ste_round(x: Any) -> Any:
    """Round forward (half up), identity gradient."""
    x = as_tensor(x)
    return ops.stop_gradient(round_half_up(x)) + (x - ops.stop_gradient(x))


def straight_through(x: Any, forward: Any) -> Any:
    """``forward``'s value with the identity gradient to ``x`` (e.g. a rounded threshold)."""
    x = as_tensor(x)
    return x + ops.stop_gradient(ops.cast(forward, x.dtype) - x)


def power_of_two_threshold(threshold: Any, min_threshold: float = MIN_THRESHOLD) -> Any:
    """``2 ** ceil(log2(max(threshold, min_threshold)))``, exact for powers of two."""
    threshold = ops.maximum(ops.convert_to_tensor(threshold, "float32"), min_threshold)
    power = ops.power(2.0, ops.ceil(ops.log2(threshold)))
    # log2 can be off by an ulp either way: step to the smallest power >= threshold
    power = ops.where(power * 0.5 >= threshold, power * 0.5, power)
    return ops.where(power < threshold, power * 2.0, power)


def by_training(training: Any, train: Any, infer: Any) -> Any:
    """``train()`` if ``training`` else ``infer()``: for a trainable quantizer's ``__call__``.

    ``training`` is a Python bool (what Keras 3 passes) or a boolean scalar tensor, which
    becomes a ``keras.ops.cond``.
    """
    if isinstance(training, (bool, int)) or training is None:
        return train() if training else infer()
    return ops.cond(ops.cast(training, "bool"), train, infer)


def channel_broadcast(values: Any, rank: int, channel_axis: int) -> Any:
    """Reshape a per-channel vector to broadcast against a rank-``rank`` tensor on that axis."""
    if not -rank <= channel_axis < rank:
        raise ValueError(f"channel_axis {channel_axis} is out of range for a tensor of rank {rank}")
    shape = [1] * rank
    shape[channel_axis % rank] = -1
    return ops.reshape(values, shape)


def adjust_range_to_include_zero(range_min: Any, range_max: Any, n_bits: int) -> tuple[Any, Any]:
    """Move [a, b] so 0 is exactly on the 2^n-level grid (a > 0 -> [0, b], b < 0 -> [a, 0])."""
    return grid_math.zero_adjusted_range(
        ops,
        ops.convert_to_tensor(range_min, "float32"),
        ops.convert_to_tensor(range_max, "float32"),
        n_bits,
    )


def symmetric_quantize(x: Any, threshold: Any, n_bits: int, signed: bool = True) -> Any:
    """``delta * clip(round(x / delta), qmin, qmax)`` with ``delta = t / 2^(n - signed)``.

    ``threshold`` is a scalar or already broadcastable against ``x`` (``channel_broadcast``).
    """
    x = as_tensor(x)
    threshold = ops.cast(threshold, x.dtype)
    low, high = grid_math.symmetric_bounds(threshold, n_bits, signed)
    return fake_quant(x, low, high, n_bits, grid_math.symmetric_step(threshold, n_bits, signed))


def uniform_quantize(x: Any, range_min: Any, range_max: Any, n_bits: int) -> Any:
    """``s * clip(round((x - a') / s), 0, 2^n - 1) + a'`` on the zero-adjusted range [a', b']."""
    x = as_tensor(x)
    low, high = adjust_range_to_include_zero(range_min, range_max, n_bits)
    return fake_quant(x, ops.cast(low, x.dtype), ops.cast(high, x.dtype), n_bits)


def fake_quant(x: Any, low: Any, high: Any, n_bits: int, scale: Any = None) -> Any:
    """Quantize ``x`` to the 2^n levels spanning [low, high] (zero on the grid), STE gradient.

    ``scale`` is the step when it is known exactly (the symmetric grids' ``delta``); by default
    ``(high - low) / (2^n - 1)``. While an exporter traces the model (``lowering.lowered``), its
    own op computes the grid.
    """
    x = as_tensor(x)
    low = ops.cast(low, x.dtype)
    high = ops.cast(high, x.dtype)
    lowering = active_lowering()
    if lowering is not None:
        lowered = lowering.fake_quant(x, low, high, n_bits, quantizing_activations_now())
        if lowered is not None:
            return lowered
    if scale is None:
        scale = grid_math.divide(high - low, float(2**n_bits - 1))

    @ops.custom_gradient
    def quantize(x: Any, low: Any, high: Any, scale: Any) -> Any:
        clipped = ops.clip(x, low, high)

        def gradient(*args: Any, upstream: Any = None) -> tuple[Any, Any, Any, Any]:
            if upstream is None:  # the TensorFlow back end passes it positionally
                (upstream,) = args
            inside = ops.equal(clipped, x)  # x within [low, high]: the clip left it alone
            # the bounds' gradients are computed only when a quantizer learns them (pruned
            # from the graph of a step that does not use them)
            below = ops.where(ops.less(x, low), upstream, 0.0)
            above = ops.where(ops.greater(x, high), upstream, 0.0)
            return (
                ops.where(inside, upstream, 0.0),
                sum_to_shape(below, tuple(low.shape)),
                sum_to_shape(above, tuple(high.shape)),
                ops.zeros_like(scale),  # the step follows the bounds: their gradients carry it
            )

        return grid_math.quantize_clipped(ops, clipped, low, high, n_bits, scale), gradient

    return quantize(x, low, high, ops.cast(scale, x.dtype))


def sum_to_shape(values: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``values`` over the axes that ``shape`` broadcast along (the reverse of broadcasting)."""
    shape = tuple(shape)
    rank = len(values.shape)
    if not shape:
        return ops.sum(values)
    leading = rank - len(shape)
    axes = list(range(leading)) + [
        leading + i for i, size in enumerate(shape) if size == 1 and values.shape[leading + i] != 1
    ]
    if axes:
        values = ops.sum(values, axis=axes, keepdims=True)
    return ops.reshape(values, shape)
