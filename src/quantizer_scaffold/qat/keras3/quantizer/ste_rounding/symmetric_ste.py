"""Straight-through-estimator quantizers on a symmetric or power-of-two grid, for Keras 3.

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

SYMMETRIC_METHODS = ste.SYMMETRIC_METHODS
THRESHOLD = ste.THRESHOLD


class _Keras3(ste.STEQuantizer, BaseKerasTrainableQuantizer):
    grid_ops = quantizer_utils
    inferables = qi3


@register_quantizer
class STEWeightQuantizer(ste.WeightsThresholdSTE, _Keras3):
    """Signed symmetric / power-of-two weights, per-channel or per-tensor, with an STE gradient."""


@register_quantizer
class STEActivationQuantizer(ste.ActivationThresholdSTE, _Keras3):
    """Signed or unsigned symmetric / power-of-two activations with an STE gradient."""
