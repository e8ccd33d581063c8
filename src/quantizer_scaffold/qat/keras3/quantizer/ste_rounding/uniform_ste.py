"""Straight-through-estimator quantizers on a uniform (asymmetric) grid, for Keras 3.

The quantizers are ``qat/common/ste.py``'s; this module gives them their Keras 3 base, math,
inferable quantizers and registration.
"""

from __future__ import annotations

from quantizer_scaffold.qat.common import ste
from quantizer_scaffold.quantizers_infrastructure import keras3 as qi3
from quantizer_scaffold.quantizers_infrastructure.keras3 import quantizer_utils
from quantizer_scaffold.quantizers_infrastructure.keras3.base_keras_trainable_quantizer import (
    BaseKerasTrainableQuantizer,
)
from quantizer_scaffold.quantizers_infrastructure.keras3.serialization import register_quantizer

RANGE = ste.RANGE


class _Keras3(ste.STEQuantizer, BaseKerasTrainableQuantizer):
    grid_ops = quantizer_utils
    inferables = qi3


@register_quantizer
class STEUniformWeightQuantizer(ste.WeightsUniformSTE, _Keras3):
    """Uniform weights over [range_min, range_max], per-channel or per-tensor, STE gradient."""


@register_quantizer
class STEUniformActivationQuantizer(ste.ActivationUniformSTE, _Keras3):
    """Uniform activations over one [range_min, range_max], STE gradient."""
