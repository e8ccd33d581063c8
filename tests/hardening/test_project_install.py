"""A user's project that depends on quantizer-scaffold, installed into a real virtual environment.

quantizer-scaffold goes in as its wheel; TensorFlow, tf_keras and tfmot are made visible
from the test's own environment (a path file: nothing is downloaded, and their copy of
quantizer_scaffold is not on the path). The user project is scaffolded with the venv's
``scaffold-quantizer`` and installed with pip (not editable), so the runtime can only find
its registry through the entry point that the scaffold declared in its pyproject.toml: no
``register_dispatcher`` call anywhere. Then qat_init trains with the project's
``TrainingMethod``, and the finalized model reloads in a fresh process.
"""

from __future__ import annotations

import importlib.util
import json
import venv
from pathlib import Path

import pytest
from hardening_helpers import build_wheel, run_ok
from reach_helpers import LOAD, TRAIN, run_python, user_project
from scaffold_helpers import REPO

pytestmark = [pytest.mark.wheel, pytest.mark.slow]

VISIBLE = ["tensorflow", "tf_keras", "tensorflow_model_optimization", "numpy", "jinja2",
           "libcst", "click", "rich", "tomlkit", "yaml", "markupsafe"]  # fmt: skip


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("install")
    wheel = build_wheel(REPO, work)
    folder = work / "venv"
    venv.create(folder, with_pip=True)
    python = folder / "bin" / "python"
    site = Path(run_ok(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")
                .stdout.strip())  # fmt: skip
    dirs = []
    for name in VISIBLE:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            parent = Path(spec.origin).resolve().parents[1]
            if parent not in dirs:
                dirs.append(parent)
    # plain lines: these folders' own .pth files (an editable quantizer_scaffold) stay unread
    (site / "visible_from_the_test_environment.pth").write_text(
        "".join(f"{d}\n" for d in dirs), encoding="utf-8"
    )
    run_ok(python, "-m", "pip", "install", "-q", "--no-deps", wheel)
    found = run_ok(python, "-c", "import quantizer_scaffold; print(quantizer_scaffold.__file__)")
    assert found.stdout.strip().startswith(str(site))  # the wheel, not the checkout
    return folder


def test_an_installed_project_trains_and_reloads_through_its_entry_point(
    environment: Path, tmp_path: Path
) -> None:
    scaffold = environment / "bin" / "scaffold-quantizer"
    python = environment / "bin" / "python"
    project = user_project(tmp_path / "myproj")
    for target in ("weights", "activation"):
        run_ok(scaffold, "--method", "QIL", "--target", target, cwd=project)
    listed = json.loads(run_ok(scaffold, "list", "--json", cwd=project).stdout)
    assert {(m["name"], m["origin"]) for m in listed["methods"]} == {
        ("STE", "built-in"),
        ("LSQ", "built-in"),
        ("DoReFa", "built-in"),
        ("PACT", "built-in"),
        ("QIL", "project"),
    }
    run_ok(python, "-m", "pip", "install", "-q", "--no-deps", project)
    work = tmp_path / "run"
    work.mkdir()
    trained = run_python(TRAIN.replace("REGISTER", ""), work, python=python)
    assert trained.returncode == 0, trained.stderr[-3000:]
    result = json.loads(trained.stdout.strip().splitlines()[-1])
    assert result["kinds"] == [
        "QILActivationsTrainingQuantizer",
        "QILWeightsTrainingQuantizer",
    ]
    loaded = run_python(LOAD.replace("REGISTER", ""), work, python=python)
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    assert json.loads(loaded.stdout.strip().splitlines()[-1]) == {
        "predictions": result["predictions"]
    }
