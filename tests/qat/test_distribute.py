"""QAT under tf.distribute.MirroredStrategy (two logical CPUs) equals one-device training."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

WORKER = Path(__file__).with_name("distribute_worker.py")


@pytest.fixture(scope="module")
def report() -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run(
        [sys.executable, str(WORKER)], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("method", ["SYMMETRIC", "POWER_OF_TWO", "UNIFORM"])
def test_mirrored_training_matches_one_device(report, method):
    run = report[method]
    assert run["replicas"] == 2
    assert all(np.isfinite(run["mirrored_losses"]))
    np.testing.assert_allclose(run["mirrored_losses"], run["single_losses"], rtol=1e-5)
    assert run["weights_moved"]
    assert run["max_weight_difference"] < 1e-5
    assert run["max_prediction_difference"] < 1e-5
    assert run["max_finalized_difference"] <= 1e-6
    # quantizer parameters are mirrored, and a replica-context write keeps replicas equal
    assert run["mirrored_variable_types"] == ["MirroredVariable"]
    assert run["aggregations"] == ["ONLY_FIRST_REPLICA"]
