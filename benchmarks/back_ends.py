"""Run a benchmark once per Keras 3 back end, each in its own process, and collect the results.

Keras 3 fixes its back end when it is first imported, so a script that compares TensorFlow and
JAX runs itself again per back end: ``python <script> --child <back end> --json <file>`` with
``KERAS_BACKEND`` set (``keras2`` runs it on Keras 2, tf_keras). The child writes its results
as JSON; the parent prints them side by side.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

KERAS3_BACK_ENDS = ("tensorflow", "jax")


def run_children(script: str, argv: list[str], children: list[str]) -> dict[str, Any]:
    """{child: its JSON result}, each child run to completion before the next starts."""
    results = {}
    for child in children:
        with tempfile.TemporaryDirectory() as folder:
            output = Path(folder) / "result.json"
            env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
            if child != "keras2":
                env["KERAS_BACKEND"] = child
            command = [sys.executable, script, *argv, "--child", child, "--json", str(output)]
            completed = subprocess.run(command, env=env, capture_output=True, text=True)
            if completed.returncode != 0:
                raise RuntimeError(
                    f"the {child} run of {Path(script).name} failed:\n{completed.stderr[-4000:]}"
                )
            results[child] = json.loads(output.read_text(encoding="utf-8"))
    return results


def write_json(path: str, value: Any) -> None:
    Path(path).write_text(json.dumps(value), encoding="utf-8")
