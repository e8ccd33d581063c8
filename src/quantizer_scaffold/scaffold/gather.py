"""Reading the registry: each file is read once, into a model of what it registers.

The enum file is parsed with libcst (``gather_enum``): it is small, and its class is what
``AddEnumMember`` edits. The dispatcher file can hold a thousand methods (12,000 lines);
``DispatcherFile`` reads it with Python's own ``ast`` (a twentieth of libcst's parse time)
into the model of its dictionaries and imports, with each top-level statement's lines. A
writer then parses with libcst only the one statement it changes (``statement_module``),
and the file is spliced back by lines: every other byte stays as it was.

Only module-level statements count: a same-named dict inside a function or a nested
``class TrainingMethod`` is someone else's code and is never read or edited. Plain
``isinstance`` checks instead of ``libcst.matchers``, whose import alone costs 0.2 s.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst

from .errors import RegistryError

_EMPTY = cst.Module([])


def code(node: cst.CSTNode) -> str:
    """The source text of ``node`` (as libcst renders it: byte for byte what was parsed)."""
    return _EMPTY.code_for_node(node)


def parse_module(text: str, label: str) -> cst.Module:
    """Parse ``text``; a syntax error becomes a RegistryError naming ``label``."""
    try:
        return cst.parse_module(text)
    except cst.ParserSyntaxError as error:
        raise RegistryError(
            f"{label} has a syntax error at line {error.raw_line}: {error.message}; fix it first"
        ) from None


# --------------------------------------------------------------------------- enum


def member_assign(statement: cst.CSTNode) -> cst.Assign | None:
    """The ``NAME = value`` of an enum member statement, or None for anything else."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    assign = statement.body[0]
    if not isinstance(assign, cst.Assign) or len(assign.targets) != 1:
        return None
    target = assign.targets[0].target
    if not isinstance(target, cst.Name) or target.value.startswith("_"):
        return None
    return assign


def is_docstring(statement: cst.CSTNode) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


@dataclass(frozen=True)
class EnumModel:
    """The module-level ``class <name>`` and its members, in order."""

    name: str
    node: cst.ClassDef
    members: dict[str, cst.BaseExpression]  # member -> value expression
    positions: dict[str, int]  # member -> index of its statement in the class body

    @property
    def statements(self) -> Sequence[cst.BaseStatement]:
        body = self.node.body
        return body.body if isinstance(body, cst.IndentedBlock) else ()

    def last_member_statement(self) -> cst.SimpleStatementLine | None:
        if not self.positions:
            return None
        return self.statements[max(self.positions.values())]  # type: ignore[return-value]


def gather_enum(module: cst.Module, class_name: str, label: str) -> EnumModel:
    """The enum ``class_name`` defined at the top level of ``module``."""
    for statement in module.body:
        if isinstance(statement, cst.ClassDef) and statement.name.value == class_name:
            break
    else:
        raise RegistryError(
            f"{label} defines no module-level class {class_name}; point [tool.scaffold-quantizer] "
            "training_method_file at the file that does"
        )
    if not isinstance(statement.body, cst.IndentedBlock):
        raise RegistryError(
            f"{label}: class {class_name} is written on one line; give it an indented body "
            "(one member per line) so members can be added"
        )
    members: dict[str, cst.BaseExpression] = {}
    positions: dict[str, int] = {}
    for index, inner in enumerate(statement.body.body):
        assign = member_assign(inner)
        if assign is not None:
            name = assign.targets[0].target.value  # type: ignore[attr-defined]
            members[name] = assign.value
            positions[name] = index
    return EnumModel(class_name, statement, members, positions)


# --------------------------------------------------------------------------- dicts


def key_attr(element: cst.BaseDictElement) -> str | None:
    """``X`` for an entry whose key is ``<anything>.X``; None otherwise."""
    if isinstance(element, cst.DictElement) and isinstance(element.key, cst.Attribute):
        return element.key.attr.value
    return None


def key_prefix(element: cst.BaseDictElement) -> str | None:
    """The code before the last ``.`` of an attribute key (``qi.QuantizationMethod``)."""
    if isinstance(element, cst.DictElement) and isinstance(element.key, cst.Attribute):
        return dotted(element.key.value)
    return None


def dict_assignment(statement: cst.CSTNode, name: str) -> cst.Dict | None:
    """The dict literal of a module-level ``name = {...}`` or ``name: T = {...}``."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    node = statement.body[0]
    if isinstance(node, cst.Assign):
        if len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Name):
            return None
        if node.targets[0].target.value != name:
            return None
    elif isinstance(node, cst.AnnAssign):
        if not isinstance(node.target, cst.Name) or node.target.value != name:
            return None
    else:
        return None
    return node.value if isinstance(node.value, cst.Dict) else None


@dataclass(frozen=True)
class DictModel:
    """A module-level dispatcher dictionary: its statement and its entries by enum member."""

    name: str
    statement: cst.SimpleStatementLine
    node: cst.Dict
    entries: dict[str | None, list[int]]  # member -> indices of its elements (normally one)

    def element(self, member: str) -> tuple[int, cst.DictElement] | None:
        indices = self.entries.get(member)
        if not indices:
            return None
        return indices[0], self.node.elements[indices[0]]  # type: ignore[return-value]


def gather_dict(module: cst.Module, name: str) -> DictModel | None:
    for statement in module.body:
        node = dict_assignment(statement, name)
        if node is not None:
            entries: dict[str | None, list[int]] = {}
            for index, element in enumerate(node.elements):
                entries.setdefault(key_attr(element), []).append(index)
            return DictModel(name, statement, node, entries)  # type: ignore[arg-type]
    return None


def dotted(node: cst.BaseExpression) -> str:
    """``a.b.c`` of a Name/Attribute chain, without libcst's code generation."""
    parts = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if isinstance(node, cst.Name):
        parts.append(node.value)
        return ".".join(reversed(parts))
    return code(node)


def import_source(node: cst.ImportFrom) -> str | None:
    if node.relative or node.module is None:
        return None
    return dotted(node.module)


# --------------------------------------------------------------------------- the dispatcher

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def lines_of(text: str) -> list[str]:
    """The lines of ``text`` with their endings, split where Python's parser splits them."""
    return _LINE.findall(text)


@dataclass(frozen=True)
class Statement:
    """A top-level statement: its ``ast`` node and its lines (0-based, last inclusive)."""

    index: int
    first: int
    last: int
    node: ast.stmt


def _segment(lines: Sequence[str], node: ast.expr) -> str:
    """The source of ``node`` (ast columns count UTF-8 bytes)."""
    assert node.end_lineno is not None and node.end_col_offset is not None
    first = lines[node.lineno - 1].encode("utf-8")
    if node.lineno == node.end_lineno:
        return first[node.col_offset : node.end_col_offset].decode("utf-8")
    middle = "".join(lines[node.lineno : node.end_lineno - 1])
    last = lines[node.end_lineno - 1].encode("utf-8")[: node.end_col_offset].decode("utf-8")
    return first[node.col_offset :].decode("utf-8") + middle + last


def _dotted(node: ast.expr) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return None


class DispatcherFile:
    """The dispatcher file read with ``ast``: its dictionaries, imports and statements' lines."""

    def __init__(self, text: str, label: str, dict_names: Sequence[str]) -> None:
        self.text = text
        self.label = label
        try:  # a byte-order mark stays in the text (first line) but is no Python
            tree = ast.parse(text.removeprefix("\ufeff"))
        except SyntaxError as error:
            raise RegistryError(
                f"{label} has a syntax error at line {error.lineno}: {error.msg}; fix it first"
            ) from None
        self.lines = lines_of(text)
        self._entries: dict[str, dict[str, int]] = {}
        self.statements = [
            Statement(i, n.lineno - 1, (n.end_lineno or n.lineno) - 1, n)
            for i, n in enumerate(tree.body)
        ]
        self.dicts: dict[str, tuple[Statement, ast.Dict]] = {}
        for statement in self.statements:
            node = statement.node
            target = (
                node.targets[0]
                if isinstance(node, ast.Assign) and len(node.targets) == 1
                else (node.target if isinstance(node, ast.AnnAssign) else None)
            )
            if (
                isinstance(target, ast.Name)
                and target.id in dict_names
                and isinstance(getattr(node, "value", None), ast.Dict)
                and target.id not in self.dicts
            ):
                self.dicts[target.id] = (statement, node.value)  # type: ignore[attr-defined]
        self.imports: list[tuple[Statement, ast.Import | ast.ImportFrom]] = []
        for statement in self.statements:
            stack: list[ast.stmt] = [statement.node]
            while stack:
                node = stack.pop(0)
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    self.imports.append((statement, node))
                elif isinstance(node, (ast.Try, ast.If)):
                    stack.extend([*node.body, *node.orelse])
                    if isinstance(node, ast.Try):
                        stack.extend([*(s for h in node.handlers for s in h.body), *node.finalbody])
        self.bound: dict[str, str] = {}
        for _, node in self.imports:
            if isinstance(node, ast.ImportFrom):
                if node.level or node.module is None:
                    continue
                for alias in node.names:
                    if alias.name != "*":
                        self.bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            else:
                for alias in node.names:
                    bound = alias.asname or alias.name.split(".")[0]
                    self.bound[bound] = alias.name if alias.asname else bound

    # ---- reading ----------------------------------------------------------------------
    @property
    def newline(self) -> str:
        """The file's line ending (of its first line), for inserted text."""
        first = self.lines[0] if self.lines else "\n"
        return "\r\n" if first.endswith("\r\n") else "\r" if first.endswith("\r") else "\n"

    def segment(self, node: ast.expr) -> str:
        return _segment(self.lines, node)

    def entries(self, name: str) -> dict[str, int]:
        """Enum member -> index of its (first) entry in the dict ``name`` (indexed once)."""
        if name not in self._entries:
            found: dict[str, int] = {}
            for index, key in enumerate(self.dicts[name][1].keys if name in self.dicts else []):
                if isinstance(key, ast.Attribute):
                    found.setdefault(key.attr, index)
            self._entries[name] = found
        return self._entries[name]

    def quantizers(self, name: str, member: str) -> dict[str, str] | None:
        """Grid (lower case) -> class code of ``member`` in ``name``; None if not a dict."""
        index = self.entries(name).get(member)
        if index is None:
            return {}
        value = self.dicts[name][1].values[index]
        if not isinstance(value, ast.Dict):
            return None
        return {
            (key.attr if isinstance(key, ast.Attribute) else self.segment(key)).lower(): (
                self.segment(item)
            )
            for key, item in zip(value.keys, value.values, strict=True)
            if key is not None
        }

    def entry_prefix(self, enum_class: str) -> str:
        """How the file writes enum keys (``TrainingMethod``, or an alias)."""
        for _, node in self.dicts.values():
            for key in node.keys:
                if isinstance(key, ast.Attribute):
                    return _dotted(key.value) or self.segment(key.value)
        return self._imported(enum_class)

    def inner_prefix(self) -> str:
        """How the file writes grid keys: ``qi.QuantizationMethod`` or ``QuantizationMethod``."""
        for _, node in self.dicts.values():
            for value in node.values:
                if isinstance(value, ast.Dict):
                    for key in value.keys:
                        if isinstance(key, ast.Attribute):
                            return _dotted(key.value) or self.segment(key.value)
        for name, source in self.bound.items():
            if source.endswith("quantizers_infrastructure"):
                return f"{name}.QuantizationMethod"
        return self._imported("QuantizationMethod")

    def _imported(self, wanted: str) -> str:
        for name, source in self.bound.items():
            if source.rsplit(".", 1)[-1] == wanted:
                return name
        raise RegistryError(
            f"{self.label} does not import {wanted}; add the import so new entries can refer to it"
        )

    def unit(self) -> str:
        """The file's indentation unit: that of the first indented block, else 4 spaces."""
        for statement in self.statements:
            body = getattr(statement.node, "body", None)
            if isinstance(body, list) and body and body[0].lineno - 1 > statement.first:
                line = self.lines[body[0].lineno - 1]
                indent = line[: len(line) - len(line.lstrip(" \t"))]
                if indent:
                    return indent
        return "    "

    # ---- statements as libcst modules, and splicing them back ------------------------------
    def region(self, statement: Statement) -> str:
        return "".join(self.lines[statement.first : statement.last + 1])

    def statement_module(self, statement: Statement) -> cst.Module:
        """One statement parsed with libcst on its own (it starts at column 0)."""
        return parse_module(self.region(statement), self.label)

    def with_lines(self, replacements: dict[int, str], insertions: dict[int, str]) -> str:
        """The text with statements replaced (by index) and text inserted before lines."""
        out: list[str] = []
        replaced = {self.statements[i].first: self.statements[i] for i in replacements}
        line = 0
        while line <= len(self.lines):
            if line in insertions:
                out.append(insertions[line])
            if line == len(self.lines):
                break
            statement = replaced.get(line)
            if statement is not None:
                out.append(replacements[statement.index])
                line = statement.last + 1
                continue
            out.append(self.lines[line])
            line += 1
        return "".join(out)
