"""Broken targets: a clear error naming the file, nothing written anywhere, no link followed out."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from hardening_helpers import tree_state, tried
from scaffold_helpers import REGISTRY, run_cli

from quantizer_scaffold.scaffold import api
from quantizer_scaffold.scaffold.errors import ScaffoldError

ENUM, DISPATCHER = REGISTRY
QUANTIZERS = "src/quantizer_scaffold/qat/keras/quantizer"


def _syntax_error(project: Path, outside: Path, path: str) -> str:
    (project / path).write_text((project / path).read_text() + "\ndef broken(:\n")
    return path


def _replace(old: str, new: str, path: str) -> Callable[[Path, Path], str]:
    def breaker(project: Path, outside: Path) -> str:
        text = (project / path).read_text()
        assert old in text
        (project / path).write_text(text.replace(old, new))
        return path

    return breaker


def _read_only(path: str) -> Callable[[Path, Path], str]:
    def breaker(project: Path, outside: Path) -> str:
        os.chmod(project / path, 0o444)
        return path

    return breaker


def _linked_out(path: str) -> Callable[[Path, Path], str]:
    """``path`` (a file or folder) moved outside the project, a symlink left in its place."""

    def breaker(project: Path, outside: Path) -> str:
        source = project / path
        moved = outside / source.name
        if source.exists():
            shutil.move(source, moved)
        else:
            moved.mkdir()
        source.parent.mkdir(parents=True, exist_ok=True)
        source.symlink_to(moved)
        return path

    return breaker


def _linked_tmp(project: Path, outside: Path) -> str:
    """A planted temp-file link: writing the registry must not go through it."""
    victim = outside / "victim.py"
    victim.write_text("precious\n")
    (project / ENUM).with_name(".qat_config.py.scaffold-tmp").symlink_to(victim)
    return ""


def _linked_lock(project: Path, outside: Path) -> str:
    (project / ".scaffold-quantizer.lock").symlink_to(outside / "lock")
    return ".scaffold-quantizer.lock"


CASES = {
    "enum syntax error": (lambda p, o: _syntax_error(p, o, ENUM)),
    "dispatcher syntax error": (lambda p, o: _syntax_error(p, o, DISPATCHER)),
    "enum class missing": _replace("class TrainingMethod(Enum):", "class Methods(Enum):", ENUM),
    "dict missing": _replace("METHOD2WEIGHTQUANTIZER = {", "WEIGHTS = {", DISPATCHER),
    "read-only enum file": _read_only(ENUM),
    "read-only dispatcher": _read_only(DISPATCHER),
    "read-only output folder": _read_only(QUANTIZERS),
    "enum file links outside": _linked_out(ENUM),
    "dispatcher links outside": _linked_out(DISPATCHER),
    "output folder links outside": _linked_out(f"{QUANTIZERS}/linked_method"),
    "tests folder links outside": _linked_out("tests/generated"),
    "manifest links outside": _linked_out(".scaffold-quantizer.json"),
    "lock links outside": _linked_lock,
}


@pytest.fixture
def places(new_project: Callable[[], Path], tmp_path: Path) -> tuple[Path, Path]:
    outside = tmp_path / "outside"
    outside.mkdir()
    return new_project(), outside


@pytest.mark.parametrize("case", list(CASES))
def test_broken_target_is_named_and_nothing_is_written(case: str, places) -> None:
    tried("broken targets")
    project, outside = places
    named = CASES[case](project, outside)
    before, before_outside = tree_state(project), tree_state(outside)
    with pytest.raises(ScaffoldError) as error:
        api.scaffold("LinkedMethod", "weights", ["symmetric", "uniform"], root=project)
    message = str(error.value)
    assert error.value.exit_code == 2 and "\n" not in message
    assert named in message, message
    assert tree_state(project) == before
    assert tree_state(outside) == before_outside


def test_a_planted_temp_link_is_replaced_not_followed(places) -> None:
    project, outside = places
    _linked_tmp(project, outside)
    api.scaffold("LinkedMethod", "weights", root=project)
    assert (outside / "victim.py").read_text() == "precious\n"
    assert not (project / ENUM).is_symlink()
    assert "LinkedMethod = " in (project / ENUM).read_text()


def test_remove_refuses_a_read_only_registry_and_writes_nothing(places) -> None:
    project, _ = places
    api.scaffold("LinkedMethod", "weights", root=project)
    os.chmod(project / DISPATCHER, 0o444)
    before = tree_state(project)
    with pytest.raises(ScaffoldError, match="read-only"):
        api.remove("LinkedMethod", root=project)
    assert tree_state(project) == before


@pytest.mark.parametrize("case", ["dispatcher syntax error", "dispatcher links outside"])
def test_the_cli_says_it_in_one_line_with_exit_code_2(case: str, places) -> None:
    project, outside = places
    named = CASES[case](project, outside)
    before, before_outside = tree_state(project), tree_state(outside)
    result = run_cli("--method", "LinkedMethod", cwd=project)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], result.stderr
    assert tree_state(project) == before and tree_state(outside) == before_outside
