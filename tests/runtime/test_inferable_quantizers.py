"""The six inferable quantizers against an independent numpy reference of docs/DESIGN.md."""

from __future__ import annotations

import json

import numpy as np
import pytest
from runtime_reference import off_tie_codes, reference_range, reference_symmetric, reference_uniform

from quantizer_scaffold import quantizers_infrastructure as qi

SHAPE = (3, 4, 5, 6)  # a rank-4 kernel; every axis has a different size
AXES = [0, 1, 2, 3, -1, -2, -3, -4]
BITS = range(2, 9)


def _on_grid(out, step, low, qmin, qmax):  # type: ignore[no-untyped-def]
    """Each output is low + k * step with integer k in [qmin, qmax] (to float32 rounding)."""
    k = (out.astype(np.float64) - low) / step
    tolerance = max(1e-3, (qmax - qmin) * 2e-7)  # float32 carries ~7 digits of k
    assert np.all(np.abs(k - np.round(k)) < tolerance)
    assert k.min() >= qmin - tolerance and k.max() <= qmax + tolerance


def _per_channel_inputs(rng, thresholds, axis, qmin, qmax, delta_of):  # type: ignore[no-untyped-def]
    """Inputs for each channel spread over its own grid (and beyond), off the rounding ties."""
    broadcast = [1] * 4
    broadcast[axis % 4] = -1
    step = delta_of(np.asarray(thresholds, np.float64)).reshape(broadcast)
    return (off_tie_codes(rng, SHAPE, qmin, qmax) * step).astype(np.float32), step


@pytest.mark.parametrize("pot", [False, True], ids=["symmetric", "pot"])
@pytest.mark.parametrize("n_bits", BITS)
def test_weights_threshold_per_channel_every_axis(rng, pot, n_bits):
    cls = qi.WeightsPOTInferableQuantizer if pot else qi.WeightsSymmetricInferableQuantizer
    qmin, qmax = -(2 ** (n_bits - 1)), 2 ** (n_bits - 1) - 1
    for axis in AXES:
        channels = SHAPE[axis]
        if pot:
            thresholds = [2.0 ** float(e) for e in rng.integers(-3, 3, channels)]
        else:
            thresholds = rng.uniform(0.1, 3.0, channels).tolist()
        quantizer = cls(n_bits, thresholds, per_channel=True, channel_axis=axis)
        x, delta = _per_channel_inputs(
            rng, thresholds, axis, qmin, qmax, lambda t, n=n_bits: t / 2 ** (n - 1)
        )
        broadcast = delta * 2 ** (n_bits - 1)
        expected, _, codes, _ = reference_symmetric(x, broadcast, n_bits)
        out = quantizer(x).numpy()
        np.testing.assert_allclose(out / delta, codes, atol=1e-4, err_msg=f"axis {axis}")
        _on_grid(out / delta, 1.0, 0.0, qmin, qmax)
        assert np.all(np.abs(out) <= broadcast + 1e-6)


@pytest.mark.parametrize("pot", [False, True], ids=["symmetric", "pot"])
@pytest.mark.parametrize("n_bits", [1, *BITS, 16])
def test_weights_threshold_per_tensor(rng, pot, n_bits):
    cls = qi.WeightsPOTInferableQuantizer if pot else qi.WeightsSymmetricInferableQuantizer
    threshold = 0.5 if pot else 0.731
    delta = threshold / 2 ** (n_bits - 1)
    qmin, qmax = -(2 ** (n_bits - 1)), 2 ** (n_bits - 1) - 1
    x = (off_tie_codes(rng, SHAPE, qmin, qmax) * delta).astype(np.float32)
    out = cls(n_bits, [threshold], per_channel=False)(x).numpy()
    expected, _, codes, _ = reference_symmetric(x, threshold, n_bits)
    np.testing.assert_allclose(out / delta, codes, atol=1e-4 if n_bits < 16 else 1e-2)
    np.testing.assert_allclose(out, expected, atol=delta * 1e-3)
    _on_grid(out, delta, 0.0, qmin, qmax)


@pytest.mark.parametrize("pot", [False, True], ids=["symmetric", "pot"])
@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
@pytest.mark.parametrize("n_bits", BITS)
def test_activation_threshold(rng, pot, signed, n_bits):
    cls = qi.ActivationPOTInferableQuantizer if pot else qi.ActivationSymmetricInferableQuantizer
    threshold = 4.0 if pot else 2.618
    delta = threshold / 2 ** (n_bits - int(signed))
    qmin = -(2 ** (n_bits - 1)) if signed else 0
    qmax = 2 ** (n_bits - int(signed)) - 1
    x = (off_tie_codes(rng, (64, 7), qmin, qmax) * delta).astype(np.float32)
    out = cls(n_bits, [threshold], signed)(x).numpy()
    expected, _, codes, _ = reference_symmetric(x, threshold, n_bits, signed)
    np.testing.assert_allclose(out / delta, codes, atol=1e-4)
    np.testing.assert_allclose(out, expected, atol=delta * 1e-3)
    _on_grid(out, delta, 0.0, qmin, qmax)
    bound = np.float32(threshold) * (1 + 1e-6)
    assert out.min() >= (-bound if signed else 0.0) and out.max() <= bound - delta


@pytest.mark.parametrize("n_bits", BITS)
def test_weights_uniform_per_channel_every_axis(rng, n_bits):
    for axis in AXES:
        channels = SHAPE[axis]
        lows = rng.uniform(-2.0, 0.5, channels)
        highs = lows + rng.uniform(0.3, 3.0, channels)
        quantizer = qi.WeightsUniformInferableQuantizer(
            n_bits, lows.tolist(), highs.tolist(), per_channel=True, channel_axis=axis
        )
        broadcast = [1] * 4
        broadcast[axis % 4] = -1
        low_adj, high_adj, scale = (
            v.reshape(broadcast) for v in reference_range(lows, highs, n_bits)
        )
        x = (low_adj + scale * off_tie_codes(rng, SHAPE, 0, 2**n_bits - 1)).astype(np.float32)
        expected, _, codes, _ = reference_uniform(
            x, lows.reshape(broadcast), highs.reshape(broadcast), n_bits
        )
        out = quantizer(x).numpy()
        np.testing.assert_allclose(
            (out - low_adj) / scale, codes, atol=1e-3, err_msg=f"axis {axis}"
        )
        assert np.all(out >= low_adj - 1e-5) and np.all(out <= high_adj + 1e-5)
        # zero is representable exactly: quantizing 0 gives 0
        np.testing.assert_allclose(quantizer(np.zeros(SHAPE, np.float32)).numpy(), 0.0, atol=1e-6)


@pytest.mark.parametrize("n_bits", [1, *BITS])
@pytest.mark.parametrize(
    "rng_range", [(-1.3, 2.1), (0.4, 3.0), (-3.0, -0.2)], ids=["mid", "pos", "neg"]
)
def test_activation_uniform(rng, n_bits, rng_range):
    a, b = rng_range
    quantizer = qi.ActivationUniformInferableQuantizer(n_bits, [a], [b])
    low, high, scale = reference_range(a, b, n_bits)
    x = (low + scale * off_tie_codes(rng, (64, 7), 0, 2**n_bits - 1)).astype(np.float32)
    expected, _, codes, _ = reference_uniform(x, a, b, n_bits)
    out = quantizer(x).numpy()
    np.testing.assert_allclose((out - low) / scale, codes, atol=1e-3)
    np.testing.assert_allclose(out, expected, atol=scale * 1e-3)
    _on_grid(out, scale, low, 0, 2**n_bits - 1)


ERRORS = [
    (
        lambda: qi.WeightsPOTInferableQuantizer(8, [0.75], False),
        "threshold\\[0\\] = 0.75 is not a power of two: use 1.0",
    ),
    (lambda: qi.ActivationPOTInferableQuantizer(8, [3.0], True), "is not a power of two: use 4.0"),
    (
        lambda: qi.WeightsSymmetricInferableQuantizer(8, [1.0, 2.0], True),
        "per_channel=True needs channel_axis",
    ),
    (
        lambda: qi.WeightsUniformInferableQuantizer(8, [-1.0], [1.0], True),
        "per_channel=True needs channel_axis",
    ),
    (
        lambda: qi.WeightsSymmetricInferableQuantizer(8, [1.0, 2.0], False),
        "per_channel=False takes one value, got 2",
    ),
    (
        lambda: qi.WeightsUniformInferableQuantizer(8, [-1.0, 0.0], [1.0], True, 0),
        "same length, got 2 and 1",
    ),
    (
        lambda: qi.ActivationUniformInferableQuantizer(8, [-1.0], [1.0, 2.0]),
        "same length, got 1 and 2",
    ),
    (
        lambda: qi.ActivationUniformInferableQuantizer(8, [1.0], [1.0]),
        "min_range must be < max_range",
    ),
    (
        lambda: qi.ActivationSymmetricInferableQuantizer(0, [1.0], True),
        "num_bits must be an int in 1..16, got 0",
    ),
    (
        lambda: qi.WeightsSymmetricInferableQuantizer(17, [1.0], False),
        "num_bits must be an int in 1..16, got 17",
    ),
    (
        lambda: qi.ActivationSymmetricInferableQuantizer(8, [1.0, 2.0], True),
        "activations take one threshold, got 2",
    ),
    (
        lambda: qi.ActivationSymmetricInferableQuantizer(8, [-1.0], True),
        "threshold\\[0\\] must be positive",
    ),
    (
        lambda: qi.WeightsSymmetricInferableQuantizer(8, [], False),
        "threshold must not be an empty list",
    ),
    (
        lambda: qi.WeightsSymmetricInferableQuantizer(8, [float("nan")], False),
        "must be a finite number",
    ),
    (
        lambda: qi.WeightsSymmetricInferableQuantizer(8, [1.0], True, 1.5),
        "channel_axis must be an int",
    ),
    (
        lambda: qi.ActivationSymmetricInferableQuantizer(8, [1.0], "yes"),
        "signed must be True or False",
    ),
]


@pytest.mark.parametrize("make, message", ERRORS)
def test_constructor_errors_name_the_class_and_the_problem(make, message):
    with pytest.raises(ValueError, match=message) as info:
        make()
    assert "InferableQuantizer:" in str(info.value)


def test_per_channel_count_must_match_the_tensor():
    quantizer = qi.WeightsSymmetricInferableQuantizer(8, [1.0, 2.0, 4.0], True, channel_axis=-1)
    with pytest.raises(ValueError, match="3 per-channel values for 6 channels on axis -1"):
        quantizer(np.zeros(SHAPE, np.float32))


INSTANCES = [
    qi.WeightsSymmetricInferableQuantizer(8, [0.5, 1.25], True, 0),
    qi.WeightsPOTInferableQuantizer(4, [0.5], False),
    qi.WeightsUniformInferableQuantizer(6, [-1.0, -0.25], [1.0, 0.75], True, -1),
    qi.ActivationSymmetricInferableQuantizer(8, [6.0], False),
    qi.ActivationPOTInferableQuantizer(8, [8.0], True),
    qi.ActivationUniformInferableQuantizer(8, [-0.5], [5.5]),
]


@pytest.mark.parametrize("quantizer", INSTANCES, ids=lambda q: type(q).__name__)
def test_config_round_trip_is_plain_json(quantizer):
    config = quantizer.get_config()
    assert json.loads(json.dumps(config)) == config
    assert all(type(v) in (int, float, bool, list, type(None)) for v in config.values())
    clone = type(quantizer).from_config(config)
    assert clone.get_config() == config
    x = np.linspace(-3, 3, 2 * 3 * 2, dtype=np.float32).reshape(2, 3, 2)
    np.testing.assert_array_equal(clone(x).numpy(), quantizer(x).numpy())


def test_numpy_parameters_are_stored_as_plain_python():
    quantizer = qi.WeightsSymmetricInferableQuantizer(
        np.int64(8), np.array([0.5, 1.5], np.float32), np.bool_(True), np.int64(-1)
    )
    config = quantizer.get_config()
    assert (
        json.loads(json.dumps(config))
        == config
        == {"num_bits": 8, "threshold": [0.5, 1.5], "per_channel": True, "channel_axis": -1}
    )


@pytest.mark.parametrize(
    "target, method, cls",
    [
        (
            qi.QuantizationTarget.Weights,
            qi.QuantizationMethod.SYMMETRIC,
            "WeightsSymmetricInferableQuantizer",
        ),
        (
            qi.QuantizationTarget.Weights,
            qi.QuantizationMethod.POWER_OF_TWO,
            "WeightsPOTInferableQuantizer",
        ),
        (
            qi.QuantizationTarget.Weights,
            qi.QuantizationMethod.UNIFORM,
            "WeightsUniformInferableQuantizer",
        ),
        (
            qi.QuantizationTarget.Activation,
            qi.QuantizationMethod.SYMMETRIC,
            "ActivationSymmetricInferableQuantizer",
        ),
        (
            qi.QuantizationTarget.Activation,
            qi.QuantizationMethod.POWER_OF_TWO,
            "ActivationPOTInferableQuantizer",
        ),
        (
            qi.QuantizationTarget.Activation,
            qi.QuantizationMethod.UNIFORM,
            "ActivationUniformInferableQuantizer",
        ),
    ],
)
def test_lookup_by_target_and_method(target, method, cls):
    assert qi.get_keras_inferable_quantizer_class(target, method) is getattr(qi, cls)
    assert qi.get_keras_inferable_quantizer_class(target.value, method.value) is getattr(qi, cls)


def test_lookup_fails_clearly_on_zero_and_on_several_matches():
    with pytest.raises(ValueError, match="found 0: none"):
        qi.get_keras_inferable_quantizer_class("weights", "symmetric", identifier="NoSuchMethod")

    @qi.mark_quantizer(qi.QuantizationTarget.Weights, [qi.QuantizationMethod.SYMMETRIC], "Twice")
    class First(qi.BaseKerasInferableQuantizer):
        def __call__(self, inputs):  # type: ignore[no-untyped-def]
            return inputs

        def get_config(self):  # type: ignore[no-untyped-def]
            return {}

    @qi.mark_quantizer(qi.QuantizationTarget.Weights, [qi.QuantizationMethod.SYMMETRIC], "Twice")
    class Second(First):
        pass

    with pytest.raises(ValueError, match="found 2: .*First, .*Second"):
        qi.get_keras_inferable_quantizer_class("weights", "symmetric", identifier="Twice")


def _grid_levels(out: np.ndarray, grid: qi.UniformGrid) -> np.ndarray:
    """``out / scale + zero_point`` with the grid's per-channel values broadcast on its axis."""
    shape = [1] * out.ndim
    if grid.channels > 1:
        shape[grid.channel_axis] = -1
    scale = np.asarray(grid.scale, np.float64).reshape(shape)
    zero_point = np.asarray(grid.zero_point, np.float64).reshape(shape)
    return out.astype(np.float64) / scale + zero_point


GRID_CASES = {
    "weights symmetric": lambda: qi.WeightsSymmetricInferableQuantizer(
        4, [0.3, 0.7, 1.1, 2.0, 0.5], True, 2
    ),
    "weights pot": lambda: qi.WeightsPOTInferableQuantizer(3, [0.5], False),
    "weights uniform": lambda: qi.WeightsUniformInferableQuantizer(
        5, [-0.5, -0.1, 0.2, -2.0, -1.0, -0.3], [0.6, 0.9, 1.5, 0.1, 1.0, 0.3], True, -1
    ),
    "activation signed": lambda: qi.ActivationSymmetricInferableQuantizer(6, [3.0], True),
    "activation unsigned pot": lambda: qi.ActivationPOTInferableQuantizer(4, [8.0], False),
    "activation uniform": lambda: qi.ActivationUniformInferableQuantizer(8, [-0.7], [1.9]),
}


@pytest.mark.parametrize("case", GRID_CASES)
def test_grid_describes_every_output_and_fits_int8(rng, case):
    quantizer = GRID_CASES[case]()
    grid = quantizer.grid()
    x = rng.normal(0.0, 2.0, SHAPE).astype(np.float32)
    levels = _grid_levels(quantizer(x).numpy(), grid)
    np.testing.assert_allclose(levels, np.round(levels), atol=1e-3)
    assert levels.min() >= grid.quant_min - 1e-3 and levels.max() <= grid.quant_max + 1e-3
    assert grid.fits_integers(8) and type(quantizer).parameter_spec.names
