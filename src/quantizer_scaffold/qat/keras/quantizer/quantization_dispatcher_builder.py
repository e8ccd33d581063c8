"""Which Keras 2 trainable quantizer class serves each built-in training method and grid.

``scaffold-quantizer`` adds entries to the two dictionaries below; keep them declarative.
A user project's methods live in the project's own dispatcher, found by the same lookup.
"""

from __future__ import annotations

from enum import Enum

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.qat.common import dispatchers
from quantizer_scaffold.qat.common.qat_config import TrainingMethod
from quantizer_scaffold.qat.keras.quantizer.do_re_fa.weights_training_quantizer import (
    DoReFaWeightsTrainingQuantizer,
)
from quantizer_scaffold.qat.keras.quantizer.lsq.activations_training_quantizer import (
    LSQActivationsTrainingQuantizer,
)
from quantizer_scaffold.qat.keras.quantizer.lsq.weights_training_quantizer import (
    LSQWeightsTrainingQuantizer,
)
from quantizer_scaffold.qat.keras.quantizer.pact.activations_training_quantizer import (
    PACTActivationsTrainingQuantizer,
)
from quantizer_scaffold.qat.keras.quantizer.ste_rounding.symmetric_ste import (
    STEActivationQuantizer,
    STEWeightQuantizer,
)
from quantizer_scaffold.qat.keras.quantizer.ste_rounding.uniform_ste import (
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
    TrainingMethod.DoReFa: {
        qi.QuantizationMethod.SYMMETRIC: DoReFaWeightsTrainingQuantizer,
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
    TrainingMethod.PACT: {
        qi.QuantizationMethod.SYMMETRIC: PACTActivationsTrainingQuantizer,
    },
}


def get_trainable_quantizer_class(
    training_method: Enum,
    quantization_method: qi.QuantizationMethod,
    quantization_target: qi.QuantizationTarget,
) -> type:
    """The Keras 2 trainable quantizer class for this method pair and target.

    ``training_method`` is a member of this library's ``TrainingMethod`` or of a project's
    own (found through its dispatcher: see ``quantizer_scaffold.qat.common.dispatchers``).
    """
    return dispatchers.get_trainable_quantizer_class(
        training_method, quantization_method, quantization_target, backend="keras"
    )
