"""Straight-through-estimator quantizers on a symmetric or power-of-two grid, for Keras 2.

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

SYMMETRIC_METHODS = ste.SYMMETRIC_METHODS
THRESHOLD = ste.THRESHOLD


class _Keras2(ste.STEQuantizer, BaseKerasTrainableQuantizer):
    grid_ops = quantizer_utils
    inferables = qi


@register_quantizer
class STEWeightQuantizer(ste.WeightsThresholdSTE, _Keras2):
    """Signed symmetric / power-of-two weights, per-channel or per-tensor, with an STE gradient."""


@register_quantizer
class STEActivationQuantizer(ste.ActivationThresholdSTE, _Keras2):
    """Signed or unsigned symmetric / power-of-two activations with an STE gradient."""
