"""A three-way merge of lines, as ``git merge-file`` does it: yours and the templates' changes.

``merge3(base, yours, theirs)``: ``base`` is what the old templates rendered (what the tool
wrote), ``yours`` the file as its user edited it, ``theirs`` what the new templates render.
A region changed on one side only takes that side; a region both changed the same way
takes it once; a region both changed differently becomes a conflict, marked as git marks
it (``<<<<<<<``, ``=======``, ``>>>>>>>``), with the lines both sides share at its start
and end left outside the markers. Nothing of either side is dropped: every line you added
is in the result.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

MARKERS = ("<<<<<<< ", "=======", ">>>>>>> ")


@dataclass(frozen=True)
class MergeResult:
    text: str
    conflicts: int


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _sync_regions(
    base: Sequence[str], yours: Sequence[str], theirs: Sequence[str]
) -> list[tuple[int, int, int, int, int, int]]:
    """Runs of base lines that both sides kept unchanged: (base start, base end, yours
    start, yours end, theirs start, theirs end), ending with an empty run at the ends."""
    mine = difflib.SequenceMatcher(None, base, yours, autojunk=False).get_matching_blocks()
    other = difflib.SequenceMatcher(None, base, theirs, autojunk=False).get_matching_blocks()
    regions = []
    i = j = 0
    while i < len(mine) and j < len(other):
        a_base, a_at, a_length = mine[i]
        b_base, b_at, b_length = other[j]
        start = max(a_base, b_base)
        end = min(a_base + a_length, b_base + b_length)
        if start < end:
            a_start = a_at + start - a_base
            b_start = b_at + start - b_base
            regions.append(
                (start, end, a_start, a_start + end - start, b_start, b_start + end - start)
            )
        if a_base + a_length < b_base + b_length:
            i += 1
        else:
            j += 1
    regions.append((len(base), len(base), len(yours), len(yours), len(theirs), len(theirs)))
    return regions


def _newline(lines: Sequence[str]) -> str:
    for line in lines:
        if line.endswith("\r\n"):
            return "\r\n"
        if line.endswith("\n"):
            return "\n"
    return "\n"


def merge3(
    base: str, yours: str, theirs: str, yours_label: str = "yours", theirs_label: str = "theirs"
) -> MergeResult:
    """Merge ``theirs``' changes to ``base`` into ``yours`` (see the module docstring)."""
    old, mine, other = _lines(base), _lines(yours), _lines(theirs)
    newline = _newline(mine or other or old)
    out: list[str] = []
    conflicts = 0
    at_base = at_mine = at_other = 0
    for base_start, base_end, mine_start, mine_end, other_start, other_end in _sync_regions(
        old, mine, other
    ):
        original = old[at_base:base_start]
        changed_mine = mine[at_mine:mine_start]
        changed_other = other[at_other:other_start]
        if changed_mine == changed_other or changed_other == original:
            out.extend(changed_mine)
        elif changed_mine == original:
            out.extend(changed_other)
        else:
            conflicts += 1
            out.extend(_conflict(changed_mine, changed_other, newline, yours_label, theirs_label))
        out.extend(old[base_start:base_end])
        at_base, at_mine, at_other = base_end, mine_end, other_end
    return MergeResult("".join(out), conflicts)


def _conflict(
    mine: list[str], other: list[str], newline: str, yours_label: str, theirs_label: str
) -> list[str]:
    """A conflict region; lines both sides begin or end with stay outside the markers."""
    head = 0
    while head < min(len(mine), len(other)) and mine[head] == other[head]:
        head += 1
    tail = 0
    while (
        tail < min(len(mine), len(other)) - head
        and mine[len(mine) - 1 - tail] == other[len(other) - 1 - tail]
    ):
        tail += 1
    inner_mine = mine[head : len(mine) - tail]
    inner_other = other[head : len(other) - tail]
    region = [*mine[:head], f"{MARKERS[0]}{yours_label}{newline}"]
    region += _terminated(inner_mine, newline) + [f"{MARKERS[1]}{newline}"]
    region += _terminated(inner_other, newline) + [f"{MARKERS[2]}{theirs_label}{newline}"]
    return region + mine[len(mine) - tail :]


def _terminated(lines: list[str], newline: str) -> list[str]:
    """``lines`` with a newline after the last one (the file's last line may have none)."""
    if lines and not lines[-1].endswith(("\n", "\r")):
        return [*lines[:-1], lines[-1] + newline]
    return lines


def has_conflict_markers(text: str) -> bool:
    """Whether ``text`` still holds a conflict that ``merge3`` (or git) marked."""
    lines = text.splitlines()
    return (
        any(line.startswith(MARKERS[0].strip()) for line in lines)
        and MARKERS[1] in lines
        and any(line.startswith(MARKERS[2].strip()) for line in lines)
    )
