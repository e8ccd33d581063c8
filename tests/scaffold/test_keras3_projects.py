"""``--framework keras3`` in the three kinds of project, end to end (the real CLI in a subprocess).

- The framework choice: the option, the project's default (``framework`` in
  ``[tool.scaffold-quantizer]``) and one-line refusals of unknown names.
- This repository: one method with a pair per back end; each command acts on its back end's
  pair (the enum member is shared and stays while either pair uses it).
- A user's package: the first Keras 3 scaffold creates the project's registry with a
  ``keras3`` dispatcher and entry point; a later Keras 2 scaffold of the same method adds only
  the ``keras`` dispatcher. The generated tests pass (Keras 3 on TensorFlow and JAX); qat_init
  trains a Keras 3 model with the project's method; the finalized model reloads on TensorFlow
  and on JAX; ``list`` shows both back ends; ``remove`` gives back the project byte for byte.
- A flat library with a ``[tool.scaffold-quantizer.keras3]`` table.
(The generated code of every parameter kind is tested in test_generated_code.py.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from reach_helpers import USER_PYPROJECT, flat_library, run_pytest, user_project
from scaffold_helpers import REGISTRY, Runner, hashes

KERAS3_DISPATCHER = "src/quantizer_scaffold/qat/keras3/quantizer/quantization_dispatcher_builder.py"
USER_ENUM = "src/myproj/qat/common/qat_config.py"
USER_KERAS = "src/myproj/qat/keras/quantizer/quantization_dispatcher_builder.py"
USER_KERAS3 = "src/myproj/qat/keras3/quantizer/quantization_dispatcher_builder.py"


def _ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def _refused(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert all(word in line for word in words), line


# ---- the framework choice ---------------------------------------------------------------
def test_unknown_frameworks_are_refused_in_one_line_and_nothing_is_written(
    tmp_path: Path, cli: Runner
) -> None:
    root = user_project(tmp_path / "myproj")
    before = hashes(root)
    _refused(cli("-m", "QIL", "--framework", "tf", cwd=root), "'tf' is no back end", "keras3")
    _refused(cli("list", "-f", "jax", cwd=root), "'jax' is no back end")
    (root / "pyproject.toml").write_text(
        USER_PYPROJECT + '\n[tool.scaffold-quantizer]\nframework = "jax"\n'
    )
    before = hashes(root)
    _refused(cli("-m", "QIL", cwd=root), "framework = 'jax' is no back end", "keras or keras3")
    assert hashes(root) == before


def test_the_projects_framework_is_the_default(tmp_path: Path, cli: Runner) -> None:
    root = user_project(
        tmp_path / "myproj", USER_PYPROJECT + '\n[tool.scaffold-quantizer]\nframework = "keras3"\n'
    )
    report = json.loads(_ok(cli("-m", "QIL", "--json", cwd=root)).stdout)
    assert USER_KERAS3 in report["create"] and USER_KERAS not in report["create"]
    assert "tests/generated/test_qil_weights_quantizer_keras3.py" in report["create"]
    assert (
        'keras3 = "myproj.qat.keras3.quantizer.quantization_dispatcher_builder"'
        in (root / "pyproject.toml").read_text()
    )


# ---- this repository: a pair per back end -------------------------------------------------
def test_one_method_with_a_pair_per_back_end_in_this_repository(project: Path, cli: Runner) -> None:
    _ok(cli("-m", "Dual", "-t", "weights", cwd=project))
    enum = (project / REGISTRY[0]).read_text()
    command = ["-m", "Dual", "-t", "weights", "-f", "keras3", "--json"]
    keras3 = json.loads(_ok(cli(*command, cwd=project)).stdout)
    # the member exists: only the Keras 3 dispatcher (and the record) change
    assert sorted(keras3["update"]) == [".scaffold-quantizer.json", KERAS3_DISPATCHER]
    assert (project / REGISTRY[0]).read_text() == enum and enum.count("Dual = ") == 1
    assert "DualWeightsTrainingQuantizer" in (project / KERAS3_DISPATCHER).read_text()
    assert sorted(keras3["create"]) == [
        "src/quantizer_scaffold/qat/keras3/quantizer/dual/__init__.py",
        "src/quantizer_scaffold/qat/keras3/quantizer/dual/weights_inferable_quantizer.py",
        "src/quantizer_scaffold/qat/keras3/quantizer/dual/weights_training_quantizer.py",
        "tests/generated/test_dual_weights_quantizer_keras3.py",
    ]
    again = json.loads(_ok(cli("-m", "Dual", "-f", "keras3", "--json", cwd=project)).stdout)
    assert not again["changed"]
    manifest = json.loads((project / ".scaffold-quantizer.json").read_text())
    assert set(manifest["methods"]["Dual"]["targets"]) == {"weights", "weights@keras3"}
    assert manifest["methods"]["Dual"]["targets"]["weights@keras3"]["backend"] == "keras3"
    assert "ok: " in _ok(cli("check", cwd=project)).stdout
    assert not json.loads(_ok(cli("update", "--check", "--json", cwd=project)).stdout)["changed"]
    listed = json.loads(_ok(cli("list", "--json", cwd=project)).stdout)["methods"]
    dual = sorted(m["registered_in"]["backend"] for m in listed if m["name"] == "Dual")
    assert dual == ["keras", "keras3"]
    # remove: which pair must be said; each back end's pair goes alone, the member stays
    _refused(
        cli("remove", "-m", "Dual", cwd=project), "scaffolded for keras and keras3", "--framework"
    )
    _ok(cli("remove", "-m", "Dual", "-f", "keras3", cwd=project))
    assert not (project / "src/quantizer_scaffold/qat/keras3/quantizer/dual").exists()
    assert "Dual" not in (project / KERAS3_DISPATCHER).read_text()
    assert (project / REGISTRY[0]).read_text() == enum  # the Keras 2 pair still uses it
    assert (project / "src/quantizer_scaffold/qat/keras/quantizer/dual").is_dir()
    assert "ok: " in _ok(cli("check", cwd=project)).stdout
    gone = _ok(cli("remove", "-m", "Dual", "-f", "keras3", cwd=project)).stdout
    assert "not registered for keras3" in gone and "--framework keras" in gone
    _ok(cli("remove", "-m", "Dual", cwd=project))  # the one pair left: no --framework needed
    assert "Dual" not in (project / REGISTRY[0]).read_text()


def test_remove_keeps_a_member_another_back_ends_dispatcher_uses(
    project: Path, cli: Runner
) -> None:
    """Removing a Keras 2 pair whose member the Keras 3 dispatcher (edited by hand) uses."""
    _ok(cli("-m", "Shared", "-t", "weights", cwd=project))
    dispatcher = project / KERAS3_DISPATCHER
    text = dispatcher.read_text()
    dispatcher.write_text(text + "\nDEFAULT_KERAS3_METHOD = TrainingMethod.Shared\n")
    removed = _ok(cli("remove", "-m", "Shared", cwd=project)).stdout
    assert "kept TrainingMethod.Shared" in removed and KERAS3_DISPATCHER in removed
    assert "Shared = " in (project / REGISTRY[0]).read_text()


# ---- a user's own package -----------------------------------------------------------------
TRAIN3 = """
import json
import keras
import numpy as np
from quantizer_scaffold.qat import QATConfig, qat_finalize, qat_init, register_dispatcher
from myproj.qat.common.qat_config import TrainingMethod
register_dispatcher("myproj.qat.keras3.quantizer.quantization_dispatcher_builder", backend="keras3")
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
qat.fit(data, np.zeros((32, 3), "float32"), epochs=2, verbose=0)
final = qat_finalize(qat)
final.save("final.keras")
print(json.dumps({"kinds": kinds, "qat": qat.predict(data, verbose=0).tolist(),
                  "predictions": final.predict(data, verbose=0).tolist()}))
"""

LOAD3 = """
import json
import keras
import numpy as np
from quantizer_scaffold.qat import register_dispatcher
from quantizer_scaffold.quantizers_infrastructure import keras3 as qi3
register_dispatcher("myproj.qat.keras3.quantizer.quantization_dispatcher_builder", backend="keras3")
data = np.random.default_rng(0).normal(size=(32, 6)).astype("float32")
model = qi3.load_quantized_model("final.keras")
print(json.dumps({"backend": keras.backend.backend(),
                  "predictions": model.predict(data, verbose=0).tolist()}))
"""


def _python(code: str, cwd: Path, src: Path, backend: str) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(PYTHONPATH=str(src), KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    result = _ok(
        subprocess.run(
            [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, env=env,
            timeout=600,
        )
    )  # fmt: skip
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def user_keras3(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], str]:
    """A user project with QIL for Keras 3 (weights: the grid's fixed threshold; activations:
    a learned interval), then for Keras 2 weights (shared, read-only)."""
    from scaffold_helpers import run_cli

    root = user_project(tmp_path_factory.mktemp("user3") / "myproj")
    before = hashes(root)
    first = _ok(run_cli("-m", "QIL", "-t", "weights", "--framework", "keras3", cwd=root))
    _ok(run_cli("-m", "QIL", "-t", "activation", "-p", "interval=learned:threshold", "-f", "keras3",
                cwd=root))  # fmt: skip
    return root, before, first.stdout


def test_the_first_keras3_scaffold_creates_the_projects_keras3_registry(
    user_keras3: tuple[Path, dict[str, str], str],
) -> None:
    root, _, output = user_keras3
    assert "created this project's own registry" in output and USER_KERAS3 in output
    assert not (root / USER_KERAS).exists()
    pyproject = (root / "pyproject.toml").read_text()
    assert (
        '[project.entry-points."quantizer_scaffold.dispatchers"]\n'
        'keras3 = "myproj.qat.keras3.quantizer.quantization_dispatcher_builder"\n'
    ) in pyproject
    dispatcher = (root / USER_KERAS3).read_text()
    assert "Keras 3, on TensorFlow or JAX" in dispatcher and "TrainingMethod.QIL: {" in dispatcher
    trainable = root / "src/myproj/qat/keras3/quantizer/qil/weights_training_quantizer.py"
    assert "from quantizer_scaffold.quantizers_infrastructure import keras3 as qi" in (
        trainable.read_text()
    )


def test_the_keras3_generated_tests_pass_on_tensorflow_and_jax(
    user_keras3: tuple[Path, dict[str, str], str],
) -> None:
    root, _, _ = user_keras3
    result = _ok(run_pytest(root / "tests/generated", root, [root / "src"], "-rA"))
    jax = [line for line in result.stdout.splitlines() if "holds_on_jax" in line]
    assert len(jax) == 2 and all(line.startswith("PASSED") for line in jax), result.stdout[-2000:]


def test_qat_init_trains_a_keras3_model_with_the_projects_method_and_it_reloads_on_tf_and_jax(
    user_keras3: tuple[Path, dict[str, str], str], tmp_path: Path
) -> None:
    import numpy as np

    root, _, _ = user_keras3
    trained = _python(TRAIN3, tmp_path, root / "src", "tensorflow")
    assert trained["kinds"] == ["QILActivationsTrainingQuantizer", "QILWeightsTrainingQuantizer"]
    np.testing.assert_allclose(trained["predictions"], trained["qat"], rtol=0, atol=1e-6)
    on_tf = _python(LOAD3, tmp_path, root / "src", "tensorflow")
    assert on_tf["predictions"] == trained["predictions"]
    on_jax = _python(LOAD3, tmp_path, root / "src", "jax")
    assert on_jax["backend"] == "jax"
    np.testing.assert_allclose(on_jax["predictions"], trained["predictions"], rtol=0, atol=1e-5)


def test_a_keras2_pair_of_the_same_method_then_adds_only_the_keras_dispatcher(
    user_keras3: tuple[Path, dict[str, str], str], tmp_path: Path, cli: Runner
) -> None:
    import shutil

    root = tmp_path / "myproj"
    shutil.copytree(user_keras3[0], root)
    before = hashes(user_keras3[0])
    enum = (root / USER_ENUM).read_text()
    output = _ok(cli("-m", "QIL", "-t", "weights", "-f", "keras", cwd=root)).stdout
    assert "created this project's keras dispatcher" in output
    assert (root / USER_ENUM).read_text() == enum  # one TrainingMethod, one QIL member
    pyproject = (root / "pyproject.toml").read_text()
    assert 'keras3 = "myproj.qat.keras3' in pyproject and 'keras = "myproj.qat.keras.' in pyproject
    listed = json.loads(_ok(cli("list", "--json", cwd=root)).stdout)["methods"]
    rows = {(m["name"], m["registered_in"]["backend"]): m for m in listed}
    assert rows[("QIL", "keras")]["registered_in"]["dispatcher_file"] == USER_KERAS
    assert rows[("QIL", "keras3")]["registered_in"]["dispatcher_file"] == USER_KERAS3
    assert rows[("QIL", "keras3")]["quantizers"]["activation"] == {
        "symmetric": "QILActivationsTrainingQuantizer"
    }
    assert rows[("STE", "keras3")]["origin"] == "built-in"
    table = _ok(cli("list", cwd=root)).stdout
    assert "keras3" in table and USER_KERAS3 in table
    ruff = Path(sys.executable).with_name("ruff")
    for command in (
        [ruff, "check", "--no-cache", "."],
        [ruff, "format", "--no-cache", "--check", "."],
    ):
        linted = subprocess.run(command, cwd=root, capture_output=True, text=True)
        assert linted.returncode == 0, linted.stdout + linted.stderr
    # removing every pair gives back the project as it was before the first scaffold
    _ok(cli("remove", "-m", "QIL", "-f", "keras", cwd=root))
    assert hashes(root) == before
    _ok(cli("remove", "-m", "QIL", cwd=root))
    assert hashes(root) == user_keras3[1]
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == [
        "pyproject.toml",
        "src",
        "src/myproj",
        "src/myproj/__init__.py",
    ]


# ---- a flat library with a per-back-end table ---------------------------------------------
def test_a_flat_library_with_a_keras3_table(tmp_path: Path, cli: Runner) -> None:
    root = flat_library(tmp_path / "flatqat")
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text()
    # its own runtime: a Keras 3 dispatcher must be configured, it is not created
    _refused(cli("-m", "Round", "-f", "keras3", cwd=root), "[tool.scaffold-quantizer.keras3]")
    pyproject.write_text(
        text[: text.index("[tool.scaffold-quantizer]")] + "[tool.scaffold-quantizer]\n"
        'source_root = "."\npackage = "flatqat"\ntests_dir = "tests"\n\n'
        "[tool.scaffold-quantizer.keras3]\n"
        'dispatcher_file = "flatqat/keras3/dispatcher.py"\nquantizers_dir = "flatqat/keras3"\n'
    )
    before = hashes(root)
    result = _ok(cli("-m", "Round", "-t", "weights", "-f", "keras3", cwd=root))
    assert "flatqat/keras3/dispatcher.py" in result.stdout
    assert (
        "Round"
        not in (root / "flatqat/qat/keras/quantizer/quantization_dispatcher_builder.py").read_text()
    )
    assert "TrainingMethod.Round: {" in (root / "flatqat/keras3/dispatcher.py").read_text()
    assert (root / "flatqat/keras3/round/weights_training_quantizer.py").is_file()
    assert 'keras3 = "flatqat.keras3.dispatcher"' in pyproject.read_text()
    # the JAX run of the contract is tested above; here the layout and the TensorFlow run
    tests = run_pytest(root / "tests", root, [root], "-k", "not holds_on_jax")
    assert tests.returncode == 0 and " passed" in tests.stdout, tests.stdout[-3000:]
    _ok(cli("remove", "-m", "Round", cwd=root))
    assert hashes(root) == before
