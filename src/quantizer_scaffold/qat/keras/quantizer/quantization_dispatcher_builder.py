"""Which trainable quantizer class serves each training method and quantization method.

``scaffold-quantizer`` adds entries to the two dictionaries below; keep them declarative.
"""

from __future__ import annotations

from quantizer_scaffold import quantizers_infrastructure as qi
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
    training_method: TrainingMethod,
    quantization_method: qi.QuantizationMethod,
    quantization_target: qi.QuantizationTarget,
) -> type:
    """The trainable quantizer class registered for this method pair and target."""
    target = qi.QuantizationTarget(quantization_target)
    method = qi.QuantizationMethod(quantization_method)
    weights = target is qi.QuantizationTarget.Weights
    table = METHOD2WEIGHTQUANTIZER if weights else METHOD2ACTQUANTIZER
    quantizer_class = table.get(training_method, {}).get(method)
    if quantizer_class is None:
        registered = "; ".join(
            f"{tm.name}: {', '.join(m.name for m in methods)}" for tm, methods in table.items()
        )
        name = getattr(training_method, "name", training_method)
        raise ValueError(
            f"no {target.name} quantizer is registered for training method {name} with "
            f"{method.name} (registered: {registered}); scaffold one with: "
            f"scaffold-quantizer --method {name} --target {target.value} "
            f"--quantization-method {method.value}"
        )
    return quantizer_class
