"""qat_init -> train -> qat_finalize -> save -> load for Keras 3 models, routed by model class."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras3_helpers import conv_dense_model, numpy, tensorflow_only

from quantizer_scaffold import qat
from quantizer_scaffold.qat import QATConfig, TrainingMethod, qat_finalize, qat_init
from quantizer_scaffold.quantizers_infrastructure import keras3 as qi3
from quantizer_scaffold.quantizers_infrastructure.common.frameworks import KerasMismatchError

M = qi3.QuantizationMethod
WEIGHTS_BITS = 3  # few enough levels that "at most 2^n values per channel" means something


def wrappers(model):
    return [layer for layer in model.layers if isinstance(layer, qi3.KerasQuantizationWrapper)]


@pytest.fixture(scope="module")
def float_model():
    return conv_dense_model()


@pytest.fixture(scope="module", params=[TrainingMethod.STE, TrainingMethod.LSQ], ids=["STE", "LSQ"])
def trained(request, float_model, representative_dataset, data):
    """A QAT model after one epoch of 4 batches, the kernels before training, the losses."""
    method = request.param
    qat_model = qat_init(
        float_model,
        representative_dataset=representative_dataset,
        qat_config=QATConfig(method, method),
        weights_n_bits=WEIGHTS_BITS,
    )
    before = {
        layer.name: numpy(layer.layer.get_weights()[0])
        for layer in wrappers(qat_model)
        if layer.layer.weights
    }
    qat_model.compile(
        keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    history = qat_model.fit(*data, batch_size=16, epochs=1, shuffle=False, verbose=0)
    return qat_model, before, history.history["loss"]


def test_a_keras3_model_is_wrapped_with_keras3_quantizers_and_reported(float_model, trained):
    qat_model = trained[0]
    assert isinstance(qat_model, keras.Model)
    (input_name,) = qat_model.qat_report.quantized_inputs  # the model's input comes first
    names = [layer.name for layer in wrappers(qat_model)]
    assert names == [f"quant_{input_name}", "quant_conv", "quant_dense"]
    assert qat_model.qat_report.quantized == ("conv", "dense")
    assert qat_model.qat_report.skipped == {
        "flatten": "Flatten has no weights; output not quantized"
    }
    for wrapper in wrappers(qat_model):
        for quantizer in [*wrapper.weights_quantizers.values(), *wrapper.activation_quantizers]:
            assert isinstance(quantizer, qi3.BaseKerasTrainableQuantizer)
            assert ".qat.keras3." in type(quantizer).__module__


def test_thresholds_come_from_the_kernels_and_the_representative_data(
    float_model, representative_dataset
):
    qat_model = qat_init(float_model, representative_dataset, weights_n_bits=8)
    conv = qat_model.get_layer("quant_conv")
    kernel = numpy(float_model.get_layer("conv").kernel)
    inferable = conv.weights_quantizers["kernel"].convert2inferable()
    np.testing.assert_allclose(inferable.threshold, np.abs(kernel).max(axis=(0, 1, 2)), rtol=1e-6)
    probe = keras.Model(float_model.inputs[0], float_model.get_layer("conv").output)
    outputs = np.concatenate([numpy(probe(batch)) for batch in representative_dataset()])
    activation = conv.activation_quantizers[0].convert2inferable()
    assert activation.signed is False  # relu
    np.testing.assert_allclose(activation.threshold, [outputs.max()], rtol=1e-6)


def test_training_moves_the_float_kernels_and_keeps_them_on_the_grid(trained):
    qat_model, before, losses = trained
    assert all(np.isfinite(losses))
    conv = qat_model.get_layer("quant_conv")
    assert not np.allclose(numpy(conv.layer.kernel), before["quant_conv"])
    quantized = numpy(conv.weights_quantizers["kernel"].convert2inferable()(conv.layer.kernel))
    for channel in range(quantized.shape[-1]):
        assert len(np.unique(quantized[..., channel])) <= 2**WEIGHTS_BITS


def test_finalize_predicts_what_the_qat_model_predicts_and_reloads_identically(
    trained, data, tmp_path
):
    qat_model = trained[0]
    finalized = qat_finalize(qat_model)
    assert all(
        isinstance(q, qi3.BaseKerasInferableQuantizer)
        for layer in wrappers(finalized)
        for q in [*layer.weights_quantizers.values(), *layer.activation_quantizers]
    )
    expected = qat_model.predict(data[0], verbose=0)
    np.testing.assert_allclose(finalized.predict(data[0], verbose=0), expected, atol=1e-6)
    finalized.save(tmp_path / "finalized.keras")
    reloaded = qi3.load_quantized_model(tmp_path / "finalized.keras")
    np.testing.assert_array_equal(
        reloaded.predict(data[0], verbose=0), finalized.predict(data[0], verbose=0)
    )


def test_a_qat_model_saves_and_reloads_mid_training(trained, data, tmp_path):
    qat_model = trained[0]
    qat_model.save(tmp_path / "qat.keras")
    reloaded = qi3.load_quantized_model(tmp_path / "qat.keras")
    np.testing.assert_array_equal(
        reloaded.predict(data[0], verbose=0), qat_model.predict(data[0], verbose=0)
    )
    reloaded.fit(*data, batch_size=32, epochs=1, verbose=0)  # compiled state came back too


@tensorflow_only("Keras compiles every step with XLA on the other back ends")
@pytest.mark.parametrize("method", [TrainingMethod.STE, TrainingMethod.LSQ], ids=["STE", "LSQ"])
def test_training_compiled_with_xla_trains_as_the_default_compile(
    method, representative_dataset, data, tmp_path
):
    """``jit_compile=True`` (Keras' default on a GPU; faster on a CPU too): the same steps, to
    float rounding (the sums run in another order)."""
    # non-zero biases: with zero ones a ReLU input of quantized values can cancel to exactly 0
    # in one order of the sum and to +-1 ulp in the other, flipping the ReLU's gradient there
    float_model = conv_dense_model()
    float_model.get_layer("conv").bias.assign(np.linspace(-0.1, 0.1, 4))
    results = {}
    for jit_compile in (False, True):
        qat_model = qat_init(
            float_model, representative_dataset, qat_config=QATConfig(method, method)
        )
        qat_model.compile(
            keras.optimizers.SGD(0.1),
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            jit_compile=jit_compile,
        )
        history = qat_model.fit(*data, batch_size=16, epochs=2, shuffle=False, verbose=0)
        results[jit_compile] = qat_model, history.history["loss"]
    (default, default_losses), (xla, xla_losses) = results[False], results[True]
    assert xla.jit_compile is True and default.jit_compile is False
    np.testing.assert_allclose(xla_losses, default_losses, rtol=1e-4)
    initial = qat_init(float_model, representative_dataset, qat_config=QATConfig(method, method))
    for name in ("quant_conv", "quant_dense"):
        for variable, start, reference in zip(
            xla.get_layer(name).trainable_weights,
            initial.get_layer(name).trainable_weights,
            default.get_layer(name).trainable_weights,
            strict=True,
        ):
            assert not np.allclose(numpy(variable), numpy(start)), variable.path  # it learned
            np.testing.assert_allclose(numpy(variable), numpy(reference), atol=1e-5)
    finalized = qat_finalize(xla)
    np.testing.assert_allclose(
        finalized.predict(data[0], verbose=0), xla.predict(data[0], verbose=0), atol=1e-6
    )
    finalized.save(tmp_path / "finalized.keras")
    reloaded = qi3.load_quantized_model(tmp_path / "finalized.keras")
    np.testing.assert_array_equal(
        reloaded.predict(data[0], verbose=0), finalized.predict(data[0], verbose=0)
    )


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
    expected = qi3.get_keras_inferable_quantizer_class(
        qi3.QuantizationTarget.Weights, weights_method
    )
    assert type(conv.weights_quantizers["kernel"].convert2inferable()) is expected
    assert (conv.weights_quantizers["kernel"].channel_axis is not None) is per_channel
    np.testing.assert_allclose(
        numpy(qat_finalize(qat_model)(data[0])),
        numpy(qat_model(data[0], training=False)),
        atol=1e-6,
    )


def test_sequential_weights_only_and_other_kernel_layers(data):
    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.DepthwiseConv2D(3, depth_multiplier=2),
            keras.layers.SeparableConv2D(3, 3, padding="same"),
            keras.layers.Conv2DTranspose(2, 3),
            keras.layers.BatchNormalization(name="bn"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(2),
        ]
    )
    qat_model = qat_init(model, activation_method=None, weights_method=M.POWER_OF_TWO)
    assert isinstance(qat_model, keras.Sequential)
    depthwise, separable_depthwise, pointwise, transpose, _ = wrappers(qat_model)
    assert qat_model.qat_report.split  # the separable convolution, as its two halves
    assert set(separable_depthwise.weights_quantizers) == set(pointwise.weights_quantizers)
    inferable = depthwise.weights_quantizers["kernel"].convert2inferable()
    assert inferable.channel_axis == -2 and len(inferable.threshold) == 1  # one input channel
    assert all(t == 2.0 ** np.round(np.log2(t)) for t in inferable.threshold)
    assert transpose.weights_quantizers["kernel"].convert2inferable().channel_axis == -2
    assert qat_model.qat_report.skipped_with_weights == ("bn",)
    np.testing.assert_allclose(
        numpy(qat_finalize(qat_model)(data[0])), numpy(qat_model(data[0])), atol=1e-6
    )


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
        threshold, max(np.abs(numpy(shared(x))).max() for x in (small, large)), rtol=1e-6
    )
    np.testing.assert_allclose(
        numpy(qat_finalize(qat_model)([small, large])),
        numpy(qat_model([small, large])),
        atol=1e-6,
    )


def test_a_subclassed_model_is_refused_with_what_to_do_instead(float_model, data):
    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2)

        def call(self, inputs):
            return self.dense(inputs)

    model = Subclassed()
    model(np.ones((1, 3), np.float32))
    with pytest.raises(
        TypeError, match="subclassed model's call is Python code .* wrap its layers"
    ):
        qat_init(model, activation_method=None)
    with pytest.raises(
        TypeError, match="not a Functional model or a Sequential model with a known"
    ):
        qat_init(keras.Sequential([keras.layers.Dense(2)]), activation_method=None)


def test_bad_inputs_get_the_keras2_errors(float_model, data):
    with pytest.raises(ValueError, match="pass representative_dataset=.*or activation_method=None"):
        qat_init(float_model)
    labelled = lambda: iter([(data[0][:8], data[1][:8])])  # noqa: E731
    with pytest.raises(ValueError, match="has 2 parts but the model has 1 input.*without labels"):
        qat_init(float_model, representative_dataset=labelled)
    with pytest.raises(ValueError, match=r"does not take \(it takes: quantization_config\)"):
        qat_init(
            float_model,
            activation_method=None,
            qat_config=QATConfig(weight_quantizer_params_override={"momentum": 0.9}),
        )
    with pytest.raises(ValueError, match="has no KerasQuantizationWrapper layer"):
        qat_finalize(float_model)
    with pytest.raises(TypeError, match="takes a Keras model .* got builtins.str"):
        qat_init("model")


def test_a_method_without_a_keras3_quantizer_names_the_keras3_dispatcher(monkeypatch, float_model):
    from quantizer_scaffold.qat.keras3.quantizer import (
        quantization_dispatcher_builder as dispatcher,
    )

    monkeypatch.delitem(dispatcher.METHOD2WEIGHTQUANTIZER, TrainingMethod.LSQ)
    with pytest.raises(ValueError) as error:
        qat_init(
            float_model,
            activation_method=None,
            qat_config=QATConfig(weight_training_method=TrainingMethod.LSQ),
        )
    message = str(error.value)
    assert "no Weights quantizer is registered for training method LSQ with SYMMETRIC" in message
    assert (
        "in quantizer_scaffold.qat.keras3.quantizer.quantization_dispatcher_builder "
        "(registered: STE: SYMMETRIC, POWER_OF_TWO, UNIFORM)"
    ) in message
    assert message.endswith(
        "add a keras3 quantizer class to the dictionaries of "
        "quantizer_scaffold.qat.keras3.quantizer.quantization_dispatcher_builder"
    )


def test_both_keras_are_routed_by_model_class(
    representative_dataset,
):
    from quantizer_scaffold import quantizers_infrastructure as qi
    from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras as keras2

    inputs = keras2.Input((8, 8, 1))
    outputs = keras2.layers.Dense(3)(keras2.layers.Flatten()(inputs))
    keras2_model = keras2.Model(inputs, outputs)
    keras2_qat = qat.qat_init(keras2_model, representative_dataset)
    assert isinstance(keras2_qat, keras2.Model)
    assert isinstance(keras2_qat.layers[-1], qi.KerasQuantizationWrapper)
    assert isinstance(qat.qat_finalize(keras2_qat).layers[-1], qi.KerasQuantizationWrapper)


@tensorflow_only("only there can a Keras 3 layer be called on a tf_keras tensor")
def test_a_keras3_layer_inside_a_tf_keras_model_is_one_clear_error():
    from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras as keras2

    # tf_keras records the call as op layers around the Keras 3 layer's weights (or copies)
    inputs = keras2.Input((4,))
    mixed = keras2.Model(inputs, keras.layers.Dense(3)(inputs), name="mixed")
    with pytest.raises(KerasMismatchError) as error:
        qat.qat_init(mixed, activation_method=None)
    assert "of model 'mixed' is a Keras 3 object" in str(error.value)
    assert "used with Keras 2 (tf_keras): the two cannot be mixed" in str(error.value)


PROJECT_DISPATCHER = """
from enum import Enum

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.qat.keras3.quantizer.ste_rounding.symmetric_ste import (
    STEActivationQuantizer,
    STEWeightQuantizer,
)


class TrainingMethod(Enum):
    Mine = 0


SYMMETRIC = qi.QuantizationMethod.SYMMETRIC
METHOD2WEIGHTQUANTIZER = {TrainingMethod.Mine: {SYMMETRIC: STEWeightQuantizer}}
METHOD2ACTQUANTIZER = {TrainingMethod.Mine: {SYMMETRIC: STEActivationQuantizer}}
"""


def test_a_projects_own_keras3_dispatcher_serves_its_training_method(
    tmp_path, monkeypatch, float_model, representative_dataset
):
    from quantizer_scaffold.qat import register_dispatcher

    (tmp_path / "k3_project_dispatcher.py").write_text(PROJECT_DISPATCHER)
    monkeypatch.syspath_prepend(str(tmp_path))
    import k3_project_dispatcher as project

    register_dispatcher(project, backend="keras3")
    mine = project.TrainingMethod.Mine
    qat_model = qat_init(float_model, representative_dataset, QATConfig(mine, mine))
    kernel = qat_model.get_layer("quant_dense").weights_quantizers["kernel"]
    assert type(kernel).__name__ == "STEWeightQuantizer" and ".keras3." in type(kernel).__module__


def test_float_inputs_are_quantized_first_and_integer_inputs_left_alone(data, tmp_path):
    keras.utils.set_random_seed(3)
    image, index = (
        keras.Input((8, 8, 1), name="image"),
        keras.Input((1,), dtype="int32", name="index"),
    )
    x = keras.layers.Flatten()(keras.layers.Conv2D(2, 3, name="conv")(image))
    y = keras.layers.Flatten()(keras.layers.Embedding(4, 2, name="embedding")(index))
    model = keras.Model(
        [image, index], keras.layers.Dense(2, name="head")(keras.layers.Concatenate()([x, y]))
    )
    indices = np.zeros((len(data[0]), 1), np.int32)
    qat_model = qat_init(model, lambda: iter([[data[0][:32], indices[:32]]]))
    assert qat_model.qat_report.quantized_inputs == ("image",)
    assert qat_model.qat_report.skipped["index"] == "int32 input: only float inputs are quantized"
    assert "quantized input(s): image" in str(qat_model.qat_report)
    quant_image = qat_model.get_layer("quant_image")
    assert type(quant_image.layer).__name__ == "Identity"
    threshold = quant_image.activation_quantizers[0].convert2inferable().threshold[0]
    np.testing.assert_allclose(threshold, np.abs(data[0][:32]).max(), rtol=1e-6)
    conv_inputs = qat_model.get_layer("quant_conv")._inbound_nodes[0].parent_nodes
    assert [node.operation.name for node in conv_inputs] == ["quant_image"]
    inputs = [data[0], indices]
    finalized = qat_finalize(qat_model)
    np.testing.assert_allclose(numpy(finalized(inputs)), numpy(qat_model(inputs)), atol=1e-6)
    finalized.save(tmp_path / "inputs.keras")
    reloaded = qi3.load_quantized_model(tmp_path / "inputs.keras")
    np.testing.assert_array_equal(numpy(reloaded(inputs)), numpy(finalized(inputs)))
    sequential = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3)])
    assert qat_init(sequential, lambda: iter([data[0][:16]])).layers[0].name.startswith("quant_")
