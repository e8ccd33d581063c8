"""qat_init -> train -> qat_finalize -> save -> load on tiny real Keras models."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from qat_tiny_models import conv_dense_model

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.qat import QATConfig, TrainingMethod, qat_finalize, qat_init
from quantizer_scaffold.qat.keras.quantizer import quantization_dispatcher_builder as dispatcher
from quantizer_scaffold.qat.keras.quantizer.ste_rounding.symmetric_ste import (
    STEActivationQuantizer,
)
from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras

M = qi.QuantizationMethod
WEIGHTS_BITS = 3  # few enough levels that "at most 2^n values per channel" means something


@pytest.fixture(scope="module")
def float_model():
    return conv_dense_model()


@pytest.fixture(scope="module")
def qat_model(float_model, representative_dataset):
    return qat_init(
        float_model, representative_dataset=representative_dataset, weights_n_bits=WEIGHTS_BITS
    )


@pytest.fixture(scope="module")
def trained(qat_model, data):
    """The QAT model after one epoch of 4 batches, with the inner kernels before training."""
    before = {layer.name: layer.layer.get_weights()[0] for layer in wrappers(qat_model)}
    qat_model.compile(
        keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    history = qat_model.fit(*data, batch_size=16, epochs=1, shuffle=False, verbose=0)
    return qat_model, before, history.history["loss"]


@pytest.fixture(scope="module")
def finalized(trained):
    return qat_finalize(trained[0])


def wrappers(model):
    """The wrapped layers with weights (not the input quantizers)."""
    return [
        layer
        for layer in model.layers
        if isinstance(layer, qi.KerasQuantizationWrapper) and layer.weights_quantizers
    ]


def test_qat_init_wraps_kernels_and_reports_the_rest(float_model, qat_model):
    assert [w.name for w in wrappers(qat_model)] == ["quant_conv", "quant_dense"]
    assert qat_model.qat_report.quantized == ("conv", "dense")
    assert qat_model.qat_report.skipped == {
        "flatten": "Flatten has no weights; output not quantized"
    }
    assert not wrappers(float_model)  # the input model is left as it was
    for wrapper in wrappers(qat_model):
        original = float_model.get_layer(wrapper.layer.name)
        for mine, theirs in zip(wrapper.layer.get_weights(), original.get_weights(), strict=True):
            np.testing.assert_array_equal(mine, theirs)
        assert set(wrapper.weights_quantizers) == {"kernel"}
        assert len(wrapper.activation_quantizers) == 1


def test_weight_thresholds_cover_each_output_channel_of_the_kernel(float_model, qat_model):
    for wrapper in wrappers(qat_model):
        kernel = float_model.get_layer(wrapper.layer.name).kernel.numpy()
        inferable = wrapper.weights_quantizers["kernel"].convert2inferable()
        assert inferable.per_channel and inferable.channel_axis == -1
        expected = np.abs(kernel).reshape(-1, kernel.shape[-1]).max(axis=0)
        np.testing.assert_allclose(inferable.threshold, expected, rtol=1e-6)


def test_activation_thresholds_and_sign_come_from_the_representative_data(
    float_model, qat_model, data
):
    outputs = keras.Model(
        float_model.inputs, [float_model.get_layer(n).output for n in ("conv", "dense")]
    ).predict(data[0], verbose=0)
    for name, output in zip(("conv", "dense"), outputs, strict=True):
        inferable = (
            qat_model.get_layer(f"quant_{name}").activation_quantizers[0].convert2inferable()
        )
        assert inferable.signed is bool(output.min() < 0)
        np.testing.assert_allclose(inferable.threshold, [np.abs(output).max()], rtol=1e-6)
    assert not qat_model.get_layer("quant_conv").activation_quantizers[0].signed  # after relu


def test_each_float_input_passes_through_an_activation_quantizer_first(
    float_model, qat_model, data
):
    (name,) = float_model.input_names  # input_<n>: Keras numbers unnamed inputs per process
    quantizer_layer = qat_model.get_layer(f"quant_{name}")
    assert isinstance(quantizer_layer.layer, keras.layers.Identity)
    assert qat_model.qat_report.quantized_inputs == (name,)
    assert f"quantized input(s): {name}" in str(qat_model.qat_report)
    assert qat_model.get_layer("quant_conv").input is quantizer_layer.output
    (quantizer,) = quantizer_layer.activation_quantizers
    inferable = quantizer.convert2inferable()
    assert inferable.signed  # the inputs are normal: negative values too
    np.testing.assert_allclose(inferable.threshold, [np.abs(data[0]).max()], rtol=1e-6)
    step = inferable.threshold[0] / 2 ** (inferable.num_bits - 1)
    quantized = quantizer_layer(data[0]).numpy()
    np.testing.assert_allclose(quantized / step, np.round(quantized / step), atol=1e-4)
    unquantized = qat_init(
        float_model, lambda: iter([data[0]]), quantize_inputs=False
    ).qat_report.quantized_inputs
    assert unquantized == ()


def test_integer_inputs_are_left_alone_and_reported(data):
    ids, image = keras.Input((3,), dtype="int32", name="ids"), keras.Input((8, 8, 1), name="image")
    x = keras.layers.Flatten()(keras.layers.Conv2D(2, 3, name="conv")(image))
    y = keras.layers.Flatten()(keras.layers.Embedding(5, 2, name="embedding")(ids))
    model = keras.Model([ids, image], keras.layers.Concatenate()([x, y]))
    batch = [np.zeros((4, 3), np.int32), data[0][:4]]
    qat_model = qat_init(model, lambda: iter([batch]))
    assert qat_model.qat_report.quantized_inputs == ("image",)
    assert qat_model.qat_report.skipped["ids"] == "int32 input: only float inputs are quantized"
    assert qat_model.input_names == ["ids", "image"]
    np.testing.assert_allclose(
        qat_finalize(qat_model)(batch).numpy(), qat_model(batch).numpy(), atol=1e-6
    )


def test_training_steps_are_finite_and_move_the_float_kernels(trained):
    model, before, losses = trained
    assert losses and all(np.isfinite(losses))
    for wrapper in wrappers(model):
        assert not np.array_equal(wrapper.layer.get_weights()[0], before[wrapper.name])


def test_quantized_kernels_have_at_most_2_to_the_n_values_per_channel_on_the_grid(trained):
    model, _, _ = trained
    for wrapper in wrappers(model):
        quantizer = wrapper.weights_quantizers["kernel"]
        quantized = quantizer(wrapper.layer.kernel, False).numpy()
        channels = quantized.reshape(-1, quantized.shape[-1])
        thresholds = np.asarray(quantizer.convert2inferable().threshold)
        for channel, threshold in zip(channels.T, thresholds, strict=True):
            assert len(np.unique(channel)) <= 2**WEIGHTS_BITS
            steps = channel / (threshold / 2 ** (WEIGHTS_BITS - 1))
            np.testing.assert_allclose(steps, np.round(steps), atol=1e-4)
        assert len(np.unique(wrapper.layer.kernel.numpy())) > 2**WEIGHTS_BITS  # float underneath


def test_finalized_model_predicts_what_the_qat_model_predicts(trained, finalized, data):
    model = trained[0]
    for wrapper in wrappers(finalized):
        quantizers = [*wrapper.weights_quantizers.values(), *wrapper.activation_quantizers]
        assert all(isinstance(q, qi.BaseInferableQuantizer) for q in quantizers)
        assert not wrapper.non_trainable_weights  # no quantizer variables left
    expected = model(data[0], training=False).numpy()
    np.testing.assert_allclose(finalized(data[0]).numpy(), expected, rtol=0, atol=1e-6)
    # the outputs really are quantized: the dense output sits on its activation grid
    activation = finalized.get_layer("quant_dense").activation_quantizers[0]
    steps = expected / (activation.threshold[0] / 2 ** (activation.num_bits - 1))
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-3)


def test_finalized_model_saves_and_reloads_with_identical_predictions(finalized, data, tmp_path):
    path = tmp_path / "finalized.keras"
    finalized.save(path)
    reloaded = qi.load_quantized_model(path)
    np.testing.assert_array_equal(
        reloaded.predict(data[0], verbose=0), finalized.predict(data[0], verbose=0)
    )


def test_qat_model_saves_and_reloads_mid_training(trained, data, tmp_path):
    model = trained[0]
    path = tmp_path / "qat.keras"
    model.save(path)
    reloaded = qi.load_quantized_model(path)
    np.testing.assert_array_equal(
        reloaded.predict(data[0], verbose=0), model.predict(data[0], verbose=0)
    )
    reloaded.fit(*data, batch_size=32, epochs=1, verbose=0)  # compiled state came back too


@pytest.mark.parametrize("weights_method", list(M))
@pytest.mark.parametrize("activation_method", list(M))
def test_every_method_pair_initializes_and_finalizes_equal(
    weights_method, activation_method, float_model, representative_dataset, data
):
    per_channel = weights_method is not M.SYMMETRIC  # per-tensor gets covered too
    qat_model = qat_init(
        float_model,
        representative_dataset,
        weights_n_bits=4,
        activation_n_bits=4,
        weights_method=weights_method,
        activation_method=activation_method,
        per_channel=per_channel,
    )
    conv = qat_model.get_layer("quant_conv")
    expected_weights = qi.get_keras_inferable_quantizer_class(
        qi.QuantizationTarget.Weights, weights_method
    )
    assert type(conv.weights_quantizers["kernel"].convert2inferable()) is expected_weights
    assert (conv.weights_quantizers["kernel"].channel_axis is not None) is per_channel
    finalized = qat_finalize(qat_model)
    np.testing.assert_allclose(
        finalized(data[0]).numpy(), qat_model(data[0], training=False).numpy(), atol=1e-6
    )


def test_sequential_model_with_weights_only_needs_no_data(data):
    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.DepthwiseConv2D(3, depth_multiplier=2),
            keras.layers.Conv2D(3, 1),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(2),
        ]
    )
    qat_model = qat_init(model, activation_method=None, weights_method=M.POWER_OF_TWO)
    assert isinstance(qat_model, keras.Sequential)
    assert len(wrappers(qat_model)) == 3
    depthwise = wrappers(qat_model)[0]
    assert set(depthwise.weights_quantizers) == {"depthwise_kernel"}
    assert not depthwise.activation_quantizers
    inferable = depthwise.weights_quantizers["depthwise_kernel"].convert2inferable()
    assert inferable.channel_axis == -2 and len(inferable.threshold) == 1  # one input channel
    assert all(t == 2.0 ** np.round(np.log2(t)) for t in inferable.threshold)
    np.testing.assert_allclose(
        qat_finalize(qat_model)(data[0]).numpy(), qat_model(data[0]).numpy(), atol=1e-6
    )


def test_other_kernel_layers_and_multi_input_models(data):
    keras.utils.set_random_seed(2)
    image, vector = keras.Input((8, 8, 1)), keras.Input((5,))
    x = keras.layers.SeparableConv2D(3, 3, name="separable")(image)
    x = keras.layers.Conv2DTranspose(2, 3, name="transpose")(x)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.Flatten()(x)
    y = keras.layers.Dense(4, name="vector_dense")(vector)
    outputs = keras.layers.Dense(2, name="head")(keras.layers.Concatenate()([x, y]))
    model = keras.Model([image, vector], outputs)
    vectors = np.random.default_rng(3).normal(size=(len(data[0]), 5)).astype(np.float32)
    batches = lambda: ([data[0][i : i + 32], vectors[i : i + 32]] for i in (0, 32))  # noqa: E731
    qat_model = qat_init(model, batches)
    report = qat_model.qat_report
    assert set(report.quantized) == {
        "separable_depthwise",
        "separable",
        "transpose",
        "vector_dense",
        "head",
    }
    assert "holds weights" in report.skipped["bn"]
    assert report.skipped_with_weights == ("bn",)
    # the separable convolution as its halves, the tensor between them quantized too
    assert report.split == {
        "separable": "separable_depthwise (DepthwiseConv2D) + separable (Conv2D)"
    }
    assert "split separable into separable_depthwise (DepthwiseConv2D) + separable" in str(report)
    depthwise = qat_model.get_layer("quant_separable_depthwise")
    assert set(depthwise.weights_quantizers) == {"depthwise_kernel"}
    assert len(depthwise.activation_quantizers) == 1
    pointwise = qat_model.get_layer("quant_separable")
    assert set(pointwise.weights_quantizers) == {"kernel"}
    np.testing.assert_array_equal(
        pointwise.layer.kernel.numpy(), model.get_layer("separable").pointwise_kernel.numpy()
    )
    transpose = qat_model.get_layer("quant_transpose").weights_quantizers["kernel"]
    assert transpose.convert2inferable().channel_axis == -2  # (h, w, out, in)
    assert len(transpose.convert2inferable().threshold) == 2
    inputs = [data[0], vectors]
    np.testing.assert_allclose(
        qat_finalize(qat_model)(inputs).numpy(), qat_model(inputs).numpy(), atol=1e-6
    )


def test_layers_with_weights_left_alone_are_logged(representative_dataset, caplog):
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(2, 3, name="conv")(inputs)
    outputs = keras.layers.BatchNormalization(name="bn")(x)
    with caplog.at_level(logging.WARNING, logger="quantizer_scaffold"):
        qat_init(keras.Model(inputs, outputs), representative_dataset)
    assert "left layers with weights unquantized: bn (BatchNormalization" in caplog.text


def test_activation_quantization_without_data_is_a_clear_error(float_model):
    with pytest.raises(ValueError, match="pass representative_dataset=.*or activation_method=None"):
        qat_init(float_model)


def test_bad_inputs_get_clear_errors(float_model, data):
    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2)

        def call(self, inputs):
            return self.dense(inputs)

    with pytest.raises(TypeError, match="subclassed models cannot be cloned"):
        qat_init(Subclassed(), activation_method=None)
    with pytest.raises(TypeError, match="must be a callable returning an iterable"):
        qat_init(float_model, representative_dataset=data[0])
    labelled = lambda: iter([(data[0][:8], data[1][:8])])  # noqa: E731
    with pytest.raises(ValueError, match="has 2 parts but the model has 1 input.*without labels"):
        qat_init(float_model, representative_dataset=labelled)
    with pytest.raises(ValueError, match="yielded no batch"):
        qat_init(float_model, representative_dataset=lambda: iter([]))
    with pytest.raises(ValueError, match=r"does not take \(it takes: quantization_config\)"):
        qat_init(
            float_model,
            activation_method=None,
            qat_config=QATConfig(weight_quantizer_params_override={"momentum": 0.9}),
        )
    with pytest.raises(ValueError, match="no layer of 'flat' can be quantized"):
        inputs = keras.Input((4,))
        qat_init(
            keras.Model(inputs, keras.layers.ReLU()(inputs), name="flat"), activation_method=None
        )
    with pytest.raises(ValueError, match="has no KerasQuantizationWrapper layer"):
        qat_finalize(float_model)


def test_a_shared_layer_is_calibrated_over_every_call_in_the_model():
    a, b, elsewhere = keras.Input((4,)), keras.Input((4,)), keras.Input((4,))
    shared = keras.layers.Dense(3, name="shared")
    model = keras.Model([a, b], keras.layers.Add()([shared(a), shared(b)]))
    shared(elsewhere)  # a call outside the model must not break calibration
    rng = np.random.default_rng(5)
    small, large = rng.random((16, 4), np.float32), -5 * rng.random((16, 4), np.float32)
    qat_model = qat_init(model, lambda: iter([[small, large]]))
    wrapper = qat_model.get_layer("quant_shared")
    threshold = wrapper.activation_quantizers[0].convert2inferable().threshold[0]
    np.testing.assert_allclose(
        threshold, max(np.abs(shared(x).numpy()).max() for x in (small, large)), rtol=1e-6
    )
    np.testing.assert_allclose(
        qat_finalize(qat_model)([small, large]).numpy(),
        qat_model([small, large]).numpy(),
        atol=1e-6,
    )


class PercentileActivationQuantizer(STEActivationQuantizer):
    """STE activations whose threshold calibrate() sets to the 90th percentile of |outputs|."""

    seen: list[tuple[int, ...]] = []

    def calibrate(self, values):  # type: ignore[no-untyped-def]
        PercentileActivationQuantizer.seen.append(values.shape)
        return {"threshold": float(np.percentile(np.abs(values), 90))}


def test_activation_quantizers_that_calibrate_get_the_representative_outputs(
    monkeypatch, float_model, representative_dataset, data
):
    table = dispatcher.METHOD2ACTQUANTIZER
    monkeypatch.setitem(table, TrainingMethod.STE, {M.SYMMETRIC: PercentileActivationQuantizer})
    PercentileActivationQuantizer.seen.clear()
    qat_model = qat_init(float_model, representative_dataset)
    # every representative batch (4 of 16 images), concatenated on the batch axis: the
    # input quantizer's (the images), then the conv's and the dense layer's outputs
    assert PercentileActivationQuantizer.seen == [(64, 8, 8, 1), (64, 6, 6, 4), (64, 3)]
    conv_outputs = float_model.get_layer("conv")(data[0]).numpy()
    threshold = qat_model.get_layer("quant_conv").activation_quantizers[0].parameters["threshold"]
    np.testing.assert_allclose(threshold.numpy(), np.percentile(conv_outputs, 90), rtol=1e-5)


def test_activation_quantizers_without_calibrate_keep_the_calibrated_threshold(
    qat_model, float_model, data
):
    assert not STEActivationQuantizer.has_calibration()
    quantizer = qat_model.get_layer("quant_conv").activation_quantizers[0]
    expected = float_model.get_layer("conv")(data[0]).numpy().max()  # min/max calibration
    np.testing.assert_allclose(quantizer.parameters["threshold"].numpy(), expected, rtol=1e-6)
