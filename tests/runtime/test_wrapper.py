"""KerasQuantizationWrapper: layers, model kinds, training flag, variables, conversion."""

from __future__ import annotations

import numpy as np
import pytest
from runtime_test_quantizers import (
    IdentityInferableQuantizer,
    LearnedThresholdQuantizer,
    RoundQuantizer,
    TrainingFlagQuantizer,
    weights_config,
)

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras, tf

L = keras.layers

LAYERS = {
    "Dense": (lambda: L.Dense(5), (6,), "kernel"),
    "Conv2D": (lambda: L.Conv2D(4, 3, padding="same"), (7, 7, 3), "kernel"),
    "DepthwiseConv2D": (
        lambda: L.DepthwiseConv2D(3, depth_multiplier=2),
        (7, 7, 3),
        "depthwise_kernel",
    ),
    "Conv2DTranspose": (lambda: L.Conv2DTranspose(4, 3, strides=2), (5, 5, 3), "kernel"),
}


def _data(shape, seed=0):  # type: ignore[no-untyped-def]
    return np.random.default_rng(seed).standard_normal((4, *shape)).astype(np.float32)


def _plain_and_wrapped(name, weights_quantizer, activation_quantizers=(), functional=True):  # type: ignore[no-untyped-def]
    make, shape, attr = LAYERS[name]
    plain = make()
    wrapped = make()
    wrapper = qi.KerasQuantizationWrapper(
        wrapped, {attr: weights_quantizer}, list(activation_quantizers)
    )
    if functional:
        inputs = keras.Input(shape)
        model = keras.Model(inputs, wrapper(inputs))
    else:
        model = keras.Sequential([keras.Input(shape), wrapper])
    plain.build((None, *shape))
    plain.set_weights(wrapped.get_weights())
    return plain, wrapper, model, shape, attr


@pytest.mark.parametrize("functional", [True, False], ids=["functional", "sequential"])
@pytest.mark.parametrize("name", LAYERS)
def test_identity_quantizers_give_the_plain_layer_output(name, functional):
    plain, wrapper, model, shape, _ = _plain_and_wrapped(
        name, IdentityInferableQuantizer(), [IdentityInferableQuantizer()], functional
    )
    x = _data(shape)
    np.testing.assert_array_equal(model(x).numpy(), plain(x).numpy())
    np.testing.assert_array_equal(model(x, training=True).numpy(), plain(x).numpy())
    assert wrapper.name == f"quant_{wrapper.layer.name}"


@pytest.mark.parametrize("name", LAYERS)
def test_weights_are_quantized_and_the_layer_keeps_its_variable(name):
    quantizer = qi.WeightsSymmetricInferableQuantizer(3, [0.25], per_channel=False)
    plain, wrapper, model, shape, attr = _plain_and_wrapped(name, quantizer)
    x = _data(shape)
    kernel = getattr(plain, attr)
    kernel.assign(quantizer(kernel))
    np.testing.assert_allclose(model(x).numpy(), plain(x).numpy(), rtol=1e-5, atol=1e-6)
    assert isinstance(getattr(wrapper.layer, attr), tf.Variable)
    short = [w.name.split("/")[-1] for w in wrapper.layer.weights]
    assert short == [w.name.split("/")[-1] for w in plain.weights]


def test_trainable_quantizers_get_the_training_flag_and_inferable_ones_do_not():
    plain, wrapper, model, shape, _ = _plain_and_wrapped(
        "Dense", TrainingFlagQuantizer(weights_config()), [IdentityInferableQuantizer()]
    )
    x = _data(shape)
    rounded = L.Dense(5)
    rounded.build((None, *shape))
    rounded.set_weights([np.round(plain.kernel.numpy()), plain.bias.numpy()])
    np.testing.assert_allclose(model(x, training=True).numpy(), rounded(x).numpy(), rtol=1e-6)
    np.testing.assert_array_equal(model(x, training=False).numpy(), plain(x).numpy())
    np.testing.assert_array_equal(model.predict(x, verbose=0), plain(x).numpy())

    _, _, round_model, _, _ = _plain_and_wrapped("Dense", RoundQuantizer(weights_config()))
    round_model.layers[-1].layer.set_weights(plain.get_weights())
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(round_model(x, training=True))
    gradients = tape.gradient(loss, round_model.trainable_weights)
    assert all(g is not None for g in gradients)  # STE: the kernel still learns


def test_trainable_quantizer_variables_live_on_the_wrapper_and_train():
    quantizer = LearnedThresholdQuantizer(weights_config(0.1, 4))  # clips: threshold has a gradient
    _, wrapper, model, shape, _ = _plain_and_wrapped("Conv2D", quantizer)
    threshold = quantizer.parameters["threshold"]
    assert wrapper.quantizer_variables == {"kernel": {"threshold": threshold}}
    assert any(v is threshold for v in wrapper.trainable_weights)
    assert len(wrapper.trainable_weights) == 3  # threshold, kernel, bias
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    x = _data(shape)
    before = [w.numpy().copy() for w in model.trainable_weights]
    model.fit(x, np.zeros_like(model(x)), epochs=1, verbose=0)
    assert all(
        not np.array_equal(b, w.numpy())
        for b, w in zip(before, model.trainable_weights, strict=True)
    )


def test_variables_are_mirrored_under_a_distribution_strategy():
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    with strategy.scope():
        quantizer = LearnedThresholdQuantizer(weights_config(0.5))
        wrapper = qi.KerasQuantizationWrapper(L.Dense(3), {"kernel": quantizer})
        model = keras.Sequential([keras.Input((4,)), wrapper])
    assert "Mirrored" in type(quantizer.parameters["threshold"]).__name__
    assert model(np.ones((2, 4), np.float32)).shape == (2, 3)


def test_convert_to_inferable_quantizers_keeps_the_output_and_drops_quantizer_variables():
    quantizer = LearnedThresholdQuantizer(weights_config(0.5, 4), extra_scale=1.5)
    _, wrapper, model, shape, _ = _plain_and_wrapped(
        "DepthwiseConv2D", quantizer, [qi.ActivationSymmetricInferableQuantizer(8, [4.0], True)]
    )
    x = _data(shape)
    inferable = wrapper.convert_to_inferable_quantizers()
    assert isinstance(
        inferable.weights_quantizers["depthwise_kernel"], qi.WeightsSymmetricInferableQuantizer
    )
    assert inferable.name == wrapper.name
    assert len(inferable.weights) == 2 and inferable.layer is not wrapper.layer
    np.testing.assert_allclose(inferable(x).numpy(), model(x).numpy(), rtol=1e-6)


def test_errors_name_the_problem():
    with pytest.raises(
        TypeError, match="weights_quantizers\\['kernel'\\] must be a BaseKerasTrainableQuantizer"
    ):
        qi.KerasQuantizationWrapper(L.Dense(3), {"kernel": lambda w: w})
    wrapper = qi.KerasQuantizationWrapper(
        L.Dense(3), {"depthwise_kernel": IdentityInferableQuantizer()}
    )
    with pytest.raises(
        ValueError,
        match="Dense has no weight 'depthwise_kernel' to quantize \\(its weights: bias, kernel\\)",
    ):
        wrapper(np.ones((1, 2), np.float32))


def test_an_unregistered_quantizer_cannot_be_saved_silently():
    class Unregistered(IdentityInferableQuantizer):
        pass

    wrapper = qi.KerasQuantizationWrapper(L.Dense(3), activation_quantizers=[Unregistered()])
    with pytest.raises(
        ValueError,
        match="Unregistered is not registered for saving: decorate it with @qi.register_quantizer",
    ):
        wrapper.get_config()
