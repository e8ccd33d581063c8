"""The project the generator writes into: its root and its ``[tool.scaffold-quantizer]`` table.

Two questions are kept apart: *where generated code goes* (``package``, ``source_root``, the
registry files and ``quantizers_dir``) and *which runtime it imports* (``runtime``, by default
the installed ``quantizer_scaffold``). Every key has a default inferred from the project, so a
user's package needs no table at all: its one import package under ``src/`` (or at the
root), with the registry laid out inside it as in this library (``qat/common/qat_config.py``,
``qat/keras/quantizer/quantization_dispatcher_builder.py``). Paths are normalised (``./``,
``//``, symlinks): the same file under two spellings is one file.

Back ends: the ``TrainingMethod`` enum is shared; each back end has its own dispatcher file
and quantizer folder (``BACKENDS``). The top-level ``dispatcher_file`` and
``quantizers_dir`` describe the ``keras`` (Keras 2, tf_keras) back end; a back end's table
``[tool.scaffold-quantizer.<backend>]`` may set them (and ``templates``) for that back end.
"""

from __future__ import annotations

import posixpath
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

PYPROJECT = "pyproject.toml"
TOOL_TABLE = "scaffold-quantizer"
RUNTIME = "quantizer_scaffold"  # the runtime generated code imports unless configured


@dataclass(frozen=True)
class BackendDefaults:
    """Where a back end's registry lives inside a package, as this library lays it out."""

    title: str
    dispatcher: str  # relative to the package folder
    quantizers: str


# one entry per back end (the names the runtime's
# quantizer_scaffold.qat.common.dispatchers.BUILTIN_DISPATCHERS uses)
BACKENDS: dict[str, BackendDefaults] = {
    "keras": BackendDefaults(
        "Keras 2 (tf_keras)",
        "qat/keras/quantizer/quantization_dispatcher_builder.py",
        "qat/keras/quantizer",
    ),
    "keras3": BackendDefaults(
        "Keras 3, on TensorFlow or JAX",
        "qat/keras3/quantizer/quantization_dispatcher_builder.py",
        "qat/keras3/quantizer",
    ),
}
DEFAULT_BACKEND = "keras"  # the back end of the top-level dispatcher_file / quantizers_dir
ENUM_FILE = "qat/common/qat_config.py"  # relative to the package folder
_BACKEND_KEYS = {"dispatcher_file", "quantizers_dir", "templates"}
_TOP_KEYS = {
    "source_root",
    "package",
    "runtime",
    "training_method_file",
    "tests_dir",
    "manifest_file",
    "templates",
    "dispatcher_file",
    "quantizers_dir",
    "framework",
}


def check_backend(name: str, where: str) -> str:
    """``name`` if it is a back end, else the one-line error that lists them."""
    if name not in BACKENDS:
        known = " or ".join(BACKENDS)
        raise UsageError(
            f"{where} {name!r} is no back end; choose {known} "
            f"({'; '.join(f'{b}: {d.title}' for b, d in BACKENDS.items())})"
        )
    return name


def normalise(value: str, key: str, origin: str) -> str:
    """A project-relative POSIX path without ``.``, ``//`` or a trailing ``/``."""
    if "\\" in value:
        value = value.replace("\\", "/")
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts:
        raise UsageError(
            f"{origin}: [tool.{TOOL_TABLE}] {key} = {value!r} must be a relative path inside "
            "the project"
        )
    return posixpath.normpath(value)


@dataclass(frozen=True)
class BackendLayout:
    """One back end's dispatcher file and quantizer folder (project-relative POSIX paths)."""

    name: str
    dispatcher_file: str
    quantizers_dir: str
    templates: str | None = None  # the project's own templates for this back end


@dataclass(frozen=True)
class ProjectConfig:
    """Where the registry and the generated files live, relative to the project root (POSIX)."""

    source_root: str = "src"
    package: str = "quantizer_scaffold"
    runtime: str = RUNTIME
    training_method_file: str = "src/quantizer_scaffold/qat/common/qat_config.py"
    tests_dir: str = "tests/generated"
    manifest_file: str = ".scaffold-quantizer.json"
    templates: str | None = None  # the keras back end's, like dispatcher_file
    framework: str = DEFAULT_BACKEND  # the back end a scaffold uses without --framework
    backends: dict[str, BackendLayout] = field(default_factory=dict)

    @property
    def dispatcher_file(self) -> str:
        return self.backend(DEFAULT_BACKEND).dispatcher_file

    @property
    def quantizers_dir(self) -> str:
        return self.backend(DEFAULT_BACKEND).quantizers_dir

    @property
    def package_dir(self) -> str:
        return posixpath.normpath(f"{self.source_root}/{self.package.replace('.', '/')}")

    def backend(self, name: str) -> BackendLayout:
        if name in self.backends:
            return self.backends[name]
        defaults = BACKENDS[check_backend(name, "back end")]
        return BackendLayout(
            name,
            posixpath.normpath(f"{self.package_dir}/{defaults.dispatcher}"),
            posixpath.normpath(f"{self.package_dir}/{defaults.quantizers}"),
        )

    def templates_for(self, backend: str) -> str | None:
        """The project's own templates for ``backend``; the top-level ``templates`` are the
        Keras 2 back end's (Keras 3 code is other code: its table names its own)."""
        own = self.backend(backend).templates
        return own or (self.templates if backend == DEFAULT_BACKEND else None)

    @property
    def uses_own_runtime(self) -> bool:
        """This project is the runtime (this repository, or a library with its own runtime)."""
        return self.package == self.runtime or self.package.startswith(self.runtime + ".")

    @classmethod
    def from_table(cls, table: dict[str, Any], origin: str, root: Path) -> ProjectConfig:
        unknown = sorted(
            k
            for k, v in table.items()
            if k not in _TOP_KEYS and not (k in BACKENDS and isinstance(v, dict))
        )
        if unknown:
            raise UsageError(
                f"{origin}: unknown key(s) {', '.join(unknown)} in [tool.{TOOL_TABLE}]; "
                f"known keys: {', '.join(sorted(_TOP_KEYS))} and back-end tables "
                f"{', '.join(f'[tool.{TOOL_TABLE}.{b}]' for b in BACKENDS)}"
            )

        def text(key: str, value: Any, where: str = "") -> str:
            if not isinstance(value, str) or not value.strip():
                raise UsageError(
                    f"{origin}: [tool.{TOOL_TABLE}{where}] {key} must be a non-empty string"
                )
            return value

        values: dict[str, Any] = {}
        for key in ("package", "runtime"):
            if key in table:
                values[key] = text(key, table[key]).strip()
                if not all(part.isidentifier() for part in values[key].split(".")):
                    raise UsageError(
                        f"{origin}: [tool.{TOOL_TABLE}] {key} = {values[key]!r} must be a "
                        "dotted module name"
                    )
        for key in ("source_root", "training_method_file", "tests_dir", "manifest_file"):
            if key in table:
                values[key] = normalise(text(key, table[key]), key, origin)
        if "framework" in table:
            values["framework"] = check_backend(
                text("framework", table["framework"]).strip(),
                f"{origin}: [tool.{TOOL_TABLE}] framework =",
            )
        if "templates" in table:
            values["templates"] = normalise(
                text("templates", table["templates"]), "templates", origin
            )
        if "package" not in values:
            values["package"] = infer_package(root, values.get("source_root"), origin)
        if "source_root" not in values:
            values["source_root"] = infer_source_root(root, values["package"])
        config = cls(**values)
        if "training_method_file" not in values:
            config = _replace(
                config, training_method_file=posixpath.normpath(f"{config.package_dir}/{ENUM_FILE}")
            )
        backends = {}
        for name in BACKENDS:
            own = table.get(name, {})
            layout = config.backend(name)
            given = {}
            if name == DEFAULT_BACKEND:
                given.update(
                    {k: table[k] for k in ("dispatcher_file", "quantizers_dir") if k in table}
                )
            for key, value in own.items():
                if key not in _BACKEND_KEYS:
                    raise UsageError(
                        f"{origin}: unknown key {key} in [tool.{TOOL_TABLE}.{name}]; "
                        f"known keys: {', '.join(sorted(_BACKEND_KEYS))}"
                    )
                given[key] = value
            backends[name] = BackendLayout(
                name,
                normalise(
                    text("dispatcher_file", given["dispatcher_file"]), "dispatcher_file", origin
                )
                if "dispatcher_file" in given
                else layout.dispatcher_file,
                normalise(text("quantizers_dir", given["quantizers_dir"]), "quantizers_dir", origin)
                if "quantizers_dir" in given
                else layout.quantizers_dir,
                normalise(text("templates", given["templates"]), "templates", origin)
                if "templates" in given
                else None,
            )
        return _replace(config, backends=backends)

    def check_importable(self, backend: str) -> None:
        """Refuse a ``quantizers_dir`` that generated modules could not be imported from."""
        folder = self.backend(backend).quantizers_dir
        try:
            self.module_of(folder)
        except UsageError:
            bad = [p for p in PurePosixPath(folder).parts if not p.isidentifier()]
            raise UsageError(
                f"[tool.{TOOL_TABLE}] quantizers_dir = {folder!r} is not an importable package "
                f"under source_root {self.source_root!r}"
                + (f" ({bad[-1]!r} is no Python identifier)" if bad else "")
                + ": rename that folder or point quantizers_dir elsewhere"
            ) from None

    def module_of(self, relative_dir: str) -> str:
        """The dotted module of a directory (or of a ``.py`` file's stem) under ``source_root``."""
        path = PurePosixPath(posixpath.normpath(relative_dir))
        try:
            parts = path.relative_to(PurePosixPath(self.source_root)).parts
        except ValueError:
            raise UsageError(
                f"[tool.{TOOL_TABLE}] {relative_dir!r} is not under source_root "
                f"{self.source_root!r}; generated modules must be importable"
            ) from None
        if not parts or not all(part.isidentifier() for part in parts):
            raise UsageError(
                f"[tool.{TOOL_TABLE}] {relative_dir!r} is not an importable module path under "
                f"source_root {self.source_root!r} (each folder must be a Python identifier)"
            )
        return ".".join(parts)


def _replace(config: ProjectConfig, **changes: Any) -> ProjectConfig:
    from dataclasses import replace

    return replace(config, **changes)


_IGNORED_DIRS = {"tests", "test", "docs", "doc", "benchmarks", "examples", "build", "dist"}


def _packages_in(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(
        child.name
        for child in folder.iterdir()
        if child.is_dir()
        and child.name.isidentifier()
        and child.name not in _IGNORED_DIRS
        and (child / "__init__.py").is_file()
    )


def _project_name(root: Path) -> str | None:
    try:
        data = tomllib.loads((root / PYPROJECT).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    name = data.get("project", {}).get("name")
    return re.sub(r"[-_.]+", "_", name).lower() if isinstance(name, str) else None


def infer_package(root: Path, source_root: str | None, origin: str) -> str:
    """The project's import package: the one under ``src/`` (or the root), by project name."""
    folders = [source_root] if source_root else ["src", "."]
    candidates = [name for folder in folders for name in _packages_in(root / folder)]
    wanted = _project_name(root)
    if wanted in candidates:
        return wanted  # type: ignore[return-value]
    if len(set(candidates)) == 1:
        return candidates[0]
    found = ", ".join(sorted(set(candidates))) or "none"
    raise UsageError(
        f"{origin}: cannot tell which package generated code goes into (packages found: "
        f'{found}); set package = "<your package>" in [tool.{TOOL_TABLE}]'
    )


def infer_source_root(root: Path, package: str) -> str:
    top = package.split(".")[0]
    return "src" if (root / "src" / top).is_dir() or not (root / top).is_dir() else "."


def _lints_line_length(tool: dict[str, Any], root: Path) -> bool:
    """Whether the project's linter checks line length (ruff selecting E/E501, or flake8)."""
    ruff = tool.get("ruff", {})
    lint = ruff.get("lint", {}) if isinstance(ruff, dict) else {}
    selected: list[Any] = []
    for table in (ruff, lint):
        if isinstance(table, dict):
            for key in ("select", "extend-select"):
                value = table.get(key, [])
                selected += value if isinstance(value, list) else []
    if (
        any(isinstance(s, str) and "E501".startswith(s) and s for s in selected)
        or "ALL" in selected
    ):
        return True
    return (root / ".flake8").is_file() or "flake8" in tool


@dataclass(frozen=True)
class Project:
    """A project root (a folder with pyproject.toml) and its generator configuration."""

    root: Path
    config: ProjectConfig
    line_length: int = 88  # [tool.ruff] (or black) line-length: where generated code wraps
    lints_line_length: bool = False  # an import line that cannot wrap gets a noqa for E501

    def path(self, relative: str) -> Path:
        return self.root.joinpath(*PurePosixPath(relative).parts)

    def canonical(self, relative: str) -> str:
        """``relative`` with symlinks resolved, as a project-relative POSIX path."""
        real_root = self.root.resolve()
        target = self.path(relative).resolve()
        try:
            return target.relative_to(real_root).as_posix()
        except ValueError:
            raise UsageError(
                f"{relative} resolves to {target}, outside the project {real_root} "
                "(a symlink?); scaffold-quantizer never writes outside the project"
            ) from None


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


def _canonical_config(project: Project) -> ProjectConfig:
    """The configuration with every registry and output path resolved through symlinks."""
    config = project.config
    backends = {
        name: BackendLayout(
            name,
            project.canonical(b.dispatcher_file),
            project.canonical(b.quantizers_dir),
            b.templates,
        )
        for name, b in config.backends.items()
    }
    return _replace(
        config,
        training_method_file=project.canonical(config.training_method_file),
        tests_dir=project.canonical(config.tests_dir),
        backends=backends,
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
    tool = data.get("tool", {})
    table = tool.get(TOOL_TABLE, {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise UsageError(f"{pyproject}: [tool.{TOOL_TABLE}] must be a table")
    line_length = 88
    for linter in ("ruff", "black"):
        value = (
            tool.get(linter, {}).get("line-length") if isinstance(tool.get(linter), dict) else None
        )
        if isinstance(value, int) and not isinstance(value, bool) and value >= 40:
            line_length = value
            break
    project = Project(
        root=root,
        config=ProjectConfig.from_table(table, str(pyproject), root),
        line_length=line_length,
        lints_line_length=_lints_line_length(tool, root),
    )
    return _replace_project(project, config=_canonical_config(project))


def _replace_project(project: Project, **changes: Any) -> Project:
    from dataclasses import replace

    return replace(project, **changes)
