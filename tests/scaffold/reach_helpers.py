"""Temporary target projects of the three kinds the generator serves, and ways to run them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from scaffold_helpers import REPO

USER_PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "myproj"
version = "0.1.0"
dependencies = ["quantizer-scaffold"]  # the QAT runtime

[project.optional-dependencies]
test = ["pytest"]

[tool.ruff]
line-length = 100

[tool.ruff.lint]
select = ["E", "F", "W", "I", "UP", "B"]
"""

FLAT_LIBRARY = REPO / "examples" / "flat_library"


def user_project(destination: Path, pyproject: str = USER_PYPROJECT) -> Path:
    """A fresh package that depends on quantizer-scaffold: pyproject.toml and one module."""
    (destination / "src" / "myproj").mkdir(parents=True)
    (destination / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    (destination / "src" / "myproj" / "__init__.py").write_text('"""My project."""\n')
    return destination


def flat_library(destination: Path) -> Path:
    """The example library with its own runtime, registry and templates (package at the root)."""
    shutil.copytree(FLAT_LIBRARY, destination, ignore=shutil.ignore_patterns("__pycache__"))
    return destination


def run_python(
    code: str, cwd: Path, pythonpath: list[Path] | None = None, python: str | Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -c code`` in a fresh process (its own imports, its own Keras session)."""
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(str(p) for p in pythonpath)
    return subprocess.run(
        [str(python or sys.executable), "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def run_pytest(
    path: Path, cwd: Path, pythonpath: list[Path], *options: str
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in pythonpath)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *options, str(path)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


# Train a tiny model with the project's own TrainingMethod, finalize it and save it; print the
# predictions. ``REGISTER`` is replaced by a register_dispatcher call (or nothing, installed).
TRAIN = """
import json
import numpy as np
from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.qat import QATConfig, qat_finalize, qat_init
from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras
from myproj.qat.common.qat_config import TrainingMethod
REGISTER
keras.utils.set_random_seed(0)
inputs = keras.Input((6,))
model = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Dense(4, activation="relu")(inputs)))
data = np.random.default_rng(0).normal(size=(32, 6)).astype("float32")
config = QATConfig(weight_training_method=TrainingMethod.QIL,
                   activation_training_method=TrainingMethod.QIL)
qat = qat_init(model, lambda: [data[:16], data[16:]], qat_config=config)
kinds = sorted({type(q).__name__ for layer in qat.layers
                for q in [*getattr(layer, "weights_quantizers", {}).values(),
                          *getattr(layer, "activation_quantizers", [])]})
qat.compile("adam", "mse")
qat.fit(data, np.zeros((32, 3), "float32"), epochs=1, verbose=0)
final = qat_finalize(qat)
final.save("final.keras")
print(json.dumps({"kinds": kinds, "predictions": final.predict(data, verbose=0).tolist()}))
"""

LOAD = """
import json
import numpy as np
from quantizer_scaffold import quantizers_infrastructure as qi
REGISTER
data = np.random.default_rng(0).normal(size=(32, 6)).astype("float32")
model = qi.load_quantized_model("final.keras")
print(json.dumps({"predictions": model.predict(data, verbose=0).tolist()}))
"""

REGISTER = (
    "from quantizer_scaffold.qat import register_dispatcher\n"
    'register_dispatcher("myproj.qat.keras.quantizer.quantization_dispatcher_builder")'
)
