"""Generated registry files of many shapes: register then unregister gives back the exact bytes.

Shapes: enum members with comments, docstrings, methods, decorators, ``auto()`` or integer
values; dispatcher dicts empty, one-line or multi-line, with or without trailing commas and
comments, annotated or not; LF or CRLF; four spaces, two spaces or tabs. Registration may only
add lines, or edit the one entry it touches; the result compiles, and executing it (with stub
imports) maps the new member to the new class.
"""

from __future__ import annotations

import builtins
import difflib
import enum
import re
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hardening_helpers import assert_whole, fuzz, tree_state, tried
from hypothesis import given
from hypothesis import strategies as st
from scaffold_helpers import REGISTRY

from quantizer_scaffold.scaffold import api, registry
from quantizer_scaffold.scaffold.naming import MethodName, Target
from quantizer_scaffold.scaffold.validate import unresolved_names

MODULES = {
    Target.WEIGHTS: "pkg.quantizers.new.weights_training_quantizer",
    Target.ACTIVATION: "pkg.quantizers.new.activations_training_quantizer",
}


@dataclass(frozen=True)
class Shapes:
    enum_text: str
    dispatcher_text: str
    members: tuple[str, ...]
    uses_auto: bool
    spans: dict[str, tuple[int, int]]  # dict name -> (first line, last line), 0-based


comment = st.sampled_from(["", "  # note", "  # TODO: keep me", '  # ünïcode, "quotes"'])
indent_unit = st.sampled_from(["    ", "  ", "\t"])


@st.composite
def enum_file(draw: st.DrawFn, unit: str) -> tuple[str, tuple[str, ...], bool]:
    member = st.from_regex(r"[A-Z][A-Z0-9_]{0,6}", fullmatch=True).filter(lambda n: n[-1] != "_")
    names = draw(st.lists(member, min_size=1, max_size=4, unique=True))
    uses_auto = draw(st.booleans())
    style = draw(st.sampled_from(["from", "module"]))
    base = "Enum" if style == "from" else "enum.Enum"
    auto = "auto()" if style == "from" else "enum.auto()"
    lines = []
    if draw(st.booleans()):
        lines += ['"""Training methods."""', ""]
    lines.append("from enum import Enum, auto, unique" if style == "from" else "import enum")
    lines += ["", ""]
    if draw(st.booleans()):
        lines.append("@unique" if style == "from" else "@enum.unique")
    lines.append(f"class TrainingMethod({base}):")
    if draw(st.booleans()):
        lines += [f'{unit}"""How quantizers learn."""', ""]
    value = draw(st.integers(0, 5))
    for index, name in enumerate(names):
        if draw(st.booleans()):
            lines.append(f"{unit}# about {name}")
        if uses_auto:
            text = auto
        else:
            value += draw(st.integers(1, 3))
            text = draw(st.sampled_from([str(value), hex(value)]))
        lines.append(f"{unit}{name} = {text}{draw(comment)}")
        if index < len(names) - 1 and draw(st.booleans()):
            lines.append("")
    if draw(st.booleans()):
        lines += ["", f"{unit}def describe(self) -> str:", f"{unit}{unit}return self.name.lower()"]
    if draw(st.booleans()):
        lines += ["", "", "DEFAULT = TrainingMethod." + names[0]]
    return "\n".join(lines) + "\n", tuple(names), uses_auto


@st.composite
def dict_literal(draw: st.DrawFn, name: str, members: tuple[str, ...], unit: str) -> list[str]:
    entries = draw(st.lists(st.sampled_from(members), unique=True, max_size=len(members)))
    classes = {m: f"Built{m.title().replace('_', '')}{name[-9:].title()}" for m in entries}
    annotation = ": Dict[TrainingMethod, Dict[QM, type]]" if draw(st.booleans()) else ""
    head = f"{name}{annotation} = "
    layout = draw(st.sampled_from(["one-line", "multi-line"]))
    trailing = draw(st.booleans())
    if not entries:
        empty = draw(st.sampled_from(["{}", f"{{\n{unit}# none yet\n}}", "{  # none yet\n}"]))
        return (head + empty).split("\n")
    inner = [f"{{QM.SYMMETRIC: {classes[m]}}}" for m in entries]
    if layout == "one-line":
        body = ", ".join(f"TrainingMethod.{m}: {v}" for m, v in zip(entries, inner, strict=True))
        return [head + "{" + body + ("," if trailing else "") + "}"]
    lines = [head + "{"]
    if draw(st.booleans()):
        lines.append(f"{unit}# built-in methods")
    for index, (member, value) in enumerate(zip(entries, inner, strict=True)):
        last = index == len(entries) - 1
        if draw(st.booleans()):  # inner dict over several lines
            lines += [f"{unit}TrainingMethod.{member}: {{",
                      f"{unit}{unit}QM.SYMMETRIC: {classes[member]},{draw(comment)}",
                      f"{unit}}}{'' if last and not trailing else ','}{draw(comment)}"]  # fmt: skip
        else:
            comma = "" if last and not trailing else ","
            lines.append(f"{unit}TrainingMethod.{member}: {value}{comma}{draw(comment)}")
    if draw(st.booleans()):
        lines.append(f"{unit}# more to come")
    lines.append("}")
    return lines


def _classes(lines: list[str]) -> set[str]:
    return {w.rstrip(",}") for line in lines for w in line.split() if w.startswith("Built")}


@st.composite
def shapes(draw: st.DrawFn) -> Shapes:
    unit = draw(indent_unit)
    enum_text, members, uses_auto = draw(enum_file(unit))
    weights = draw(dict_literal("METHOD2WEIGHTQUANTIZER", members, unit))
    activations = draw(dict_literal("METHOD2ACTQUANTIZER", members, unit))
    imports = [
        "from typing import Dict",
        "",
        "from pkg.common import QuantizationMethod as QM",
        "from pkg.common import TrainingMethod",
    ]
    used = sorted(_classes(weights) | _classes(activations))
    if used:
        imports.append(f"from pkg.ste import {', '.join(used)}")
    lines = ['"""Dispatcher."""', "", *imports, ""]
    spans = {}
    first_dict, gap = draw(st.booleans()), draw(st.sampled_from([[""], ["", ""], ["# tables", ""]]))
    order = [("METHOD2WEIGHTQUANTIZER", weights), ("METHOD2ACTQUANTIZER", activations)]
    for dict_name, dict_lines in order if first_dict else order[::-1]:
        lines += gap
        spans[dict_name] = (len(lines), len(lines) + len(dict_lines) - 1)
        lines += dict_lines
    dispatcher = "\n".join(lines) + "\n"
    if draw(st.booleans()):
        enum_text, dispatcher = enum_text.replace("\n", "\r\n"), dispatcher.replace("\n", "\r\n")
    return Shapes(enum_text, dispatcher, members, uses_auto, spans)


def _stub_import(enum_class: type) -> Callable[..., object]:
    qm = enum.Enum("QuantizationMethod", "SYMMETRIC POWER_OF_TWO UNIFORM")
    made: dict[str, type] = {}

    def fake_import(name: str, globals=None, locals=None, fromlist=(), level=0):  # noqa: A002
        if name in {"typing", "enum"}:
            return builtins.__import__(name, globals, locals, fromlist, level)
        module = types.ModuleType(name)
        for attr in fromlist or ():
            if attr == "TrainingMethod":
                setattr(module, attr, enum_class)
            elif attr == "QuantizationMethod":
                setattr(module, attr, qm)
            else:
                setattr(module, attr, made.setdefault(attr, type(attr, (), {})))
        return module

    return fake_import


def _execute(enum_text: str, dispatcher_text: str) -> tuple[type, dict[str, object]]:
    """Run both files for real (the dispatcher with stub modules for its imports)."""
    enum_space: dict[str, object] = {"__name__": "registry_enum"}
    exec(compile(enum_text, "enum.py", "exec"), enum_space)
    training_method = enum_space["TrainingMethod"]
    namespace = {"__builtins__": {**vars(builtins), "__import__": _stub_import(training_method)}}
    exec(compile(dispatcher_text, "dispatcher.py", "exec"), namespace)
    return training_method, namespace  # type: ignore[return-value]


def _removed_line_numbers(before: str, after: str) -> list[int]:
    matcher = difflib.SequenceMatcher(a=before.splitlines(), b=after.splitlines(), autojunk=False)
    return [
        line
        for tag, a1, a2, _, _ in matcher.get_opcodes()
        if tag in {"replace", "delete"}
        for line in range(a1, a2)
    ]


NAME = MethodName.parse("FuzzMethod")
targets = st.sampled_from(
    [[Target.WEIGHTS], [Target.ACTIVATION], [Target.WEIGHTS, Target.ACTIVATION]]
)
methods = st.lists(
    st.sampled_from(["symmetric", "power_of_two", "uniform"]), min_size=1, unique=True
)


@fuzz(100)
@given(shape=shapes(), chosen=targets, quantization=methods, existing=st.booleans())
def test_register_only_adds_and_unregister_restores_the_bytes(
    shape: Shapes, chosen: list[Target], quantization: list[str], existing: bool
) -> None:
    tried("registry shapes: in process")
    name = MethodName.parse(shape.members[-1]) if existing and shape.members[-1].isalnum() else NAME
    texts = registry.RegistryTexts(shape.enum_text, "enum.py", shape.dispatcher_text, "d.py")
    before_methods = {m.name: m.quantizers for m in registry.read_registry(texts)}
    if any(before_methods.get(name.enum_member, {}).get(t.value) for t in chosen):
        name = NAME  # the member already has built-in classes: a conflict, tested elsewhere
    created = name.enum_member not in shape.members
    for target in chosen:
        result = registry.register(texts, name, target, quantization, MODULES[target])
        again = registry.register(
            registry.RegistryTexts(result.enum_text, "enum.py", result.dispatcher_text, "d.py"),
            name, target, quantization, MODULES[target],
        )  # fmt: skip
        assert (again.enum_text, again.dispatcher_text) == (
            result.enum_text,
            result.dispatcher_text,
        )
        if target is chosen[0]:  # only the touched dict's lines may change, nothing else
            assert _removed_line_numbers(shape.enum_text, result.enum_text) == []
            first, last = shape.spans[target.dispatcher]
            changed = _removed_line_numbers(shape.dispatcher_text, result.dispatcher_text)
            assert all(first <= n <= last for n in changed), (changed, first, last)
            assert len(changed) <= 2, changed  # the old last entry's comma, the closing line
        texts = registry.RegistryTexts(result.enum_text, "enum.py", result.dispatcher_text, "d.py")
    for text in (texts.enum_text, texts.dispatcher_text):
        assert unresolved_names("x.py", text) == []
        if "\r\n" in shape.enum_text:
            assert text.count("\n") == text.count("\r\n")
    training_method, namespace = _execute(texts.enum_text, texts.dispatcher_text)
    member = training_method[name.enum_member]
    assert not isinstance(member.value, tuple)
    if created and not shape.uses_auto:
        assert member.value == max(m.value for m in training_method if m is not member) + 1
    for target in chosen:
        table = namespace[target.dispatcher]
        assert {k.name.lower(): v.__name__ for k, v in table[member].items()} == {
            q: name.training_class(target) for q in quantization
        }
    # the user edits elsewhere in between; unregistering keeps that edit and undoes ours
    edit = (
        "# edited by the user\r\n" if "\r\n" in shape.dispatcher_text else "# edited by the user\n"
    )
    texts = registry.RegistryTexts(texts.enum_text, "enum.py", edit + texts.dispatcher_text, "d.py")
    undone = registry.unregister(texts, name, chosen, MODULES, remove_member=created)
    assert undone.enum_text == shape.enum_text
    assert undone.dispatcher_text == edit + shape.dispatcher_text


@fuzz(15)
@given(shape=shapes(), chosen=targets)
def test_scaffold_then_remove_on_disk_gives_back_every_byte(
    shape: Shapes, chosen: list[Target], new_project: Callable[[], Path]
) -> None:
    tried("registry shapes: on disk")
    project = new_project()
    enum_file, dispatcher = (project / path for path in REGISTRY)
    enum_file.write_bytes(shape.enum_text.encode())
    dispatcher.write_bytes(shape.dispatcher_text.encode())
    stubs = sorted(set(re.findall(r"Built\w+", shape.dispatcher_text)))
    (project / "src/pkg").mkdir()
    (project / "src/pkg/ste.py").write_text("".join(f"class {c}: ...\n" for c in stubs))
    before = tree_state(project)
    for target in chosen:
        api.scaffold("FuzzMethod", target, ["symmetric", "uniform"], root=project)
    methods = {m.name: m.quantizers for m in assert_whole(project)}
    assert set(methods["FuzzMethod"]) == {t.value for t in chosen}
    api.remove("FuzzMethod", root=project)
    assert tree_state(project) == before


def test_a_comment_free_empty_multi_line_dict_comes_back_as_braces() -> None:
    """``{`` newline ``}`` and ``{}`` read the same after an append; remove writes ``{}``."""
    enum_text = "from enum import Enum\n\n\nclass TrainingMethod(Enum):\n    A = 1\n"
    dispatcher = (
        "from pkg import QuantizationMethod, TrainingMethod\n\n"
        "METHOD2WEIGHTQUANTIZER = {\n}\nMETHOD2ACTQUANTIZER = {}\n"
    )
    texts = registry.RegistryTexts(enum_text, "enum.py", dispatcher, "d.py")
    added = registry.register(texts, NAME, Target.WEIGHTS, ["symmetric"], MODULES[Target.WEIGHTS])
    assert "= {\n    TrainingMethod.FuzzMethod: {\n        QuantizationMethod.SYMMETRIC" in (
        added.dispatcher_text
    )
    texts = registry.RegistryTexts(added.enum_text, "enum.py", added.dispatcher_text, "d.py")
    undone = registry.unregister(texts, NAME, [Target.WEIGHTS], MODULES, remove_member=True)
    assert undone.dispatcher_text == dispatcher.replace("{\n}", "{}")
