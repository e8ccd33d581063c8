"""A clean install: the wheel in a fresh venv without TensorFlow scaffolds a sample project."""

from __future__ import annotations

import subprocess
import venv
from pathlib import Path

import pytest
from hardening_helpers import assert_whole, build_wheel, run_ok
from scaffold_helpers import REPO

pytestmark = pytest.mark.wheel


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a clean copy of the sources, installed into a plain venv."""
    work = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(REPO, work)
    environment = work / "venv"
    venv.create(environment, with_pip=True)  # no system site-packages: TensorFlow is unseen
    python = environment / "bin" / "python"
    run_ok(python, "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel)
    return environment


def test_the_wheel_scaffolds_without_tensorflow(installed: Path, tmp_path: Path) -> None:
    from scaffold_helpers import copy_project

    project = copy_project(tmp_path / "sample")
    python = installed / "bin" / "python"
    probe = "import importlib.util as u; print([m for m in ('tensorflow', 'tf_keras') if u.find_spec(m)])"  # noqa: E501
    assert run_ok(python, "-c", probe).stdout.strip() == "[]"
    scaffold = installed / "bin" / "scaffold-quantizer"
    result = run_ok(scaffold, "-m", "WheelMethod", "-t", "activation", "-q", "uniform", cwd=project)
    assert "CREATE" in result.stdout and "Next steps" in result.stdout
    methods = {m.name: m.quantizers for m in assert_whole(project)}
    assert methods["WheelMethod"] == {
        "activation": {"uniform": "WheelMethodActivationsTrainingQuantizer"}
    }
    listed = run_ok(installed / "bin" / "scaffold-quantizer", "list", "--json", cwd=project)
    assert "WheelMethod" in listed.stdout
    bad = subprocess.run([installed / "bin" / "scaffold-quantizer", "-m", "9x"], cwd=project,
                         capture_output=True, text=True)  # fmt: skip
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_a_keras_class_says_what_to_install(installed: Path) -> None:
    code = (
        "from quantizer_scaffold import quantizers_infrastructure as qi\n"
        "from quantizer_scaffold.quantizers_infrastructure.common import MissingDependencyError\n"
        "try:\n"
        "    qi.BaseKerasTrainableQuantizer\n"
        "except MissingDependencyError as error:\n"
        "    assert isinstance(error, ImportError)\n"
        "    print(error)\n"
        "else:\n"
        "    raise SystemExit('no error')\n"
    )
    message = run_ok(installed / "bin" / "python", "-c", code).stdout
    assert "tensorflow" in message and "pip install 'quantizer-scaffold[tensorflow]'" in message
