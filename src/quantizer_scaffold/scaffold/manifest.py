"""The record of what the generator made, kept in the project (``.scaffold-quantizer.json``).

For every training method it lists the files the tool wrote, each with the SHA-256 of the
bytes it wrote and those bytes themselves (``base``: zlib-compressed, base64): the base a
later ``update`` merges template changes against, so that it works after the templates
(or this tool) changed. Per target it records the options the files were rendered with
(grids, ``--param`` declarations, back end, generator version), so that a re-render
reproduces them, the folders it created and whether it added the enum member. ``kept``
lists the pairs ``remove`` kept because their user edited them, so that scaffolding the
method again registers them again. Who owns a file is decided from this record in one place
(:mod:`.ownership`). Keep the file under version control.

Format version 2 adds ``base``, the per-target ``backend`` and ``generator_version``, and
``kept``; a version 1 manifest is read as it is and written as version 2 only when a run
records something.

One method can have a pair per back end (one ``TrainingMethod`` enum, one dispatcher per
back end): a target is recorded under its *key* (``target_key``), the target itself for the
Keras 2 back end (as format 1 and 2 always wrote it) and ``"<target>@<backend>"`` for another
(``"weights@keras3"``); a method's shared files (its package ``__init__.py``) are recorded
with the key ``None`` (Keras 2) or ``"@<backend>"``.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import zlib
from typing import Any

from .errors import UsageError

FORMAT_VERSION = 2
# what a target's files are rendered from (besides the templates and the method's name)
RENDER_OPTIONS = ("quantization_methods", "backend", "parameters")
READABLE_VERSIONS = {1, 2}


DEFAULT_BACKEND = "keras"  # = project.DEFAULT_BACKEND: the back end of an unsuffixed key


def target_key(target: str | None, backend: str) -> str | None:
    """How the manifest names ``target`` of ``backend`` (None: the method's shared files)."""
    if backend == DEFAULT_BACKEND:
        return target
    return f"{target or ''}@{backend}"


def split_key(key: str | None) -> tuple[str | None, str]:
    """(target or None, back end) of a manifest key."""
    if key is None or "@" not in key:
        return key, DEFAULT_BACKEND
    target, _, backend = key.partition("@")
    return target or None, backend


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def pack(text: str) -> str:
    """``text`` as the manifest stores a base: zlib-compressed UTF-8, base64."""
    return base64.b64encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii")


def unpack(data: str) -> str:
    return zlib.decompress(base64.b64decode(data)).decode("utf-8")


def _new_entry() -> dict[str, Any]:
    return {"enum_member_created": False, "files": {}, "created_dirs": [], "targets": {}}


class Manifest:
    """In-memory manifest; ``text()`` is deterministic so an unchanged run rewrites nothing."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self.data: dict[str, Any] = data or {"version": FORMAT_VERSION, "methods": {}}

    @classmethod
    def parse(cls, text: str | None, label: str) -> Manifest:
        if text is None:
            return cls()
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise UsageError(f"{label} is not valid JSON ({error}); restore it from git") from None
        if not isinstance(data, dict) or not isinstance(data.get("methods"), dict):
            raise UsageError(f"{label} is not a scaffold-quantizer manifest; restore it from git")
        if data.get("version") not in READABLE_VERSIONS:
            raise UsageError(
                f"{label} has format version {data.get('version')!r}; this scaffold-quantizer "
                f"reads versions {', '.join(map(str, sorted(READABLE_VERSIONS)))}: upgrade it"
            )
        return cls(data)

    def copy(self) -> Manifest:
        return Manifest(copy.deepcopy(self.data))

    def text(self) -> str:
        return json.dumps(self.data, indent=2, sort_keys=True) + "\n"

    def differs(self, other: Manifest) -> bool:
        """Whether this records anything ``other`` does not (the format version aside)."""
        strip = lambda data: {k: v for k, v in data.items() if k != "version"}  # noqa: E731
        return strip(self.data) != strip(other.data)

    def _touch(self) -> None:
        """A run records something: the manifest is written in the current format."""
        self.data["version"] = FORMAT_VERSION

    def is_empty(self) -> bool:
        return not self.data["methods"] and not self.data.get("kept")

    # ---- methods ---------------------------------------------------------------------------
    def methods(self) -> list[str]:
        return sorted(self.data["methods"])

    def method(self, name: str) -> dict[str, Any] | None:
        return self.data["methods"].get(name)

    def _entry(self, name: str) -> dict[str, Any]:
        self._touch()
        return self.data["methods"].setdefault(name, _new_entry())

    def file_records(self) -> dict[str, tuple[str, bool, dict[str, Any]]]:
        """path -> (method, kept, record) for every file of every method and kept pair."""
        found: dict[str, tuple[str, bool, dict[str, Any]]] = {}
        for kept, section in ((True, self.data.get("kept", {})), (False, self.data["methods"])):
            for name, entry in section.items():
                for path, record in entry["files"].items():
                    found[path] = (name, kept, record)
        return found

    def file_hash(self, path: str) -> str | None:
        """The hash recorded for ``path`` by any method, or None if the tool did not make it."""
        found = self.file_records().get(path)
        return found[2]["sha256"] if found else None

    def record_files(self, name: str, target: str | None, files: dict[str, str]) -> None:
        """``files`` (path -> the text the tool wrote) belong to ``name``'s ``target``.

        A file recorded with the same bytes keeps its record as it is.
        """
        current = self.method(name) or {"files": {}}
        for path, text in files.items():
            known = current["files"].get(path)
            if known and known["sha256"] == sha256(text) and known["target"] == target:
                continue
            record = {"sha256": sha256(text), "target": target, "base": pack(text)}
            self.keep_record(name, path, record)

    def keep_record(self, name: str, path: str, record: dict[str, Any]) -> None:
        """``path`` belongs to ``name`` with ``record`` (one record per path)."""
        self.forget_file(path)
        self._entry(name)["files"][path] = dict(record)

    def record_dirs(self, name: str, dirs: list[str]) -> None:
        if not dirs:
            return
        entry = self._entry(name)
        entry["created_dirs"] = sorted(set(entry["created_dirs"]) | set(dirs))

    def record_registration(
        self,
        name: str,
        target: str,
        methods: list[str],
        created_member: bool,
        backend: str,
        generator_version: str,
        parameters: list[str] | None = None,
    ) -> None:
        """The options ``target`` was rendered with; ``parameters``: the ``--param`` values
        (canonical), None when the grids' own parameters were used."""
        entry = self._entry(name)
        if created_member:
            entry["enum_member_created"] = True
        known = entry["targets"].get(target)
        options: dict[str, Any] = {
            "quantization_methods": sorted(methods),
            "backend": backend,
            "generator_version": generator_version,
        }
        if parameters is not None:
            options["parameters"] = list(parameters)
        if known is not None:
            old = {"backend": "keras", **known}
            if all(old.get(k) == options.get(k) for k in RENDER_OPTIONS):
                return  # rendered with these options before: the record stays as it is
        entry["targets"][target] = options

    def renew_target(self, name: str, target: str, generator_version: str) -> None:
        """``update`` rendered ``name``'s ``target`` again with this generator version."""
        entry = self._entry(name)
        options = {"backend": "keras", **entry["targets"][target]}
        entry["targets"][target] = {**options, "generator_version": generator_version}

    def options(self, name: str, target: str, kept: bool = False) -> dict[str, Any] | None:
        """What ``name``'s ``target`` was rendered with, or None if it is not recorded."""
        section = self.data.get("kept", {}) if kept else self.data["methods"]
        found = section.get(name, {}).get("targets", {}).get(target)
        if found is None:
            return None
        return {"backend": "keras", **found}  # version 1 recorded no back end: Keras 2's

    def registered_methods(self, name: str, target: str) -> list[str]:
        return list((self.options(name, target) or {}).get("quantization_methods", []))

    def recorded_parameters(self, name: str, target: str, kept: bool = False) -> list[str] | None:
        """The ``--param`` values ``target`` was rendered with; None: the grids' own."""
        recorded = (self.options(name, target, kept) or {}).get("parameters")
        return None if recorded is None else [str(p) for p in recorded]

    def targets(self, name: str, backend: str | None = None) -> list[str]:
        """The keys of ``name``'s recorded targets (of ``backend`` only, if given)."""
        keys = sorted((self.method(name) or {}).get("targets", {}))
        return [k for k in keys if backend is None or split_key(k)[1] == backend]

    def backends(self, name: str) -> list[str]:
        """The back ends ``name`` has a recorded pair for."""
        return sorted({split_key(k)[1] for k in self.targets(name)})

    def forget_target(self, name: str, target: str) -> None:
        entry = self.method(name)
        if entry is None:
            return
        self._touch()
        entry["targets"].pop(target, None)
        gone = {target}
        backend = split_key(target)[1]
        if not any(split_key(k)[1] == backend for k in entry["targets"]):
            gone.add(target_key(None, backend))  # the back end's shared files go with it
        entry["files"] = {p: r for p, r in entry["files"].items() if r["target"] not in gone}
        if not entry["targets"]:
            del self.data["methods"][name]

    def forget_file(self, path: str) -> None:
        for section in (self.data["methods"], self.data.get("kept", {})):
            for entry in section.values():
                if path in entry["files"]:
                    self._touch()
                    entry["files"].pop(path)

    # ---- pairs that remove kept ------------------------------------------------------------
    def kept(self, name: str) -> dict[str, Any] | None:
        return self.data.get("kept", {}).get(name)

    def kept_methods(self) -> list[str]:
        return sorted(self.data.get("kept", {}))

    def keep_pair(
        self,
        name: str,
        targets: dict[str, dict[str, Any]],
        files: dict[str, dict[str, Any]],
        created_dirs: list[str],
    ) -> None:
        """Remember a pair ``remove`` kept (its records and options), out of the registry."""
        self._touch()
        entry = self.data.setdefault("kept", {}).setdefault(name, _new_entry())
        entry["targets"].update(copy.deepcopy(targets))
        entry["files"].update(copy.deepcopy(files))
        entry["created_dirs"] = sorted(set(entry["created_dirs"]) | set(created_dirs))

    def take_kept(self, name: str, target: str) -> dict[str, Any]:
        """The kept records of ``name``'s ``target`` (and its shared files), out of ``kept``."""
        entry = self.kept(name)
        if entry is None or target not in entry["targets"]:
            return {}
        self._touch()
        shared = target_key(None, split_key(target)[1])
        files = {p: r for p, r in entry["files"].items() if r["target"] in (target, shared)}
        entry["targets"].pop(target)
        entry["files"] = {p: r for p, r in entry["files"].items() if p not in files}
        dirs = entry["created_dirs"]
        if not entry["targets"]:
            del self.data["kept"][name]
            if not self.data["kept"]:
                del self.data["kept"]
        return {"files": files, "created_dirs": dirs}

    def forget_kept(self, name: str) -> None:
        if self.kept(name) is not None:
            self._touch()
            del self.data["kept"][name]
            if not self.data["kept"]:
                del self.data["kept"]

    # ---- a user project's own registry -----------------------------------------------------
    def record_registry(
        self,
        backend: str,
        files: dict[str, str],
        created_dirs: list[str],
        pyproject_before: str | None,
        pyproject_after: str | None,
        added: bool = False,
    ) -> None:
        """What creating a user project's own registry added, so that removing its last
        method can take it out again: the files (hashed as created, before any entry), the
        folders, and the lines added to pyproject.toml. ``added``: only a back end's
        dispatcher was created, next to an enum that existed (recorded under ``added``, and
        taken out once no method of that back end is left)."""
        self._touch()
        registry = self.data.setdefault("registry", {})
        if added:
            record = registry.setdefault("added", {}).setdefault(backend, {})
        else:
            record = registry
            record["backends"] = sorted(set(record.get("backends", [])) | {backend})
        record.setdefault("files", {}).update({p: sha256(t) for p, t in files.items()})
        record["created_dirs"] = sorted(set(record.get("created_dirs", [])) | set(created_dirs))
        if pyproject_before is not None and pyproject_after not in (None, pyproject_before):
            block = _inserted_block(pyproject_before, pyproject_after)  # type: ignore[arg-type]
            if block:  # one block per entry point, in the order they were added
                record["pyproject_blocks"] = [*pyproject_blocks(record), block]
                record.pop("pyproject_block", None)

    def registry_record(self) -> dict[str, Any]:
        """What creating the registry (the enum and a first dispatcher) added."""
        return {k: v for k, v in self.data.get("registry", {}).items() if k != "added"}

    def added_dispatchers(self) -> dict[str, dict[str, Any]]:
        """back end -> what adding its dispatcher to an existing enum added."""
        return dict(self.data.get("registry", {}).get("added", {}))

    def backends_in_use(self) -> set[str]:
        """The back ends of every recorded pair (registered or kept)."""
        sections = (self.data["methods"], self.data.get("kept", {}))
        return {
            split_key(k)[1] for section in sections for e in section.values() for k in e["targets"]
        }

    def forget_registry(self, added: str | None = None) -> None:
        """Forget the registry's record (``added``: only that back end's added dispatcher)."""
        registry = self.data.get("registry", {})
        if added is None:
            kept = registry.get("added")
            self.data.pop("registry", None)
            if kept:
                self.data["registry"] = {"added": kept}
            return
        registry.get("added", {}).pop(added, None)
        if "added" in registry and not registry["added"]:
            del registry["added"]
        if not registry:
            self.data.pop("registry", None)


def pyproject_blocks(record: dict[str, Any]) -> list[str]:
    """The lines a registry record added to pyproject.toml, oldest first."""
    if "pyproject_block" in record:  # written before a back end could add a second one
        return [record["pyproject_block"]]
    return list(record.get("pyproject_blocks", []))


def _inserted_block(before: str, after: str) -> str | None:
    """The one contiguous run of lines that ``after`` adds to ``before``, if that is all."""
    import difflib

    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    opcodes = [
        op
        for op in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes()
        if op[0] != "equal"
    ]
    if len(opcodes) != 1 or opcodes[0][0] != "insert":
        return None
    _, _, _, start, end = opcodes[0]
    return "".join(new[start:end])
