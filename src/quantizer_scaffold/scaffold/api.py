"""The generator's library API: ``scaffold``, ``remove`` and ``list_methods``.

The CLI is a thin shell over these functions. Each run: validate the name (before touching
anything), take the project lock, finish any interrupted run, read the registry and the
manifest, plan every file in memory, validate the plan, then write it all or nothing.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import registry, transaction, validate
from .errors import ConflictError, UsageError
from .manifest import Manifest, sha256
from .naming import MethodName, QuantizationMethod, Target
from .parameters import declared_parameters
from .project import Project, load_project

ORDER = [m.value for m in QuantizationMethod]


@dataclass(frozen=True)
class FileReport:
    """What a run does (or would do) to one path."""

    path: str
    action: str  # CREATE, UPDATE, UNCHANGED, DELETE or KEEP
    diff: str = ""
    note: str = ""


@dataclass
class Report:
    """The result of one run, for the CLI and for ``--json``."""

    command: str
    root: str
    method: str | None = None
    target: str | None = None
    files: list[FileReport] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        return any(f.action in {"CREATE", "UPDATE", "DELETE"} for f in self.files)

    def to_dict(self) -> dict[str, object]:
        by_action: dict[str, list[str]] = {}
        for item in self.files:
            by_action.setdefault(item.action.lower(), []).append(item.path)
        return {
            "command": self.command,
            "root": self.root,
            "method": self.method,
            "target": self.target,
            "dry_run": self.dry_run,
            "changed": self.changed,
            "files": [{"path": f.path, "action": f.action, "note": f.note} for f in self.files],
            **{
                key: by_action.get(key, [])
                for key in ("create", "update", "unchanged", "delete", "keep")
            },
            "next_steps": self.next_steps,
            "notes": self.notes,
        }


def parse_target(value: str | Target) -> Target:
    try:
        return Target(value)
    except ValueError:
        choices = ", ".join(t.value for t in Target)
        raise UsageError(f"invalid --target {value!r}: choose one of {choices}") from None


def parse_methods(values: Sequence[str]) -> list[str]:
    chosen = set()
    for value in values or ["symmetric"]:
        normalized = value.strip().lower().replace("-", "_")
        if normalized not in ORDER:
            raise UsageError(
                f"invalid --quantization-method {value!r}: choose from {', '.join(ORDER)}"
            )
        chosen.add(normalized)
    return [m for m in ORDER if m in chosen]


def _diff(path: str, before: str | None, after: str | None) -> str:
    lines = difflib.unified_diff(
        (before or "").splitlines(keepends=True),
        (after or "").splitlines(keepends=True),
        fromfile="/dev/null" if before is None else f"a/{path}",
        tofile="/dev/null" if after is None else f"b/{path}",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


@contextlib.contextmanager
def _session(project: Project, writes: bool, report: Report) -> Iterator[None]:
    """Hold the lock and recover an interrupted run, unless this run writes nothing."""
    if not writes:
        if (project.root / transaction.JOURNAL_FILE).exists():
            raise UsageError(
                f"an interrupted run left {transaction.JOURNAL_FILE}; run scaffold-quantizer "
                "once without --dry-run/--check to finish it"
            )
        yield
        return
    with transaction.project_lock(project.root):
        recovered = transaction.recover(project.root)
        if recovered:
            report.notes.append(recovered)
        yield


class _Workspace:
    """The project's files as this run sees them: disk plus staged changes, in memory."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.before: dict[str, str | None] = {}
        self.after: dict[str, str | None] = {}

    def read(self, path: str) -> str | None:
        if path in self.after:
            return self.after[path]
        if path not in self.before:
            self.before[path] = transaction.read_text(self.project.root, path)
        return self.before[path]

    def require(self, path: str, what: str) -> str:
        text = self.read(path)
        if text is None:
            raise UsageError(
                f"{path} ({what}) does not exist; fix [tool.scaffold-quantizer] in pyproject.toml"
            )
        return text

    def stage(self, path: str, text: str | None) -> None:
        self.read(path)
        self.after[path] = text

    def changes(self) -> list[transaction.Change]:
        return [transaction.Change(p, self.before[p], t) for p, t in self.after.items()]


def _registry_texts(project: Project, space: _Workspace) -> registry.RegistryTexts:
    config = project.config
    if config.training_method_file == config.dispatcher_file:
        raise UsageError("training_method_file and dispatcher_file must be different files")
    return registry.RegistryTexts(
        enum_text=space.require(config.training_method_file, "the TrainingMethod enum"),
        enum_label=config.training_method_file,
        dispatcher_text=space.require(config.dispatcher_file, "the quantizer dispatcher"),
        dispatcher_label=config.dispatcher_file,
    )


def _module_file(project: Project, module: str) -> str:
    return f"{project.config.source_root}/{module.replace('.', '/')}.py"


def _validate(project: Project, space: _Workspace, imports: dict[str, str]) -> None:
    config = project.config
    for path, text in space.after.items():
        if text is not None and path.endswith(".py"):
            validate.compiles(path, text)
    texts = _registry_texts(project, space)
    members = [m.name for m in registry.read_registry(texts)]
    validate.check_registry(
        config.training_method_file,
        texts.enum_text,
        config.dispatcher_file,
        texts.dispatcher_text,
        members,
        registry.ENUM_CLASS,
        {name: (_module_file(project, module), module) for name, module in imports.items()},
        space.read,
    )


def _finish(
    project: Project,
    space: _Workspace,
    report: Report,
    dry_run: bool,
    check: bool,
    notes: dict[str, str],
    keep: Mapping[str, str] | None = None,
    remove_dirs: Sequence[str] = (),
) -> Report:
    changes = space.changes()
    for change in sorted(changes, key=lambda c: (c.path.endswith(".json"), c.path)):
        diff = _diff(change.path, change.before, change.after) if dry_run or check else ""
        report.files.append(
            FileReport(change.path, change.action, diff, notes.get(change.path, ""))
        )
    for path, note in (keep or {}).items():
        report.files.append(FileReport(path, "KEEP", note=note))
    report.dry_run = dry_run or check
    if not (dry_run or check):
        transaction.apply(project.root, changes, remove_dirs)
    return report


def scaffold(
    method: str,
    target: str | Target = Target.WEIGHTS,
    quantization_methods: Sequence[str] = ("symmetric",),
    root: str | Path | None = None,
    cwd: str | Path | None = None,
    dry_run: bool = False,
    check: bool = False,
    force: bool = False,
    parameters: Sequence[str] = (),
) -> Report:
    """Render and register a trainable + inferable quantizer pair and its tests.

    ``parameters`` are ``--param`` declarations (see ``parameters.py``); none: the grids' own
    fixed, calibrated parameters.
    """
    name = MethodName.parse(method)
    target = parse_target(target)
    wanted = parse_methods(quantization_methods)
    weights = target is Target.WEIGHTS
    declared_parameters(parameters, wanted, weights)  # bad input fails before anything is read
    project = load_project(Path(root) if root else None, Path(cwd) if cwd else None)
    from .render import render

    report = Report("scaffold", str(project.root), name.enum_member, target.value)
    with _session(project, writes=not (dry_run or check), report=report):
        space = _Workspace(project)
        config = project.config
        manifest = Manifest.parse(space.read(config.manifest_file), config.manifest_file)
        texts = _registry_texts(project, space)
        present = registry.registered_keys(texts, name, target)
        methods = [m for m in ORDER if m in set(wanted) | set(present)]
        declared = declared_parameters(parameters, methods, weights)
        rendering = render(project, name, target, methods, declared)
        clash = f"{config.quantizers_dir}/{name.package}.py"
        if space.read(clash) is not None:
            raise ConflictError(
                f"{clash} already exists, so the package {name.package}/ would shadow it; "
                "choose another --method"
            )
        notes: dict[str, str] = {}
        written: dict[str, str] = {}
        for path, text in rendering.files.items():
            current = space.read(path)
            if current is None or current == text:
                space.stage(path, text)
                written[path] = text
                continue
            recorded = manifest.file_hash(path)
            if recorded is None:
                raise ConflictError(
                    f"{path} exists and was not generated by scaffold-quantizer; move it away "
                    "or choose another --method"
                )
            if recorded != sha256(current):
                raise ConflictError(
                    f"{path} was edited since scaffold-quantizer generated it; it is never "
                    "overwritten (move it away to regenerate it)"
                )
            if not force:
                raise ConflictError(
                    f"{path} was generated before with other options; pass --force to "
                    "replace it (it has no edits of yours)"
                )
            space.stage(path, text)
            written[path] = text
            notes[path] = "replaced (--force)"
        replaceable = manifest.registered_methods(name.enum_member, target.value) if force else []
        result = registry.register(
            texts,
            name,
            target,
            methods,
            rendering.training_module,
            replaceable=replaceable,
            line_length=project.line_length,
        )
        space.stage(config.training_method_file, result.enum_text)
        space.stage(config.dispatcher_file, result.dispatcher_text)
        updated = manifest.copy()
        shared = {p: t for p, t in written.items() if p == f"{rendering.package_dir}/__init__.py"}
        updated.record_files(name.enum_member, None, shared)
        updated.record_files(
            name.enum_member, target.value, {p: t for p, t in written.items() if p not in shared}
        )
        updated.record_registration(name.enum_member, target.value, methods, result.created_member)
        created_dirs = _missing_dirs(project, [p for p in written if space.before.get(p) is None])
        updated.record_dirs(name.enum_member, created_dirs)
        if updated.text() != (space.read(config.manifest_file) or ""):
            space.stage(config.manifest_file, updated.text())
        _validate(project, space, {name.training_class(target): rendering.training_module})
        report.next_steps = [
            f"review the diff: git diff -- {config.training_method_file} {config.dispatcher_file}",
            f"put your math in {rendering.training_file} (__call__) and, if the grid "
            f"changes, quantize() and grid() in {rendering.inferable_file}",
            f"run the contract tests: python -m pytest {rendering.test_file}",
        ]
        return _finish(project, space, report, dry_run, check, notes)


def _missing_dirs(project: Project, files: Sequence[str]) -> list[str]:
    """Folders (project-relative) that writing ``files`` would create."""
    missing: set[str] = set()
    for path in files:
        parts = path.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            folder = "/".join(parts[:depth])
            if not (project.root / folder).exists():
                missing.add(folder)
    return sorted(missing)


def remove(
    method: str,
    target: str | Target | None = None,
    root: str | Path | None = None,
    cwd: str | Path | None = None,
    dry_run: bool = False,
    check: bool = False,
) -> Report:
    """Undo ``scaffold``: registrations out, unedited generated files deleted, edits kept."""
    name = MethodName.parse(method)
    chosen = parse_target(target) if target is not None else None
    project = load_project(Path(root) if root else None, Path(cwd) if cwd else None)
    from .render import module_of

    report = Report("remove", str(project.root), name.enum_member, chosen.value if chosen else None)
    with _session(project, writes=not (dry_run or check), report=report):
        space = _Workspace(project)
        config = project.config
        manifest = Manifest.parse(space.read(config.manifest_file), config.manifest_file)
        texts = _registry_texts(project, space)
        registered = {t for t in Target if registry.registered_keys(texts, name, t)} | {
            Target(t) for t in manifest.targets(name.enum_member)
        }
        targets = [t for t in Target if (chosen is None or t is chosen) and t in registered]
        if not targets:
            what = f"for {chosen.value}" if chosen else "at all"
            raise UsageError(
                f"{name.enum_member} is not registered {what}; "
                "`scaffold-quantizer list` shows what is"
            )
        package_dir = f"{config.quantizers_dir}/{name.package}"
        modules = {
            t: module_of(project, f"{package_dir}/{name.training_module(t)}.py") for t in Target
        }
        entry = manifest.method(name.enum_member) or {}
        remaining = [t for t in manifest.targets(name.enum_member) if Target(t) not in targets]
        result = registry.unregister(
            texts,
            name,
            targets,
            modules,
            remove_member=bool(entry.get("enum_member_created")) and not remaining,
        )
        space.stage(config.training_method_file, result.enum_text)
        space.stage(config.dispatcher_file, result.dispatcher_text)
        updated = manifest.copy()
        wanted = {t.value for t in targets}
        files = {
            path: record
            for path, record in sorted(entry.get("files", {}).items())
            if (record["target"] is None and not remaining) or record["target"] in wanted
        }
        present = {path: text for path in files if (text := space.read(path)) is not None}
        edited = {p for p, text in present.items() if sha256(text) != files[p]["sha256"]}
        # a pair's modules import each other, its test imports both, and they all live in the
        # method's package: keep them together with what the user edited, or the kept code breaks
        kept_targets = {files[p]["target"] for p in edited}
        keep: dict[str, str] = {}
        for path in present:
            target = files[path]["target"]
            if path in edited:
                keep[path] = "edited since it was generated"
            elif target in kept_targets or (target is None and kept_targets):
                keep[path] = "kept with the edited files it belongs with"
            else:
                space.stage(path, None)
        for t in targets:
            updated.forget_target(name.enum_member, t.value)
        if not remaining:
            for path in keep:
                updated.forget_file(path)
        new_manifest = None if updated.is_empty() else updated.text()
        if new_manifest != space.read(config.manifest_file):
            space.stage(config.manifest_file, new_manifest)
        _validate(project, space, {})
        remove_dirs = [] if remaining else list(entry.get("created_dirs", []))
        if result.removed_member:
            report.notes.append(f"removed TrainingMethod.{name.enum_member}")
        if keep:
            report.notes.append(
                "kept files you edited (delete them yourself if you no longer need them)"
            )
        return _finish(project, space, report, dry_run, check, {}, keep, remove_dirs)


def list_methods(
    root: str | Path | None = None, cwd: str | Path | None = None
) -> tuple[Project, list[registry.RegisteredMethod]]:
    """Every TrainingMethod member and its registered classes, read from the code."""
    project = load_project(Path(root) if root else None, Path(cwd) if cwd else None)
    space = _Workspace(project)
    return project, registry.read_registry(_registry_texts(project, space))
