"""LSQ beyond the generated contract: the paper's initialisation, gradient scale and learning.

Esser et al., "Learned Step Size Quantization", ICLR 2020: ``q(v) = s * round(clip(v/s, -Qn, Qp))``,
``s`` initialised as ``2 * mean(|v|) / sqrt(Qp)``, its gradient scaled by ``1 / sqrt(N * Qp)``.
Run as a script, this file is the tf.distribute worker of ``test_mirrored_training_...``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.qat import QATConfig, TrainingMethod, qat_finalize, qat_init
from quantizer_scaffold.qat.keras.quantizer.lsq.activations_training_quantizer import (
    LSQActivationsTrainingQuantizer,
)
from quantizer_scaffold.qat.keras.quantizer.lsq.step_size import integer_bounds
from quantizer_scaffold.qat.keras.quantizer.lsq.weights_training_quantizer import (
    LSQWeightsTrainingQuantizer,
)
from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras, tf

KERNEL_SHAPE = (3, 3, 2, 4)  # a Conv2D kernel: 4 output channels on the last axis
LSQ = QATConfig(
    weight_training_method=TrainingMethod.LSQ, activation_training_method=TrainingMethod.LSQ
)


def weights_quantizer(n_bits: int = 4, per_channel: bool = True) -> LSQWeightsTrainingQuantizer:
    channels = KERNEL_SHAPE[-1] if per_channel else 1
    config = qi.NodeWeightsQuantizationConfig(
        qi.QuantizationMethod.SYMMETRIC,
        n_bits,
        {"threshold": [1.0 + 0.25 * c for c in range(channels)]},
        weights_channels_axis=-1,
        weights_per_channel_threshold=per_channel,
    )
    quantizer = LSQWeightsTrainingQuantizer(config)
    quantizer.initialize_quantization(KERNEL_SHAPE, "kernel_quantizer", keras.layers.Layer())
    return quantizer


def activation_quantizer(n_bits: int = 4, signed: bool = False) -> LSQActivationsTrainingQuantizer:
    config = qi.NodeActivationQuantizationConfig(
        qi.QuantizationMethod.SYMMETRIC, n_bits, {"threshold": 3.0, "is_signed": signed}
    )
    quantizer = LSQActivationsTrainingQuantizer(config)
    quantizer.initialize_quantization((None, 5, 6), "activation_0_quantizer", keras.layers.Layer())
    return quantizer


def kernel(seed: int = 0) -> np.ndarray:
    scales = np.array([0.1, 0.3, 0.5, 1.0], np.float32)  # channels of different ranges
    return np.random.default_rng(seed).normal(size=KERNEL_SHAPE).astype(np.float32) * scales


def step_of(quantizer) -> np.ndarray:
    return np.reshape(quantizer.parameters["step_size"].numpy(), [-1])


def lsq_reference(v: np.ndarray, s: np.ndarray, qn: int, qp: int, upstream: np.ndarray):
    """numpy: q(v), and the paper's dL/ds (before the gradient scale) summed per step size."""
    ratio = v / s
    levels = np.clip(np.floor(ratio + 0.5), -qn, qp)
    local = np.where(ratio < -qn, -qn, np.where(ratio > qp, qp, np.floor(ratio + 0.5) - ratio))
    return levels * s, upstream * local


def test_integer_bounds_follow_the_paper() -> None:
    assert integer_bounds(4, signed=True) == (8, 7)
    assert integer_bounds(2, signed=True) == (2, 1)
    assert integer_bounds(4, signed=False) == (0, 15)
    assert integer_bounds(1, signed=False) == (0, 1)
    with pytest.raises(ValueError, match="at least 2 bits"):
        weights_quantizer(n_bits=1)


def test_weights_step_size_starts_calibrated_then_calibrate_sets_the_paper_init() -> None:
    quantizer = weights_quantizer()
    # before calibration: the calibrated grid, t / 2^(b-1), so an untrained model is the PTQ model
    np.testing.assert_allclose(step_of(quantizer), [(1.0 + 0.25 * c) / 8 for c in range(4)])
    assert LSQWeightsTrainingQuantizer.has_calibration()
    expected = 2 * np.abs(kernel()).mean(axis=(0, 1, 2)) / np.sqrt(7)
    set_to = quantizer.calibrate_parameters(kernel())
    np.testing.assert_allclose(set_to["step_size"], expected, rtol=1e-6)
    np.testing.assert_allclose(step_of(quantizer), expected, rtol=1e-6)
    w = tf.Variable(10 * kernel(seed=1))
    quantizer(w, training=True)  # training steps never re-initialise
    np.testing.assert_allclose(step_of(quantizer), expected, rtol=1e-6)


def test_per_tensor_weights_take_one_step_size() -> None:
    quantizer = weights_quantizer(per_channel=False)
    quantizer.calibrate_parameters(kernel())
    assert quantizer.parameters["step_size"].shape == ()
    np.testing.assert_allclose(
        step_of(quantizer), [2 * np.abs(kernel()).mean() / np.sqrt(7)], rtol=1e-6
    )


def test_qat_init_calibrates_the_weights_step_sizes_from_the_float_kernels(data) -> None:
    float_model = tiny_model()
    images = data[0]
    model = qat_init(float_model, lambda: [images[:16]], qat_config=LSQ, weights_n_bits=4)
    step = model.get_layer("quant_conv").weights_quantizers["kernel"].parameters["step_size"]
    kernel_values = float_model.get_layer("conv").kernel.numpy()
    expected = 2 * np.abs(kernel_values).mean(axis=(0, 1, 2)) / np.sqrt(7)
    np.testing.assert_allclose(step.numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("signed", [False, True])
def test_activation_step_size_starts_from_the_calibrated_threshold(signed: bool) -> None:
    quantizer = activation_quantizer(n_bits=4, signed=signed)
    np.testing.assert_allclose(step_of(quantizer), [3.0 / (8 if signed else 16)])
    inferable = quantizer.convert2inferable()
    np.testing.assert_allclose(inferable.get_config()["step_size"], step_of(quantizer))
    low, high = inferable.grid().bounds()
    np.testing.assert_allclose(high + inferable.grid().scale[0], 3.0)  # t = s * 2^(b-signed)
    assert low == (-3.0 if signed else 0.0)


@pytest.mark.parametrize("per_channel", [True, False])
def test_weights_forward_and_step_gradient_match_the_paper(per_channel: bool) -> None:
    quantizer = weights_quantizer(n_bits=3, per_channel=per_channel)
    w = tf.Variable(kernel())
    quantizer.calibrate_parameters(kernel())  # the paper's init, then move s so clipping happens
    step = quantizer.parameters["step_size"]
    step.assign(step * 0.7)
    upstream = np.random.default_rng(5).normal(size=KERNEL_SHAPE).astype(np.float32)
    with tf.GradientTape() as tape:
        quantized = quantizer(w, training=True)
        loss = tf.reduce_sum(quantized * upstream)
    grad_step, grad_w = tape.gradient(loss, [step, w])
    qn, qp = 4, 3
    s = step.numpy()
    expected_q, local = lsq_reference(kernel(), s, qn, qp, upstream)
    np.testing.assert_allclose(quantized.numpy(), expected_q, atol=1e-6)
    if per_channel:
        n = np.prod(KERNEL_SHAPE[:-1])
        expected_grad = local.sum(axis=(0, 1, 2)) / np.sqrt(n * qp)
    else:
        expected_grad = np.array([local.sum() / np.sqrt(np.prod(KERNEL_SHAPE) * qp)])
    np.testing.assert_allclose(grad_step.numpy(), expected_grad, rtol=1e-4, atol=1e-6)
    # straight-through estimator for the weights: 1 inside the range, 0 outside
    ratio = kernel() / s
    inside = (ratio > -qn) & (ratio < qp)
    assert 0 < inside.mean() < 1
    np.testing.assert_allclose(grad_w.numpy(), np.where(inside, upstream, 0.0), rtol=1e-6)


@pytest.mark.parametrize("signed", [False, True])
def test_activation_gradient_scale_uses_features_per_sample(signed: bool) -> None:
    quantizer = activation_quantizer(n_bits=4, signed=signed)
    x = np.random.default_rng(2).normal(0.5, 1.0, (8, 5, 6)).astype(np.float32)
    upstream = np.random.default_rng(3).normal(size=x.shape).astype(np.float32)
    step = quantizer.parameters["step_size"]
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(quantizer(tf.constant(x), training=True) * upstream)
    qn, qp = integer_bounds(4, signed)
    _, local = lsq_reference(x, step.numpy(), qn, qp, upstream)
    expected = local.sum() / np.sqrt(5 * 6 * qp)  # N_F: features of one sample, not the batch
    np.testing.assert_allclose(tape.gradient(loss, step).numpy(), expected, rtol=1e-4)


def test_step_size_learns_to_lower_the_quantization_error() -> None:
    """Gradient descent on s alone from a 4x too coarse step reduces ||q(x) - x||^2."""
    quantizer = activation_quantizer(n_bits=3, signed=True)
    x = tf.constant(np.random.default_rng(4).normal(size=(16, 5, 6)).astype(np.float32))
    step = quantizer.parameters["step_size"]
    step.assign(1.5)  # range [-6, 4.5] on a unit normal: too coarse
    optimizer = keras.optimizers.SGD(1.0)

    def error() -> float:
        return float(tf.reduce_mean(tf.square(quantizer(x, training=True) - x)))

    start = error()
    for _ in range(150):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(quantizer(x, training=True) - x))
        optimizer.apply_gradients([(tape.gradient(loss, step), step)])
    assert error() < 0.3 * start
    assert 0.3 < float(step.numpy()) < 1.0  # 3-bit signed: the best step for N(0, 1) is 0.6


def tiny_model(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(3, name="dense")(x)
    return keras.Model(inputs, outputs)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(64, 8, 8, 1)).astype(np.float32), rng.integers(0, 3, 64)


@pytest.fixture(scope="module")
def trained(data):
    """A tiny model under LSQ QAT (4-bit weights, 4-bit activations), before and after fit."""
    images, labels = data
    model = qat_init(
        tiny_model(),
        lambda: (images[i : i + 16] for i in range(0, 64, 16)),
        qat_config=LSQ,
        weights_n_bits=4,
        activation_n_bits=4,
    )
    before = {v.name: v.numpy().copy() for v in model.trainable_weights if "step_size" in v.name}
    model.compile(
        keras.optimizers.Adam(0.01), keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    history = model.fit(images, labels, batch_size=16, epochs=3, verbose=0).history["loss"]
    return model, before, history


def test_qat_with_lsq_trains_its_step_sizes(trained) -> None:
    model, before, history = trained
    # conv and dense: one kernel and one activation step size each; the input: an activation one
    assert len(before) == 5
    after = {v.name: v.numpy() for v in model.trainable_weights if "step_size" in v.name}
    assert all(not np.allclose(before[name], after[name]) for name in before)
    assert history[-1] < history[0]


def test_finalized_lsq_model_predicts_what_the_qat_model_predicts(trained, data) -> None:
    model, _, _ = trained
    finalized = qat_finalize(model)
    images = data[0]
    np.testing.assert_allclose(
        finalized.predict(images, verbose=0), model(images, training=False).numpy(), atol=1e-6
    )
    conv = model.get_layer("quant_conv")
    inferable = finalized.get_layer("quant_conv")
    step = conv.quantizer_variables["kernel"]["step_size"].numpy()
    weights = inferable.weights_quantizers["kernel"]
    np.testing.assert_allclose(weights.get_config()["step_size"], step, rtol=1e-6)
    np.testing.assert_allclose(weights.grid().scale, step, rtol=1e-6)  # the grid's step is s
    activation = inferable.activation_quantizers[0]
    assert activation.get_config()["signed"] is False  # ReLU output: unsigned, t = s * 2^b
    step = conv.quantizer_variables["activation_0"]["step_size"].numpy()
    np.testing.assert_allclose(activation.grid().scale, [step], rtol=1e-6)
    assert activation.grid().quant_max == 2**4 - 1 and activation.grid().fits_integers(8)


def test_reloaded_model_keeps_its_learned_step_sizes(trained, data, tmp_path: Path) -> None:
    model, _, _ = trained
    path = tmp_path / "lsq.keras"
    model.save(path)
    loaded = qi.load_quantized_model(path)
    names = [v.name for v in model.weights if "step_size" in v.name]
    learned = {v.name: v.numpy() for v in model.weights if v.name in names}
    loaded.compile(keras.optimizers.SGD(0.0), keras.losses.SparseCategoricalCrossentropy(True))
    loaded.train_on_batch(*[part[:16] for part in data])  # a training step must not re-initialise
    for v in loaded.weights:
        if v.name in names:
            np.testing.assert_array_equal(v.numpy(), learned[v.name])


@pytest.mark.slow
def test_mirrored_training_initialises_and_learns_as_on_one_device() -> None:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run(
        [sys.executable, __file__], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["replicas"] == 2
    assert report["step_size_types"] == ["MirroredVariable"]
    np.testing.assert_allclose(report["mirrored_losses"], report["single_losses"], rtol=1e-5)
    assert report["max_step_size_difference"] < 1e-6
    assert report["step_sizes_initialised"]
    assert report["max_finalized_difference"] <= 1e-6


def _distribute_worker() -> None:
    """Train the same LSQ model on one device and on two logical CPUs; print a JSON report."""
    (cpu,) = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    rng = np.random.default_rng(0)
    images, labels = rng.normal(size=(64, 8, 8, 1)).astype(np.float32), rng.integers(0, 3, 64)

    def train(strategy):
        float_model = tiny_model()
        with strategy.scope():
            model = qat_init(
                float_model,
                lambda: (images[i : i + 16] for i in range(0, 64, 16)),
                qat_config=LSQ,
                weights_n_bits=4,
            )
            model.compile(
                keras.optimizers.SGD(0.05),
                keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            )
        losses = model.fit(images, labels, batch_size=16, epochs=2, shuffle=False, verbose=0)
        steps = [v for v in model.weights if "step_size" in v.name]
        kernel = float_model.get_layer("conv").kernel.numpy()
        conv_step = model.get_layer("quant_conv").quantizer_variables["kernel"]["step_size"]
        return {
            "losses": losses.history["loss"],
            "steps": [v.numpy() for v in steps],
            "types": sorted({type(v).__name__ for v in steps}),
            # after 2 epochs of SGD the step is near its init, far from the calibrated t / 8
            "initialised": bool(
                np.allclose(
                    conv_step.numpy(),
                    2 * np.abs(kernel).mean(axis=(0, 1, 2)) / np.sqrt(7),
                    rtol=0.2,
                )
            ),
            "finalized": float(
                np.abs(
                    qat_finalize(model)(images).numpy() - model(images, training=False).numpy()
                ).max()
            ),
        }

    single = train(tf.distribute.OneDeviceStrategy("/cpu:0"))
    two = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    mirrored = train(two)
    print(
        json.dumps(
            {
                "replicas": two.num_replicas_in_sync,
                "step_size_types": mirrored["types"],
                "single_losses": single["losses"],
                "mirrored_losses": mirrored["losses"],
                "max_step_size_difference": max(
                    float(np.abs(a - b).max())
                    for a, b in zip(single["steps"], mirrored["steps"], strict=True)
                ),
                "step_sizes_initialised": single["initialised"] and mirrored["initialised"],
                "max_finalized_difference": max(single["finalized"], mirrored["finalized"]),
            }
        )
    )


if __name__ == "__main__":
    _distribute_worker()
