"""Framework-free parts of the quantizers infrastructure."""

from .base_inferable_quantizer import (
    BaseInferableQuantizer,
    get_inferable_quantizer_class,
    mark_quantizer,
)
from .base_trainable_quantizer import BaseTrainableQuantizer
from .constants import QuantizationMethod, QuantizationTarget
from .dependencies import MissingDependencyError
from .grid import UniformGrid, power_of_two_ceil
from .node_config import (
    NodeActivationQuantizationConfig,
    NodeWeightsQuantizationConfig,
    config_from_dict,
)
from .parameters import ParameterKind, ParameterSpec, QuantizerParameter

__all__ = [
    "BaseInferableQuantizer",
    "BaseTrainableQuantizer",
    "MissingDependencyError",
    "NodeActivationQuantizationConfig",
    "NodeWeightsQuantizationConfig",
    "ParameterKind",
    "ParameterSpec",
    "QuantizationMethod",
    "QuantizationTarget",
    "QuantizerParameter",
    "UniformGrid",
    "config_from_dict",
    "get_inferable_quantizer_class",
    "mark_quantizer",
    "power_of_two_ceil",
]
