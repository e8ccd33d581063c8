"""The framework-free contract of a trainable (QAT) quantizer.

A trainable quantizer is built from one node config, quantizes a tensor while the model
trains, and hands over to an inferable quantizer for deployment:

- ``__init__(quantization_config, quantization_target, quantization_methods)`` checks that
  the config fits the target and that its method is one this class implements;
- ``initialize_quantization(tensor_shape, name, layer)`` creates any trainable variables on
  the wrapping layer and returns them by name (default: none);
- ``__call__(inputs)`` or ``__call__(inputs, training)`` returns the quantized tensor;
- ``convert2inferable()`` returns the equivalent inferable quantizer;
- ``get_config()`` / ``from_config()`` round-trip the constructor arguments.
"""

from __future__ import annotations

import abc
import inspect
from collections.abc import Sequence
from typing import Any

from .constants import QuantizationMethod, QuantizationTarget
from .node_config import (
    NodeActivationQuantizationConfig,
    NodeQuantizationConfig,
    NodeWeightsQuantizationConfig,
    config_from_dict,
)

CONFIG_CLASS = {
    QuantizationTarget.Weights: NodeWeightsQuantizationConfig,
    QuantizationTarget.Activation: NodeActivationQuantizationConfig,
}


def config_method(config: NodeQuantizationConfig) -> QuantizationMethod:
    """The quantization method a node config asks for, whichever target it is for."""
    if isinstance(config, NodeWeightsQuantizationConfig):
        return config.weights_quantization_method
    return config.activation_quantization_method


class BaseTrainableQuantizer(abc.ABC):
    """Quantizes one tensor during training; subclasses implement the math."""

    def __init__(
        self,
        quantization_config: NodeQuantizationConfig,
        quantization_target: QuantizationTarget,
        quantization_methods: Sequence[QuantizationMethod],
    ) -> None:
        name = type(self).__name__
        target = QuantizationTarget(quantization_target)
        expected = CONFIG_CLASS[target]
        if not isinstance(quantization_config, expected):
            raise ValueError(
                f"{name} quantizes {target.name} and needs a {expected.__name__}, "
                f"got {type(quantization_config).__name__}"
            )
        methods = [QuantizationMethod(m) for m in quantization_methods]
        if not methods:
            raise ValueError(f"{name} must list at least one QuantizationMethod it implements")
        enabled = (
            quantization_config.enable_weights_quantization
            if isinstance(quantization_config, NodeWeightsQuantizationConfig)
            else quantization_config.enable_activation_quantization
        )
        if not enabled:
            raise ValueError(
                f"{name} got a config with {target.value} quantization disabled: leave that "
                f"tensor unquantized instead of building a quantizer for it"
            )
        method = config_method(quantization_config)
        if method not in methods:
            supported = ", ".join(m.name for m in methods)
            raise ValueError(
                f"{name} implements {supported} but the config asks for {method.name}: "
                f"use a quantizer registered for {method.name} or change the config's method"
            )
        self.quantization_config = quantization_config
        self.quantization_target = target
        self.quantization_methods = methods
        self.quantizer_parameters: dict[str, Any] = {}

    @classmethod
    def accepts_training_argument(cls) -> bool:
        """Whether ``__call__`` takes ``training`` (the seed's ``__call__(inputs)`` does not)."""
        parameters = inspect.signature(cls.__call__).parameters
        return "training" in parameters or any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
        )

    def initialize_quantization(self, tensor_shape: Any, name: str, layer: Any) -> dict[str, Any]:
        """Create this quantizer's variables on ``layer`` and return them by name."""
        return {}

    @abc.abstractmethod
    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """Return the quantized ``inputs``."""

    @abc.abstractmethod
    def convert2inferable(self) -> Any:
        """Return the inferable quantizer that computes the same output in inference mode."""

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments as JSON-safe values; subclasses add their own extra ones."""
        return {"quantization_config": self.quantization_config.to_dict()}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> BaseTrainableQuantizer:
        config = dict(config)
        node_config = config.pop("quantization_config")
        if not isinstance(
            node_config, (NodeWeightsQuantizationConfig, NodeActivationQuantizationConfig)
        ):
            node_config = config_from_dict(node_config)
        return cls(quantization_config=node_config, **config)
