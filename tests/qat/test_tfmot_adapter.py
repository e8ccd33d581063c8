"""Our trainable quantizers inside tfmot's quantize_annotate_layer / quantize_apply flow."""

from __future__ import annotations

import numpy as np
import pytest

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.qat import TfmotQuantizeConfig, TfmotQuantizer
from quantizer_scaffold.qat.keras.quantizer.ste_rounding.symmetric_ste import (
    STEActivationQuantizer,
    STEWeightQuantizer,
)
from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras, tf, tfmot

quantize = tfmot.quantization.keras
BITS = 3
THRESHOLDS = [0.25, 0.5, 0.5, 1.0]


def float_kernel(wrapper) -> tf.Variable:
    """The conv's kernel variable (tfmot leaves the quantized tensor on ``layer.kernel``)."""
    (kernel,) = [v for v in wrapper.trainable_weights if v.name.endswith("kernel:0")]
    return kernel


def annotated_model() -> keras.Model:
    keras.utils.set_random_seed(4)
    kernel = STEWeightQuantizer(
        qi.NodeWeightsQuantizationConfig(
            qi.QuantizationMethod.POWER_OF_TWO, BITS, {"threshold": THRESHOLDS}, -1
        )
    )
    output = STEActivationQuantizer(
        qi.NodeActivationQuantizationConfig(
            qi.QuantizationMethod.SYMMETRIC, 8, {"threshold": 4.0, "is_signed": False}
        )
    )
    inputs = keras.Input((8, 8, 1))
    conv = keras.layers.Conv2D(4, 3, activation="relu", name="conv")
    x = quantize.quantize_annotate_layer(conv, TfmotQuantizeConfig({"kernel": kernel}, output))(
        inputs
    )
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(3, name="dense")(x))


@pytest.fixture(scope="module")
def trained(data):
    with quantize.quantize_scope():
        model = quantize.quantize_apply(annotated_model())
    wrapper = model.get_layer("quant_conv")
    before = float_kernel(wrapper).numpy()
    model.compile(
        keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    losses = model.fit(*data, batch_size=16, epochs=1, verbose=0).history["loss"]
    return model, before, losses


def test_quantize_apply_trains_with_our_quantizers(trained):
    model, before, losses = trained
    wrapper = model.get_layer("quant_conv")
    assert isinstance(wrapper, quantize.QuantizeWrapperV2)
    assert isinstance(wrapper.quantize_config, TfmotQuantizeConfig)
    assert all(np.isfinite(losses))
    assert not np.array_equal(float_kernel(wrapper).numpy(), before)
    names = {v.name.split("/")[-1] for v in wrapper.non_trainable_weights}
    assert {"kernel_threshold:0", "output_threshold:0"} <= names


def test_the_quantized_kernel_is_on_the_grid_and_is_what_the_layer_uses(trained, data):
    model, _, _ = trained
    wrapper = model.get_layer("quant_conv")
    adapter = wrapper.quantize_config.weights_quantizers["kernel"]
    assert isinstance(adapter, TfmotQuantizer)
    kernel = float_kernel(wrapper)
    quantized = adapter(kernel, training=True, weights={}).numpy()
    steps = quantized / (np.asarray(THRESHOLDS) / 2 ** (BITS - 1))
    np.testing.assert_array_equal(steps, np.round(steps))
    assert steps.min() >= -(2 ** (BITS - 1)) and steps.max() <= 2 ** (BITS - 1) - 1
    for channel in quantized.reshape(-1, 4).T:
        assert len(np.unique(channel)) <= 2**BITS
    # the wrapped layer computes relu(conv(x, quantized kernel) + b), then quantizes its output
    # (x: what reaches the wrapper, after the input QuantizeLayer quantize_apply adds)
    probe = keras.Model(model.inputs, [wrapper.input, wrapper.output])
    layer_input, layer_output = probe(data[0][:8], training=False)
    conv = tf.nn.conv2d(layer_input, quantized, strides=1, padding="VALID") + wrapper.layer.bias
    expected = wrapper.quantize_config.activation_quantizer.quantizer(tf.nn.relu(conv), False)
    np.testing.assert_allclose(layer_output.numpy(), expected.numpy(), atol=1e-5)


@pytest.mark.parametrize("loader", ["quantize_scope", "load_quantized_model"])
def test_quantize_applied_model_reloads(trained, data, tmp_path, loader):
    model, _, _ = trained
    path = tmp_path / "tfmot.h5"  # tfmot's own QuantizeLayer does not round-trip .keras files
    model.save(path)
    if loader == "quantize_scope":
        with quantize.quantize_scope():
            reloaded = keras.models.load_model(path)
    else:
        reloaded = qi.load_quantized_model(path)
    config = reloaded.get_layer("quant_conv").quantize_config
    assert isinstance(config, TfmotQuantizeConfig)
    np.testing.assert_array_equal(
        reloaded.predict(data[0], verbose=0), model.predict(data[0], verbose=0)
    )


def test_the_adapter_rejects_what_is_not_a_trainable_quantizer():
    with pytest.raises(TypeError, match="must be a BaseKerasTrainableQuantizer, got"):
        TfmotQuantizer(qi.WeightsSymmetricInferableQuantizer(8, [1.0], per_channel=False))


def test_one_quantizer_annotating_two_layers_becomes_one_copy_per_layer():
    shared = STEWeightQuantizer(
        qi.NodeWeightsQuantizationConfig(qi.QuantizationMethod.SYMMETRIC, 4, {"threshold": 1.0})
    )
    inputs = keras.Input((4,))
    x = quantize.quantize_annotate_layer(
        keras.layers.Dense(3, name="first"), TfmotQuantizeConfig({"kernel": shared})
    )(inputs)
    x = quantize.quantize_annotate_layer(
        keras.layers.Dense(3, name="second"), TfmotQuantizeConfig({"kernel": shared})
    )(x)
    with quantize.quantize_scope():  # quantize_apply rebuilds each config from get_config
        model = quantize.quantize_apply(keras.Model(inputs, x))
    first, second = (
        model.get_layer(name).quantize_config.weights_quantizers["kernel"].quantizer
        for name in ("quant_first", "quant_second")
    )
    assert first is not shared and second is not shared and first is not second
    assert first.parameters["threshold"] is not second.parameters["threshold"]
