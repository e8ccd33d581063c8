"""PACT beyond the generated contract: the paper's forward, its gradient for alpha, learning.

Choi et al., "PACT: Parameterized Clipping Activation for Quantized Neural Networks", 2018:
``y = clip(x, 0, alpha)``, ``y_q = round(y * (2^b - 1) / alpha) * alpha / (2^b - 1)``,
``dy_q/dalpha = 1`` where ``x >= alpha`` and 0 elsewhere (straight-through rounding).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.qat import QATConfig, TrainingMethod, qat_finalize, qat_init
from quantizer_scaffold.qat.keras.quantizer.pact.activations_inferable_quantizer import (
    PACTActivationsInferableQuantizer,
)
from quantizer_scaffold.qat.keras.quantizer.pact.activations_training_quantizer import (
    PACTActivationsTrainingQuantizer,
)
from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras, tf

SHAPE = (16, 5, 6)


def quantizer(alpha: float, n_bits: int = 4, signed: bool = False):
    config = qi.NodeActivationQuantizationConfig(
        qi.QuantizationMethod.SYMMETRIC, n_bits, {"threshold": alpha, "is_signed": signed}
    )
    pact = PACTActivationsTrainingQuantizer(config)
    pact.initialize_quantization((None, 5, 6), "activation_0_quantizer", keras.layers.Layer())
    return pact


def reference(x: np.ndarray, alpha: float, n_bits: int, signed: bool, upstream: np.ndarray):
    """numpy: y_q, dL/dx and dL/dalpha of the paper (signed: clip to [-alpha, alpha])."""
    qmax = 2 ** (n_bits - 1) - 1 if signed else 2**n_bits - 1
    low = -alpha if signed else 0.0
    step = alpha / qmax
    y = np.floor(np.clip(x, low, alpha) / step + 0.5) * step
    above, below = x >= alpha, (x <= low) if signed else np.zeros_like(x, bool)
    grad_x = np.where((x >= low) & ~above, upstream, 0.0)
    grad_alpha = upstream[above].sum() - upstream[below].sum()
    return y, grad_x, grad_alpha


def data(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.5, 1.5, SHAPE).astype(np.float32)


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
@pytest.mark.parametrize("n_bits", [2, 4, 8])
def test_forward_and_gradients_follow_the_paper(n_bits: int, signed: bool) -> None:
    pact = quantizer(2.0, n_bits, signed)
    x = tf.Variable(data())
    upstream = np.random.default_rng(1).normal(size=SHAPE).astype(np.float32)
    alpha = pact.parameters["alpha"]
    with tf.GradientTape() as tape:
        y = pact(x, True)
        loss = tf.reduce_sum(y * upstream)
    grad_x, grad_alpha = tape.gradient(loss, [x, alpha])
    expected, expected_x, expected_alpha = reference(data(), 2.0, n_bits, signed, upstream)
    np.testing.assert_allclose(y.numpy(), expected, atol=1e-6)
    np.testing.assert_allclose(grad_x.numpy(), expected_x, atol=1e-6)
    np.testing.assert_allclose(grad_alpha.numpy(), expected_alpha, rtol=1e-5)
    levels = np.unique(y.numpy())
    assert levels.max() == pytest.approx(2.0) and len(levels) <= (2**n_bits - signed)
    assert levels.min() == pytest.approx(-2.0 if signed else 0.0)


def test_the_grid_holds_zero_and_alpha_and_fits_int8() -> None:
    unsigned = quantizer(3.0, 8).convert2inferable().grid()
    assert (unsigned.quant_min, unsigned.quant_max) == (0, 255)
    assert unsigned.bounds() == pytest.approx((0.0, 3.0)) and unsigned.fits_integers(8)
    signed = quantizer(3.0, 8, signed=True).convert2inferable().grid()
    assert (signed.quant_min, signed.quant_max) == (-127, 127) and signed.fits_integers(8)


def test_signed_pact_needs_two_bits_and_alpha_stays_positive() -> None:
    with pytest.raises(ValueError, match="signed PACT needs at least 2 bits"):
        quantizer(1.0, 1, signed=True)
    pact = quantizer(1.0, 4)
    pact.parameters["alpha"].assign(-0.5)  # an optimizer overshoot
    assert pact.convert2inferable().get_config()["alpha"] == [2.0**-16]
    with pytest.raises(ValueError, match="these parameters give no grid"):
        PACTActivationsInferableQuantizer("symmetric", 4, False, alpha=[-1.0])


def test_alpha_is_l2_regularized_as_in_the_paper() -> None:
    layer = keras.layers.Layer()
    config = qi.NodeActivationQuantizationConfig("symmetric", 4, {"threshold": 3.0})
    pact = PACTActivationsTrainingQuantizer(config, alpha_l2=0.01)
    pact.initialize_quantization((None, 5), "activation_0_quantizer", layer)
    assert [float(loss) for loss in layer.losses] == pytest.approx([0.01 * 9.0])
    assert PACTActivationsTrainingQuantizer.from_config(pact.get_config()).alpha_l2 == 0.01
    unregularized = PACTActivationsTrainingQuantizer(config, alpha_l2=0.0)
    unregularized.initialize_quantization((None, 5), "a", other := keras.layers.Layer())
    assert other.losses == []
    with pytest.raises(ValueError, match="alpha_l2 must be a number >= 0"):
        PACTActivationsTrainingQuantizer(config, alpha_l2=-1.0)


def test_alpha_learns_to_cover_the_activations() -> None:
    """Gradient descent on alpha alone, from a too small alpha, lowers ||y_q - x||^2."""
    pact = quantizer(0.25, 4)
    x = tf.constant(np.maximum(data(2), 0.0))  # ReLU outputs, up to about 5
    alpha = pact.parameters["alpha"]
    optimizer = keras.optimizers.SGD(0.01)

    def error() -> float:
        return float(tf.reduce_mean(tf.square(pact(x, True) - x)))

    start = error()
    for _ in range(100):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(pact(x, True) - x))
        optimizer.apply_gradients([(tape.gradient(loss, alpha), alpha)])
    assert float(alpha.numpy()) > 2.0
    assert error() < 0.2 * start


def tiny_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(3, name="dense")(x))


@pytest.fixture(scope="module")
def images() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(64, 8, 8, 1)).astype(np.float32), rng.integers(0, 3, 64)


@pytest.mark.parametrize(
    "weights", ["STE", "DoReFa"], ids=["ste-weights", "dorefa-weights"]
)  # fmt: skip
def test_pact_trains_finalizes_and_reloads_through_qat_init(images, weights, tmp_path: Path):
    x, y = images
    config = QATConfig(
        weight_training_method=TrainingMethod[weights],
        activation_training_method=TrainingMethod.PACT,
    )
    model = qat_init(
        tiny_model(),
        lambda: (x[i : i + 16] for i in range(0, 64, 16)),
        qat_config=config,
        weights_n_bits=4,
        activation_n_bits=4,
    )
    conv = model.get_layer("quant_conv")
    alpha = conv.quantizer_variables["activation_0"]["alpha"]
    assert alpha.trainable
    float_outputs = tiny_model().get_layer("conv")(x).numpy()
    assert float(alpha.numpy()) == pytest.approx(float_outputs.max(), rel=1e-5)  # calibrated
    before = float(alpha.numpy())
    model.compile(keras.optimizers.Adam(0.05), keras.losses.SparseCategoricalCrossentropy(True))
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0).history["loss"]
    assert np.all(np.isfinite(history)) and float(alpha.numpy()) != before
    finalized = qat_finalize(model)
    expected = model(x, training=False).numpy()
    np.testing.assert_allclose(finalized(x).numpy(), expected, atol=1e-6)
    activation = finalized.get_layer("quant_conv").activation_quantizers[0]
    assert activation.get_config()["signed"] is False  # ReLU outputs: PACT's [0, alpha]
    assert activation.get_config()["alpha"] == pytest.approx([float(alpha.numpy())])
    path = tmp_path / "pact.keras"
    finalized.save(path)
    reloaded = qi.load_quantized_model(path)
    np.testing.assert_array_equal(reloaded.predict(x, verbose=0), finalized.predict(x, verbose=0))
