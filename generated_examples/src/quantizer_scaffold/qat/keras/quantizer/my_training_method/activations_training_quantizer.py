"""MyTrainingMethod: the trainable activation quantizer, used during QAT.

It starts as a working straight-through-estimator quantizer; put your method's math in
``__call__`` (and in ``quantize`` of the inferable module if the grid itself changes).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras, tf
from quantizer_scaffold.quantizers_infrastructure.keras.quantizer_variables import (
    add_fixed_variable,
    as_list,
)

from .activations_inferable_quantizer import (
    METHODS,
    PARAMETER_NAMES,
    MyTrainingMethodActivationsInferableQuantizer,
    quantize,
)


@qi.register_quantizer
class MyTrainingMethodActivationsTrainingQuantizer(qi.BaseKerasTrainableQuantizer):
    """Quantizes activation while training: an STE quantizer until you change its math."""

    def __init__(self, quantization_config: qi.NodeActivationQuantizationConfig) -> None:
        super().__init__(quantization_config, qi.QuantizationTarget.Activation, METHODS)
        self.method = quantization_config.activation_quantization_method
        self.num_bits = quantization_config.activation_n_bits
        params = quantization_config.activation_quantization_params
        self.signed = bool(params.get("is_signed", True))
        self.initial_values = {name: params[name] for name in PARAMETER_NAMES[self.method]}
        self.parameters: dict[str, tf.Variable] = {}

    def initialize_quantization(
        self, tensor_shape: Any, name: str, layer: keras.layers.Layer
    ) -> dict[str, tf.Variable]:
        """Create the grid's parameters as variables on ``layer`` (scalars)."""
        for key, value in self.initial_values.items():
            values = np.asarray(value, dtype=np.float32).reshape([1])
            # Your method's learned parameters go here too: trainable=True variables train.
            self.parameters[key] = add_fixed_variable(layer, f"{name}_{key}", values)
        self.quantizer_parameters = dict(self.parameters)
        return self.quantizer_parameters

    def __call__(self, inputs: tf.Tensor, training: bool = True) -> tf.Tensor:
        """Quantize ``inputs``; ``training`` is False when the model runs in inference."""
        if not self.parameters:
            raise RuntimeError(
                f"{type(self).__name__}: call initialize_quantization() (the wrapper's build) first"
            )
        # ---- Your training method's math goes here. -------------------------------------
        # This default is the straight-through estimator: the shared grid of ``quantize``.
        # Keep convert2inferable() in step: in inference both must give the same output.
        return quantize(
            inputs,
            self.method,
            self.num_bits,
            self.parameters,
            self.signed,
        )

    def convert2inferable(self) -> MyTrainingMethodActivationsInferableQuantizer:
        """The inferable quantizer with this quantizer's current parameter values."""
        return MyTrainingMethodActivationsInferableQuantizer(
            quantization_method=self.method.value,
            num_bits=self.num_bits,
            **{name: as_list(variable) for name, variable in self.parameters.items()},
            signed=self.signed,
        )
