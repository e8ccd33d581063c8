"""Checks of staged files before anything is written: they compile, and the registry resolves.

"Resolves" is static: every global name a registry file uses is bound (import, def, class,
assignment or builtin), every ``TrainingMethod.X`` it uses is a member of the staged enum,
and every class it imports from a generated module is defined there.
"""

from __future__ import annotations

import ast
import builtins
import functools
import symtable
from collections.abc import Callable, Iterable

from .errors import ScaffoldError, UsageError

_MODULE_NAMES = {"__name__", "__file__", "__doc__", "__spec__", "__loader__", "__package__"}


# one parse per text and run, however many checks read it (a registry can be 500 kB)
@functools.lru_cache(maxsize=32)
def parse(text: str) -> ast.Module:
    return ast.parse(text.removeprefix("\ufeff"))  # a byte-order mark is not Python


def compiles(path: str, text: str) -> None:
    try:
        compile(text.removeprefix("\ufeff"), path, "exec", dont_inherit=True)
    except SyntaxError as error:
        raise ScaffoldError(
            f"the new {path} would not compile (line {error.lineno}: {error.msg}); "
            "nothing was written"
        ) from None


def unresolved_names(path: str, text: str) -> list[str]:
    """Global names that ``text`` reads but never binds (empty if it uses ``import *``)."""
    top = symtable.symtable(text.removeprefix("\ufeff"), path, "exec")
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
    for node in parse(text).body:
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
        for node in ast.walk(parse(text))
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
        try:  # a syntax error: ast's parse finds it (the registry is not compiled twice)
            parse(text)
        except SyntaxError:
            compiles(path, text)
        missing = unresolved_names(path, text)
        if missing:
            raise ScaffoldError(
                f"the new {path} would use undefined name(s) {', '.join(missing)}; "
                "nothing was written"
            )
    for path, text in ((dispatcher_path, dispatcher_text), (enum_path, enum_text)):
        unknown = attribute_members(text, enum_spelling) - set(members)
        if unknown:
            raise ScaffoldError(
                f"the new {path} would use {enum_spelling}."
                f"{', '.join(sorted(unknown))}, which the enum in {enum_path} does not define"
            )
    for class_name, (module_path, label) in imports.items():
        text = read_module(module_path)
        if text is None or class_name not in defined_names(text):
            raise ScaffoldError(
                f"the new {dispatcher_path} would import {class_name} from {label}, "
                "which does not define it; nothing was written"
            )


# --------------------------------------------------------------------------- imports


def imports_of(text: str, module: str, is_package: bool) -> list[tuple[int, str, list[str]]]:
    """(line, absolute module, names) of every import in ``text`` (``module`` is its own name).

    ``import a.b`` gives (line, "a.b", []); ``from .x import Y`` gives the resolved module.
    """
    found: list[tuple[int, str, list[str]]] = []
    for node in _import_statements(parse(text).body):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = node.module or ""
            if node.level:
                parts = module.split(".")
                base = parts if is_package else parts[:-1]
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                source = ".".join([*base, source] if source else base)
            if source == "__future__":
                continue
            found.append((node.lineno, source, [a.name for a in node.names]))
    return found


def _import_statements(body: list[ast.stmt]) -> Iterable[ast.stmt]:
    """Imports that run on import of the module: top level and in ``try``/``if``/``with``
    blocks (not inside functions or classes, which a registry does not import in)."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.Try, ast.If, ast.With)):
            yield from _import_statements(node.body)
            yield from _import_statements(getattr(node, "orelse", []))
            yield from _import_statements(getattr(node, "finalbody", []))
            for handler in getattr(node, "handlers", []):
                yield from _import_statements(handler.body)


def _dynamic(text: str) -> bool:
    """A module whose names cannot be listed statically (``__getattr__`` or ``import *``)."""
    tree = parse(text)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
            return True
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            return True
    return False


class ModuleIndex:
    """Answers "does module M exist, and does it define N?" for the tree a run would leave.

    A module is looked up first in the project (``source_root``, with this run's staged
    files and deletions), then on ``sys.path`` without importing anything. ``strict`` are
    the top-level packages that must resolve (the project's and the runtime's); another
    package that is not installed here (numpy in a generator-only environment) is skipped.
    """

    def __init__(
        self,
        source_root: str,
        read: Callable[[str], str | None],
        strict: Iterable[str],
    ) -> None:
        self.source_root = source_root
        self.read = read
        self.strict = set(strict)
        self._cache: dict[str, tuple[str, str | None] | None] = {}

    def _project_file(self, module: str) -> tuple[str, str | None] | None:
        base = "/".join(module.split("."))
        root = "" if self.source_root in {"", "."} else self.source_root + "/"
        for candidate in (f"{root}{base}.py", f"{root}{base}/__init__.py"):
            text = self.read(candidate)
            if text is not None:
                return ("package" if candidate.endswith("__init__.py") else "module", text)
        return None

    def _installed(self, module: str) -> tuple[str, str | None] | None:
        import importlib.machinery
        import importlib.util

        parts = module.split(".")
        spec = importlib.machinery.PathFinder.find_spec(parts[0])
        if spec is None:
            try:
                spec = importlib.util.find_spec(parts[0])  # meta-path finders (editable installs)
            except (ImportError, ValueError):
                spec = None
        for depth in range(1, len(parts)):
            if spec is None or not spec.submodule_search_locations:
                return None
            spec = importlib.machinery.PathFinder.find_spec(
                ".".join(parts[: depth + 1]), list(spec.submodule_search_locations)
            )
        if spec is None:
            return None
        kind = "package" if spec.submodule_search_locations is not None else "module"
        origin = spec.origin
        if origin and origin.endswith(".py"):
            try:
                with open(origin, encoding="utf-8") as handle:
                    return kind, handle.read()
            except OSError:
                return kind, None
        return kind, None  # compiled, namespace or frozen: exists, names unknown

    def find(self, module: str) -> tuple[str, str | None] | None:
        """("package"|"module", source text or None when unknown), or None if it is missing."""
        if module not in self._cache:
            self._cache[module] = self._project_file(module) or self._installed(module)
        return self._cache[module]

    def check(self, path: str, imports: Iterable[tuple[int, str, list[str]]]) -> None:
        """Raise ScaffoldError for the first of ``path``'s ``imports`` that would not resolve."""
        for line, source, names in imports:
            checked = source.split(".")[0] in self.strict
            found = self.find(source)
            if found is None:
                if checked:
                    raise UsageError(
                        f"the new {path} would import {source} (line {line}), which is neither "
                        "in the project nor installed; fix [tool.scaffold-quantizer] runtime/"
                        "package or the templates; nothing was written"
                    )
                continue
            kind, source_text = found
            if source_text is None or not checked:
                continue
            try:
                defined = defined_names(source_text)
            except SyntaxError:  # its names cannot be read; its own check reports the error
                continue
            for name in names:
                if name == "*" or name in defined or _dynamic(source_text):
                    continue
                if kind == "package" and self.find(f"{source}.{name}") is not None:
                    continue
                raise UsageError(
                    f"the new {path} would import {name} from {source} (line {line}), which "
                    "does not define it; nothing was written"
                )
