"""The Keras 3 KerasQuantizationWrapper: layer types, the training flag, errors, mixed Keras."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import pytest
from keras import ops
from keras3_helpers import numpy

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.quantizers_infrastructure import keras3 as qi3
from quantizer_scaffold.quantizers_infrastructure.common.frameworks import KerasMismatchError
from quantizer_scaffold.quantizers_infrastructure.keras3 import quantizer_utils

L = keras.layers

# layer, its input shape, the weights to quantize with their channel axis
LAYERS = [
    (lambda: L.Dense(5), (7,), {"kernel": -1}),
    (lambda: L.Conv1D(3, 2), (6, 2), {"kernel": -1}),
    (lambda: L.Conv2D(4, 3), (6, 6, 2), {"kernel": -1}),
    (lambda: L.DepthwiseConv2D(3, depth_multiplier=2), (6, 6, 3), {"kernel": -2}),
    (lambda: L.Conv2DTranspose(3, 3), (4, 4, 2), {"kernel": -2}),
    (
        lambda: L.SeparableConv2D(4, 3),
        (6, 6, 2),
        {"depthwise_kernel": -2, "pointwise_kernel": -1},
    ),
]


def _quantizer(kernel: np.ndarray, axis: int) -> qi3.WeightsSymmetricInferableQuantizer:
    reduce = tuple(i for i in range(kernel.ndim) if i != axis % kernel.ndim)
    thresholds = np.maximum(np.abs(kernel).max(axis=reduce), 1e-3)
    return qi3.WeightsSymmetricInferableQuantizer(4, thresholds.tolist(), True, axis)


@pytest.mark.parametrize("make_layer, input_shape, weights", LAYERS)
def test_the_wrapped_layer_computes_with_the_quantized_weights(make_layer, input_shape, weights):
    keras.utils.set_random_seed(0)
    reference = make_layer()
    reference.build((None, *input_shape))
    kernels = {attr: numpy(getattr(reference, attr)) for attr in weights}
    quantizers = {attr: _quantizer(kernels[attr], axis) for attr, axis in weights.items()}
    activation = qi3.ActivationUniformInferableQuantizer(8, [-3.0], [3.0])
    wrapper = qi3.KerasQuantizationWrapper(
        make_layer.__call__() if False else type(reference).from_config(reference.get_config()),
        quantizers,
        [activation],
    )
    wrapper.build((None, *input_shape))
    wrapper.layer.set_weights(reference.get_weights())
    for attr, quantizer in quantizers.items():
        getattr(reference, attr).assign(numpy(quantizer(kernels[attr])))
    x = np.random.default_rng(1).normal(size=(2, *input_shape)).astype(np.float32)
    np.testing.assert_allclose(
        numpy(wrapper(x)), numpy(activation(reference(x))), rtol=1e-5, atol=1e-5
    )
    # the variable is back in place after the call: the layer still trains its float weights
    for attr in weights:
        assert isinstance(getattr(wrapper.layer, attr), keras.Variable)
        np.testing.assert_array_equal(numpy(getattr(wrapper.layer, attr)), kernels[attr])


class _FlagQuantizer(qi3.BaseKerasTrainableQuantizer):
    """Records the training flag it was called with; one fixed threshold on the layer."""

    parameter_spec = qi3.ParameterSpec(qi3.QuantizerParameter("threshold"))

    def __init__(self, config: qi3.NodeWeightsQuantizationConfig) -> None:
        super().__init__(config, qi3.QuantizationTarget.Weights, [qi3.QuantizationMethod.SYMMETRIC])
        self.flags: list[Any] = []

    def calibrate(self, values):  # type: ignore[no-untyped-def]
        return {"threshold": float(np.abs(values).max())}

    def __call__(self, inputs: Any, training: Any) -> Any:
        self.flags.append(training)
        return quantizer_utils.symmetric_quantize(inputs, self.parameters["threshold"], 8)

    def convert2inferable(self) -> qi3.BaseKerasInferableQuantizer:
        return qi3.WeightsSymmetricInferableQuantizer(
            8, self.parameter_values()["threshold"], False
        )


def _weights_config() -> qi3.NodeWeightsQuantizationConfig:
    return qi3.NodeWeightsQuantizationConfig("symmetric", 8, {"threshold": 1.0}, None, False)


def test_trainable_quantizers_get_the_training_flag_their_variables_and_calibration():
    quantizer = _FlagQuantizer(_weights_config())
    wrapper = qi3.KerasQuantizationWrapper(L.Dense(2), {"kernel": quantizer})
    x = np.ones((1, 3), np.float32)
    wrapper(x, training=True)
    wrapper(x)
    assert quantizer.flags == [True, False]
    threshold = quantizer.parameters["threshold"]
    assert wrapper.quantizer_variables == {"kernel": {"threshold": threshold}}
    assert any(v is threshold for v in wrapper.non_trainable_weights)
    assigned = wrapper.calibrate()  # the weights are in place: max |kernel|
    kernel_max = float(np.abs(numpy(wrapper.layer.kernel)).max())
    assert assigned == {"kernel": {"threshold": [pytest.approx(kernel_max)]}}
    with pytest.raises(ValueError, match="already quantizes quant_dense.*kernel"):
        qi3.KerasQuantizationWrapper(L.Dense(2), {"kernel": quantizer}).build((None, 3))
    converted = wrapper.convert_to_inferable_quantizers()
    assert isinstance(
        converted.weights_quantizers["kernel"], qi3.WeightsSymmetricInferableQuantizer
    )
    np.testing.assert_array_equal(numpy(converted(x)), numpy(wrapper(x)))


def test_a_weight_the_layer_does_not_have_is_named_with_the_ones_it_has():
    wrapper = qi3.KerasQuantizationWrapper(
        L.DepthwiseConv2D(3),
        {"depthwise_kernel": qi3.WeightsPOTInferableQuantizer(8, [1.0], False)},
    )
    with pytest.raises(
        ValueError,
        match=r"has no weight 'depthwise_kernel' to quantize \(its weights: bias, kernel\)",
    ):
        wrapper.build((None, 5, 5, 2))


def test_something_that_is_not_a_quantizer_is_refused():
    with pytest.raises(
        TypeError, match=r"weights_quantizers\['kernel'\] must be a BaseKerasTrainable"
    ):
        qi3.KerasQuantizationWrapper(L.Dense(2), {"kernel": ops.round})


def test_a_keras2_quantizer_in_a_keras3_wrapper_is_one_clear_error():
    keras2_quantizer = qi.WeightsSymmetricInferableQuantizer(8, [1.0], False)
    with pytest.raises(KerasMismatchError) as error:
        qi3.KerasQuantizationWrapper(L.Dense(2), {"kernel": keras2_quantizer})
    message = str(error.value)
    assert message.startswith("quant_dense")
    assert "is a Keras 2 (tf_keras) object" in message and "used with Keras 3" in message
    assert "quantizer_scaffold.quantizers_infrastructure.keras3 (qi3)" in message


def test_keras3_objects_in_a_keras2_wrapper_are_one_clear_error():
    from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras as keras2

    with pytest.raises(KerasMismatchError, match="is a Keras 3 object .* used with Keras 2"):
        qi.KerasQuantizationWrapper(
            keras2.layers.Dense(2),
            {"kernel": qi3.WeightsSymmetricInferableQuantizer(8, [1.0], False)},
        )
    with pytest.raises(KerasMismatchError, match="the layer given to KerasQuantizationWrapper"):
        qi.KerasQuantizationWrapper(L.Dense(2))
    with pytest.raises(KerasMismatchError, match="the layer given to KerasQuantizationWrapper"):
        qi3.KerasQuantizationWrapper(keras2.layers.Dense(2))
