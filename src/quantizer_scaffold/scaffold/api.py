"""The generator's library API: ``scaffold``, ``remove``, ``update``, ``check_project``,
``recover`` and ``list_methods``.

The CLI is a thin shell over these functions. Each writing run: validate the name (before
touching anything), take the project lock, finish any interrupted run (``transaction``),
read the registry and the manifest, decide every file with ``ownership``, plan every file in
memory, validate the plan, then write it all or nothing.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from . import builtin, ownership, registry, transaction, validate
from .errors import ConflictError, ScaffoldError, UsageError
from .manifest import Manifest, sha256, split_key, target_key
from .merge import has_conflict_markers
from .naming import MethodName, QuantizationMethod, Target
from .next_steps import next_steps
from .project import (
    BACKENDS,
    DEFAULT_BACKEND,
    ENUM_FILE,
    PYPROJECT,
    RUNTIME,
    Project,
    check_backend,
    load_project,
)
from .render import Rendering, module_of

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
    conflicts: int = 0  # update: conflicts marked in files for their user to resolve

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
            "conflicts": self.conflicts,
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


INTERRUPTED = (
    f"an interrupted scaffold-quantizer run left {transaction.JOURNAL_FILE}; "
    "`scaffold-quantizer recover --dry-run` shows what finishing it does and "
    "`scaffold-quantizer recover` does it (it restores only files that still hold what that "
    "run left there)"
)


@contextlib.contextmanager
def _session(project: Project, writes: bool, report: Report) -> Iterator[None]:
    """Hold the lock and recover an interrupted run, unless this run writes nothing."""
    if not writes:
        if transaction.journal_left(project.root):
            raise UsageError(INTERRUPTED)
        yield
        return
    with transaction.project_lock(project.root):
        recovered = transaction.recover(project.root)
        if recovered:
            report.notes.append(recovered)
        yield


def recover(
    root: str | Path | None = None,
    cwd: str | Path | None = None,
    dry_run: bool = False,
    discard_journal: bool = False,
) -> Report:
    """Finish or undo an interrupted run (``transaction.recover``); ``dry_run`` shows which
    files it would restore; ``discard_journal`` forgets the run and keeps every file as it is."""
    project = load_project(Path(root) if root else None, Path(cwd) if cwd else None)
    report = Report("recover", str(project.root))
    if dry_run:
        journal = transaction.read_journal(project.root)
        if journal is None:
            report.notes.append("no interrupted run to recover")
        elif discard_journal:
            report.notes.append("would forget the interrupted run; every file stays as it is")
        else:
            plan = transaction.plan_recovery(project.root, journal)
            report.notes.append(plan.describe(planned=True))
            for change in plan.restore:
                undo = transaction.Change(change.path, change.after, change.before)
                diff = _diff(change.path, undo.before, undo.after)
                report.files.append(FileReport(change.path, undo.action, diff))
        report.dry_run = True
        return report
    with transaction.project_lock(project.root):
        journal = None if discard_journal else transaction.read_journal(project.root)
        plan = transaction.plan_recovery(project.root, journal) if journal else None
        done = transaction.recover(project.root, discard=discard_journal)
        report.notes.append(done or "no interrupted run to recover")
        for change in plan.restore if plan else []:
            undo = transaction.Change(change.path, change.after, change.before)
            report.files.append(FileReport(change.path, undo.action))
    return report


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


def _registry_files(project: Project, backend: str = DEFAULT_BACKEND) -> tuple[str, str]:
    """The enum file and the back end's dispatcher file, checked to be two files (not
    folders, not one file under two names)."""
    config = project.config
    dispatcher_file = config.backend(backend).dispatcher_file
    for key, path in (
        ("training_method_file", config.training_method_file),
        ("dispatcher_file", dispatcher_file),
    ):
        if project.path(path).is_dir():
            raise UsageError(
                f"[tool.scaffold-quantizer] {key} = {path!r} names a folder; point it at the "
                ".py file that defines "
                + ("the TrainingMethod enum" if key == "training_method_file" else "the dicts")
            )
    if config.training_method_file == dispatcher_file:
        raise UsageError(
            f"training_method_file and dispatcher_file are the same file ({dispatcher_file}); "
            "the enum and the dispatcher dictionaries must live in different files"
        )
    return config.training_method_file, dispatcher_file


def _registry_texts(
    project: Project, space: _Workspace, backend: str = DEFAULT_BACKEND
) -> registry.RegistryTexts:
    enum_file, dispatcher_file = _registry_files(project, backend)
    return registry.RegistryTexts(
        enum_text=space.require(enum_file, "the TrainingMethod enum"),
        enum_label=enum_file,
        dispatcher_text=space.require(
            dispatcher_file,
            "the quantizer dispatcher"
            if backend == DEFAULT_BACKEND
            else f"the {backend} dispatcher: its dispatcher_file in [tool.scaffold-quantizer."
            f"{backend}]",
        ),
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
    _, dispatcher_file = _registry_files(project, backend)
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
        (
            f"created this project's {backend} dispatcher in {dispatcher_file} (one "
            f"TrainingMethod, in {config.training_method_file}, serves every back end)"
            if has_enum
            else f"created this project's own registry: TrainingMethod in "
            f"{config.training_method_file} and the {backend} dispatcher in {dispatcher_file}"
        )
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
    unchecked: Collection[str] = (),
) -> None:
    """Before anything is written: every staged module compiles, the registry resolves, and
    every import of a generated module (and every import an edited module gains, or that
    points at a module this run deletes) resolves to a module that defines the name.

    ``unchecked``: files that hold merge conflicts for their user to resolve (``update``).
    """
    config = project.config
    texts = _registry_texts(project, space, backend)
    registry_files = {texts.enum_label, texts.dispatcher_label}  # check_registry checks them
    for path, text in space.after.items():
        if text is not None and path.endswith(".py") and path not in registry_files:
            if path not in unchecked:
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
        if path in unchecked:
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
    manifest_file = project.config.manifest_file
    for change in sorted(changes, key=lambda c: (c.path.endswith(".json"), c.path)):
        diff = _diff(change.path, change.before, change.after) if dry_run or check else ""
        note = notes.get(change.path, "")
        if change.path == manifest_file:  # compressed bases: a diff nobody reads
            diff, note = "", note or "the record of what scaffold-quantizer generated"
        report.files.append(FileReport(change.path, change.action, diff, note))
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
    backend: str | None = None,
    parameters: Sequence[str] | None = None,
) -> Report:
    """Render and register a trainable + inferable quantizer pair and its tests.

    ``parameters`` are ``--param`` declarations (see ``parameters.py``); None: the ones this
    method's target was scaffolded with before (recorded in the manifest), else the grids'
    own fixed, calibrated parameters. ``backend`` (``--framework``): ``keras`` or ``keras3``,
    None for the project's ``framework`` setting (default ``keras``). In a user's project
    without a registry (or without this back end's dispatcher), the first run creates the
    project's own (``own_registry``) and declares it to the runtime. On a method
    that exists, files you edited are kept (``ownership``), and a pair that ``remove`` kept is
    registered again.
    """
    name = MethodName.parse(method)
    target = parse_target(target)
    wanted = parse_methods(quantization_methods)
    from .parameters import declared_parameters, recorded_specs

    weights = target is Target.WEIGHTS
    if parameters is not None:  # bad input fails before anything is read
        declared_parameters(parameters, wanted, weights)
    if backend is not None:
        check_backend(backend, "--framework")
    project = load_project(Path(root) if root else None, Path(cwd) if cwd else None)
    backend = backend or project.config.framework
    key = target_key(target.value, backend)
    layout = project.config.backend(backend)
    project.config.check_importable(backend)
    builtin.refuse_builtin_name(project, name, backend)
    from .render import render

    member = name.enum_member
    report = Report("scaffold", str(project.root), member, target.value)
    with _session(project, writes=not (dry_run or check), report=report):
        space = _Workspace(project)
        config = project.config
        manifest = Manifest.parse(space.read(config.manifest_file), config.manifest_file)
        created_registry = _create_own_registry(project, space, backend, report)
        texts = registry.Registry(_registry_texts(project, space, backend))
        _refuse_case_twin(texts, name, method)
        recorded = manifest.options(member, key) or manifest.options(member, key, kept=True)
        present = texts.registered_keys(name, target)
        methods = [m for m in ORDER if m in set(wanted) | set(present)]
        if parameters is None:
            kept_pair = manifest.options(member, key) is None
            parameters = manifest.recorded_parameters(member, key, kept=kept_pair)
        declared = declared_parameters(parameters or (), methods, weights)
        chosen = recorded_specs(parameters or (), declared)
        options_changed = recorded is not None and (
            set(recorded["quantization_methods"]) != set(methods)
            or recorded.get("parameters") != chosen
        )
        rendering = render(project, name, target, methods, declared, backend)
        clash = f"{layout.quantizers_dir}/{name.package}.py"
        if space.read(clash) is not None:
            raise ConflictError(
                f"{clash} already exists, so the package {name.package}/ would shadow it; "
                "choose another --method"
            )
        notes: dict[str, str] = {}
        keep: dict[str, str] = {}
        written: dict[str, str] = {}
        kept_records: dict[str, dict[str, object]] = {}
        owners = [ownership.of(manifest, p, space.read(p)) for p in rendering.files]
        for own in sorted(owners, key=ownership.refusal_order(member)):
            path, text = own.path, rendering.files[own.path]
            decision = ownership.for_scaffold(own, text, member, options_changed, force)
            if decision.action == "write":
                space.stage(path, text)
                written[path] = text
                if decision.note:
                    notes[path] = decision.note
            else:
                keep[path] = decision.note
                if own.record is not None:
                    kept_records[path] = own.record
        result = registry.register(
            texts,
            name,
            target,
            methods,
            rendering.training_module,
            recorded=(recorded or {}).get("quantization_methods", []),
            line_length=project.line_length,
            linted=project.lints_line_length,
        )
        for grid, value in result.kept_values:
            report.notes.append(
                f"kept your {target.dispatcher} entry {member} / {grid.upper()}: {value} "
                f"(scaffold-quantizer registered {name.training_class(target)} there; your "
                "edits are never overwritten)"
            )
        space.stage(config.training_method_file, result.enum_text)
        space.stage(layout.dispatcher_file, result.dispatcher_text)
        updated = manifest.copy()
        again = updated.take_kept(member, key)
        if again:
            report.notes.append(
                f"registered {member} ({target.value}) again: the pair `remove` kept because "
                "you edited it (your files are as you left them)"
            )
        for path, record in kept_records.items():
            updated.keep_record(member, path, record)  # edited: the base stays what it was
        shared = {p: t for p, t in written.items() if p == f"{rendering.package_dir}/__init__.py"}
        updated.record_files(member, target_key(None, backend), shared)
        updated.record_files(member, key, {p: t for p, t in written.items() if p not in shared})
        updated.record_registration(
            member, key, methods, result.created_member, backend, __version__, chosen
        )
        new_files = [p for p in written if space.before.get(p) is None]
        created_dirs = _missing_dirs(project, new_files) + list(again.get("created_dirs", []))
        updated.record_dirs(member, created_dirs)
        if created_registry:
            updated.record_registry(
                backend,
                created_registry,
                _missing_dirs(project, list(created_registry)),
                space.before.get(PYPROJECT),
                space.after.get(PYPROJECT),
                added=config.training_method_file not in created_registry,
            )
        if updated.differs(manifest):
            space.stage(config.manifest_file, updated.text())
        _validate(
            project,
            space,
            {name.training_class(target): rendering.training_module},
            result.members,
            backend,
        )
        report.next_steps = next_steps(project, rendering, Path(cwd) if cwd else None, report)
        return _finish(project, space, report, dry_run, check, notes, keep)


def _refuse_case_twin(reg: registry.Registry, name: MethodName, given: str) -> None:
    """A new member that differs from an existing one only in case is a typo, not a method."""
    for member in reg.members:
        if member != name.enum_member and member.casefold() == name.enum_member.casefold():
            raise ConflictError(
                f"--method {given} would add TrainingMethod.{name.enum_member} next to "
                f"{member}, which differs from it only in case; did you mean --method {member}?"
            )


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
    backend: str | None = None,
) -> Report:
    """Undo ``scaffold``: registrations out, unedited generated files deleted, edits kept.

    ``backend``: the back end whose pair goes; None: the one the manifest records the method
    for (refused when it records several: the other back end's pair shares the enum member),
    else the project's ``framework``.

    A pair in which you edited a file stays whole and is recorded as kept: scaffolding the
    method again registers it again. Removing the last method of a registry that
    ``scaffold`` created also removes that registry (its files, if unedited, and its entry
    point in pyproject.toml). A method that is not registered is nothing to change.
    """
    name = MethodName.parse(method)
    chosen = parse_target(target) if target is not None else None
    if backend is not None:
        check_backend(backend, "--framework")
    project = load_project(Path(root) if root else None, Path(cwd) if cwd else None)
    member = name.enum_member

    report = Report("remove", str(project.root), member, chosen.value if chosen else None)
    with _session(project, writes=not (dry_run or check), report=report):
        space = _Workspace(project)
        config = project.config
        manifest = Manifest.parse(space.read(config.manifest_file), config.manifest_file)
        if not config.uses_own_runtime and space.read(config.training_method_file) is None:
            report.notes.append(
                f"{member} is not registered: this project has no registry yet "
                f"({config.training_method_file}); nothing to remove"
            )
            report.dry_run = dry_run or check
            return report
        backend = backend or _recorded_backend(manifest, member, project)
        layout = config.backend(backend)
        texts = registry.Registry(_registry_texts(project, space, backend))
        scaffolded = {t for t in Target if texts.registered_keys(name, t)} | {
            Target(split_key(k)[0]) for k in manifest.targets(member, backend)
        }
        targets = [t for t in Target if (chosen is None or t is chosen) and t in scaffolded]
        if not targets:
            _nothing_to_remove(project, texts, manifest, name, chosen, backend, report)
            report.dry_run = dry_run or check
            return report
        package_dir = f"{layout.quantizers_dir}/{name.package}"
        modules = {
            t: module_of(project, f"{package_dir}/{name.training_module(t)}.py") for t in Target
        }
        entry = manifest.method(member) or {}
        wanted = {target_key(t.value, backend) for t in targets}
        remaining = [k for k in manifest.targets(member) if k not in wanted]
        # the back end's shared files go with its last pair; folders with its last file
        shared_key = target_key(None, backend)
        same_backend = [k for k in remaining if split_key(k)[1] == backend]
        result = registry.unregister(
            texts,
            name,
            targets,
            modules,
            remove_member=bool(entry.get("enum_member_created")) and not remaining,
            other_dispatchers=_other_dispatchers(project, space, backend),
        )
        space.stage(config.training_method_file, result.enum_text)
        space.stage(layout.dispatcher_file, result.dispatcher_text)
        updated = manifest.copy()
        files = {
            path: record
            for path, record in sorted(entry.get("files", {}).items())
            if (record["target"] == shared_key and not same_backend) or record["target"] in wanted
        }
        owners = {path: ownership.of(manifest, path, space.read(path)) for path in files}
        # a pair's modules import each other, its test imports both, and they all live in the
        # method's package: keep them together with what the user edited, or the kept code breaks
        kept_targets = {
            files[p]["target"] for p, o in owners.items() if o.owner is ownership.Owner.EDITED
        }
        keep: dict[str, str] = {}
        for path, own in owners.items():
            file_target = files[path]["target"]
            decision = ownership.for_remove(own)
            if own.owner is ownership.Owner.ABSENT:
                continue
            if decision.action == "keep":
                keep[path] = decision.note
            elif file_target in kept_targets or (file_target == shared_key and kept_targets):
                keep[path] = "kept with the edited files it belongs with"
            else:
                space.stage(path, None)
        options = {t: manifest.options(member, t) or {} for t in wanted}
        for key in sorted(wanted):
            updated.forget_target(member, key)
        created_dirs = list(entry.get("created_dirs", []))
        if remaining:  # another pair of the method stays: only the folders it does not use go
            left = [p for p, r in entry.get("files", {}).items() if p not in files]
            created_dirs = [d for d in created_dirs if not any(p.startswith(d + "/") for p in left)]
            if member in updated.data["methods"]:
                record = updated.data["methods"][member]
                record["created_dirs"] = sorted(set(record["created_dirs"]) - set(created_dirs))
        if keep:
            updated.keep_pair(
                member,
                {t: options[t] for t in sorted(kept_targets - {shared_key})},
                {path: files[path] for path in keep},
                created_dirs,
            )
        remove_dirs = created_dirs  # removed only when empty
        # a folder this method created that still holds another method's files is handed to
        # that method, so that removing it later removes the folder too
        for other, record in updated.data["methods"].items():
            shared = [d for d in remove_dirs if any(p.startswith(d + "/") for p in record["files"])]
            updated.record_dirs(other, shared)
        remove_dirs += _remove_own_registry(project, space, updated, result.members, report)
        if updated.is_empty():
            if space.read(config.manifest_file) is not None:
                space.stage(config.manifest_file, None)
        elif updated.differs(manifest):
            space.stage(config.manifest_file, updated.text())
        registry_left = [config.training_method_file, layout.dispatcher_file]
        if all(space.read(path) is not None for path in registry_left):  # not removed
            _validate(project, space, {}, result.members, backend)
        if result.removed_member:
            report.notes.append(f"removed TrainingMethod.{member}")
        if result.kept_member:
            report.notes.append(result.kept_member)
        if keep:
            report.notes.append(
                "kept the files of the pair you edited: `scaffold-quantizer --method "
                f"{member}` registers it again (its test is skipped until then); delete "
                "them yourself if you no longer need them"
            )
        return _finish(project, space, report, dry_run, check, {}, keep, remove_dirs)


def _other_dispatchers(project: Project, space: _Workspace, backend: str) -> dict[str, str]:
    """The other back ends' dispatcher files that exist (file -> text): they share the enum."""
    found = {}
    for other in BACKENDS:
        path = project.config.backend(other).dispatcher_file
        text = space.read(path) if other != backend else None
        if text is not None:
            found[path] = text
    return found


def _recorded_backend(manifest: Manifest, member: str, project: Project) -> str:
    """The back end ``remove`` without ``--framework`` acts on: the one ``member`` is recorded
    for, else the project's ``framework``; a method recorded for several is refused."""
    recorded = manifest.backends(member)
    if len(recorded) > 1:
        raise UsageError(
            f"{member} is scaffolded for {' and '.join(recorded)}: pass --framework "
            f"{' or --framework '.join(recorded)} to say which pair to remove"
        )
    return recorded[0] if recorded else project.config.framework


def _nothing_to_remove(
    project: Project,
    texts: registry.Registry,
    manifest: Manifest,
    name: MethodName,
    chosen: Target | None,
    backend: str,
    report: Report,
) -> None:
    """``remove`` of a method that scaffold-quantizer did not register (for ``chosen``): a
    note when there is nothing, a refusal when the method is there but was made by hand."""
    member = name.enum_member
    label = f"for {chosen.value}" if chosen else ""
    others = [b for b in manifest.backends(member) if b != backend]
    if others:
        report.notes.append(
            f"{member} is not registered for {backend}{' ' + label if label else ''}; nothing "
            f"to remove (scaffold-quantizer registered it for {', '.join(others)}: "
            f"--framework {others[0]} removes that pair)"
        )
        return
    by_hand = [t for t in Target if (chosen is None or t is chosen) and texts.quantizers(member, t)]
    if member in texts.members and (by_hand or chosen is None):
        where = texts.texts.enum_label if not by_hand else texts.texts.dispatcher_label
        raise UsageError(
            f"{member} is registered in {where}, but not by scaffold-quantizer "
            f"({project.config.manifest_file} does not record it): remove only undoes what "
            "scaffold-quantizer made; edit the registry yourself to remove it"
        )
    builtin_registry = builtin.builtin_registry(project, backend)
    if builtin_registry is not None and member in builtin_registry.members:
        raise UsageError(
            f"{member} is quantizer-scaffold's built-in training method; it is not part of "
            "this project and cannot be removed from it"
        )
    kept = manifest.kept(member)
    if kept is not None:
        report.notes.append(
            f"{member} is not registered{' ' + label if label else ''}; the files `remove` "
            f"kept because you edited them stay ({', '.join(sorted(kept['files']))}): "
            f"`scaffold-quantizer --method {member}` registers them again"
        )
        return
    report.notes.append(
        f"{member} is not registered{' ' + label if label else ''}; nothing to remove "
        "(`scaffold-quantizer list` shows what is)"
    )


def _remove_own_registry(
    project: Project,
    space: _Workspace,
    manifest: Manifest,
    members: Sequence[str],
    report: Report,
) -> list[str]:
    """Undo ``_create_own_registry`` where nothing uses it any more: a back end's dispatcher
    added next to an existing enum once no pair of that back end is left; the registry it
    created (the enum and a first dispatcher) once no method is left in it.

    Only files that still hold exactly what the tool created (after this run's edits) go;
    an entry point goes only while its lines are as written. Returns the folders to remove.
    """
    from .manifest import pyproject_blocks

    in_use = manifest.backends_in_use()
    parts: list[tuple[str | None, dict[str, Any], str]] = [
        (backend, part, f"this project's {backend} dispatcher")
        for backend, part in sorted(manifest.added_dispatchers().items())
        if backend not in in_use
    ]
    record = manifest.registry_record()
    if record.get("files") and not members and manifest.is_empty():
        parts.append((None, record, "this project's registry"))
    folders: list[str] = []
    for added, part, what in parts:
        files = part.get("files", {})
        if any(sha256(space.read(p) or "") != digest for p, digest in files.items()):
            report.notes.append(f"kept {what}: you edited it")
            continue
        for path in files:
            space.stage(path, None)
        for block in reversed(pyproject_blocks(part)):  # the last added is contiguous first
            pyproject = space.read(PYPROJECT)
            if pyproject is not None and pyproject.count(block) == 1:
                space.stage(PYPROJECT, pyproject.replace(block, "", 1))
        manifest.forget_registry(added)
        report.notes.append(f"removed {what}: no method is left in it")
        folders += list(part.get("created_dirs", []))
    return folders


def update(
    method: str | None = None,
    target: str | Target | None = None,
    root: str | Path | None = None,
    cwd: str | Path | None = None,
    dry_run: bool = False,
    check: bool = False,
    backend: str | None = None,
) -> Report:
    """Bring what scaffold-quantizer generated up to date with the templates.

    For every method the manifest records (or ``method``; ``target``/``backend`` narrow it),
    render the templates again with the recorded options: files you did not edit are
    regenerated, files you edited get the template changes by a three-way merge against
    what the old templates rendered (the manifest's base), conflicts marked as git marks
    them (``Report.conflicts``). The registry is not touched; kept pairs neither.
    """
    chosen = parse_target(target) if target is not None else None
    if backend is not None:
        check_backend(backend, "--framework")
    project = load_project(Path(root) if root else None, Path(cwd) if cwd else None)
    report = Report("update", str(project.root), None, chosen.value if chosen else None)
    with _session(project, writes=not (dry_run or check), report=report):
        space = _Workspace(project)
        config = project.config
        manifest = Manifest.parse(space.read(config.manifest_file), config.manifest_file)
        members = manifest.methods()
        if method is not None:
            report.method = MethodName.parse(method).enum_member
            if report.method not in members:
                raise UsageError(
                    f"{report.method} is not recorded in {config.manifest_file}: update renews "
                    "only what scaffold-quantizer generated (`scaffold-quantizer list` shows "
                    "the registered methods)"
                )
            members = [report.method]
        renewal = _Renewal(project, space, manifest, report)
        for member in members:
            for key in manifest.targets(member):
                options = manifest.options(member, key) or {}
                value = Target(split_key(key)[0])
                if chosen not in (None, value) or backend not in (None, options["backend"]):
                    continue
                renewal.renew(member, value, options)
        if renewal.updated.differs(manifest):
            space.stage(config.manifest_file, renewal.updated.text())
        for used in sorted({b for _, b in renewal.classes}) or [DEFAULT_BACKEND]:
            members_now = registry.Registry(_registry_texts(project, space, used)).members
            imports = {c: m for (c, b), m in renewal.classes.items() if b == used}
            _validate(project, space, imports, members_now, used, renewal.conflicted)
        if report.conflicts:
            verb = "would be" if dry_run or check else "are"
            report.notes.append(
                f"{report.conflicts} conflict(s) between your edits and the template changes "
                f"{verb} marked (<<<<<<< yours ... >>>>>>> templates): resolve them, then run "
                "`scaffold-quantizer check`"
            )
        return _finish(project, space, report, dry_run, check, renewal.notes, renewal.keep)


def _render_recorded(
    project: Project, name: MethodName, target: Target, options: dict[str, Any]
) -> Rendering:
    """A recorded pair's files, rendered again with the options it was scaffolded with
    (grids, ``--param`` declarations, back end) and today's templates."""
    from .parameters import declared_parameters
    from .render import render

    grids = list(options["quantization_methods"])
    parameters = options.get("parameters") or ()
    declared = declared_parameters(parameters, grids, target is Target.WEIGHTS)
    return render(project, name, target, grids, declared, str(options["backend"]))


class _Renewal:
    """One ``update`` run: the files of each recorded pair rendered again and decided on."""

    def __init__(
        self, project: Project, space: _Workspace, manifest: Manifest, report: Report
    ) -> None:
        self.project = project
        self.space = space
        self.manifest = manifest
        self.updated = manifest.copy()
        self.report = report
        self.notes: dict[str, str] = {}
        self.keep: dict[str, str] = {}
        self.conflicted: set[str] = set()
        self.classes: dict[tuple[str, str], str] = {}  # (training class, back end) -> module
        self.done: set[str] = set()  # a method's shared files are renewed once
        self.label = f"scaffold-quantizer {__version__} templates"

    def renew(self, member: str, target: Target, options: dict[str, Any]) -> None:
        name = MethodName.parse(member)
        backend = str(options["backend"])
        rendering = _render_recorded(self.project, name, target, options)
        records = (self.manifest.method(member) or {}).get("files", {})
        key, shared_key = target_key(target.value, backend), target_key(None, backend)
        paths = set(rendering.files) | {
            p for p, r in records.items() if r["target"] in (key, shared_key)
        }
        renewed = False
        for path in sorted(paths - self.done):
            self.done.add(path)
            own = ownership.of(self.manifest, path, self.space.read(path))
            if own.method not in (None, member):
                raise ConflictError(
                    f"{path} belongs to {own.method}, but the templates render it for "
                    f"{member} too; rename one of the methods"
                )
            own = ownership.with_base_from_history(own, self.project.root)
            decision = ownership.for_update(own, rendering.files.get(path), self.label)
            if decision.action != "keep":
                self.space.stage(path, decision.text)
            if decision.action == "delete":
                self.updated.forget_file(path)
            if decision.note:
                (self.keep if decision.action == "keep" else self.notes)[path] = decision.note
            if decision.base is not None:
                shared = path == f"{rendering.package_dir}/__init__.py"
                before = self.updated.file_hash(path)
                self.updated.record_files(
                    member, shared_key if shared else key, {path: decision.base}
                )
                renewed |= before != self.updated.file_hash(path)
            if decision.conflicts:
                self.report.conflicts += decision.conflicts
                self.conflicted.add(path)
        if renewed:
            self.updated.renew_target(member, key, __version__)
        if rendering.training_file not in self.conflicted:
            self.classes[(name.training_class(target), backend)] = rendering.training_module


@dataclass
class CheckReport:
    """The project-wide check: what is wrong (``problems``), and what is only worth knowing."""

    root: str
    methods: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, object]:
        return {
            "root": self.root,
            "ok": self.ok,
            "methods": self.methods,
            "problems": self.problems,
            "notes": self.notes,
        }


def check_project(
    root: str | Path | None = None,
    cwd: str | Path | None = None,
    backend: str | None = None,
) -> CheckReport:
    """Everything scaffold-quantizer recorded, checked against the code (for CI/pre-commit).

    Every recorded method is a member of the enum and mapped in its back end's dispatcher
    for every recorded grid; every generated file is present, parses, holds no unresolved
    merge conflict, and its imports resolve (as do the registry files' imports and names);
    no interrupted run is pending. Edited generated files are yours and pass; files made by
    older templates are noted (``update`` renews them). Writes nothing.
    """

    project = load_project(Path(root) if root else None, Path(cwd) if cwd else None)
    config = project.config
    report = CheckReport(str(project.root))
    problems = report.problems
    if transaction.journal_left(project.root):
        problems.append(INTERRUPTED)
    space = _Workspace(project)
    try:
        manifest = Manifest.parse(space.read(config.manifest_file), config.manifest_file)
    except UsageError as error:
        problems.append(str(error))
        return report
    report.methods = manifest.methods()
    index = validate.ModuleIndex(
        config.source_root, space.read, {config.package.split(".")[0], config.runtime.split(".")[0]}
    )
    recorded = {
        (member, key): manifest.options(member, key) or {}
        for member in report.methods
        for key in manifest.targets(member)
    }
    backends = {str(options["backend"]) for options in recorded.values()} or {DEFAULT_BACKEND}
    if not recorded and not config.uses_own_runtime:
        if space.read(config.training_method_file) is None:
            report.notes.append("nothing scaffolded here yet: this project has no registry")
            backends = set()
    for used in sorted(backends if backend is None else {backend}):
        try:
            reg = registry.Registry(_registry_texts(project, space, used))
        except ScaffoldError as error:
            problems.append(" ".join(str(error).split()))
            continue
        for label, text in ((reg.texts.enum_label, reg.texts.enum_text),
                            (reg.texts.dispatcher_label, reg.texts.dispatcher_text)):  # fmt: skip
            problems += _module_problems(project, index, label, text)
            missing = validate.unresolved_names(label, text)
            if missing:
                problems.append(f"{label} uses undefined name(s) {', '.join(missing)}")
            unknown = validate.attribute_members(text, registry.ENUM_CLASS) - set(reg.members)
            for member in sorted(unknown):
                problems.append(
                    f"{label} uses {registry.ENUM_CLASS}.{member}, which "
                    f"{reg.texts.enum_label} does not define"
                )
        for (member, key), options in sorted(recorded.items()):
            if options["backend"] != used:
                continue
            target = Target(split_key(key)[0])
            framework = "" if used == DEFAULT_BACKEND else f" --framework {used}"
            again = f"`scaffold-quantizer --method {member} --target {target.value}{framework}`"
            if member not in reg.members:
                problems.append(
                    f"{reg.texts.enum_label}: {registry.ENUM_CLASS}.{member} is missing "
                    f"(scaffold-quantizer registered it for {target.value}): {again} adds it "
                    "again, `scaffold-quantizer remove` undoes the rest"
                )
                continue
            mapped = reg.quantizers(member, target)
            for grid in options["quantization_methods"]:  # type: ignore[attr-defined]
                if grid not in mapped:
                    problems.append(
                        f"{reg.texts.dispatcher_label}: {target.dispatcher} does not map "
                        f"{member} / {grid.upper()} (scaffold-quantizer registered it): "
                        f"{again} -q {grid} registers it again"
                    )
    edited, outdated = [], []
    for path, (member, kept, record) in sorted(manifest.file_records().items()):
        own = ownership.of(manifest, path, space.read(path))
        if own.owner is ownership.Owner.ABSENT:
            if not kept:
                file_target, file_backend = split_key(record["target"])
                framework = (
                    "" if file_backend == DEFAULT_BACKEND else f" --framework {file_backend}"
                )
                problems.append(
                    f"{path} is missing (generated for {member}): `scaffold-quantizer "
                    f"--method {member} --target {file_target or 'weights'}{framework}` creates "
                    "it again"
                )
            continue
        if own.owner is ownership.Owner.EDITED:
            edited.append(path)
            if has_conflict_markers(own.text or ""):
                problems.append(f"{path} has unresolved conflict markers (<<<<<<< ... >>>>>>>)")
                continue
        if path.endswith(".py") and not kept:
            problems += _module_problems(project, index, path, own.text or "")
    for (member, key), options in sorted(recorded.items()):
        target = Target(split_key(key)[0])
        rendering = _render_recorded(project, MethodName.parse(member), target, options)
        for path, text in rendering.files.items():
            own = ownership.of(manifest, path, space.read(path))
            if own.owner is ownership.Owner.GENERATED and own.text != text:
                outdated.append(path)
    if edited:
        report.notes.append(
            f"{len(edited)} generated file(s) edited by you (yours: `scaffold-quantizer update` "
            "merges template changes into them)"
        )
    if outdated:
        report.notes.append(
            f"{len(set(outdated))} unedited file(s) made by older templates: "
            "`scaffold-quantizer update --dry-run` shows what renewing them changes"
        )
    for member in manifest.kept_methods():
        report.notes.append(
            f"{member}: a pair `remove` kept because you edited it (not registered; its test "
            f"is skipped): `scaffold-quantizer --method {member}` registers it again"
        )
    return report


def _module_problems(
    project: Project, index: validate.ModuleIndex, path: str, text: str
) -> list[str]:
    """Why the module at ``path`` would not import: a syntax error, or an import that does
    not resolve (one line each)."""
    try:
        validate.parse(text)
    except SyntaxError as error:
        return [f"{path} has a syntax error at line {error.lineno}: {error.msg}"]
    if not _under(path, project.config.source_root):
        return []
    package = path.endswith("__init__.py")
    module = module_of(project, path).removesuffix(".__init__")
    found = []
    for item in validate.imports_of(text, module, package):
        try:
            index.check(path, [item])
        except ScaffoldError as error:
            message = str(error).replace("the new ", "", 1).replace(" would import ", " imports ")
            found.append(message.removesuffix("; nothing was written"))
    return found


def list_methods(
    root: str | Path | None = None,
    cwd: str | Path | None = None,
    backend: str | None = None,
) -> tuple[Project, list[registry.RegisteredMethod]]:
    """Every training method with its registered classes, per back end (``backend``: only
    that one), read from the code: the project's own (where it has a registry) and, in a
    user's project, quantizer-scaffold's built-in ones; ``registered_in`` says where each
    is (enum, dispatcher, back end)."""
    project = load_project(Path(root) if root else None, Path(cwd) if cwd else None)
    config = project.config
    space = _Workspace(project)
    found: list[registry.RegisteredMethod] = []
    has_own = space.read(config.training_method_file) is not None or config.uses_own_runtime
    backends = [check_backend(backend, "--framework")] if backend else list(BACKENDS)
    served = [b for b in backends if space.read(config.backend(b).dispatcher_file) is not None]
    if has_own and not served:  # an enum without any dispatcher: say which file is missing
        _registry_texts(project, space, backends[0])
    for used in backends:
        sources: list[tuple[registry.Registry, str, str, str]] = []
        installed = builtin.builtin_registry(project, used)
        if installed is not None:
            dispatcher = installed.texts.dispatcher_label
            sources.append(
                (installed, "built-in", f"{RUNTIME}.{ENUM_FILE[:-3].replace('/', '.')}",
                 f"{RUNTIME}.{dispatcher.split('/', 1)[1][:-3].replace('/', '.')}")
            )  # fmt: skip
        if has_own and used in served:
            own = registry.Registry(_registry_texts(project, space, used))
            origin = (
                "built-in" if config.uses_own_runtime and config.package == RUNTIME else "project"
            )
            sources.append(
                (own, origin, module_of(project, config.training_method_file),
                 module_of(project, own.texts.dispatcher_label))
            )  # fmt: skip
        for reg, origin, enum_module, dispatcher_module in sources:
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
                            "dispatcher_file": reg.texts.dispatcher_label,
                            "dispatcher": dispatcher_module,
                            "backend": used,
                        },
                    )
                )
    return project, found
