"""The Keras 3 STE and LSQ trainable quantizers: grids, gradients, init, and their Keras 2 twins."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops
from keras3_helpers import gradients, numpy

from quantizer_scaffold.qat.common.lsq import integer_bounds
from quantizer_scaffold.qat.common.qat_config import TrainingMethod
from quantizer_scaffold.qat.keras3.quantizer import quantization_dispatcher_builder as dispatcher
from quantizer_scaffold.quantizers_infrastructure import keras3 as qi3

M = qi3.QuantizationMethod
WEIGHTS, ACTIVATION = qi3.QuantizationTarget.Weights, qi3.QuantizationTarget.Activation
SHAPE = (3, 3, 2, 4)


def weights_config(method, n_bits=4, per_channel=True, axis=-1, seed=0):
    rng = np.random.default_rng(seed)
    channels = SHAPE[axis] if per_channel else 1
    if method is M.UNIFORM:
        low = -rng.uniform(0.2, 1.0, channels)
        params = {
            "range_min": low.tolist(),
            "range_max": (low + rng.uniform(0.5, 2.0, channels)).tolist(),
        }
    else:
        params = {"threshold": rng.uniform(0.3, 1.5, channels).tolist()}
    return qi3.NodeWeightsQuantizationConfig(
        method, n_bits, params, axis if per_channel else None, per_channel
    )


def activation_config(method, n_bits=4, signed=True):
    if method is M.UNIFORM:
        params = {"range_min": -0.7 if signed else 0.3, "range_max": 1.9}
    else:
        params = {"threshold": 1.3, "is_signed": signed}
    return qi3.NodeActivationQuantizationConfig(method, n_bits, params)


def built(quantizer, shape=SHAPE):
    """The quantizer with its variables on a fresh layer, as the wrapper's build makes them."""
    layer = keras.layers.Layer()
    variables = quantizer.initialize_quantization(shape, "t", layer)
    assert {id(v) for v in layer.weights} == {id(v) for v in variables.values()}
    return quantizer


TABLES = {WEIGHTS: dispatcher.METHOD2WEIGHTQUANTIZER, ACTIVATION: dispatcher.METHOD2ACTQUANTIZER}
STE_CASES = [
    (method, target, option)
    for target, table in TABLES.items()
    for method in table[TrainingMethod.STE]
    for option in (True, False)  # per channel (weights) or signed (activations)
]


def quantizer_class(training_method, method, target):  # type: ignore[no-untyped-def]
    return dispatcher.get_trainable_quantizer_class(training_method, method, target)


@pytest.mark.parametrize("method, target, option", STE_CASES)
def test_ste_quantizers_compute_what_their_keras2_twins_compute(method, target, option):
    from quantizer_scaffold.qat.keras.quantizer import quantization_dispatcher_builder as keras2
    from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras as keras2_keras
    from quantizer_scaffold.quantizers_infrastructure.keras.compat import tf

    if target is WEIGHTS:
        config, shape = weights_config(method, per_channel=option), SHAPE
    else:
        config, shape = activation_config(method, signed=option), (8, 5)
    keras3_quantizer = built(quantizer_class(TrainingMethod.STE, method, target)(config))
    keras2_class = keras2.get_trainable_quantizer_class(TrainingMethod.STE, method, target)
    keras2_quantizer = keras2_class(config)
    keras2_quantizer.initialize_quantization(shape, "t", keras2_keras.layers.Layer())
    x = np.random.default_rng(3).normal(0.2, 1.0, shape).astype(np.float32)
    expected = keras2_quantizer(tf.constant(x), False).numpy()
    np.testing.assert_allclose(numpy(keras3_quantizer(x, False)), expected, rtol=0, atol=1e-6)
    inferable = keras3_quantizer.convert2inferable()
    assert type(inferable).__name__ == type(keras2_quantizer.convert2inferable()).__name__
    assert inferable.get_config() == keras2_quantizer.convert2inferable().get_config()
    np.testing.assert_allclose(numpy(inferable(x)), expected, rtol=0, atol=1e-6)
    # straight-through: gradient 1 inside the grid's range, 0 outside (bounds per element)
    (grad,) = gradients(lambda v: ops.sum(keras3_quantizer(v, True) * 2.0), [x])
    low = numpy(inferable(np.full(shape, -1e6, np.float32)))
    high = numpy(inferable(np.full(shape, 1e6, np.float32)))
    inside = (x >= low) & (x <= high)
    assert 0 < inside.mean() < 1
    np.testing.assert_array_equal(grad, np.where(inside, 2.0, 0.0))


def test_power_of_two_thresholds_are_rounded_up_once_at_construction():
    config = qi3.NodeWeightsQuantizationConfig(
        "power_of_two", 4, {"threshold": [0.3, 0.5, 0.7, 1.1]}
    )
    quantizer = built(quantizer_class(TrainingMethod.STE, M.POWER_OF_TWO, WEIGHTS)(config))
    assert quantizer.convert2inferable().threshold == [0.5, 0.5, 1.0, 2.0]
    assert isinstance(quantizer.convert2inferable(), qi3.WeightsPOTInferableQuantizer)


def test_per_channel_values_must_fit_the_kernel():
    config = weights_config(M.SYMMETRIC)  # 4 channels
    quantizer = quantizer_class(TrainingMethod.STE, M.SYMMETRIC, WEIGHTS)(config)
    with pytest.raises(ValueError, match="threshold has 4 values but the tensor has 3 channels"):
        built(quantizer, shape=(3, 3, 2, 3))


# LSQ: q(v) = s * round(clip(v / s, -Qn, Qp)); dq/ds = round(v/s) - v/s inside, -Qn / Qp outside


def lsq_reference(v, s, qn, qp, upstream):  # type: ignore[no-untyped-def]
    ratio = v / s
    levels = np.clip(np.floor(ratio + 0.5), -qn, qp)
    local = np.where(ratio < -qn, -qn, np.where(ratio > qp, qp, np.floor(ratio + 0.5) - ratio))
    return levels * s, upstream * local


def kernel(seed: int = 0) -> np.ndarray:
    scales = np.array([0.1, 0.3, 0.5, 1.0], np.float32)  # channels of different ranges
    return np.random.default_rng(seed).normal(size=SHAPE).astype(np.float32) * scales


def lsq_weights(n_bits=4, per_channel=True):
    config = qi3.NodeWeightsQuantizationConfig(
        "symmetric",
        n_bits,
        {"threshold": [1.0, 1.25, 1.5, 1.75] if per_channel else 1.0},
        -1 if per_channel else None,
        per_channel,
    )
    return built(quantizer_class(TrainingMethod.LSQ, M.SYMMETRIC, WEIGHTS)(config))


def lsq_activation(n_bits=4, signed=True):
    params = {"threshold": 3.0, "is_signed": signed}
    config = qi3.NodeActivationQuantizationConfig("symmetric", n_bits, params)
    return built(quantizer_class(TrainingMethod.LSQ, M.SYMMETRIC, ACTIVATION)(config), (8, 5, 6))


def step_of(quantizer) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.asarray(quantizer.parameter_values()["step_size"])


def test_lsq_weights_start_calibrated_then_take_the_paper_init_from_calibration():
    quantizer = lsq_weights()
    # before calibration: the calibrated grid, t / 2^(b-1), so an uncalibrated model is PTQ's
    np.testing.assert_allclose(step_of(quantizer), [(1.0 + 0.25 * c) / 8 for c in range(4)])
    assert quantizer.parameters["step_size"].trainable
    quantizer.calibrate_parameters(kernel())
    expected = 2 * np.abs(kernel()).mean(axis=(0, 1, 2)) / np.sqrt(7)
    np.testing.assert_allclose(step_of(quantizer), expected, rtol=1e-6)
    quantizer(keras.Variable(10 * kernel(seed=1)), True)  # training never resets it
    np.testing.assert_allclose(step_of(quantizer), expected, rtol=1e-6)
    threshold = quantizer.convert2inferable().get_config()["threshold"]
    np.testing.assert_allclose(threshold, expected * 8, rtol=1e-6)


def test_lsq_matches_the_keras2_lsq_after_calibration():
    from quantizer_scaffold.qat.keras.quantizer import quantization_dispatcher_builder as keras2
    from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras as keras2_keras
    from quantizer_scaffold.quantizers_infrastructure.keras.compat import tf

    ours = lsq_weights()
    twin = keras2.get_trainable_quantizer_class(TrainingMethod.LSQ, M.SYMMETRIC, WEIGHTS)(
        ours.quantization_config
    )
    twin.initialize_quantization(SHAPE, "t", keras2_keras.layers.Layer())
    for quantizer in (ours, twin):
        quantizer.calibrate_parameters(kernel())
    np.testing.assert_allclose(step_of(ours), twin.parameter_values()["step_size"], rtol=1e-6)
    for training in (True, False):
        expected = twin(tf.constant(kernel()), training).numpy()
        np.testing.assert_allclose(numpy(ours(kernel(), training)), expected, atol=1e-6)


@pytest.mark.parametrize("per_channel", [True, False])
def test_lsq_weights_forward_and_step_gradient_match_the_paper(per_channel):
    quantizer = lsq_weights(n_bits=3, per_channel=per_channel)
    quantizer.calibrate_parameters(kernel())  # then move s off the init so clipping happens
    step = quantizer.parameters["step_size"]
    step.assign(numpy(step) * 0.7)
    upstream = np.random.default_rng(5).normal(size=SHAPE).astype(np.float32)
    s = step_of(quantizer) if per_channel else step_of(quantizer)[0]
    qn, qp = 4, 3
    expected_q, local = lsq_reference(kernel(), s, qn, qp, upstream)
    np.testing.assert_allclose(numpy(quantizer(kernel(), True)), expected_q, atol=1e-6)
    grad_w, grad_step = gradients(
        lambda v: ops.sum(quantizer(v, True) * upstream), [kernel()], [step]
    )
    if per_channel:
        expected_grad = local.sum(axis=(0, 1, 2)) / np.sqrt(np.prod(SHAPE[:-1]) * qp)
    else:
        expected_grad = np.array([local.sum() / np.sqrt(np.prod(SHAPE) * qp)])
    np.testing.assert_allclose(grad_step.reshape(-1), expected_grad, rtol=1e-4, atol=1e-6)
    ratio = kernel() / s
    inside = (ratio > -qn) & (ratio < qp)
    assert 0 < inside.mean() < 1
    np.testing.assert_allclose(grad_w, np.where(inside, upstream, 0.0), rtol=1e-6)


@pytest.mark.parametrize("signed", [False, True])
def test_lsq_activation_gradient_scale_uses_features_per_sample(signed):
    quantizer = lsq_activation(n_bits=4, signed=signed)
    np.testing.assert_allclose(step_of(quantizer), [3.0 / (8 if signed else 16)])
    x = np.random.default_rng(2).normal(0.5, 1.0, (8, 5, 6)).astype(np.float32)
    upstream = np.random.default_rng(3).normal(size=x.shape).astype(np.float32)
    step = quantizer.parameters["step_size"]
    _, grad_step = gradients(lambda v: ops.sum(quantizer(v, training=True) * upstream), [x], [step])
    qn, qp = integer_bounds(4, signed)
    _, local = lsq_reference(x, float(step_of(quantizer)[0]), qn, qp, upstream)
    expected = local.sum() / np.sqrt(5 * 6 * qp)  # N_F: features of one sample, not the batch
    np.testing.assert_allclose(grad_step, expected, rtol=1e-4)


def test_lsq_needs_two_bits_for_signed_tensors():
    with pytest.raises(ValueError, match="at least 2 bits"):
        lsq_weights(n_bits=1)
