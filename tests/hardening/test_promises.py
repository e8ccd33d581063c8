"""The seven ways an adversarial run made the generator break a promise (issue 10), as properties.

Each family is drawn by hypothesis and ends in one of two ways: fixed (the run does what it
says and nothing the user wrote is lost), or refused with one line naming the problem, exit
code 2, and every byte and folder of the project as it was.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hardening_helpers import assert_whole, fuzz, tree_state, tried
from hypothesis import assume, given
from hypothesis import strategies as st
from scaffold_helpers import REGISTRY, run_cli

from quantizer_scaffold.scaffold import api, transaction, validate
from quantizer_scaffold.scaffold.errors import InvalidNameError, ScaffoldError
from quantizer_scaffold.scaffold.naming import MethodName

ENUM, DISPATCHER = REGISTRY
QUANTIZERS = "src/quantizer_scaffold/qat/keras/quantizer"


def refused(call: Callable[[], object], project: Path, *named: str) -> str:
    """``call`` fails with one line naming ``named``, exit code 2, and writes nothing."""
    before = tree_state(project)
    with pytest.raises(ScaffoldError) as error:
        call()
    message = str(error.value)
    assert error.value.exit_code == 2, message
    assert "\n" not in message, message
    for word in named:
        assert word in message, (word, message)
    assert tree_state(project) == before, message
    return message


# --------------------------------------------------------------------------- 1. two spellings


_word = st.from_regex(r"[a-z]{2,5}", fullmatch=True)


@st.composite
def twin_spellings(draw: st.DrawFn) -> tuple[str, str]:
    """Two --method values that differ as enum members but share one module folder."""
    words = draw(st.lists(_word, min_size=2, max_size=3))
    acronym = draw(st.integers(0, len(words) - 1))
    camel = "".join(w.upper() if i == acronym else w.capitalize() for i, w in enumerate(words))
    other = draw(
        st.sampled_from(["-".join(words), "_".join(words), "".join(w.title() for w in words)])
    )
    try:
        first, second = MethodName.parse(camel), MethodName.parse(other)
    except InvalidNameError:
        assume(False)
    assume(first.snake == second.snake and first.camel != second.camel)
    return (camel, other) if draw(st.booleans()) else (other, camel)


@fuzz(10)
@given(
    pair=twin_spellings(),
    second_target=st.sampled_from(["weights", "activation"]),
    force=st.booleans(),
)
def test_1_two_spellings_of_one_module_folder_are_refused(
    pair: tuple[str, str], second_target: str, force: bool, new_project: Callable[[], Path]
) -> None:
    tried("issue 10 #1: two spellings, one module folder")
    project = new_project()
    api.scaffold(pair[0], "weights", root=project)
    first = MethodName.parse(pair[0])
    message = refused(
        lambda: api.scaffold(pair[1], second_target, root=project, force=force),
        project,
        first.enum_member,
    )
    assert "did you mean" in message and "--force" not in message
    assert_whole(project)


def test_1_the_cli_names_the_existing_method(new_project: Callable[[], Path]) -> None:
    project = new_project()
    assert run_cli("--method", "MyQATMethod", cwd=project).returncode == 0
    before = tree_state(project)
    for extra in ([], ["--force"]):
        result = run_cli("--method", "my-qat-method", *extra, cwd=project)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and len(lines) == 1, result.stderr
        assert "did you mean --method MyQATMethod" in lines[0]
        assert tree_state(project) == before


# --------------------------------------------------------------------------- 2. one file, two names


SPELLINGS = {
    "plain": lambda p: p,
    "dot slash": lambda p: "./" + p,
    "double slash": lambda p: p.replace("/", "//", 1),
    "inner dot": lambda p: p.replace("/reg.py", "/./reg.py"),
    "backslashes": lambda p: p.replace("/", "\\"),
    "linked file": lambda p: p.replace("reg.py", "link.py"),
    "linked folder": lambda p: p.replace("src/demo", "src/alias"),
}


def _one_file_project(root: Path, enum_spelling: str, dispatcher_spelling: str) -> Path:
    (root / "src" / "demo").mkdir(parents=True)
    (root / "src" / "demo" / "__init__.py").write_text("")
    (root / "src" / "demo" / "reg.py").write_text(
        "from enum import Enum\n\nfrom quantizer_scaffold import quantizers_infrastructure as qi\n"
        "\n\nclass TrainingMethod(Enum):\n    STE = 0\n\n\n"
        "METHOD2WEIGHTQUANTIZER = {}\nMETHOD2ACTQUANTIZER = {}\n"
    )
    (root / "src" / "demo" / "link.py").symlink_to("reg.py")
    (root / "src" / "alias").symlink_to("demo")
    (root / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "0"\n\n[tool.scaffold-quantizer]\n'
        f"training_method_file = {json.dumps(enum_spelling)}\n"
        f"dispatcher_file = {json.dumps(dispatcher_spelling)}\n"
    )
    return root


@fuzz(12)
@given(
    enum_spelling=st.sampled_from(sorted(SPELLINGS)),
    dispatcher_spelling=st.sampled_from(sorted(SPELLINGS)),
)
def test_2_the_enum_and_the_dicts_in_one_file_under_two_names_are_refused(
    enum_spelling: str, dispatcher_spelling: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    tried("issue 10 #2: one registry file under two names")
    path = "src/demo/reg.py"
    project = _one_file_project(
        tmp_path_factory.mktemp("one_file"),
        SPELLINGS[enum_spelling](path),
        SPELLINGS[dispatcher_spelling](path),
    )
    refused(lambda: api.scaffold("NewMethod", root=project), project, "same file", path)


# --------------------------------------------------------------------------- 3. recovery


class Killed(BaseException):
    """Stands for SIGKILL: nothing catches it, so the run stops where it is, journal left."""


def _killed_run(project: Path, point: str, k: int, monkeypatch: pytest.MonkeyPatch) -> None:
    counts: dict[str, int] = {}

    def fault(name: str) -> None:
        counts[name] = counts.get(name, 0) + 1
        if name == point and counts[name] == k:
            raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(transaction, "_fault", fault)
        with pytest.raises(Killed):
            api.scaffold("Crashed", "weights", ["symmetric", "uniform"], root=project)
    assert (project / transaction.JOURNAL_FILE).exists()


def _journal(project: Path) -> list[dict[str, str | None]]:
    return json.loads((project / transaction.JOURNAL_FILE).read_text())["changes"]


def _decode(data: str | None) -> str | None:
    return None if data is None else base64.b64decode(data).decode()


EDITS = ["append a line", "add an enum member by hand", "delete it", "create it"]


@fuzz(16)
@given(
    point=st.sampled_from(["write", "replace"]),
    k=st.integers(1, 7),
    which=st.integers(0, 50),
    edit=st.sampled_from(EDITS),
)
def test_3_recovery_never_overwrites_an_edit_made_after_the_crash(
    point: str,
    k: int,
    which: int,
    edit: str,
    new_project: Callable[[], Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tried("issue 10 #3: recovery after the user edited a journaled file")
    project = new_project()
    _killed_run(project, point, k, monkeypatch)
    changes = _journal(project)
    present = [c for c in changes if (project / c["path"]).exists()]
    absent = [c for c in changes if not (project / c["path"]).exists()]
    if edit == "add an enum member by hand":
        path = project / ENUM
        path.write_text(path.read_text().replace("    STE = 0\n", "    STE = 0\n    ByHand = 41\n"))
    elif edit == "create it" and absent:
        path = project / absent[which % len(absent)]["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("# the user's own file\n")
    elif edit == "delete it" and any(_decode(c["before"]) is not None for c in present):
        candidates = [c for c in present if _decode(c["before"]) is not None]
        path = project / candidates[which % len(candidates)]["path"]
        path.unlink()
    else:
        path = project / present[which % len(present)]["path"]
        path.write_text(path.read_text() + "# the user's line\n")
    named = path.relative_to(project).as_posix()
    message = refused(lambda: api.scaffold("Other", root=project), project, named)
    assert "recover --discard-journal" in message
    refused(lambda: api.remove("Crashed", root=project), project, named)
    refused(lambda: api.recover(root=project), project, named)
    edited = tree_state(project)
    report = api.recover(root=project, discard_journal=True)  # keep every file as it is
    assert report.notes and not (project / transaction.JOURNAL_FILE).exists()
    edited.pop(transaction.JOURNAL_FILE)
    assert tree_state(project) == edited


def test_3_a_journal_naming_a_user_file_as_created_never_deletes_it(
    new_project: Callable[[], Path],
) -> None:
    project = new_project()
    mine = project / "src" / "mine.py"
    mine.write_text("precious = True\n")
    journal = {
        "changes": [
            {
                "path": "src/mine.py",
                "before": None,
                "after": base64.b64encode(b"generated = True\n").decode(),
            }
        ],
        "created_dirs": [],
    }
    (project / transaction.JOURNAL_FILE).write_text(json.dumps(journal))
    refused(lambda: api.scaffold("Other", root=project), project, "src/mine.py")
    assert mine.read_text() == "precious = True\n"


def test_3_list_warns_and_dry_run_points_at_a_safe_recovery(
    new_project: Callable[[], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    project = new_project()
    _killed_run(project, "replace", 3, monkeypatch)
    before = tree_state(project)
    listed = run_cli("list", cwd=project)
    assert listed.returncode == 0 and "interrupted" in listed.stderr, listed.stderr
    assert "recover" in listed.stderr
    dry = run_cli("--method", "Other", "--dry-run", cwd=project)
    assert dry.returncode == 2 and "recover" in dry.stderr
    assert "without --dry-run" not in dry.stderr
    shown = run_cli("recover", "--dry-run", cwd=project)
    assert shown.returncode == 0 and "would undo an interrupted run" in shown.stdout
    written = [c["path"] for c in _journal(project) if (project / c["path"]).exists()]
    assert any(f"DELETE  {path}" in shown.stdout for path in written), shown.stdout
    assert tree_state(project) == before
    done = run_cli("recover", cwd=project)
    assert done.returncode == 0, done.stderr
    assert not (project / transaction.JOURNAL_FILE).exists()
    assert_whole(project)


# --------------------------------------------------------------------------- 4. --force


@fuzz(10)
@given(
    value=st.sampled_from(["STEWeightQuantizer", "STEUniformWeightQuantizer"]),
    comment=st.sampled_from(["", "  # mine"]),
    more=st.lists(st.sampled_from(["power_of_two", "uniform"]), unique=True),
    force=st.booleans(),
)
def test_4_force_never_puts_back_a_registry_value_the_user_edited(
    value: str, comment: str, more: list[str], force: bool, new_project: Callable[[], Path]
) -> None:
    tried("issue 10 #4: --force and an edited registry value")
    project = new_project()
    api.scaffold("Forced", "weights", root=project)
    dispatcher = project / DISPATCHER
    generated = "qi.QuantizationMethod.SYMMETRIC: ForcedWeightsTrainingQuantizer,"
    mine = f"qi.QuantizationMethod.SYMMETRIC: {value},{comment}"
    assert dispatcher.read_text().count(generated) == 1
    dispatcher.write_text(dispatcher.read_text().replace(generated, mine))
    grids = ["symmetric", *more]
    if more and not force:  # new grids re-render the modules: that still needs --force
        refused(lambda: api.scaffold("Forced", "weights", grids, root=project), project, "--force")
        return
    report = api.scaffold("Forced", "weights", grids, root=project, force=force)
    text = dispatcher.read_text()
    assert mine in text and generated not in text
    assert any("kept" in note and value in note for note in report.notes), report.notes
    registered = {m.name: m.quantizers for m in assert_whole(project)}["Forced"]["weights"]
    assert registered == {"symmetric": value, **{g: "ForcedWeightsTrainingQuantizer" for g in more}}


# --------------------------------------------------------------------------- 5. a used member

USES = {
    "module constant": (ENUM, "\n\nDEFAULT_METHOD = TrainingMethod.{m}\n"),
    "function": (ENUM, "\n\ndef default() -> TrainingMethod:\n    return TrainingMethod.{m}\n"),
    "dispatcher constant": (DISPATCHER, "\n\nFALLBACK = TrainingMethod.{m}\n"),
}


@fuzz(6)
@given(uses=st.lists(st.sampled_from(sorted(USES)), min_size=1, unique=True))
def test_5_remove_keeps_a_member_the_registry_files_still_use(
    uses: list[str], new_project: Callable[[], Path]
) -> None:
    tried("issue 10 #5: remove and a member still in use")
    project = new_project()
    api.scaffold("Used", "weights", root=project)
    api.scaffold("Used", "activation", root=project)
    for use in uses:
        path, line = USES[use]
        (project / path).write_text((project / path).read_text() + line.format(m="Used"))
    edited = {p: (project / p).read_text() for p in REGISTRY}
    report = api.remove("Used", root=project)
    methods = {m.name: m.quantizers for m in assert_whole(project)}
    assert methods["Used"] == {}  # no dispatcher entry left, the member stays
    assert any("TrainingMethod.Used" in note and "still" in note for note in report.notes)
    for path in REGISTRY:
        text = (project / path).read_text()
        assert "UsedWeightsTrainingQuantizer" not in text
        validate.compiles(path, text)
        assert validate.unresolved_names(path, text) == []
    for use in uses:
        path, line = USES[use]
        assert line.format(m="Used") in (project / path).read_text()
    assert edited[ENUM].count("Used = ") == (project / ENUM).read_text().count("Used = ") == 1


# --------------------------------------------------------------------------- 6. byte-order mark

BOM = "\ufeff"


@fuzz(8)
@given(
    marked=st.sampled_from([(True, False), (False, True), (True, True)]),
    crlf=st.booleans(),
    targets=st.sampled_from([["weights"], ["weights", "activation"]]),
)
def test_6_a_byte_order_mark_stays_and_remove_gives_back_every_byte(
    marked: tuple[bool, bool], crlf: bool, targets: list[str], new_project: Callable[[], Path]
) -> None:
    tried("issue 10 #6: byte-order marks")
    project = new_project()
    for path, mark in zip(REGISTRY, marked, strict=True):
        text = (project / path).read_text()
        text = text.replace("\n", "\r\n") if crlf else text
        (project / path).write_bytes(((BOM if mark else "") + text).encode())
    before = tree_state(project)
    for target in targets:
        api.scaffold("Marked", target, root=project)
    for path, mark in zip(REGISTRY, marked, strict=True):
        data = (project / path).read_bytes()
        assert data.startswith(BOM.encode()) == mark
        assert b"Marked" in data
        if crlf:
            assert data.count(b"\n") == data.count(b"\r\n")
    api.remove("Marked", root=project)
    assert tree_state(project) == before


# ------------------------------------------------------------------------ 7. attribute docstrings

DOCSTRINGS = [
    '"""Straight-through estimator."""',
    "'''Straight-through estimator.'''",
    '"Straight-through estimator."',
    'r"""Straight-through estimator."""',
    '"""Straight-through estimator.\n\n    Rounds in the forward pass.\n    """',
]


@st.composite
def documented_enum(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    """This repository's enum with extra members, some documented by attribute docstrings."""
    members = ["STE", *draw(st.lists(st.sampled_from(["Alpha", "Beta", "Gamma"]), unique=True))]
    lines, documented = [], {}
    for value, member in enumerate(members):
        lines.append(f"    {member} = {value}")
        if member == members[-1] or draw(st.booleans()):
            doc = draw(st.sampled_from(DOCSTRINGS))
            documented[member] = doc
            lines.append(f"    {doc}")
            if draw(st.booleans()):
                lines.append("    # a comment after the docstring")
        if member != members[-1] and draw(st.booleans()):
            lines.append("")
    return "\n".join(lines) + "\n", documented


@fuzz(10)
@given(body=documented_enum())
def test_7_an_attribute_docstring_stays_with_its_member(
    body: tuple[str, dict[str, str]], new_project: Callable[[], Path]
) -> None:
    tried("issue 10 #7: attribute docstrings")
    project = new_project()
    enum_file = project / ENUM
    members, documented = body
    enum_file.write_text(enum_file.read_text().replace("    STE = 0\n", members, 1))
    before = tree_state(project)
    api.scaffold("Documented", "weights", root=project)
    text = enum_file.read_text()
    for member, doc in documented.items():
        assert re.search(rf"^    {member} = \d+\n    {re.escape(doc)}\n", text, re.M), text
    assert re.search(r"^    Documented = \d+\n", text, re.M)
    lines = text.splitlines()
    new = lines.index(next(line for line in lines if line.startswith("    Documented = ")))
    assert not lines[new + 1].strip().startswith(("'", '"', "r'", 'r"'))  # nothing documents it
    api.remove("Documented", root=project)
    assert tree_state(project) == before


@pytest.mark.skipif(os.name != "posix", reason="symlinks")
def test_2_a_symlinked_dispatcher_is_the_same_file(tmp_path: Path) -> None:
    project = _one_file_project(tmp_path / "p", "src/demo/reg.py", "src/demo/link.py")
    refused(lambda: api.scaffold("NewMethod", root=project), project, "same file")
