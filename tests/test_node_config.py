"""Node configs validate on construction and round-trip through JSON."""

import json
import math

import numpy as np
import pytest

from quantizer_scaffold import quantizers_infrastructure as qi


def test_weights_config_round_trips_through_json_with_plain_values():
    config = qi.NodeWeightsQuantizationConfig(
        qi.QuantizationMethod.SYMMETRIC, 8, {"threshold": np.array([0.5, 1.0], np.float32)}, 0
    )
    data = json.loads(json.dumps(config.to_dict()))
    assert data["weights_quantization_params"]["threshold"] == [0.5, 1.0]
    assert qi.NodeWeightsQuantizationConfig.from_dict(data) == config
    assert qi.config_from_dict(data) == config


def test_activation_config_round_trips_uniform_range():
    config = qi.NodeActivationQuantizationConfig(
        "uniform", 4, {"range_min": np.float32(-1.5), "range_max": 2.0}
    )
    data = json.loads(json.dumps(config.to_dict()))
    assert data["activation_quantization_params"] == {"range_min": -1.5, "range_max": 2.0}
    assert qi.config_from_dict(data) == config


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weights_n_bits": 0}, "weights_n_bits must be an int in 1..16"),
        ({"weights_n_bits": 64}, "weights_n_bits must be an int in 1..16"),
        ({"weights_n_bits": 8.0}, "weights_n_bits must be an int"),
        ({"weights_n_bits": True}, "weights_n_bits must be an int"),
        ({"weights_quantization_params": {"threshold": math.nan}}, "finite"),
        ({"weights_quantization_params": {"threshold": math.inf}}, "finite"),
        ({"weights_quantization_params": {"threshold": -1.0}}, "positive"),
        ({"weights_quantization_params": {"threshold": 0.0}}, "positive"),
        ({"weights_quantization_params": {"threshold": []}}, "empty"),
        ({"weights_quantization_params": {"threshold": "1"}}, "finite number"),
        ({"weights_quantization_params": {}}, "needs 'threshold'"),
        ({"weights_quantization_method": "nope"}, "must be a QuantizationMethod"),
        ({"weights_channels_axis": None}, "weights_channels_axis is required"),
        (
            {
                "weights_per_channel_threshold": False,
                "weights_quantization_params": {"threshold": [1.0, 2.0]},
            },
            "weights_per_channel_threshold is False",
        ),
    ],
)
def test_weights_config_rejects_bad_values(kwargs, message):
    arguments = {
        "weights_quantization_method": qi.QuantizationMethod.SYMMETRIC,
        "weights_n_bits": 8,
        "weights_quantization_params": {"threshold": 1.0},
    }
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        qi.NodeWeightsQuantizationConfig(**arguments)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"range_min": 1.0, "range_max": 1.0}, "range_min must be < range_max"),
        ({"range_min": 2.0, "range_max": 1.0}, "range_min must be < range_max"),
        ({"range_min": 0.0}, "needs 'range_max'"),
        ({"range_min": [0.0, 1.0], "range_max": [1.0]}, "same, non-zero length"),
        ({"range_min": math.nan, "range_max": 1.0}, "finite"),
    ],
)
def test_uniform_ranges_are_validated(params, message):
    with pytest.raises(ValueError, match=message):
        qi.NodeActivationQuantizationConfig(qi.QuantizationMethod.UNIFORM, 8, params)


def test_enum_values_are_stable_strings():
    assert [m.value for m in qi.QuantizationMethod] == ["power_of_two", "symmetric", "uniform"]
    assert [t.value for t in qi.QuantizationTarget] == ["weights", "activation"]
