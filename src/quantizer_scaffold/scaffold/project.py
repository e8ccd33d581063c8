"""The project the generator writes into: its root and its ``[tool.scaffold-quantizer]`` table."""

from __future__ import annotations

import sys
from dataclasses import dataclass, fields
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

PYPROJECT = "pyproject.toml"
TOOL_TABLE = "scaffold-quantizer"


@dataclass(frozen=True)
class ProjectConfig:
    """Where the registry and the generated files live, relative to the project root (POSIX)."""

    source_root: str = "src"
    package: str = "quantizer_scaffold"
    training_method_file: str = "src/quantizer_scaffold/qat/common/qat_config.py"
    dispatcher_file: str = (
        "src/quantizer_scaffold/qat/keras/quantizer/quantization_dispatcher_builder.py"
    )
    quantizers_dir: str = "src/quantizer_scaffold/qat/keras/quantizer"
    tests_dir: str = "tests/generated"
    manifest_file: str = ".scaffold-quantizer.json"

    @classmethod
    def from_table(cls, table: dict[str, Any], origin: str) -> ProjectConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(table) - known)
        if unknown:
            raise UsageError(
                f"{origin}: unknown key(s) {', '.join(unknown)} in [tool.{TOOL_TABLE}]; "
                f"known keys: {', '.join(sorted(known))}"
            )
        values: dict[str, str] = {}
        for key, value in table.items():
            if not isinstance(value, str) or not value:
                raise UsageError(f"{origin}: [tool.{TOOL_TABLE}] {key} must be a non-empty string")
            path = PurePosixPath(value)
            if key != "package" and (path.is_absolute() or ".." in path.parts):
                raise UsageError(
                    f"{origin}: [tool.{TOOL_TABLE}] {key} = {value!r} must be a relative path "
                    "inside the project"
                )
            values[key] = value
        config = cls(**values)
        if not all(part.isidentifier() for part in config.package.split(".")):
            raise UsageError(f"{origin}: [tool.{TOOL_TABLE}] package must be a dotted module name")
        return config

    def module_of(self, relative_dir: str) -> str:
        """The dotted module name of a directory under ``source_root``."""
        path = PurePosixPath(relative_dir)
        try:
            parts = path.relative_to(PurePosixPath(self.source_root)).parts
        except ValueError:
            raise UsageError(
                f"[tool.{TOOL_TABLE}] {relative_dir!r} is not under source_root "
                f"{self.source_root!r}; generated modules must be importable"
            ) from None
        return ".".join(parts)


@dataclass(frozen=True)
class Project:
    """A project root (a folder with pyproject.toml) and its generator configuration."""

    root: Path
    config: ProjectConfig
    line_length: int = 88  # [tool.ruff] line-length: where generated imports wrap

    def path(self, relative: str) -> Path:
        return self.root.joinpath(*PurePosixPath(relative).parts)


def find_root(start: Path) -> Path:
    """The nearest folder at or above ``start`` that holds a pyproject.toml."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / PYPROJECT).is_file():
            return folder
    raise UsageError(
        f"no {PYPROJECT} found in {start} or any folder above it; run inside the project "
        "or pass --root PATH"
    )


def load_project(root: Path | None = None, cwd: Path | None = None) -> Project:
    """The project at ``root`` (which must hold pyproject.toml) or found upward from ``cwd``."""
    if root is None:
        root = find_root(cwd or Path.cwd())
    else:
        root = Path(root).resolve()
        if not (root / PYPROJECT).is_file():
            raise UsageError(f"--root {root} has no {PYPROJECT}; pass the project's top folder")
    pyproject = root / PYPROJECT
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise UsageError(f"cannot read {pyproject}: {error}") from None
    table = data.get("tool", {}).get(TOOL_TABLE, {})
    if not isinstance(table, dict):
        raise UsageError(f"{pyproject}: [tool.{TOOL_TABLE}] must be a table")
    line_length = data.get("tool", {}).get("ruff", {}).get("line-length", 88)
    if not isinstance(line_length, int) or isinstance(line_length, bool) or line_length < 40:
        line_length = 88
    return Project(
        root=root,
        config=ProjectConfig.from_table(table, str(pyproject)),
        line_length=line_length,
    )
