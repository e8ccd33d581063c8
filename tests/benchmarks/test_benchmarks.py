"""Each benchmark script runs on its tiny setting and prints its figures (no timing assertions).

The scripts run in-process through their ``main(argv)``, so TensorFlow is imported once.
"""

from __future__ import annotations

import importlib
import math
import re
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
NUMBER = r"[-+]?\d+(?:\.\d+)?"


@pytest.fixture(scope="module")
def scripts():
    """The benchmark modules, imported from benchmarks/ as the scripts import each other."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield lambda name: importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCHMARKS))


def row(output: str, name: str) -> list[float]:
    """The numbers of the table row that starts with ``name``."""
    for line in output.splitlines():
        # the name, then only spaces up to the first number or "-" cell (not "scaffold --x")
        if re.match(rf"{re.escape(name)}\s+([-+]?\d|-\s)", line):
            return [float(v) for v in re.findall(NUMBER, line[len(name) :])]
    raise AssertionError(f"no row {name!r} in:\n{output}")


def assert_ratio_rows(output: str, names: list[str]) -> None:
    for name in names:
        median_ms, to_float, to_tfmot = row(output, name)
        assert median_ms > 0 and math.isfinite(median_ms)
        assert to_float > 0 and to_tfmot > 0
    assert row(output, "float")[1] == 1.0
    assert row(output, "tfmot 8-bit QAT")[2] == 1.0


def test_digits_qat_prints_the_accuracy_table_and_writes_the_plot(scripts, capsys, tmp_path):
    plot, table = tmp_path / "digits.png", tmp_path / "digits.txt"
    results = scripts("digits_qat").main(
        ["--tiny", "--plot", str(plot), "--table", str(table)], log=print
    )
    output = capsys.readouterr().out
    for name in ("float", "PTQ", "QAT STE", "QAT LSQ"):
        accuracies = row(output, name)
        assert len(accuracies) == 4  # 8/8 and 2/4: mean and spread each
        assert all(0 <= value <= 100 for value in accuracies)
    low_bit_only = ("QAT DoReFa/STE", "QAT STE/PACT", "QAT DoReFa/PACT")
    for name in low_bit_only:
        assert len(row(output, name)) == 2  # 2/4 only (4/4 too in a full run)
    assert len(row(output, "tfmot 8-bit QAT")) == 2  # the 8-bit reference only
    for method in ("LSQ", "DoReFa/STE", "STE/PACT", "DoReFa/PACT"):
        differences = output.split(f"{method} - STE, points per seed", 1)[1]
        assert re.match(
            rf"[^\n]*\n(  8/8: [^\n]*\n)?  2/4: {NUMBER}\s+\(mean {NUMBER}\)", differences
        )
    assert re.search(r"all 9 finalized models reloaded from \.keras with identical", output)
    assert set(results) == {
        "float",
        "PTQ",
        "QAT STE",
        "QAT LSQ",
        *low_bit_only,
        "tfmot 8-bit QAT",
    }
    assert plot.read_bytes().startswith(b"\x89PNG")
    assert table.read_text(encoding="utf-8").splitlines()[0] == output.splitlines()[0]


def test_qat_overhead_prints_step_time_ratios(scripts, capsys):
    times = scripts("qat_overhead").main(["--tiny"])
    output = capsys.readouterr().out
    names = ["float", "our STE QAT", "our LSQ QAT", "tfmot 8-bit QAT"]
    assert list(times) == names
    assert_ratio_rows(output, names)
    assert re.search(rf"target our STE QAT <= 1.10x tfmot: {NUMBER}x, (met|NOT met)", output)


def test_inference_prints_forward_time_ratios(scripts, capsys):
    times = scripts("inference").main(["--tiny"])
    output = capsys.readouterr().out
    names = ["float", "our inferable (STE)", "our inferable (LSQ)", "tfmot 8-bit QAT"]
    assert list(times) == names
    assert_ratio_rows(output, names)


def test_cli_latency_times_each_command_beside_python(scripts, capsys):
    medians = scripts("cli_latency").main(["--tiny"])
    output = capsys.readouterr().out
    names = ["python -c pass", "scaffold", "scaffold --dry-run", "remove", "list"]
    for name in [*names, "scaffold (user project, first)"]:
        assert name in medians
        milliseconds, cpu_milliseconds, ratio = row(output, name)
        assert milliseconds > 0 and cpu_milliseconds > 0 and ratio > 0
    assert row(output, "python -c pass")[2] == 1.0


def test_registry_scaling_prints_ratios_per_operation(scripts, capsys):
    medians = scripts("registry_scaling").main(["--tiny"])
    output = capsys.readouterr().out
    assert sorted(medians) == [10, 40]
    for operation in ("scaffold --dry-run", "scaffold", "list", "remove"):
        small_ms, large_ms, ratio, per_method_us, slope = row(output, operation)
        assert small_ms > 0 and large_ms > 0 and ratio > 0
        assert math.isfinite(per_method_us) and math.isfinite(slope)


def test_digits_qat_keras3_prints_a_table_per_back_end_and_the_keras2_comparison(
    scripts, capsys, tmp_path
):
    table = tmp_path / "digits_keras3.txt"
    results = scripts("digits_qat_keras3").main(["--tiny", "--table", str(table)], log=print)
    output = capsys.readouterr().out
    assert list(results) == ["tensorflow", "jax", "keras2"]
    for title in ("Keras 3 on tensorflow:", "Keras 3 on jax:", "Keras 2 (tf_keras):"):
        assert title in output
    for back_end in ("tensorflow", "jax"):
        assert set(results[back_end]) == {
            "float",
            "PTQ",
            "QAT STE",
            "QAT LSQ",
            "Keras int8 PTQ",
            "PTQ of Keras 2 float",
        }
        # the same float weights quantized by either Keras (both add the bias on TFLite's int32
        # grid in inference): the same accuracy, to one image of the 450, should float
        # rounding tip one prediction
        for label, values in results[back_end]["PTQ of Keras 2 float"].items():
            assert values == pytest.approx(results["keras2"]["PTQ"][label], abs=1.01 / 450)
        assert all(
            0 <= value <= 1
            for per_bits in results[back_end].values()
            for values in per_bits.values()
            for value in values
        )
        comparison = output.split(f"Keras 3 on {back_end} - Keras 2, points")[1]
        for name in ("PTQ", "PTQ of Keras 2 float", "QAT STE", "QAT LSQ"):
            cells = re.search(rf"^{name}\s+(.*)$", comparison, flags=re.M).group(1)
            assert len(re.findall(r"[-+]\d+\.\d+ \(( in|OUT)\s*\d+\.\d+\)", cells)) == 2
    assert "tfmot 8-bit QAT" in results["keras2"]
    assert table.read_text(encoding="utf-8").startswith("Keras 3 on tensorflow:")


def test_qat_overhead_keras3_prints_step_and_inference_ratios_per_back_end(scripts, capsys):
    results = scripts("qat_overhead_keras3").main(["--tiny"])
    output = capsys.readouterr().out
    assert list(results) == ["tensorflow", "jax"]
    names = ["float", "our STE QAT", "our LSQ QAT"]
    for back_end, result in results.items():
        assert result["backend"] == back_end
        # TensorFlow's steps again with jit_compile=True; JAX always compiles with XLA
        kinds = ["training", "inference"] + (["training_xla"] if back_end == "tensorflow" else [])
        assert sorted(k for k in result if k != "backend") == sorted(kinds)
        for kind in kinds:
            assert list(result[kind]) == names
            assert all(seconds > 0 and math.isfinite(seconds) for seconds in result[kind].values())
        for name in names[1:]:
            for compiled in [""] + ([" with XLA"] if back_end == "tensorflow" else []):
                assert re.search(
                    rf"target {name} step <= 1.3x float on {back_end}{compiled}: {NUMBER}x, "
                    "(met|NOT met)",
                    output,
                )
    assert len(re.findall(r"^float\s+\d", output, flags=re.M)) == 5  # a table per run


def test_tflite_export_prints_accuracy_size_and_latency_beside_tfmot(scripts, capsys, tmp_path):
    table = tmp_path / "tflite.txt"
    figures = scripts("tflite_export").main(["--tiny", "--table", str(table)])
    output = capsys.readouterr().out
    keras2_rows = ["float (TFLite float)", "QAT STE 8/8", "tfmot 8-bit QAT"]
    keras3_rows = ["Keras 3 float (TFLite float)", "Keras 3 QAT STE 8/8"]
    assert list(figures) == keras2_rows + keras3_rows
    for name in figures:
        keras_acc, tflite_acc, identical, size, latency, micros = row(output, name)
        assert 0 <= keras_acc <= 100 and 0 <= tflite_acc <= 100 and 0 <= identical <= 100
        assert size > 0 and latency > 0 and micros > 0
    for float_row, int8_row in (keras2_rows[:2], keras3_rows):  # relative to its Keras' float
        assert row(output, float_row)[3:5] == [1.0, 1.0]
        assert row(output, int8_row)[3] < 0.5  # int8 weights: about a quarter of float
    assert table.read_text(encoding="utf-8").splitlines()[0] == output.splitlines()[0]
