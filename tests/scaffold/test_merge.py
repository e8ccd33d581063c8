"""The three-way merge ``update`` uses: hypothesis properties, and git's own merge as oracle."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quantizer_scaffold.scaffold.merge import has_conflict_markers, merge3

SETTINGS = settings(
    max_examples=150, derandomize=True, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip

line = st.sampled_from([f"line {i}\n" for i in range(8)] + ["\n", "x = 1\n", "    pass\n"])
texts = st.lists(line, max_size=12).map("".join)


@st.composite
def edited(draw: st.DrawFn, base: str) -> str:
    """``base`` with a few lines replaced, inserted or deleted."""
    lines = base.splitlines(keepends=True)
    for _ in range(draw(st.integers(0, 3))):
        position = draw(st.integers(0, len(lines)))
        kind = draw(st.sampled_from(["insert", "delete", "replace"]))
        new = draw(st.sampled_from(["yours\n", "theirs\n", "both\n", "z = 2\n"]))
        if kind == "insert" or not lines or position == len(lines):
            lines.insert(position, new)
        elif kind == "delete":
            del lines[position]
        else:
            lines[position] = new
    return "".join(lines)


@st.composite
def triples(draw: st.DrawFn) -> tuple[str, str, str]:
    base = draw(texts)
    return base, draw(edited(base)), draw(edited(base))


@SETTINGS
@given(triples())
def test_one_sided_changes_are_taken_and_identical_changes_once(triple) -> None:
    base, yours, theirs = triple
    assert merge3(base, yours, base).text == yours
    assert merge3(base, base, theirs).text == theirs
    assert merge3(base, yours, yours).text == yours
    assert merge3(base, yours, base).conflicts == 0


def _added(base: str, other: str) -> list[str]:
    import difflib

    old, new = base.splitlines(keepends=True), other.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    return [
        new[j]
        for tag, _, _, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
        for j in range(j1, j2)
    ]


@SETTINGS
@given(triples())
def test_nothing_you_added_is_lost_and_markers_are_well_formed(triple) -> None:
    base, yours, theirs = triple
    result = merge3(base, yours, theirs, "yours", "templates")
    merged = result.text.splitlines(keepends=True)
    remaining = list(merged)
    for added in _added(base, yours):  # every line you added is there, in order
        assert added in remaining, (added, result.text)
        remaining = remaining[remaining.index(added) + 1 :]
    starts = [i for i, text in enumerate(merged) if text == "<<<<<<< yours\n"]
    assert len(starts) == result.conflicts == sum(text == "=======\n" for text in merged)
    assert result.conflicts == sum(text == ">>>>>>> templates\n" for text in merged)
    assert has_conflict_markers(result.text) == bool(result.conflicts)


GIT = shutil.which("git")


@pytest.mark.skipif(GIT is None, reason="git is not installed")
@settings(SETTINGS, max_examples=60)
@given(triple=triples())
def test_a_clean_merge_is_what_git_merges(triple, tmp_path_factory) -> None:
    base, yours, theirs = triple
    folder = tmp_path_factory.mktemp("merge")
    paths = []
    for name, text in (("yours", yours), ("base", base), ("theirs", theirs)):
        (folder / name).write_text(text)
        paths.append(str(folder / name))
    git = subprocess.run([GIT, "merge-file", "-p", *paths], capture_output=True, text=True)
    result = merge3(base, yours, theirs)
    if git.returncode == 0 and result.conflicts == 0:
        assert result.text == git.stdout
    assert (git.returncode == 0) <= (result.conflicts == 0) or yours == theirs


def test_a_conflict_looks_as_git_marks_it(tmp_path: Path) -> None:
    base = "a\nb\nc\n"
    yours = "a\nmine\nc\n"
    theirs = "a\nnew template line\nc\n"
    result = merge3(base, yours, theirs, "yours", "scaffold-quantizer 0.2.0 templates")
    assert result.conflicts == 1
    assert result.text == (
        "a\n<<<<<<< yours\nmine\n=======\nnew template line\n"
        ">>>>>>> scaffold-quantizer 0.2.0 templates\nc\n"
    )


def test_crlf_files_get_crlf_markers() -> None:
    result = merge3("a\r\nb\r\n", "a\r\nmine\r\n", "a\r\ntheirs\r\n")
    assert (
        result.conflicts == 1
        and "=======\r\n" in result.text
        and "\n" not in result.text.replace("\r\n", "")
    )
