"""Compiled, a Keras 2 trainable quantizer in inference and its inferable quantizer compute the
same, and so do the bias grids of a QAT model and of its finalized copy.

The trainable quantizer reads its grid from variables, the inferable one (what ``qat_finalize``
puts in the model) from constants, and TensorFlow's constant folding rewrites a division by a
constant as a product with its reciprocal, which rounds otherwise. Unless the grid math
divides the same way in both (``grid_math.divide``), a value next to a rounding boundary lands
on another level in the finalized model: a grid's step below 8 bits, a uniform range moved to
put 0 on the grid, the bias on its int32 grid. The inputs here sit on the boundaries.
"""

from __future__ import annotations

import numpy as np
import pytest
from dispatched_quantizers import every_dispatched_quantizer

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.qat import QATConfig, TrainingMethod, qat_finalize, qat_init
from quantizer_scaffold.qat.keras.quantizer import quantization_dispatcher_builder as dispatcher
from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras, tf
from quantizer_scaffold.testing.contract import boundary_inputs

M = qi.QuantizationMethod
CHANNELS = 4
CASES = every_dispatched_quantizer(dispatcher)


def config(target: str, method: qi.QuantizationMethod, n_bits: int) -> object:
    """A config with thresholds or ranges whose steps are not powers of two."""
    if target == "weights":
        channels, per_channel, axis = CHANNELS, True, -1
    else:
        channels, per_channel, axis = 1, False, None
    if method is M.UNIFORM:
        params = {
            "range_min": [-0.37 - 0.11 * i for i in range(channels)],
            "range_max": [0.93 + 0.29 * i for i in range(channels)],
        }
    else:
        params = {"threshold": [0.77 + 0.31 * i for i in range(channels)]}
    if target == "weights":
        return qi.NodeWeightsQuantizationConfig(method, n_bits, params, axis, per_channel)
    if method is not M.UNIFORM:
        params = {"threshold": params["threshold"][0], "is_signed": True}
    else:
        params = {k: v[0] for k, v in params.items()}
    return qi.NodeActivationQuantizationConfig(method, n_bits, params)


@pytest.mark.parametrize("quantizer_class, target, method, n_bits", CASES)
def test_finalized_and_trainable_grids_agree_at_every_rounding_boundary(
    quantizer_class, target, method, n_bits
):
    quantizer = quantizer_class(config(target, method, n_bits))
    shape = (3, CHANNELS) if target == "weights" else (None, 1)
    quantizer.initialize_quantization(shape, "t", keras.layers.Layer())
    inferable = quantizer.convert2inferable()
    grid = inferable.grid()
    if grid is None:
        pytest.skip(f"{type(inferable).__name__} has no uniform grid")
    x = tf.constant(boundary_inputs(grid, CHANNELS if target == "weights" else 1))
    trained = tf.function(lambda v: quantizer(v, False))(x).numpy()
    np.testing.assert_array_equal(tf.function(inferable)(x).numpy(), trained)


@pytest.mark.parametrize("n_bits", [8, 4])
def test_a_finalized_model_adds_the_bias_of_its_qat_model_bit_for_bit(n_bits):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((6, 6, 1))
    x = keras.layers.Conv2D(4, 3, bias_initializer="random_normal", name="conv")(inputs)
    x = keras.layers.Flatten()(x)
    model = keras.Model(
        inputs, keras.layers.Dense(5, bias_initializer="random_normal", name="dense")(x)
    )
    data = np.random.default_rng(1).uniform(-1, 1, (16, 6, 6, 1)).astype(np.float32)
    qat_model = qat_init(
        model, lambda: [data], QATConfig(TrainingMethod.STE), weights_n_bits=n_bits
    )
    finalized = qat_finalize(qat_model)
    for name in ("quant_conv", "quant_dense"):
        qat_bias = qat_model.get_layer(name)._bias_grid()
        assert qat_bias is not None, name
        np.testing.assert_array_equal(
            finalized.get_layer(name)._bias_grid().numpy(), qat_bias.numpy()
        )
