"""BaseKerasTrainableQuantizer: the contract, its checks, declared parameters, calibration."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from runtime_test_quantizers import LearnedThresholdQuantizer, RoundQuantizer, weights_config

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.quantizers_infrastructure.keras import base_keras_trainable_quantizer
from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras, tf

ACTIVATION_CONFIG = qi.NodeActivationQuantizationConfig("symmetric", 8, {"threshold": 4.0})
SYMMETRIC = [qi.QuantizationMethod.SYMMETRIC]


def test_the_base_cannot_be_instantiated():
    with pytest.raises(TypeError, match="abstract"):
        qi.BaseKerasTrainableQuantizer(weights_config(), qi.QuantizationTarget.Weights, SYMMETRIC)


@pytest.mark.parametrize("missing", ["__call__", "convert2inferable"])
def test_a_subclass_missing_a_method_cannot_be_instantiated(missing):
    methods = {
        "__call__": lambda self, inputs, training: inputs,
        "convert2inferable": lambda self: None,
    }
    del methods[missing]
    cls = type("Incomplete", (qi.BaseKerasTrainableQuantizer,), methods)
    with pytest.raises(TypeError, match=missing):
        cls(weights_config(), qi.QuantizationTarget.Weights, SYMMETRIC)


@pytest.mark.parametrize(
    "call",
    [
        lambda self, inputs: inputs,  # the seed's form: no training
        lambda self, inputs, flag: inputs,  # training under another name
        lambda self, inputs, **kwargs: inputs,  # training only as a keyword
    ],
    ids=["seed-form", "renamed", "keyword-only"],
)
def test_a_call_that_cannot_take_inputs_and_training_is_refused_when_the_class_is_defined(call):
    with pytest.raises(TypeError, match=r"must take \(self, inputs, training\): the wrapper"):
        type("OldStyle", (qi.BaseKerasTrainableQuantizer,), {"__call__": call})


def test_config_for_another_target_names_the_class_and_the_expected_config():
    with pytest.raises(ValueError) as info:
        RoundQuantizer(ACTIVATION_CONFIG)
    message = str(info.value)
    assert "RoundQuantizer quantizes Weights" in message
    assert "needs a NodeWeightsQuantizationConfig, got NodeActivationQuantizationConfig" in message


def test_a_method_not_listed_names_the_class_and_the_fix():
    config = qi.NodeWeightsQuantizationConfig("uniform", 8, {"range_min": -1.0, "range_max": 1.0})
    with pytest.raises(ValueError) as info:
        RoundQuantizer(config)
    message = str(info.value)
    assert message.startswith("RoundQuantizer implements SYMMETRIC")
    assert "config asks for UNIFORM" in message and "change the config's method" in message


def test_a_disabled_config_is_refused_rather_than_silently_quantized():
    config = qi.NodeWeightsQuantizationConfig(
        "symmetric", 8, {"threshold": 1.0}, enable_weights_quantization=False
    )
    with pytest.raises(ValueError, match="weights quantization disabled: leave that tensor"):
        RoundQuantizer(config)


def test_get_config_from_config_round_trip_with_an_extra_argument():
    quantizer = LearnedThresholdQuantizer(weights_config(0.5, 6), extra_scale=2.0)
    config = quantizer.get_config()
    assert json.loads(json.dumps(config)) == config
    clone = LearnedThresholdQuantizer.from_config(config)
    assert clone.extra_scale == 2.0
    assert clone.quantization_config == quantizer.quantization_config
    assert clone.get_config() == config


def test_initialize_quantization_creates_exactly_the_declared_variables_on_the_layer():
    layer = keras.layers.Layer()
    quantizer = LearnedThresholdQuantizer(weights_config(0.5), 3.0)
    with pytest.raises(RuntimeError, match="has no variables yet: initialize_quantization"):
        quantizer.parameters  # noqa: B018
    variables = quantizer.initialize_quantization((3, 3), "kernel", layer)
    assert list(variables) == ["threshold"] == list(quantizer.parameters)
    assert layer.trainable_weights == [variables["threshold"]]
    assert variables["threshold"].shape == ()
    assert isinstance(variables["threshold"], tf.Variable)
    assert quantizer.parameter_values() == {"threshold": [1.5]}
    with pytest.raises(RuntimeError, match="already initialized .*give each tensor its own"):
        quantizer.initialize_quantization((3, 3), "kernel", keras.layers.Layer())


class _Declared(qi.BaseKerasTrainableQuantizer):
    """Three parameters of every kind and layout, for the base's variable layout."""

    parameter_spec = qi.ParameterSpec(
        qi.QuantizerParameter("threshold"),  # fixed, calibrated, per channel
        qi.QuantizerParameter("alpha", "learned", initial=6.0, per_channel=False),
        qi.QuantizerParameter("low", "learned", initial="range_min"),
    )

    def __init__(self, config):  # type: ignore[no-untyped-def]
        super().__init__(config, qi.QuantizationTarget.Weights, SYMMETRIC)

    def __call__(self, inputs, training):  # type: ignore[no-untyped-def]
        return inputs

    def convert2inferable(self):  # type: ignore[no-untyped-def]
        return None


def test_parameters_are_laid_out_by_kind_channel_and_initial_value():
    config = qi.NodeWeightsQuantizationConfig(
        "symmetric", 4, {"threshold": [0.5, 1.0, 2.0]}, weights_channels_axis=-1
    )
    quantizer = _Declared(config)
    layer = keras.layers.Layer()
    variables = quantizer.initialize_quantization((5, 3), "kernel_quantizer", layer)
    assert [v.name for v in layer.non_trainable_weights] == ["kernel_quantizer_threshold:0"]
    assert {v.name for v in layer.trainable_weights} == {
        "kernel_quantizer_alpha:0",
        "kernel_quantizer_low:0",
    }
    assert variables["threshold"].shape == (3,) and variables["alpha"].shape == ()
    assert quantizer.parameter_values() == {
        "threshold": [0.5, 1.0, 2.0],
        "alpha": [6.0],
        "low": [-0.5, -1.0, -2.0],
    }


def test_a_per_tensor_config_gives_every_parameter_one_value():
    config = qi.NodeWeightsQuantizationConfig(
        "symmetric", 4, {"threshold": 0.75}, weights_per_channel_threshold=False
    )
    quantizer = _Declared(config)
    quantizer.initialize_quantization((5, 3), "k", keras.layers.Layer())
    assert all(v.shape == () for v in quantizer.parameters.values())


def test_a_channel_count_mismatch_names_the_parameter_and_the_fix():
    config = qi.NodeWeightsQuantizationConfig(
        "symmetric", 4, {"threshold": [0.5, 1.0]}, weights_channels_axis=-1
    )
    with pytest.raises(ValueError, match="threshold has 2 values but the tensor has 3 channels"):
        _Declared(config).initialize_quantization((5, 3), "k", keras.layers.Layer())


class _Calibrating(LearnedThresholdQuantizer):
    def calibrate(self, values):  # type: ignore[no-untyped-def]
        return {"threshold": float(np.abs(values).max()) / 2}


def test_calibrate_parameters_assigns_what_calibrate_returns():
    assert not LearnedThresholdQuantizer.has_calibration()
    assert _Calibrating.has_calibration()
    quantizer = _Calibrating(weights_config(0.5))
    quantizer.initialize_quantization((2, 2), "k", keras.layers.Layer())
    assert quantizer.calibrate_parameters(np.array([[1.0, -3.0], [0.5, 2.0]])) == {
        "threshold": [1.5]
    }
    assert quantizer.parameter_values() == {"threshold": [1.5]}


def test_calibrate_may_only_return_declared_parameters():
    class Wrong(LearnedThresholdQuantizer):
        def calibrate(self, values):  # type: ignore[no-untyped-def]
            return {"scale": 1.0}

    quantizer = Wrong(weights_config(0.5))
    quantizer.initialize_quantization((2, 2), "k", keras.layers.Layer())
    with pytest.raises(ValueError, match="returned scale, which it does not declare"):
        quantizer.calibrate_parameters(np.ones((2, 2)))


def test_one_quantizer_in_two_wrappers_is_refused_by_name():
    quantizer = LearnedThresholdQuantizer(weights_config(0.5))
    first = qi.KerasQuantizationWrapper(keras.layers.Dense(2, name="a"), {"kernel": quantizer})
    second = qi.KerasQuantizationWrapper(keras.layers.Dense(2, name="b"), {"kernel": quantizer})
    first.build((None, 3))
    with pytest.raises(
        ValueError,
        match=re.escape("already quantizes quant_a.kernel, so it cannot quantize quant_b.kernel"),
    ):
        second.build((None, 3))


def test_the_documented_example_runs_as_written():
    """The example in base_keras_trainable_quantizer's docstring, executed verbatim."""
    doc = base_keras_trainable_quantizer.__doc__
    block = doc.split("Example (runs as written)::\n", 1)[1]
    lines = [line[4:] if line.startswith("    ") else line for line in block.splitlines()]
    code = "\n".join(lines).replace('\\"', '"')
    namespace = {"__name__": "docstring_example"}
    exec(compile(code, str(Path(base_keras_trainable_quantizer.__file__)), "exec"), namespace)
    wrapper = namespace["wrapper"]
    assert wrapper.quantizer_variables["kernel"]["threshold"].trainable
