"""The shared quantizer contract fails broken quantizers, naming the hook or rule to fix.

A pytest subprocess runs the contract against a correct pair and four broken variants of it
(kept in ``contract_cases.py``, written next to this file); each check must pass on the
correct pair and fail on the broken ones with its message.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
# the other checks need a registered pair (dispatcher) or test nothing broken here
SELECTED = "not dispatcher and not constructor and not round_trip and not shape_and_dtype"


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """{test class: {test name without parameters: failure message, or "" when it passed}}."""
    folder = tmp_path_factory.mktemp("contract")
    shutil.copy(HERE / "contract_cases.py", folder / "test_contract_cases.py")
    report = folder / "report.xml"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-k",
            SELECTED,
            f"--junitxml={report}",
            "test_contract_cases.py",
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
    )
    results: dict[str, dict[str, str]] = {}
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        cls = case.get("classname", "").rsplit(".", 1)[-1]
        name = case.get("name", "").split("[")[0]
        failure = case.find("failure")
        message = "" if failure is None else failure.get("message", "") + (failure.text or "")
        previous = results.setdefault(cls, {}).get(name, "")
        results[cls][name] = previous or message
    assert results, f"no results in {report}"
    return results


def test_the_correct_pair_passes_every_check(outcomes) -> None:
    failed = {name: message for name, message in outcomes["TestCorrect"].items() if message}
    assert not failed, failed
    assert len(outcomes["TestCorrect"]) >= 7


@pytest.mark.parametrize(
    "cls, check, message",
    [
        (
            "TestBlocksGradient",
            "test_gradient_flows_to_inputs_inside_the_range",
            "no gradient reaches the inputs",
        ),
        (
            "TestBlocksGradient",
            "test_wrapped_model_trains_saves_and_loads",
            "the quantized layer's kernel did not change while training",
        ),
        (
            "TestBlocksGradient",
            "test_learned_parameters_get_a_gradient",
            "no gradient reaches the learned parameter 'threshold'",
        ),
        ("TestOffGrid", "test_values_lie_on_the_grid", "quantize() and grid() disagree"),
        (
            "TestOffGrid",
            "test_inferable_equals_trainable_in_inference",
            "convert2inferable() must pass the current parameter values",
        ),
        (
            "TestFrozenParameter",
            "test_wrapped_model_trains_saves_and_loads",
            "the learned parameter 'threshold' did not change while training",
        ),
        (
            "TestEagerOnly",
            "test_wrapped_model_trains_saves_and_loads",
            "model.fit failed with EagerOnly in the model",
        ),
        (
            "TestDividesByItsParameter",
            "test_inferable_equals_trainable_compiled_at_rounding_boundaries",
            "divide by a grid parameter with quantizer_utils.divide(x, d)",
        ),
        (
            "TestUndeclaredVariable",
            "test_declared_parameters_become_the_variables",
            "declare every parameter in the parameter_spec",
        ),
        (
            "TestLooseInferable",
            "test_inferable_takes_exactly_the_declared_parameters",
            "accepted an undeclared parameter",
        ),
    ],
)
def test_a_broken_quantizer_fails_its_check_with_the_fix(outcomes, cls, check, message) -> None:
    failure = outcomes[cls][check]
    assert failure, f"{cls}.{check} passed but should fail"
    assert message in failure, failure[:2000]


def test_a_parameter_free_pair_without_a_grid_is_checked_by_level_count(outcomes) -> None:
    failed = {name: message for name, message in outcomes["TestNoGrid"].items() if message}
    assert not failed, failed
    assert "test_values_lie_on_the_grid" in outcomes["TestNoGrid"]
