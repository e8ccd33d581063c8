"""A finalized Keras 3 model (TensorFlow back end) exports to an exact int8 TFLite model.

The same guarantees as for Keras 2: for every supported layer kind and grid (symmetric,
power-of-two, uniform; per channel and per tensor; STE and LSQ), weights and activations int8
with the scales and zero points of the model's quantizers, and the interpreter's outputs
within one output quantization step of the Keras model's on random data. Grids int8 cannot
hold and layers TFLite has no int8 kernel for are refused by name; on the JAX back end the
export says how to run it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
from tflite_checks import (
    assert_all_kinds_export_exactly,
    assert_int8_only,
    batches_of,
    interpreter,
    quantized_tensor,
    random_inputs,
)

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.qat import QATConfig, TrainingMethod, qat_finalize, qat_init
from quantizer_scaffold.quantizers_infrastructure import keras3 as qi3

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="the TFLite export traces with TensorFlow"
)

M = qi.QuantizationMethod
L = keras.layers
LSQ = QATConfig(
    weight_training_method=TrainingMethod.LSQ, activation_training_method=TrainingMethod.LSQ
)


def all_kinds_model(transposed: bool) -> keras.Model:
    """Every layer kind with an int8 TFLite kernel, on three inputs; a transposed conv if asked."""
    keras.utils.set_random_seed(0)
    image = keras.Input((6, 6, 3), name="image")
    sequence, vector = keras.Input((9, 3), name="sequence"), keras.Input((12,), name="vector")
    x = L.Conv2D(4, 3, activation="relu", name="conv2d")(image)
    x = L.DepthwiseConv2D(3, depth_multiplier=2, name="depthwise2d")(x)
    y = L.Conv1D(4, 3, padding="causal", name="conv1d")(sequence)
    y = L.DepthwiseConv1D(3, activation="relu", name="depthwise1d")(y)
    y = L.Dense(5, name="dense_on_sequences")(y)
    z = L.Dense(6, activation="relu", name="dense_relu")(vector)
    z = L.Dense(3, name="dense")(z)
    outputs = [x, y, z]
    if transposed:
        outputs.append(L.Conv2DTranspose(2, 3, strides=2, name="conv2d_transpose")(image))
    model = keras.Model([image, sequence, vector], outputs, name="all_kinds")
    rng = np.random.default_rng(0)
    for layer in model.layers:  # biases that are not zero (a zero bias the converter drops)
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
    "STE, 4-bit uniform weights per channel, power-of-two activations": dict(
        weights_method=M.UNIFORM, weights_n_bits=4, activation_method=M.POWER_OF_TWO
    ),
    "LSQ, 4-bit weights per channel, 8-bit activations": dict(weights_n_bits=4, qat_config=LSQ),
    "LSQ, per tensor, 8/8": dict(per_channel=False, qat_config=LSQ),
    "LSQ, 4-bit weights and activations": dict(
        weights_n_bits=4, activation_n_bits=4, qat_config=LSQ
    ),
    "STE, 4-bit uniform activations, symmetric weights per tensor": dict(
        per_channel=False, activation_method=M.UNIFORM, activation_n_bits=4
    ),
}


def input_names(finalized: keras.Model) -> list[str]:
    return [tensor.name for tensor in finalized.inputs]


@pytest.mark.parametrize("config", list(CONFIGS))
def test_every_layer_kind_exports_to_exact_int8(config, tmp_path):
    options = dict(CONFIGS[config])
    model = all_kinds_model(options.get("transposed", False))
    finalized, content = assert_all_kinds_export_exactly(
        model,
        options,
        tmp_path / "model.tflite",
        lambda finalized: [tensor.name for tensor in finalized.inputs],
    )


def test_a_sequential_model_with_int8_input_and_output(tmp_path):
    keras.utils.set_random_seed(3)
    model = keras.Sequential(
        [
            keras.Input((6, 6, 1)),
            L.Conv2D(3, 3, activation="relu", name="conv"),
            L.Flatten(name="flatten"),
            L.Dense(4, name="dense"),
        ]
    )
    data = [random_inputs(model)[0]]
    finalized = qat_finalize(qat_init(model, batches_of(data)))
    path = tmp_path / "io.tflite"
    report = qi.export_tflite(finalized, path, batches_of(data), int8_io=True)
    assert_int8_only(path.read_bytes())
    (given,), (returned,) = (
        interpreter(path.read_bytes()).get_input_details(),
        interpreter(path.read_bytes()).get_output_details(),
    )
    assert given["dtype"] == np.int8 and returned["dtype"] == np.int8
    input_grid = finalized.layers[0].activation_quantizers[0].grid()
    np.testing.assert_allclose(given["quantization"][0], input_grid.scale[0], rtol=1e-6)
    assert report.int8_io and report.agreement.max_steps <= 1.0 + 1e-4


def dense_model() -> keras.Model:
    keras.utils.set_random_seed(5)
    inputs = keras.Input((6,), name="vector")
    return keras.Model(inputs, L.Dense(3, name="dense")(L.Dense(4, name="hidden")(inputs)))


@pytest.mark.parametrize(
    "options, expected",
    [
        (dict(weights_method=M.UNIFORM), "quant_hidden (Dense) kernel: zero point(s)"),
        (dict(weights_n_bits=10), "quant_hidden (Dense) kernel: 10-bit weights; int8 holds"),
        (dict(weights_n_bits=1), "quant_hidden (Dense) kernel: WeightsSymmetricInferableQu"),
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


@qi3.register_quantizer
@qi.mark_quantizer(qi.QuantizationTarget.Weights, [M.SYMMETRIC], identifier="TanhLevels3")
class TanhLevelsWeights(qi3.BaseKerasInferableQuantizer):
    """DoReFa-like levels, 2 round(k (tanh w / 2 max|tanh w| + 1/2)) / k - 1: keras.ops only."""

    def __call__(self, inputs: Any) -> Any:
        ops = keras.ops
        t = ops.tanh(inputs)
        k = 15.0
        return 2.0 * ops.round(k * (t / (2 * ops.max(ops.abs(t))) + 0.5)) / k - 1.0

    def get_config(self) -> dict[str, Any]:
        return {}


def test_a_grid_of_its_own_is_refused_by_name_and_the_float_export_works(tmp_path):
    keras.utils.set_random_seed(4)
    inputs = keras.Input((5,), name="vector")
    grid = qi3.ActivationSymmetricInferableQuantizer(8, [4.0], True)
    wrap = qi3.KerasQuantizationWrapper
    x = wrap(L.Identity(), activation_quantizers=[grid], name="quant_in")(inputs)
    dense = wrap(L.Dense(3), {"kernel": TanhLevelsWeights()}, [grid], name="quant_dorefa")
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
    assert report.agreement.max_difference < 1e-5 and path.is_file()


def test_layers_without_an_int8_kernel_are_named_together(tmp_path):
    keras.utils.set_random_seed(6)
    image, volume = keras.Input((6, 6, 2)), keras.Input((4, 4, 4, 1))
    b = L.Flatten()(L.Conv2DTranspose(2, 3, name="transpose")(image))
    c = L.Flatten()(L.Conv3D(2, 3, name="conv3d")(volume))
    model = keras.Model([image, volume], L.Concatenate()([b, c]))
    data = random_inputs(model, 16)
    qat_model = qat_init(model, batches_of(data))
    with pytest.raises(qi.TFLiteExportError, match="trainable quantizers: export the model qat_f"):
        qi.export_tflite(qat_model, tmp_path / "m.tflite")
    with pytest.raises(qi.TFLiteExportError) as refused:
        qi.export_tflite(qat_finalize(qat_model), tmp_path / "m.tflite")
    message = str(refused.value)
    assert "quant_transpose (Conv2DTranspose) kernel: per-channel weights" in message
    assert "quant_conv3d (Conv3D): TFLite's CONV_3D kernel takes float only" in message


def test_a_separable_convolution_exports_as_its_two_halves_with_the_tensor_between(tmp_path):
    keras.utils.set_random_seed(8)
    image = keras.Input((8, 8, 3), name="image")
    separable = L.SeparableConv2D(4, 3, depth_multiplier=2, activation="relu", name="sep")
    model = keras.Model(image, L.Dense(3, name="head")(L.Flatten()(separable(image))))
    data = random_inputs(model)
    finalized = qat_finalize(qat_init(model, batches_of(data)))
    path = tmp_path / "sep.tflite"
    report = qi.export_tflite(finalized, path, batches_of(data))
    assert report.agreement.identical_values == 1.0
    content = path.read_bytes()
    assert_int8_only(content)
    it = interpreter(content)
    ops = [op["op_name"] for op in it._get_ops_details()]
    # the halves, then the head (a per-channel Dense is a CONV_2D too)
    assert ops[:3] == ["QUANTIZE", "DEPTHWISE_CONV_2D", "CONV_2D"]
    between = quantized_tensor(it, "quant_sep_depthwise", (1, 6, 6, 6))
    step = finalized.get_layer("quant_sep_depthwise").activation_quantizers[0].grid().scale
    np.testing.assert_allclose(between["scales"], step, rtol=1e-6)


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


def test_a_model_the_default_delegate_refuses_is_checked_on_the_reference_kernels(tmp_path):
    """An output step 1e4 times finer than input step x weight step: XNNPACK refuses it."""
    keras.utils.set_random_seed(8)
    inputs = keras.Input((6,), name="vector")
    wrap = qi3.KerasQuantizationWrapper
    grid = qi3.ActivationSymmetricInferableQuantizer
    x = wrap(L.Identity(), activation_quantizers=[grid(8, [4.0], True)], name="quant_in")(inputs)
    weights = {"kernel": qi3.WeightsSymmetricInferableQuantizer(8, [1.0], per_channel=False)}
    dense = wrap(L.Dense(3), weights, [grid(8, [1e-5], True)], name="quant_dense")
    model = keras.Model(inputs, dense(x))
    data = [random_inputs(model, 16)[0]]
    report = qi.export_tflite(model, tmp_path / "m.tflite", batches_of(data))
    assert report.agreement.kernels_note.startswith("note: TFLite's default delegate (XNNPACK)")
    assert "reference kernels" in str(report) and report.agreement.max_steps <= 1.0 + 1e-4


def test_the_model_itself_is_unchanged_by_the_export(tmp_path):
    """The lowering is the trace's only: afterwards the model computes with keras.ops again."""
    model = dense_model()
    data = [random_inputs(model, 16)[0]]
    finalized = qat_finalize(qat_init(model, batches_of(data)))
    before = keras.ops.convert_to_numpy(finalized(data[0], training=False))
    qi.export_tflite(finalized, tmp_path / "m.tflite")
    after = keras.ops.convert_to_numpy(finalized(data[0], training=False))
    np.testing.assert_array_equal(before, after)
    from quantizer_scaffold.quantizers_infrastructure.keras3 import lowering

    assert lowering.active() is None


JAX_EXPORT = textwrap.dedent(
    """
    import keras, numpy as np
    from quantizer_scaffold import quantizers_infrastructure as qi
    from quantizer_scaffold.qat import qat_finalize, qat_init
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    data = np.ones((8, 4), np.float32)
    finalized = qat_finalize(qat_init(model, lambda: iter([data])))
    try:
        qi.export_tflite(finalized, "m.tflite")
    except qi.TFLiteExportError as error:
        print(type(error).__name__, error)
    """
)


@pytest.mark.slow
def test_on_jax_the_export_says_to_run_it_on_tensorflow(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "KERAS_BACKEND"))}
    env.update(KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-c", JAX_EXPORT],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("TFLiteExportError")]
    assert "Keras 3 model on the jax back end" in line
    assert "KERAS_BACKEND=tensorflow" in line
    assert not (Path(tmp_path) / "m.tflite").exists()
