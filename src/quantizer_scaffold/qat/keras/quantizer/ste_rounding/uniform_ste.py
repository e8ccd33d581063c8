"""Straight-through-estimator quantizers on a uniform (asymmetric) grid, for Keras 2.

The quantizers are ``qat/common/ste.py``'s; this module gives them their Keras 2 (tf_keras)
base, math, inferable quantizers and registration.
"""

from __future__ import annotations

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.qat.common import ste
from quantizer_scaffold.quantizers_infrastructure.keras import quantizer_utils
from quantizer_scaffold.quantizers_infrastructure.keras.base_keras_trainable_quantizer import (
    BaseKerasTrainableQuantizer,
)
from quantizer_scaffold.quantizers_infrastructure.keras.serialization import register_quantizer

RANGE = ste.RANGE


class _Keras2(ste.STEQuantizer, BaseKerasTrainableQuantizer):
    grid_ops = quantizer_utils
    inferables = qi


@register_quantizer
class STEUniformWeightQuantizer(ste.WeightsUniformSTE, _Keras2):
    """Uniform weights over [range_min, range_max], per-channel or per-tensor, STE gradient."""


@register_quantizer
class STEUniformActivationQuantizer(ste.ActivationUniformSTE, _Keras2):
    """Uniform activations over one [range_min, range_max], STE gradient."""
