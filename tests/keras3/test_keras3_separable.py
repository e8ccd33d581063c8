"""Keras 3 separable convolutions become their depthwise and pointwise halves: the same function,
and the tensor between them quantized by ``qat_init`` (on TensorFlow and JAX)."""

from __future__ import annotations

import keras
import numpy as np
from keras3_helpers import numpy

from quantizer_scaffold.qat import qat_finalize, qat_init
from quantizer_scaffold.qat.keras3.separable import split_separable_convolutions

L = keras.layers


def test_functional_models_split_with_shared_layers_computing_the_same():
    keras.utils.set_random_seed(0)
    image, sequence = keras.Input((9, 9, 3), name="image"), keras.Input((12, 3))
    shared = L.SeparableConv2D(
        4, 3, strides=2, depth_multiplier=2, activation="relu", name="sep",
        bias_initializer="random_normal",
    )  # fmt: skip
    twice = L.Add()([shared(image), shared(L.Multiply()([image, image]))])
    strided = L.SeparableConv1D(5, 3, padding="same", strides=2, use_bias=False, name="plain")
    model = keras.Model([image, sequence], [twice, strided(sequence)], name="two")
    split, halves = split_separable_convolutions(model)
    assert halves == {
        "sep": "sep_depthwise (DepthwiseConv2D) + sep (Conv2D)",
        "plain": "plain_depthwise (DepthwiseConv1D) + plain (Conv1D)",
    }
    assert split.name == "two" and split.output_names == model.output_names
    # the inputs keep their names, an unnamed one its generated name
    assert [layer.name for layer in split.layers[:2]] == [layer.name for layer in model.layers[:2]]
    assert split.get_layer("sep").kernel_size == (1, 1)
    assert not split.get_layer("sep_depthwise").use_bias
    rng = np.random.default_rng(0)
    inputs = [rng.random((4, 9, 9, 3), np.float32), rng.random((4, 12, 3), np.float32)]
    for expected, got in zip(model(inputs), split(inputs), strict=True):
        np.testing.assert_allclose(numpy(got), numpy(expected), atol=1e-6)


def test_sequential_models_split_and_models_without_one_are_returned_as_they_are():
    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [keras.Input((8, 8, 2)), L.SeparableConv2D(4, 3, name="sep"), L.Flatten(), L.Dense(2)]
    )
    split, halves = split_separable_convolutions(model)
    assert isinstance(split, keras.Sequential) and list(halves) == ["sep"]
    assert [layer.name for layer in split.layers][:2] == ["sep_depthwise", "sep"]
    images = np.random.default_rng(1).random((3, 8, 8, 2), np.float32)
    np.testing.assert_allclose(numpy(split(images)), numpy(model(images)), atol=1e-6)
    plain = keras.Sequential([keras.Input((3,)), L.Dense(2)])
    assert split_separable_convolutions(plain) == (plain, {})


def test_qat_quantizes_the_tensor_between_the_halves_and_finalizes_alike():
    keras.utils.set_random_seed(2)
    sequence = keras.Input((10, 2))
    separable = L.SeparableConv1D(3, 3, depth_multiplier=2, name="sep", activation="relu")
    model = keras.Model(sequence, L.Dense(2, name="head")(L.Flatten()(separable(sequence))))
    data = np.random.default_rng(2).normal(size=(32, 10, 2)).astype(np.float32)
    qat_model = qat_init(model, lambda: [data])
    assert qat_model.qat_report.quantized == ("sep_depthwise", "sep", "head")
    assert "split sep into sep_depthwise (DepthwiseConv1D) + sep (Conv1D)" in str(
        qat_model.qat_report
    )
    (between,) = qat_model.get_layer("quant_sep_depthwise").activation_quantizers
    # calibrated on the depthwise half's outputs, which only the split model has
    halves = split_separable_convolutions(model)[0]
    outputs = keras.Model(halves.inputs, halves.get_layer("sep_depthwise").output)(data)
    threshold = between.convert2inferable().threshold[0]
    np.testing.assert_allclose(threshold, np.abs(numpy(outputs)).max(), rtol=1e-5)
    qat_model.compile("adam", "mse")
    qat_model.fit(data, np.zeros((32, 2), np.float32), epochs=1, verbose=0)
    finalized = qat_finalize(qat_model)
    expected = numpy(qat_model(data, training=False))
    np.testing.assert_array_equal(numpy(finalized(data)), expected)
