"""Import discipline and the install hints of the Keras 3 back end, in fresh processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from import_blocker import HIDE_PACKAGES

PRELUDE = 'HIDDEN.update(filter(None, sys.argv[1].split(",")))\n'


def _run(script: str, hidden: str, backend: str) -> dict:
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", HIDE_PACKAGES + PRELUDE + textwrap.dedent(script), hidden],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_package_qat_router_and_cli_import_no_keras_and_no_back_end():
    report = _run(
        """
        import quantizer_scaffold
        from quantizer_scaffold import qat, quantizers_infrastructure
        from quantizer_scaffold.quantizers_infrastructure import keras3 as qi3
        import quantizer_scaffold.qat.common.flow, quantizer_scaffold.scaffold.cli
        config = qi3.NodeWeightsQuantizationConfig("symmetric", 8, {"threshold": 1.0})
        heavy = ("keras", "jax", "tensorflow", "tf_keras", "tensorflow_model_optimization")
        print(json.dumps({"loaded": [m for m in heavy if m in sys.modules],
                          "bits": config.weights_n_bits}))
        """,
        hidden="",
        backend="jax",
    )
    assert report == {"loaded": [], "bits": 8}


def test_a_missing_jax_back_end_names_jax_and_the_extra():
    report = _run(
        """
        from quantizer_scaffold.quantizers_infrastructure import keras3 as qi3
        print(json.dumps({
            "wrapper": attempt("from quantizer_scaffold.quantizers_infrastructure import keras3; "
                               "keras3.KerasQuantizationWrapper"),
            "module": attempt("import quantizer_scaffold.qat.keras3.quantization_facade"),
            "method": qi3.QuantizationMethod.UNIFORM.value,
        }))
        """,
        hidden="jax",
        backend="jax",
    )
    assert report["method"] == "uniform"
    for key, feature in (
        ("wrapper", "KerasQuantizationWrapper"),
        ("module", "The Keras 3 runtime of quantizer_scaffold"),
    ):
        error = report[key]
        assert error["type"] == "MissingDependencyError" and error["import_error"], error
        assert error["message"] == (
            f"{feature} needs jax for Keras 3 on the jax back end, which is not installed: "
            "run pip install 'quantizer-scaffold[jax]'"
        )


def test_a_missing_keras_on_tensorflow_names_both_and_the_tensorflow_extra():
    report = _run(
        """
        print(json.dumps({"load": attempt(
            "from quantizer_scaffold.quantizers_infrastructure import keras3; "
            "keras3.load_quantized_model")}))
        """,
        hidden="keras,tensorflow",
        backend="tensorflow",
    )
    assert report["load"]["type"] == "MissingDependencyError"
    assert report["load"]["message"] == (
        "load_quantized_model needs keras, tensorflow-cpu for Keras 3 on the tensorflow back end, "
        "which are not installed: run pip install 'quantizer-scaffold[tensorflow]'"
    )
