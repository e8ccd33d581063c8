"""One validated naming object derives every spelling; bad names are refused with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from scaffold_helpers import Runner, snapshot

from quantizer_scaffold.scaffold.errors import InvalidNameError
from quantizer_scaffold.scaffold.naming import MethodName, Target


@pytest.mark.parametrize("text", ["MyTrainingMethod", "my_training_method", "my-training-method"])
def test_three_spellings_name_the_same_method(text: str) -> None:
    name = MethodName.parse(text)
    assert name.enum_member == "MyTrainingMethod"
    assert name.package == "my_training_method"
    assert name.training_class(Target.WEIGHTS) == "MyTrainingMethodWeightsTrainingQuantizer"
    assert name.inferable_class(Target.WEIGHTS) == "MyTrainingMethodWeightsInferableQuantizer"
    assert name.training_class(Target.ACTIVATION) == "MyTrainingMethodActivationsTrainingQuantizer"
    assert name.test_module(Target.ACTIVATION) == "test_my_training_method_activations_quantizer"


def test_acronyms_and_digits_keep_camel_case() -> None:
    name = MethodName.parse("LSQPlus2")
    assert (name.camel, name.snake) == ("LSQPlus2", "lsq_plus2")
    assert MethodName.parse("lsq2-plus").camel == "Lsq2Plus"


INVALID = {
    "": "empty",
    "class": "keyword",
    "None": "keyword",
    "match": "keyword",
    "2fast": "digit",
    "my\u0430method": "non-ASCII",  # Cyrillic a, looks like a Latin a
    "Mу": "non-ASCII",
    "__init__": "'_'",
    "_private": "'_'",
    "my/method": "path separator",
    "..": "path separator",
    "my\\method": "path separator",
    "my method": "' '",
    "rm;-rf": "';'",
    "a" * 33: "too long",
    "my_Training-method": "mixes",
    "my__method": "doubled",
    "My_Method": "neither",
    "TrainingMethod": "already a name",
}


@pytest.mark.parametrize("text", list(INVALID))
def test_invalid_names_are_rejected_with_the_reason(text: str) -> None:
    with pytest.raises(InvalidNameError, match="invalid --method") as error:
        MethodName.parse(text)
    assert INVALID[text] in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("text", ["class", "2fast", "my\u0430method", "../evil", "rm;-rf", ""])
def test_cli_rejects_invalid_names_with_one_line_and_writes_nothing(
    text: str, project: Path, cli: Runner
) -> None:
    before = snapshot(project)
    result = cli("--method", text, "--target", "weights", cwd=project)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "invalid --method" in lines[0], result.stderr
    assert snapshot(project) == before
