"""How a registry file writes its code, so that an inserted line looks like its neighbours.

The rules (each read from the file, never assumed):

- **Outer dict.** Exploded (``{`` newline, one entry per line, ``}`` on its own line): the new
  entry gets the entries' indentation. Hanging/aligned (``X = {A: ...,`` then the next key
  aligned under the first, ``}`` after the last entry): the new entry goes on its own line
  at the first key's column. One line: it stays one line while it fits the line length,
  then continues hanging at the first key's column.
- **Inner dict** (``{QuantizationMethod.X: Class}``): a copy of the last neighbour's shape:
  one-line or multi-line, its indentation, colon spacing and trailing comma. No neighbour:
  exploded with the file's indentation unit when the outer dict is exploded, else one line.
  A one-line inner dict that would make a line longer than the line length is wrapped the
  way the outer dict is (exploded, or aligned under its first key).
- **Trailing commas** follow the dict's own last entry.
- **Imports**: one line when it fits; when it does not, parenthesised like the file's other
  wrapped imports (or like ``ruff format``), unless the file keeps long imports on one line.
  ``# noqa: E501`` only on a line that cannot fit, and only in a file that uses ``noqa`` or a
  project whose linter checks line length.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst

from .gather import DispatcherFile, code

NO_COMMA = cst.MaybeSentinel.DEFAULT


def newline(indent: str) -> cst.ParenthesizedWhitespace:
    return cst.ParenthesizedWhitespace(
        first_line=cst.TrailingWhitespace(), indent=True, last_line=cst.SimpleWhitespace(indent)
    )


def is_newline(whitespace: cst.BaseParenthesizableWhitespace) -> bool:
    return isinstance(whitespace, cst.ParenthesizedWhitespace)


def column_after(start: int, text: str) -> int:
    """The column reached by writing ``text`` from column ``start``."""
    return len(text) - text.rfind("\n") - 1 if "\n" in text else start + len(text)


# --------------------------------------------------------------------------- dict shapes


def separators(node: cst.Dict) -> list[cst.BaseParenthesizableWhitespace]:
    """The whitespace that leads into each element: after ``{``, then after each comma."""
    found = [node.lbrace.whitespace_after]
    found += [
        e.comma.whitespace_after
        for e in node.elements[:-1]
        if isinstance(e.comma, cst.Comma)  # every element but the last has a comma
    ]
    return found


def exploded(node: cst.Dict) -> bool:
    """``}`` sits on its own line."""
    return is_newline(node.rbrace.whitespace_before)


def element_indent(node: cst.Dict) -> str | None:
    """The indentation of the entries of an exploded dict, when the file shows it."""
    for whitespace in separators(node):
        if isinstance(whitespace, cst.ParenthesizedWhitespace):
            return whitespace.last_line.value
    return None


def closing_indent(node: cst.Dict) -> str:
    closing = node.rbrace.whitespace_before
    return closing.last_line.value if isinstance(closing, cst.ParenthesizedWhitespace) else ""


def indent_unit(node: cst.Dict, default: str) -> str:
    """An exploded dict's own indentation step: its entries' indent minus its ``}``'s."""
    entries = element_indent(node)
    closing = closing_indent(node)
    if entries is not None and entries.startswith(closing) and len(entries) > len(closing):
        return entries[len(closing) :]
    return default


def continuation(node: cst.Dict, first_key_column: int) -> str:
    """Where a new line of a hanging dict starts: as the file's own continuation lines do,
    else under the first key."""
    for whitespace in reversed(separators(node)[1:]):
        if isinstance(whitespace, cst.ParenthesizedWhitespace):
            return whitespace.last_line.value
    return " " * first_key_column


def trailing_comma(node: cst.Dict) -> bool:
    return bool(node.elements) and isinstance(node.elements[-1].comma, cst.Comma)


# --------------------------------------------------------------------------- columns


def statement_key_column(statement: cst.SimpleStatementLine, node: cst.Dict) -> int:
    """The column of the first key of the module-level ``X = {...}`` in ``statement``."""
    assign = statement.body[0]
    marker = cst.Name("__scaffold_quantizer_mark__")
    head = code(assign.with_changes(value=marker))  # type: ignore[attr-defined]
    column = column_after(0, head[: head.index(marker.value)])
    column += sum(len(code(p)) for p in node.lpar) + 1  # the "{"
    opening = node.lbrace.whitespace_after
    return column + (len(opening.value) if isinstance(opening, cst.SimpleWhitespace) else 0)


def element_column(node: cst.Dict, first_key_column: int, index: int) -> int:
    """The column where ``node.elements[index]`` starts."""
    leading = separators(node)[index] if index < len(separators(node)) else None
    if isinstance(leading, cst.ParenthesizedWhitespace):  # on a line of its own
        return len(leading.last_line.value)
    before = "".join(code(e) for e in node.elements[:index])
    return column_after(first_key_column, before)


def value_column(element: cst.DictElement, key_column: int) -> int:
    """The column where ``element.value`` starts, given where its key starts."""
    head = code(element.key) + code(element.whitespace_before_colon) + ":"
    return column_after(key_column, head + code(element.whitespace_after_colon))


def inner_key_column(inner: cst.Dict, column: int) -> int:
    """The column of the first key of a dict that starts at ``column``."""
    opening = inner.lbrace.whitespace_after
    if isinstance(opening, cst.ParenthesizedWhitespace):
        return len(opening.last_line.value)
    start = column + sum(len(code(p)) for p in inner.lpar) + 1
    return start + len(opening.value)  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- inner dicts


@dataclass(frozen=True)
class InnerShape:
    """The shape of an inner ``{QuantizationMethod.X: Class}`` dict, copied from a neighbour."""

    kind: str  # "one-line", "exploded" or "aligned"
    indent: str = ""  # exploded: the entries' indentation
    closing: str = ""  # exploded: the indentation of "}"
    before_colon: str = ""
    after_colon: str = " "
    comma: bool = False  # trailing comma after the last entry
    separator: str = " "  # one-line: what follows each comma

    @classmethod
    def of(cls, inner: cst.Dict) -> InnerShape:
        first = inner.elements[0]
        assert isinstance(first, cst.DictElement)
        colon = {
            "before_colon": code(first.whitespace_before_colon),
            "after_colon": code(first.whitespace_after_colon),
            "comma": trailing_comma(inner),
        }
        if exploded(inner):
            return cls(
                "exploded",
                indent=element_indent(inner) or "",
                closing=closing_indent(inner),
                **colon,
            )
        if any(is_newline(w) for w in separators(inner)):
            return cls("aligned", **colon)
        between = [code(e.comma.whitespace_after) for e in inner.elements[:-1]]  # type: ignore[union-attr]
        return cls("one-line", separator=between[0] if between else " ", **colon)

    def build(self, entries: Sequence[tuple[str, str]], first_key_column: int) -> cst.Dict:
        """A new dict of ``entries`` in this shape; ``first_key_column`` serves "aligned"."""
        elements = []
        for index, (key, value) in enumerate(entries):
            last = index == len(entries) - 1
            if last:
                comma: cst.Comma | cst.MaybeSentinel = cst.Comma() if self.comma else NO_COMMA
            elif self.kind == "exploded":
                comma = cst.Comma(whitespace_after=newline(self.indent))
            elif self.kind == "aligned":
                comma = cst.Comma(whitespace_after=newline(" " * first_key_column))
            else:
                comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(self.separator))
            elements.append(
                cst.DictElement(
                    key=cst.parse_expression(key),
                    value=cst.parse_expression(value),
                    whitespace_before_colon=cst.SimpleWhitespace(self.before_colon),
                    whitespace_after_colon=cst.SimpleWhitespace(self.after_colon),
                    comma=comma,
                )
            )
        if self.kind == "exploded":
            return cst.Dict(
                elements,
                lbrace=cst.LeftCurlyBrace(whitespace_after=newline(self.indent)),
                rbrace=cst.RightCurlyBrace(whitespace_before=newline(self.closing)),
            )
        return cst.Dict(elements)

    def wrapped(self, outer_exploded: bool, entry_indent: str, unit: str) -> InnerShape:
        """The shape to use when this one-line shape would make too long a line."""
        if outer_exploded:
            return InnerShape(
                "exploded",
                indent=entry_indent + unit,
                closing=entry_indent,
                before_colon=self.before_colon,
                after_colon=self.after_colon,
                comma=True,
            )
        return InnerShape("aligned", before_colon=self.before_colon, after_colon=self.after_colon)


def default_inner_shape(outer_exploded: bool, entry_indent: str, unit: str) -> InnerShape:
    """The inner shape when no neighbour shows one: what ``ruff format`` writes."""
    if outer_exploded:
        return InnerShape("one-line").wrapped(True, entry_indent, unit)
    return InnerShape("one-line")


def prototype(dicts: Sequence[cst.Dict]) -> cst.DictElement | None:
    """The last entry (of the first dict that has one) whose value is a non-empty dict."""
    for node in dicts:
        for element in reversed(node.elements):
            value = getattr(element, "value", None)
            if isinstance(value, cst.Dict) and value.elements:
                return element  # type: ignore[return-value]
    return None


# --------------------------------------------------------------------------- imports


@dataclass(frozen=True)
class ImportStyle:
    """How the file writes ``from x import y`` when it does not fit on one line."""

    wraps: bool = True  # False: the file keeps long imports on one line
    indent: str = "    "  # of a name inside parentheses
    comma: bool = True  # after the last name inside parentheses
    uses_noqa: bool = False

    @classmethod
    def of(cls, file: DispatcherFile, line_length: int, linted: bool = False) -> ImportStyle:
        """The style of ``file``; ``linted``: the project's linter checks line length."""
        uses_noqa = linted or "noqa" in file.text
        statements = [
            s for s, node in file.imports if s.node is node and isinstance(node, ast.ImportFrom)
        ]
        for statement in statements:
            lines = file.lines[statement.first : statement.last + 1]
            if len(lines) > 2 and lines[0].rstrip().split("#")[0].rstrip().endswith("("):
                name = lines[1]
                indent = name[: len(name) - len(name.lstrip(" \t"))]
                comma = lines[-2].split("#")[0].rstrip().endswith(",")
                return cls(True, indent or "    ", comma, uses_noqa)
        for statement in statements:
            if statement.first == statement.last:
                line = file.lines[statement.first].rstrip("\r\n").split("  #")[0]
                if len(line) > line_length:
                    return cls(wraps=False, uses_noqa=uses_noqa)
        return cls(uses_noqa=uses_noqa)

    def render(self, source: str, name: str, line_length: int) -> str:
        line = f"from {source} import {name}"
        if len(line) <= line_length:
            return line + "\n"
        if not self.wraps:
            return line + ("  # noqa: E501" if self.uses_noqa else "") + "\n"
        opening = f"from {source} import ("
        if len(opening) > line_length and self.uses_noqa:
            opening += "  # noqa: E501"
        return f"{opening}\n{self.indent}{name}{',' if self.comma else ''}\n)\n"
