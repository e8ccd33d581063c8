"""The Keras 3 contract's XLA check: it passes the built-in pairs and fails one XLA cannot compile.

The check trains the contract's wrapped model with ``jit_compile=True`` and with the default
compile, on TensorFlow (Keras compiles every step with XLA on JAX).
"""

from __future__ import annotations

from typing import Any

import pytest
from keras3_helpers import tensorflow_only

from quantizer_scaffold.qat import TrainingMethod
from quantizer_scaffold.qat.keras3.quantizer.lsq.weights_training_quantizer import (
    LSQWeightsTrainingQuantizer,
)
from quantizer_scaffold.qat.keras3.quantizer.ste_rounding.symmetric_ste import STEWeightQuantizer
from quantizer_scaffold.quantizers_infrastructure import keras3 as qi3
from quantizer_scaffold.testing.quantizer_contract_keras3 import WeightsQuantizerContract

SYMMETRIC = qi3.QuantizationMethod.SYMMETRIC


class HostCopiedSTE(STEWeightQuantizer):
    """STE whose values take a trip through numpy (``tf.numpy_function``): that runs in a
    ``tf.function`` but XLA cannot compile it."""

    def __call__(self, inputs: Any, training: Any) -> Any:
        import tensorflow as tf

        quantized = super().__call__(inputs, training)
        copied = tf.ensure_shape(
            tf.numpy_function(lambda v: v.copy(), [quantized], quantized.dtype), quantized.shape
        )
        return quantized + tf.stop_gradient(copied - quantized)


def contract_for(trainable: type, training_method: TrainingMethod) -> WeightsQuantizerContract:
    """The weights contract of ``trainable`` with the symmetric inferable quantizer."""
    contract = type(
        f"{trainable.__name__}Contract",
        (WeightsQuantizerContract,),
        {
            "trainable": trainable,
            "inferable": qi3.WeightsSymmetricInferableQuantizer,
            "training_method": training_method,
            "methods": [SYMMETRIC],
        },
    )
    return contract()


@tensorflow_only("Keras compiles every step with XLA on the other back ends")
@pytest.mark.parametrize(
    "trainable, training_method",
    [(STEWeightQuantizer, TrainingMethod.STE), (LSQWeightsTrainingQuantizer, TrainingMethod.LSQ)],
    ids=["STE", "LSQ"],
)
def test_the_built_in_pairs_train_the_same_with_xla(trainable, training_method):
    contract_for(trainable, training_method).test_wrapped_model_trains_compiled_with_xla(SYMMETRIC)


@tensorflow_only("XLA is the only compile on the other back ends")
def test_a_quantizer_xla_cannot_compile_fails_the_check_with_what_to_do():
    contract = contract_for(HostCopiedSTE, TrainingMethod.STE)
    contract.train_wrapped_model(SYMMETRIC)  # the default compile trains it
    with pytest.raises(pytest.fail.Exception) as failure:
        contract.test_wrapped_model_trains_compiled_with_xla(SYMMETRIC)
    message = str(failure.value)
    assert "model.fit (compiled with jit_compile=True) failed with HostCopiedSTE" in message
    assert "no tf.numpy_function or tf.py_function" in message
