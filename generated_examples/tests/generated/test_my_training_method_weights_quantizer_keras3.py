"""Tests of the MyTrainingMethod weights quantizer pair (Keras 3), by scaffold-quantizer.

The base class runs the shared quantizer contract for every method in ``METHODS``:
registration, constructor validation, the declared ``PARAMETERS`` as variables and as the
inferable's arguments, shape and dtype, values on the inferable's ``grid()``, gradients to the
inputs and to learned parameters, trainable == inferable in inference, config round trips,
and a wrapped model whose layer and parameters train, then reload. It checks properties, not
the STE formula: keep it passing when you replace the math (each failure names the hook to
fix). Add tests of your method's own math as ``test_*`` methods of the class below; override a
contract hook (e.g. ``make_config``) only where your quantizer needs it.

The checks run on the Keras 3 back end of this process (``KERAS_BACKEND``), then once more
on JAX in one subprocess (``test_the_contract_holds_on_jax``; skipped, with the reason, where
JAX is not installed).
"""

from __future__ import annotations

from quantizer_scaffold.qat.common.qat_config import TrainingMethod
from quantizer_scaffold.qat.keras3.quantizer.my_training_method.weights_inferable_quantizer import (
    METHODS,
    MyTrainingMethodWeightsInferableQuantizer,
)
from quantizer_scaffold.qat.keras3.quantizer.my_training_method.weights_training_quantizer import (
    MyTrainingMethodWeightsTrainingQuantizer,
)
from quantizer_scaffold.testing.quantizer_contract_keras3 import (
    WeightsQuantizerContract,
    registered_member,
)


class TestMyTrainingMethodWeightsQuantizer(WeightsQuantizerContract):
    """The weights quantizer contract for this pair; add your method's own tests here."""

    trainable = MyTrainingMethodWeightsTrainingQuantizer
    inferable = MyTrainingMethodWeightsInferableQuantizer
    training_method = registered_member(TrainingMethod, "MyTrainingMethod")
    methods = METHODS
