from flatqat import quantizers_infrastructure as qi
from flatqat.qat.common.qat_config import TrainingMethod
from flatqat.qat.keras.quantizer.ste import STEActivationsQuantizer, STEWeightsQuantizer

METHOD2WEIGHTQUANTIZER = {TrainingMethod.STE: {qi.QuantizationMethod.SYMMETRIC: STEWeightsQuantizer}}

METHOD2ACTQUANTIZER = {TrainingMethod.STE: {qi.QuantizationMethod.SYMMETRIC: STEActivationsQuantizer}}
