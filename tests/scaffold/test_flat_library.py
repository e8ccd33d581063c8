"""A QAT library with its own runtime, registry and templates, its package at the root.

The example in examples/flat_library (the seed's layout, its dispatcher written in the seed's
hanging style) copied to a temporary folder; the real CLI scaffolds into it from the
library's own templates; its generated test passes; ``remove`` gives back every byte. Then
the same layout without its own templates: generated modules import quantizer_scaffold's
public API and every import resolves.
"""

from __future__ import annotations

import json
from pathlib import Path

from reach_helpers import flat_library, run_pytest
from scaffold_helpers import Runner, hashes

DISPATCHER = "flatqat/qat/keras/quantizer/quantization_dispatcher_builder.py"


def test_own_templates_own_runtime_and_a_hanging_dispatcher(tmp_path: Path, cli: Runner) -> None:
    root = flat_library(tmp_path / "flatqat")
    before = hashes(root)
    result = cli("--method", "Round", "--target", "weights", cwd=root)
    assert result.returncode == 0, result.stderr
    lines = (root / DISPATCHER).read_text().splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("METHOD2WEIGHTQUANTIZER"))
    assert lines[first].endswith("STEWeightsQuantizer},")  # the old last line: only a comma
    column = lines[first].index("TrainingMethod.STE")
    assert lines[first + 1] == " " * column + (
        "TrainingMethod.Round: {qi.QuantizationMethod.SYMMETRIC: RoundWeightsTrainingQuantizer}}"
    )
    generated = root / "flatqat/qat/keras/quantizer/round/weights_training_quantizer.py"
    assert "from flatqat import quantizers_infrastructure as qi" in generated.read_text()
    assert not (generated.parent / "weights_inferable_quantizer.py").exists()  # not templated
    assert "quantizer_scaffold" not in generated.read_text()
    tests = run_pytest(root / "tests", root, [root])
    assert tests.returncode == 0 and "2 passed" in tests.stdout, tests.stdout + tests.stderr
    listed = json.loads(cli("list", "--json", cwd=root).stdout)
    assert [(m["name"], m["value"], m["origin"]) for m in listed["methods"]] == [
        ("STE", 0, "project"),
        ("Round", 1, "project"),
    ]
    assert cli("remove", "--method", "Round", cwd=root).returncode == 0
    assert hashes(root) == before


def test_without_own_templates_the_generated_code_imports_quantizer_scaffold(
    tmp_path: Path, cli: Runner
) -> None:
    root = flat_library(tmp_path / "flatqat")
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text()
    table = text.index("[tool.scaffold-quantizer]")
    pyproject.write_text(
        text[:table] + "[tool.scaffold-quantizer]\n"
        'source_root = "./"\n'  # spelled loosely: normalised to "."
        'package = "flatqat"\n'
        'training_method_file = "./flatqat//qat/common/qat_config.py"\n'
        'tests_dir = "tests/generated/"\n'
    )
    result = cli("--method", "Round", "--target", "weights", "--json", cwd=root)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert "flatqat/qat/common/qat_config.py" in report["update"]
    assert not any(path.startswith(("./", "/")) or "//" in path for path in report["create"])
    package = root / "flatqat/qat/keras/quantizer/round"
    for module in ("weights_training_quantizer.py", "weights_inferable_quantizer.py"):
        text = (package / module).read_text()
        assert "from quantizer_scaffold import quantizers_infrastructure as qi" in text
        assert "flatqat.quantizers_infrastructure" not in text
    test = (root / "tests/generated/test_round_weights_quantizer.py").read_text()
    assert "register_dispatcher(quantization_dispatcher_builder)" in test
    assert "from flatqat.qat.keras.quantizer import quantization_dispatcher_builder" in test


def test_the_same_file_spelled_twice_is_one_file(tmp_path: Path, cli: Runner) -> None:
    root = flat_library(tmp_path / "flatqat")
    (root / "registry.py").symlink_to(DISPATCHER)
    with (root / "pyproject.toml").open("a") as handle:  # [tool.scaffold-quantizer] is last
        handle.write('training_method_file = "registry.py"\n')
    before = hashes(root)
    result = cli("--method", "Round", "--target", "weights", cwd=root)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "the same file" in line and DISPATCHER in line
    assert hashes(root) == before
