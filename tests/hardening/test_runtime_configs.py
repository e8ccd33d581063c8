"""Fuzzed runtime parameters: a ValueError at construction, or a quantizer with finite outputs.

Node configs and the six inferable quantizers get NaN/inf/negative/zero/huge/tiny thresholds,
n_bits 0 or 64, empty or nested per-channel lists and wrong types. A constructor that accepts
its input must compute finite values in float32 (never a silent NaN model).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hardening_helpers import fuzz, tried
from hypothesis import event, given
from hypothesis import strategies as st

from quantizer_scaffold import quantizers_infrastructure as qi

F32_MAX = float(np.finfo(np.float32).max)
F32_TINY = float(np.finfo(np.float32).tiny)

bad_scalars = st.sampled_from(
    [
        math.nan,
        math.inf,
        -math.inf,
        -1.0,
        0.0,
        -0.0,
        1e39,
        -1e39,
        1e-300,
        10**400,
        "1.0",
        None,
        True,
        [],
        [[1.0]],
        {"t": 1.0},
        1j,
        b"1",
        object(),
    ]  # fmt: skip
)
good_floats = st.floats(min_value=2.0**-12, max_value=2.0**12)
any_floats = st.floats(allow_nan=True, allow_infinity=True) | st.floats(-1e3, 1e3)
pot = st.integers(-12, 12).map(lambda e: 2.0**e)
good_thresholds = st.one_of(
    good_floats,
    pot,
    st.lists(good_floats | pot, min_size=1, max_size=3),
    st.lists(pot, min_size=1, max_size=3),
)


def mostly(good: st.SearchStrategy, bad: st.SearchStrategy) -> st.SearchStrategy:
    """Three parts valid values to one part invalid ones."""
    return st.one_of(good, good, good, bad)


thresholds = st.one_of(
    good_thresholds,
    good_thresholds,
    good_thresholds,
    bad_scalars,
    st.lists(good_floats | bad_scalars, max_size=3),
    st.lists(any_floats, min_size=0, max_size=3),
    any_floats,
    st.builds(lambda xs: np.array(xs, np.float64), st.lists(any_floats, max_size=3)),
)
bits = mostly(
    st.integers(1, 16), st.integers(-2, 70) | st.sampled_from([0, 64, 8.0, True, "8", None])
)
flags = mostly(st.booleans(), bad_scalars)


def _ok_threshold(value, power_of_two: bool = False) -> list[float] | None:
    """The oracle: the thresholds as floats if ``value`` is a valid one, else None."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    items = value if isinstance(value, list) else [value]
    if not items:
        return None
    out = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            return None
        if isinstance(item, int) and abs(item) > F32_MAX:
            return None
        if not (math.isfinite(item) and F32_TINY <= item <= F32_MAX):
            return None
        if power_of_two and math.frexp(item)[0] != 0.5:
            return None
        out.append(float(item))
    return out


def _ok_bits(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and 1 <= value <= 16


def _finite_output(quantizer, shape=(2, 3)) -> None:
    from quantizer_scaffold.quantizers_infrastructure.keras.compat import tf

    x = tf.constant(np.linspace(-5.0, 5.0, math.prod(shape)).reshape(shape), tf.float32)
    y = quantizer(x).numpy()
    assert np.isfinite(y).all(), (quantizer.get_config(), y)


@fuzz(150)
@given(threshold=thresholds, n_bits=bits, per_channel=flags)
def test_weights_node_config(threshold, n_bits, per_channel) -> None:
    tried("runtime: weights node configs")
    values = _ok_threshold(threshold)
    valid = (
        values is not None
        and _ok_bits(n_bits)
        and isinstance(per_channel, bool)
        and (per_channel or not isinstance(threshold, (list, np.ndarray)) or len(values) == 1)
    )
    arguments = (qi.QuantizationMethod.SYMMETRIC, n_bits, {"threshold": threshold}, -1, per_channel)
    if not valid:
        event("rejected")
        with pytest.raises(ValueError):
            qi.NodeWeightsQuantizationConfig(*arguments)
        return
    event("accepted")
    config = qi.NodeWeightsQuantizationConfig(*arguments)
    assert qi.config_from_dict(config.to_dict()) == config


@fuzz(100)
@given(
    low=mostly(st.floats(-8, 8), any_floats | bad_scalars),
    high=mostly(st.floats(-8, 8), any_floats | bad_scalars),
    n_bits=bits,
)
def test_activation_node_config_uniform_ranges(low, high, n_bits) -> None:
    tried("runtime: uniform activation configs")
    lows, highs = _ok_threshold(abs(low) if isinstance(low, float) else low), None
    finite = all(
        isinstance(v, float) and math.isfinite(v) and abs(v) <= F32_MAX for v in (low, high)
    )
    valid = finite and _ok_bits(n_bits) and F32_TINY <= high - low <= F32_MAX
    del lows, highs
    params = {"range_min": low, "range_max": high}
    if not valid:
        event("rejected")
        with pytest.raises(ValueError):
            qi.NodeActivationQuantizationConfig("uniform", n_bits, params)
        return
    event("accepted")
    config = qi.NodeActivationQuantizationConfig("uniform", n_bits, params)
    assert qi.config_from_dict(config.to_dict()) == config


WEIGHTS = ["WeightsSymmetricInferableQuantizer", "WeightsPOTInferableQuantizer"]
ACTIVATIONS = ["ActivationSymmetricInferableQuantizer", "ActivationPOTInferableQuantizer"]


@fuzz(120)
@given(
    kind=st.sampled_from(WEIGHTS + ACTIVATIONS),
    threshold=thresholds,
    n_bits=bits,
    flag=flags,
    axis=mostly(st.sampled_from([-1, 0, 1, None]), st.sampled_from([1.5, "0", True])),
)
def test_threshold_inferable_quantizers(kind, threshold, n_bits, flag, axis) -> None:
    tried("runtime: symmetric/POT inferable quantizers")
    cls = getattr(qi, kind)
    values = _ok_threshold(threshold, power_of_two="POT" in kind)
    valid = values is not None and _ok_bits(n_bits) and isinstance(flag, bool)
    if kind in WEIGHTS:
        arguments = (n_bits, threshold, flag, axis)
        if valid and flag:
            valid = isinstance(axis, int) and not isinstance(axis, bool)
            valid = (
                valid
                and axis in (-1, 1)
                and len(values) in (1, 3)
                or (axis == 0 and len(values) in (1, 2))
            )
        elif valid:
            valid = len(values) == 1 and (
                axis is None or (isinstance(axis, int) and not isinstance(axis, bool))
            )
    else:
        arguments = (n_bits, threshold, flag)
        valid = valid and len(values) == 1
    if not valid:
        event("rejected")
        with pytest.raises(ValueError):
            quantizer = cls(*arguments)
            _finite_output(quantizer)  # a channel count that meets the tensor only here
        return
    event("accepted")
    quantizer = cls(*arguments)
    _finite_output(quantizer)
    assert type(quantizer)(**quantizer.get_config()).get_config() == quantizer.get_config()


@fuzz(100)
@given(
    kind=st.sampled_from(
        ["WeightsUniformInferableQuantizer", "ActivationUniformInferableQuantizer"]
    ),
    low=mostly(st.floats(-8, 8), any_floats | bad_scalars),
    width=mostly(st.floats(1e-3, 8), st.floats(0, 1e39) | bad_scalars),
    n_bits=bits,
)
def test_uniform_inferable_quantizers(kind, low, width, n_bits) -> None:
    tried("runtime: uniform inferable quantizers")
    cls = getattr(qi, kind)
    numbers = all(isinstance(v, float) and math.isfinite(v) for v in (low, width))
    high = low + width if numbers else width
    valid = (
        numbers
        and _ok_bits(n_bits)
        and max(abs(low), abs(high)) <= F32_MAX
        and F32_TINY <= (high - low) / (2**n_bits - 1)  # a normal float32 step between levels
        and high - low <= F32_MAX
    )
    arguments = [n_bits, [low], [high]] + ([False] if kind.startswith("Weights") else [])
    if not valid:
        event("rejected")
        with pytest.raises(ValueError):
            cls(*arguments)
        return
    event("accepted")
    _finite_output(cls(*arguments))


@pytest.mark.parametrize(
    ("kind", "arguments"),
    [
        ("WeightsSymmetricInferableQuantizer", (8, [], True, -1)),
        ("WeightsPOTInferableQuantizer", (8, [1.0, 2.0], False, None)),
        ("WeightsUniformInferableQuantizer", (8, [], [], True, -1)),
        ("WeightsUniformInferableQuantizer", (8, [0.0], [1.0, 2.0], True, -1)),
        ("ActivationSymmetricInferableQuantizer", (64, [1.0], True)),
        ("ActivationPOTInferableQuantizer", (0, [1.0], False)),
        ("ActivationUniformInferableQuantizer", (8, [-3e38], [3e38])),
        ("WeightsSymmetricInferableQuantizer", (8, [1e39], False, None)),
        ("WeightsSymmetricInferableQuantizer", (8, [10**400], False, None)),
        ("ActivationSymmetricInferableQuantizer", (8, np.array([1.0], np.float32), "yes")),
    ],
)
def test_named_bad_parameters_are_value_errors(kind, arguments) -> None:
    tried("runtime: named bad parameters")
    with pytest.raises(ValueError):
        getattr(qi, kind)(*arguments)
