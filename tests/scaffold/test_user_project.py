"""A user's own package that depends on quantizer-scaffold (no fork), end to end.

The real CLI in a subprocess on a fresh project (pyproject.toml and src/myproj/__init__.py):
the first scaffold creates the project's own registry and declares it in pyproject.toml;
the generated tests pass (the activation quantizer declares a learned parameter with
``--param``); qat_init trains with the project's TrainingMethod; the finalized model reloads
in a fresh process; ``list`` shows built-in and project methods; a built-in
name is refused; ``remove`` of every method gives back the project as it was.
(The installed variant, in a real virtual environment, is tests/hardening/test_project_install.py.)
"""

from __future__ import annotations

import difflib
import json
import subprocess
from pathlib import Path

import pytest
from reach_helpers import LOAD, REGISTER, TRAIN, run_pytest, run_python, user_project
from scaffold_helpers import Runner, hashes

ENUM = "src/myproj/qat/common/qat_config.py"
DISPATCHER = "src/myproj/qat/keras/quantizer/quantization_dispatcher_builder.py"


def _ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], str]:
    """A user project with QIL scaffolded for weights (the grid's own fixed threshold) and
    activations (a learned clipping interval) (shared: read-only)."""
    from scaffold_helpers import run_cli

    root = user_project(tmp_path_factory.mktemp("user") / "myproj")
    before = hashes(root)
    first = _ok(run_cli("--method", "QIL", "--target", "weights", cwd=root))
    _ok(run_cli("-m", "QIL", "-t", "activation", "--param", "interval=learned:threshold", cwd=root))
    return root, before, first.stdout


def test_the_first_scaffold_creates_and_declares_the_projects_registry(
    scaffolded: tuple[Path, dict[str, str], str],
) -> None:
    root, _, output = scaffolded
    assert "created this project's own registry" in output
    assert "pip install -e ." in output  # the next steps say how the runtime finds it
    assert "UPDATE  pyproject.toml" in output
    pyproject = (root / "pyproject.toml").read_text()
    from reach_helpers import USER_PYPROJECT

    # only lines were added, every other byte is as the user wrote it
    opcodes = difflib.SequenceMatcher(
        a=USER_PYPROJECT.splitlines(True), b=pyproject.splitlines(True), autojunk=False
    ).get_opcodes()
    assert {tag for tag, *_ in opcodes} == {"equal", "insert"}
    assert (
        '[project.entry-points."quantizer_scaffold.dispatchers"]\n'
        'keras = "myproj.qat.keras.quantizer.quantization_dispatcher_builder"\n\n'
        "[tool.ruff]\n"
    ) in pyproject
    dispatcher = (root / DISPATCHER).read_text()
    assert "from quantizer_scaffold import quantizers_infrastructure as qi" in dispatcher
    assert "TrainingMethod.QIL: {" in dispatcher
    assert "class TrainingMethod(Enum):" in (root / ENUM).read_text()
    # generated modules import the runtime from quantizer_scaffold's public API
    for path in (root / "src/myproj/qat/keras/quantizer/qil").glob("*.py"):
        text = path.read_text()
        assert "myproj.quantizers_infrastructure" not in text and "myproj.testing" not in text


def test_the_declared_parameter_is_in_the_users_quantizer_and_recorded(
    scaffolded: tuple[Path, dict[str, str], str],
) -> None:
    root, _, _ = scaffolded
    package = root / "src/myproj/qat/keras/quantizer/qil"
    inferable = (package / "activations_inferable_quantizer.py").read_text()
    assert (
        'qi.QuantizerParameter("interval", qi.ParameterKind.LEARNED, initial="threshold"),'
        in inferable
    )
    assert "from quantizer_scaffold import quantizers_infrastructure as qi" in inferable
    weights = (package / "weights_inferable_quantizer.py").read_text()
    assert 'qi.QuantizerParameter("threshold", qi.ParameterKind.FIXED' in weights
    manifest = json.loads((root / ".scaffold-quantizer.json").read_text())
    targets = manifest["methods"]["QIL"]["targets"]
    assert targets["activation"]["parameters"] == ["interval=learned:threshold"]
    assert "parameters" not in targets["weights"]


def test_the_generated_code_is_lint_clean_in_the_users_project(
    scaffolded: tuple[Path, dict[str, str], str],
) -> None:
    root, _, _ = scaffolded
    ruff = Path(__import__("sys").executable).with_name("ruff")
    for command in ([ruff, "check", "."], [ruff, "format", "--check", "."]):
        result = subprocess.run(command, cwd=root, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_generated_tests_use_the_projects_dispatcher_and_pass(
    scaffolded: tuple[Path, dict[str, str], str],
) -> None:
    root, _, _ = scaffolded
    result = _ok(run_pytest(root / "tests/generated", root, [root / "src"]))
    assert " passed" in result.stdout and "failed" not in result.stdout


def test_qat_init_trains_with_the_projects_method_and_the_model_reloads_in_a_fresh_process(
    scaffolded: tuple[Path, dict[str, str], str], tmp_path: Path
) -> None:
    root, _, _ = scaffolded
    trained = _ok(run_python(TRAIN.replace("REGISTER", REGISTER), tmp_path, [root / "src"]))
    result = json.loads(trained.stdout.strip().splitlines()[-1])
    assert result["kinds"] == [
        "QILActivationsTrainingQuantizer",
        "QILWeightsTrainingQuantizer",
    ]
    loaded = _ok(run_python(LOAD.replace("REGISTER", REGISTER), tmp_path, [root / "src"]))
    again = json.loads(loaded.stdout.strip().splitlines()[-1])
    assert again["predictions"] == result["predictions"]


def test_an_unregistered_project_enum_is_refused_with_the_fix(
    scaffolded: tuple[Path, dict[str, str], str], tmp_path: Path
) -> None:
    root, _, _ = scaffolded
    code = TRAIN.replace("REGISTER", "").split("keras.utils.set_random_seed")[0] + (
        "try:\n"
        "    QATConfig(weight_training_method=TrainingMethod.QIL)\n"
        "    qat_init(keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)]),"
        " activation_method=None,\n"
        "             qat_config=QATConfig(weight_training_method=TrainingMethod.QIL))\n"
        "except ValueError as error:\n"
        "    print(error)\n"
    )
    message = _ok(run_python(code, tmp_path, [root / "src"])).stdout
    assert "has no keras dispatcher" in message and "register_dispatcher" in message
    assert "pip install -e ." in message


def test_list_shows_built_in_and_project_methods_and_where_each_is_registered(
    scaffolded: tuple[Path, dict[str, str], str], cli: Runner
) -> None:
    root, _, _ = scaffolded
    listed = json.loads(_ok(cli("list", "--json", cwd=root)).stdout)
    rows = {m["name"]: m for m in listed["methods"]}
    assert rows["STE"]["origin"] == "built-in" and rows["STE"]["value"] == 0
    assert rows["STE"]["enum"] == "quantizer_scaffold.qat.common.qat_config.TrainingMethod"
    assert rows["QIL"]["origin"] == "project" and rows["QIL"]["value"] == 0
    assert rows["QIL"]["enum"] == "myproj.qat.common.qat_config.TrainingMethod"
    assert rows["QIL"]["registered_in"]["dispatcher_file"] == DISPATCHER
    assert rows["QIL"]["quantizers"] == {
        "weights": {"symmetric": "QILWeightsTrainingQuantizer"},
        "activation": {"symmetric": "QILActivationsTrainingQuantizer"},
    }
    table = _ok(cli("list", cwd=root)).stdout
    assert DISPATCHER in table and "built-in" in table


@pytest.mark.parametrize("name", ["STE", "ste", "Lsq"])
def test_a_built_in_method_name_is_refused_clearly(name: str, tmp_path: Path, cli: Runner) -> None:
    root = user_project(tmp_path / "myproj")
    before = hashes(root)
    result = cli("--method", name, "--target", "weights", cwd=root)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "built-in training method" in line and "choose another --method" in line
    assert hashes(root) == before


def test_remove_of_every_method_gives_back_the_project_as_it_was(
    tmp_path: Path, cli: Runner
) -> None:
    root = user_project(tmp_path / "myproj")
    before = hashes(root)
    _ok(cli("-m", "QIL", "-t", "weights", cwd=root))
    _ok(cli("-m", "Ternary", "-t", "activation", cwd=root))
    _ok(cli("remove", "-m", "QIL", cwd=root))
    assert (root / DISPATCHER).is_file()  # Ternary still uses the registry
    removed = _ok(cli("remove", "-m", "Ternary", cwd=root))
    assert "removed this project's registry" in removed.stdout
    assert hashes(root) == before
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == [
        "pyproject.toml",
        "src",
        "src/myproj",
        "src/myproj/__init__.py",
    ]


def test_a_runtime_that_lacks_the_imported_modules_is_refused_before_writing(
    tmp_path: Path, cli: Runner
) -> None:
    from reach_helpers import USER_PYPROJECT

    root = user_project(
        tmp_path / "myproj",
        USER_PYPROJECT + '\n[tool.scaffold-quantizer]\nruntime = "myproj"\n',
    )
    (root / "src/myproj/qat/common").mkdir(parents=True)
    (root / "src/myproj/qat/keras/quantizer").mkdir(parents=True)
    (root / ENUM).write_text("from enum import Enum\n\n\nclass TrainingMethod(Enum):\n    A = 0\n")
    (root / DISPATCHER).write_text(
        "from myproj import quantizers_infrastructure as qi\n"
        "from myproj.qat.common.qat_config import TrainingMethod\n\n"
        "METHOD2WEIGHTQUANTIZER = {}\nMETHOD2ACTQUANTIZER = {}\n"
    )
    before = hashes(root)
    result = cli("-m", "QIL", "-t", "weights", cwd=root)
    assert result.returncode == 2, result.stdout + result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "quantizers_infrastructure from myproj" in line and "nothing was written" in line
    assert hashes(root) == before


def test_remove_before_any_scaffold_says_there_is_no_registry(tmp_path: Path, cli: Runner) -> None:
    root = user_project(tmp_path / "myproj")
    before = hashes(root)
    result = cli("remove", "--method", "QIL", cwd=root)
    assert result.returncode == 0 and "no registry yet" in result.stdout, result.stderr
    assert "nothing to remove" in result.stdout and hashes(root) == before
    listed = json.loads(_ok(cli("list", "--json", cwd=root)).stdout)
    assert {m["origin"] for m in listed["methods"]} == {"built-in"}
