"""Save/load round trips: every quantizer, every format, qualified names and safe mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from runtime_test_quantizers import LearnedThresholdQuantizer, weights_config

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras
from quantizer_scaffold.quantizers_infrastructure.keras.serialization import register_quantizer

L = keras.layers
FORMATS = ["model.keras", "saved_model", "model.h5"]


def _every_inferable_quantizer_model() -> keras.Model:
    inputs = keras.Input((8, 8, 3))
    x = qi.KerasQuantizationWrapper(
        L.Conv2D(4, 3),
        {"kernel": qi.WeightsSymmetricInferableQuantizer(8, [0.3, 0.4, 0.5, 0.6], True, -1)},
        [qi.ActivationSymmetricInferableQuantizer(8, [3.0], True)],
    )(inputs)
    x = qi.KerasQuantizationWrapper(
        L.DepthwiseConv2D(3, depth_multiplier=2),
        {"depthwise_kernel": qi.WeightsPOTInferableQuantizer(4, [0.5, 0.25, 1.0, 0.5], True, 2)},
        [qi.ActivationPOTInferableQuantizer(6, [8.0], False)],
    )(x)
    x = qi.KerasQuantizationWrapper(
        L.Conv2DTranspose(3, 3),
        {
            "kernel": qi.WeightsUniformInferableQuantizer(
                6, [-0.5, -0.4, -0.3], [0.6, 0.5, 0.4], True, 2
            )
        },
        [qi.ActivationUniformInferableQuantizer(8, [-2.0], [3.0])],
    )(x)
    x = L.Flatten()(x)
    x = qi.KerasQuantizationWrapper(
        L.Dense(5), {"kernel": LearnedThresholdQuantizer(weights_config(0.2, 5), extra_scale=0.5)}
    )(x)
    return keras.Model(inputs, x)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):  # type: ignore[no-untyped-def]
    model = _every_inferable_quantizer_model()
    model.layers[-1].quantizer_variables["kernel"]["threshold"].assign(0.125)  # saved state
    rng = np.random.default_rng(1)
    for layer in model.layers:  # biases off the int32 grid the wrappers round them to
        if isinstance(layer, qi.KerasQuantizationWrapper):
            layer.layer.bias.assign(rng.normal(0.0, 0.3, layer.layer.bias.shape))
    data = np.random.default_rng(0).standard_normal((4, 8, 8, 3)).astype(np.float32)
    folder = tmp_path_factory.mktemp("saved")
    for name in FORMATS:
        model.save(folder / name)
    return model, data, model.predict(data, verbose=0), folder


@pytest.mark.parametrize("name", FORMATS)
def test_round_trip_gives_identical_predictions(saved, name):
    model, data, expected, folder = saved
    loaded = qi.load_quantized_model(folder / name)
    np.testing.assert_array_equal(loaded.predict(data, verbose=0), expected)
    for original, restored in zip(model.layers, loaded.layers, strict=True):
        assert type(restored) is type(original)
        if isinstance(original, qi.KerasQuantizationWrapper):
            assert [type(q) for q in restored.weights_quantizers.values()] == [
                type(q) for q in original.weights_quantizers.values()
            ]
            assert [q.get_config() for q in restored.activation_quantizers] == [
                q.get_config() for q in original.activation_quantizers
            ]
    threshold = loaded.layers[-1].weights_quantizers["kernel"].parameters["threshold"]
    assert float(threshold.numpy()) == 0.125
    assert loaded.layers[-1].weights_quantizers["kernel"].extra_scale == 0.5


def test_a_missing_model_path_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no saved model at"):
        qi.load_quantized_model(tmp_path / "nothing.keras")


def _lambda_model() -> keras.Model:
    inputs = keras.Input((3,))
    wrapped = qi.KerasQuantizationWrapper(
        L.Dense(2), {"kernel": qi.WeightsPOTInferableQuantizer(8, [1.0], False)}
    )(inputs)
    return keras.Model(inputs, L.Lambda(lambda t: t * 2.0)(wrapped))


@pytest.mark.parametrize("name", ["model.keras", "model.h5"])
def test_safe_mode_refuses_lambda_bytecode(tmp_path, name):
    _lambda_model().save(tmp_path / name)
    with pytest.raises(ValueError, match="safe_mode"):
        qi.load_quantized_model(tmp_path / name)


def test_safe_mode_in_a_saved_model_keeps_the_traced_graph_not_the_bytecode(tmp_path):
    model = _lambda_model()
    model.save(tmp_path / "saved_model")
    loaded = qi.load_quantized_model(tmp_path / "saved_model")
    # the Lambda comes back as the graph TensorFlow traced at save time, not unmarshalled code
    assert not isinstance(loaded.layers[-1], L.Lambda)
    assert isinstance(keras.models.load_model(tmp_path / "saved_model").layers[-1], L.Lambda)
    data = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(loaded(data).numpy(), model(data).numpy())


MODULE = """
from quantizer_scaffold.quantizers_infrastructure.keras.base_keras_inferable_quantizer import (
    BaseKerasInferableQuantizer,
)
from quantizer_scaffold.quantizers_infrastructure.keras.serialization import register_quantizer


@register_quantizer
class MyQuantizer(BaseKerasInferableQuantizer):
    def __init__(self, factor=FACTOR):
        self.factor = factor

    def __call__(self, inputs):
        return inputs * self.factor

    def get_config(self):
        return {"factor": self.factor}
"""


def test_same_class_name_in_two_packages_loads_each_under_its_qualified_name(tmp_path, monkeypatch):
    for package, factor in (("rt_collide_a", 2.0), ("rt_collide_b", 3.0)):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
        (tmp_path / package / "quantizers.py").write_text(MODULE.replace("FACTOR", str(factor)))
    monkeypatch.syspath_prepend(str(tmp_path))
    from rt_collide_a.quantizers import MyQuantizer as QuantizerA
    from rt_collide_b.quantizers import MyQuantizer as QuantizerB

    inputs = keras.Input((4,))
    x = qi.KerasQuantizationWrapper(L.Dense(4), activation_quantizers=[QuantizerA()])(inputs)
    x = qi.KerasQuantizationWrapper(L.Dense(4), activation_quantizers=[QuantizerB()])(x)
    model = keras.Model(inputs, x)
    data = np.ones((2, 4), np.float32)
    for name in ("collide.keras", "collide_saved_model"):
        model.save(tmp_path / name)
        loaded = qi.load_quantized_model(tmp_path / name)
        assert [type(layer.activation_quantizers[0]) for layer in loaded.layers[1:]] == [
            QuantizerA,
            QuantizerB,
        ]
        np.testing.assert_array_equal(
            loaded.predict(data, verbose=0), model.predict(data, verbose=0)
        )

    class MyQuantizer(QuantizerA):  # same package and name, a different class: refused now
        pass

    with pytest.raises(
        ValueError, match="'rt_collide_a.quantizers>MyQuantizer' is already registered"
    ):
        register_quantizer(MyQuantizer, package="rt_collide_a.quantizers")


def test_a_fresh_process_loads_the_projects_trainable_quantizers(tmp_path):
    """load_quantized_model registers the built-in STE quantizers itself (via the dispatcher)."""
    from quantizer_scaffold.qat.common.qat_config import TrainingMethod
    from quantizer_scaffold.qat.keras.quantizer.quantization_dispatcher_builder import (
        METHOD2ACTQUANTIZER,
        METHOD2WEIGHTQUANTIZER,
    )

    weights = METHOD2WEIGHTQUANTIZER[TrainingMethod.STE][qi.QuantizationMethod.SYMMETRIC]
    activation = METHOD2ACTQUANTIZER[TrainingMethod.STE][qi.QuantizationMethod.UNIFORM]
    inputs = keras.Input((6,))
    outputs = qi.KerasQuantizationWrapper(
        L.Dense(4),
        {
            "kernel": weights(
                qi.NodeWeightsQuantizationConfig("symmetric", 4, {"threshold": [0.5] * 4})
            )
        },
        [
            activation(
                qi.NodeActivationQuantizationConfig(
                    "uniform", 8, {"range_min": -1.0, "range_max": 2.0}
                )
            )
        ],
    )(inputs)
    model = keras.Model(inputs, outputs)
    data = np.linspace(-2, 2, 12, dtype=np.float32).reshape(2, 6)
    model.save(tmp_path / "ste.keras")
    np.save(tmp_path / "expected.npy", model.predict(data, verbose=0))
    script = textwrap.dedent(
        f"""
        import json, sys
        import numpy as np
        from quantizer_scaffold import quantizers_infrastructure as qi
        model = qi.load_quantized_model({str(tmp_path / "ste.keras")!r})
        data = np.linspace(-2, 2, 12, dtype=np.float32).reshape(2, 6)
        expected = np.load({str(tmp_path / "expected.npy")!r})
        same = bool(np.array_equal(model.predict(data, verbose=0), expected))
        wrapper = model.layers[1]
        quantizers = [*wrapper.weights_quantizers.values(), *wrapper.activation_quantizers]
        names = [type(q).__name__ for q in quantizers]
        print(json.dumps({{"same": same, "names": names}}))
        """
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"same": True, "names": [weights.__name__, activation.__name__]}
