"""Checks of staged files before anything is written: they compile, and the registry resolves.

"Resolves" is static: every global name a registry file uses is bound (import, def, class,
assignment or builtin), every ``TrainingMethod.X`` it uses is a member of the staged enum,
and every class it imports from a generated module is defined there.
"""

from __future__ import annotations

import ast
import builtins
import symtable
from collections.abc import Callable, Iterable

from .errors import ScaffoldError

_MODULE_NAMES = {"__name__", "__file__", "__doc__", "__spec__", "__loader__", "__package__"}


def compiles(path: str, text: str) -> None:
    try:
        compile(text, path, "exec", dont_inherit=True)
    except SyntaxError as error:
        raise ScaffoldError(
            f"the new {path} would not compile (line {error.lineno}: {error.msg}); "
            "nothing was written"
        ) from None


def unresolved_names(path: str, text: str) -> list[str]:
    """Global names that ``text`` reads but never binds (empty if it uses ``import *``)."""
    top = symtable.symtable(text, path, "exec")
    bound = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported()}
    bound |= {s.get_name() for s in top.get_symbols() if s.is_namespace()}
    if "*" in bound:
        return []
    known = bound | set(dir(builtins)) | _MODULE_NAMES
    missing: set[str] = set()
    stack = [top]
    while stack:
        table = stack.pop()
        stack.extend(table.get_children())
        for symbol in table.get_symbols():
            name = symbol.get_name()
            global_read = symbol.is_referenced() and (
                symbol.is_global() or table.get_type() == "module"
            )
            if global_read and name not in known:
                missing.add(name)
    return sorted(missing)


def defined_names(text: str) -> set[str]:
    """Top-level names a module defines (classes, functions, assignments, imports)."""
    names: set[str] = set()
    for node in ast.parse(text).body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def attribute_members(text: str, owner: str) -> set[str]:
    """Every ``X`` in ``<owner>.X`` that ``text`` uses."""
    return {
        node.attr
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == owner
    }


def check_registry(
    enum_path: str,
    enum_text: str,
    dispatcher_path: str,
    dispatcher_text: str,
    members: Iterable[str],
    enum_spelling: str,
    imports: dict[str, tuple[str, str]],
    read_module: Callable[[str], str | None],
) -> None:
    """Raise ScaffoldError naming the file and name that would not resolve.

    ``imports`` maps each class the dispatcher must import to (module path, module label);
    ``read_module`` returns the staged or current text of a module path.
    """
    for path, text in ((enum_path, enum_text), (dispatcher_path, dispatcher_text)):
        compiles(path, text)
        missing = unresolved_names(path, text)
        if missing:
            raise ScaffoldError(
                f"the new {path} would use undefined name(s) {', '.join(missing)}; "
                "nothing was written"
            )
    unknown = attribute_members(dispatcher_text, enum_spelling) - set(members)
    if unknown:
        raise ScaffoldError(
            f"the new {dispatcher_path} would use {enum_spelling}."
            f"{', '.join(sorted(unknown))}, which the enum in {enum_path} does not define"
        )
    for class_name, (module_path, label) in imports.items():
        text = read_module(module_path)
        if text is None or class_name not in defined_names(text):
            raise ScaffoldError(
                f"the new {dispatcher_path} would import {class_name} from {label}, "
                "which does not define it; nothing was written"
            )
