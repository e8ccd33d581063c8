{% set c = cookiecutter %}
{% set methods = c.quantization_methods.split(",") %}
{% set weights = c.target == "weights" %}
{% set thresholds = "symmetric" in methods or "power_of_two" in methods %}
{% set config_class = "NodeWeightsQuantizationConfig" if weights else "NodeActivationQuantizationConfig" %}
{% set prefix = "weights" if weights else "activation" %}
"""{{ c.method }}: the trainable {{ c.target }} quantizer, used during QAT.

It starts as a working straight-through-estimator quantizer; put your method's math in
``__call__`` (and in ``quantize`` of the inferable module if the grid itself changes).
"""

from __future__ import annotations

from typing import Any

import numpy as np
{% if c.project_registry == "no" %}

{% endif %}
from {{ c.runtime }} import quantizers_infrastructure as qi
from {{ c.runtime }}.quantizers_infrastructure.keras.compat import keras, tf
from {{ c.runtime }}.quantizers_infrastructure.keras.quantizer_variables import (
    add_fixed_variable,
    as_list,
{% if weights %}
    channel_values,
{% endif %}
)

from .{{ c.inferable_module }} import (
    METHODS,
    PARAMETER_NAMES,
    {{ c.inferable_class }},
    quantize,
)


@qi.register_quantizer
class {{ c.training_class }}(qi.BaseKerasTrainableQuantizer):
    """Quantizes {{ c.target }} while training: an STE quantizer until you change its math."""

    def __init__(self, quantization_config: qi.{{ config_class }}) -> None:
        super().__init__(quantization_config, qi.QuantizationTarget.{{ c.qi_target }}, METHODS)
        self.method = quantization_config.{{ prefix }}_quantization_method
        self.num_bits = quantization_config.{{ prefix }}_n_bits
        params = quantization_config.{{ prefix }}_quantization_params
{% if weights %}
        per_channel = quantization_config.weights_per_channel_threshold
        self.channel_axis = quantization_config.weights_channels_axis if per_channel else None
{% elif thresholds %}
        self.signed = bool(params.get("is_signed", True))
{% endif %}
        self.initial_values = {name: params[name] for name in PARAMETER_NAMES[self.method]}
        self.parameters: dict[str, tf.Variable] = {}

    def initialize_quantization(
        self, tensor_shape: Any, name: str, layer: keras.layers.Layer
    ) -> dict[str, tf.Variable]:
        """Create the grid's parameters as variables on ``layer`` ({{ "one per channel" if weights else "scalars" }})."""
        for key, value in self.initial_values.items():
{% if weights %}
            if self.channel_axis is None:
                values = np.asarray(value, dtype=np.float32).reshape([1])
            else:
                values = channel_values(value, tensor_shape, self.channel_axis, key)
{% else %}
            values = np.asarray(value, dtype=np.float32).reshape([1])
{% endif %}
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
{% if weights %}
            self.channel_axis,
{% elif thresholds %}
            self.signed,
{% endif %}
        )

    def convert2inferable(self) -> {{ c.inferable_class }}:
        """The inferable quantizer with this quantizer's current parameter values."""
        return {{ c.inferable_class }}(
            quantization_method=self.method.value,
            num_bits=self.num_bits,
            **{name: as_list(variable) for name, variable in self.parameters.items()},
{% if weights %}
            channel_axis=self.channel_axis,
{% elif thresholds %}
            signed=self.signed,
{% endif %}
        )
