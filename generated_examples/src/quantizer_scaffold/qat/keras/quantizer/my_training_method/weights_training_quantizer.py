"""MyTrainingMethod: the trainable weights quantizer, used during QAT.

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
    channel_values,
)

from .weights_inferable_quantizer import (
    METHODS,
    PARAMETER_NAMES,
    MyTrainingMethodWeightsInferableQuantizer,
    quantize,
)


@qi.register_quantizer
class MyTrainingMethodWeightsTrainingQuantizer(qi.BaseKerasTrainableQuantizer):
    """Quantizes weights while training: an STE quantizer until you change its math."""

    def __init__(self, quantization_config: qi.NodeWeightsQuantizationConfig) -> None:
        super().__init__(quantization_config, qi.QuantizationTarget.Weights, METHODS)
        self.method = quantization_config.weights_quantization_method
        self.num_bits = quantization_config.weights_n_bits
        params = quantization_config.weights_quantization_params
        per_channel = quantization_config.weights_per_channel_threshold
        self.channel_axis = quantization_config.weights_channels_axis if per_channel else None
        self.initial_values = {name: params[name] for name in PARAMETER_NAMES[self.method]}
        self.parameters: dict[str, tf.Variable] = {}

    def initialize_quantization(
        self, tensor_shape: Any, name: str, layer: keras.layers.Layer
    ) -> dict[str, tf.Variable]:
        """Create the grid's parameters as variables on ``layer`` (one per channel)."""
        for key, value in self.initial_values.items():
            if self.channel_axis is None:
                values = np.asarray(value, dtype=np.float32).reshape([1])
            else:
                values = channel_values(value, tensor_shape, self.channel_axis, key)
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
            self.channel_axis,
        )

    def convert2inferable(self) -> MyTrainingMethodWeightsInferableQuantizer:
        """The inferable quantizer with this quantizer's current parameter values."""
        return MyTrainingMethodWeightsInferableQuantizer(
            quantization_method=self.method.value,
            num_bits=self.num_bits,
            **{name: as_list(variable) for name, variable in self.parameters.items()},
            channel_axis=self.channel_axis,
        )
