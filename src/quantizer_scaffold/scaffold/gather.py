"""Reading the registry: one libcst parse per file, one pass over its module-level statements.

``gather_enum`` and ``gather_dispatcher`` turn the two registry files into plain models (the
enum's members, each dictionary's entries, the names the imports bind) that the writers in
:mod:`.codemods` and the layout rules in :mod:`.layout` consult. Only module-level
statements count: a same-named dict inside a function or a nested ``class TrainingMethod``
is someone else's code and is never read or edited. Plain ``isinstance`` checks instead of
``libcst.matchers``: importing the matchers alone costs about 0.2 s per CLI call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

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
        return code(element.key.value)
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


# --------------------------------------------------------------------------- imports


def import_source(node: cst.ImportFrom) -> str | None:
    if node.relative or node.module is None:
        return None
    return code(node.module)


def top_level_imports(module: cst.Module) -> list[tuple[int, cst.Import | cst.ImportFrom]]:
    """Every import statement at the top level or inside a top-level ``try``/``if`` block,
    with the index of the top-level statement that holds it."""
    found: list[tuple[int, cst.Import | cst.ImportFrom]] = []

    def scan(index: int, statements: Sequence[cst.CSTNode]) -> None:
        for statement in statements:
            if isinstance(statement, cst.SimpleStatementLine):
                found.extend(
                    (index, small)
                    for small in statement.body
                    if isinstance(small, (cst.Import, cst.ImportFrom))
                )
            elif isinstance(statement, (cst.Try, cst.If)):
                for block in _blocks(statement):
                    scan(index, block)

    for index, statement in enumerate(module.body):
        scan(index, [statement])
    return found


def _blocks(statement: cst.Try | cst.If) -> list[Sequence[cst.CSTNode]]:
    blocks: list[Sequence[cst.CSTNode]] = []
    suites: list[cst.CSTNode | None] = [statement.body]
    if isinstance(statement, cst.Try):
        suites += [handler.body for handler in statement.handlers]
        suites += [statement.orelse.body if statement.orelse else None]
        suites += [statement.finalbody.body if statement.finalbody else None]
    else:
        orelse = statement.orelse
        suites.append(orelse.body if isinstance(orelse, cst.Else) else orelse)
    for suite in suites:
        if isinstance(suite, cst.If):
            blocks.append([suite])
        elif isinstance(suite, cst.IndentedBlock):
            blocks.append(suite.body)
        elif isinstance(suite, cst.SimpleStatementSuite):
            blocks.append([cst.SimpleStatementLine(body=suite.body)])
    return blocks


def bound_names(imports: Sequence[tuple[int, cst.Import | cst.ImportFrom]]) -> dict[str, str]:
    """Name bound by an import -> what it refers to (``pkg.module.Name`` or ``pkg.module``)."""
    names: dict[str, str] = {}
    for _, node in imports:
        if isinstance(node, cst.ImportFrom):
            source = import_source(node)
            if source is None or isinstance(node.names, cst.ImportStar):
                continue
            for alias in node.names:
                bound = alias.evaluated_alias or alias.evaluated_name
                names[bound] = f"{source}.{alias.evaluated_name}"
        else:
            for alias in node.names:
                bound = alias.evaluated_alias or alias.evaluated_name.split(".")[0]
                names[bound] = alias.evaluated_name if alias.evaluated_alias else bound
    return names


@dataclass(frozen=True)
class DispatcherModel:
    """The dispatcher file: its dictionaries, its imports and the names they bind."""

    dicts: dict[str, DictModel]  # only the dictionaries that exist
    imports: list[tuple[int, cst.Import | cst.ImportFrom]]
    bound: dict[str, str] = field(default_factory=dict)

    def entry_prefix(self, enum_class: str, label: str) -> str:
        """How the file writes enum keys (``TrainingMethod``, or an alias)."""
        for model in self.dicts.values():
            for element in model.node.elements:
                prefix = key_prefix(element)
                if prefix is not None:
                    return prefix
        return self._imported(enum_class, label)

    def inner_prefix(self, label: str) -> str:
        """How the file writes grid keys: ``qi.QuantizationMethod`` or ``QuantizationMethod``."""
        for model in self.dicts.values():
            for element in model.node.elements:
                value = getattr(element, "value", None)
                if isinstance(value, cst.Dict):
                    for inner in value.elements:
                        prefix = key_prefix(inner)
                        if prefix is not None:
                            return prefix
        for name, source in self.bound.items():
            if source.endswith("quantizers_infrastructure"):
                return f"{name}.QuantizationMethod"
        return self._imported("QuantizationMethod", label)

    def _imported(self, wanted: str, label: str) -> str:
        for name, source in self.bound.items():
            if source.rsplit(".", 1)[-1] == wanted:
                return name
        raise RegistryError(
            f"{label} does not import {wanted}; add the import so new entries can refer to it"
        )


def gather_dispatcher(module: cst.Module, dict_names: Sequence[str]) -> DispatcherModel:
    dicts = {}
    for name in dict_names:
        model = gather_dict(module, name)
        if model is not None:
            dicts[name] = model
    imports = top_level_imports(module)
    return DispatcherModel(dicts, imports, bound_names(imports))
