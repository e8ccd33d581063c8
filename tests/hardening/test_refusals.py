"""The rest of issue 10's adversarial findings: wrong results and unclear errors, as properties.

Every case is either handled (the registry the run leaves is right, and ``remove`` gives back
every byte) or refused with one line that names the problem and the fix, exit code 2, and
nothing written.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from hardening_helpers import assert_whole, fuzz, tree_state, tried
from hypothesis import given
from hypothesis import strategies as st
from scaffold_helpers import REGISTRY, run_cli
from test_promises import refused

from quantizer_scaffold.scaffold import api, registry, transaction
from quantizer_scaffold.scaffold.errors import LockTimeoutError
from quantizer_scaffold.scaffold.naming import MethodName, Target

ENUM, DISPATCHER = REGISTRY
NEW = MethodName.parse("NewMethod")
MODULE = "pkg.quantizers.new_method.weights_training_quantizer"


def _texts(enum_text: str, dispatcher_text: str) -> registry.RegistryTexts:
    return registry.RegistryTexts(enum_text, "enum.py", dispatcher_text, "d.py")


def _extra_members(project: Path, *members: str) -> None:
    """Members added to the enum by hand (no dispatcher entries)."""
    enum_file = project / ENUM
    lines = "".join(f"    {m} = {100 + i}\n" for i, m in enumerate(members))
    enum_file.write_text(enum_file.read_text().replace("    STE = 0\n", "    STE = 0\n" + lines))


# --------------------------------------------------------------------------- names in other cases


@st.composite
def case_variants(draw: st.DrawFn) -> tuple[str, str]:
    """(an existing member, a --method value whose member differs from it only in case)."""
    member = draw(st.sampled_from(["STE", "LSQ", "DoReFa", "MyQATMethod"]))
    flips = draw(st.lists(st.booleans(), min_size=len(member), max_size=len(member)))
    variant = "".join(c.swapcase() if f else c for c, f in zip(member, flips, strict=True))
    if not variant[0].isupper() and not variant.islower():
        variant = variant[0].upper() + variant[1:]  # a CamelCase spelling
    if variant == member:
        variant = member.lower()
    return member, variant


@fuzz(12)
@given(pair=case_variants())
def test_a_member_differing_only_in_case_is_refused_with_did_you_mean(
    pair: tuple[str, str], new_project: Callable[[], Path]
) -> None:
    tried("also: names differing only in case")
    member, variant = pair
    project = new_project()
    _extra_members(project, *(m for m in ("LSQ", "DoReFa", "MyQATMethod") if m == member))
    message = refused(lambda: api.scaffold(variant, root=project), project, member)
    assert f"did you mean --method {member}" in message and "--force" not in message


def test_lsq_next_to_lsq_says_did_you_mean_in_the_cli(new_project: Callable[[], Path]) -> None:
    tried("also: names differing only in case")
    project = new_project()
    assert run_cli("--method", "LSQ", cwd=project).returncode == 0
    before = tree_state(project)
    result = run_cli("--method", "lsq", cwd=project)
    assert result.returncode == 2 and "did you mean --method LSQ?" in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and tree_state(project) == before


# --------------------------------------------------------------------------- Flag enums

FLAG_VALUES = {
    "decimal": lambda bit: str(1 << bit),
    "hex": lambda bit: hex(1 << bit),
    "shift": lambda bit: f"1 << {bit}",
}


@st.composite
def flag_enum(draw: st.DrawFn) -> tuple[str, int]:
    """A Flag/IntFlag TrainingMethod (maybe with a composite member); the bits it uses."""
    base = draw(st.sampled_from(["Flag", "IntFlag", "enum.Flag", "enum.IntFlag"]))
    style = draw(st.sampled_from(sorted(FLAG_VALUES)))
    bits = draw(st.lists(st.integers(0, 6), min_size=1, max_size=4, unique=True).map(sorted))
    names = ["STE", "LSQ", "PACT", "DOREFA"][: len(bits)]
    lines = [f"    {n} = {FLAG_VALUES[style](b)}" for n, b in zip(names, bits, strict=True)]
    used = sum(1 << b for b in bits)
    if len(names) > 1 and draw(st.booleans()):
        lines.append(f"    BOTH = {names[0]} | {names[1]}")
    header = "import enum\n" if base.startswith("enum.") else f"from enum import {base}\n"
    return f"{header}\n\nclass TrainingMethod({base}):\n" + "\n".join(lines) + "\n", used


FLAG_DISPATCHER = (
    "from pkg import QuantizationMethod, TrainingMethod\n\n"
    "METHOD2WEIGHTQUANTIZER = {}\nMETHOD2ACTQUANTIZER = {}\n"
)


@fuzz(25)
@given(shape=flag_enum())
def test_a_flag_enum_gets_a_bit_of_its_own(shape: tuple[str, int]) -> None:
    tried("also: Flag enums")
    enum_text, used = shape
    result = registry.register(
        _texts(enum_text, FLAG_DISPATCHER), NEW, Target.WEIGHTS, ["symmetric"], MODULE
    )
    namespace: dict[str, object] = {}
    exec(compile(result.enum_text, "enum.py", "exec"), namespace)
    value = namespace["TrainingMethod"].NewMethod.value  # type: ignore[attr-defined]
    assert value & (value - 1) == 0 and value & used == 0, result.enum_text  # a new single bit
    assert namespace["TrainingMethod"](value).name == "NewMethod"  # type: ignore[operator]
    undone = registry.unregister(
        _texts(result.enum_text, result.dispatcher_text), NEW, [Target.WEIGHTS],
        {Target.WEIGHTS: MODULE, Target.ACTIVATION: MODULE}, remove_member=True,
    )  # fmt: skip
    assert undone.enum_text == enum_text


# --------------------------------------------------------------------------- shadowing statements

SHADOWS = {
    "update with the member": "METHOD2WEIGHTQUANTIZER.update({{TrainingMethod.{m}: {{}}}})",
    "item assignment": "METHOD2WEIGHTQUANTIZER[TrainingMethod.{m}] = {{}}",
    "in-place union": "METHOD2WEIGHTQUANTIZER |= {{TrainingMethod.{m}: {{}}}}",
    "rebinding": "METHOD2WEIGHTQUANTIZER = {{**METHOD2WEIGHTQUANTIZER}}",
    "update from a name": "METHOD2WEIGHTQUANTIZER.update(EXTRA)",
    "annotated rebinding": "METHOD2WEIGHTQUANTIZER: dict = dict(METHOD2WEIGHTQUANTIZER)",
}
HARMLESS = {
    "update of another member": "METHOD2WEIGHTQUANTIZER.update({{TrainingMethod.STE: {{}}}})",
    "read": "WEIGHT_METHODS = sorted(METHOD2WEIGHTQUANTIZER, key=str)",
    "inside a function": "def patch():\n    METHOD2WEIGHTQUANTIZER[TrainingMethod.{m}] = {{}}",
}


@fuzz(18)
@given(
    statement=st.sampled_from(sorted(SHADOWS) + sorted(HARMLESS)),
    member_exists=st.booleans(),
)
def test_a_later_statement_that_could_shadow_the_new_entry_is_refused(
    statement: str, member_exists: bool, new_project: Callable[[], Path]
) -> None:
    tried("also: statements after the dict literal")
    project = new_project()
    if member_exists:
        _extra_members(project, "NewMethod")
    member = "NewMethod" if member_exists else "STE"
    code = {**SHADOWS, **HARMLESS}[statement].format(m=member)
    dispatcher = project / DISPATCHER
    dispatcher.write_text(dispatcher.read_text() + "\nEXTRA: dict = {}\n" + code + "\n")
    if statement in SHADOWS and (member_exists or "{m}" not in SHADOWS[statement]):
        line = dispatcher.read_text().splitlines().index(code.splitlines()[0]) + 1
        message = refused(
            lambda: api.scaffold("NewMethod", root=project), project, "METHOD2WEIGHTQUANTIZER"
        )
        assert f"line {line}" in message
        return
    api.scaffold("NewMethod", root=project)
    assert {m.name: m.quantizers for m in assert_whole(project)}["NewMethod"] == {
        "weights": {"symmetric": "NewMethodWeightsTrainingQuantizer"}
    }
    assert code in dispatcher.read_text()


# --------------------------------------------------------------------------- string keys


@fuzz(10)
@given(
    quote=st.sampled_from(["'", '"']),
    where=st.sampled_from(["METHOD2WEIGHTQUANTIZER", "METHOD2ACTQUANTIZER"]),
    target=st.sampled_from(["weights", "activation"]),
)
def test_string_keyed_dicts_are_refused(
    quote: str, where: str, target: str, new_project: Callable[[], Path]
) -> None:
    tried("also: string-keyed dispatcher dicts")
    project = new_project()
    dispatcher = project / DISPATCHER
    text = dispatcher.read_text()
    assert f"{where} = {{\n    TrainingMethod.STE: {{" in text
    dispatcher.write_text(
        text.replace(
            f"{where} = {{\n    TrainingMethod.STE:", f"{where} = {{\n    {quote}STE{quote}:"
        )
    )
    message = refused(lambda: api.scaffold("NewMethod", target, root=project), project, where)
    assert "STE" in message and "TrainingMethod." in message


# --------------------------------------------------------------------------- member spellings

MEMBER_FORMS = {
    "plain": "    {n} = {v}",
    "annotated": "    {n}: int = {v}",
    "after a semicolon": None,  # joined to the previous member's line
}


@st.composite
def member_spellings(draw: st.DrawFn) -> list[tuple[str, str]]:
    forms = draw(st.lists(st.sampled_from(sorted(MEMBER_FORMS)), min_size=1, max_size=4))
    names = ["STE", "Alpha", "Beta", "Gamma"]
    return [(names[i], form) for i, form in enumerate(forms)]


@fuzz(15)
@given(spellings=member_spellings())
def test_annotated_and_semicolon_members_are_read(
    spellings: list[tuple[str, str]], new_project: Callable[[], Path]
) -> None:
    tried("also: annotated and semicolon-joined members")
    project = new_project()
    lines: list[str] = []
    for value, (name, form) in enumerate(spellings):
        pattern = MEMBER_FORMS[form]
        if pattern is None and lines:
            lines[-1] += f"; {name} = {value}"
        else:
            lines.append((pattern or MEMBER_FORMS["plain"]).format(n=name, v=value))
    # the baseline's LSQ (which the Keras 3 dispatcher names) stays, after them
    lines.append(f"    LSQ = {len(spellings)}")
    enum_file = project / ENUM
    original = enum_file.read_text()
    assert "    STE = 0\n    LSQ = 1\n" in original
    enum_file.write_text(original.replace("    STE = 0\n    LSQ = 1\n", "\n".join(lines) + "\n"))
    before = tree_state(project)
    api.scaffold("NewMethod", root=project)
    methods = {m.name: m.value for m in assert_whole(project)}
    assert [n for n, _ in spellings] == list(methods)[: len(spellings)]
    assert methods["NewMethod"] == len(spellings) + 1
    api.remove("NewMethod", root=project)
    assert tree_state(project) == before


# --------------------------------------------------------------------------- configuration


@fuzz(10)
@given(
    bad=st.sampled_from(["-", " ", ".", "+", "!"]),
    key=st.sampled_from(["quantizers_dir", "tests_dir"]),
)
def test_a_folder_that_is_no_python_identifier_is_named(
    bad: str, key: str, new_project: Callable[[], Path]
) -> None:
    tried("also: folders that are no Python identifier")
    project = new_project()
    pyproject = project / "pyproject.toml"
    if key == "quantizers_dir":
        old = 'quantizers_dir = "src/quantizer_scaffold/qat/keras/quantizer"'
        new = f'quantizers_dir = "src/quantizer_scaffold/qat/keras/my{bad}quantizers"'
        pyproject.write_text(pyproject.read_text().replace(old, new))
        message = refused(lambda: api.scaffold("NewMethod", root=project), project, key)
        assert f"my{bad}quantizers" in message
    else:  # tests need not be importable: any folder name works
        pyproject.write_text(
            pyproject.read_text().replace('"tests/generated"', f'"tests/my{bad}tests"')
        )
        api.scaffold("NewMethod", root=project)
        assert (project / f"tests/my{bad}tests/test_new_method_weights_quantizer.py").is_file()


@pytest.mark.parametrize("key", ["training_method_file", "dispatcher_file"])
def test_a_registry_file_naming_a_folder_says_so(key: str, new_project: Callable[[], Path]) -> None:
    tried("also: a registry file that is a folder")
    project = new_project()
    pyproject = project / "pyproject.toml"
    path = ENUM if key == "training_method_file" else DISPATCHER
    folder = path.rsplit("/", 1)[0]
    pyproject.write_text(pyproject.read_text().replace(f'{key} = "{path}"', f'{key} = "{folder}"'))
    message = refused(lambda: api.scaffold("NewMethod", root=project), project, folder, key)
    assert "folder" in message and "does not exist" not in message


# --------------------------------------------------------------------------- the journal and lock


def test_a_full_disk_before_the_journal_is_written_is_one_line(
    new_project: Callable[[], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    tried("also: journal and lock failures")
    project = new_project()
    monkeypatch.setenv(transaction.FAULT_ENV, "journal:1")
    transaction._fault_counts.clear()
    before = tree_state(project)
    with pytest.raises(transaction.TransactionError) as error:
        api.scaffold("NewMethod", root=project)
    assert "\n" not in str(error.value) and "nothing was written" in str(error.value)
    assert tree_state(project) == before


def test_a_folder_at_the_lock_path_is_named(new_project: Callable[[], Path]) -> None:
    tried("also: journal and lock failures")
    project = new_project()
    (project / transaction.LOCK_FILE).mkdir()
    refused(lambda: api.scaffold("NewMethod", root=project), project, transaction.LOCK_FILE)
    result = run_cli("--method", "NewMethod", cwd=project)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


MALFORMED = {
    "not JSON": "{changes: [",
    "a list": "[]",
    "no changes": "{}",
    "changes not a list": '{"changes": {}}',
    "a change not an object": '{"changes": [1]}',
    "path missing": json.dumps({"changes": [{"before": None, "after": None}]}),
    "path not text": json.dumps({"changes": [{"path": 3, "before": None, "after": None}]}),
    "path outside": json.dumps(
        {"changes": [{"path": "../outside.py", "before": None, "after": _b64("x")}]}
    ),
    "absolute path": json.dumps(
        {"changes": [{"path": "/etc/passwd", "before": None, "after": _b64("x")}]}
    ),
    "not base64": json.dumps({"changes": [{"path": "a.py", "before": None, "after": "%%%"}]}),
    "not UTF-8": json.dumps(
        {"changes": [{"path": "a.py", "before": None, "after": base64.b64encode(b"\xff").decode()}]}
    ),
    "created_dirs not a list": json.dumps({"changes": [], "created_dirs": "src"}),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_journal_is_named_in_one_line(
    case: str, new_project: Callable[[], Path]
) -> None:
    tried("also: malformed journals")
    project = new_project()
    (project / transaction.JOURNAL_FILE).write_text(MALFORMED[case])
    message = refused(
        lambda: api.scaffold("NewMethod", root=project), project, transaction.JOURNAL_FILE
    )
    assert "recover --discard-journal" in message


def test_the_lock_timeout_never_suggests_deleting_a_live_lock(
    new_project: Callable[[], Path],
) -> None:
    tried("also: journal and lock failures")
    project = new_project()
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with transaction.project_lock(project):
            held.set()
            release.wait(30)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert held.wait(30)
        with pytest.raises(LockTimeoutError) as error:
            with transaction.project_lock(project, timeout=0.2):
                pass
    finally:
        release.set()
        thread.join()
    message = str(error.value)
    assert "delete" not in message and "wait" in message and str(os.getpid()) in message


# --------------------------------------------------------------------------- remove


def test_remove_of_a_method_the_tool_did_not_make_says_so(new_project: Callable[[], Path]) -> None:
    tried("also: remove of what the tool did not make")
    project = new_project()
    message = refused(lambda: api.remove("STE", root=project), project, "STE")
    assert "not registered at all" not in message and "scaffold-quantizer" in message
    listed = json.loads(run_cli("list", "--json", cwd=project).stdout)
    assert "STE" in {m["name"] for m in listed["methods"]}


def test_remove_twice_reports_nothing_to_change(new_project: Callable[[], Path]) -> None:
    tried("also: remove of what the tool did not make")
    project = new_project()
    api.scaffold("Twice", root=project)
    api.remove("Twice", root=project)
    before = tree_state(project)
    report = api.remove("Twice", root=project)
    assert not report.changed and any("not registered" in n for n in report.notes)
    assert tree_state(project) == before
    result = run_cli("remove", "--method", "Twice", cwd=project)
    assert result.returncode == 0 and "nothing to change" in result.stdout, result.stderr


def test_member_values_are_read_as_python_reads_them() -> None:
    tried("also: annotated and semicolon-joined members")
    text = "from enum import Enum\n\n\nclass TrainingMethod(Enum):\n"
    text += "    A: int = 3\n    B = 4; C = 0x5\n"
    found = {m.name: m.value for m in registry.Registry(_texts(text, FLAG_DISPATCHER)).methods()}
    namespace: dict[str, object] = {}
    exec(compile(text, "enum.py", "exec"), namespace)
    assert found == {m.name: m.value for m in namespace["TrainingMethod"]}  # type: ignore[attr-defined]
