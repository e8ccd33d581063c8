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

from . import builtin, registry, transaction, validate
from .errors import ConflictError, UsageError
from .manifest import Manifest, sha256
from .naming import MethodName, QuantizationMethod, Target
from .next_steps import next_steps
from .project import (
    DEFAULT_BACKEND,
    ENUM_FILE,
    PYPROJECT,
    RUNTIME,
    Project,
    load_project,
)
from .render import module_of

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
    registry_created: bool = False

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
            "registry_created": self.registry_created,
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

    def is_dir(self, path: str) -> bool:
        prefix = path.rstrip("/") + "/"
        staged = any(p.startswith(prefix) and t is not None for p, t in self.after.items())
        return staged or self.project.path(path).is_dir()

    def stage(self, path: str, text: str | None) -> None:
        self.read(path)
        self.after[path] = text

    def changes(self) -> list[transaction.Change]:
        return [transaction.Change(p, self.before[p], t) for p, t in self.after.items()]


def _registry_texts(
    project: Project, space: _Workspace, backend: str = DEFAULT_BACKEND
) -> registry.RegistryTexts:
    config = project.config
    dispatcher_file = config.backend(backend).dispatcher_file
    if config.training_method_file == dispatcher_file:
        raise UsageError(
            f"training_method_file and dispatcher_file are the same file ({dispatcher_file}); "
            "the enum and the dispatcher dictionaries must live in different files"
        )
    return registry.RegistryTexts(
        enum_text=space.require(config.training_method_file, "the TrainingMethod enum"),
        enum_label=config.training_method_file,
        dispatcher_text=space.require(dispatcher_file, "the quantizer dispatcher"),
        dispatcher_label=dispatcher_file,
    )


def _module_file(project: Project, module: str) -> str:
    root = project.config.source_root
    return f"{'' if root in {'', '.'} else root + '/'}{module.replace('.', '/')}.py"


def _create_own_registry(
    project: Project, space: _Workspace, backend: str, report: Report
) -> dict[str, str]:
    """Stage a user project's own registry where none exists yet; return the files created.

    Only in a project that is not the runtime itself: this repository (or a library with its
    own runtime) must point [tool.scaffold-quantizer] at its existing registry.
    """
    config = project.config
    dispatcher_file = config.backend(backend).dispatcher_file
    has_enum = space.read(config.training_method_file) is not None
    has_dispatcher = space.read(dispatcher_file) is not None
    if (has_enum and has_dispatcher) or config.uses_own_runtime:
        return {}
    if not has_enum and has_dispatcher:
        raise UsageError(
            f"{dispatcher_file} exists but the TrainingMethod enum file "
            f"{config.training_method_file} does not; fix [tool.scaffold-quantizer] "
            "training_method_file"
        )
    from . import own_registry

    created: dict[str, str] = {}
    enum_module = module_of(project, config.training_method_file)
    if not has_enum:
        created[config.training_method_file] = own_registry.enum_text(project)
    created[dispatcher_file] = own_registry.dispatcher_text(project, backend, enum_module)
    created.update(own_registry.package_inits(project, list(created), space.is_dir))
    pyproject = space.require(PYPROJECT, "the project file")
    entry = own_registry.declare_entry_point(
        pyproject, backend, module_of(project, dispatcher_file)
    )
    for path, text in created.items():
        space.stage(path, text)
    if entry.text is not None and entry.text != pyproject:
        space.stage(PYPROJECT, entry.text)
    report.notes.append(
        f"created this project's own registry: TrainingMethod in {config.training_method_file}"
        f" and the {backend} dispatcher in {dispatcher_file}"
        + (
            f', declared in {PYPROJECT} as the "{own_registry.ENTRY_POINT_GROUP}" entry point'
            if entry.text is not None
            else ""
        )
    )
    if entry.note:
        report.notes.append(entry.note)
    report.registry_created = True
    return created


def _validate(
    project: Project,
    space: _Workspace,
    imports: dict[str, str],
    members: Sequence[str],
    backend: str = DEFAULT_BACKEND,
) -> None:
    """Before anything is written: every staged module compiles, the registry resolves, and
    every import of a generated module (and every import an edited module gains, or that
    points at a module this run deletes) resolves to a module that defines the name."""
    config = project.config
    texts = _registry_texts(project, space, backend)
    registry_files = {texts.enum_label, texts.dispatcher_label}  # check_registry checks them
    for path, text in space.after.items():
        if text is not None and path.endswith(".py") and path not in registry_files:
            validate.compiles(path, text)
    validate.check_registry(
        config.training_method_file,
        texts.enum_text,
        texts.dispatcher_label,
        texts.dispatcher_text,
        members,
        registry.ENUM_CLASS,
        {name: (_module_file(project, module), module) for name, module in imports.items()},
        space.read,
    )
    index = validate.ModuleIndex(
        config.source_root, space.read, {config.package.split(".")[0], config.runtime.split(".")[0]}
    )
    deleted = {
        module_of(project, p)
        for p, t in space.after.items()
        if t is None and p.endswith(".py") and _under(p, config.source_root)
    }
    for path, text in sorted(space.after.items()):
        if text is None or not path.endswith(".py") or not _under(path, config.source_root):
            continue
        package = path.endswith("__init__.py")
        module = module_of(project, path).removesuffix(".__init__")
        imports = validate.imports_of(text, module, package)
        before = space.before.get(path)
        if before is not None:  # an edited module: what it gains, and what this run deletes
            old = {(m, tuple(n)) for _, m, n in validate.imports_of(before, module, package)}
            imports = [i for i in imports if (i[1], tuple(i[2])) not in old or i[1] in deleted]
        index.check(path, imports)


def _under(path: str, folder: str) -> bool:
    return folder in {"", "."} or path.startswith(folder.rstrip("/") + "/")


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
    backend: str = DEFAULT_BACKEND,
    parameters: Sequence[str] | None = None,
) -> Report:
    """Render and register a trainable + inferable quantizer pair and its tests.

    ``parameters`` are ``--param`` declarations (see ``parameters.py``); None: the ones this
    method's target was scaffolded with before (recorded in the manifest), else the grids'
    own fixed, calibrated parameters. In a user's project without a registry, the first run
    creates the project's own (``own_registry``) and declares it to the runtime.
    """
    name = MethodName.parse(method)
    target = parse_target(target)
    wanted = parse_methods(quantization_methods)
    from .parameters import declared_parameters, recorded_specs

    weights = target is Target.WEIGHTS
    if parameters is not None:  # bad input fails before anything is read
        declared_parameters(parameters, wanted, weights)
    project = load_project(Path(root) if root else None, Path(cwd) if cwd else None)
    layout = project.config.backend(backend)
    builtin.refuse_builtin_name(project, name, backend)
    from .render import render

    report = Report("scaffold", str(project.root), name.enum_member, target.value)
    with _session(project, writes=not (dry_run or check), report=report):
        space = _Workspace(project)
        config = project.config
        manifest = Manifest.parse(space.read(config.manifest_file), config.manifest_file)
        created_registry = _create_own_registry(project, space, backend, report)
        texts = registry.Registry(_registry_texts(project, space, backend))
        present = texts.registered_keys(name, target)
        methods = [m for m in ORDER if m in set(wanted) | set(present)]
        if parameters is None:
            parameters = manifest.recorded_parameters(name.enum_member, target.value)
        declared = declared_parameters(parameters or (), methods, weights)
        chosen = recorded_specs(parameters or (), declared)
        rendering = render(project, name, target, methods, declared, backend)
        clash = f"{layout.quantizers_dir}/{name.package}.py"
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
            linted=project.lints_line_length,
        )
        space.stage(config.training_method_file, result.enum_text)
        space.stage(layout.dispatcher_file, result.dispatcher_text)
        updated = manifest.copy()
        shared = {p: t for p, t in written.items() if p == f"{rendering.package_dir}/__init__.py"}
        updated.record_files(name.enum_member, None, shared)
        updated.record_files(
            name.enum_member, target.value, {p: t for p, t in written.items() if p not in shared}
        )
        updated.record_registration(
            name.enum_member, target.value, methods, result.created_member, chosen
        )
        new_files = [p for p in written if space.before.get(p) is None]
        created_dirs = _missing_dirs(project, new_files)
        updated.record_dirs(name.enum_member, created_dirs)
        if created_registry:
            updated.record_registry(
                backend,
                created_registry,
                _missing_dirs(project, list(created_registry)),
                space.before.get(PYPROJECT),
                space.after.get(PYPROJECT),
            )
        if updated.text() != (space.read(config.manifest_file) or ""):
            space.stage(config.manifest_file, updated.text())
        _validate(
            project,
            space,
            {name.training_class(target): rendering.training_module},
            result.members,
            backend,
        )
        report.next_steps = next_steps(project, rendering, Path(cwd) if cwd else None, report)
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
    backend: str = DEFAULT_BACKEND,
) -> Report:
    """Undo ``scaffold``: registrations out, unedited generated files deleted, edits kept.

    Removing the last method of a registry that ``scaffold`` created also removes that
    registry (its files, if unedited, and its entry point in pyproject.toml).
    """
    name = MethodName.parse(method)
    chosen = parse_target(target) if target is not None else None
    project = load_project(Path(root) if root else None, Path(cwd) if cwd else None)
    layout = project.config.backend(backend)

    report = Report("remove", str(project.root), name.enum_member, chosen.value if chosen else None)
    with _session(project, writes=not (dry_run or check), report=report):
        space = _Workspace(project)
        config = project.config
        manifest = Manifest.parse(space.read(config.manifest_file), config.manifest_file)
        if not config.uses_own_runtime and space.read(config.training_method_file) is None:
            raise UsageError(
                f"{name.enum_member} is not registered: this project has no registry yet "
                f"({config.training_method_file}); `scaffold-quantizer list` shows what is"
            )
        texts = registry.Registry(_registry_texts(project, space, backend))
        registered = {t for t in Target if texts.registered_keys(name, t)} | {
            Target(t) for t in manifest.targets(name.enum_member)
        }
        targets = [t for t in Target if (chosen is None or t is chosen) and t in registered]
        if not targets:
            what = f"for {chosen.value}" if chosen else "at all"
            raise UsageError(
                f"{name.enum_member} is not registered {what}; "
                "`scaffold-quantizer list` shows what is"
            )
        package_dir = f"{layout.quantizers_dir}/{name.package}"
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
        space.stage(layout.dispatcher_file, result.dispatcher_text)
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
        remove_dirs = [] if remaining else list(entry.get("created_dirs", []))
        # a folder this method created that still holds another method's files is handed to
        # that method, so that removing it later removes the folder too
        for other, record in updated.data["methods"].items():
            shared = [d for d in remove_dirs if any(p.startswith(d + "/") for p in record["files"])]
            updated.record_dirs(other, shared)
        if updated.is_empty():
            remove_dirs += _remove_own_registry(project, space, updated, result.members, report)
        new_manifest = None if updated.is_empty() else updated.text()
        if new_manifest != space.read(config.manifest_file):
            space.stage(config.manifest_file, new_manifest)
        if space.read(config.training_method_file) is not None:  # not a removed registry
            _validate(project, space, {}, result.members, backend)
        if result.removed_member:
            report.notes.append(f"removed TrainingMethod.{name.enum_member}")
        if keep:
            report.notes.append(
                "kept files you edited (delete them yourself if you no longer need them)"
            )
        return _finish(project, space, report, dry_run, check, {}, keep, remove_dirs)


def _remove_own_registry(
    project: Project,
    space: _Workspace,
    manifest: Manifest,
    members: Sequence[str],
    report: Report,
) -> list[str]:
    """Undo the registry creation of ``_create_own_registry`` once no method is left in it.

    Only files that still hold exactly what the tool created (after this run's edits) go;
    the entry point goes only while its lines are as written. Returns the folders to remove.
    """
    record = manifest.registry_record()
    if not record or members:
        return []
    files = record.get("files", {})
    if any(sha256(space.read(p) or "") != digest for p, digest in files.items()):
        report.notes.append("kept this project's registry: you edited it")
        return []
    for path in files:
        space.stage(path, None)
    pyproject = space.read(PYPROJECT)
    block = record.get("pyproject_block")
    if pyproject is not None and block and pyproject.count(block) == 1:
        space.stage(PYPROJECT, pyproject.replace(block, "", 1))
    manifest.forget_registry()
    report.notes.append("removed this project's registry: no method is left in it")
    return list(record.get("created_dirs", []))


def list_methods(
    root: str | Path | None = None,
    cwd: str | Path | None = None,
    backend: str = DEFAULT_BACKEND,
) -> tuple[Project, list[registry.RegisteredMethod]]:
    """Every training method with its registered classes, read from the code: the project's
    own (if it has a registry yet) and, in a user's project, quantizer-scaffold's built-in
    ones; ``registered_in`` says where each is."""
    project = load_project(Path(root) if root else None, Path(cwd) if cwd else None)
    config = project.config
    space = _Workspace(project)
    found: list[registry.RegisteredMethod] = []
    sources: list[tuple[registry.Registry, str, str]] = []
    installed = builtin.builtin_registry(project, backend)
    if installed is not None:
        sources.append((installed, "built-in", f"{RUNTIME}.{ENUM_FILE[:-3].replace('/', '.')}"))
    has_own = space.read(config.training_method_file) is not None or config.uses_own_runtime
    if has_own:
        own = registry.Registry(_registry_texts(project, space, backend))
        sources.append(
            (own, "built-in" if config.uses_own_runtime and config.package == RUNTIME
             else "project", module_of(project, config.training_method_file))
        )  # fmt: skip
    for reg, origin, enum_module in sources:
        dispatcher = reg.texts.dispatcher_label
        dispatcher_module = (
            module_of(project, dispatcher)
            if reg is not installed
            else f"{RUNTIME}.{dispatcher.split('/', 1)[1][:-3].replace('/', '.')}"
        )
        for target in Target:
            reg.table(target)  # both dictionaries must exist
        for method in reg.methods():
            found.append(
                registry.RegisteredMethod(
                    method.name,
                    method.value,
                    method.quantizers,
                    enum=f"{enum_module}.{registry.ENUM_CLASS}",
                    origin=origin,
                    registered_in={
                        "enum_file": reg.texts.enum_label,
                        "dispatcher_file": dispatcher,
                        "dispatcher": dispatcher_module,
                        "backend": backend,
                    },
                )
            )
    return project, found
