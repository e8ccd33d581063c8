"""Registry codemods on many file shapes: exact inverse, every other byte untouched, importable."""

from __future__ import annotations

import difflib

import pytest

from quantizer_scaffold.scaffold import registry
from quantizer_scaffold.scaffold.errors import RegistryError
from quantizer_scaffold.scaffold.naming import MethodName, Target
from quantizer_scaffold.scaffold.validate import unresolved_names

MODULE = "pkg.quantizers.my_method.weights_training_quantizer"
ACT_MODULE = "pkg.quantizers.my_method.activations_training_quantizer"
NAME = MethodName.parse("MyMethod")

ENUM = '''"""Training methods."""

from enum import Enum


class TrainingMethod(Enum):
    """Docstring stays."""

    # the original method
    STE = 0  # straight through
    LSQ = 3

    def describe(self) -> str:
        return self.name
'''

DISPATCHERS = {
    "multi-line, trailing commas and comments": """from pkg import quantizers_infrastructure as qi
from pkg.common import TrainingMethod
from pkg.ste import STEWeightQuantizer, STEActivationQuantizer

METHOD2WEIGHTQUANTIZER = {
    # built-in
    TrainingMethod.STE: {
        qi.QuantizationMethod.SYMMETRIC: STEWeightQuantizer,  # sym
    },  # last entry comment (libcst issue 1377)
    # trailing comment line
}

METHOD2ACTQUANTIZER = {
    TrainingMethod.STE: {qi.QuantizationMethod.SYMMETRIC: STEActivationQuantizer},
}
""",
    "one-line dicts without trailing commas": """from pkg import quantizers_infrastructure as qi
from pkg.common import TrainingMethod
from pkg.ste import STEWeightQuantizer, STEActivationQuantizer

METHOD2WEIGHTQUANTIZER = {TrainingMethod.STE: {qi.QuantizationMethod.SYMMETRIC: STEWeightQuantizer}}
METHOD2ACTQUANTIZER = {TrainingMethod.STE: {qi.QuantizationMethod.SYMMETRIC: STEActivationQuantizer}}
""",  # noqa: E501
    "annotated, no trailing comma, imported names": """from typing import Dict

from pkg.common import QuantizationMethod, TrainingMethod
from pkg.ste import STEWeightQuantizer

METHOD2WEIGHTQUANTIZER: Dict[TrainingMethod, Dict[QuantizationMethod, type]] = {
    TrainingMethod.STE: {
        QuantizationMethod.SYMMETRIC: STEWeightQuantizer
    }
}
METHOD2ACTQUANTIZER: Dict[TrainingMethod, Dict[QuantizationMethod, type]] = {}
""",
    "imports inside try/except, empty dicts": '''"""Dispatcher."""

try:
    from pkg import quantizers_infrastructure as qi
    from pkg.common import TrainingMethod
except ImportError:  # pragma: no cover
    raise

METHOD2WEIGHTQUANTIZER = {}
METHOD2ACTQUANTIZER = {}
''',
}


def _texts(dispatcher: str, enum: str = ENUM) -> registry.RegistryTexts:
    return registry.RegistryTexts(enum, "enum.py", dispatcher, "dispatcher.py")


def _register(texts: registry.RegistryTexts, target: Target, methods: list[str]):
    module = MODULE if target is Target.WEIGHTS else ACT_MODULE
    return registry.register(texts, NAME, target, methods, module, line_length=100)


def _removed_lines(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="")
        if line.startswith("-") and not line.startswith("---")
    ]


@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
@pytest.mark.parametrize("shape", list(DISPATCHERS))
def test_register_both_targets_then_unregister_gives_back_the_bytes(shape: str, crlf: bool) -> None:
    dispatcher, enum = DISPATCHERS[shape], ENUM
    if crlf:
        dispatcher, enum = dispatcher.replace("\n", "\r\n"), enum.replace("\n", "\r\n")
    texts = _texts(dispatcher, enum)
    first = _register(texts, Target.WEIGHTS, ["symmetric"])
    second = _register(
        _texts(first.dispatcher_text, first.enum_text), Target.ACTIVATION, ["symmetric", "uniform"]
    )
    assert first.created_member and not second.created_member
    assert _removed_lines(enum, second.enum_text) == []  # only additions
    if shape.startswith("multi-line"):
        assert _removed_lines(dispatcher, second.dispatcher_text) == []
    for after in (second.enum_text, second.dispatcher_text):
        compile(after, "registry.py", "exec")
        if crlf:
            assert after.count("\n") == after.count("\r\n")
    assert "MyMethod = 4" in second.enum_text  # next integer after the largest (3)
    assert (
        unresolved_names("d.py", second.dispatcher_text)
        == [n for n in unresolved_names("d.py", dispatcher)]
        or unresolved_names("d.py", second.dispatcher_text) == []
    )
    assert (
        second.dispatcher_text.count("import MyMethodWeightsTrainingQuantizer")
        + (second.dispatcher_text.count("    MyMethodWeightsTrainingQuantizer,\n"))
        >= 1
    )
    entries = {
        m.name: m.quantizers
        for m in registry.read_registry(_texts(second.dispatcher_text, second.enum_text))
    }
    assert entries["MyMethod"] == {
        "weights": {"symmetric": "MyMethodWeightsTrainingQuantizer"},
        "activation": {
            "symmetric": "MyMethodActivationsTrainingQuantizer",
            "uniform": "MyMethodActivationsTrainingQuantizer",
        },
    }
    undone = registry.unregister(
        _texts(second.dispatcher_text, second.enum_text),
        NAME,
        [Target.WEIGHTS, Target.ACTIVATION],
        {Target.WEIGHTS: MODULE, Target.ACTIVATION: ACT_MODULE},
        remove_member=True,
    )
    assert undone.enum_text == enum
    assert undone.dispatcher_text == dispatcher


def test_trailing_comment_stays_on_its_entry() -> None:
    dispatcher = DISPATCHERS["multi-line, trailing commas and comments"]
    result = _register(_texts(dispatcher), Target.WEIGHTS, ["symmetric"])
    assert "    },  # last entry comment (libcst issue 1377)\n    TrainingMethod.MyMethod: {\n" in (
        result.dispatcher_text
    )
    assert "    },\n    # trailing comment line\n}" in result.dispatcher_text
    assert ",," not in result.dispatcher_text.replace(" ", "")


def test_inserted_code_uses_the_files_own_spelling() -> None:
    result = _register(
        _texts(DISPATCHERS["annotated, no trailing comma, imported names"]),
        Target.WEIGHTS,
        ["uniform"],
    )
    assert "QuantizationMethod.UNIFORM: MyMethodWeightsTrainingQuantizer" in result.dispatcher_text
    assert "qi." not in result.dispatcher_text
    assert "METHOD2WEIGHTQUANTIZER: Dict[TrainingMethod, Dict[QuantizationMethod, type]] = {" in (
        result.dispatcher_text
    )


def test_import_goes_to_its_sorted_place_once() -> None:
    dispatcher = DISPATCHERS["multi-line, trailing commas and comments"]
    first = _register(_texts(dispatcher), Target.WEIGHTS, ["symmetric"])
    again = _register(_texts(first.dispatcher_text, first.enum_text), Target.WEIGHTS, ["symmetric"])
    assert again.dispatcher_text == first.dispatcher_text
    assert again.enum_text == first.enum_text
    lines = first.dispatcher_text.splitlines()
    ours = lines.index(f"from {MODULE} import MyMethodWeightsTrainingQuantizer")
    assert lines[ours - 1].startswith("from pkg.common") and lines[ours + 1].startswith(
        "from pkg.ste"
    )


def test_existing_import_inside_try_is_reused() -> None:
    dispatcher = DISPATCHERS["imports inside try/except, empty dicts"].replace(
        "    from pkg.common import TrainingMethod\n",
        "    from pkg.common import TrainingMethod\n"
        f"    from {MODULE} import MyMethodWeightsTrainingQuantizer\n",
    )
    result = _register(_texts(dispatcher), Target.WEIGHTS, ["symmetric"])
    assert result.dispatcher_text.count("import MyMethodWeightsTrainingQuantizer") == 1


def test_a_users_registration_is_a_conflict() -> None:
    dispatcher = DISPATCHERS["one-line dicts without trailing commas"].replace(
        "{TrainingMethod.STE: {qi.QuantizationMethod.SYMMETRIC: STEWeightQuantizer}}",
        "{TrainingMethod.STE: {}, "
        "TrainingMethod.MyMethod: {qi.QuantizationMethod.SYMMETRIC: STEWeightQuantizer}}",
    )
    with pytest.raises(RegistryError, match="did not register"):
        _register(_texts(dispatcher), Target.WEIGHTS, ["symmetric"])


def test_a_class_name_bound_elsewhere_is_a_conflict() -> None:
    dispatcher = DISPATCHERS["one-line dicts without trailing commas"].replace(
        "import STEWeightQuantizer,",
        "import STEWeightQuantizer as MyMethodWeightsTrainingQuantizer,",
    )
    with pytest.raises(RegistryError, match="already imports"):
        _register(_texts(dispatcher), Target.WEIGHTS, ["symmetric"])


@pytest.mark.parametrize(
    ("enum", "expected"),
    [
        ("class TrainingMethod(Enum):\n    A = auto()\n", "MyMethod = auto()"),
        ("class TrainingMethod(Enum):\n    A = 0x10\n", "MyMethod = 17"),
    ],
)
def test_enum_values_follow_the_enum(enum: str, expected: str) -> None:
    enum = "from enum import Enum, auto\n\n\n" + enum
    result = _register(
        _texts(DISPATCHERS["imports inside try/except, empty dicts"], enum),
        Target.WEIGHTS,
        ["symmetric"],
    )
    assert expected in result.enum_text


@pytest.mark.parametrize(
    ("dispatcher", "match"),
    [
        ("METHOD2WEIGHTQUANTIZER = {\n", "syntax error"),
        ("from pkg import qi\nMETHOD2ACTQUANTIZER = {}\n", "METHOD2WEIGHTQUANTIZER"),
    ],
)
def test_broken_registry_files_are_named(dispatcher: str, match: str) -> None:
    with pytest.raises(RegistryError, match=match):
        _register(_texts(dispatcher), Target.WEIGHTS, ["symmetric"])


@pytest.mark.parametrize(
    ("member", "match"),
    [
        ("STE = 0,", r"TrainingMethod\.STE has a tuple value .*remove the comma"),
        ('STE = "STE",', r"TrainingMethod\.STE has a tuple value"),
        ('STE = "ste"', "not integers or auto"),
    ],
)
def test_enum_values_that_are_not_integers_are_refused_by_name(member: str, match: str) -> None:
    enum = f"from enum import Enum\n\n\nclass TrainingMethod(Enum):\n    {member}\n"
    with pytest.raises(RegistryError, match=match):
        _register(
            _texts(DISPATCHERS["imports inside try/except, empty dicts"], enum),
            Target.WEIGHTS,
            ["symmetric"],
        )


def test_only_module_level_registry_statements_are_edited() -> None:
    enum = (
        "from enum import Enum\n\n\n"
        "def legacy():\n    class TrainingMethod(Enum):\n        OLD = 0\n\n"
        "    return TrainingMethod\n\n\n"
        "class TrainingMethod(Enum):\n    STE = 0\n"
    )
    dispatcher = (
        "from pkg.common import QuantizationMethod, TrainingMethod\n"
        "from pkg.ste import STEWeightQuantizer\n\n\n"
        "def defaults():\n    METHOD2WEIGHTQUANTIZER = {}\n    return METHOD2WEIGHTQUANTIZER\n\n\n"
        "class Tables:\n    METHOD2ACTQUANTIZER = {}\n\n\n"
        "METHOD2WEIGHTQUANTIZER = {\n"
        "    TrainingMethod.STE: {QuantizationMethod.SYMMETRIC: STEWeightQuantizer},\n}\n"
        "METHOD2ACTQUANTIZER = {}\n"
    )
    result = _register(_texts(dispatcher, enum), Target.WEIGHTS, ["symmetric"])
    assert "    class TrainingMethod(Enum):\n        OLD = 0\n\n" in result.enum_text
    assert result.enum_text.endswith("    STE = 0\n    MyMethod = 1\n")
    assert "    METHOD2WEIGHTQUANTIZER = {}\n    return" in result.dispatcher_text
    assert "class Tables:\n    METHOD2ACTQUANTIZER = {}\n" in result.dispatcher_text
    assert "    TrainingMethod.MyMethod: {" in result.dispatcher_text.split("def ")[-1]


def test_a_byte_order_mark_in_the_dispatcher_stays() -> None:
    dispatcher = (
        "\ufefffrom pkg.common import QuantizationMethod, TrainingMethod\n"
        "from pkg.ste import STEWeightQuantizer\n\n"
        "METHOD2WEIGHTQUANTIZER = {\n"
        "    TrainingMethod.STE: {QuantizationMethod.SYMMETRIC: STEWeightQuantizer},\n}\n"
        "METHOD2ACTQUANTIZER = {}\n"
    )
    added = _register(_texts(dispatcher), Target.WEIGHTS, ["symmetric"])
    assert added.dispatcher_text.startswith("\ufeff")
    assert "TrainingMethod.MyMethod: {" in added.dispatcher_text
    modules = {Target.WEIGHTS: MODULE, Target.ACTIVATION: ACT_MODULE}
    undone = registry.unregister(
        _texts(added.dispatcher_text, added.enum_text), NAME, [Target.WEIGHTS], modules, True
    )
    assert undone.dispatcher_text == dispatcher
