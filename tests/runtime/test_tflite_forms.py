"""In inference, Dense / Conv1D / DepthwiseConv1D with per-channel weights run in their TFLite form.

The form must give the values of the layer's own call (the wrapper with the same quantizer
counted from the start of the axes, which keeps the layer's call, is the reference) and must
really be the 2-D op in the graph.
"""

from __future__ import annotations

import numpy as np
import pytest

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras, tf

L = keras.layers


def weights_quantizer(kernel: np.ndarray, axis: int) -> qi.WeightsSymmetricInferableQuantizer:
    channels = kernel.shape[axis]
    moved = np.moveaxis(kernel, axis, -1).reshape(-1, channels)
    return qi.WeightsSymmetricInferableQuantizer(
        num_bits=4, threshold=np.abs(moved).max(0).tolist(), per_channel=True, channel_axis=axis
    )


CASES = {
    "dense": ((6,), lambda: L.Dense(5, activation="relu"), "kernel", -1),
    "dense on sequences": ((3, 6), lambda: L.Dense(5, activation="softmax"), "kernel", -1),
    "conv1d same, strided": (
        (9, 3),
        lambda: L.Conv1D(4, 3, strides=2, padding="same"),
        "kernel",
        -1,
    ),
    "conv1d causal, dilated": (
        (9, 3),
        lambda: L.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="relu"),
        "kernel",
        -1,
    ),
    "depthwise conv1d": (
        (9, 3),
        lambda: L.DepthwiseConv1D(3, depth_multiplier=2, padding="same"),
        "depthwise_kernel",
        -2,
    ),
}


def wrapped(shape, make_layer, attribute, axis, from_the_end: bool):
    keras.utils.set_random_seed(0)
    layer = make_layer()
    layer.build((None, *shape))
    kernel = getattr(layer, attribute).numpy()
    if not from_the_end:
        axis %= kernel.ndim
    wrapper = qi.KerasQuantizationWrapper(layer, {attribute: weights_quantizer(kernel, axis)})
    wrapper.build((None, *shape))
    return wrapper


def graph_of(wrapper, shape, training: bool) -> tf.Graph:
    call = tf.function(lambda x: wrapper(x, training=training))
    return call.get_concrete_function(tf.TensorSpec((None, *shape), tf.float32)).graph


def op_types(wrapper, shape, training: bool) -> set[str]:
    return {op.type for op in graph_of(wrapper, shape, training).get_operations()}


def filter_source(graph: tf.Graph) -> str:
    """What feeds the convolution's filter: the fake-quant op (through the depthwise merge)."""
    (conv,) = [op for op in graph.get_operations() if op.type in CONVOLUTIONS]
    source = conv.inputs[1].op
    if source.type == "Reshape":  # the depthwise grid: [1, w, C, M] <- [1, w, C*M]
        source = source.inputs[0].op
    return source.type


CONVOLUTIONS = {"Conv2D", "DepthwiseConv2dNative"}


@pytest.mark.parametrize("case", list(CASES))
def test_the_tflite_form_computes_what_the_layer_computes(case):
    shape, make_layer, attribute, axis = CASES[case]
    form = wrapped(shape, make_layer, attribute, axis, from_the_end=True)
    own_call = wrapped(shape, make_layer, attribute, axis, from_the_end=False)
    x = np.random.default_rng(1).normal(size=(4, *shape)).astype(np.float32)
    expected = own_call(x, training=False).numpy()
    np.testing.assert_allclose(form(x, training=False).numpy(), expected, atol=1e-5)
    np.testing.assert_allclose(form(x, training=True).numpy(), expected, atol=1e-5)
    inference = graph_of(form, shape, training=False)
    assert filter_source(inference) == "FakeQuantWithMinMaxVarsPerChannel"
    assert not {op.type for op in inference.get_operations()} & {"MatMul", "Tensordot"}
    # training keeps the layer's own call; so does an axis counted from the start
    assert op_types(form, shape, training=True) == op_types(own_call, shape, training=True)


@pytest.mark.parametrize("shape", [(4,), (3, 4)], ids=["vectors", "sequences"])
def test_a_per_tensor_dense_adds_its_bias_to_the_matrix_product_then_takes_the_input_shape(
    shape,
):
    keras.utils.set_random_seed(0)
    layer = L.Dense(3, bias_initializer="random_normal", activation="relu")
    layer.build((None, *shape))
    per_tensor = qi.WeightsSymmetricInferableQuantizer(4, [1.0], per_channel=False)
    wrapper = qi.KerasQuantizationWrapper(layer, {"kernel": per_tensor})
    wrapper.build((None, *shape))
    x = np.random.default_rng(1).normal(size=(2, *shape)).astype(np.float32)
    kernel = per_tensor(layer.kernel).numpy()
    expected = np.maximum(x @ kernel + layer.bias.numpy(), 0.0)  # outside a model: float bias
    np.testing.assert_allclose(wrapper(x, training=False).numpy(), expected, atol=1e-5)
    graph = graph_of(wrapper, shape, training=False)
    (matmul,) = [op for op in graph.get_operations() if op.type == "MatMul"]
    assert matmul.inputs[1].op.type == "FakeQuantWithMinMaxVars"  # the kernel in its own shape
    assert [op.type for op in matmul.outputs[0].consumers()] == ["BiasAdd"]  # fused by TFLite
    assert "Tensordot" not in {op.type for op in graph.get_operations()}


def test_unquantized_and_activation_only_layers_keep_their_own_call():
    activations_only = qi.KerasQuantizationWrapper(
        L.Conv1D(2, 3),
        activation_quantizers=[qi.ActivationSymmetricInferableQuantizer(8, [1.0], True)],
    )
    activations_only.build((None, 5, 2))
    assert "FakeQuantWithMinMaxVarsPerChannel" not in op_types(activations_only, (5, 2), False)
