"""In inference the wrapper adds the bias on TFLite's int32 grid: input step x weight step."""

from __future__ import annotations

import numpy as np
import pytest

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.qat import QATConfig, TrainingMethod, qat_finalize, qat_init
from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras, tf

L = keras.layers
INPUT_STEP = 0.5  # 8-bit symmetric, threshold 64
WEIGHT_STEPS = np.array([0.25, 0.125, 0.5])  # 8-bit symmetric per channel, thresholds 32, 16, 64
BIAS = np.array([0.3, -0.2, 0.05], np.float32)


def model_with(
    between: list[keras.layers.Layer], per_channel: bool = True, channel_axis: int = -1
) -> keras.Model:
    """Input quantizer -> ``between`` -> a wrapped Dense(3) with ``BIAS``, no output quantizer."""
    inputs = keras.Input((2, 3), name="x")
    grid = qi.ActivationSymmetricInferableQuantizer(8, [64.0], True)
    x = qi.KerasQuantizationWrapper(L.Identity(), activation_quantizers=[grid], name="quant_x")(
        inputs
    )
    for layer in between:
        x = layer(x)
    thresholds = (WEIGHT_STEPS * 128).tolist() if per_channel else [32.0]
    weights = qi.WeightsSymmetricInferableQuantizer(8, thresholds, per_channel, channel_axis)
    dense = qi.KerasQuantizationWrapper(L.Dense(3), {"kernel": weights}, name="quant_dense")
    model = keras.Model(inputs, dense(x))
    kernel = np.random.default_rng(0).uniform(-8, 8, (dense.layer.kernel.shape)).astype(np.float32)
    dense.layer.set_weights([kernel, BIAS])
    return model


def expected(model: keras.Model, x: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """The dense layer's output computed in numpy from its quantized input and weight."""
    wrapper = model.get_layer("quant_dense")
    inputs = keras.Model(model.inputs, wrapper.input)(x).numpy()
    kernel = wrapper.weights_quantizers["kernel"](wrapper.layer.kernel).numpy()
    return inputs.astype(np.float64) @ kernel + bias


def on_grid(bias: np.ndarray, step: np.ndarray) -> np.ndarray:
    return np.floor(bias / step + 0.5) * step


@pytest.fixture
def x() -> np.ndarray:
    return np.random.default_rng(1).uniform(-70, 70, (5, 2, 3)).astype(np.float32)


@pytest.mark.parametrize("per_channel", [True, False], ids=["per channel", "per tensor"])
def test_inference_rounds_the_bias_to_input_step_times_weight_step_training_does_not(
    x, per_channel
):
    model = model_with([L.Flatten(), L.Reshape((2, 3))], per_channel)  # they only move values
    steps = INPUT_STEP * (WEIGHT_STEPS if per_channel else 0.25)
    rounded = on_grid(BIAS, steps)
    assert not np.allclose(rounded, BIAS)
    graph = tf.function(lambda v: model(v, training=False))
    for got in (model(x, training=False), graph(x), model.predict(x, verbose=0)):
        np.testing.assert_allclose(np.asarray(got), expected(model, x, rounded), atol=1e-4)
    np.testing.assert_allclose(model(x, training=True).numpy(), expected(model, x, BIAS), atol=1e-4)


def test_the_bias_stays_float_where_the_input_grid_is_unknown(x):
    model = model_with([L.Activation("tanh")])  # changes values: TFLite requantizes
    np.testing.assert_allclose(
        model(x, training=False).numpy(), expected(model, x, BIAS), atol=1e-4
    )
    alone = model.get_layer("quant_dense")
    inputs = keras.Model(model.inputs, alone.input)(x)
    standalone = qi.KerasQuantizationWrapper(
        L.Dense(3), alone.weights_quantizers, name="outside_a_model"
    )
    standalone(inputs)
    standalone.layer.set_weights(alone.layer.get_weights())
    np.testing.assert_allclose(
        standalone(inputs, training=False).numpy(), expected(model, x, BIAS), atol=1e-4
    )


@pytest.mark.parametrize("channel_axis", [0, -2], ids=["0", "-2"])
def test_the_bias_stays_float_when_the_weight_steps_are_per_input_channel(x, channel_axis):
    model = model_with([], channel_axis=channel_axis)  # 3 inputs, 3 outputs: the counts agree
    np.testing.assert_allclose(
        model(x, training=False).numpy(), expected(model, x, BIAS), atol=1e-4
    )


def test_a_learned_input_step_moves_the_bias_grid_in_a_traced_model_and_finalizes_alike(x):
    keras.utils.set_random_seed(2)
    inputs = keras.Input((6,), name="vector")
    model = keras.Model(inputs, L.Dense(3, bias_initializer="random_normal", name="dense")(inputs))
    data = np.random.default_rng(3).normal(size=(16, 6)).astype(np.float32)
    lsq = QATConfig(
        weight_training_method=TrainingMethod.LSQ, activation_training_method=TrainingMethod.LSQ
    )
    qat_model = qat_init(model, lambda: [data], qat_config=lsq)
    dense = qat_model.get_layer("quant_dense")
    graph = tf.function(lambda v: qat_model(v, training=False))
    before = graph(data).numpy()
    (step,) = qat_model.get_layer("quant_vector").quantizer_variables["activation_0"].values()
    step.assign(step * 1.37)  # as training would move it
    after = graph(data).numpy()  # the same trace
    assert not np.array_equal(before, after)
    np.testing.assert_array_equal(after, qat_model(data, training=False).numpy())
    finalized = qat_finalize(qat_model)
    np.testing.assert_array_equal(after, finalized(data).numpy())
    # the bias grid the traced function used is the one of the new step
    input_step = finalized.get_layer("quant_vector").activation_quantizers[0].grid().scale[0]
    weight_steps = np.asarray(
        finalized.get_layer("quant_dense").weights_quantizers["kernel"].grid().scale
    )
    np.testing.assert_allclose(
        dense._bias_grid().numpy(),
        on_grid(dense.layer.bias.numpy(), input_step * weight_steps),
        rtol=1e-6,
    )
