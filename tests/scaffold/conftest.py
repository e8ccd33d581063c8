"""Fixtures of the generator tests: a temporary copy of this project, and the real CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from scaffold_helpers import Runner, copy_project, run_cli


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


@pytest.fixture
def cli() -> Runner:
    return run_cli
