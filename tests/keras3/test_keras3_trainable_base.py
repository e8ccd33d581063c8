"""The Keras 3 trainable base: the contract's variable hooks, and its documented example."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from keras3_helpers import numpy

from quantizer_scaffold.quantizers_infrastructure import keras3 as qi3
from quantizer_scaffold.quantizers_infrastructure.keras3 import base_keras_trainable_quantizer


def test_the_documented_example_runs_as_written():
    """The example in base_keras_trainable_quantizer's docstring, executed verbatim."""
    doc = base_keras_trainable_quantizer.__doc__
    block = doc.split("Example (runs as written, on TensorFlow and on JAX)::\n", 1)[1]
    lines = [line[4:] if line.startswith("    ") else line for line in block.splitlines()]
    code = "\n".join(lines).replace('\\"', '"')
    namespace = {"__name__": "keras3_docstring_example"}
    exec(compile(code, str(Path(base_keras_trainable_quantizer.__file__)), "exec"), namespace)
    wrapper = namespace["wrapper"]
    threshold = wrapper.quantizer_variables["kernel"]["threshold"]
    assert threshold.trainable and tuple(threshold.shape) == (3,)
    assert not np.allclose(numpy(threshold), 1.0)  # calibrated, then trained


def test_fixed_and_learned_parameters_become_float32_variables_of_the_layer():
    import keras

    class TwoParameters(qi3.BaseKerasTrainableQuantizer):
        parameter_spec = qi3.ParameterSpec(
            qi3.QuantizerParameter("threshold"),
            qi3.QuantizerParameter(
                "alpha", qi3.ParameterKind.LEARNED, initial=0.5, per_channel=False
            ),
        )

        def __init__(self, config):  # type: ignore[no-untyped-def]
            super().__init__(
                config, qi3.QuantizationTarget.Weights, [qi3.QuantizationMethod.SYMMETRIC]
            )

        def __call__(self, inputs, training):  # type: ignore[no-untyped-def]
            return inputs

        def convert2inferable(self):  # type: ignore[no-untyped-def]
            raise NotImplementedError

    config = qi3.NodeWeightsQuantizationConfig("symmetric", 8, {"threshold": [1.0, 2.0]})
    quantizer = TwoParameters(config)
    layer = keras.layers.Layer()
    variables = quantizer.initialize_quantization((3, 2), "kernel_quantizer", layer)
    assert set(variables) == {"threshold", "alpha"}
    assert not variables["threshold"].trainable and variables["alpha"].trainable
    assert tuple(variables["threshold"].shape) == (2,) and tuple(variables["alpha"].shape) == ()
    assert all(v.dtype == "float32" and not v._autocast for v in variables.values())
    assert {id(v) for v in layer.weights} == {id(v) for v in variables.values()}
    assert quantizer.parameter_values() == {"threshold": [1.0, 2.0], "alpha": [0.5]}
    quantizer.calibrate_parameters(np.zeros((3, 2), np.float32))  # no calibrate: nothing set
    quantizer._assign_variable(variables["threshold"], [3.0, 4.0])
    assert quantizer.parameter_values()["threshold"] == [3.0, 4.0]
    with pytest.raises(RuntimeError, match="already initialized"):
        quantizer.initialize_quantization((3, 2), "kernel_quantizer", layer)
