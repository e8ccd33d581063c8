"""Registry edits follow the file's own layout: hypothesis generates dispatchers in each style.

Styles: the outer dict exploded (indented 2, 4 or 8 spaces or a tab, with or without a
trailing comma), hanging/aligned (the seed's ``X = {A: ...,`` with the next key under the
first) or on one line; inner dicts on one line, exploded or aligned; imports on single lines
(also long ones) or parenthesised; ``noqa`` used or not; line lengths 79 to 120. Rules checked
on every case: the new key sits where the neighbours' keys sit (exploded: their indentation;
hanging: the first key's column), the inner dict copies the neighbour's shape, the trailing
comma follows the dict's habit, no old line changes but for a comma, no new line exceeds the
line length where a shorter form exists, the import follows the file's style and carries
``noqa`` only where the file uses it, and unregistering gives back the bytes. A separate case
checks that files that ``ruff format`` leaves alone stay so.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from hardening_helpers import fuzz, tried
from hypothesis import given
from hypothesis import strategies as st

from quantizer_scaffold.scaffold import registry
from quantizer_scaffold.scaffold.naming import MethodName, Target

ENUM = "from enum import Enum\n\n\nclass TrainingMethod(Enum):\n{members}"
NEW = MethodName.parse("NewMethod")
NEW_MODULE = "pkg.methods.new_method.weights_training_quantizer"
NEW_CLASS = "NewMethodWeightsTrainingQuantizer"
GRIDS = ["SYMMETRIC", "UNIFORM"]


@dataclass(frozen=True)
class Style:
    outer: str  # exploded | hanging | one-line
    unit: str
    inner: str  # one-line | exploded | aligned
    outer_comma: bool
    inner_comma: bool
    imports: str  # single | wrapped
    noqa: bool
    line_length: int
    members: tuple[str, ...]
    grids: dict[str, tuple[str, ...]]


@st.composite
def styles(draw: st.DrawFn) -> Style:
    outer = draw(st.sampled_from(["exploded", "hanging", "one-line"]))
    exploded = outer == "exploded"
    members = tuple(
        draw(
            st.lists(
                st.sampled_from(["STE", "LSQ", "PACT", "DoReFa"]),
                min_size=1,
                max_size=3,
                unique=True,
            )
        )  # fmt: skip
    )
    if outer == "one-line":
        members = members[:2]
    return Style(
        outer=outer,
        unit=draw(st.sampled_from(["    ", "  ", "        ", "\t"])) if exploded else "    ",
        inner=draw(
            st.sampled_from(["one-line", "exploded"] if exploded else ["one-line", "aligned"])
        ),
        outer_comma=draw(st.booleans()) if exploded else False,
        inner_comma=draw(st.booleans()),
        imports=draw(st.sampled_from(["single", "wrapped"])),
        noqa=draw(st.booleans()),
        line_length=draw(st.sampled_from([79, 88, 100, 120])),
        members=members,
        grids={
            m: tuple(draw(st.lists(st.sampled_from(GRIDS), min_size=1, max_size=2, unique=True)))
            for m in members
        },  # fmt: skip
    )


def _inner(style: Style, member: str, indent: str, column: int) -> str:
    entries = [f"QM.{g}: {member}Weights" for g in style.grids[member]]
    if style.inner == "exploded":
        inner = indent + style.unit
        comma = "," if style.inner_comma else ""
        return "{\n" + ",\n".join(inner + e for e in entries) + comma + "\n" + indent + "}"
    if style.inner == "aligned":
        return "{" + (",\n" + " " * column).join(entries) + "}"
    return "{" + ", ".join(entries) + ("," if style.inner_comma else "") + "}"


def dispatcher_text(style: Style) -> tuple[str, int | None]:
    """The dispatcher file, and the column of the weights dict's first key (hanging)."""
    imports = ["from pkg import QuantizationMethod as QM", "from pkg.common import TrainingMethod"]
    if style.imports == "wrapped":
        imports.append(
            "from pkg.a_rather_long_module_path.for_the_quantizers_of_this_library import (\n"
            "    OtherQuantizer,\n)"
        )
    else:  # keeps long imports on one line
        imports.append(
            "from pkg.a_rather_long_module_path.for_the_quantizers_of_this_library.and_more"
            ".modules import OtherQuantizer"
        )
    for member in style.members:
        line = f"from pkg.methods.{member.lower()} import {member}Weights"
        imports.append(
            line + ("  # noqa: F401" if style.noqa and member == style.members[0] else "")
        )
    head = "METHOD2WEIGHTQUANTIZER = {"
    if style.outer == "exploded":
        body = "".join(
            f"{style.unit}TrainingMethod.{m}: {_inner(style, m, style.unit, 0)}"
            + ("," if i < len(style.members) - 1 or style.outer_comma else "")
            + "\n"
            for i, m in enumerate(style.members)
        )
        table, column = head + "\n" + body + "}", None
    else:
        column = len(head)
        parts = []
        for m in style.members:
            key = f"TrainingMethod.{m}: "
            parts.append(key + _inner(style, m, "", column + len(key) + 1))
        separator = ", " if style.outer == "one-line" else ",\n" + " " * column
        table = head + separator.join(parts) + "}"
    text = (
        "\n".join(imports)
        + "\n\nOTHER = OtherQuantizer\n\n"
        + table
        + "\n\nMETHOD2ACTQUANTIZER = {}\n"
    )
    return text, column


def _register(style: Style, text: str) -> registry.RegistrationResult:
    members = "".join(f"    {m} = {i}\n" for i, m in enumerate(style.members))
    texts = registry.RegistryTexts(ENUM.format(members=members), "enum.py", text, "d.py")
    return registry.register(
        texts, NEW, Target.WEIGHTS, [g.lower() for g in ("SYMMETRIC",)], NEW_MODULE,
        line_length=style.line_length,
    )  # fmt: skip


def _squash(line: str) -> str:
    return re.sub(r"[\s,}]", "", line)


@given(styles())
@fuzz(150)
def test_a_new_entry_copies_its_neighbours(style: Style) -> None:
    tried("registry layouts")
    before, column = dispatcher_text(style)
    result = _register(style, before)
    after = result.dispatcher_text
    compile(after, "d.py", "exec")
    old, new = before.splitlines(), after.splitlines()
    # no old line changes but for a comma (and, when a one-line dict breaks, its closing brace)
    changed = [line for line in old if line not in new]
    assert len(changed) <= 1
    for line in changed:
        assert any(_squash(n) == _squash(line) for n in new)
    added = [line for line in new if line not in old]
    key = next(i for i, line in enumerate(new) if "TrainingMethod.NewMethod:" in line)
    entry = new[key]
    if style.outer == "exploded":
        assert entry == style.unit + entry.lstrip()  # the neighbours' indentation
    elif entry.startswith("METHOD2WEIGHTQUANTIZER"):
        assert style.outer == "one-line" and len(entry) <= style.line_length  # it still fits
    else:
        assert entry == " " * column + entry.lstrip()  # under the first key
    # the inner dict: the neighbour's shape, wrapped only when a line would be too long
    fits = entry.rstrip(",}").endswith(NEW_CLASS)
    if style.inner == "exploded":
        assert entry.endswith("{") and new[
            key + 1
        ] == style.unit * 2 + f"QM.SYMMETRIC: {NEW_CLASS}" + ("," if style.inner_comma else "")
    else:
        assert fits or style.outer == "exploded"
        if not fits:  # too long on one line: exploded like ruff format would
            assert new[key + 1] == style.unit * 2 + f"QM.SYMMETRIC: {NEW_CLASS},"
    # the trailing comma habit of the outer dict
    if style.outer == "exploded":
        closing = next(i for i in range(key, len(new)) if new[i].rstrip(",").endswith("}"))
        assert new[closing].endswith(",") == style.outer_comma
    # an old line grows by its comma at most; no new line is longer than the line length
    # where a shorter form exists (one grid entry per line is as short as it gets)
    for line in added:
        grown = [o for o in changed if _squash(o) == _squash(line)]
        if grown:
            assert len(line) <= len(grown[0]) + 1
        elif not line.startswith(("from ", "    " + NEW_CLASS)):
            assert len(line.expandtabs(4)) <= style.line_length or line.count("QM.") <= 1
    # the import: the file's style, noqa only where the file uses it
    imported = [line for line in added if line.startswith("from ")]
    assert len(imported) == 1
    one_line = f"from {NEW_MODULE} import {NEW_CLASS}"
    if style.imports == "single" or len(one_line) <= style.line_length:
        assert imported[0].split("  #")[0] == one_line
    else:
        assert imported[0].startswith(f"from {NEW_MODULE} import (")
    assert ("noqa" in imported[0]) == (
        style.noqa and len(imported[0].split("  #")[0]) > style.line_length
    )
    # and back: the exact bytes
    members = "".join(f"    {m} = {i}\n" for i, m in enumerate(style.members))
    texts = registry.RegistryTexts(result.enum_text, "enum.py", after, "d.py")
    undone = registry.unregister(
        texts, NEW, [Target.WEIGHTS], {Target.WEIGHTS: NEW_MODULE, Target.ACTIVATION: "x"}, True
    )
    assert undone.dispatcher_text == before
    assert undone.enum_text == ENUM.format(members=members)


RUFF_CLEAN = [
    # exploded, magic trailing commas, as ruff format writes it (inner exploded)
    Style("exploded", "    ", "exploded", True, True, "wrapped", False, 88, ("STE",),
          {"STE": ("SYMMETRIC", "UNIFORM")}),
    # inner dicts on one line where they fit
    Style("exploded", "    ", "one-line", True, False, "wrapped", False, 100, ("STE", "LSQ"),
          {"STE": ("SYMMETRIC",), "LSQ": ("SYMMETRIC",)}),
    # a short line length: the new inner dict no longer fits on one line
    Style("exploded", "    ", "one-line", True, False, "wrapped", False, 60, ("STE",),
          {"STE": ("SYMMETRIC",)}),
]  # fmt: skip


def test_a_ruff_format_clean_file_stays_clean(tmp_path: Path) -> None:
    ruff = Path(sys.executable).with_name("ruff")
    for index, style in enumerate(RUFF_CLEAN):
        tried("registry layouts: ruff format stays clean")
        before, _ = dispatcher_text(style)
        folder = tmp_path / f"case{index}"
        folder.mkdir()
        (folder / "ruff.toml").write_text(f"line-length = {style.line_length}\n")
        path = folder / "d.py"
        path.write_text(before)
        check = [ruff, "format", "--check", "--config", folder / "ruff.toml", path]
        assert subprocess.run(check, capture_output=True).returncode == 0, before  # precondition
        path.write_text(_register(style, before).dispatcher_text)
        result = subprocess.run(check, capture_output=True, text=True)
        assert result.returncode == 0, path.read_text()
