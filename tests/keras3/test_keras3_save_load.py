"""Keras 3 save/load: every quantizer in a .keras file, reloaded in a fresh process in safe mode;
qualified names; files of the other Keras refused with the loader to use."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from keras3_helpers import numpy

from quantizer_scaffold.qat.common.qat_config import TrainingMethod
from quantizer_scaffold.qat.keras3.quantizer.quantization_dispatcher_builder import (
    METHOD2ACTQUANTIZER,
    METHOD2WEIGHTQUANTIZER,
)
from quantizer_scaffold.quantizers_infrastructure import keras3 as qi3
from quantizer_scaffold.quantizers_infrastructure.common.frameworks import KerasMismatchError
from quantizer_scaffold.quantizers_infrastructure.keras3.serialization import register_quantizer

L = keras.layers
SYMMETRIC = qi3.QuantizationMethod.SYMMETRIC


def _every_quantizer_model() -> keras.Model:
    """The six inferable quantizers, and the STE and LSQ trainable ones, in one model."""
    keras.utils.set_random_seed(0)
    ste = METHOD2WEIGHTQUANTIZER[TrainingMethod.STE][qi3.QuantizationMethod.POWER_OF_TWO]
    lsq_weights = METHOD2WEIGHTQUANTIZER[TrainingMethod.LSQ][SYMMETRIC]
    lsq_activation = METHOD2ACTQUANTIZER[TrainingMethod.LSQ][SYMMETRIC]
    uniform_activation = METHOD2ACTQUANTIZER[TrainingMethod.STE][qi3.QuantizationMethod.UNIFORM]
    inputs = keras.Input((8, 8, 3))
    x = qi3.KerasQuantizationWrapper(
        L.Conv2D(4, 3),
        {"kernel": qi3.WeightsSymmetricInferableQuantizer(8, [0.3, 0.4, 0.5, 0.6], True, -1)},
        [qi3.ActivationSymmetricInferableQuantizer(8, [3.0], True)],
    )(inputs)
    x = qi3.KerasQuantizationWrapper(
        L.DepthwiseConv2D(3, depth_multiplier=2),
        {"kernel": qi3.WeightsPOTInferableQuantizer(4, [0.5, 0.25, 1.0, 0.5], True, 2)},
        [qi3.ActivationPOTInferableQuantizer(6, [8.0], False)],
    )(x)
    x = qi3.KerasQuantizationWrapper(
        L.Conv2DTranspose(3, 3),
        {
            "kernel": qi3.WeightsUniformInferableQuantizer(
                6, [-0.5, -0.4, -0.3], [0.6, 0.5, 0.4], True, 2
            )
        },
        [qi3.ActivationUniformInferableQuantizer(8, [-2.0], [3.0])],
    )(x)
    x = L.Flatten()(x)
    x = qi3.KerasQuantizationWrapper(
        L.Dense(5),
        {
            "kernel": ste(
                qi3.NodeWeightsQuantizationConfig("power_of_two", 4, {"threshold": [0.3] * 5})
            )
        },
        [
            uniform_activation(
                qi3.NodeActivationQuantizationConfig(
                    "uniform", 8, {"range_min": -4.0, "range_max": 4.0}
                )
            )
        ],
    )(x)
    x = qi3.KerasQuantizationWrapper(
        L.Dense(3),
        {
            "kernel": lsq_weights(
                qi3.NodeWeightsQuantizationConfig("symmetric", 4, {"threshold": [0.5] * 3})
            )
        },
        [lsq_activation(qi3.NodeActivationQuantizationConfig("symmetric", 8, {"threshold": 5.0}))],
    )(x)
    return keras.Model(inputs, x)  # fmt: skip


def _fresh_process(script: str) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_fresh_process_reloads_every_quantizer_with_identical_predictions(tmp_path):
    model = _every_quantizer_model()
    lsq = model.layers[-1].weights_quantizers["kernel"]
    lsq.parameters["step_size"].assign(np.array([0.02, 0.03, 0.04], np.float32))  # saved state
    data = np.random.default_rng(0).standard_normal((4, 8, 8, 3)).astype(np.float32)
    expected = model.predict(data, verbose=0)
    model.save(tmp_path / "model.keras")
    np.save(tmp_path / "data.npy", data)
    np.save(tmp_path / "expected.npy", expected)
    report = _fresh_process(
        f"""
        import json, sys
        import numpy as np
        import keras
        from quantizer_scaffold.quantizers_infrastructure import keras3 as qi3
        KERAS2_MODULES = (
            "quantizer_scaffold.quantizers_infrastructure.keras.",
            "quantizer_scaffold.qat.keras.",
            "tensorflow_model_optimization",
        )
        model = qi3.load_quantized_model({str(tmp_path / "model.keras")!r})
        data = np.load({str(tmp_path / "data.npy")!r})
        expected = np.load({str(tmp_path / "expected.npy")!r})
        names = []
        for layer in model.layers:
            if isinstance(layer, qi3.KerasQuantizationWrapper):
                quantizers = [*layer.weights_quantizers.values(), *layer.activation_quantizers]
                names += [type(q).__module__ + "." + type(q).__name__ for q in quantizers]
        step = layer.weights_quantizers["kernel"].parameters["step_size"]
        print(json.dumps({{
            "same": bool(np.array_equal(model.predict(data, verbose=0), expected)),
            "names": names,
            "step": keras.ops.convert_to_numpy(step).tolist(),
            "backend": keras.backend.backend(),
            "keras2_runtime": [m for m in sys.modules if m.startswith(KERAS2_MODULES)],
        }}))
        """
    )
    quantizers = []
    for layer in model.layers:
        if isinstance(layer, qi3.KerasQuantizationWrapper):
            quantizers += [*layer.weights_quantizers.values(), *layer.activation_quantizers]
    assert report["same"] is True
    assert report["names"] == [f"{type(q).__module__}.{type(q).__name__}" for q in quantizers]
    assert all(".keras3." in name for name in report["names"])
    np.testing.assert_allclose(report["step"], [0.02, 0.03, 0.04])
    assert report["backend"] == keras.backend.backend()
    assert report["keras2_runtime"] == []  # loading a Keras 3 model never touches Keras 2


def test_a_missing_path_and_a_directory_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no saved model at"):
        qi3.load_quantized_model(tmp_path / "nothing.keras")
    with pytest.raises(ValueError, match="SavedModel directory, which Keras 3 cannot load"):
        qi3.load_quantized_model(tmp_path)


def test_a_file_of_the_other_keras_names_the_loader_to_use(tmp_path):
    from quantizer_scaffold import quantizers_infrastructure as qi
    from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras as keras2

    keras2.Sequential([keras2.Input((3,)), keras2.layers.Dense(2)]).save(tmp_path / "k2.keras")
    keras.Sequential([keras.Input((3,)), L.Dense(2)]).save(tmp_path / "k3.keras")
    with pytest.raises(
        KerasMismatchError, match=r"saved by Keras 2 \(tf_keras\) .*load it with .*\(qi\)"
    ):
        qi3.load_quantized_model(tmp_path / "k2.keras")
    with pytest.raises(
        KerasMismatchError, match=r"saved by Keras 3 .*load it with .*keras3.*\(qi3\)"
    ):
        qi.load_quantized_model(tmp_path / "k3.keras")


def test_safe_mode_refuses_lambda_bytecode(tmp_path):
    inputs = keras.Input((3,))
    wrapped = qi3.KerasQuantizationWrapper(
        L.Dense(2), {"kernel": qi3.WeightsPOTInferableQuantizer(8, [1.0], False)}
    )(inputs)
    keras.Model(inputs, L.Lambda(lambda t: t * 2.0)(wrapped)).save(tmp_path / "lambda.keras")
    with pytest.raises(ValueError, match="safe_mode"):
        qi3.load_quantized_model(tmp_path / "lambda.keras")


def test_an_unregistered_quantizer_cannot_be_saved():
    class Unregistered(qi3.BaseKerasInferableQuantizer):
        def __call__(self, inputs):  # type: ignore[no-untyped-def]
            return inputs

        def get_config(self):  # type: ignore[no-untyped-def]
            return {}

    inputs = keras.Input((3,))
    outputs = qi3.KerasQuantizationWrapper(L.Dense(2), activation_quantizers=[Unregistered()])(
        inputs
    )
    with pytest.raises(
        ValueError,
        match=r"Unregistered is not registered for saving: decorate it with @qi3.register_",
    ):
        keras.Model(inputs, outputs).get_config()


MODULE = """
from quantizer_scaffold.quantizers_infrastructure import keras3 as qi3


@qi3.register_quantizer
class MyQuantizer(qi3.BaseKerasInferableQuantizer):
    def __init__(self, factor=FACTOR):
        self.factor = factor

    def __call__(self, inputs):
        return inputs * self.factor

    def get_config(self):
        return {"factor": self.factor}
"""


def test_same_class_name_in_two_packages_loads_each_under_its_qualified_name(tmp_path, monkeypatch):
    for package, factor in (("k3_collide_a", 2.0), ("k3_collide_b", 3.0)):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
        (tmp_path / package / "quantizers.py").write_text(MODULE.replace("FACTOR", str(factor)))
    monkeypatch.syspath_prepend(str(tmp_path))
    from k3_collide_a.quantizers import MyQuantizer as QuantizerA
    from k3_collide_b.quantizers import MyQuantizer as QuantizerB

    inputs = keras.Input((4,))
    x = qi3.KerasQuantizationWrapper(L.Dense(4), activation_quantizers=[QuantizerA()])(inputs)
    x = qi3.KerasQuantizationWrapper(L.Dense(4), activation_quantizers=[QuantizerB()])(x)
    model = keras.Model(inputs, x)
    model.save(tmp_path / "collide.keras")
    loaded = qi3.load_quantized_model(tmp_path / "collide.keras")
    assert [type(layer.activation_quantizers[0]) for layer in loaded.layers[1:]] == [
        QuantizerA,
        QuantizerB,
    ]
    data = np.ones((2, 4), np.float32)
    np.testing.assert_array_equal(numpy(loaded(data)), numpy(model(data)))

    class MyQuantizer(QuantizerA):  # same package and name, a different class: refused now
        pass

    with pytest.raises(
        ValueError, match="'k3_collide_a.quantizers>MyQuantizer' is already registered"
    ):
        register_quantizer(MyQuantizer, package="k3_collide_a.quantizers")
