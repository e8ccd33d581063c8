"""Writing the registry: small libcst transformers, each adding or removing one thing.

They work on what :mod:`.gather` read (the node to change is known before they run) and
follow the file's own layout (:mod:`.layout`). Each has an exact inverse, so ``remove``
after ``scaffold`` gives back the original bytes even when the user edited other parts of
the file in between:

- ``AddEnumMember`` / ``RemoveEnumMember``: a member after the last member of the enum.
- ``AddDictEntry`` / ``RemoveDictEntries``: an entry at the end of a dispatcher dict, or
  keys inside the dict that an entry maps to (``ExtendDictEntry``).
- ``import_insertion`` / ``import_removal``: ``from module import Name`` at its sorted
  place among the top-level imports, and out again (by lines: no parse needed).

Every transformer visits the module's own statements only (``TopLevelTransformer``): nested
code is never reached. The dict writers run on the one statement they change, parsed on its
own (:class:`.gather.DispatcherFile`), so a 1000-entry dispatcher is never parsed whole.

Whitespace model (why libcst issue 1377 does not bite here): in an exploded dict, the
comment and newline after the *last* element live in the closing brace's
``whitespace_before``. Appending moves them onto the old last element's comma and gives the
new element a clean line; removing the last element moves them back.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

import libcst as cst

from . import layout
from .errors import RegistryError
from .gather import (
    DictModel,
    DispatcherFile,
    EnumModel,
    code,
    import_source,
    is_docstring,
    key_attr,
    member_assign,
)
from .layout import NO_COMMA, ImportStyle, InnerShape


class TopLevelTransformer(cst.CSTTransformer):
    """A transformer that sees the module and its own statements, never what is inside them."""

    def on_visit(self, node: cst.CSTNode) -> bool:
        return isinstance(node, cst.Module)


# --------------------------------------------------------------------------- enum members


def next_value(enum: EnumModel) -> str:
    """``auto()`` if the enum uses it; in a ``Flag`` enum the lowest bit no member uses;
    else the next integer after the largest value. Spelt like the last member's value."""
    for value in enum.members.values():
        if isinstance(value, cst.Call):
            func = value.func
            name = (
                func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "")
            )
            if name == "auto":
                return code(func) + "()"
    for name, value in enum.members.items():
        if isinstance(value, cst.Tuple):
            raise RegistryError(
                f"{enum.name}.{name} has a tuple value (a trailing comma after the value); "
                f"remove the comma so it is an integer"
            )
    values = enum.values()
    if values is None:
        raise RegistryError(
            f"{enum.name} has members whose values are not integers or auto(); "
            "cannot choose the next value"
        )
    last = list(enum.members.values())[-1] if enum.members else None
    if enum.flag:  # a new bit: a value that overlaps others would be their combination
        used = 0
        for number in values.values():
            used |= max(number, 0)
        bit = used.bit_length()
        if isinstance(last, cst.BinaryOperation) and isinstance(last.operator, cst.LeftShift):
            return f"1 << {bit}"
        return hex(1 << bit) if _is_hex(last) else str(1 << bit)
    number = max(values.values()) + 1 if values else 0
    return str(number)


def _is_hex(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Integer) and node.value.lower().startswith("0x")


class AddEnumMember(TopLevelTransformer):
    """Add ``member = value`` after the last member (and its attribute docstring, if any),
    spelt like that member (``X: int = 1`` after an annotated one), else after the docstring."""

    def __init__(self, enum: EnumModel, member: str, value: str) -> None:
        self.enum = enum
        self.member = member
        self.value = value

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        if original is not self.enum.node:
            return updated
        statements = list(self.enum.statements)
        if self.enum.positions:
            index = self.enum.insertion_index()
            neighbour = self.enum.nodes[list(self.enum.members)[-1]]
            value = cst.parse_expression(self.value)
            small: cst.BaseSmallStatement
            if isinstance(neighbour, cst.AnnAssign):
                small = neighbour.with_changes(
                    target=cst.Name(self.member), value=value, semicolon=cst.MaybeSentinel.DEFAULT
                )
            else:
                # "=" signs aligned in a column stay aligned; otherwise the neighbour's spacing
                target = neighbour.targets[0]
                column = _aligned_column(self.enum)
                before = target.whitespace_before_equal
                if column is not None:
                    before = cst.SimpleWhitespace(" " * max(1, column - len(self.member)))
                small = cst.Assign(
                    targets=[
                        target.with_changes(
                            target=cst.Name(self.member), whitespace_before_equal=before
                        )
                    ],
                    value=value,
                )
            new = cst.SimpleStatementLine(body=[small])
        else:
            index = 1 if statements and is_docstring(statements[0]) else 0
            new = cst.parse_statement(f"{self.member} = {self.value}\n")  # type: ignore[assignment]
            if index == 1:  # a blank line after the class docstring, as ruff format wants
                new = new.with_changes(leading_lines=[cst.EmptyLine(indent=False)])
        statements.insert(index, new)
        return updated.with_changes(body=updated.body.with_changes(body=statements))


def _aligned_column(enum: EnumModel) -> int | None:
    """The column of the members' "=" when they are padded to line it up, else None."""
    columns = set()
    padded = False
    for index in enum.positions.values():
        assign = member_assign(enum.statements[index])
        if assign is None:  # annotated, or several on one line: no column to keep
            return None
        target = assign.targets[0]
        space = code(target.whitespace_before_equal)
        columns.add(len(code(target.target)) + len(space))
        padded |= len(space) > 1
    return columns.pop() if padded and len(columns) == 1 and len(enum.positions) > 1 else None


class RemoveEnumMember(TopLevelTransformer):
    """Delete ``member`` from the enum: its statement, or its part of a ``;``-joined line."""

    def __init__(self, enum: EnumModel, member: str) -> None:
        self.enum = enum
        self.member = member

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        if original is not self.enum.node or self.member not in self.enum.positions:
            return updated
        statements = list(self.enum.statements)
        index = self.enum.positions[self.member]
        line = statements[index]
        if isinstance(line, cst.SimpleStatementLine) and len(line.body) > 1:
            removed = self.enum.nodes[self.member]
            body = [b for b in line.body if b is not removed]
            if line.body[-1] is removed:  # the one before it ends the line now
                body[-1] = body[-1].with_changes(semicolon=removed.semicolon)
            statements[index] = line.with_changes(body=body)
            return updated.with_changes(body=updated.body.with_changes(body=statements))
        if len(statements) == 1:
            raise RegistryError(f"removing {self.member} would leave {self.enum.name} empty")
        after_docstring = index == 1 and is_docstring(statements[0])
        drop_statement(statements, index, blank_lines=not after_docstring)
        return updated.with_changes(body=updated.body.with_changes(body=statements))


def drop_statement(
    statements: list[cst.BaseStatement], index: int, blank_lines: bool = True
) -> None:
    """Remove ``statements[index]``, handing the lines above it to the next statement.

    ``blank_lines=False`` hands over comment lines only: for a statement that was inserted
    with a blank line of its own (an enum's first member after the docstring).
    """
    removed = statements.pop(index)
    leading = [
        line
        for line in getattr(removed, "leading_lines", ())
        if blank_lines or line.comment is not None
    ]
    if leading and index < len(statements):
        following = statements[index]
        statements[index] = following.with_changes(
            leading_lines=[*leading, *following.leading_lines]  # type: ignore[attr-defined]
        )


# --------------------------------------------------------------------------- dict entries


def append_element(
    node: cst.Dict, element: cst.DictElement, first_key_column: int, line_length: int
) -> cst.Dict:
    """``node`` with ``element`` appended in the dict's own layout (see :mod:`.layout`)."""
    elements = list(node.elements)
    opening = node.lbrace.whitespace_after
    if not elements:
        if isinstance(opening, cst.ParenthesizedWhitespace):
            # ``{  # note`` / comment lines / ``}``: the comments stay after ``{``, the entry
            # goes below them, and ``}`` keeps its own indentation on the next line.
            indent = opening.last_line.value + "    "
            return node.with_changes(
                lbrace=node.lbrace.with_changes(
                    whitespace_after=opening.with_changes(last_line=cst.SimpleWhitespace(indent))
                ),
                elements=[element.with_changes(comma=cst.Comma())],
                rbrace=node.rbrace.with_changes(
                    whitespace_before=layout.newline(opening.last_line.value)
                ),
            )
        return node.with_changes(elements=[element.with_changes(comma=NO_COMMA)])
    last = elements[-1]
    closing = node.rbrace.whitespace_before
    before = last.comma.whitespace_before if isinstance(last.comma, cst.Comma) else None
    if isinstance(closing, cst.ParenthesizedWhitespace):  # exploded: a line of its own
        had_comma = isinstance(last.comma, cst.Comma)
        elements[-1] = last.with_changes(
            comma=cst.Comma(
                whitespace_before=before or cst.SimpleWhitespace(""),
                whitespace_after=closing.with_changes(
                    empty_lines=[],
                    last_line=cst.SimpleWhitespace(layout.element_indent(node) or "    "),
                ),
            )
        )
        elements.append(element.with_changes(comma=cst.Comma() if had_comma else NO_COMMA))
        return node.with_changes(
            elements=elements,
            rbrace=node.rbrace.with_changes(
                whitespace_before=closing.with_changes(first_line=cst.TrailingWhitespace())
            ),
        )
    new_line = any(layout.is_newline(w) for w in layout.separators(node)[1:])
    if not new_line:  # one line: it stays one line while it fits
        end = layout.column_after(first_key_column, code(node.with_changes(elements=elements))[1:])
        new_line = end + 2 + len(code(element)) > line_length
    separator: cst.BaseParenthesizableWhitespace = (
        layout.newline(layout.continuation(node, first_key_column))
        if new_line
        else cst.SimpleWhitespace(" ")
    )
    elements[-1] = last.with_changes(
        comma=cst.Comma(
            whitespace_before=before or cst.SimpleWhitespace(""), whitespace_after=separator
        )
    )
    elements.append(element.with_changes(comma=last.comma))
    return node.with_changes(elements=elements)


def remove_element(node: cst.Dict, index: int) -> cst.Dict:
    """``node`` without ``elements[index]``: the exact inverse of :func:`append_element`.

    Comment lines above the entry that follows the removed one stay with that entry.
    """
    elements = list(node.elements)
    removed = elements.pop(index)
    if not elements:
        return _emptied(node)
    if index < len(elements):  # not the last: its line goes, the lines above the next stay
        after = removed.comma.whitespace_after if isinstance(removed.comma, cst.Comma) else None
        if isinstance(after, cst.ParenthesizedWhitespace) and after.empty_lines:
            if index == 0:
                opening = node.lbrace.whitespace_after
                if isinstance(opening, cst.ParenthesizedWhitespace):
                    node = node.with_changes(
                        lbrace=node.lbrace.with_changes(
                            whitespace_after=opening.with_changes(
                                empty_lines=[*opening.empty_lines, *after.empty_lines]
                            )
                        )
                    )
            else:
                previous = elements[index - 1]
                lead = previous.comma.whitespace_after  # type: ignore[union-attr]
                if isinstance(lead, cst.ParenthesizedWhitespace):
                    elements[index - 1] = previous.with_changes(
                        comma=previous.comma.with_changes(  # type: ignore[union-attr]
                            whitespace_after=lead.with_changes(
                                empty_lines=[*lead.empty_lines, *after.empty_lines]
                            )
                        )
                    )
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
            else NO_COMMA
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


def _replace_value(statement: cst.SimpleStatementLine, value: cst.Dict) -> cst.SimpleStatementLine:
    return statement.with_changes(body=[statement.body[0].with_changes(value=value)])


class _DictTransformer(TopLevelTransformer):
    """Replaces the value of one gathered module-level dict statement."""

    model: DictModel

    def leave_SimpleStatementLine(
        self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine:
        if original is not self.model.statement:
            return updated
        return _replace_value(updated, self.rewrite(self.model.node))

    def rewrite(self, node: cst.Dict) -> cst.Dict:
        raise NotImplementedError


class AddDictEntry(_DictTransformer):
    """Map ``<key_prefix>.<member>`` to a new ``{<grid>: <class>, ...}`` at the dict's end.

    ``neighbours`` are dicts whose entries show the inner shape to copy (this dict first).
    """

    def __init__(
        self,
        model: DictModel,
        key: str,
        inner: Sequence[tuple[str, str]],
        neighbours: Sequence[cst.Dict],
        unit: str,
        line_length: int,
    ) -> None:
        self.model = model
        self.key = key
        self.inner = list(inner)
        self.neighbours = neighbours
        self.unit = unit
        self.line_length = line_length

    def rewrite(self, node: cst.Dict) -> cst.Dict:
        first = layout.statement_key_column(self.model.statement, node)
        outer_exploded = layout.exploded(node) or not node.elements
        sample = layout.prototype(self.neighbours)
        if outer_exploded:
            entry_indent = layout.element_indent(node) or (layout.closing_indent(node) + self.unit)
            entry_column = len(entry_indent)
        else:
            entry_indent = ""
            entry_column = first if not node.elements else len(layout.continuation(node, first))
        unit = layout.indent_unit(node, self.unit)
        if sample is not None:
            shape = InnerShape.of(sample.value)  # type: ignore[arg-type]
            before_colon = code(sample.whitespace_before_colon)
            after_colon = code(sample.whitespace_after_colon)
        else:
            shape = layout.default_inner_shape(outer_exploded, entry_indent, unit)
            before_colon, after_colon = "", " "
        element = self._element(shape, entry_column, before_colon, after_colon)
        if shape.kind == "one-line" and entry_column + len(code(element)) + 1 > self.line_length:
            wrapped = shape.wrapped(outer_exploded, entry_indent, unit)
            element = self._element(wrapped, entry_column, before_colon, after_colon)
        if not node.elements and not outer_exploded:
            return node.with_changes(elements=[element])
        if not node.elements and not isinstance(
            node.lbrace.whitespace_after, cst.ParenthesizedWhitespace
        ):
            return node.with_changes(
                lbrace=cst.LeftCurlyBrace(whitespace_after=layout.newline(entry_indent)),
                elements=[element.with_changes(comma=cst.Comma())],
                rbrace=cst.RightCurlyBrace(whitespace_before=layout.newline("")),
            )
        return append_element(node, element, first, self.line_length)

    def _element(
        self, shape: InnerShape, entry_column: int, before_colon: str, after_colon: str
    ) -> cst.DictElement:
        head = f"{self.key}{before_colon}:{after_colon}"
        value = shape.build(self.inner, entry_column + len(head) + 1)
        return cst.DictElement(
            key=cst.parse_expression(self.key),
            value=value,
            whitespace_before_colon=cst.SimpleWhitespace(before_colon),
            whitespace_after_colon=cst.SimpleWhitespace(after_colon),
        )


class ExtendDictEntry(_DictTransformer):
    """Add grid keys to the inner dict of an existing entry.

    A key that maps to another value stays as it is when the tool registered it before
    (``recorded``: its user changed it since), and is a conflict otherwise.
    """

    def __init__(
        self,
        model: DictModel,
        member: str,
        inner_prefix: str,
        inner: Sequence[tuple[str, str]],
        recorded: Sequence[str],
        label: str,
        line_length: int,
    ) -> None:
        self.model = model
        self.member = member
        self.inner_prefix = inner_prefix
        self.inner = list(inner)
        self.recorded = set(recorded)
        self.label = label
        self.line_length = line_length
        self.added: list[str] = []
        self.kept: list[tuple[str, str]] = []  # (key, the user's value)
        found = model.element(member)
        assert found is not None
        self.index, self.element = found
        if not isinstance(self.element.value, cst.Dict):
            raise RegistryError(
                f"{label}: {model.name}[...{member}] is not a dict literal; make it "
                "{QuantizationMethod.X: Class} and run again"
            )
        # decide before writing: a conflict stops the run with nothing changed
        current = {key_attr(e): code(e.value) for e in self.element.value.elements}  # type: ignore[attr-defined]
        for key, value in self.inner:
            if key not in current:
                self.added.append(key)
            elif current[key] != value:
                if key not in self.recorded:
                    raise RegistryError(
                        f"{label}: {model.name} already maps {member} / {key} to "
                        f"{current[key]}, which scaffold-quantizer did not register; remove "
                        "that entry or choose another --method"
                    )
                self.kept.append((key, current[key]))

    def rewrite(self, node: cst.Dict) -> cst.Dict:
        inner: cst.Dict = self.element.value  # type: ignore[assignment]
        values = dict(self.inner)
        first = layout.statement_key_column(self.model.statement, node)
        column = layout.inner_key_column(
            inner,
            layout.value_column(self.element, layout.element_column(node, first, self.index)),
        )
        for key in self.added:
            sample = inner.elements[0] if inner.elements else None
            new = cst.DictElement(
                key=cst.parse_expression(f"{self.inner_prefix}.{key}"),
                value=cst.parse_expression(values[key]),
                whitespace_before_colon=sample.whitespace_before_colon
                if sample
                else cst.SimpleWhitespace(""),  # type: ignore[union-attr]
                whitespace_after_colon=sample.whitespace_after_colon
                if sample
                else cst.SimpleWhitespace(" "),  # type: ignore[union-attr]
            )
            inner = append_element(inner, new, column, self.line_length)
        elements = list(node.elements)
        elements[self.index] = self.element.with_changes(value=inner)
        return node.with_changes(elements=elements)


class RemoveDictEntries(_DictTransformer):
    """Drop the grid keys of ``member`` whose value is ``value``; the entry too when emptied."""

    def __init__(self, model: DictModel, member: str, value: str) -> None:
        self.model = model
        self.member = member
        self.value = value
        self.removed_keys: list[str] = []
        self.removed_entry = False
        found = model.element(member)
        self.index, self.element = found if found else (-1, None)
        if self.element is not None and isinstance(self.element.value, cst.Dict):
            for entry in self.element.value.elements:
                if code(entry.value) == value:  # type: ignore[attr-defined]
                    self.removed_keys.append(key_attr(entry) or code(entry.key))  # type: ignore[attr-defined]

    def rewrite(self, node: cst.Dict) -> cst.Dict:
        if not self.removed_keys or self.element is None:
            return node
        inner: cst.Dict = self.element.value  # type: ignore[assignment]
        for position in reversed(range(len(inner.elements))):
            if code(inner.elements[position].value) == self.value:  # type: ignore[attr-defined]
                inner = remove_element(inner, position)
        if inner.elements:
            elements = list(node.elements)
            elements[self.index] = self.element.with_changes(value=inner)
            return node.with_changes(elements=elements)
        self.removed_entry = True
        return remove_element(node, self.index)


# --------------------------------------------------------------------------- imports


def import_insertion(
    file: DispatcherFile, source: str, name: str, style: ImportStyle, line_length: int
) -> tuple[int, str]:
    """Where ``from source import name`` goes (a line index) and its text.

    Its sorted place among the file's ``from`` imports of the same top-level package, else
    after the last statement that holds imports (also inside ``try``/``if``), else after
    the docstring. Before another import it goes below the blank lines above that import
    (it joins that import's group, whose comments stay with it); removing it, by deleting
    its lines, gives back the exact text.
    """
    text = style.render(source, name, line_length).replace("\n", file.newline)
    top = source.split(".")[0]
    same_package = [
        (statement, node.module.lower())
        for statement, node in file.imports
        if isinstance(node, ast.ImportFrom)
        and statement.node is node
        and not node.level
        and node.module is not None
        and node.module.split(".")[0] == top
    ]
    following = next((s for s, module in same_package if module > source.lower()), None)
    if following is not None:
        index = following.index
    elif same_package:
        index = same_package[-1][0].index + 1
    else:
        holders = sorted({statement.index for statement, _ in file.imports})
        index = holders[-1] + 1 if holders else (1 if _has_docstring(file) else 0)
    if index == 0:
        return (file.statements[0].first if file.statements else 0), text
    line = file.statements[index - 1].last + 1
    if index < len(file.statements) and isinstance(
        file.statements[index].node, (ast.Import, ast.ImportFrom)
    ):
        while line < file.statements[index].first and not file.lines[line].strip():
            line += 1
    return line, text


def _has_docstring(file: DispatcherFile) -> bool:
    first = file.statements[0].node if file.statements else None
    return (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    )


def import_removal(file: DispatcherFile, source: str, name: str) -> tuple[int, str] | None:
    """(statement index, its new text) that no longer imports ``name`` from ``source``."""
    for statement, node in file.imports:
        if statement.node is not node or not isinstance(node, ast.ImportFrom):
            continue  # only top-level ``from`` imports are the tool's
        if node.level or node.module != source:
            continue
        names = [a for a in node.names if not (a.name == name and a.asname is None)]
        if len(names) == len(node.names):
            continue
        if not names:
            return statement.index, ""
        module = file.statement_module(statement)
        return statement.index, module.visit(RemoveImport(source, name)).code
    return None


class RemoveImport(TopLevelTransformer):
    """Remove ``name`` from the top-level ``from source import ...`` that binds it."""

    def __init__(self, source: str, name: str) -> None:
        self.source = source
        self.name = name

    def leave_SimpleStatementLine(
        self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine:
        node = updated.body[0] if len(updated.body) == 1 else None
        if not isinstance(node, cst.ImportFrom) or isinstance(node.names, cst.ImportStar):
            return updated
        if import_source(node) != self.source:
            return updated
        names = [a for a in node.names if a.evaluated_name != self.name or a.asname]
        if names and len(names) < len(node.names):
            if not isinstance(node.names[-1].comma, cst.Comma) or node.rpar is None:
                names[-1] = names[-1].with_changes(comma=NO_COMMA)
            return updated.with_changes(body=[node.with_changes(names=names)])
        return updated
