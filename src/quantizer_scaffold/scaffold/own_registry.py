"""A user project's own registry, created by the first scaffold in a project that has none.

A project that depends on quantizer-scaffold (and is not the runtime itself) gets its own
``TrainingMethod`` enum and, per back end, its own dispatcher module with
``METHOD2WEIGHTQUANTIZER`` / ``METHOD2ACTQUANTIZER``, inside its package and laid out as in
this library. The installed library is never touched: the runtime finds the dispatcher
through an entry point that this module declares in the project's pyproject.toml (edited
with tomlkit, every other byte preserved)::

    [project.entry-points."quantizer_scaffold.dispatchers"]
    keras = "myproj.qat.keras.quantizer.quantization_dispatcher_builder"

(see ``quantizer_scaffold.qat.common.dispatchers``; code that is not installed calls
``quantizer_scaffold.qat.register_dispatcher`` instead).
"""

from __future__ import annotations

import difflib
import posixpath
from dataclasses import dataclass

from .errors import ConflictError
from .project import BACKENDS, Project

ENTRY_POINT_GROUP = "quantizer_scaffold.dispatchers"  # = qat.common.dispatchers.ENTRY_POINT_GROUP


def enum_text(project: Project) -> str:
    package = project.config.package
    return f'''"""The training methods of {package}, for quantizer-scaffold's QAT runtime.

``scaffold-quantizer`` appends a member for each method it scaffolds (the next free integer).
Saved models refer to members by name, never by value.
"""

from __future__ import annotations

from enum import Enum


class TrainingMethod(Enum):
    """How this project's quantizers learn; its dispatchers map each member to classes."""
'''


def dispatcher_text(project: Project, backend: str, enum_module: str) -> str:
    runtime = project.config.runtime
    title = BACKENDS[backend].title
    annotation = "dict[TrainingMethod, dict[qi.QuantizationMethod, type]]"
    return f'''"""The {backend} dispatcher: the trainable quantizer of each training method.

Quantizers for {title}.

``scaffold-quantizer`` adds entries to the two dictionaries below; keep them declarative.
The runtime finds this module through the "{ENTRY_POINT_GROUP}" entry point
in pyproject.toml ({backend} = this module), or through register_dispatcher().
"""

from __future__ import annotations

from {runtime} import quantizers_infrastructure as qi

from {enum_module} import TrainingMethod

METHOD2WEIGHTQUANTIZER: {annotation} = {{}}

METHOD2ACTQUANTIZER: {annotation} = {{}}
'''


def package_inits(project: Project, paths: list[str], exists: object) -> dict[str, str]:
    """``__init__.py`` for every folder between the package and ``paths`` that does not exist.

    ``exists(path)`` tells whether a project-relative folder exists.
    """
    package_dir = project.config.package_dir
    new: dict[str, str] = {}
    for path in paths:
        folder = posixpath.dirname(path)
        while folder.startswith(package_dir + "/"):
            if not exists(folder):  # type: ignore[operator]
                name = folder[len(package_dir) + 1 :].replace("/", ".")
                new[f"{folder}/__init__.py"] = (
                    f'"""{project.config.package}.{name}: created by scaffold-quantizer."""\n'
                )
            folder = posixpath.dirname(folder)
    return new


@dataclass(frozen=True)
class EntryPoint:
    """The result of declaring the dispatcher's entry point in pyproject.toml."""

    text: str | None  # the new pyproject.toml text; None when it could not be declared
    note: str = ""  # why not, and what to do instead


def declare_entry_point(pyproject: str, backend: str, module: str) -> EntryPoint:
    """``pyproject`` with ``[project.entry-points."<group>"] <backend> = "<module>"`` added."""
    import tomlkit

    by_hand = (
        f'add [project.entry-points."{ENTRY_POINT_GROUP}"] {backend} = "{module}" yourself, '
        f'or call quantizer_scaffold.qat.register_dispatcher("{module}") before using it'
    )
    document = tomlkit.parse(pyproject)
    table = document.get("project")
    if table is None:
        return EntryPoint(None, f"pyproject.toml has no [project] table: {by_hand}")
    points = table.get("entry-points")
    if points is None:
        points = tomlkit.table(is_super_table=True)
        table["entry-points"] = points
    group = points.get(ENTRY_POINT_GROUP)
    if group is not None and backend in group:
        if str(group[backend]) == module:
            return EntryPoint(pyproject)
        raise ConflictError(
            f'pyproject.toml already names {group[backend]} as the "{backend}" dispatcher '
            f"({ENTRY_POINT_GROUP}); point [tool.scaffold-quantizer] dispatcher_file at its "
            "file, or change the entry point"
        )
    try:
        if group is None:
            group = tomlkit.table()
            points[ENTRY_POINT_GROUP] = group
        group[backend] = module
    except ValueError as error:  # an inline table cannot hold another table
        return EntryPoint(None, f"cannot add to pyproject.toml ({error}): {by_hand}")
    text = tomlkit.dumps(document)
    marker = f'[project.entry-points."{ENTRY_POINT_GROUP}"]'
    text = _blank_line_after_table(text, marker)
    before, after = pyproject.splitlines(keepends=True), text.splitlines(keepends=True)
    opcodes = difflib.SequenceMatcher(a=before, b=after, autojunk=False).get_opcodes()
    if any(tag not in {"equal", "insert"} for tag, *_ in opcodes):
        return EntryPoint(None, f"cannot add to pyproject.toml without changing it: {by_hand}")
    return EntryPoint(text)


def _blank_line_after_table(text: str, header: str) -> str:
    """tomlkit puts the next table right under a new one; give it the usual blank line."""
    lines = text.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if line.strip() == header:
            end = index + 1
            while end < len(lines) and lines[end].strip() and not lines[end].startswith("["):
                end += 1
            if end < len(lines) and lines[end].startswith("["):
                newline = "\r\n" if line.endswith("\r\n") else "\n"
                lines.insert(end, newline)
            break
    return "".join(lines)
