"""Helpers of the hardening tests: hypothesis settings, tree states, whole-tree checks."""

from __future__ import annotations

import ast
import hashlib
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, Phase, settings

from quantizer_scaffold.scaffold import registry, transaction, validate
from quantizer_scaffold.scaffold.project import load_project

# How many cases of each family this process has tried (see ``tried``); the autouse fixture
# in conftest.py moves each test's share into its report for the session's summary.
CASES: Counter[str] = Counter()


def tried(family: str, count: int = 1) -> None:
    """Count ``count`` cases of ``family`` (one hypothesis example, one fault point, ...)."""
    CASES[family] += count


def fuzz(max_examples: int) -> settings:
    """Deterministic, modest hypothesis settings: the same cases on every CI run."""
    return settings(
        max_examples=max_examples,
        derandomize=True,
        deadline=None,
        database=None,
        print_blob=True,
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def fresh_copy(pristine: Path, destination: Path) -> Path:
    shutil.copytree(pristine, destination, symlinks=True)
    return destination


def tree_state(root: Path) -> dict[str, str]:
    """Every file (sha256 of its bytes), symlink (its target) and folder under ``root``."""
    state: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if "__pycache__" in relative.parts:
            continue
        key = relative.as_posix()
        if path.is_symlink():
            state[key] = f"link -> {path.readlink()}"
        elif path.is_dir():
            state[key + "/"] = "dir"
        else:
            state[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


def registry_texts(root: Path) -> registry.RegistryTexts:
    config = load_project(root).config
    return registry.RegistryTexts(
        (root / config.training_method_file).read_text(encoding="utf-8"),
        config.training_method_file,
        (root / config.dispatcher_file).read_text(encoding="utf-8"),
        config.dispatcher_file,
    )


def assert_whole(root: Path) -> list[registry.RegisteredMethod]:
    """No journal or temp file left, every .py file parses, and the registry resolves.

    "Resolves": both registry files bind every global name they read, every ``TrainingMethod.X``
    the dispatcher uses is a member, and every class it maps to is imported from a module file
    that exists in the project and defines it.
    """
    leftovers = [
        p.name
        for p in root.rglob("*")
        if p.name.endswith((".scaffold-tmp", ".tmp")) or p.name == transaction.JOURNAL_FILE
    ]
    assert leftovers == []
    for path in root.rglob("*.py"):
        ast.parse(path.read_bytes(), str(path))
    texts = registry_texts(root)
    project = load_project(root)
    methods = registry.read_registry(texts)
    for label, text in (
        (texts.enum_label, texts.enum_text),
        (texts.dispatcher_label, texts.dispatcher_text),
    ):
        assert validate.unresolved_names(label, text) == [], label
    used = validate.attribute_members(texts.dispatcher_text, registry.ENUM_CLASS)
    assert used <= {m.name for m in methods}
    imports = {
        alias.asname or alias.name: node.module
        for node in ast.parse(texts.dispatcher_text).body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    source_root = root / project.config.source_root
    for method in methods:
        for classes in method.quantizers.values():
            for class_name in classes.values():
                module = imports[class_name]
                path = source_root.joinpath(*module.split(".")).with_suffix(".py")
                assert class_name in validate.defined_names(path.read_text()), (class_name, path)
    return methods


def run_ok(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command that must succeed; its output's end is the assertion message."""
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def build_wheel(repo: Path, work: Path) -> Path:
    """quantizer-scaffold's wheel, built from a clean copy of the sources."""
    source = work / "source"
    for item in ("src", "templates"):
        shutil.copytree(repo / item, source / item, ignore=shutil.ignore_patterns("__pycache__"))
    for item in ("pyproject.toml", "README.md"):
        shutil.copy2(repo / item, source / item)
    run_ok(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", work / "dist", source)
    (wheel,) = (work / "dist").glob("quantizer_scaffold-*.whl")
    return wheel
