"""The quantization math of docs/DESIGN.md for every Keras 2 quantizer (``common/grid_math.py``).

Inferable, built-in STE and scaffolded quantizers all call these functions, so a trainable
quantizer and its inferable counterpart cannot drift apart.

Conventions:

- ``round`` is round-half-up, ``floor(v + 0.5)``: the rounding of
  ``tf.quantization.fake_quant_with_min_max_vars``, which computes the fake-quantization here
  whenever it can (float32, 2..16 bits, one range or one range per channel of any axis).
  Every other case runs the same formula in plain TensorFlow ops.
- Per channel on an axis other than the last, the channel axis is merged with the axes after
  it (``[h, w, C, M] -> [h, w, C*M]``, each range repeated ``M`` times) for the fused
  per-channel op and the result reshaped back: the same values, and the form in which
  TensorFlow Lite's converter reads a depthwise kernel's per-channel grid.
- Gradients are straight-through: 1 for ``x`` inside the range and 0 outside; the range
  bounds receive the gradient of the values clipped to them (as the fused op does).
- Below 8 bits a grid is written as 8-bit fake-quant ops of its step, the form in which
  TensorFlow Lite's converter stores its values in int8 tensors
  (``tflite_grids.fused_fake_quant``): for weights, the n-bit op followed by the 8-bit one;
  for activations (inside ``quantizing_activations()``, which ``KerasQuantizationWrapper``
  enters for its output quantizers), the 8-bit op, the clip to the n-bit levels, and the 8-bit
  op again. Both give the same values and gradients.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from .compat import tf  # first: the clear error when the Keras runtime is missing

# isort: split
from ..common import grid_math
from ..common.activation_scope import quantizing_activations as quantizing_activations
from ..common.activation_scope import quantizing_activations_now
from ..common.grid_math import divide as divide  # x / d for a grid parameter d: see grid_math
from ..tflite_grids import fused_fake_quant

# the elementwise functions grid_math needs, in TensorFlow
_TF_OPS = SimpleNamespace(floor=tf.floor, minimum=tf.minimum, maximum=tf.maximum)

MIN_THRESHOLD = 2.0**-16


def round_half_up(x: Any) -> tf.Tensor:
    """``floor(x + 0.5)``: the rounding used by every quantizer of this package."""
    return grid_math.round_half_up(_TF_OPS, x)


def as_tensor(x: Any) -> tf.Tensor:
    return tf.convert_to_tensor(x)


def static_shape(x: tf.Tensor) -> tuple[int | None, ...]:
    return tuple(x.shape.as_list())


def constant(values: Any, like: tf.Tensor) -> tf.Tensor:
    """``values`` as a constant of ``like``'s dtype."""
    return tf.constant(values, like.dtype)


def ste_round(x: Any) -> tf.Tensor:
    """Round forward (half up), identity gradient."""
    x = tf.convert_to_tensor(x)
    return tf.stop_gradient(round_half_up(x)) + (x - tf.stop_gradient(x))


def straight_through(x: Any, forward: Any) -> tf.Tensor:
    """``forward``'s value with the identity gradient to ``x`` (e.g. a rounded threshold)."""
    x = tf.convert_to_tensor(x)
    return x + tf.stop_gradient(tf.cast(forward, x.dtype) - x)


def ste_clip(x: Any, low: Any, high: Any) -> tf.Tensor:
    """Clip forward; gradient 1 inside [low, high] and 0 outside."""
    return tf.clip_by_value(x, low, high)


def by_training(training: Any, train: Any, infer: Any) -> tf.Tensor:
    """``train()`` if ``training`` else ``infer()``: for a trainable quantizer's ``__call__``.

    ``training`` is a Python bool or a boolean scalar tensor; a tensor whose value is known
    while tracing picks the branch in Python, so only a truly dynamic flag becomes a ``tf.cond``.
    """
    if tf.is_tensor(training):
        flag = tf.get_static_value(training)
        if flag is None:
            return tf.cond(tf.cast(training, tf.bool), train, infer)
        training = bool(flag)
    return train() if training else infer()


def channel_broadcast(values: Any, rank: int, channel_axis: int) -> tf.Tensor:
    """Reshape a per-channel vector to broadcast against a rank-``rank`` tensor on that axis."""
    if not -rank <= channel_axis < rank:
        raise ValueError(f"channel_axis {channel_axis} is out of range for a tensor of rank {rank}")
    shape = [1] * rank
    shape[channel_axis % rank] = -1
    return tf.reshape(values, shape)


def power_of_two_threshold(threshold: Any, min_threshold: float = MIN_THRESHOLD) -> tf.Tensor:
    """``2 ** ceil(log2(max(threshold, min_threshold)))``, exact for powers of two."""
    threshold = tf.maximum(tf.convert_to_tensor(threshold, tf.float32), min_threshold)
    power = tf.pow(2.0, tf.math.ceil(tf.math.log(threshold) / tf.math.log(2.0)))
    # log/log can be off by an ulp either way: step to the smallest power >= threshold
    power = tf.where(power * 0.5 >= threshold, power * 0.5, power)
    return tf.where(power < threshold, power * 2.0, power)


def adjust_range_to_include_zero(
    range_min: Any, range_max: Any, n_bits: int
) -> tuple[tf.Tensor, tf.Tensor]:
    """Move [a, b] so 0 is exactly on the 2^n-level grid (a > 0 -> [0, b], b < 0 -> [a, 0])."""
    return grid_math.zero_adjusted_range(
        _TF_OPS,
        tf.convert_to_tensor(range_min, tf.float32),
        tf.convert_to_tensor(range_max, tf.float32),
        n_bits,
    )


def symmetric_quantize(x: Any, threshold: Any, n_bits: int, signed: bool = True) -> tf.Tensor:
    """``delta * clip(round(x / delta), qmin, qmax)`` with ``delta = t / 2^(n - signed)``.

    ``threshold`` is a scalar or already broadcastable against ``x`` (``channel_broadcast``).
    """
    x = tf.convert_to_tensor(x)
    low, high = grid_math.symmetric_bounds(tf.cast(threshold, x.dtype), n_bits, signed)
    return _fake_quant(x, low, high, n_bits)


def uniform_quantize(x: Any, range_min: Any, range_max: Any, n_bits: int) -> tf.Tensor:
    """``s * clip(round((x - a') / s), 0, 2^n - 1) + a'`` on the zero-adjusted range [a', b']."""
    x = tf.convert_to_tensor(x)
    low, high = adjust_range_to_include_zero(range_min, range_max, n_bits)
    return _fake_quant(x, tf.cast(low, x.dtype), tf.cast(high, x.dtype), n_bits)


def _fake_quant(x: tf.Tensor, low: tf.Tensor, high: tf.Tensor, n_bits: int) -> tf.Tensor:
    """Quantize ``x`` to the 2^n levels spanning [low, high] (zero on the grid), STE gradient.

    The dispatch below looks at static shapes only, so inside a ``tf.function`` it costs
    nothing after tracing.
    """
    fused = fused_fake_quant(x, low, high, n_bits, activation=quantizing_activations_now())
    if fused is not None:
        return fused
    clipped = ste_clip(x, low, high)
    quantized = grid_math.quantize_clipped(_TF_OPS, clipped, low, high, n_bits)
    # exact forward value, gradient of the clip (the bracket is exactly zero)
    return tf.stop_gradient(quantized) + (clipped - tf.stop_gradient(clipped))
