"""Fuzzed ``--method`` values: a valid name scaffolds importable code, any other is refused.

Refused means: ``InvalidNameError`` (the CLI's exit code 2 and one line), nothing written.
The library is called in-process; the CLI runs in a subprocess only for the user's view.
"""

from __future__ import annotations

import json
import keyword
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hardening_helpers import assert_whole, fuzz, tree_state, tried
from hypothesis import event, given
from hypothesis import strategies as st
from scaffold_helpers import run_cli

from quantizer_scaffold.scaffold import api
from quantizer_scaffold.scaffold.errors import ConflictError, InvalidNameError, RegistryError
from quantizer_scaffold.scaffold.naming import MAX_LENGTH, MethodName, Target

# An oracle written from the spec, independent of naming.py's implementation.
_SHAPES = [
    re.compile(r"[A-Z][A-Za-z0-9]*"),  # CamelCase
    re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*"),  # snake_case
    re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*"),  # kebab-case
]
_RESERVED = {"TrainingMethod", "QATConfig", "Enum"}


def well_shaped(text: str) -> bool:
    return len(text) <= MAX_LENGTH and any(shape.fullmatch(text) for shape in _SHAPES)


camel = st.from_regex(r"[A-Z][a-z]{1,6}(?:[A-Z][a-z0-9]{0,5}){0,3}", fullmatch=True)
snake = st.from_regex(r"[a-z][a-z0-9]{0,6}(?:_[a-z0-9]{1,5}){0,3}", fullmatch=True)
kebab = snake.map(lambda s: s.replace("_", "-"))
valid_shaped = st.one_of(camel, snake, kebab)

# Cyrillic and Greek letters that look like ASCII ones.
CONFUSABLES = dict(
    zip("aeopcMTBil", "\u0430\u0435\u043e\u0440\u0441\u041c\u0422\u0392\u0456\u04cf", strict=True)
)
SEPARATORS = ["/", "\\", "..", ".", "./", "../", "/..", "\x00", ":"]
SHELL = list(";|&$`'\"<>(){}[]*?!#~%^=+ \t\n") + ["$(touch x)", "`id`", "&&", "${IFS}", "\r\n"]


def _confusable(text: str) -> str:
    for plain, lookalike in CONFUSABLES.items():
        if plain in text:
            return text.replace(plain, lookalike, 1)
    return text + "\u0430"


def _insert(draw: st.DrawFn, base: str, piece: str) -> str:
    at = draw(st.integers(0, len(base)))
    return base[:at] + piece + base[at:]


@st.composite
def _mutated(draw: st.DrawFn) -> str:
    base = draw(valid_shaped)
    kind = draw(
        st.sampled_from(
            [
                "keyword",
                "digit",
                "unicode",
                "confusable",
                "separator",
                "shell",
                "long",
                "empty",
                "text",
                "case",
            ]
        )
    )
    if kind == "keyword":
        word = draw(st.sampled_from(keyword.kwlist + keyword.softkwlist))
        return draw(st.sampled_from([word, word.capitalize(), word.lower()]))
    if kind == "digit":
        return draw(st.from_regex(r"[0-9]", fullmatch=True)) + base
    if kind == "unicode":
        letter = draw(st.characters(categories=["Lu", "Ll", "Lo", "Nd"], min_codepoint=128))
        return _insert(draw, base, letter)
    if kind == "confusable":
        return _confusable(base)
    if kind == "separator":
        return _insert(draw, base, draw(st.sampled_from(SEPARATORS)))
    if kind == "shell":
        return _insert(draw, base, draw(st.sampled_from(SHELL)))
    if kind == "long":
        return base + draw(st.from_regex(r"[a-z0-9]{33,200}", fullmatch=True))
    if kind == "empty":
        return draw(st.sampled_from(["", " ", "_", "-", "__", "__init__", "_x", "x_", "a__b"]))
    if kind == "text":
        return draw(st.text(max_size=40))
    if kind == "case":  # mixed separators and casings
        return draw(st.sampled_from(["My_Method", "my_Method", "my-method_x", "MY-METHOD"]))
    raise AssertionError(kind)


def adversarial() -> st.SearchStrategy[str]:
    """Half well-shaped names, half names broken in one of the ways users break them."""
    return st.one_of(valid_shaped, _mutated())


def _collides(project: Path, name: MethodName) -> bool:
    """Whether the name meets an existing module, package or enum member of the project."""
    quantizers = project / "src/quantizer_scaffold/qat/keras/quantizer"
    taken = {p.stem for p in quantizers.iterdir()}
    enum = (project / "src/quantizer_scaffold/qat/common/qat_config.py").read_text()
    return name.snake in taken or re.search(rf"^\s+{name.camel} = ", enum, re.M) is not None


@fuzz(300)
@given(text=adversarial())
def test_parse_accepts_exactly_the_well_formed_names(text: str) -> None:
    tried("method names: parsing")
    try:
        name = MethodName.parse(text)
    except InvalidNameError as error:
        event("refused")
        message = str(error)
        assert message.startswith("invalid --method") and "\n" not in message
        if well_shaped(text):  # refused for a reason the shape does not show
            assert re.search(r"keyword|already a name|doubled", message), message
        return
    event("accepted")
    assert well_shaped(text), text
    for spelling in (name.camel, name.snake):
        assert spelling.isidentifier() and spelling.isascii()
        assert not keyword.iskeyword(spelling) and not keyword.issoftkeyword(spelling)
    assert name.camel not in _RESERVED
    assert name.snake == name.snake.lower() and "__" not in name.snake
    assert MethodName.parse(name.snake).snake == name.snake
    for target in Target:
        for module in (name.training_module(target), name.inferable_module(target)):
            assert module.isidentifier()
        assert name.test_module(target).isidentifier()


@fuzz(40)
@given(text=adversarial())
def test_scaffold_then_remove_in_process(text: str, new_project: Callable[[], Path]) -> None:
    tried("method names: scaffold, compile, remove")
    project = new_project()
    before = tree_state(project)
    try:
        name = MethodName.parse(text)
    except InvalidNameError:
        event("refused: invalid name")
        with pytest.raises(InvalidNameError):
            api.scaffold(text, "weights", root=project)
        assert tree_state(project) == before
        return
    if _collides(project, name):
        event("refused: collides with the project")
        with pytest.raises((ConflictError, RegistryError)) as error:
            api.scaffold(text, "activation", root=project)
        assert error.value.exit_code == 2 and "\n" not in str(error.value)
        assert tree_state(project) == before
        return
    event("scaffolded and removed")
    report = api.scaffold(text, "activation", ["uniform", "symmetric"], root=project)
    assert report.changed
    for item in report.files:
        if item.path.endswith(".py"):
            compile((project / item.path).read_text(), item.path, "exec")
    methods = {m.name: m.quantizers for m in assert_whole(project)}
    assert methods[name.enum_member] == {
        "activation": {
            "symmetric": name.training_class(Target.ACTIVATION),
            "uniform": name.training_class(Target.ACTIVATION),
        }
    }
    api.remove(text, root=project)
    assert tree_state(project) == before


# Names the CLI must refuse, one per family; fuzzed ones follow in the next test.
CLI_INVALID = ["", "class", "9lives", "my\u0430method", "../../etc/passwd", "$(touch pwned)",
               "x;rm -rf .", "a\nb", "x" * 300]  # fmt: skip


def _invalid(text: str) -> bool:
    try:
        MethodName.parse(text)
    except InvalidNameError:
        return "\x00" not in text  # argv cannot carry NUL; the library case covers it
    return False


def _assert_refused(text: str, project: Path, before: dict[str, str]) -> None:
    tried("method names: CLI refusals")
    result = run_cli("--method", text, "--target", "weights", cwd=project)
    assert result.returncode == 2, (text, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "invalid --method" in lines[0], (text, result.stderr)
    assert tree_state(project) == before


@pytest.mark.parametrize("text", CLI_INVALID)
def test_cli_refuses_invalid_names_in_one_line_and_writes_nothing(
    text: str, pristine: Path
) -> None:
    before = tree_state(pristine)
    _assert_refused(text, pristine, before)
    assert not (pristine.parent / "pwned").exists() and not (pristine / "pwned").exists()


@fuzz(8)
@given(text=_mutated().filter(_invalid))
def test_cli_refuses_fuzzed_invalid_names(text: str, pristine: Path) -> None:
    _assert_refused(text, pristine, tree_state(pristine))


def test_valid_names_import_for_real(new_project: Callable[[], Path]) -> None:
    """Three fuzz-shaped names scaffolded together; their modules import in a fresh Python."""
    project = new_project()
    names = ["Qx9", "lsq-plus2-mod", "ab_c1_d"]
    targets = ["weights", "activation", "weights"]
    tried("method names: fresh-process imports", len(names))
    for text, target in zip(names, targets, strict=True):
        api.scaffold(text, target, ["symmetric", "power_of_two"], root=project)
    assert_whole(project)
    code = (
        "import json, sys\n"
        "from quantizer_scaffold import quantizers_infrastructure as qi\n"
        "from quantizer_scaffold.qat.common.qat_config import TrainingMethod\n"
        "from quantizer_scaffold.qat.keras.quantizer import quantization_dispatcher_builder as d\n"
        "out = {}\n"
        "for member, table in ((m, t) for t in (d.METHOD2WEIGHTQUANTIZER, d.METHOD2ACTQUANTIZER)"
        " for m in t):\n"
        "    for qm, cls in table[member].items():\n"
        "        inf = cls.__module__.replace('training', 'inferable')\n"
        "        __import__(inf)\n"
        "        path = sys.modules[cls.__module__].__file__\n"
        "        out.setdefault(member.name, []).append([qm.name, cls.__name__, path])\n"
        "print(json.dumps(out))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(project / "src"), "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    imported = json.loads(result.stdout.strip().splitlines()[-1])
    for text in names:
        name = MethodName.parse(text)
        classes = {cls for _, cls, module in imported[name.enum_member]}
        files = {Path(path) for _, _, path in imported[name.enum_member]}
        assert classes <= {name.training_class(t) for t in Target}
        assert all(project / "src" in path.parents and name.package in path.parts for path in files)
