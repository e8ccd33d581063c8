"""libcst codemods that edit the registry in place, keeping every byte they do not need to change.

Each transformer does one thing and has an exact inverse, so ``remove`` after ``scaffold`` gives
back the original bytes even when the user edited other parts of the file in between:

- ``AddEnumMember`` / ``RemoveEnumMember``: a member after the last member of an Enum class.
- ``AddDictEntry`` / ``RemoveDictEntries``: an entry at the end of a module-level dict
  (``X = {...}`` or ``X: Dict[...] = {...}``), or inside the dict that an entry maps to.
- ``AddImport`` / ``RemoveImport``: ``from module import Name`` at its sorted place among the
  module's top-level imports.

Whitespace model (the reason libcst issue 1377 does not bite here): in a multi-line dict, the
comment and newline after the *last* element live in the closing brace's ``whitespace_before``.
Appending moves them onto the old last element's comma and gives the new element a clean line;
removing the last element moves them back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst
import libcst.matchers as m

from .errors import RegistryError


def parse_module(text: str, label: str) -> cst.Module:
    """Parse ``text``; a syntax error becomes a RegistryError naming ``label``."""
    try:
        return cst.parse_module(text)
    except cst.ParserSyntaxError as error:
        raise RegistryError(
            f"{label} has a syntax error at line {error.raw_line}: {error.message}; fix it first"
        ) from None


# --------------------------------------------------------------------------- enum members


def _member_assign(statement: cst.CSTNode) -> cst.Assign | None:
    """The ``NAME = value`` of an enum member statement, or None for anything else."""
    if not m.matches(
        statement, m.SimpleStatementLine(body=[m.Assign(targets=[m.AssignTarget(m.Name())])])
    ):
        return None
    assign = statement.body[0]  # type: ignore[attr-defined]
    name = assign.targets[0].target.value
    if name.startswith("_"):
        return None
    return assign


def find_class(module: cst.Module, name: str) -> cst.ClassDef | None:
    for statement in module.body:
        if m.matches(statement, m.ClassDef(name=m.Name(name))):
            return statement  # type: ignore[return-value]
    return None


def enum_members(class_def: cst.ClassDef) -> dict[str, cst.BaseExpression]:
    """Member name -> value expression, in order."""
    members: dict[str, cst.BaseExpression] = {}
    body = class_def.body
    if isinstance(body, cst.IndentedBlock):
        for statement in body.body:
            assign = _member_assign(statement)
            if assign is not None:
                members[assign.targets[0].target.value] = assign.value  # type: ignore[attr-defined]
    return members


def _next_value(class_name: str, members: dict[str, cst.BaseExpression]) -> str:
    """``auto()`` if the enum uses it, else the next integer after the largest one."""
    for value in members.values():
        if m.matches(value, m.Call(func=m.Name("auto") | m.Attribute(attr=m.Name("auto")))):
            return cst.Module([]).code_for_node(value.func) + "()"  # type: ignore[attr-defined]
    for name, value in members.items():
        if isinstance(value, cst.Tuple):
            raise RegistryError(
                f"{class_name}.{name} has a tuple value (a trailing comma after the value); "
                f"remove the comma so it is an integer"
            )
    numbers = [int(v.value, 0) for v in members.values() if isinstance(v, cst.Integer)]
    if len(numbers) != len(members):
        raise RegistryError(
            f"{class_name} has members whose values are not integers or auto(); "
            "cannot choose the next value"
        )
    return str(max(numbers) + 1 if numbers else 0)


class AddEnumMember(cst.CSTTransformer):
    """Append ``member = <next value>`` after the last member of the Enum ``class_name``."""

    def __init__(self, class_name: str, member: str) -> None:
        self.class_name = class_name
        self.member = member
        self.found = False
        self.value = ""

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        if original.name.value != self.class_name or not isinstance(
            updated.body, cst.IndentedBlock
        ):
            return updated
        self.found = True
        members = enum_members(updated)
        if self.member in members:
            return updated
        self.value = _next_value(self.class_name, members)
        statements = list(updated.body.body)
        last = max(
            (i for i, s in enumerate(statements) if _member_assign(s) is not None), default=None
        )
        if last is None:  # no member yet: after the docstring, if any
            last = (
                0
                if statements
                and m.matches(
                    statements[0],
                    m.SimpleStatementLine(body=[m.Expr(m.SimpleString() | m.ConcatenatedString())]),
                )
                else -1
            )
        new = cst.parse_statement(f"{self.member} = {self.value}\n")
        statements.insert(last + 1, new)
        return updated.with_changes(body=updated.body.with_changes(body=statements))


class RemoveEnumMember(cst.CSTTransformer):
    """Delete the member statement ``member`` of the Enum ``class_name``."""

    def __init__(self, class_name: str, member: str) -> None:
        self.class_name = class_name
        self.member = member
        self.removed = False

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        if original.name.value != self.class_name or not isinstance(
            updated.body, cst.IndentedBlock
        ):
            return updated
        statements = list(updated.body.body)
        for index, statement in enumerate(statements):
            assign = _member_assign(statement)
            if assign is not None and assign.targets[0].target.value == self.member:  # type: ignore[attr-defined]
                if len(statements) == 1:
                    raise RegistryError(
                        f"removing {self.member} would leave {self.class_name} empty"
                    )
                _drop_statement(statements, index)
                self.removed = True
                break
        return updated.with_changes(body=updated.body.with_changes(body=statements))


def _drop_statement(statements: list[cst.BaseStatement], index: int) -> None:
    """Remove ``statements[index]``, handing its leading comments/blank lines to the next one."""
    removed = statements.pop(index)
    leading = list(getattr(removed, "leading_lines", ()))
    if leading and index < len(statements):
        following = statements[index]
        statements[index] = following.with_changes(
            leading_lines=[*leading, *following.leading_lines]  # type: ignore[attr-defined]
        )


# --------------------------------------------------------------------------- dicts


def dict_key_attr(element: cst.BaseDictElement) -> str | None:
    """``X`` for an entry whose key is ``<anything>.X``; None otherwise."""
    if isinstance(element, cst.DictElement) and isinstance(element.key, cst.Attribute):
        return element.key.attr.value
    return None


def dict_key_prefix(element: cst.BaseDictElement) -> str | None:
    """The code before the last ``.`` of an attribute key (``qi.QuantizationMethod``)."""
    if isinstance(element, cst.DictElement) and isinstance(element.key, cst.Attribute):
        return cst.Module([]).code_for_node(element.key.value)
    return None


def _is_multiline(node: cst.Dict) -> bool:
    return isinstance(node.rbrace.whitespace_before, cst.ParenthesizedWhitespace) or isinstance(
        node.lbrace.whitespace_after, cst.ParenthesizedWhitespace
    )


def element_indent(node: cst.Dict, outer_indent: str, unit: str) -> str:
    """The indentation of the entries of a multi-line dict (what the file already uses)."""
    opening = node.lbrace.whitespace_after
    if not node.elements and isinstance(opening, cst.ParenthesizedWhitespace):
        return opening.last_line.value + unit  # an empty ``{`` newline ``}``: inside ``}``
    candidates = [node.lbrace.whitespace_after] + [
        e.comma.whitespace_after for e in node.elements if isinstance(e.comma, cst.Comma)
    ]
    for whitespace in candidates:
        if isinstance(whitespace, cst.ParenthesizedWhitespace):
            return whitespace.last_line.value
    return outer_indent + unit


def append_entry(
    node: cst.Dict, key: str, value: cst.BaseExpression, unit: str = "    "
) -> cst.Dict:
    """``node`` with ``key: value`` appended, comments and comma style preserved."""
    entry = cst.DictElement(key=cst.parse_expression(key), value=value)
    elements = list(node.elements)
    opening = node.lbrace.whitespace_after
    if not elements and isinstance(opening, cst.ParenthesizedWhitespace):
        # ``{  # note`` / comment lines / ``}``: the comments stay after ``{``, the entry
        # goes below them, and ``}`` keeps its own indentation on the next line.
        return node.with_changes(
            lbrace=node.lbrace.with_changes(
                whitespace_after=opening.with_changes(
                    last_line=cst.SimpleWhitespace(opening.last_line.value + unit)
                )
            ),
            elements=[entry.with_changes(comma=cst.Comma())],
            rbrace=node.rbrace.with_changes(whitespace_before=_newline(opening.last_line.value)),
        )
    if not elements:
        return node.with_changes(
            lbrace=cst.LeftCurlyBrace(
                whitespace_after=_newline(element_indent(node, "", "    "))
                if not isinstance(node.lbrace.whitespace_after, cst.ParenthesizedWhitespace)
                else node.lbrace.whitespace_after
            ),
            elements=[entry.with_changes(comma=cst.Comma())],
            rbrace=cst.RightCurlyBrace(whitespace_before=_newline(""))
            if not isinstance(node.rbrace.whitespace_before, cst.ParenthesizedWhitespace)
            else node.rbrace,
        )
    last = elements[-1]
    closing = node.rbrace.whitespace_before
    if isinstance(closing, cst.ParenthesizedWhitespace):
        indent = element_indent(node, "", "    ")
        had_comma = isinstance(last.comma, cst.Comma)
        before = last.comma.whitespace_before if isinstance(last.comma, cst.Comma) else None
        elements[-1] = last.with_changes(
            comma=cst.Comma(
                whitespace_before=before or cst.SimpleWhitespace(""),
                whitespace_after=closing.with_changes(
                    empty_lines=[], last_line=cst.SimpleWhitespace(indent)
                ),
            )
        )
        elements.append(
            entry.with_changes(comma=cst.Comma() if had_comma else cst.MaybeSentinel.DEFAULT)
        )
        return node.with_changes(
            elements=elements,
            rbrace=node.rbrace.with_changes(
                whitespace_before=closing.with_changes(first_line=cst.TrailingWhitespace())
            ),
        )
    before = last.comma.whitespace_before if isinstance(last.comma, cst.Comma) else None
    elements[-1] = last.with_changes(
        comma=cst.Comma(
            whitespace_before=before or cst.SimpleWhitespace(""),
            whitespace_after=cst.SimpleWhitespace(" "),
        )
    )
    elements.append(entry.with_changes(comma=last.comma))
    return node.with_changes(elements=elements)


def remove_entry(node: cst.Dict, index: int) -> cst.Dict:
    """``node`` without ``elements[index]``: the exact inverse of :func:`append_entry`."""
    elements = list(node.elements)
    removed = elements.pop(index)
    if not elements:
        return _emptied(node)
    if index < len(elements):  # not the last: its own comma and comment go with it
        return node.with_changes(elements=elements)
    last = elements[-1]
    own = last.comma
    closing = node.rbrace.whitespace_before
    if isinstance(closing, cst.ParenthesizedWhitespace) and isinstance(own, cst.Comma):
        between = own.whitespace_after
        if isinstance(between, cst.ParenthesizedWhitespace):
            closing = closing.with_changes(
                first_line=between.first_line,
                empty_lines=[*between.empty_lines, *closing.empty_lines],
            )
        comma: cst.Comma | cst.MaybeSentinel = (
            own.with_changes(whitespace_after=cst.SimpleWhitespace(""))
            if isinstance(removed.comma, cst.Comma)
            else cst.MaybeSentinel.DEFAULT
        )
        elements[-1] = last.with_changes(comma=comma)
        return node.with_changes(
            elements=elements, rbrace=node.rbrace.with_changes(whitespace_before=closing)
        )
    elements[-1] = last.with_changes(comma=removed.comma)
    return node.with_changes(elements=elements)


def _emptied(node: cst.Dict) -> cst.Dict:
    """``node`` without elements: ``{}``, or the comments it kept after ``{`` and ``}`` below.

    The inverse of appending to an empty dict. A comment-free ``{`` newline ``}`` comes back
    as ``{}``: its text after an append is the same as that of ``{}`` after an append.
    """
    opening = node.lbrace.whitespace_after
    closing = node.rbrace.whitespace_before
    if not isinstance(opening, cst.ParenthesizedWhitespace) or not (
        opening.first_line.comment or opening.empty_lines
    ):
        return node.with_changes(
            lbrace=cst.LeftCurlyBrace(), elements=[], rbrace=cst.RightCurlyBrace()
        )
    indent = closing.last_line if isinstance(closing, cst.ParenthesizedWhitespace) else ""
    return node.with_changes(
        lbrace=node.lbrace.with_changes(
            whitespace_after=opening.with_changes(
                last_line=cst.SimpleWhitespace(indent.value if indent else "")
            )
        ),
        elements=[],
        rbrace=node.rbrace.with_changes(whitespace_before=cst.SimpleWhitespace("")),
    )


def _newline(indent: str) -> cst.ParenthesizedWhitespace:
    return cst.ParenthesizedWhitespace(
        first_line=cst.TrailingWhitespace(), indent=True, last_line=cst.SimpleWhitespace(indent)
    )


def inner_dict(
    entries: Sequence[tuple[str, str]], multiline: bool, indent: str, unit: str
) -> cst.Dict:
    """A new ``{key: value, ...}``; multi-line (one entry per line) when its parent is."""
    if multiline:
        lines = "".join(f"{indent}{unit}{k}: {v},\n" for k, v in entries)
        code = "{\n" + lines + indent + "}"
    else:
        code = "{" + ", ".join(f"{k}: {v}" for k, v in entries) + "}"
    return cst.parse_expression(code)  # type: ignore[return-value]


def _module_dict_assignment(statement: cst.CSTNode, name: str) -> bool:
    return m.matches(
        statement,
        m.SimpleStatementLine(
            body=[
                m.Assign(targets=[m.AssignTarget(m.Name(name))], value=m.Dict())
                | m.AnnAssign(target=m.Name(name), value=m.Dict())
            ]
        ),
    )


def find_dict(module: cst.Module, name: str) -> cst.Dict | None:
    """The literal assigned to the module-level ``name``, or None."""
    for statement in module.body:
        if _module_dict_assignment(statement, name):
            return statement.body[0].value  # type: ignore[attr-defined,return-value]
    return None


@dataclass(frozen=True)
class EntryChange:
    """What :class:`AddDictEntry` did: created the outer entry, added inner keys."""

    created_entry: bool
    added_keys: tuple[str, ...]
    replaced_keys: tuple[str, ...]


class AddDictEntry(cst.CSTTransformer):
    """Map ``<key_prefix>.<member>`` to ``{<inner_prefix>.<KEY>: <value>}`` in dict ``dict_name``.

    An existing entry for ``member`` gains the missing inner keys. An inner key that maps to a
    different value is a conflict unless it is listed in ``replaceable``.
    """

    def __init__(
        self,
        dict_name: str,
        key_prefix: str,
        member: str,
        inner_prefix: str,
        inner: Sequence[tuple[str, str]],
        replaceable: Sequence[str] = (),
        label: str = "",
        unit: str = "    ",
    ) -> None:
        self.dict_name = dict_name
        self.key_prefix = key_prefix
        self.member = member
        self.inner_prefix = inner_prefix
        self.inner = list(inner)
        self.replaceable = set(replaceable)
        self.label = label
        self.unit = unit
        self.change: EntryChange | None = None

    def leave_SimpleStatementLine(
        self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine:
        if not _module_dict_assignment(updated, self.dict_name):
            return updated
        statement = updated.body[0]
        outer: cst.Dict = statement.value  # type: ignore[attr-defined,assignment]
        return updated.with_changes(body=[statement.with_changes(value=self._update(outer))])

    def _update(self, outer: cst.Dict) -> cst.Dict:
        multiline = _is_multiline(outer) or not outer.elements
        indent = element_indent(outer, "", self.unit)
        for index, element in enumerate(outer.elements):
            if dict_key_attr(element) != self.member:
                continue
            value = element.value  # type: ignore[attr-defined]
            if not isinstance(value, cst.Dict):
                raise RegistryError(
                    f"{self.label}: {self.dict_name}[{self.key_prefix}.{self.member}] is not a "
                    "dict literal; make it {QuantizationMethod.X: Class} and run again"
                )
            updated, added, replaced = self._extend(value)
            self.change = EntryChange(False, added, replaced)
            elements = list(outer.elements)
            elements[index] = element.with_changes(value=updated)  # type: ignore[call-arg]
            return outer.with_changes(elements=elements)
        value = inner_dict(
            [(f"{self.inner_prefix}.{k}", v) for k, v in self.inner], multiline, indent, self.unit
        )
        self.change = EntryChange(True, tuple(k for k, _ in self.inner), ())
        return append_entry(outer, f"{self.key_prefix}.{self.member}", value, self.unit)

    def _extend(self, node: cst.Dict) -> tuple[cst.Dict, tuple[str, ...], tuple[str, ...]]:
        added: list[str] = []
        replaced: list[str] = []
        for key, value in self.inner:
            index = next((i for i, e in enumerate(node.elements) if dict_key_attr(e) == key), None)
            if index is None:
                node = append_entry(node, f"{self.inner_prefix}.{key}", cst.parse_expression(value))
                added.append(key)
                continue
            element = node.elements[index]
            current = cst.Module([]).code_for_node(element.value)  # type: ignore[attr-defined]
            if current == value:
                continue
            if key not in self.replaceable:
                raise RegistryError(
                    f"{self.label}: {self.dict_name} already maps {self.member} / {key} to "
                    f"{current}, which scaffold-quantizer did not register; remove that entry "
                    "or choose another --method"
                )
            elements = list(node.elements)
            elements[index] = element.with_changes(value=cst.parse_expression(value))  # type: ignore[call-arg]
            node = node.with_changes(elements=elements)
            replaced.append(key)
        return node, tuple(added), tuple(replaced)


class RemoveDictEntries(cst.CSTTransformer):
    """In dict ``dict_name``, drop the inner keys of ``member`` whose value is ``value``.

    The entry for ``member`` goes too when nothing is left in it.
    """

    def __init__(self, dict_name: str, member: str, value: str) -> None:
        self.dict_name = dict_name
        self.member = member
        self.value = value
        self.removed_keys: list[str] = []
        self.removed_entry = False

    def leave_SimpleStatementLine(
        self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine:
        if not _module_dict_assignment(updated, self.dict_name):
            return updated
        statement = updated.body[0]
        outer: cst.Dict = statement.value  # type: ignore[attr-defined,assignment]
        for index, element in enumerate(outer.elements):
            if dict_key_attr(element) != self.member or not isinstance(element.value, cst.Dict):  # type: ignore[attr-defined]
                continue
            inner: cst.Dict = element.value  # type: ignore[attr-defined]
            for inner_index in reversed(range(len(inner.elements))):
                entry = inner.elements[inner_index]
                code = cst.Module([]).code_for_node(entry.value)  # type: ignore[attr-defined]
                if code == self.value:
                    self.removed_keys.append(dict_key_attr(entry) or "")
                    inner = remove_entry(inner, inner_index)
            if inner.elements:
                elements = list(outer.elements)
                elements[index] = element.with_changes(value=inner)  # type: ignore[call-arg]
                outer = outer.with_changes(elements=elements)
            elif self.removed_keys:
                outer = remove_entry(outer, index)
                self.removed_entry = True
            break
        return updated.with_changes(body=[statement.with_changes(value=outer)])


# --------------------------------------------------------------------------- imports


def _import_module_name(node: cst.ImportFrom) -> str | None:
    if node.relative or node.module is None:
        return None
    return cst.Module([]).code_for_node(node.module)


def imported_names(module: cst.Module) -> dict[str, str]:
    """Every name bound by a ``from x import y [as z]`` anywhere in ``module``: name -> x."""
    names: dict[str, str] = {}
    for node in m.findall(module, m.ImportFrom()):
        assert isinstance(node, cst.ImportFrom)
        source = _import_module_name(node)
        if source is None or isinstance(node.names, cst.ImportStar):
            continue
        for alias in node.names:
            bound = alias.evaluated_alias or alias.evaluated_name
            names[bound] = f"{source}.{alias.evaluated_name}"
    for node in m.findall(module, m.Import()):
        assert isinstance(node, cst.Import)
        for alias in node.names:
            bound = alias.evaluated_alias or alias.evaluated_name.split(".")[0]
            names[bound] = alias.evaluated_name if alias.evaluated_alias else bound
    return names


def import_statement(source: str, name: str, line_length: int) -> cst.SimpleStatementLine:
    """``from source import name``, wrapped the way ruff format wraps it when it is too long.

    A module path longer than the line cannot be wrapped: that line says so with ``noqa``.
    """
    code = f"from {source} import {name}\n"
    if len(code) - 1 > line_length:
        opening = f"from {source} import ("
        if len(opening) > line_length:
            opening += "  # noqa: E501"
        code = f"{opening}\n    {name},\n)\n"
    return cst.parse_statement(code)  # type: ignore[return-value]


def _is_top_import(statement: cst.CSTNode) -> bool:
    return m.matches(statement, m.SimpleStatementLine(body=[m.ImportFrom() | m.Import()]))


class AddImport(cst.CSTTransformer):
    """Add ``from source import name`` once, in sorted order among the top-level imports."""

    def __init__(self, source: str, name: str, line_length: int = 88) -> None:
        self.source = source
        self.name = name
        self.line_length = line_length
        self.added = False

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        bound = imported_names(updated)
        if bound.get(self.name) == f"{self.source}.{self.name}":
            return updated
        if self.name in bound:
            raise RegistryError(
                f"the registry already imports {self.name} from {bound[self.name]}; "
                "choose another --method"
            )
        statements = list(updated.body)
        new = import_statement(self.source, self.name, self.line_length)
        index = self._position(statements)
        if index < len(statements) and index > 0 and _is_top_import(statements[index]):
            following = statements[index]
            leading = list(following.leading_lines)  # type: ignore[attr-defined]
            blank = 0
            while blank < len(leading) and leading[blank].comment is None:
                blank += 1
            new = new.with_changes(leading_lines=leading[:blank])
            statements[index] = following.with_changes(leading_lines=leading[blank:])
        statements.insert(index, new)
        self.added = True
        return updated.with_changes(body=statements)

    def _position(self, statements: list[cst.BaseStatement]) -> int:
        top = self.source.split(".")[0]
        ours = self.source.lower()
        same_package = []
        imports = []
        for index, statement in enumerate(statements):
            if isinstance(statement, (cst.Try, cst.If)) and m.findall(
                statement, m.Import() | m.ImportFrom()
            ):
                imports.append(index)  # imports guarded by try/if: ours goes after them
            if not _is_top_import(statement):
                continue
            imports.append(index)
            node = statement.body[0]  # type: ignore[attr-defined]
            if isinstance(node, cst.ImportFrom):
                source = _import_module_name(node)
                if source is not None and source.split(".")[0] == top:
                    same_package.append((index, source.lower()))
        for index, source in same_package:
            if source > ours:
                return index
        if same_package:
            return same_package[-1][0] + 1
        if imports:
            return imports[-1] + 1
        docstring = statements and m.matches(
            statements[0], m.SimpleStatementLine(body=[m.Expr(m.SimpleString())])
        )
        return 1 if docstring else 0


class RemoveImport(cst.CSTTransformer):
    """Remove ``from source import name`` (only that name) if the module no longer uses it."""

    def __init__(self, source: str, name: str) -> None:
        self.source = source
        self.name = name
        self.removed = False

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        uses = [n for n in m.findall(updated, m.Name(self.name))]
        imports = [
            s
            for s in m.findall(updated, m.ImportFrom())
            if _import_module_name(s) == self.source  # type: ignore[arg-type]
        ]
        aliases = sum(
            1
            for s in imports
            if not isinstance(s.names, cst.ImportStar)  # type: ignore[attr-defined]
            for a in s.names  # type: ignore[attr-defined]
            if a.evaluated_name == self.name and a.asname is None
        )
        if not aliases or len(uses) > aliases:
            return updated
        statements = list(updated.body)
        for index, statement in enumerate(statements):
            if not m.matches(statement, m.SimpleStatementLine(body=[m.ImportFrom()])):
                continue
            node: cst.ImportFrom = statement.body[0]  # type: ignore[attr-defined]
            if _import_module_name(node) != self.source or isinstance(node.names, cst.ImportStar):
                continue
            names = [a for a in node.names if a.evaluated_name != self.name or a.asname]
            if len(names) == len(node.names):
                continue
            if names:
                last = names[-1]
                if not isinstance(node.names[-1].comma, cst.Comma) or node.rpar is None:
                    names[-1] = last.with_changes(comma=cst.MaybeSentinel.DEFAULT)
                statements[index] = statement.with_changes(body=[node.with_changes(names=names)])
            else:
                _drop_statement(statements, index)  # type: ignore[arg-type]
            self.removed = True
            break
        return updated.with_changes(body=statements)
