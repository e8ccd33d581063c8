"""Compiled, a trainable quantizer in inference and its inferable quantizer compute the same.

The trainable quantizer reads its grid from variables, the inferable one (what ``qat_finalize``
puts in the model) from constants. Graph compilers rewrite a division by a constant as a
product with its reciprocal (TensorFlow's constant folding, XLA's algebraic simplifier), which
rounds otherwise: a value next to a rounding boundary then lands on another level in the
finalized model unless the grid math divides the same way in both (``grid_math.divide``).
The inputs here sit on the boundaries, one float32 step either side included.
"""

from __future__ import annotations

import numpy as np
import pytest
from dispatched_quantizers import every_dispatched_quantizer
from test_keras3_trainable_quantizers import activation_config, built, weights_config

from quantizer_scaffold.qat.keras3.quantizer import quantization_dispatcher_builder as dispatcher
from quantizer_scaffold.testing.contract import boundary_inputs
from quantizer_scaffold.testing.quantizer_contract_keras3 import Keras3

CHANNELS = 4  # the channels of weights_config's per-channel axis (-1)
CASES = every_dispatched_quantizer(dispatcher)


@pytest.mark.parametrize("quantizer_class, target, method, n_bits", CASES)
def test_finalized_and_trainable_grids_agree_at_every_rounding_boundary(
    quantizer_class, target, method, n_bits
):
    if target == "weights":
        quantizer = built(quantizer_class(weights_config(method, n_bits)))
    else:
        quantizer = built(quantizer_class(activation_config(method, n_bits)), (None, 1))
    inferable = quantizer.convert2inferable()
    x = boundary_inputs(inferable.grid(), CHANNELS if target == "weights" else 1)
    trained = Keras3.compiled(lambda v: quantizer(v, False), list(quantizer.parameters.values()), x)
    finalized = Keras3.compiled(inferable, [], x)
    np.testing.assert_array_equal(finalized, trained)
