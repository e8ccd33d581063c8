"""Helpers of the generator tests: project copies, file snapshots, the real CLI."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from quantizer_scaffold.scaffold.baseline import copy_baseline_project

REPO = Path(__file__).resolve().parents[2]
_SCRIPT = Path(sys.executable).with_name("scaffold-quantizer")
SCAFFOLD = (
    [str(_SCRIPT)]
    if _SCRIPT.exists()
    else [sys.executable, "-m", "quantizer_scaffold.scaffold.cli"]
)
REGISTRY = [
    "src/quantizer_scaffold/qat/common/qat_config.py",
    "src/quantizer_scaffold/qat/keras/quantizer/quantization_dispatcher_builder.py",
]


def copy_project(destination: Path) -> Path:
    """This repository's ``src/`` and ``pyproject.toml`` as before any scaffold."""
    return copy_baseline_project(REPO, destination)


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``root`` (relative path) -> (sha256, mtime_ns)."""
    return {
        p.relative_to(root).as_posix(): (
            hashlib.sha256(p.read_bytes()).hexdigest(),
            p.stat().st_mtime_ns,
        )
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def hashes(root: Path) -> dict[str, str]:
    return {path: digest for path, (digest, _) in snapshot(root).items()}


Runner = Callable[..., subprocess.CompletedProcess[str]]


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``scaffold-quantizer`` (the real entry point) in a subprocess."""
    return subprocess.run(
        [*SCAFFOLD, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )
