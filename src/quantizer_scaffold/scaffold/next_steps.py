"""The next steps printed after a scaffold: commands that work where the tool runs.

The interpreter as the user would type it (``python`` when it is the one on PATH, else its
path: the quick start's venv is not activated), an install step only for what is missing
(pytest, TensorFlow), ``git`` only inside a git repository, and the install that makes a
newly created project registry known to the runtime.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .project import Project
from .render import Rendering

if TYPE_CHECKING:
    from .api import Report


def _shown(project: Project, path: str, cwd: Path | None) -> str:
    """``path`` (project-relative) as the user at ``cwd`` would type it."""
    here = (cwd or Path.cwd()).resolve()
    target = project.path(path).resolve()
    try:
        return target.relative_to(here).as_posix()
    except ValueError:
        return str(target)


def _python(cwd: Path | None) -> str:
    """How to call the interpreter that runs this tool: ``python`` if that is the one on
    PATH, else its path (a venv that is not activated, as in the quick start)."""
    import os
    import shutil
    import sys

    here = (cwd or Path.cwd()).resolve()
    executable = Path(sys.executable)
    on_path = shutil.which("python")
    if on_path and os.path.abspath(on_path) == os.path.abspath(executable):
        return "python"
    try:
        return executable.relative_to(here).as_posix()
    except ValueError:
        return str(executable)


def next_steps(
    project: Project, rendering: Rendering, cwd: Path | None, report: Report
) -> list[str]:
    """What to do after scaffolding, as commands that work in this environment."""
    import importlib.util

    python = _python(cwd)
    inside_git = any((folder / ".git").exists() for folder in (project.root, *project.root.parents))
    math = f"put your math in {_shown(project, rendering.training_file, cwd)} (__call__)"
    if rendering.inferable_file in rendering.files:
        inferable = _shown(project, rendering.inferable_file, cwd)
        math += f" and, if the grid changes, quantize() and grid() in {inferable}"
    steps = [
        "review the changes: git status && git diff"
        if inside_git
        else "review the files listed above (CREATE: new, UPDATE: changed)",
        math,
    ]
    if report.registry_created:
        steps.append(
            f"install your project so quantizer-scaffold finds its registry: {python} -m pip "
            f"install -e {_shown(project, '.', cwd)}"
        )
    missing = [m for m in ("pytest", "tensorflow") if importlib.util.find_spec(m) is None]
    if missing:
        extra = ["pytest"] if "pytest" in missing else []
        extra += ["'quantizer-scaffold[tensorflow]'"] if "tensorflow" in missing else []
        steps.append(f"install what the tests need: {python} -m pip install {' '.join(extra)}")
    test_file = _shown(project, rendering.test_file, cwd)
    steps.append(f"run the generated tests: {python} -m pytest {test_file}")
    return steps
