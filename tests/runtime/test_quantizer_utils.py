"""quantizer_utils: the one implementation of the math, fused op and plain ops alike."""

from __future__ import annotations

import numpy as np
import pytest
from runtime_reference import off_tie_codes, reference_range, reference_symmetric, reference_uniform

from quantizer_scaffold.quantizers_infrastructure.keras import quantizer_utils as qu
from quantizer_scaffold.quantizers_infrastructure.keras.compat import tf


def test_ste_round_rounds_half_up_with_identity_gradient():
    x = tf.constant([-2.5, -1.5, -0.5, -0.4, 0.5, 1.49, 2.5])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = qu.ste_round(x)
    np.testing.assert_array_equal(y.numpy(), [-2.0, -1.0, 0.0, 0.0, 1.0, 1.0, 3.0])
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), np.ones(7))


def test_ste_clip_gradient_is_one_inside_zero_outside():
    x = tf.constant([-3.0, -1.0, 0.0, 1.0, 3.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = qu.ste_clip(x, -1.0, 1.0)
    np.testing.assert_array_equal(y.numpy(), [-1.0, -1.0, 0.0, 1.0, 1.0])
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [0.0, 1.0, 1.0, 1.0, 0.0])


@pytest.mark.parametrize("axis", [0, 1, 2, 3, -1, -2, -3, -4])
def test_channel_broadcast_every_axis(axis):
    shape = (2, 3, 4, 5)
    channels = shape[axis]
    values = np.arange(1, channels + 1, dtype=np.float32)
    out = qu.channel_broadcast(values, 4, axis) * tf.ones(shape)
    expected = np.moveaxis(
        np.broadcast_to(values, shape[: axis % 4] + shape[axis % 4 + 1 :] + (channels,)),
        -1,
        axis % 4,
    )
    np.testing.assert_array_equal(out.numpy(), expected)


def test_channel_broadcast_rejects_an_axis_outside_the_rank():
    with pytest.raises(ValueError, match="channel_axis 4 is out of range for a tensor of rank 4"):
        qu.channel_broadcast([1.0], 4, 4)


def test_power_of_two_threshold_is_exact_and_rounds_up():
    exponents = np.arange(-16, 17)
    powers = 2.0**exponents
    np.testing.assert_array_equal(qu.power_of_two_threshold(powers).numpy(), powers)
    just_above = powers * (1 + 2**-20)
    np.testing.assert_array_equal(qu.power_of_two_threshold(just_above).numpy(), powers * 2)
    np.testing.assert_array_equal(
        qu.power_of_two_threshold([0.3, 3.0, 1e-9]).numpy(), [0.5, 4.0, 2**-16]
    )
    assert qu.power_of_two_threshold(1e-9, min_threshold=2**-10).numpy() == 2**-10


@pytest.mark.parametrize(
    "a, b, expected",
    [((-1.0, 2.0), None, None), ((0.5, 3.0), None, (0.0, 3.0)), ((-2.0, -1.0), None, (-2.0, 0.0))],
)
def test_adjust_range_to_include_zero(a, b, expected):
    low, high = qu.adjust_range_to_include_zero(a[0], a[1], 8)
    ref_low, ref_high, scale = reference_range(a[0], a[1], 8)
    np.testing.assert_allclose([low.numpy(), high.numpy()], [ref_low, ref_high], rtol=1e-6)
    if expected is not None:
        np.testing.assert_allclose([low.numpy(), high.numpy()], expected, rtol=1e-6)
    # zero is exactly a grid point
    assert abs(ref_low / scale - round(ref_low / scale)) < 1e-9


@pytest.mark.parametrize("n_bits", [1, 2, 3, 8, 16])
@pytest.mark.parametrize("signed", [True, False])
def test_ties_round_half_up_in_the_fused_and_the_plain_path(n_bits, signed):
    threshold = 2.0  # a power of two: every tie is exactly representable
    delta = threshold / 2 ** (n_bits - int(signed))
    qmin, qmax = (-(2 ** (n_bits - 1)), 2 ** (n_bits - 1) - 1) if signed else (0, 2**n_bits - 1)
    codes = np.unique(np.clip(np.arange(qmin - 2, qmax + 2), qmin - 2, None))[:600]
    x = ((codes + 0.5) * delta).astype(np.float32)
    expected = reference_symmetric(x, threshold, n_bits, signed)[0]
    fused = qu.symmetric_quantize(x, threshold, n_bits, signed)  # per-tensor: fused op if n >= 2
    with qu.quantizing_activations():  # below 8 bits: the 8-bit ops around the clip
        as_activation = qu.symmetric_quantize(x, threshold, n_bits, signed)
    # one threshold per element (not per channel): the plain ops
    plain = qu.symmetric_quantize(
        np.stack([x, x], 1), np.full((len(x), 2), threshold, np.float32), n_bits, signed
    )
    np.testing.assert_array_equal(fused.numpy(), expected)
    np.testing.assert_array_equal(as_activation.numpy(), expected)
    np.testing.assert_array_equal(plain.numpy()[:, 0], expected)


@pytest.mark.parametrize("n_bits", [2, 4, 8])
def test_symmetric_gradients_match_between_fused_and_plain_paths(n_bits):
    x = tf.constant([-3.0, -0.5, 0.2, 0.99, 2.0])
    threshold = tf.Variable(1.0)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        fused = qu.symmetric_quantize(x, threshold, n_bits)
        pairs = tf.stack([x, x], 1)
        plain = qu.symmetric_quantize(pairs, tf.fill([5, 2], 1.0) * threshold, n_bits)[:, 0]
    inside = ((x.numpy() >= -1.0) & (x.numpy() <= 1.0 - 2.0 ** (1 - n_bits))).astype(np.float32)
    np.testing.assert_array_equal(tape.gradient(fused, x).numpy(), inside)
    np.testing.assert_array_equal(tape.gradient(plain, x).numpy(), inside)
    np.testing.assert_allclose(
        tape.gradient(fused, threshold).numpy(), tape.gradient(plain, threshold).numpy(), rtol=1e-6
    )


@pytest.mark.parametrize("n_bits", [2, 5, 8])
def test_uniform_quantize_matches_reference(rng, n_bits):
    low, high, scale = reference_range(-0.83, 1.37, n_bits)
    positions = off_tie_codes(rng, (4000,), 0, 2**n_bits - 1)
    x = (low + scale * positions).astype(np.float32)
    expected, _, codes, _ = reference_uniform(x, -0.83, 1.37, n_bits)
    out = qu.uniform_quantize(x, -0.83, 1.37, n_bits).numpy()
    np.testing.assert_allclose(out, expected, atol=1e-6)
    pairs = np.stack([x, x], 1)
    plain = qu.uniform_quantize(pairs, [[-0.83] * 2] * len(x), [[1.37] * 2] * len(x), n_bits)
    np.testing.assert_allclose(plain.numpy()[:, 0], expected, atol=1e-6)


def _op_types(function, *args) -> set[str]:
    graph = tf.function(function).get_concrete_function(*args).graph
    return {op.type for op in graph.get_operations()}


@pytest.mark.parametrize("axis", [0, 1, 2, 3, -1, -2, -3, -4])
def test_per_channel_on_any_axis_runs_the_fused_op_with_the_plain_ops_values(rng, axis):
    """Channel axis merged with the axes after it (the layout TFLite reads depthwise kernels in)."""
    shape = (2, 3, 4, 5)
    x = rng.normal(size=shape).astype(np.float32)
    thresholds = rng.uniform(0.5, 2.0, size=shape[axis]).astype(np.float32)
    per_channel = qu.channel_broadcast(thresholds, 4, axis)
    fused = qu.symmetric_quantize(x, per_channel, 4)
    # the same thresholds spelled out per element take the plain ops
    plain = qu.symmetric_quantize(x, per_channel * tf.ones(shape), 4)
    np.testing.assert_allclose(fused.numpy(), plain.numpy(), atol=1e-6)
    np.testing.assert_allclose(
        fused.numpy(), reference_symmetric(x, per_channel.numpy(), 4)[0], atol=1e-6
    )
    spec = tf.TensorSpec(shape, tf.float32)
    ops = _op_types(lambda v: qu.symmetric_quantize(v, per_channel, 4), spec)
    assert "FakeQuantWithMinMaxVarsPerChannel" in ops
    plain_ops = _op_types(lambda v: qu.symmetric_quantize(v, per_channel * tf.ones(shape), 4), spec)
    assert not plain_ops & {"FakeQuantWithMinMaxVarsPerChannel", "FakeQuantWithMinMaxVars"}


def test_per_channel_gradients_reach_each_channel_threshold(rng):
    x = tf.constant(rng.normal(size=(3, 3, 4, 2)).astype(np.float32))
    thresholds = tf.Variable([0.5, 1.0, 1.5, 2.0])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        per_channel = qu.channel_broadcast(thresholds, 4, -2)
        fused = qu.symmetric_quantize(x, per_channel, 8)
        plain = qu.symmetric_quantize(x, per_channel * tf.ones(x.shape), 8)
    np.testing.assert_array_equal(tape.gradient(fused, x).numpy(), tape.gradient(plain, x).numpy())
    fused_gradient = tape.gradient(fused, thresholds).numpy()
    np.testing.assert_allclose(fused_gradient, tape.gradient(plain, thresholds).numpy(), rtol=1e-5)


@pytest.mark.parametrize("n_bits", [2, 4, 7])
def test_below_8_bits_an_8_bit_op_of_the_same_step_follows_and_changes_no_value(rng, n_bits):
    """The form in which TFLite's converter stores n-bit weights as int8 (not packed int4)."""
    x = rng.normal(size=(3, 5)).astype(np.float32)
    thresholds = rng.uniform(0.5, 2.0, size=5).astype(np.float32)
    fused = qu.symmetric_quantize(x, thresholds, n_bits)
    plain = qu.symmetric_quantize(x, thresholds * np.ones((3, 5), np.float32), n_bits)
    np.testing.assert_allclose(fused.numpy(), plain.numpy(), atol=1e-6)
    spec = tf.TensorSpec((3, 5), tf.float32)
    graph = tf.function(lambda v: qu.symmetric_quantize(v, thresholds, n_bits))
    ops = graph.get_concrete_function(spec).graph.get_operations()
    bits = [op.get_attr("num_bits") for op in ops if op.type.startswith("FakeQuant")]
    assert bits == [n_bits, 8]


@pytest.mark.parametrize("n_bits", [2, 4, 7])
@pytest.mark.parametrize("grid", ["signed", "unsigned", "uniform"])
def test_activations_below_8_bits_take_8_bit_ops_around_the_clip_same_values_and_gradients(
    rng, n_bits, grid
):
    """The form in which TFLite's converter keeps n-bit activations as int8 tensors."""
    x = tf.constant(3 * rng.normal(size=(200,)).astype(np.float32))
    low, high = tf.Variable(-1.3), tf.Variable(1.7)

    def quantize(v: tf.Tensor) -> tf.Tensor:
        if grid == "uniform":
            return qu.uniform_quantize(v, low, high, n_bits)
        return qu.symmetric_quantize(v, high, n_bits, signed=grid == "signed")

    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        as_weights = quantize(x)
        with qu.quantizing_activations():
            as_activation = quantize(x)
    np.testing.assert_array_equal(as_activation.numpy(), as_weights.numpy())
    for source in (x, low, high):
        expected, got = tape.gradient(as_weights, source), tape.gradient(as_activation, source)
        if expected is None:  # symmetric grids do not read range_min
            assert got is None
        else:
            np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)

    def activation_graph(v: tf.Tensor) -> tf.Tensor:
        with qu.quantizing_activations():
            return quantize(v)

    spec = tf.TensorSpec((200,), tf.float32)
    ops = tf.function(activation_graph).get_concrete_function(spec).graph.get_operations()
    assert [op.get_attr("num_bits") for op in ops if op.type.startswith("FakeQuant")] == [8, 8]
    types = {op.type for op in ops}
    assert {"Minimum", "Maximum"} <= types or "ClipByValue" in types  # the clip to the levels
