"""The record of what the generator made, kept in the project (``.scaffold-quantizer.json``).

For every training method it lists the files the tool wrote with the SHA-256 of the bytes it
wrote, the folders it created, whether it added the enum member and, per target, the options
it rendered with (grids, ``--param`` declarations), so that a re-render reproduces them.
``--force`` and ``remove`` trust only this record: a file whose hash no longer matches was
edited by its user and is never replaced or deleted. Keep the file under version control.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from .errors import UsageError

FORMAT_VERSION = 1


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
        if data.get("version") != FORMAT_VERSION:
            raise UsageError(
                f"{label} has format version {data.get('version')!r}; this scaffold-quantizer "
                f"reads version {FORMAT_VERSION}"
            )
        return cls(data)

    def copy(self) -> Manifest:
        return Manifest(copy.deepcopy(self.data))

    def text(self) -> str:
        return json.dumps(self.data, indent=2, sort_keys=True) + "\n"

    def is_empty(self) -> bool:
        return not self.data["methods"]

    def method(self, name: str) -> dict[str, Any] | None:
        return self.data["methods"].get(name)

    def _entry(self, name: str) -> dict[str, Any]:
        return self.data["methods"].setdefault(
            name, {"enum_member_created": False, "files": {}, "created_dirs": [], "targets": {}}
        )

    def file_hash(self, path: str) -> str | None:
        """The hash recorded for ``path`` by any method, or None if the tool did not make it."""
        for entry in self.data["methods"].values():
            record = entry["files"].get(path)
            if record is not None:
                return record["sha256"]
        return None

    def record_files(self, name: str, target: str | None, files: dict[str, str]) -> None:
        entry = self._entry(name)
        for path, text in files.items():
            entry["files"][path] = {"sha256": sha256(text), "target": target}

    def record_dirs(self, name: str, dirs: list[str]) -> None:
        entry = self._entry(name)
        entry["created_dirs"] = sorted(set(entry["created_dirs"]) | set(dirs))

    def record_registration(
        self,
        name: str,
        target: str,
        methods: list[str],
        created_member: bool,
        parameters: list[str] | None = None,
    ) -> None:
        """The options ``target`` was rendered with; ``parameters``: the ``--param`` values
        (canonical), None when the grids' own parameters were used."""
        entry = self._entry(name)
        if created_member:
            entry["enum_member_created"] = True
        options: dict[str, Any] = {"quantization_methods": sorted(methods)}
        if parameters is not None:
            options["parameters"] = list(parameters)
        entry["targets"][target] = options

    def _options(self, name: str, target: str) -> dict[str, Any]:
        return (self.method(name) or {}).get("targets", {}).get(target, {})

    def registered_methods(self, name: str, target: str) -> list[str]:
        return list(self._options(name, target).get("quantization_methods", []))

    def recorded_parameters(self, name: str, target: str) -> list[str] | None:
        """The ``--param`` values ``target`` was rendered with; None: the grids' own."""
        recorded = self._options(name, target).get("parameters")
        return None if recorded is None else [str(p) for p in recorded]

    def targets(self, name: str) -> list[str]:
        return sorted((self.method(name) or {}).get("targets", {}))

    def forget_target(self, name: str, target: str) -> None:
        entry = self.method(name)
        if entry is None:
            return
        entry["targets"].pop(target, None)
        entry["files"] = {p: r for p, r in entry["files"].items() if r["target"] != target}
        if not entry["targets"]:
            del self.data["methods"][name]

    def record_registry(
        self,
        backend: str,
        files: dict[str, str],
        created_dirs: list[str],
        pyproject_before: str | None,
        pyproject_after: str | None,
    ) -> None:
        """What creating a user project's own registry added, so that removing its last
        method can take it out again: the files (hashed as created, before any entry), the
        folders, and the lines added to pyproject.toml."""
        record = self.data.setdefault("registry", {"backends": [], "files": {}, "created_dirs": []})
        record["backends"] = sorted(set(record["backends"]) | {backend})
        record["files"].update({p: sha256(t) for p, t in files.items()})
        record["created_dirs"] = sorted(set(record["created_dirs"]) | set(created_dirs))
        if pyproject_before is not None and pyproject_after not in (None, pyproject_before):
            block = _inserted_block(pyproject_before, pyproject_after)  # type: ignore[arg-type]
            if block:
                record["pyproject_block"] = block

    def registry_record(self) -> dict[str, Any]:
        return dict(self.data.get("registry", {}))

    def forget_registry(self) -> None:
        self.data.pop("registry", None)

    def forget_file(self, path: str) -> None:
        for entry in self.data["methods"].values():
            entry["files"].pop(path, None)


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
