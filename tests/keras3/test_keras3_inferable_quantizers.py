"""The six Keras 3 inferable quantizers: the Keras 2 names, configs, errors and outputs.

Outputs are compared with the Keras 2 quantizers on random inputs and random parameters, per
tensor and per channel on every axis: equal to float32 rounding (inputs stay off the exact
rounding ties, where two float32 computations may legitimately pick neighbouring levels).
"""

from __future__ import annotations

import numpy as np
import pytest
from keras3_helpers import numpy
from runtime_reference import off_tie_codes, reference_range

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.quantizers_infrastructure import keras3 as qi3

SHAPE = (3, 4, 5, 6)
AXES = [0, 1, 2, 3, -1, -2]
NAMES = [
    "WeightsSymmetricInferableQuantizer",
    "WeightsPOTInferableQuantizer",
    "WeightsUniformInferableQuantizer",
    "ActivationSymmetricInferableQuantizer",
    "ActivationPOTInferableQuantizer",
    "ActivationUniformInferableQuantizer",
]


def _random_case(rng, name, per_channel, axis):  # type: ignore[no-untyped-def]
    """Constructor kwargs, and inputs spread over the grid and beyond, off the ties."""
    n_bits = int(rng.integers(2, 9))
    channels = SHAPE[axis] if per_channel else 1
    broadcast = [1] * 4
    if per_channel:
        broadcast[axis % 4] = -1
    layout = {"per_channel": per_channel, "channel_axis": axis if per_channel else None}
    if "Uniform" in name:
        lows = rng.uniform(-2.0, 0.5, channels)
        highs = lows + rng.uniform(0.3, 3.0, channels)
        low, _, scale = (v.reshape(broadcast) for v in reference_range(lows, highs, n_bits))
        codes = off_tie_codes(rng, SHAPE, 0, 2**n_bits - 1)
        x = low + scale * codes
        kwargs = {"num_bits": n_bits, "min_range": lows.tolist(), "max_range": highs.tolist()}
    else:
        if "POT" in name:
            thresholds = 2.0 ** rng.integers(-3, 3, channels).astype(np.float64)
        else:
            thresholds = rng.uniform(0.1, 3.0, channels)
        signed = bool(rng.integers(0, 2)) if name.startswith("Activation") else True
        delta = (thresholds / 2 ** (n_bits - int(signed))).reshape(broadcast)
        qmin = -(2 ** (n_bits - 1)) if signed else 0
        codes = off_tie_codes(rng, SHAPE, qmin, 2 ** (n_bits - int(signed)) - 1)
        x = codes * delta
        kwargs = {"num_bits": n_bits, "threshold": thresholds.tolist()}
        if name.startswith("Activation"):
            kwargs["signed"] = signed
    if name.startswith("Weights"):
        kwargs.update(layout)
    return kwargs, x.astype(np.float32)


@pytest.mark.parametrize("name", NAMES)
def test_keras3_and_keras2_quantizers_agree_on_random_inputs_and_parameters(rng, name):
    cases = [(False, None)]
    if name.startswith("Weights"):
        cases += [(True, axis) for axis in AXES]
    for _ in range(3):
        for per_channel, axis in cases:
            kwargs, x = _random_case(rng, name, per_channel, axis if axis is not None else 0)
            keras2 = getattr(qi, name)(**kwargs)
            keras3 = getattr(qi3, name)(**kwargs)
            assert keras3.get_config() == keras2.get_config()
            expected = keras2(x).numpy()
            scale = float(np.max(np.abs(expected))) or 1.0
            np.testing.assert_allclose(
                numpy(keras3(x)), expected, rtol=0, atol=4e-7 * scale, err_msg=str(kwargs)
            )


@pytest.mark.parametrize("name", NAMES)
def test_same_names_markers_and_config_round_trip(name):
    keras3_class, keras2_class = getattr(qi3, name), getattr(qi, name)
    assert keras3_class.__name__ == keras2_class.__name__
    assert issubclass(keras3_class, qi3.BaseKerasInferableQuantizer)
    assert not issubclass(keras3_class, qi.BaseKerasInferableQuantizer)
    assert keras3_class.quantization_target is keras2_class.quantization_target
    assert keras3_class.quantization_methods == keras2_class.quantization_methods
    for method in keras3_class.quantization_methods:
        found = qi3.get_keras_inferable_quantizer_class(keras3_class.quantization_target, method)
        assert found is keras3_class
    kwargs, _ = _random_case(np.random.default_rng(0), name, name.startswith("Weights"), -1)
    quantizer = keras3_class(**kwargs)
    assert keras3_class.from_config(quantizer.get_config()).get_config() == quantizer.get_config()


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        (NAMES[1], {"num_bits": 8, "threshold": [0.3], "per_channel": False}),
        (NAMES[0], {"num_bits": 0, "threshold": [1.0], "per_channel": False}),
        (NAMES[0], {"num_bits": 8, "threshold": [1.0, 2.0], "per_channel": False}),
        (NAMES[5], {"num_bits": 8, "min_range": [1.0], "max_range": [0.5]}),
    ],
)
def test_invalid_parameters_are_refused_with_the_keras2_message(name, kwargs):
    with pytest.raises(ValueError) as keras2_error:
        getattr(qi, name)(**kwargs)
    with pytest.raises(ValueError) as keras3_error:
        getattr(qi3, name)(**kwargs)
    assert str(keras3_error.value) == str(keras2_error.value)


def test_per_channel_values_must_match_the_tensor():
    quantizer = qi3.WeightsSymmetricInferableQuantizer(8, [1.0, 2.0], True, -1)
    with pytest.raises(ValueError, match="2 per-channel values for 3 channels on axis -1"):
        quantizer(np.ones((4, 3), np.float32))
