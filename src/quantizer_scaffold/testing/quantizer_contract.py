"""The contract every trainable/inferable quantizer pair must keep, as pytest base classes
(Keras 2, tf_keras; ``quantizer_contract_keras3`` is the Keras 3 one).

Subclass ``WeightsQuantizerContract`` or ``ActivationQuantizerContract`` in a ``test_*.py``
module, in a class named ``Test...``, and declare the pair::

    class TestMyMethodWeightsQuantizer(WeightsQuantizerContract):
        trainable = MyMethodWeightsTrainingQuantizer
        inferable = MyMethodWeightsInferableQuantizer
        training_method = TrainingMethod.MyMethod
        methods = METHODS

pytest then runs every check below once per quantization method in ``methods`` (and per
case: per-channel and per-tensor weights, signed and unsigned activations): registration and
dispatch, constructor validation, the declared parameters as variables and as the inferable's
arguments, output shape and dtype, values on the grid that the inferable quantizer's
``grid()`` describes, gradients to the inputs and to every learned parameter, trainable ==
inferable in inference, get_config/from_config round trips, and a tiny wrapped model whose
quantized layer and learned parameters train, then reload with identical predictions.

The checks are properties, not a formula: they hold for STE, for learned parameters and for
parameter-free methods alike. Every failure says which hook or rule broke and how to fix it.
Override a hook (``make_config``, ``make_quantizer``, ``sample_inputs``, ``grid``, ``wrap``)
where your quantizer needs something else, and add method-specific tests to your subclass.
The checks are written once for both Keras (``contract.py``); this module gives them Keras 2.

This module imports TensorFlow and pytest; nothing in the package imports it for you.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Any, ClassVar

import numpy as np

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.qat.keras.quantizer.quantization_dispatcher_builder import (
    get_trainable_quantizer_class,
)
from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras, tf

from . import contract
from .contract import registered_member

__all__ = [
    "ActivationQuantizerContract",
    "QuantizerContract",
    "WeightsQuantizerContract",
    "registered_member",
]


class Keras2(contract.ContractBackEnd):
    """The contract's hooks on Keras 2 (tf_keras, TensorFlow)."""

    keras: ClassVar[Any] = keras
    qi: ClassVar[Any] = qi

    @staticmethod
    def dispatch(training_method: Enum, method: Any, target: Any) -> type:
        return get_trainable_quantizer_class(training_method, method, target)

    @staticmethod
    def tensor(values: np.ndarray) -> Any:
        return tf.constant(values)

    @staticmethod
    def numpy(value: Any) -> np.ndarray:
        return np.asarray(value.numpy())

    @staticmethod
    def dtype_name(value: Any) -> str:
        return str(value.dtype.name)

    @staticmethod
    def seed(value: int) -> None:
        tf.random.set_seed(value)

    @staticmethod
    def gradients(
        quantizer: Any, inputs: np.ndarray, upstream: np.ndarray, variables: Sequence[Any]
    ) -> list[np.ndarray | None]:
        x = tf.constant(inputs)
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(quantizer(x, True) * upstream)
        found = tape.gradient(loss, [x, *variables])
        return [None if g is None else np.asarray(tf.convert_to_tensor(g)) for g in found]

    @staticmethod
    def compiled(function: Any, variables: Sequence[Any], inputs: np.ndarray) -> np.ndarray:
        return np.asarray(tf.function(function)(tf.constant(inputs)).numpy())


class QuantizerContract(Keras2, contract.QuantizerContract):
    """The checks shared by both targets (Keras 2); subclass one of the two below."""


class WeightsQuantizerContract(Keras2, contract.WeightsQuantizerContract):
    """The contract of a Keras 2 weights quantizer pair, on a Dense kernel, per channel."""


class ActivationQuantizerContract(Keras2, contract.ActivationQuantizerContract):
    """The contract of a Keras 2 activation quantizer pair, on a batch of activations."""
