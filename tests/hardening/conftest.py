"""Fixtures of the hardening tests: a pristine project copy per session, fresh copies per case."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Reuse the generator tests' helpers (project copies, snapshots, the real CLI).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scaffold"))

from hardening_helpers import CASES, fresh_copy  # noqa: E402
from scaffold_helpers import copy_project  # noqa: E402


@pytest.fixture(scope="session")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One copy of this repository's ``src/`` and pyproject.toml, never written to."""
    return copy_project(tmp_path_factory.mktemp("pristine") / "project")


@pytest.fixture
def new_project(pristine: Path, tmp_path: Path) -> Callable[[], Path]:
    """Make as many fresh copies of the pristine project as a test needs."""
    counter = iter(range(1_000_000))
    return lambda: fresh_copy(pristine, tmp_path / f"project{next(counter)}")


@pytest.fixture(autouse=True)
def count_cases(request: pytest.FixtureRequest) -> Iterator[None]:
    """Put the cases this test tried (``hardening_helpers.tried``) into its report."""
    before = CASES.copy()
    yield
    for family, count in sorted((CASES - before).items()):
        request.node.user_properties.append(("cases", (family, count)))
