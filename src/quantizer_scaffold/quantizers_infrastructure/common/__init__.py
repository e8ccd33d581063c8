"""Framework-free parts of the quantizers infrastructure."""

from .base_inferable_quantizer import (
    BaseInferableQuantizer,
    get_inferable_quantizer_class,
    mark_quantizer,
)
from .base_trainable_quantizer import BaseTrainableQuantizer
from .constants import QuantizationMethod, QuantizationTarget
from .dependencies import MissingDependencyError
from .node_config import (
    NodeActivationQuantizationConfig,
    NodeWeightsQuantizationConfig,
    config_from_dict,
)

__all__ = [
    "BaseInferableQuantizer",
    "BaseTrainableQuantizer",
    "MissingDependencyError",
    "NodeActivationQuantizationConfig",
    "NodeWeightsQuantizationConfig",
    "QuantizationMethod",
    "QuantizationTarget",
    "config_from_dict",
    "get_inferable_quantizer_class",
    "mark_quantizer",
]
