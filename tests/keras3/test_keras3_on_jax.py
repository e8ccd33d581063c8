"""The Keras 3 tests again, on the JAX back end.

Keras 3 fixes its back end when it is first imported, and this process imported it on
TensorFlow; so this folder runs once more in a subprocess with ``KERAS_BACKEND=jax``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import keras
import pytest
from keras3_helpers import TENSORFLOW_ONLY

from quantizer_scaffold.quantizers_infrastructure.common.dependencies import keras3_back_end

HERE = Path(__file__).resolve().parent


def test_keras_runs_on_the_back_end_the_environment_asks_for():
    assert keras.backend.backend() == keras3_back_end()


@pytest.mark.slow
def test_the_keras3_tests_pass_on_jax():
    if keras.backend.backend() == "jax":
        pytest.skip("this process already runs Keras 3 on JAX")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "KERAS_BACKEND"))}
    env.update(KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(HERE), "-q", "-rs", "-p", "no:cacheprovider"]
        + ["-W", "ignore"],
        capture_output=True,
        text=True,
        env=env,
        cwd=HERE.parents[1],
        timeout=1200,
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    passed = int(re.search(r"(\d+) passed", summary).group(1))
    # everything ran on JAX except this runner and the tests marked TensorFlow-only
    skips = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    unexpected = [
        line
        for line in skips
        if TENSORFLOW_ONLY not in line and "this process already runs Keras 3 on JAX" not in line
    ]
    assert passed >= 80 and not unexpected, summary + "\n" + "\n".join(unexpected)
