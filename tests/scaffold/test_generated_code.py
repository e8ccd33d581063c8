"""The generated quantizers: their own contract tests pass, ruff accepts them, examples match.

Keras 2 and Keras 3 (``--framework keras3``) pairs of the same kinds of parameter; the one
TensorFlow subprocess runs every generated module, and the Keras 3 contract runs its classes
once more on JAX (one subprocess for all of them).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from scaffold_helpers import REPO, copy_project, run_cli

from quantizer_scaffold.scaffold import examples

# one of each parameter kind: fixed and calibrated (the default), none, learned
SCAFFOLDS = {
    "the seed's weights example": ["--method", "MyTrainingMethod", "--target", "weights"],
    "a three-grid activation pair": (
        "-m my-training-method -t activation -q symmetric -q power_of_two -q uniform".split()
    ),
    "parameter-free weights": ["-m", "ParameterFree", "-t", "weights", "--param", "none"],
    "learned activation parameters": (
        "-m Learned -t activation -q uniform -p lo=fixed:range_min -p alpha=learned:threshold"
    ).split(),
    "learned weights parameters": (
        "-m LearnedWeights -t weights -q power_of_two -p scale=learned:0.5:per-tensor".split()
    ),
}
# the same parameter kinds on Keras 3: one TrainingMethod member serves both back ends
KERAS3_SCAFFOLDS = {
    "the seed's weights example": [*SCAFFOLDS["the seed's weights example"], "-f", "keras3"],
    "parameter-free weights": [*SCAFFOLDS["parameter-free weights"], "--framework", "keras3"],
    "learned activation parameters": [*SCAFFOLDS["learned activation parameters"], "-f", "keras3"],
    "a three-grid learned activation": (
        "-m Learned3 -t activation -q symmetric -q power_of_two -q uniform "
        "-p alpha=learned:threshold --framework keras3"
    ).split(),
    "learned weights parameters": [*SCAFFOLDS["learned weights parameters"], "-f", "keras3"],
}
PACKAGES = ["my_training_method", "parameter_free", "learned", "learned_weights"]
KERAS3_PACKAGES = [*PACKAGES, "learned3"]


# a parameter changed later in its one place: the seed's fixed threshold becomes learned
SEED_INFERABLE = (
    "src/quantizer_scaffold/qat/keras/quantizer/my_training_method/weights_inferable_quantizer.py"
)
FIXED = 'qi.QuantizerParameter("threshold", qi.ParameterKind.FIXED, initial="threshold")'


@pytest.fixture(scope="session")
def scaffolded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with one scaffold of each parameter kind (see SCAFFOLDS), and one edit."""
    project = copy_project(tmp_path_factory.mktemp("scaffolded"))
    for args in [*SCAFFOLDS.values(), *KERAS3_SCAFFOLDS.values()]:
        result = run_cli(*args, cwd=project)
        assert result.returncode == 0, result.stderr
    inferable = project / SEED_INFERABLE
    assert FIXED in inferable.read_text()
    inferable.write_text(inferable.read_text().replace(FIXED, FIXED.replace("FIXED", "LEARNED")))
    return project


def test_generated_contract_tests_pass(scaffolded: Path) -> None:
    """One TensorFlow subprocess runs every generated test module, against the copy's code.

    One module was edited in one place only (a parameter made learned): its tests pass too.
    The Keras 3 modules pass on TensorFlow here and on JAX in their contract's subprocess.
    """
    env = {**os.environ, "PYTHONPATH": str(scaffolded / "src")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "tests/generated"],
        cwd=scaffolded,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary, summary
    jax_checks = [line for line in result.stdout.splitlines() if "holds_on_jax" in line]
    assert len(jax_checks) == len(KERAS3_SCAFFOLDS), result.stdout[-3000:]
    assert all(line.startswith("PASSED") for line in jax_checks), jax_checks


def test_generated_code_is_ruff_clean(scaffolded: Path) -> None:
    paths = [f"src/quantizer_scaffold/qat/keras/quantizer/{name}" for name in PACKAGES]
    paths += [f"src/quantizer_scaffold/qat/keras3/quantizer/{name}" for name in KERAS3_PACKAGES]
    paths.append("tests/generated")
    ruff = [sys.executable, "-m", "ruff"]
    for command in (["check", "--no-cache", *paths], ["format", "--no-cache", "--check", *paths]):
        result = subprocess.run([*ruff, *command], cwd=scaffolded, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_generated_examples_are_up_to_date() -> None:
    """Refresh with: python -m quantizer_scaffold.scaffold.examples"""
    output = REPO / examples.OUTPUT
    expected = examples.render_examples(REPO)
    current = examples.stored_examples(output)
    assert current == expected, "run: python -m quantizer_scaffold.scaffold.examples"


@pytest.mark.parametrize(
    "target, methods, params, backend",
    [
        ("weights", "symmetric", (), "keras"),
        ("activation", "symmetric,power_of_two,uniform", ("alpha=learned:threshold",), "keras"),
        ("weights", "power_of_two,uniform", ("none",), "keras3"),
        ("activation", "symmetric,uniform", ("alpha=learned:threshold",), "keras3"),
    ],
)
def test_the_templates_render_as_cookiecutter_renders_them(
    tmp_path: Path, target: str, methods: str, params: tuple[str, ...], backend: str
) -> None:
    """The in-memory renderer and cookiecutter's own generate_files give the same files."""
    from cookiecutter.generate import generate_context, generate_files

    from quantizer_scaffold.scaffold.naming import MethodName, Target
    from quantizer_scaffold.scaffold.parameters import declared_parameters
    from quantizer_scaffold.scaffold.project import load_project
    from quantizer_scaffold.scaffold.render import builtin_template_dir, context, render_files

    project = load_project(REPO)
    grids = methods.split(",")
    declared = declared_parameters(params, grids, target == "weights")
    name = MethodName.parse("Cookie")
    variables = context(project, name, Target(target), grids, declared, backend)
    ours = render_files(variables)
    template = builtin_template_dir()
    generated = Path(
        generate_files(
            repo_dir=str(template),
            context=generate_context(
                context_file=str(template / "cookiecutter.json"), extra_context=variables
            ),
            output_dir=str(tmp_path),
            accept_hooks=False,
        )
    )
    theirs = {
        p.relative_to(generated).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(generated.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert ours == theirs
