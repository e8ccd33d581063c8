"""Which Keras 3 trainable quantizer class serves each built-in training method and grid.

The keys are the one ``TrainingMethod`` shared with the Keras 2 dispatcher
(``qat/keras/quantizer/quantization_dispatcher_builder.py``); a method may be registered for
one back end or both. Keep the two dictionaries declarative. A user project's Keras 3 methods
live in the project's own ``keras3`` dispatcher, found by the same lookup.
"""

from __future__ import annotations

from enum import Enum

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.qat.common import dispatchers
from quantizer_scaffold.qat.common.qat_config import TrainingMethod
from quantizer_scaffold.qat.keras3.quantizer.lsq.activations_training_quantizer import (
    LSQActivationsTrainingQuantizer,
)
from quantizer_scaffold.qat.keras3.quantizer.lsq.weights_training_quantizer import (
    LSQWeightsTrainingQuantizer,
)
from quantizer_scaffold.qat.keras3.quantizer.ste_rounding.symmetric_ste import (
    STEActivationQuantizer,
    STEWeightQuantizer,
)
from quantizer_scaffold.qat.keras3.quantizer.ste_rounding.uniform_ste import (
    STEUniformActivationQuantizer,
    STEUniformWeightQuantizer,
)

METHOD2WEIGHTQUANTIZER = {
    TrainingMethod.STE: {
        qi.QuantizationMethod.SYMMETRIC: STEWeightQuantizer,
        qi.QuantizationMethod.POWER_OF_TWO: STEWeightQuantizer,
        qi.QuantizationMethod.UNIFORM: STEUniformWeightQuantizer,
    },
    TrainingMethod.LSQ: {
        qi.QuantizationMethod.SYMMETRIC: LSQWeightsTrainingQuantizer,
    },
}

METHOD2ACTQUANTIZER = {
    TrainingMethod.STE: {
        qi.QuantizationMethod.SYMMETRIC: STEActivationQuantizer,
        qi.QuantizationMethod.POWER_OF_TWO: STEActivationQuantizer,
        qi.QuantizationMethod.UNIFORM: STEUniformActivationQuantizer,
    },
    TrainingMethod.LSQ: {
        qi.QuantizationMethod.SYMMETRIC: LSQActivationsTrainingQuantizer,
    },
}


def get_trainable_quantizer_class(
    training_method: Enum,
    quantization_method: qi.QuantizationMethod,
    quantization_target: qi.QuantizationTarget,
) -> type:
    """The Keras 3 trainable quantizer class for this method pair and target.

    ``training_method`` is a member of this library's ``TrainingMethod`` or of a project's
    own (found through its ``keras3`` dispatcher: ``quantizer_scaffold.qat.common.dispatchers``).
    """
    return dispatchers.get_trainable_quantizer_class(
        training_method, quantization_method, quantization_target, backend="keras3"
    )
