"""Without TensorFlow, tf-keras or tfmot: the core imports, Keras names fail with a clear error."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from import_blocker import HIDE_PACKAGES

SCRIPT = HIDE_PACKAGES + textwrap.dedent(
    """
    HIDDEN.update({"tensorflow", "tf_keras", "tensorflow_model_optimization"})
    report = {}
    import quantizer_scaffold
    from quantizer_scaffold import quantizers_infrastructure as qi
    config = qi.NodeWeightsQuantizationConfig("symmetric", 8, {"threshold": 1.0})
    report["core"] = [quantizer_scaffold.__version__, qi.QuantizationMethod.SYMMETRIC.value,
                      config.weights_n_bits]
    report["trainable"] = attempt("from quantizer_scaffold import quantizers_infrastructure as qi; "
                                  "qi.BaseKerasTrainableQuantizer")
    report["wrapper"] = attempt("import quantizer_scaffold.quantizers_infrastructure.keras"
                                ".quantization_wrapper")
    report["tfmot_adapter"] = attempt("from quantizer_scaffold.qat import TfmotQuantizeConfig")
    report["qat_init_import"] = attempt("from quantizer_scaffold.qat import qat_init")
    report["export_tflite"] = attempt("from quantizer_scaffold import quantizers_infrastructure "
                                      "as qi; qi.export_tflite")
    HIDDEN.clear()
    HIDDEN.add("tensorflow_model_optimization")
    report["only_tfmot"] = attempt("from quantizer_scaffold import quantizers_infrastructure "
                                   "as qi; qi.load_quantized_model")
    report["tensorflow_loaded"] = "tensorflow" in sys.modules
    print(json.dumps(report))
    """
)


def test_core_works_and_keras_names_raise_missing_dependency_error():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["core"] == ["0.1.0", "symmetric", 8]
    assert report["tensorflow_loaded"] is False
    for key, feature in [
        ("trainable", "BaseKerasTrainableQuantizer"),
        ("wrapper", "The Keras runtime of quantizer_scaffold"),
        ("tfmot_adapter", "TfmotQuantizeConfig"),
        ("export_tflite", "export_tflite"),
    ]:
        error = report[key]
        assert error["type"] == "MissingDependencyError" and error["import_error"], error
        message = error["message"]
        assert message.startswith(feature), message
        for package in ("tensorflow-cpu", "tf-keras", "tensorflow-model-optimization"):
            assert package in message
        assert "pip install 'quantizer-scaffold[tensorflow]'" in message
    assert report["qat_init_import"] is None  # it routes by model class: nothing to load yet
    only = report["only_tfmot"]["message"]
    assert only.startswith("load_quantized_model needs tensorflow-model-optimization, which is")
    assert "tensorflow-cpu" not in only and "tf-keras" not in only
