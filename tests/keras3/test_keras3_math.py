"""The Keras 3 quantization math (keras.ops) against the numpy reference, with its gradients."""

from __future__ import annotations

import numpy as np
import pytest
from keras import ops
from keras3_helpers import gradients, numpy
from runtime_reference import off_tie_codes, reference_range, reference_symmetric, reference_uniform

from quantizer_scaffold.quantizers_infrastructure.keras3 import quantizer_utils as qu

SHAPE = (3, 4, 5, 6)


@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
@pytest.mark.parametrize("n_bits", [1, 2, 4, 8, 16])
def test_symmetric_per_tensor_is_the_reference_grid(rng, signed, n_bits):
    threshold = float(rng.uniform(0.1, 4.0))
    delta = threshold / 2 ** (n_bits - int(signed))
    qmin = -(2 ** (n_bits - 1)) if signed else 0
    qmax = 2 ** (n_bits - int(signed)) - 1
    x = (off_tie_codes(rng, (64, 7), qmin, qmax) * delta).astype(np.float32)
    out = numpy(qu.symmetric_quantize(x, threshold, n_bits, signed))
    _, _, codes, _ = reference_symmetric(x, threshold, n_bits, signed)
    np.testing.assert_allclose(out / delta, codes, atol=1e-3 if n_bits < 16 else 2e-2)


@pytest.mark.parametrize("axis", [0, 1, 2, 3, -1, -4])
def test_uniform_per_channel_on_every_axis_is_the_reference_grid(rng, axis):
    n_bits = 5
    channels = SHAPE[axis]
    lows = rng.uniform(-2.0, 0.5, channels)
    highs = lows + rng.uniform(0.3, 3.0, channels)
    broadcast = [1] * 4
    broadcast[axis % 4] = -1
    low_adj, _, scale = (v.reshape(broadcast) for v in reference_range(lows, highs, n_bits))
    x = (low_adj + scale * off_tie_codes(rng, SHAPE, 0, 2**n_bits - 1)).astype(np.float32)
    out = numpy(
        qu.uniform_quantize(
            x,
            qu.channel_broadcast(ops.convert_to_tensor(lows, "float32"), 4, axis),
            qu.channel_broadcast(ops.convert_to_tensor(highs, "float32"), 4, axis),
            n_bits,
        )
    )
    _, _, codes, _ = reference_uniform(x, lows.reshape(broadcast), highs.reshape(broadcast), n_bits)
    np.testing.assert_allclose((out - low_adj) / scale, codes, atol=1e-3)


def test_ties_round_half_up_and_zero_is_exact():
    # signed 3 bits, t = 4: delta 1, grid -4..3; x = k + 0.5 rounds up
    x = np.array([-3.5, -0.5, 0.0, 0.5, 2.5, 9.0, -9.0], np.float32)
    np.testing.assert_array_equal(
        numpy(qu.symmetric_quantize(x, 4.0, 3, True)), [-3.0, 0.0, 0.0, 1.0, 3.0, 3.0, -4.0]
    )
    np.testing.assert_array_equal(
        numpy(qu.uniform_quantize(np.zeros(3, np.float32), -0.3, 1.1, 4)), 0
    )


def test_fake_quant_gradients_are_straight_through_and_the_bounds_get_the_clipped_ones(rng):
    x = rng.uniform(-3, 3, (16, 5)).astype(np.float32)
    upstream = rng.normal(size=(16, 5)).astype(np.float32)
    low = np.float32(-1.0)
    high = (rng.uniform(0.5, 2.0, 5)).astype(np.float32)

    def loss(x, low, high):
        return ops.sum(qu.fake_quant(x, low, high, 4) * upstream)

    grad_x, grad_low, grad_high = gradients(loss, [x, low, high])
    inside = (x >= low) & (x <= high)
    np.testing.assert_allclose(grad_x, np.where(inside, upstream, 0.0), atol=1e-6)
    np.testing.assert_allclose(grad_low, np.sum(np.where(x < low, upstream, 0.0)), rtol=1e-5)
    np.testing.assert_allclose(
        grad_high, np.sum(np.where(x > high, upstream, 0.0), axis=0), rtol=1e-5, atol=1e-6
    )


def test_ste_round_rounds_forward_with_identity_gradient():
    x = np.array([0.4, 0.5, 1.7], np.float32)
    np.testing.assert_array_equal(numpy(qu.ste_round(x)), [0.0, 1.0, 2.0])
    (grad,) = gradients(lambda v: ops.sum(qu.ste_round(v) * 3.0), [x])
    np.testing.assert_array_equal(grad, [3.0, 3.0, 3.0])


@pytest.mark.parametrize(
    ("shape", "target"), [((4, 3), ()), ((4, 3), (3,)), ((2, 4, 3), (1, 1, 3)), ((4, 3), (4, 1))]
)
def test_sum_to_shape_reverses_broadcasting(shape, target):
    values = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    summed = numpy(qu.sum_to_shape(ops.convert_to_tensor(values), target))
    axes = tuple(
        i
        for i in range(len(shape))
        if i < len(shape) - len(target) or target[i - len(shape) + len(target)] == 1
    )
    np.testing.assert_allclose(summed, np.sum(values, axis=axes).reshape(target))


def test_channel_broadcast_refuses_an_axis_out_of_range():
    with pytest.raises(ValueError, match="channel_axis 4 is out of range for a tensor of rank 4"):
        qu.channel_broadcast(ops.ones((3,)), 4, 4)
