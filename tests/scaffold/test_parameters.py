"""``--param``: parsing, defaults, roles in the generated math, refusals in one line, and the
record in the manifest that lets a later run render the same files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scaffold_helpers import Runner, snapshot

from quantizer_scaffold import __version__
from quantizer_scaffold.scaffold.errors import UsageError
from quantizer_scaffold.scaffold.parameters import (
    DeclaredParameter,
    declared_parameters,
    parse_parameter,
    roles,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("alpha=learned", DeclaredParameter("alpha", "learned", "threshold")),
        ("alpha=learned:range_max", DeclaredParameter("alpha", "learned", "range_max")),
        ("step=Learned:0.1:per-tensor", DeclaredParameter("step", "learned", "0.1", False)),
        ("range_min=fixed", DeclaredParameter("range_min", "fixed", "range_min")),
        ("t=fixed:per_tensor:-2", DeclaredParameter("t", "fixed", "-2.0", False)),
    ],
)
def test_declarations_parse_with_their_defaults(text: str, expected: DeclaredParameter) -> None:
    assert parse_parameter(text, weights=True) == expected
    assert parse_parameter(expected.spec(), weights=True) == expected  # the recorded spelling


@pytest.mark.parametrize(
    "text, weights, reason",
    [
        ("alpha", True, "write NAME=KIND"),
        ("alpha=trained", True, "the kind must be fixed or learned"),
        ("alpha=learned:median", True, "neither a number, a statistic"),
        ("alpha=learned:inf", True, "must be finite"),
        ("num_bits=fixed", True, "reserved"),
        ("2x=fixed", True, "must be a Python identifier"),
        ("class=fixed", True, "must be a Python identifier"),
        ("alpha=learned:per-channel", False, "activations are quantized per tensor"),
    ],
)
def test_bad_declarations_say_why(text: str, weights: bool, reason: str) -> None:
    with pytest.raises(UsageError, match=reason) as error:
        parse_parameter(text, weights)
    assert str(error.value).startswith(f"invalid --param {text!r}")


def test_without_param_the_grids_declare_their_own_fixed_calibrated_parameters() -> None:
    assert declared_parameters([], ["symmetric"], True) == [
        DeclaredParameter("threshold", "fixed", "threshold")
    ]
    mixed = declared_parameters([], ["symmetric", "power_of_two", "uniform"], False)
    assert [(p.name, p.methods) for p in mixed] == [
        ("threshold", ("symmetric", "power_of_two")),
        ("range_min", ("uniform",)),
        ("range_max", ("uniform",)),
    ]


def test_none_declares_nothing_and_stands_alone() -> None:
    assert declared_parameters(["none"], ["symmetric"], True) == []
    with pytest.raises(UsageError, match="--param none declares no parameters: give it alone"):
        declared_parameters(["none", "a=fixed"], ["symmetric"], True)
    with pytest.raises(UsageError, match="--param a is given twice"):
        declared_parameters(["a=fixed", "a=learned"], ["symmetric"], True)


def test_each_parameter_plays_a_grid_value_by_name_then_statistic_then_order() -> None:
    parameters = declared_parameters(
        ["lo=learned:range_min", "scale=learned:2.0"], ["symmetric", "uniform"], True
    )
    with pytest.raises(UsageError, match="--param scale: the generated symmetric math has no"):
        roles(parameters, ["symmetric", "uniform"])
    assert roles(parameters, ["uniform"]) == [
        {"method": "uniform", "range_min": "lo", "range_max": "scale"}
    ]
    alpha = declared_parameters(["alpha=learned"], ["symmetric", "uniform"], False)
    assert roles(alpha, ["symmetric", "uniform"]) == [
        {"method": "symmetric", "threshold": "alpha"},
        {"method": "uniform", "range_max": "alpha", "range_min": None},  # -1.0 in the math
    ]
    assert roles([], ["power_of_two"]) == [{"method": "power_of_two", "threshold": None}]


def test_the_cli_refuses_a_bad_param_in_one_line_and_writes_nothing(
    project: Path, cli: Runner
) -> None:
    before = snapshot(project)
    for args in (
        ["-m", "X", "--param", "alpha=maybe"],
        ["-m", "X", "-t", "activation", "--param", "alpha=learned:per-channel"],
        ["-m", "X", "--param", "a=learned", "--param", "b=learned"],
    ):
        result = cli(*args, cwd=project)
        assert result.returncode == 2, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "--param" in result.stderr
    assert snapshot(project) == before


def test_the_declared_parameters_are_written_into_parameters(project: Path, cli: Runner) -> None:
    result = cli(
        "-m", "Clip", "-t", "activation", "-q", "uniform", "-p", "alpha=learned:range_max",
        cwd=project,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    package = project / "src/quantizer_scaffold/qat/keras/quantizer/clip"
    inferable = (package / "activations_inferable_quantizer.py").read_text()
    assert (
        'qi.QuantizerParameter("alpha", qi.ParameterKind.LEARNED, initial="range_max"),'
        in inferable
    )
    assert 'along_channels(parameters["alpha"])' in inferable  # plays range_max
    assert "tf.constant(-1.0, inputs.dtype)" in inferable  # range_min: no parameter plays it
    free = cli("-m", "Free", "--param", "none", cwd=project)
    assert free.returncode == 0, free.stderr
    weights = (project / "src/quantizer_scaffold/qat/keras/quantizer/free").joinpath(
        "weights_inferable_quantizer.py"
    )
    assert "PARAMETERS = qi.ParameterSpec()  # parameter-free" in weights.read_text()


def _recorded(project: Path, method: str, target: str) -> dict[str, object]:
    manifest = json.loads((project / ".scaffold-quantizer.json").read_text())
    return manifest["methods"][method]["targets"][target]


def test_the_manifest_records_the_params_and_a_later_run_renders_the_same(
    project: Path, cli: Runner
) -> None:
    first = cli("-m", "Clip", "-t", "activation", "-p", "Alpha=Learned:0.5", cwd=project)
    assert first.returncode == 0, first.stderr
    assert _recorded(project, "Clip", "activation") == {
        "backend": "keras",
        "generator_version": __version__,
        "parameters": ["Alpha=learned:0.5"],
        "quantization_methods": ["symmetric"],
    }
    rendered = snapshot(project)
    # without --param: the recorded declarations, so nothing changes (also for --check, --force)
    for extra in ([], ["--check"], ["--force"]):
        again = cli("-m", "Clip", "-t", "activation", "--json", *extra, cwd=project)
        assert again.returncode == 0, (extra, again.stderr)
        assert json.loads(again.stdout)["changed"] is False, extra
    assert snapshot(project) == rendered
    # other declarations replace unedited files only with --force, and are recorded in turn
    other = cli("-m", "Clip", "-t", "activation", "-p", "none", cwd=project)
    assert other.returncode == 2 and "pass --force" in other.stderr
    assert snapshot(project) == rendered
    assert (
        cli("-m", "Clip", "-t", "activation", "-p", "none", "--force", cwd=project).returncode == 0
    )
    assert _recorded(project, "Clip", "activation")["parameters"] == ["none"]
    inferable = project / "src/quantizer_scaffold/qat/keras/quantizer/clip"
    inferable = inferable / "activations_inferable_quantizer.py"
    assert "PARAMETERS = qi.ParameterSpec()" in inferable.read_text()
    assert cli("-m", "Clip", "-t", "activation", "--check", cwd=project).returncode == 0
    # without any --param the grids' own parameters are used and nothing is recorded
    assert cli("-m", "Plain", cwd=project).returncode == 0
    assert "parameters" not in _recorded(project, "Plain", "weights")
