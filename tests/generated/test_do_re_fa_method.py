"""DoReFa beyond the generated contract: the paper's weights, their gradient, the grid, training.

Zhou et al., "DoReFa-Net", 2016, eq. 9: ``w_q = 2 * q_k(tanh(w) / (2 max|tanh(w)|) + 1/2) - 1``
with ``q_k(v) = round((2^k - 1) v) / (2^k - 1)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.qat import QATConfig, TrainingMethod, qat_finalize, qat_init
from quantizer_scaffold.qat.keras.quantizer.do_re_fa.weights_training_quantizer import (
    DoReFaWeightsTrainingQuantizer,
)
from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras, tf

SHAPE = (3, 3, 2, 4)


def quantizer(n_bits: int) -> DoReFaWeightsTrainingQuantizer:
    config = qi.NodeWeightsQuantizationConfig(
        qi.QuantizationMethod.SYMMETRIC, n_bits, {"threshold": [1.0] * 4}
    )
    dorefa = DoReFaWeightsTrainingQuantizer(config)
    dorefa.initialize_quantization(SHAPE, "kernel_quantizer", keras.layers.Layer())
    return dorefa


def kernel(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 0.4, SHAPE).astype(np.float32)


def codes(w_q: np.ndarray, n_bits: int) -> np.ndarray:
    """The integer i of each level ``2 i / (2^k - 1) - 1``."""
    return (np.asarray(w_q, np.float64) + 1) / 2 * (2**n_bits - 1)


def reference(w: np.ndarray, k: int, upstream: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """numpy float64: w_q, and dL/dw of the straight-through surrogate tanh(w) / max|tanh w|."""
    levels = 2**k - 1
    t = np.tanh(w.astype(np.float64))
    largest = np.abs(t).max()
    w_q = 2 * np.floor((t / (2 * largest) + 0.5) * levels + 0.5) / levels - 1
    sech2 = 1 - t**2
    gradient = upstream * sech2 / largest  # through tanh(w_i) / M
    i = np.unravel_index(np.argmax(np.abs(t)), t.shape)  # and through M = |tanh(w_i)|
    gradient[i] -= np.sum(upstream * t) / largest**2 * np.sign(t[i]) * sech2[i]
    return w_q, gradient


@pytest.mark.parametrize("n_bits", [1, 2, 3, 4, 8])
def test_weights_and_gradient_follow_the_paper(n_bits: int) -> None:
    dorefa = quantizer(n_bits)
    w = tf.Variable(kernel())
    upstream = np.random.default_rng(1).normal(size=SHAPE).astype(np.float32)
    with tf.GradientTape() as tape:
        w_q = dorefa(w, True)
        loss = tf.reduce_sum(w_q * upstream)
    expected, gradient = reference(kernel(), n_bits, upstream)
    np.testing.assert_allclose(w_q.numpy(), expected, atol=1e-6)
    np.testing.assert_allclose(tape.gradient(loss, w).numpy(), gradient, rtol=1e-4, atol=1e-6)
    levels = codes(w_q.numpy(), n_bits)
    np.testing.assert_allclose(levels, np.round(levels), atol=1e-4)
    assert levels.min() >= -1e-4 and levels.max() <= 2**n_bits - 1 + 1e-4
    largest = np.unravel_index(np.argmax(np.abs(kernel())), SHAPE)
    assert abs(w_q.numpy()[largest]) == pytest.approx(1.0)  # the largest |w| maps to +-1


def test_all_zero_weights_stay_finite() -> None:
    assert np.all(np.isfinite(quantizer(3)(np.zeros(SHAPE, np.float32), False).numpy()))


@pytest.mark.parametrize("n_bits", [1, 2, 4])
def test_the_grid_has_no_zero_so_int8_cannot_hold_it(n_bits: int) -> None:
    grid = quantizer(n_bits).convert2inferable().grid()
    expected = [2 * i / (2**n_bits - 1) - 1 for i in range(2**n_bits)]
    assert grid.values() == pytest.approx(expected)
    assert not grid.has_integer_zero_point and not grid.fits_integers(8)


def tiny_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(3, name="dense")(x))


def test_dorefa_trains_finalizes_and_reloads_through_qat_init(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 8, 8, 1)).astype(np.float32), rng.integers(0, 3, 64)
    model = qat_init(
        tiny_model(),
        lambda: (x[i : i + 16] for i in range(0, 64, 16)),
        qat_config=QATConfig(weight_training_method=TrainingMethod.DoReFa),
        weights_n_bits=2,
        activation_n_bits=8,
    )
    conv = model.get_layer("quant_conv")
    assert conv.quantizer_variables["kernel"] == {}  # parameter-free
    before = conv.layer.kernel.numpy().copy()
    model.compile(keras.optimizers.Adam(0.01), keras.losses.SparseCategoricalCrossentropy(True))
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0).history["loss"]
    assert np.all(np.isfinite(history))
    assert not np.array_equal(conv.layer.kernel.numpy(), before)  # STE: the float kernel learns
    finalized = qat_finalize(model)
    np.testing.assert_allclose(finalized(x).numpy(), model(x, training=False).numpy(), atol=1e-6)
    path = tmp_path / "dorefa.keras"
    finalized.save(path)
    reloaded = qi.load_quantized_model(path)
    np.testing.assert_array_equal(reloaded.predict(x, verbose=0), finalized.predict(x, verbose=0))
    kernel_quantizer = reloaded.get_layer("quant_conv").weights_quantizers["kernel"]
    quantized = kernel_quantizer(reloaded.get_layer("quant_conv").layer.kernel).numpy()
    levels = codes(quantized, 2)  # 2 bits: -1, -1/3, 1/3, 1
    np.testing.assert_allclose(levels, np.round(levels), atol=1e-4)
    assert set(np.round(levels).ravel()) <= {0.0, 1.0, 2.0, 3.0}
