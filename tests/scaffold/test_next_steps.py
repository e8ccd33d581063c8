"""The next steps are commands that work where the tool runs (the quick start's venv)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from reach_helpers import user_project

from quantizer_scaffold.scaffold import api


def test_quick_start_environment_gets_its_interpreter_and_the_missing_installs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = user_project(tmp_path / "myproj")
    venv_python = root / ".venv" / "bin" / "python3"  # not activated: not the PATH's python
    monkeypatch.setattr(sys, "executable", str(venv_python))
    found = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pytest" else found(name, *a)
    )
    report = api.scaffold("QIL", "weights", root=root, cwd=root, dry_run=True)
    steps = report.next_steps
    assert steps[0].startswith("review the files listed above")  # not a git repository
    assert "install your project so quantizer-scaffold finds its registry: " in steps[2]
    assert steps[2].endswith(".venv/bin/python3 -m pip install -e .")
    assert steps[3] == "install what the tests need: .venv/bin/python3 -m pip install pytest"
    assert steps[4] == (
        "run the generated tests: .venv/bin/python3 -m pytest "
        "tests/generated/test_qil_weights_quantizer.py"
    )
