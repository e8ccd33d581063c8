"""A copy of a project as it was before any scaffold: the ground the examples and tests stand on.

The copy takes ``src/``, ``pyproject.toml`` and the manifest, then removes every training
method the manifest records with the generator's own ``remove`` (which restores the
registry files byte for byte), and deletes what ``remove`` keeps because it was edited
(and the manifest's record of it).
So methods scaffolded into the project itself (such as LSQ here) never change what the
seed's examples look like.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .api import remove
from .manifest import Manifest
from .project import load_project


def copy_baseline_project(source: Path, destination: Path) -> Path:
    """Copy ``source`` to ``destination`` and undo every scaffold recorded in its manifest."""
    shutil.copytree(
        source / "src", destination / "src", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy2(source / "pyproject.toml", destination / "pyproject.toml")
    config = load_project(destination).config
    manifest_path = source / config.manifest_file
    if not manifest_path.exists():
        return destination
    shutil.copy2(manifest_path, destination / config.manifest_file)
    manifest = Manifest.parse(manifest_path.read_text(encoding="utf-8"), config.manifest_file)
    for method, entry in manifest.data["methods"].items():
        report = remove(method, root=destination)
        for item in report.files:
            if item.action == "KEEP":
                (destination / item.path).unlink()
        for folder in sorted(entry.get("created_dirs", []), key=len, reverse=True):
            path = destination / folder
            if path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    # the pairs remove kept (the edited ones) were deleted above: so is their record
    left = destination / config.manifest_file
    if left.exists():
        kept = Manifest.parse(left.read_text(encoding="utf-8"), config.manifest_file)
        for method in kept.kept_methods():
            kept.forget_kept(method)
        if kept.is_empty():
            left.unlink()
        else:
            left.write_text(kept.text(), encoding="utf-8")
    return destination
