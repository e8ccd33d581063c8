"""The framework-free parameter spec and grid description (no TensorFlow needed)."""

from __future__ import annotations

import pytest

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.quantizers_infrastructure.common.parameters import calibrated_statistics

P = qi.QuantizerParameter


def test_a_parameter_defaults_to_fixed_and_to_the_statistic_it_is_named_after() -> None:
    parameter = P("threshold")
    assert parameter.kind is qi.ParameterKind.FIXED and parameter.initial == "threshold"
    assert not parameter.trainable and parameter.calibrated and parameter.per_channel
    learned = P("alpha", "learned", initial=6)
    assert learned.trainable and learned.initial == 6.0 and not learned.calibrated


@pytest.mark.parametrize(
    "arguments, message",
    [
        (("alpha",), "needs an initial value"),
        (("alpha", "trained", 1.0), "kind must be 'fixed' or 'learned'"),
        (("alpha", "fixed", "median"), "initial must be a number or one of"),
        (("alpha", "fixed", float("nan")), "must be a finite number"),
        (("num_bits", "fixed", 1.0), "is reserved"),
        (("_hidden", "fixed", 1.0), "is reserved"),
        (("not valid", "fixed", 1.0), "must be a Python identifier"),
    ],
)
def test_bad_parameters_are_refused_with_the_reason(arguments: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        P(*arguments)


def test_a_spec_refuses_duplicates_and_filters_by_method() -> None:
    with pytest.raises(ValueError, match="'a' is declared twice"):
        qi.ParameterSpec(P("a", initial=1.0), P("a", initial=2.0))
    spec = qi.ParameterSpec(
        P("threshold", methods=[qi.QuantizationMethod.SYMMETRIC]),
        P("range_max", methods=[qi.QuantizationMethod.UNIFORM]),
        P("alpha", "learned", 1.0),
    )
    assert spec.for_method(qi.QuantizationMethod.UNIFORM).names == ("range_max", "alpha")
    assert len(qi.ParameterSpec()) == 0


def test_every_config_gives_all_three_statistics() -> None:
    weights = qi.NodeWeightsQuantizationConfig("symmetric", 8, {"threshold": [1.0, 2.0]})
    assert calibrated_statistics(weights) == {
        "threshold": [1.0, 2.0],
        "range_min": [-1.0, -2.0],
        "range_max": [1.0, 2.0],
    }
    unsigned = qi.NodeActivationQuantizationConfig(
        "power_of_two", 8, {"threshold": 4.0, "is_signed": False}
    )
    assert calibrated_statistics(unsigned)["range_min"] == [0.0]
    uniform = qi.NodeActivationQuantizationConfig(
        "uniform", 8, {"range_min": -3.0, "range_max": 1.0}
    )
    assert calibrated_statistics(uniform)["threshold"] == [3.0]


def test_initial_values_cover_every_channel_or_reduce_to_the_covering_value() -> None:
    config = qi.NodeWeightsQuantizationConfig(
        "uniform", 8, {"range_min": [-1.0, -4.0], "range_max": [2.0, 0.5]}
    )
    spec = qi.ParameterSpec(
        P("range_min"),
        P("low", initial="range_min", per_channel=False),
        P("high", initial="range_max", per_channel=False),
        P("scale", "learned", 0.25),
    )
    assert spec.initial_values(config) == {
        "range_min": [-1.0, -4.0],
        "low": [-4.0],
        "high": [2.0],
        "scale": [0.25],
    }


def test_check_values_takes_exactly_the_declared_parameters() -> None:
    spec = qi.ParameterSpec(P("threshold"), P("alpha", "learned", 1.0, per_channel=False))
    assert spec.check_values({"threshold": [1, 2], "alpha": 3}, "Q", per_channel=True) == {
        "threshold": [1.0, 2.0],
        "alpha": [3.0],
    }
    cases = [
        ({"threshold": [1.0]}, True, "Q: missing parameter\\(s\\) alpha"),
        ({"threshold": [1.0], "alpha": [1.0], "beta": [1.0]}, True, "unexpected parameter"),
        ({"threshold": [1.0, 2.0], "alpha": [1.0]}, False, "a quantizer without channel_axis"),
        ({"threshold": [1.0], "alpha": [1.0, 2.0]}, True, "a per-tensor parameter takes one"),
        ({"threshold": [float("inf")], "alpha": [1.0]}, True, "must be a finite number"),
    ]
    for given, per_channel, message in cases:
        with pytest.raises(ValueError, match=message):
            spec.check_values(given, "Q", per_channel)


def test_symmetric_and_uniform_grids_hold_zero_and_fit_int8() -> None:
    signed = qi.UniformGrid.symmetric([1.0, 2.0], 8, True, channel_axis=-1)
    assert signed.scale == (1 / 128, 2 / 128) and signed.quant_min == -128
    assert signed.fits_integers(8) and not signed.fits_integers(7)
    unsigned = qi.UniformGrid.symmetric(4.0, 4, signed=False)
    assert unsigned.values()[:3] == [0.0, 0.25, 0.5] and unsigned.bounds() == (0.0, 3.75)
    uniform = qi.UniformGrid.uniform(0.3, 1.9, 4)  # a > 0: moved to [0, 1.9]
    assert uniform.zero_point == (0.0,) and uniform.bounds()[1] == pytest.approx(1.9)
    shifted = qi.UniformGrid.uniform(-0.7, 1.9, 3)
    assert shifted.has_integer_zero_point and 0.0 in shifted.values()


def test_a_grid_without_zero_is_identified_as_not_integer() -> None:
    # DoReFa's 2-bit weights: 2 * k / 3 - 1 for k = 0..3, i.e. {-1, -1/3, 1/3, 1}
    dorefa = qi.UniformGrid(scale=(2 / 3,), zero_point=(1.5,), quant_min=0, quant_max=3)
    assert dorefa.values() == pytest.approx([-1.0, -1 / 3, 1 / 3, 1.0])
    assert not dorefa.has_integer_zero_point and not dorefa.fits_integers(8)


def test_bad_grids_are_refused() -> None:
    with pytest.raises(ValueError, match="scale\\[0\\] must be positive"):
        qi.UniformGrid((0.0,), (0.0,), 0, 3)
    with pytest.raises(ValueError, match="quant_min must be < quant_max"):
        qi.UniformGrid((1.0,), (0.0,), 3, 3)
    with pytest.raises(ValueError, match="several scales need a channel_axis"):
        qi.UniformGrid((1.0, 2.0), (0.0,), 0, 3)


def test_power_of_two_ceil_is_exact() -> None:
    assert qi.power_of_two_ceil([0.3, 0.5, 1e-9, 3.0, 4.0]) == [0.5, 0.5, 2.0**-16, 4.0, 4.0]
