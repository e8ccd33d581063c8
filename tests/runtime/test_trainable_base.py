"""BaseKerasTrainableQuantizer: the abstract contract, its checks and its config round trip."""

from __future__ import annotations

import json

import pytest
from runtime_test_quantizers import (
    LearnedThresholdQuantizer,
    SeedStyleRoundQuantizer,
    weights_config,
)

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.quantizers_infrastructure.keras.compat import tf

ACTIVATION_CONFIG = qi.NodeActivationQuantizationConfig("symmetric", 8, {"threshold": 4.0})


def test_the_base_cannot_be_instantiated():
    with pytest.raises(TypeError, match="abstract"):
        qi.BaseKerasTrainableQuantizer(
            weights_config(), qi.QuantizationTarget.Weights, [qi.QuantizationMethod.SYMMETRIC]
        )


@pytest.mark.parametrize("missing", ["__call__", "convert2inferable"])
def test_a_subclass_missing_a_method_cannot_be_instantiated(missing):
    methods = {
        "__call__": lambda self, inputs: inputs,
        "convert2inferable": lambda self: None,
    }
    del methods[missing]
    cls = type("Incomplete", (qi.BaseKerasTrainableQuantizer,), methods)
    with pytest.raises(TypeError, match=missing):
        cls(weights_config(), qi.QuantizationTarget.Weights, [qi.QuantizationMethod.SYMMETRIC])


def test_config_for_another_target_names_the_class_and_the_expected_config():
    with pytest.raises(ValueError) as info:
        SeedStyleRoundQuantizer(ACTIVATION_CONFIG)
    message = str(info.value)
    assert "SeedStyleRoundQuantizer quantizes Weights" in message
    assert "needs a NodeWeightsQuantizationConfig, got NodeActivationQuantizationConfig" in message


def test_a_method_not_listed_names_the_class_and_the_fix():
    config = qi.NodeWeightsQuantizationConfig("uniform", 8, {"range_min": -1.0, "range_max": 1.0})
    with pytest.raises(ValueError) as info:
        SeedStyleRoundQuantizer(config)
    message = str(info.value)
    assert message.startswith("SeedStyleRoundQuantizer implements SYMMETRIC")
    assert "config asks for UNIFORM" in message and "change the config's method" in message


def test_a_disabled_config_is_refused_rather_than_silently_quantized():
    config = qi.NodeWeightsQuantizationConfig(
        "symmetric", 8, {"threshold": 1.0}, enable_weights_quantization=False
    )
    with pytest.raises(ValueError, match="weights quantization disabled: leave that tensor"):
        SeedStyleRoundQuantizer(config)


def test_accepts_training_argument_is_read_from_the_class():
    assert not SeedStyleRoundQuantizer.accepts_training_argument()
    assert LearnedThresholdQuantizer.accepts_training_argument()


def test_get_config_from_config_round_trip_with_an_extra_argument():
    quantizer = LearnedThresholdQuantizer(weights_config(0.5, 6), extra_scale=2.0)
    config = quantizer.get_config()
    assert json.loads(json.dumps(config)) == config
    clone = LearnedThresholdQuantizer.from_config(config)
    assert clone.extra_scale == 2.0
    assert clone.quantization_config == quantizer.quantization_config
    assert clone.get_config() == config


def test_initialize_quantization_creates_variables_on_the_layer():
    from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras

    layer = keras.layers.Layer()
    variables = LearnedThresholdQuantizer(weights_config(0.5), 3.0).initialize_quantization(
        (3, 3), "kernel", layer
    )
    assert list(variables) == ["threshold"]
    assert layer.trainable_weights == [variables["threshold"]]
    assert float(variables["threshold"].numpy()) == 1.5
    assert isinstance(variables["threshold"], tf.Variable)
