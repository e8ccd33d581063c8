"""The README's QAT example runs exactly as written and prints what the README says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras

README = Path(__file__).resolve().parents[1] / "README.md"


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def test_the_qat_example_runs_as_written(tmp_path, monkeypatch, capsys):
    section = _section("The QAT flow")
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    monkeypatch.chdir(tmp_path)
    keras.backend.clear_session()  # layer names as in a fresh process: conv2d, not conv2d_16
    exec(compile(code, str(README), "exec"), {"__name__": "readme_example"})
    printed = capsys.readouterr().out
    assert "quantized 2 layer(s): conv2d, dense" in printed
    assert "quantized input(s): input_1" in printed
    assert "left unquantized: flatten (Flatten has no weights; output not quantized)" in printed
    assert (tmp_path / "model.keras").is_file()
    assert "wrote model.tflite (" in printed and "int8 weights and activations)" in printed
    assert (tmp_path / "model.tflite").is_file()


def _keras3_example() -> str:
    (code,) = re.findall(r"```python\n(.*?)```", _section("Keras 3"), flags=re.S)
    return code


def test_the_keras3_example_runs_as_written(tmp_path, monkeypatch, capsys):
    import keras

    monkeypatch.chdir(tmp_path)
    keras.backend.clear_session()  # layer names as in a fresh process
    exec(compile(_keras3_example(), str(README), "exec"), {"__name__": "readme_example"})
    printed = capsys.readouterr().out
    assert "quantized 2 layer(s): conv2d, dense" in printed
    assert (tmp_path / "model.keras").is_file()
    assert "int8 weights and activations" in printed and (tmp_path / "model.tflite").is_file()


def test_the_keras3_example_runs_as_written_on_jax(tmp_path):
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"}
    script = "import keras\nassert keras.backend.backend() == 'jax'\n" + _keras3_example()
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "quantized 2 layer(s): conv2d, dense" in result.stdout
    assert (tmp_path / "model.keras").is_file() and not (tmp_path / "model.tflite").exists()


def test_the_test_command_is_what_ci_runs():
    quick_start = _section("Quick start")
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    (command,) = re.findall(r"^(python3 -m venv .*pytest.*)$", quick_start, flags=re.M)
    assert command in ci
