"""The grids TensorFlow Lite's converter reads, and which of them an int8 tensor can hold.

The converter gives a tensor the scale and zero point of the fake-quant op
(``FakeQuantWithMinMaxVars`` or its per-channel form) that computes it, looking through ops
that only move values; any other quantizer arithmetic is plain float ops, whose levels no int8
scale reproduces. TensorFlow only, no Keras: Keras 2 computes its grids with
``fused_fake_quant`` wherever it can (so does Keras 3 while ``export_tflite`` traces a model);
the export back ends of both Kerases trace their quantizers and judge the op found here, and
Keras 2's bias grid reads its steps (``grid_step``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from .common import grid_math

FAKE_QUANT_OPS = {"FakeQuantWithMinMaxVars", "FakeQuantWithMinMaxVarsPerChannel"}
# ops that only move values: a grid read through them is the grid of the op before
_MOVES = {"Identity", "IdentityN", "Reshape"}
# the bit widths tf.quantization.fake_quant_with_min_max_vars accepts
_FUSED_BITS = range(2, 17)
_F32_MAX = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class FakeQuantGrid:
    """The grid a quantizer hands the converter: its fake-quant op's attributes and range."""

    num_bits: int  # of the int8 tensor's grid (the outer fake-quant op)
    narrow_range: bool
    low: np.ndarray  # one value per channel (per tensor: one)
    high: np.ndarray
    per_channel: bool

    def int8_zero_points(self) -> np.ndarray:
        """The zero points the converter gives the int8 tensor (signed storage)."""
        qmin = -(2 ** (self.num_bits - 1)) + int(self.narrow_range)
        qmax = 2 ** (self.num_bits - 1) - 1
        scale = (self.high.astype(np.float64) - self.low) / (qmax - qmin)
        return np.clip(np.round(qmin - self.low / scale), qmin, qmax).astype(int)


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
    return grid_math.divide(op.inputs[2] - op.inputs[1], float(levels))


def fake_quant_grid(quantize: Callable[[tf.Tensor], Any], shape: Any) -> FakeQuantGrid | None:
    """The fake-quant op that computes ``quantize(x)`` for ``x`` of ``shape``, traced in a graph.

    None when the output comes from other ops (a grid of the quantizer's own).
    """
    shape = list(tf.TensorShape(shape).as_list())
    wrapped = tf.compat.v1.wrap_function(quantize, [tf.TensorSpec(shape, tf.float32)])
    op = source_op(wrapped.outputs[0])
    if op.type not in FAKE_QUANT_OPS:
        return None
    low_high = wrapped.prune(feeds=wrapped.inputs, fetches=[op.inputs[1], op.inputs[2]])
    low, high = (v.numpy().reshape(-1) for v in low_high(tf.zeros([d or 1 for d in shape])))
    return FakeQuantGrid(
        op.get_attr("num_bits"),
        op.get_attr("narrow_range"),
        low,
        high,
        op.type == "FakeQuantWithMinMaxVarsPerChannel",
    )


def custom_grid(quantizer: Any) -> str:
    return (
        f"{type(quantizer).__name__} does not quantize through a fake-quant op, so no int8 "
        "scale and zero point reproduce its levels"
    )


def weights_problem(quantizer: Any, grid: FakeQuantGrid | None) -> str | None:
    """Why the weights ``quantizer`` computes through ``grid`` cannot be int8 (None: they can)."""
    if grid is None:
        return custom_grid(quantizer)
    if grid.num_bits > 8:
        return f"{grid.num_bits}-bit weights; int8 holds at most 8 bits"
    zero_points = grid.int8_zero_points()
    if np.any(zero_points != 0):
        shown = sorted(set(zero_points.tolist()))[:4]
        return (
            f"zero point(s) {shown} (an asymmetric grid); TFLite's int8 kernels take weights with "
            "zero point 0: quantize weights symmetrically (symmetric or power-of-two)"
        )
    return None


def activation_problem(quantizer: Any, grid: FakeQuantGrid | None) -> str | None:
    """Why the activations ``quantizer`` computes through ``grid`` cannot be int8."""
    if grid is None:
        return custom_grid(quantizer)
    if grid.per_channel:
        return "quantized per channel; TFLite quantizes activations per tensor"
    if grid.num_bits > 8:
        return f"{grid.num_bits}-bit activations; int8 holds at most 8 bits"
    if grid.num_bits < 8:
        return (
            f"a {grid.num_bits}-bit fake-quant op computes it, and TFLite's converter gives such "
            f"a tensor a {grid.num_bits}-bit type its int8 kernels do not take: quantize with "
            "quantizer_utils (symmetric_quantize, uniform_quantize), which writes grids below "
            "8 bits as 8-bit ops of their step"
        )
    return None


def fused_fake_quant(
    x: tf.Tensor,
    low: tf.Tensor,
    high: tf.Tensor,
    n_bits: int,
    activation: bool = False,
    gradient: bool = True,
) -> tf.Tensor | None:
    """``x`` on the 2^n levels spanning ``[low, high]`` through the fused fake-quant ops, the
    form TFLite's converter reads, with their straight-through gradients; None when they cannot
    compute it (not float32, a bit width they do not take, bounds that are not one value or one
    per channel of a static axis).

    Per channel on an axis other than the last, that axis is merged with the ones after it
    (``[h, w, C, M] -> [h, w, C*M]``, each bound repeated) and the result reshaped back: the
    form in which the converter reads a depthwise kernel's per-channel grid. Below 8 bits the
    values are written as an 8-bit grid of the same step (the n-bit levels are 8-bit levels
    too), so that the converter stores them as int8 tensors, whose kernels are fast, with the
    grid's step as scale: a weight as the n-bit op followed by the 8-bit one (without it:
    packed int4 tensors, 2.6x slower than float on x86 in benchmarks/tflite_export.py); an
    ``activation`` as ``_int8_activation`` (its gradient defined unless ``gradient=False``: a
    graph for export only, which a custom gradient would keep from being saved).
    """
    if x.dtype != tf.float32 or n_bits not in _FUSED_BITS:
        return None
    if low.shape.num_elements() == 1:
        return _fused(x, tf.reshape(low, []), tf.reshape(high, []), n_bits, activation, gradient)
    axis = _channel_axis_of(low.shape, x.shape)
    if axis is None:
        return None
    low, high = tf.reshape(low, [-1]), tf.reshape(high, [-1])
    trailing = x.shape[axis + 1 :].num_elements()
    if axis == x.shape.rank - 1:
        return _fused(x, low, high, n_bits, activation, gradient)
    channels = x.shape[axis] * trailing
    merged = tf.reshape(x, tf.concat([tf.shape(x)[:axis], [channels]], axis=0))
    low, high = tf.repeat(low, trailing), tf.repeat(high, trailing)
    return tf.reshape(_fused(merged, low, high, n_bits, activation, gradient), tf.shape(x))


def _fake_quant_op(low: tf.Tensor) -> Any:
    """The fused op for one range (a scalar ``low``) or one per channel of the last axis."""
    if low.shape.rank == 0:
        return tf.quantization.fake_quant_with_min_max_vars
    return tf.quantization.fake_quant_with_min_max_vars_per_channel


def _fused(
    x: tf.Tensor, low: tf.Tensor, high: tf.Tensor, n_bits: int, activation: bool, gradient: bool
) -> tf.Tensor:
    """The fused op (per channel of the last axis when ``low`` is a vector)."""
    if n_bits >= 8:
        return _fake_quant_op(low)(x, low, high, num_bits=n_bits)
    if activation:
        return _int8_activation(x, low, high, n_bits, gradient)
    return _on_8_bit_grid(_fake_quant_op(low)(x, low, high, num_bits=n_bits), low, high, n_bits)


def _on_8_bit_grid(x: tf.Tensor, low: tf.Tensor, high: tf.Tensor, n_bits: int) -> tf.Tensor:
    """The 8-bit fake-quant op with the step of the n-bit grid on [low, high], zero at code 0."""
    # a step beyond float32 / 256 (ranges over 1e36) would overflow the 8-bit op's range:
    # there its step is capped (its values then saturate at float32 / 2) rather than NaN
    step = tf.minimum(grid_math.divide(high - low, float(2**n_bits - 1)), _F32_MAX / 256.0)
    return _fake_quant_op(low)(x, -128.0 * step, 127.0 * step, num_bits=8)


def _int8_activation(
    x: tf.Tensor, low: tf.Tensor, high: tf.Tensor, n_bits: int, gradient: bool
) -> tf.Tensor:
    """An n-bit activation grid as TFLite keeps it in int8: the 8-bit op of its step, the clip
    to its levels (int8 MINIMUM / MAXIMUM after conversion), the 8-bit op again.

    The values of the n-bit fake-quant op, and its gradients (the clip of already rounded
    values would pass the gradient half a step further out).
    """

    def forward(x: tf.Tensor, low: tf.Tensor, high: tf.Tensor) -> tf.Tensor:
        clipped = tf.clip_by_value(_on_8_bit_grid(x, low, high, n_bits), low, high)
        return _on_8_bit_grid(clipped, low, high, n_bits)

    if not gradient:
        return forward(x, low, high)
    gradient_op = (
        tf.quantization.fake_quant_with_min_max_vars_gradient
        if low.shape.rank == 0
        else tf.quantization.fake_quant_with_min_max_vars_per_channel_gradient
    )

    @tf.custom_gradient
    def quantize(x: tf.Tensor, low: tf.Tensor, high: tf.Tensor) -> Any:
        def straight_through(upstream: tf.Tensor) -> list[tf.Tensor]:
            return list(gradient_op(upstream, x, low, high, num_bits=n_bits))

        return forward(x, low, high), straight_through

    return quantize(x, low, high)


def _channel_axis_of(shape: tf.TensorShape, x_shape: tf.TensorShape) -> int | None:
    """The axis of ``x`` along which ``shape`` ([1, .., C, .., 1], broadcast from the right)
    holds one value per channel, if it does and every axis from there on is static."""
    dims = shape.as_list() if shape.rank is not None else None
    if not dims or x_shape.rank is None or len(dims) > x_shape.rank:
        return None
    channel_dims = [i for i, d in enumerate(dims) if d != 1]
    if len(channel_dims) != 1:
        return None
    axis = x_shape.rank - len(dims) + channel_dims[0]
    if x_shape[axis] != dims[channel_dims[0]] or not x_shape[axis:].is_fully_defined():
        return None
    return axis
