"""Built-in STE quantizers via the dispatcher: grid, STE gradient, inferable twin, config."""

from __future__ import annotations

import numpy as np
import pytest

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.qat import TrainingMethod
from quantizer_scaffold.qat.keras.quantizer import quantization_dispatcher_builder as dispatcher
from quantizer_scaffold.qat.keras.quantizer.ste_rounding.symmetric_ste import STEWeightQuantizer
from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras, tf

M = qi.QuantizationMethod
WEIGHTS, ACTIVATION = qi.QuantizationTarget.Weights, qi.QuantizationTarget.Activation
SHAPE = (3, 3, 2, 4)

PAIRS = [
    (training_method, method, target)
    for target, table in (
        (WEIGHTS, dispatcher.METHOD2WEIGHTQUANTIZER),
        (ACTIVATION, dispatcher.METHOD2ACTQUANTIZER),
    )
    for training_method, methods in table.items()
    if training_method is TrainingMethod.STE  # scaffolded methods have their own tests
    for method in methods
]


def weights_config(method, n_bits=4, per_channel=True, axis=-1, shape=SHAPE, seed=0):
    rng = np.random.default_rng(seed)
    channels = shape[axis] if per_channel else 1
    if method is M.UNIFORM:
        low = -rng.uniform(0.2, 1.0, channels)
        params = {
            "range_min": low.tolist(),
            "range_max": (low + rng.uniform(0.5, 2.0, channels)).tolist(),
        }
    else:
        params = {"threshold": rng.uniform(0.3, 1.5, channels).tolist()}
    if not per_channel:
        params = {key: value[0] for key, value in params.items()}
    return qi.NodeWeightsQuantizationConfig(
        method,
        n_bits,
        params,
        weights_channels_axis=axis if per_channel else None,
        weights_per_channel_threshold=per_channel,
    )


def activation_config(method, n_bits=4, signed=True):
    if method is M.UNIFORM:
        params = {"range_min": -0.7 if signed else 0.3, "range_max": 1.9}
    else:
        params = {"threshold": 1.3, "is_signed": signed}
    return qi.NodeActivationQuantizationConfig(method, n_bits, params)


def make_quantizer(training_method, method, target, **options):
    cls = dispatcher.get_trainable_quantizer_class(training_method, method, target)
    config = (
        weights_config(method, **options)
        if target is WEIGHTS
        else activation_config(method, **options)
    )
    return cls(config)


def initialized(quantizer, shape=SHAPE):
    """The quantizer with its variables created on a fresh layer, as a wrapper would do."""
    layer = keras.layers.Layer()
    variables = quantizer.initialize_quantization(shape, "t", layer)
    assert variables and all(not v.trainable for v in variables.values())
    assert {id(v) for v in layer.weights} == {id(v) for v in variables.values()}
    return quantizer


def grid_steps(quantizer, y):
    """(y - offset) / step for the quantizer's grid, broadcast like ``y``; integers if on grid."""
    inferable = quantizer.convert2inferable()
    config = inferable.get_config()
    n = config["num_bits"]
    axis = config.get("channel_axis") if config.get("per_channel") else None

    def shaped(values):
        values = np.asarray(values, np.float64)
        if axis is None:
            return values.reshape([])
        shape = [1] * y.ndim
        shape[axis] = -1
        return values.reshape(shape)

    if "threshold" in config:
        signed = config.get("signed", True)
        step = shaped(config["threshold"]) / 2 ** (n - signed)
        return y / step, -(2 ** (n - 1)) * signed, 2 ** (n - signed) - 1
    low, high = shaped(config["min_range"]), shaped(config["max_range"])
    low, high = np.minimum(low, 0), np.maximum(high, 0)
    step = (high - low) / (2**n - 1)
    low = step * np.round(low / step)
    return (y - low) / step, 0, 2**n - 1


LAYOUTS = [
    (*pair, per_channel)
    for pair in PAIRS
    for per_channel in (True, False)
    if per_channel or pair[2] is WEIGHTS  # activations have one threshold
]


@pytest.mark.parametrize(
    "training_method,method,target,per_channel",
    LAYOUTS,
    ids=lambda v: {True: "per_channel", False: "per_tensor"}.get(v, getattr(v, "name", v)),
)
def test_every_dispatcher_entry_quantizes_to_its_grid_and_matches_its_inferable(
    training_method, method, target, per_channel
):
    options = {"per_channel": per_channel} if target is WEIGHTS else {}
    quantizer = initialized(make_quantizer(training_method, method, target, **options))
    x = tf.random.stateless_normal(SHAPE, seed=[1, 2]) * 1.5
    y = quantizer(x, True).numpy()
    levels, low, high = grid_steps(quantizer, y.astype(np.float64))
    np.testing.assert_allclose(levels, np.round(levels), atol=1e-3)
    assert levels.min() >= low - 1e-3 and levels.max() <= high + 1e-3
    inferable = quantizer.convert2inferable()
    expected_class = qi.get_keras_inferable_quantizer_class(target, method)
    assert type(inferable) is expected_class
    np.testing.assert_allclose(inferable(x).numpy(), y, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(quantizer(x, False).numpy(), y)  # STE: the same in both modes
    # before initialize_quantization there are no variables to quantize with
    with pytest.raises(RuntimeError, match="has no variables yet: initialize_quantization"):
        make_quantizer(training_method, method, target, **options)(x, True)


@pytest.mark.parametrize(
    "training_method,method,target", PAIRS, ids=lambda v: getattr(v, "name", v)
)
def test_ste_gradient_is_one_inside_the_range_and_zero_outside(training_method, method, target):
    quantizer = initialized(make_quantizer(training_method, method, target))
    x = tf.random.stateless_normal(SHAPE, seed=[3, 4]) * 3.0
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = quantizer(x, True)
    gradient = tape.gradient(y, x).numpy()
    position, low, high = grid_steps(quantizer, x.numpy().astype(np.float64))
    inside = (position >= low + 1e-3) & (position <= high - 1e-3)
    outside = (position <= low - 1e-3) | (position >= high + 1e-3)
    assert inside.any() and outside.any()
    assert np.all(gradient[inside] == 1.0)
    assert np.all(gradient[outside] == 0.0)


@pytest.mark.parametrize("method", [M.SYMMETRIC, M.POWER_OF_TWO, M.UNIFORM])
@pytest.mark.parametrize("axis", [0, 1, 2, 3, -1, -2, -4])
def test_weights_per_channel_on_every_axis(method, axis):
    cls = dispatcher.get_trainable_quantizer_class(TrainingMethod.STE, method, WEIGHTS)
    quantizer = initialized(cls(weights_config(method, axis=axis)))
    x = tf.random.stateless_normal(SHAPE, seed=[5, 6])
    y = quantizer(x, True).numpy()
    levels, _, _ = grid_steps(quantizer, y.astype(np.float64))
    np.testing.assert_allclose(levels, np.round(levels), atol=1e-3)
    np.testing.assert_allclose(quantizer.convert2inferable()(x).numpy(), y, atol=1e-6)


def test_power_of_two_thresholds_are_rounded_up_once_at_construction():
    config = qi.NodeWeightsQuantizationConfig(
        M.POWER_OF_TWO, 8, {"threshold": [0.3, 0.5, 1e-9, 3.0]}, weights_channels_axis=-1
    )
    quantizer = initialized(STEWeightQuantizer(config), shape=(2, 4))
    assert quantizer.convert2inferable().threshold == [0.5, 0.5, 2.0**-16, 4.0]
    activation = dispatcher.get_trainable_quantizer_class(
        TrainingMethod.STE, M.POWER_OF_TWO, ACTIVATION
    )
    act = activation(qi.NodeActivationQuantizationConfig(M.POWER_OF_TWO, 8, {"threshold": 5.0}))
    assert initialized(act).convert2inferable().threshold == [8.0]


@pytest.mark.parametrize("method", [M.SYMMETRIC, M.UNIFORM])
def test_unsigned_activations_use_the_whole_grid_on_non_negative_values(method):
    cls = dispatcher.get_trainable_quantizer_class(TrainingMethod.STE, method, ACTIVATION)
    quantizer = initialized(cls(activation_config(method, n_bits=3, signed=False)))
    x = tf.linspace(-1.0, 3.0, 401)
    y = quantizer(x, True).numpy()
    assert y.min() == 0.0
    assert len(np.unique(y)) == 2**3


def test_per_channel_threshold_count_must_match_the_kernel():
    quantizer = STEWeightQuantizer(weights_config(M.SYMMETRIC, shape=(3, 3, 2, 5)))
    with pytest.raises(ValueError, match="threshold has 5 values but the tensor has 4 channels"):
        quantizer.initialize_quantization(SHAPE, "kernel", keras.layers.Layer())


def test_a_wrong_method_names_the_quantizer_and_the_fix():
    with pytest.raises(
        ValueError, match="STEWeightQuantizer implements SYMMETRIC, POWER_OF_TWO but"
    ):
        STEWeightQuantizer(weights_config(M.UNIFORM))


@pytest.mark.parametrize(
    "training_method,method,target", PAIRS, ids=lambda v: getattr(v, "name", v)
)
def test_quantizers_are_registered_and_round_trip_through_keras_serialization(
    training_method, method, target
):
    quantizer = make_quantizer(training_method, method, target)
    cls = type(quantizer)
    assert keras.utils.get_registered_name(cls) == f"{cls.__module__}>{cls.__name__}"
    restored = keras.utils.deserialize_keras_object(keras.utils.serialize_keras_object(quantizer))
    assert type(restored) is cls
    assert restored.get_config() == quantizer.get_config()
    x = tf.random.stateless_normal(SHAPE, seed=[7, 8])
    np.testing.assert_array_equal(
        initialized(restored)(x, True).numpy(), initialized(quantizer)(x, True).numpy()
    )


def test_dispatcher_error_lists_what_is_registered(monkeypatch):
    monkeypatch.setitem(
        dispatcher.METHOD2WEIGHTQUANTIZER, TrainingMethod.STE, {M.SYMMETRIC: STEWeightQuantizer}
    )
    with pytest.raises(ValueError) as error:
        dispatcher.get_trainable_quantizer_class(TrainingMethod.STE, M.UNIFORM, WEIGHTS)
    message = str(error.value)
    assert "no Weights quantizer is registered for training method STE with UNIFORM" in message
    assert "registered: STE: SYMMETRIC" in message
    assert "scaffold-quantizer --method STE --target weights" in message


def test_training_methods_are_plain_integers():
    assert all(type(member.value) is int for member in TrainingMethod)
    assert TrainingMethod.STE.value == 0
    assert set(dispatcher.METHOD2WEIGHTQUANTIZER) <= set(TrainingMethod)
    assert set(dispatcher.METHOD2ACTQUANTIZER) <= set(TrainingMethod)
