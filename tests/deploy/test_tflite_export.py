"""A finalized model converts to an exact int8 TFLite model with the standard converter.

For every supported layer kind and grid: weights and activations int8, the scales and zero
points those of the model's quantizers, and the interpreter's outputs within one output
quantization step of the Keras model's on random data. Grids int8 cannot hold, and layers
TFLite has no int8 kernel for, are refused by name before anything is written.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from tflite_checks import (
    assert_all_kinds_export_exactly,
    assert_int8_only,
    batches_of,
    interpreter,
    output_step,
    quantized_tensor,
    random_inputs,
)

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.qat import QATConfig, TrainingMethod, qat_finalize, qat_init
from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras, tf

M = qi.QuantizationMethod
L = keras.layers


def all_kinds_model(transposed: bool) -> keras.Model:
    """Every layer kind with an int8 TFLite kernel, on three inputs; a transposed conv if asked.

    The separable convolutions become their depthwise and pointwise halves in qat_init."""
    keras.utils.set_random_seed(0)
    image = keras.Input((6, 6, 3), name="image")
    sequence, vector = keras.Input((9, 3), name="sequence"), keras.Input((12,), name="vector")
    x = L.Conv2D(4, 3, activation="relu", name="conv2d")(image)
    x = L.DepthwiseConv2D(3, depth_multiplier=2, name="depthwise2d")(x)
    x = L.SeparableConv2D(3, 2, depth_multiplier=2, activation="relu", name="separable2d")(x)
    y = L.Conv1D(4, 3, padding="causal", name="conv1d")(sequence)
    y = L.DepthwiseConv1D(3, activation="relu", name="depthwise1d")(y)
    y = L.SeparableConv1D(4, 3, padding="causal", name="separable1d")(y)
    y = L.Dense(5, name="dense_on_sequences")(y)
    z = L.Dense(6, activation="relu", name="dense_relu")(vector)
    z = L.Dense(3, name="dense")(z)
    outputs = [x, y, z]
    if transposed:
        outputs.append(L.Conv2DTranspose(2, 3, strides=2, name="conv2d_transpose")(image))
    model = keras.Model([image, sequence, vector], outputs, name="all_kinds")
    rng = np.random.default_rng(0)
    for layer in model.layers:  # biases off TFLite's int32 grid, which the model rounds to
        if getattr(layer, "use_bias", False):
            layer.bias.assign(rng.normal(0.0, 0.3, layer.bias.shape).astype(np.float32))
    return model


CONFIGS: dict[str, dict[str, Any]] = {
    "STE, symmetric per channel, 8/8": dict(per_channel=True),
    "STE, power-of-two per tensor, uniform activations, 8/8, with a transposed conv": dict(
        per_channel=False,
        weights_method=M.POWER_OF_TWO,
        activation_method=M.UNIFORM,
        transposed=True,
    ),
    "LSQ, 4-bit weights per channel, 4-bit activations": dict(
        weights_n_bits=4,
        activation_n_bits=4,
        qat_config=QATConfig(
            weight_training_method=TrainingMethod.LSQ,
            activation_training_method=TrainingMethod.LSQ,
        ),
    ),
}


@pytest.mark.parametrize("config", list(CONFIGS))
def test_every_layer_kind_exports_to_exact_int8(config, tmp_path):
    options = dict(CONFIGS[config])
    model = all_kinds_model(options.get("transposed", False))
    finalized, content = assert_all_kinds_export_exactly(
        model, options, tmp_path / "model.tflite", lambda finalized: finalized.input_names
    )
    assert_the_separable_halves_are_quantized_between(finalized, content)


def assert_the_separable_halves_are_quantized_between(finalized, content) -> None:
    """TFLite's DEPTHWISE_CONV_2D then CONV_2D, the tensor between on the depthwise half's grid."""
    it = interpreter(content)
    for name, shape in (("separable2d", (1, 1, 1, 16)), ("separable1d", (1, 1, 7, 4))):
        between = quantized_tensor(it, f"quant_{name}_depthwise", shape)
        step = output_step(finalized, f"quant_{name}_depthwise")
        np.testing.assert_allclose(between["scales"], [step], rtol=1e-6, err_msg=name)
    ops = [op["op_name"] for op in it._get_ops_details()]
    assert ops.count("DEPTHWISE_CONV_2D") == 4 and "PAD" in ops  # causal SeparableConv1D


@pytest.fixture(scope="module")
def small_finalized():
    """A finalized Conv2D -> Dense model and its inputs (8/8, power-of-two activations)."""
    keras.utils.set_random_seed(3)
    inputs = keras.Input((6, 6, 1), name="image")
    x = L.Flatten()(L.Conv2D(3, 3, activation="relu", name="conv")(inputs))
    model = keras.Model(inputs, L.Dense(4, name="dense")(x))
    data = [random_inputs(model)[0]]
    pot = M.POWER_OF_TWO  # the activations' power-of-two grid, checked here
    return qat_finalize(qat_init(model, batches_of(data), activation_method=pot)), data


def test_int8_input_and_output(small_finalized, tmp_path):
    finalized, data = small_finalized
    report = qi.export_tflite(finalized, tmp_path / "io.tflite", batches_of(data), int8_io=True)
    assert_int8_only((tmp_path / "io.tflite").read_bytes())
    it = interpreter((tmp_path / "io.tflite").read_bytes())
    (given,), (returned,) = it.get_input_details(), it.get_output_details()
    assert given["dtype"] == np.int8 and returned["dtype"] == np.int8
    threshold = finalized.get_layer("quant_image").activation_quantizers[0].threshold[0]
    np.testing.assert_allclose(given["quantization"][0], threshold / 128, rtol=1e-6)
    assert report.int8_io and report.agreement.max_steps <= 1.0 + 1e-4


def test_float_export_is_the_model_itself(small_finalized, tmp_path):
    finalized, data = small_finalized
    report = qi.export_tflite(finalized, tmp_path / "f.tflite", batches_of(data), mode="float")
    assert report.mode == "float" and report.agreement.identical_values == 1.0
    assert "float" in str(report)


@qi.register_quantizer
@qi.mark_quantizer(qi.QuantizationTarget.Weights, [M.SYMMETRIC], identifier="TanhLevels")
class TanhLevelsWeights(qi.BaseKerasInferableQuantizer):
    """DoReFa-like levels, 2 round(k (tanh w / 2 max|tanh w| + 1/2)) / k - 1: no fake-quant op."""

    def __call__(self, inputs: Any) -> tf.Tensor:
        t = tf.tanh(inputs)
        k = 15.0
        return 2.0 * tf.round(k * (t / (2 * tf.reduce_max(tf.abs(t))) + 0.5)) / k - 1.0

    def get_config(self) -> dict[str, Any]:
        return {}


def test_a_grid_of_its_own_is_refused_by_name_and_the_float_export_works(tmp_path):
    keras.utils.set_random_seed(4)
    inputs = keras.Input((5,))
    grid = qi.ActivationSymmetricInferableQuantizer(8, [4.0], True)
    x = qi.KerasQuantizationWrapper(L.Identity(), activation_quantizers=[grid], name="quant_in")(
        inputs
    )
    dense = qi.KerasQuantizationWrapper(
        L.Dense(3), {"kernel": TanhLevelsWeights()}, [grid], name="quant_dorefa"
    )
    model = keras.Model(inputs, dense(x))
    data = [random_inputs(model)[0]]
    path = tmp_path / "custom.tflite"
    with pytest.raises(qi.TFLiteExportError) as refused:
        qi.export_tflite(model, path, batches_of(data))
    message = str(refused.value)
    assert (
        "quant_dorefa (Dense) kernel: TanhLevelsWeights does not quantize through a fake-quant"
        in message
    )
    assert "mode='float'" in message and len(message.splitlines()) == 1
    assert not path.exists() and not list(tmp_path.iterdir())
    report = qi.export_tflite(model, path, batches_of(data), mode="float")
    assert report.agreement.identical_values == 1.0 and path.is_file()


def dense_model() -> keras.Model:
    keras.utils.set_random_seed(5)
    inputs = keras.Input((6,), name="vector")
    return keras.Model(inputs, L.Dense(3, name="dense")(L.Dense(4, name="hidden")(inputs)))


def test_weights_below_8_bits_are_int8_tensors_even_on_a_uniform_grid(tmp_path):
    """An n-bit grid with zero on it is a subset of the 8-bit grid of its step: zero point 0."""
    model = dense_model()
    data = [random_inputs(model, 32)[0]]
    options = dict(weights_method=M.UNIFORM, weights_n_bits=4)
    finalized = qat_finalize(qat_init(model, batches_of(data), **options))
    report = qi.export_tflite(finalized, tmp_path / "m.tflite", batches_of(data))
    content = (tmp_path / "m.tflite").read_bytes()
    assert_int8_only(content)
    assert report.agreement.max_steps <= 1.0 + 1e-4
    weights = finalized.get_layer("quant_hidden").weights_quantizers["kernel"].get_config()
    stored = quantized_tensor(interpreter(content), "quant_hidden", (4, 1, 1, 6))
    low, high = np.asarray(weights["min_range"]), np.asarray(weights["max_range"])
    step = (np.maximum(high, 0) - np.minimum(low, 0)) / 15
    np.testing.assert_allclose(stored["scales"], step, rtol=1e-5)
    assert not np.any(stored["zero_points"])


def activation_grids(bits: int) -> dict[str, tuple[qi.BaseKerasInferableQuantizer, bool]]:
    """Every activation grid at ``bits``, by name, and whether a ReLU comes before it."""
    symmetric, pot = qi.ActivationSymmetricInferableQuantizer, qi.ActivationPOTInferableQuantizer
    uniform = qi.ActivationUniformInferableQuantizer
    return {
        f"symmetric_signed_{bits}": (symmetric(bits, [2.5], True), False),
        f"symmetric_unsigned_{bits}": (symmetric(bits, [2.5], False), True),
        f"pot_signed_{bits}": (pot(bits, [2.0], True), False),
        f"pot_unsigned_{bits}": (pot(bits, [2.0], False), True),
        f"uniform_{bits}": (uniform(bits, [-1.2], [2.9]), False),
        f"uniform_from_zero_{bits}": (uniform(bits, [0.0], [2.9]), True),
    }


@pytest.fixture(scope="module")
def low_bit_activations(tmp_path_factory):
    """One int8 model whose outputs cover every activation grid at 4 and 2 bits, checked on
    data three times the calibrated range (so the clip to the n-bit levels counts)."""
    keras.utils.set_random_seed(8)
    inputs = keras.Input((6,), name="vector")
    grid = qi.ActivationSymmetricInferableQuantizer(8, [3.0], True)
    x = qi.KerasQuantizationWrapper(L.Identity(), activation_quantizers=[grid], name="quant_in")(
        inputs
    )
    outputs, grids = [], {}
    for bits in (4, 2):
        for name, (quantizer, relu) in activation_grids(bits).items():
            dense = L.Dense(
                4, "relu" if relu else None, bias_initializer="random_normal", name=name
            )
            weights = qi.WeightsSymmetricInferableQuantizer(8, [1.0], False)
            outputs.append(qi.KerasQuantizationWrapper(dense, {"kernel": weights}, [quantizer])(x))
            grids[f"quant_{name}"] = quantizer.grid()
    model = keras.Model(inputs, outputs)
    data = [3 * random_inputs(model)[0]]
    path = tmp_path_factory.mktemp("low_bits") / "activations.tflite"
    report = qi.export_tflite(model, path, batches_of(data))
    return model, data, path.read_bytes(), report, grids


def output_quantization(it: tf.lite.Interpreter) -> dict[str, tuple[float, int]]:
    """(scale, zero point) of the int8 tensor behind each signature output's DEQUANTIZE."""
    runner = it.get_signature_runner()
    producers = {op["outputs"][0]: op for op in it._get_ops_details()}
    tensors = {d["index"]: d for d in it.get_tensor_details()}
    found = {}
    for name, detail in runner.get_output_details().items():
        op = producers[detail["index"]]
        assert op["op_name"] == "DEQUANTIZE", op
        found[name] = tensors[op["inputs"][0]]["quantization"]
    return found


@pytest.mark.parametrize("bits", [4, 2])
def test_activations_below_8_bits_are_int8_tensors_of_their_grid(low_bit_activations, bits):
    """Every grid: an int8 tensor with the grid's step as scale, zero point 0, holding exactly
    the n-bit levels (its codes are ``q - zero_point``); within one step of the Keras model."""
    model, data, content, report, grids = low_bit_activations
    assert_int8_only(content)
    assert report.agreement.max_steps <= 1.0 + 1e-4
    it = interpreter(content)
    quantization = output_quantization(it)
    got = it.get_signature_runner()(vector=data[0])
    expected = dict(zip(model.output_names, model(data, training=False), strict=True))
    names = [name for name in grids if name.endswith(f"_{bits}")]
    assert len(names) == 6
    for name in names:
        grid = grids[name]
        scale, zero_point = quantization[name]
        np.testing.assert_allclose(scale, grid.scale[0], rtol=1e-6, err_msg=name)
        assert zero_point == 0, name
        codes = got[name] / grid.scale[0]
        np.testing.assert_allclose(codes, np.round(codes), atol=1e-3, err_msg=name)
        low, high = grid.quant_min - grid.zero_point[0], grid.quant_max - grid.zero_point[0]
        # every level reached at both ends, none beyond: clipped to the n-bit grid in int8
        assert (np.round(codes).min(), np.round(codes).max()) == (low, high), name
        steps = np.abs(got[name] - expected[name].numpy()) / grid.scale[0]
        assert steps.max() <= 1.0 + 1e-4, name


@pytest.mark.parametrize(
    "options, expected",
    [
        (dict(weights_method=M.UNIFORM), "quant_hidden (Dense) kernel: zero point(s)"),
        (dict(weights_n_bits=10), "quant_hidden (Dense) kernel: 10-bit weights; int8 holds"),
        (dict(quantize_inputs=False), "input 'vector' is not quantized"),
    ],
)
def test_grids_int8_cannot_hold_are_refused_with_the_reason(options, expected, tmp_path):
    model = dense_model()
    data = [random_inputs(model, 16)[0]]
    finalized = qat_finalize(qat_init(model, batches_of(data), **options))
    with pytest.raises(qi.TFLiteExportError, match="cannot export an exact int8") as refused:
        qi.export_tflite(finalized, tmp_path / "m.tflite")
    assert expected in str(refused.value)
    assert not list(tmp_path.iterdir())


@qi.register_quantizer
@qi.mark_quantizer(qi.QuantizationTarget.Activation, [M.SYMMETRIC], identifier="Raw4Bit")
class RawFourBitActivations(qi.BaseKerasInferableQuantizer):
    """A 4-bit grid written as one 4-bit fake-quant op, not through quantizer_utils."""

    def __call__(self, inputs: Any) -> tf.Tensor:
        return tf.quantization.fake_quant_with_min_max_vars(inputs, -4.0, 3.5, num_bits=4)

    def get_config(self) -> dict[str, Any]:
        return {}


def test_an_n_bit_fake_quant_op_on_an_activation_is_refused_with_the_way_out(tmp_path):
    inputs = keras.Input((5,))
    grid = qi.ActivationSymmetricInferableQuantizer(8, [4.0], True)
    x = qi.KerasQuantizationWrapper(L.Identity(), activation_quantizers=[grid], name="quant_in")(
        inputs
    )
    weights = qi.WeightsSymmetricInferableQuantizer(8, [1.0], False)
    dense = qi.KerasQuantizationWrapper(
        L.Dense(3), {"kernel": weights}, [RawFourBitActivations()], name="quant_raw"
    )
    with pytest.raises(qi.TFLiteExportError) as refused:
        qi.export_tflite(keras.Model(inputs, dense(x)), tmp_path / "m.tflite")
    assert "quant_raw (Dense) output: a 4-bit fake-quant op computes it" in str(refused.value)
    assert "quantizer_utils" in str(refused.value) and not list(tmp_path.iterdir())


def test_layers_without_an_int8_kernel_are_named_together(tmp_path):
    keras.utils.set_random_seed(6)
    image, volume = keras.Input((6, 6, 2)), keras.Input((4, 4, 4, 1))
    a = L.Flatten()(L.Conv1DTranspose(2, 3, name="transpose1d")(L.Reshape((36, 2))(image)))
    b = L.Flatten()(L.Conv2DTranspose(2, 3, name="transpose")(image))
    c = L.Flatten()(L.Conv3D(2, 3, name="conv3d")(volume))
    model = keras.Model([image, volume], L.Concatenate()([a, b, c]))
    data = random_inputs(model, 16)
    qat_model = qat_init(model, batches_of(data))
    with pytest.raises(qi.TFLiteExportError, match="trainable quantizers: export the model qat_f"):
        qi.export_tflite(qat_model, tmp_path / "m.tflite")
    with pytest.raises(qi.TFLiteExportError) as refused:
        qi.export_tflite(qat_finalize(qat_model), tmp_path / "m.tflite")
    message = str(refused.value)
    assert "quant_transpose1d (Conv1DTranspose): TFLite's converter leaves" in message
    assert "quant_transpose (Conv2DTranspose) kernel: per-channel weights" in message
    assert "quant_conv3d (Conv3D): TFLite's CONV_3D kernel takes float only" in message


def test_a_separable_convolution_wrapped_whole_is_refused_with_the_split(tmp_path):
    image = keras.Input((6, 6, 2))
    grid = qi.ActivationSymmetricInferableQuantizer(8, [4.0], True)
    x = qi.KerasQuantizationWrapper(L.Identity(), activation_quantizers=[grid], name="quant_in")(
        image
    )
    weights = {
        attribute: qi.WeightsSymmetricInferableQuantizer(8, [1.0], False)
        for attribute in ("depthwise_kernel", "pointwise_kernel")
    }
    separable = qi.KerasQuantizationWrapper(L.SeparableConv2D(2, 3), weights, [grid], name="sep")
    with pytest.raises(qi.TFLiteExportError) as refused:
        qi.export_tflite(keras.Model(image, separable(x)), tmp_path / "m.tflite")
    assert "sep (SeparableConv2D): TFLite computes the depthwise result" in str(refused.value)
    assert "qat_init splits a separable convolution" in str(refused.value)


def test_ops_left_in_float_are_named_unless_allowed(tmp_path):
    keras.utils.set_random_seed(7)
    inputs = keras.Input((6, 6, 1))
    x = L.BatchNormalization(name="bn")(L.Conv2D(2, 3, name="conv")(inputs))
    model = keras.Model(inputs, L.Dense(2, name="dense")(L.Flatten()(x)))
    model.get_layer("bn").set_weights([np.full(2, v, np.float32) for v in (1.5, 0.2, 0.1, 2.0)])
    data = [random_inputs(model, 16)[0]]
    finalized = qat_finalize(qat_init(model, batches_of(data)))
    with pytest.raises(qi.TFLiteExportError, match=r"computes in float.*allow_float_ops=True"):
        qi.export_tflite(finalized, tmp_path / "bn.tflite")
    report = qi.export_tflite(finalized, tmp_path / "bn.tflite", allow_float_ops=True)
    assert any("bn" in op for op in report.float_ops), report.float_ops
    assert "in float:" in str(report) and report.agreement is None


def test_bad_arguments_and_other_kerases(small_finalized, tmp_path):
    finalized, _ = small_finalized
    with pytest.raises(ValueError, match="mode must be one of"):
        qi.export_tflite(finalized, tmp_path / "m.tflite", mode="int4")
    with pytest.raises(ValueError, match="int8_io=True needs mode='int8'"):
        qi.export_tflite(finalized, tmp_path / "m.tflite", mode="float", int8_io=True)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        qi.export_tflite(finalized, tmp_path / "missing" / "m.tflite")
    with pytest.raises(TypeError, match="expected a Keras model, got object"):
        qi.export_tflite(object(), tmp_path / "m.tflite")
