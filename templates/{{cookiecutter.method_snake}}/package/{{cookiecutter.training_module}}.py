{% set c = cookiecutter %}
{% set keras3 = c.backend == "keras3" %}
{% set T = "Any" if keras3 else "tf.Tensor" %}
{% set methods = c.quantization_methods.split(",") %}
{% set weights = c.target == "weights" %}
{% set thresholds = "symmetric" in methods or "power_of_two" in methods %}
{% set config_class = "NodeWeightsQuantizationConfig" if weights else "NodeActivationQuantizationConfig" %}
{% set extra = "channel_axis" if weights else ("signed" if thresholds else "") %}
"""{{ c.method }}: the trainable {{ c.target }} quantizer{{ " for Keras 3" if keras3 }}, used during QAT.

It starts as a working straight-through-estimator quantizer on the shared grid of
``quantize``; put your method's math in ``__call__`` (and in ``quantize`` and ``grid`` of the
inferable module if the grid itself changes). The base class creates the variables of
``PARAMETERS`` on the layer (``self.parameters``); to start one from the float values once they
are in place, override ``calibrate(values)`` (the QAT flow calls it once, before training).
{% if keras3 %}
Write the math with ``keras.ops`` only: it then trains on every Keras 3 back end (TensorFlow,
JAX). ``qi`` is Keras 3's (``quantizer_scaffold.quantizers_infrastructure.keras3``).
{% endif %}
"""

from __future__ import annotations

{% if keras3 %}
from typing import Any

from {{ c.runtime }}.quantizers_infrastructure import keras3 as qi
{% else %}
from {{ c.runtime }} import quantizers_infrastructure as qi
from {{ c.runtime }}.quantizers_infrastructure.keras.compat import tf
{% endif %}

from .{{ c.inferable_module }} import (
    METHODS,
    PARAMETERS,
    {{ c.inferable_class }},
    quantize,
)


@qi.register_quantizer
class {{ c.training_class }}(qi.BaseKerasTrainableQuantizer):
    """Quantizes {{ c.target }} while training: an STE quantizer until you change its math."""

    parameter_spec = PARAMETERS

    def __init__(self, quantization_config: qi.{{ config_class }}) -> None:
        super().__init__(quantization_config, qi.QuantizationTarget.{{ c.qi_target }}, METHODS)
{% if extra == "signed" %}
        params = quantization_config.activation_quantization_params
        self.signed = bool(params.get("is_signed", True))
{% endif %}

    def __call__(self, inputs: {{ T }}, training: bool) -> {{ T }}:
        """Quantize ``inputs``; ``training`` is True while the model fits, False in inference."""
        # ---- Your training method's math goes here. -------------------------------------
        # This default is the straight-through estimator on the shared grid of ``quantize``.
        # In inference (training=False) it must equal convert2inferable(): keep both in step.
        return quantize(
            inputs,
            self.quantization_method,
            self.num_bits,
            self.parameters,
{% if extra %}
            self.{{ extra }},
{% endif %}
        )

    def convert2inferable(self) -> {{ c.inferable_class }}:
        """The inferable quantizer with this quantizer's current parameter values."""
        return {{ c.inferable_class }}(
            quantization_method=self.quantization_method.value,
            num_bits=self.num_bits,
{% if extra %}
            {{ extra }}=self.{{ extra }},
{% endif %}
            **self.parameter_values(),
        )
