"""In inference the Keras 3 wrapper adds the bias on TFLite's int32 grid: input step x weight step.

Back-end agnostic (``keras.ops``): ``test_keras3_on_jax.py`` runs it again on JAX.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras3_helpers import numpy

from quantizer_scaffold.qat import QATConfig, TrainingMethod, qat_finalize, qat_init
from quantizer_scaffold.quantizers_infrastructure import keras3 as qi3

L = keras.layers
INPUT_STEP = 0.5  # 8-bit symmetric, threshold 64
WEIGHT_STEPS = np.array([0.25, 0.125, 0.5])  # 8-bit symmetric per channel, thresholds 32, 16, 64
BIAS = np.array([0.3, -0.2, 0.05], np.float32)


def model_with(
    between: list[keras.layers.Layer], per_channel: bool = True, channel_axis: int = -1
) -> keras.Model:
    """Input quantizer -> ``between`` -> a wrapped Dense(3) with ``BIAS``, no output quantizer."""
    inputs = keras.Input((2, 3), name="x")
    grid = qi3.ActivationSymmetricInferableQuantizer(8, [64.0], True)
    x = qi3.KerasQuantizationWrapper(L.Identity(), activation_quantizers=[grid], name="quant_x")(
        inputs
    )
    for layer in between:
        x = layer(x)
    thresholds = (WEIGHT_STEPS * 128).tolist() if per_channel else [32.0]
    weights = qi3.WeightsSymmetricInferableQuantizer(8, thresholds, per_channel, channel_axis)
    dense = qi3.KerasQuantizationWrapper(L.Dense(3), {"kernel": weights}, name="quant_dense")
    model = keras.Model(inputs, dense(x))
    kernel = np.random.default_rng(0).uniform(-8, 8, dense.layer.kernel.shape).astype(np.float32)
    dense.layer.set_weights([kernel, BIAS])
    return model


def expected(model: keras.Model, x: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """The dense layer's output computed in numpy from its quantized input and weight."""
    wrapper = model.get_layer("quant_dense")
    inputs = numpy(keras.Model(model.inputs, wrapper.input)(x))
    kernel = numpy(wrapper.weights_quantizers["kernel"](wrapper.layer.kernel))
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
    for got in (model(x, training=False), model.predict(x, verbose=0)):  # eager and compiled
        np.testing.assert_allclose(numpy(got), expected(model, x, rounded), atol=1e-4)
    np.testing.assert_allclose(numpy(model(x, training=True)), expected(model, x, BIAS), atol=1e-4)


def test_the_bias_stays_float_where_the_input_grid_is_unknown(x):
    model = model_with([L.Activation("tanh")])  # changes values: TFLite requantizes
    np.testing.assert_allclose(numpy(model(x, training=False)), expected(model, x, BIAS), atol=1e-4)
    alone = model.get_layer("quant_dense")
    inputs = keras.Model(model.inputs, alone.input)(x)
    standalone = qi3.KerasQuantizationWrapper(
        L.Dense(3), alone.weights_quantizers, name="outside_a_model"
    )
    standalone(inputs)
    standalone.layer.set_weights(alone.layer.get_weights())
    np.testing.assert_allclose(
        numpy(standalone(inputs, training=False)), expected(model, x, BIAS), atol=1e-4
    )


@pytest.mark.parametrize("channel_axis", [0, -2], ids=["0", "-2"])
def test_the_bias_stays_float_when_the_weight_steps_are_per_input_channel(x, channel_axis):
    model = model_with([], channel_axis=channel_axis)  # 3 inputs, 3 outputs: the counts agree
    np.testing.assert_allclose(numpy(model(x, training=False)), expected(model, x, BIAS), atol=1e-4)


def test_a_depthwise_bias_follows_its_input_channels_steps_repeated_per_multiplier():
    keras.utils.set_random_seed(4)
    inputs = keras.Input((5, 5, 2), name="image")
    model = keras.Model(
        inputs,
        L.DepthwiseConv2D(3, depth_multiplier=3, bias_initializer="random_normal")(inputs),
    )
    data = np.random.default_rng(5).normal(size=(8, 5, 5, 2)).astype(np.float32)
    finalized = qat_finalize(qat_init(model, lambda: [data], weights_n_bits=4))
    wrapper = next(
        w for w in finalized.layers if isinstance(getattr(w, "layer", None), L.DepthwiseConv2D)
    )
    input_step = finalized.get_layer("quant_image").activation_quantizers[0].grid().scale[0]
    weight_grid = wrapper.weights_quantizers["kernel"].grid()
    assert weight_grid.channels == 2  # per input channel: C=2 steps for C*M=6 outputs
    steps = np.repeat(np.asarray(weight_grid.scale), 3) * input_step
    bias = numpy(wrapper.layer.bias)
    np.testing.assert_allclose(numpy(wrapper._bias_grid()), on_grid(bias, steps), rtol=1e-6)


def test_a_learned_step_moves_the_bias_grid_in_a_compiled_model_and_finalizes_and_reloads_alike(
    tmp_path,
):
    keras.utils.set_random_seed(2)
    inputs = keras.Input((6,), name="vector")
    model = keras.Model(inputs, L.Dense(3, bias_initializer="random_normal", name="dense")(inputs))
    data = np.random.default_rng(3).normal(size=(16, 6)).astype(np.float32)
    lsq = QATConfig(
        weight_training_method=TrainingMethod.LSQ, activation_training_method=TrainingMethod.LSQ
    )
    qat_model = qat_init(model, lambda: [data], qat_config=lsq)
    dense = qat_model.get_layer("quant_dense")
    before = qat_model.predict(data, verbose=0)
    (step,) = qat_model.get_layer("quant_vector").quantizer_variables["activation_0"].values()
    step.assign(step * 1.37)  # as training would move it
    after = qat_model.predict(data, verbose=0)  # the same compiled function
    assert not np.array_equal(before, after)
    np.testing.assert_array_equal(after, numpy(qat_model(data, training=False)))
    finalized = qat_finalize(qat_model)
    np.testing.assert_array_equal(after, numpy(finalized(data)))
    finalized.save(tmp_path / "model.keras")
    reloaded = qi3.load_quantized_model(tmp_path / "model.keras")
    np.testing.assert_array_equal(after, numpy(reloaded(data)))
    # the bias grid the compiled function used is the one of the new step
    input_step = finalized.get_layer("quant_vector").activation_quantizers[0].grid().scale[0]
    weight_steps = np.asarray(
        finalized.get_layer("quant_dense").weights_quantizers["kernel"].grid().scale
    )
    rounded = on_grid(numpy(dense.layer.bias), input_step * weight_steps)
    assert not np.allclose(rounded, numpy(dense.layer.bias))
    np.testing.assert_allclose(numpy(dense._bias_grid()), rounded, rtol=1e-6)
