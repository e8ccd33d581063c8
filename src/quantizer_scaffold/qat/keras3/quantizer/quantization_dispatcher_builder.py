"""Which Keras 3 trainable quantizer class serves each training method and quantization method.

The keys are the one ``TrainingMethod`` shared with the Keras 2 dispatcher
(``qat/keras/quantizer/quantization_dispatcher_builder.py``); a method may be registered for
one back end or both. Keep the two dictionaries declarative.
"""

from __future__ import annotations

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.qat.common.dispatch import lookup_trainable_quantizer
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
    training_method: TrainingMethod,
    quantization_method: qi.QuantizationMethod,
    quantization_target: qi.QuantizationTarget,
) -> type:
    """The Keras 3 trainable quantizer class registered for this method pair and target."""
    return lookup_trainable_quantizer(
        METHOD2WEIGHTQUANTIZER,
        METHOD2ACTQUANTIZER,
        training_method,
        quantization_method,
        quantization_target,
        remedy=(
            "for Keras 3, add the class to the dictionaries in "
            "quantizer_scaffold/qat/keras3/quantizer/quantization_dispatcher_builder.py"
        ),
    )
