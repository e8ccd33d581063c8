"""The six built-in Keras 3 inferable quantizers: the Keras 2 names, configs and grids.

The families (validation, configs, the call) are shared with Keras 2 in
``common/inferable_grids.py``; this module gives them their Keras 3 base, math and names.
"""

from __future__ import annotations

from ..common import inferable_grids as grids
from ..common.base_inferable_quantizer import (
    BUILT_IN,
    get_inferable_quantizer_class,
    mark_quantizer,
)
from ..common.constants import QuantizationMethod, QuantizationTarget
from . import quantizer_utils
from .base_keras_inferable_quantizer import BaseKerasInferableQuantizer
from .serialization import register_quantizer

__all__ = [
    "ActivationPOTInferableQuantizer",
    "ActivationSymmetricInferableQuantizer",
    "ActivationUniformInferableQuantizer",
    "WeightsPOTInferableQuantizer",
    "WeightsSymmetricInferableQuantizer",
    "WeightsUniformInferableQuantizer",
    "get_keras_inferable_quantizer_class",
]


class _Keras3Grid(grids.GridQuantizer, BaseKerasInferableQuantizer):
    grid_ops = quantizer_utils


@register_quantizer
@mark_quantizer(QuantizationTarget.Weights, [QuantizationMethod.SYMMETRIC])
class WeightsSymmetricInferableQuantizer(grids.WeightsThresholdGrid, _Keras3Grid):
    """Signed symmetric weights: delta = t / 2^(n-1), range [-t, t - delta], t per channel."""


@register_quantizer
@mark_quantizer(QuantizationTarget.Weights, [QuantizationMethod.POWER_OF_TWO])
class WeightsPOTInferableQuantizer(grids.WeightsThresholdGrid, _Keras3Grid):
    """Symmetric weights whose thresholds are powers of two."""

    power_of_two = True


@register_quantizer
@mark_quantizer(QuantizationTarget.Weights, [QuantizationMethod.UNIFORM])
class WeightsUniformInferableQuantizer(grids.WeightsUniformGrid, _Keras3Grid):
    """Uniform weights on [min_range, max_range] moved so that zero is on the grid."""


@register_quantizer
@mark_quantizer(QuantizationTarget.Activation, [QuantizationMethod.SYMMETRIC])
class ActivationSymmetricInferableQuantizer(grids.ActivationThresholdGrid, _Keras3Grid):
    """Symmetric activations: delta = t / 2^(n - signed); [-t, t - delta] or [0, t - delta]."""


@register_quantizer
@mark_quantizer(QuantizationTarget.Activation, [QuantizationMethod.POWER_OF_TWO])
class ActivationPOTInferableQuantizer(grids.ActivationThresholdGrid, _Keras3Grid):
    """Symmetric activations whose threshold is a power of two."""

    power_of_two = True


@register_quantizer
@mark_quantizer(QuantizationTarget.Activation, [QuantizationMethod.UNIFORM])
class ActivationUniformInferableQuantizer(grids.ActivationUniformGrid, _Keras3Grid):
    """Uniform activations on [min_range, max_range] moved so that zero is on the grid."""


def get_keras_inferable_quantizer_class(
    quantization_target: QuantizationTarget,
    quantization_method: QuantizationMethod,
    identifier: str = BUILT_IN,
) -> type[BaseKerasInferableQuantizer]:
    """The one Keras 3 inferable quantizer class for this target, method and family."""
    return get_inferable_quantizer_class(
        quantization_target, quantization_method, BaseKerasInferableQuantizer, identifier
    )
