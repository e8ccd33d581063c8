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
    """The ``NAME = value`` of a statement that is one plain member assignment, else None."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    assign = statement.body[0]
    return assign if isinstance(assign, cst.Assign) and _member_name(assign) else None


def _member_name(node: cst.BaseSmallStatement) -> str | None:
    """The member a small statement of an enum body defines: ``X = v`` or ``X: T = v``."""
    if isinstance(node, cst.Assign) and len(node.targets) == 1:
        target: cst.BaseExpression = node.targets[0].target
    elif isinstance(node, cst.AnnAssign) and node.value is not None:
        target = node.target
    else:
        return None
    if not isinstance(target, cst.Name) or target.value.startswith("_"):
        return None
    return target.value


def is_docstring(statement: cst.CSTNode) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


@dataclass(frozen=True)
class EnumModel:
    """The module-level ``class <name>`` and its members, in order.

    A member is ``X = value`` or ``X: T = value``, on a line of its own or joined to others
    by ``;``. ``flag``: the class derives from ``Flag`` or ``IntFlag`` (members are bits).
    """

    name: str
    node: cst.ClassDef
    members: dict[str, cst.BaseExpression]  # member -> value expression
    positions: dict[str, int]  # member -> index of its statement in the class body
    nodes: dict[str, cst.Assign | cst.AnnAssign]  # member -> its small statement
    flag: bool = False

    @property
    def statements(self) -> Sequence[cst.BaseStatement]:
        body = self.node.body
        return body.body if isinstance(body, cst.IndentedBlock) else ()

    def last_member_statement(self) -> cst.SimpleStatementLine | None:
        if not self.positions:
            return None
        return self.statements[max(self.positions.values())]  # type: ignore[return-value]

    def insertion_index(self) -> int:
        """Where a new member goes: after the last member and its attribute docstring."""
        index = max(self.positions.values())
        statements = self.statements
        while index + 1 < len(statements) and is_docstring(statements[index + 1]):
            index += 1
        return index + 1

    def values(self) -> dict[str, int] | None:
        """Every member's integer value (literals, earlier members, ``| & ^ << >> + - *``),
        or None when one of them is something else (``auto()``, a string, a call)."""
        known: dict[str, int] = {}
        for name, node in self.members.items():
            value = constant(node, known)
            if value is None:
                return None
            known[name] = value
        return known


_OPERATORS = {
    cst.BitOr: lambda a, b: a | b,
    cst.BitAnd: lambda a, b: a & b,
    cst.BitXor: lambda a, b: a ^ b,
    cst.LeftShift: lambda a, b: a << b if 0 <= b <= 64 else None,
    cst.RightShift: lambda a, b: a >> b if 0 <= b <= 64 else None,
    cst.Add: lambda a, b: a + b,
    cst.Subtract: lambda a, b: a - b,
    cst.Multiply: lambda a, b: a * b,
}


def constant(node: cst.BaseExpression, names: dict[str, int]) -> int | None:
    """The integer an enum value expression evaluates to, without running code."""
    if isinstance(node, cst.Integer):
        return int(node.value.replace("_", ""), 0)
    if isinstance(node, cst.Name):
        return names.get(node.value)
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        inner = constant(node.expression, names)
        return None if inner is None else -inner
    if isinstance(node, cst.BinaryOperation):
        operator = _OPERATORS.get(type(node.operator))
        left, right = constant(node.left, names), constant(node.right, names)
        if operator is None or left is None or right is None:
            return None
        return operator(left, right)  # type: ignore[no-any-return]
    return None


def _is_flag(node: cst.ClassDef) -> bool:
    for base in node.bases:
        value = base.value
        name = value.attr.value if isinstance(value, cst.Attribute) else getattr(value, "value", "")
        if name in {"Flag", "IntFlag"}:
            return True
    return False


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
    nodes: dict[str, cst.Assign | cst.AnnAssign] = {}
    for index, inner in enumerate(statement.body.body):
        if not isinstance(inner, cst.SimpleStatementLine):
            continue
        for small in inner.body:
            name = _member_name(small)
            if name is not None:
                members[name] = small.value  # type: ignore[attr-defined]
                positions[name] = index
                nodes[name] = small  # type: ignore[assignment]
    return EnumModel(class_name, statement, members, positions, nodes, _is_flag(statement))


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


def _key_may_be(key: ast.expr | None, member: str) -> bool:
    """Whether a dict key may be the enum member ``member`` (a string never is)."""
    if isinstance(key, ast.Constant):
        return False
    if isinstance(key, ast.Attribute):
        return key.attr == member
    return True  # a name, a call, a ``**spread``: cannot be told without running it


def _change_of(node: ast.stmt, name: str, member: str) -> str | None:
    """What ``node`` does to the module-level dict ``name`` that could shadow ``member``."""

    def targets(target: ast.expr) -> str | None:
        if isinstance(target, ast.Name) and target.id == name:
            return f"binds {name} again"
        if isinstance(target, ast.Subscript) and _is_name(target.value, name):
            if _key_may_be(target.slice, member):
                return f"sets an item of {name}"
        if isinstance(target, (ast.Tuple, ast.List)):
            return next((t for t in map(targets, target.elts) if t), None)
        return None

    if isinstance(node, ast.Assign):
        return next((t for t in map(targets, node.targets) if t), None)
    if isinstance(node, ast.AnnAssign) and node.value is not None:
        return targets(node.target)
    if isinstance(node, ast.AugAssign) and _is_name(node.target, name):
        if isinstance(node.value, ast.Dict) and not any(
            _key_may_be(k, member) for k in node.value.keys
        ):
            return None
        return f"updates {name} in place"
    if isinstance(node, ast.Delete):
        return next((f"deletes from {name}" for t in node.targets if targets(t)), None)
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        if any((a.asname or a.name.split(".")[0]) == name for a in node.names):
            return f"imports another {name}"
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        call = node.value
        func = call.func
        if not (isinstance(func, ast.Attribute) and _is_name(func.value, name)):
            return None
        if func.attr in {"clear", "popitem"}:
            return f"empties {name}"
        if func.attr in {"pop", "__setitem__", "__delitem__"}:
            if not call.args or _key_may_be(call.args[0], member):
                return f"calls {name}.{func.attr}()"
        if func.attr == "update":
            arguments = [a for a in call.args]
            if all(
                isinstance(a, ast.Dict) and not any(_key_may_be(k, member) for k in a.keys)
                for a in arguments
            ):
                return None
            return f"calls {name}.update()"
    return None


def _is_name(node: ast.expr, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


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

    def foreign_keys(self, name: str) -> list[tuple[int, str]]:
        """(line, source) of each key of dict ``name`` that is not ``<Enum>.<member>``."""
        if name not in self.dicts:
            return []
        node = self.dicts[name][1]
        return [
            (key.lineno, self.segment(key))
            for key in node.keys
            if key is not None and not isinstance(key, ast.Attribute)
        ]

    def later_changes(self, name: str, member: str) -> list[tuple[int, str]]:
        """(line, what) of each statement after the literal ``name = {...}`` that runs when
        the module is imported and may replace its entry for ``member``: a rebinding, an
        item set or deleted with that key (or a key that cannot be read), an ``update``."""
        if name not in self.dicts:
            return []
        statement = self.dicts[name][0]
        found: list[tuple[int, str]] = []
        stack = [s.node for s in self.statements[statement.index + 1 :]]
        while stack:
            node = stack.pop(0)
            if isinstance(node, (ast.If, ast.For, ast.While, ast.With, ast.Try)):
                handlers = [s for h in getattr(node, "handlers", []) for s in h.body]
                stack[:0] = [
                    *node.body,
                    *getattr(node, "orelse", []),
                    *handlers,
                    *getattr(node, "finalbody", []),
                ]
                continue
            what = _change_of(node, name, member)
            if what:
                found.append((node.lineno, what))
        return found

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
