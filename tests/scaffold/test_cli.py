"""The real CLI in a subprocess on temporary copies of this project."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from scaffold_helpers import REGISTRY, SCAFFOLD, Runner, copy_project, hashes, snapshot

WEIGHTS = ["--method", "MyTrainingMethod", "--target", "weights"]
TRAINING = (
    "src/quantizer_scaffold/qat/keras/quantizer/my_training_method/weights_training_quantizer.py"
)


def test_scaffold_from_a_subfolder_then_again_is_unchanged(project: Path, cli: Runner) -> None:
    first = cli(*WEIGHTS, cwd=project / "src" / "quantizer_scaffold")
    assert first.returncode == 0, first.stderr
    assert "CREATE" in first.stdout and "UPDATE" in first.stdout and "Next steps" in first.stdout
    assert (project / TRAINING).is_file()
    again = cli(*WEIGHTS, "--json", cwd=project)
    report = json.loads(again.stdout)
    assert again.returncode == 0 and not report["changed"]
    assert report["create"] == [] and report["update"] == [] and TRAINING in report["unchanged"]


def test_dry_run_and_check_write_nothing(project: Path, cli: Runner) -> None:
    before = snapshot(project)
    dry = cli(*WEIGHTS, "--dry-run", cwd=project)
    assert dry.returncode == 0, dry.stderr
    # STE and LSQ (kept by the baseline: the Keras 3 dispatcher uses it) are 0 and 1
    assert "+    MyTrainingMethod = 2" in dry.stdout and "--- a/src/" in dry.stdout
    check = cli(*WEIGHTS, "--check", cwd=project)
    assert check.returncode == 1
    assert snapshot(project) == before  # every byte and every mtime
    assert sorted(p.name for p in project.iterdir()) == ["pyproject.toml", "src"]
    assert cli(*WEIGHTS, cwd=project).returncode == 0
    assert cli(*WEIGHTS, "--check", cwd=project).returncode == 0


def test_remove_restores_registry_bytes_despite_unrelated_edits(project: Path, cli: Runner) -> None:
    original = hashes(project)
    assert cli(*WEIGHTS, cwd=project).returncode == 0
    activation = cli("-m", "my-training-method", "-t", "activation", "-q", "uniform", cwd=project)
    assert activation.returncode == 0, activation.stderr
    enum_file, dispatcher = (project / p for p in REGISTRY)
    edit = "\n\n# a note the user added later\nEXTRA = 1\n"
    enum_file.write_bytes(enum_file.read_bytes() + edit.encode())
    removed = cli("remove", "--method", "MyTrainingMethod", cwd=project)
    assert removed.returncode == 0, removed.stderr
    assert enum_file.read_bytes().endswith(edit.encode())
    enum_file.write_bytes(enum_file.read_bytes()[: -len(edit)])
    assert hashes(project) == original  # every generated file and folder gone too
    assert not (project / "src/quantizer_scaffold/qat/keras/quantizer/my_training_method").exists()
    assert dispatcher.read_bytes()  # still there


def test_remove_keeps_files_the_user_edited(project: Path, cli: Runner) -> None:
    assert cli(*WEIGHTS, cwd=project).returncode == 0
    edited = project / TRAINING
    edited.write_text(edited.read_text() + "# my math\n")
    result = cli("remove", "-m", "MyTrainingMethod", "-t", "weights", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "KEEP" in result.stdout and edited.exists()
    kept = json.loads((project / ".scaffold-quantizer.json").read_text())
    assert kept["methods"] == {} and TRAINING in kept["kept"]["MyTrainingMethod"]["files"]
    listed = json.loads(cli("list", "--json", cwd=project).stdout)
    assert "MyTrainingMethod" not in {m["name"] for m in listed["methods"]}


def test_remove_keeps_an_edited_pair_whole_and_deletes_the_untouched_one(
    project: Path, cli: Runner
) -> None:
    assert cli(*WEIGHTS, cwd=project).returncode == 0
    assert cli("-m", "MyTrainingMethod", "-t", "activation", cwd=project).returncode == 0
    edited = project / TRAINING
    edited.write_text(edited.read_text() + "# my math\n")
    result = cli("remove", "-m", "MyTrainingMethod", "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    package = "src/quantizer_scaffold/qat/keras/quantizer/my_training_method"
    assert sorted(report["keep"]) == sorted(
        [
            f"{package}/__init__.py",
            f"{package}/weights_inferable_quantizer.py",
            f"{package}/weights_training_quantizer.py",
            "tests/generated/test_my_training_method_weights_quantizer.py",
        ]
    )
    assert f"{package}/activations_training_quantizer.py" in report["delete"]
    assert all((project / path).exists() for path in report["keep"])
    assert not any((project / path).exists() for path in report["delete"])


def test_force_replaces_only_the_tools_unedited_output(project: Path, cli: Runner) -> None:
    assert cli(*WEIGHTS, cwd=project).returncode == 0
    more = [*WEIGHTS, "-q", "symmetric", "-q", "power_of_two"]
    refused = cli(*more, cwd=project)
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    forced = cli(*more, "--force", cwd=project)
    assert forced.returncode == 0, forced.stderr
    assert (
        "POWER_OF_TWO"
        in (project / TRAINING.replace("weights_training", "weights_inferable")).read_text()
    )
    edited = project / TRAINING
    edited.write_text(edited.read_text() + "# mine\n")
    before = snapshot(project)
    again = cli(*WEIGHTS, "-q", "uniform", "--force", cwd=project)
    assert again.returncode == 2 and "edited" in again.stderr
    assert snapshot(project) == before


def test_a_users_file_is_never_overwritten(project: Path, cli: Runner) -> None:
    folder = project / "src/quantizer_scaffold/qat/keras/quantizer/ste_rounding"
    before = snapshot(project)
    result = cli("--method", "ste_rounding", "--force", cwd=project)
    assert result.returncode == 2 and "not generated by scaffold-quantizer" in result.stderr
    assert folder.exists() and snapshot(project) == before


@pytest.mark.parametrize("point", ["write:1", "write:3", "replace:2", "replace:6"])
def test_injected_failure_mid_write_rolls_everything_back(
    point: str, project: Path, cli: Runner
) -> None:
    before = hashes(project)
    result = cli(*WEIGHTS, cwd=project, env={"SCAFFOLD_QUANTIZER_FAULT": point})
    assert result.returncode == 1
    assert "restored" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert hashes(project) == before
    assert sorted(p.name for p in project.iterdir()) == ["pyproject.toml", "src"]


def test_a_killed_run_is_undone_by_the_next_run(project: Path, cli: Runner) -> None:
    before = hashes(project)
    killed = cli(*WEIGHTS, cwd=project, env={"SCAFFOLD_QUANTIZER_FAULT": "replace:3:kill"})
    assert killed.returncode == -9
    assert (project / ".scaffold-quantizer.journal").exists()
    assert cli(*WEIGHTS, "--check", cwd=project).returncode == 2  # refuses to plan on a half tree
    listed = cli("remove", "-m", "Other", cwd=project)  # any writing run recovers first
    assert listed.returncode == 0 and "undid an interrupted run" in listed.stdout
    assert "Other is not registered; nothing to remove" in listed.stdout
    assert hashes(project) == before


def test_two_concurrent_runs_both_register(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    runs = [
        subprocess.Popen(
            [*SCAFFOLD, "-m", name, "-t", "weights"],
            cwd=project,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name in ("FirstMethod", "SecondMethod")
    ]
    for run in runs:
        _, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
    dispatcher = (project / REGISTRY[1]).read_text()
    assert (
        "TrainingMethod.FirstMethod" in dispatcher and "TrainingMethod.SecondMethod" in dispatcher
    )
    enum = (project / REGISTRY[0]).read_text()
    members = {line.strip() for line in enum.splitlines()}
    pairs = [{"FirstMethod = 2", "SecondMethod = 3"}, {"SecondMethod = 2", "FirstMethod = 3"}]
    assert any(pair <= members for pair in pairs)  # whichever ran first got 2 (after LSQ)


def test_usage_errors_are_one_line_with_exit_code_2(project: Path, cli: Runner) -> None:
    for args in (
        ["--target", "weights"],
        ["-m", "X", "-t", "bias"],
        ["-m", "X", "-q", "log"],
        ["remove", "-m", "STE"],  # registered, but not by scaffold-quantizer
        ["--root", str(project / "src"), "-m", "X"],
    ):
        result = cli(*args, cwd=project)
        assert result.returncode == 2, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_help_lists_the_commands(project: Path, cli: Runner) -> None:
    result = cli("--help", cwd=project)
    assert result.returncode == 0
    assert "scaffold-quantizer remove --method NAME" in result.stdout
    for command in ("update [--method NAME]", "check [--root PATH]", "recover [--dry-run]"):
        assert f"scaffold-quantizer {command}" in result.stdout
    for command in ("remove", "update", "check", "recover", "list"):
        helped = cli(command, "--help", cwd=project)
        assert helped.returncode == 0 and "--root" in helped.stdout, helped.stderr
    assert "--quantization-method" in result.stdout and "--dry-run" in result.stdout


def test_the_generator_never_imports_tensorflow(project: Path) -> None:
    """Nor Keras or JAX: every generator module, and a Keras 3 scaffold (dry run)."""
    code = (
        "import importlib, pkgutil, sys\n"
        "import quantizer_scaffold.scaffold as s\n"
        "for m in pkgutil.walk_packages(s.__path__, s.__name__ + '.'):\n"
        "    importlib.import_module(m.name)\n"
        "from quantizer_scaffold.scaffold import api\n"
        f"api.scaffold('Probe', 'activation', root={str(project)!r}, dry_run=True, "
        "backend='keras3', parameters=['alpha=learned:threshold'])\n"
        "heavy = ('tensorflow', 'tf_keras', 'keras', 'tensorflow_model_optimization', 'jax')\n"
        "print(sorted(n for n in heavy if n in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_list_prints_one_unbroken_row_per_registered_class(project: Path, cli: Runner) -> None:
    assert cli(*WEIGHTS, cwd=project).returncode == 0
    table = cli("list", "--framework", "keras", cwd=project)
    assert table.returncode == 0, table.stderr
    rows = [line for line in table.stdout.splitlines() if "Quantizer" in line]
    assert any("STEUniformActivationQuantizer" in row for row in rows)
    assert any("MyTrainingMethodWeightsTrainingQuantizer" in row for row in rows)
    assert len(rows) == 7  # six STE entries and the scaffolded one
    every = [line for line in cli("list", cwd=project).stdout.splitlines() if "Quantizer" in line]
    assert len(every) == 7 + 8  # and Keras 3's six STE and two LSQ entries
    assert sum(row.startswith("│ keras3 ") for row in every) == 2  # the first row of each method
