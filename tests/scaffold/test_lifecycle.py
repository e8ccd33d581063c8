"""The life of a method whose math the user wrote, end to end with the real CLI (issue 10).

Rerun and ``--check`` on an edited, registered method; the project-wide ``check`` (and the
pre-commit hook that runs it); ``update`` after a real template change (a copy of the
templates, edited); ``remove`` keeping an edited pair, whose test then skips, and scaffolding
it again to register it again.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from reach_helpers import run_pytest, user_project
from scaffold_helpers import REPO, Runner, snapshot

ENUM = "src/myproj/qat/common/qat_config.py"
DISPATCHER = "src/myproj/qat/keras/quantizer/quantization_dispatcher_builder.py"
PACKAGE = "src/myproj/qat/keras/quantizer/ewgs"
TRAINING = f"{PACKAGE}/weights_training_quantizer.py"
INFERABLE = f"{PACKAGE}/weights_inferable_quantizer.py"
TEST = "tests/generated/test_ewgs_weights_quantizer.py"
MATH = "        # EWGS: my own math goes here\n"


def _ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def _listed(result: subprocess.CompletedProcess[str], action: str, path: str) -> str:
    """The note of ``path``'s line in a report (``ACTION  path  (note)``); fails if absent."""
    for line in result.stdout.splitlines():
        words = line.split(None, 2)
        if words[:2] == [action, path]:
            return words[2] if len(words) > 2 else ""
    raise AssertionError(f"no {action} {path} in:\n{result.stdout}")


def _one_line_error(result: subprocess.CompletedProcess[str], code: int = 2) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == code and len(lines) == 1, result.stdout + result.stderr
    return lines[0]


def _fill_in_math(root: Path) -> None:
    """What the next steps tell the user to do: put the method's math in __call__."""
    path = root / TRAINING
    text = path.read_text()
    anchor = "    def __call__("
    assert anchor in text
    head, tail = text.split(anchor, 1)
    body_start = tail.index('"""', tail.index('"""') + 3) + 4  # after the method's docstring
    path.write_text(head + anchor + tail[:body_start] + MATH + tail[body_start:])


@pytest.fixture
def edited(tmp_path: Path, cli: Runner) -> Path:
    """A user project with EWGS scaffolded for weights and its math filled in."""
    root = user_project(tmp_path / "myproj")
    _ok(cli("--method", "EWGS", "--target", "weights", cwd=root))
    _fill_in_math(root)
    return root


# --------------------------------------------------------------------------- rerun and --check


def test_a_rerun_on_an_edited_method_keeps_the_edits_and_check_passes(
    edited: Path, cli: Runner
) -> None:
    before = snapshot(edited)
    again = _ok(cli("--method", "EWGS", "--target", "weights", cwd=edited))
    assert _listed(again, "KEEP", TRAINING).startswith("(edited by you: kept")
    assert "nothing to change" in again.stdout
    _ok(cli("--method", "EWGS", "--target", "weights", "--check", cwd=edited))
    report = json.loads(_ok(cli("--method", "EWGS", "--json", cwd=edited)).stdout)
    assert report["keep"] == [TRAINING] and not report["changed"]
    assert snapshot(edited) == before  # not even the manifest was rewritten
    # new grids would re-render the edited module: refused, nothing written
    line = _one_line_error(cli("--method", "EWGS", "-q", "uniform", cwd=edited))
    assert TRAINING in line and "edited" in line
    assert snapshot(edited) == before


def _repository_copy(destination: Path) -> Path:
    """This repository as it is (LSQ's edited math included): what a contributor checks."""
    for folder in ("src", "tests/generated"):
        shutil.copytree(
            REPO / folder, destination / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    for name in ("pyproject.toml", ".scaffold-quantizer.json"):
        shutil.copy2(REPO / name, destination / name)
    return destination


def test_check_passes_on_this_repositorys_finished_methods(tmp_path: Path, cli: Runner) -> None:
    """LSQ (and every other method made with the tool here) has its math written by hand."""
    root = _repository_copy(tmp_path / "repo")
    before = snapshot(root)
    recorded = json.loads((root / ".scaffold-quantizer.json").read_text())["methods"]
    assert "LSQ" in recorded
    for method, entry in sorted(recorded.items()):
        for target in entry["targets"]:
            result = _ok(cli("--method", method, "--target", target, "--check", cwd=root))
            assert "edited by you: kept" in result.stdout, result.stdout
    checked = _ok(cli("check", cwd=root))
    assert f"ok: {len(recorded)} method(s) recorded ({', '.join(sorted(recorded))})" in (
        checked.stdout
    )
    assert snapshot(root) == before


# --------------------------------------------------------------------------- check


def test_check_passes_on_a_project_with_nothing_scaffolded_yet(tmp_path: Path, cli: Runner) -> None:
    root = user_project(tmp_path / "fresh")
    result = _ok(cli("check", cwd=root))
    assert "no registry" in result.stdout and "ok: 0 method(s)" in result.stdout


def test_check_names_everything_that_is_wrong(edited: Path, cli: Runner) -> None:
    _ok(cli("--method", "EWGS", "--target", "activation", cwd=edited))
    clean = _ok(cli("check", cwd=edited))
    assert "ok: 1 method(s) recorded (EWGS)" in clean.stdout
    assert "1 generated file(s) edited by you" in clean.stdout
    breakages = {
        # the enum member, removed by hand
        ENUM: ("    EWGS = 0\n", ""),
        # the class the dispatcher imports, renamed in the edited module
        TRAINING: ("class EWGSWeightsTrainingQuantizer(", "class MyRenamedQuantizer("),
    }
    for path, (old, new) in breakages.items():
        text = (edited / path).read_text()
        assert old in text, path
        (edited / path).write_text(text.replace(old, new))
    (edited / "tests/generated/test_ewgs_activations_quantizer.py").unlink()
    inferable = edited / INFERABLE
    inferable.write_text("<<<<<<< yours\nmine\n=======\ntheirs\n>>>>>>> templates\n")
    (edited / ".scaffold-quantizer.journal").write_text("{}")
    before = snapshot(edited)
    result = cli("check", cwd=edited)
    assert result.returncode == 1, result.stdout + result.stderr
    problems = [line for line in result.stdout.splitlines() if line.startswith("problem: ")]
    expected = [
        "interrupted scaffold-quantizer run",
        "TrainingMethod.EWGS is missing",
        "imports EWGSWeightsTrainingQuantizer from myproj.qat.keras.quantizer.ewgs",
        "test_ewgs_activations_quantizer.py is missing",
        f"{INFERABLE} has unresolved conflict markers",
    ]
    for words in expected:
        assert any(words in line for line in problems), (words, problems)
    report = json.loads(cli("check", "--json", cwd=edited).stdout)
    assert not report["ok"] and len(report["problems"]) == len(problems)
    assert snapshot(edited) == before  # check writes nothing


def test_the_pre_commit_hook_runs_check_on_the_whole_project(edited: Path) -> None:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    (hook,) = [h for h in hooks if h["id"] == "scaffold-quantizer-check"]
    assert hook["language"] == "python" and hook["pass_filenames"] is False
    entry = shlex.split(hook["entry"])
    executable = Path(sys.executable).with_name(entry[0])
    command = [str(executable), *entry[1:]]
    assert subprocess.run(command, cwd=edited, capture_output=True).returncode == 0
    (edited / DISPATCHER).write_text(
        (edited / DISPATCHER).read_text().replace("TrainingMethod.EWGS", "TrainingMethod.Gone")
    )
    failed = subprocess.run(command, cwd=edited, capture_output=True, text=True)
    assert failed.returncode == 1 and "TrainingMethod.Gone" in failed.stdout, failed.stdout


# --------------------------------------------------------------------------- update


def _own_templates(root: Path) -> Path:
    """A copy of the built-in templates that the project names as its own."""
    templates = root / "my_templates"
    shutil.copytree(REPO / "templates", templates, ignore=shutil.ignore_patterns("__pycache__"))
    pyproject = root / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text() + '\n[tool.scaffold-quantizer]\ntemplates = "my_templates"\n'
    )
    return templates / "{{cookiecutter.method_snake}}" / "package"


def _edit_template(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, (path, old)
    path.write_text(text.replace(old, new))


def test_update_regenerates_unedited_files_and_merges_template_changes_into_edited_ones(
    tmp_path: Path, cli: Runner
) -> None:
    root = user_project(tmp_path / "myproj")
    package = _own_templates(root)
    _ok(cli("--method", "EWGS", "--target", "weights", cwd=root))
    _fill_in_math(root)
    training = root / TRAINING
    text = training.read_text()
    first_line = text.splitlines()[0]  # the module docstring's first line: the user edits it
    training.write_text(text.replace(first_line, first_line + "  # mine", 1))
    mine = training.read_text()
    # the new templates: a line in the docstring the user also edited (a conflict), a new
    # comment in the inferable module (unedited: regenerated), a new constant at the end
    # of the trainable module (far from the user's edits: merged)
    training_template = package / "{{cookiecutter.training_module}}.py"
    template_first = next(
        line for line in training_template.read_text().splitlines() if line.startswith('"""')
    )
    _edit_template(training_template, template_first, template_first + "  # new in 0.2")
    training_template.write_text(training_template.read_text() + "\nTEMPLATE_REVISION = 2\n")
    inferable_template = package / "{{cookiecutter.inferable_module}}.py"
    _edit_template(
        inferable_template,
        "from __future__ import annotations\n",
        "from __future__ import annotations\n\n# renewed by the 0.2 templates\n",
    )
    before = snapshot(root)
    dry = _ok(cli("update", "--dry-run", cwd=root))
    assert snapshot(root) == before
    assert _listed(dry, "UPDATE", INFERABLE) == "(regenerated from the new templates)"
    assert "+# renewed by the 0.2 templates" in dry.stdout
    assert _listed(dry, "UPDATE", TRAINING).startswith("(1 conflict(s) marked")
    assert "would be marked" in dry.stdout
    assert cli("update", "--check", cwd=root).returncode == 1
    done = cli("update", cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr  # conflicts need the user
    assert "1 conflict(s) between your edits and the template changes are marked" in done.stdout
    merged = training.read_text()
    assert MATH in merged and "TEMPLATE_REVISION = 2" in merged  # nothing lost, change merged
    assert (
        f"<<<<<<< yours\n{first_line}  # mine\n=======\n{first_line}  # new in 0.2\n"
        ">>>>>>> scaffold-quantizer " in merged
    )
    assert "# renewed by the 0.2 templates" in (root / INFERABLE).read_text()
    assert cli("check", cwd=root).returncode == 1  # the conflict is left to resolve
    # the user resolves it keeping their line: check passes, and update has nothing left to do
    resolved = merged.split("<<<<<<< yours\n", 1)
    rest = resolved[1].split(">>>>>>> ", 1)[1].split("\n", 1)[1]
    training.write_text(resolved[0] + f"{first_line}  # mine\n" + rest)
    _ok(cli("check", cwd=root))
    again = _ok(cli("update", cwd=root))
    assert "nothing to change" in again.stdout
    assert training.read_text() != mine and MATH in training.read_text()


def test_update_without_template_changes_changes_nothing(edited: Path, cli: Runner) -> None:
    before = snapshot(edited)
    result = _ok(cli("update", cwd=edited))
    assert "nothing to change" in result.stdout
    _ok(cli("update", "--check", cwd=edited))
    assert snapshot(edited) == before
    line = _one_line_error(cli("update", "--method", "Unknown", cwd=edited))
    assert "not recorded" in line


# --------------------------------------------------------------------------- remove and back


def test_a_kept_pair_skips_its_test_and_is_registered_again(edited: Path, cli: Runner) -> None:
    removed = _ok(cli("remove", "--method", "EWGS", cwd=edited))
    assert _listed(removed, "KEEP", TRAINING) and "registers it again" in removed.stdout
    assert "EWGS" not in (edited / DISPATCHER).read_text()
    skipped = run_pytest(edited / TEST, edited, [edited / "src"], "-rs")
    # a module-level skip: no test item, so pytest's "no tests ran" (5), never an error (2)
    assert skipped.returncode == 5 and "1 skipped" in skipped.stdout, skipped.stdout
    assert "TrainingMethod.EWGS is not registered" in skipped.stdout
    assert "error" not in skipped.stdout.lower()
    noted = _ok(cli("check", cwd=edited))
    assert "a pair `remove` kept" in noted.stdout
    again = _ok(cli("--method", "EWGS", "--target", "weights", cwd=edited))
    assert "registered EWGS (weights) again" in again.stdout
    assert _listed(again, "KEEP", TRAINING).startswith("(edited by you: kept, registered again")
    assert MATH in (edited / TRAINING).read_text()
    assert "TrainingMethod.EWGS: {" in (edited / DISPATCHER).read_text()
    _ok(cli("check", cwd=edited))
    dispatch = run_pytest(edited / TEST, edited, [edited / "src"], "-k", "dispatcher")
    assert " passed" in dispatch.stdout and "skipped" not in dispatch.stdout, dispatch.stdout
    # and remove again keeps the pair again: nothing of the user's is ever lost
    _ok(cli("remove", "--method", "EWGS", cwd=edited))
    assert MATH in (edited / TRAINING).read_text()


def test_update_after_the_built_in_templates_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new version of the tool: its own templates changed; the base comes from the manifest."""
    from quantizer_scaffold.scaffold import api, render

    root = user_project(tmp_path / "myproj")
    api.scaffold("EWGS", "weights", ["symmetric", "uniform"], root=root)
    _fill_in_math(root)
    newer = tmp_path / "templates-next"
    shutil.copytree(REPO / "templates", newer, ignore=shutil.ignore_patterns("__pycache__"))
    package = newer / "{{cookiecutter.method_snake}}" / "package"
    training_template = package / "{{cookiecutter.training_module}}.py"
    training_template.write_text(training_template.read_text() + "\nNEXT_TEMPLATES = True\n")
    test_template = (
        newer / "{{cookiecutter.method_snake}}" / "tests" / ("{{cookiecutter.test_module}}.py")
    )
    test_template.write_text(test_template.read_text() + "\n# renewed by the next templates\n")
    monkeypatch.setattr(render, "builtin_template_dir", lambda: newer)
    report = api.update(root=root)
    assert report.conflicts == 0
    actions = {item.path: item.action for item in report.files}
    assert actions[TRAINING] == "UPDATE" and actions[TEST] == "UPDATE"
    assert actions[INFERABLE] == "UNCHANGED"
    training = (root / TRAINING).read_text()
    assert MATH in training and training.endswith("\nNEXT_TEMPLATES = True\n")
    assert (root / TEST).read_text().endswith("# renewed by the next templates\n")
    again = api.update(root=root)
    assert not again.changed  # the new bases are recorded: nothing left to merge
    check = api.check_project(root=root)
    assert check.ok, check.problems
