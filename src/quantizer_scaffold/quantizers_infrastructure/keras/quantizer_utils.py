"""The quantization math of docs/DESIGN.md, written once for every Keras quantizer.

Inferable, built-in STE and scaffolded quantizers all call these functions, so a trainable
quantizer and its inferable counterpart cannot drift apart.

Conventions:

- ``round`` is round-half-up, ``floor(v + 0.5)``: the rounding of
  ``tf.quantization.fake_quant_with_min_max_vars``, which computes the fake-quantization here
  whenever it can (float32, 2..16 bits, one range or one range per last-axis channel). Every
  other case runs the same formula in plain TensorFlow ops.
- Gradients are straight-through: 1 for ``x`` inside the range and 0 outside; the range
  bounds receive the gradient of the values clipped to them (as the fused op does).
"""

from __future__ import annotations

from typing import Any

from .compat import tf

MIN_THRESHOLD = 2.0**-16

# the bit widths tf.quantization.fake_quant_with_min_max_vars accepts
_FUSED_BITS = range(2, 17)


def round_half_up(x: Any) -> tf.Tensor:
    """``floor(x + 0.5)``: the rounding used by every quantizer of this package."""
    return tf.floor(x + 0.5)


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
    range_min = tf.minimum(tf.convert_to_tensor(range_min, tf.float32), 0.0)
    range_max = tf.maximum(tf.convert_to_tensor(range_max, tf.float32), 0.0)
    scale = (range_max - range_min) / (2.0**n_bits - 1)
    adjusted_min = scale * round_half_up(range_min / scale)
    return adjusted_min, range_max - range_min + adjusted_min


def symmetric_quantize(x: Any, threshold: Any, n_bits: int, signed: bool = True) -> tf.Tensor:
    """``delta * clip(round(x / delta), qmin, qmax)`` with ``delta = t / 2^(n - signed)``.

    ``threshold`` is a scalar or already broadcastable against ``x`` (``channel_broadcast``).
    """
    x = tf.convert_to_tensor(x)
    threshold = tf.cast(threshold, x.dtype)
    delta = threshold / float(2 ** (n_bits - int(signed)))
    low = -threshold if signed else tf.zeros_like(threshold)
    return _fake_quant(x, low, threshold - delta, n_bits)


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
    if x.dtype == tf.float32 and n_bits in _FUSED_BITS:
        if low.shape.num_elements() == 1:
            return tf.quantization.fake_quant_with_min_max_vars(
                x, tf.reshape(low, []), tf.reshape(high, []), num_bits=n_bits
            )
        if _is_last_axis_vector(low.shape, x.shape):
            return tf.quantization.fake_quant_with_min_max_vars_per_channel(
                x, tf.reshape(low, [-1]), tf.reshape(high, [-1]), num_bits=n_bits
            )
    scale = (high - low) / float(2**n_bits - 1)
    clipped = ste_clip(x, low, high)
    quantized = round_half_up((clipped - low) / scale) * scale + low
    # exact forward value, gradient of the clip (the bracket is exactly zero)
    return tf.stop_gradient(quantized) + (clipped - tf.stop_gradient(clipped))


def _is_last_axis_vector(shape: tf.TensorShape, x_shape: tf.TensorShape) -> bool:
    """Whether ``shape`` is [1, ..., 1, C] with C the (static) last dimension of ``x``."""
    dims = shape.as_list() if shape.rank is not None else None
    if not dims or x_shape.rank is None or len(dims) > x_shape.rank:
        return False
    channels = x_shape[-1]
    return channels is not None and dims[-1] == channels and all(d == 1 for d in dims[:-1])
