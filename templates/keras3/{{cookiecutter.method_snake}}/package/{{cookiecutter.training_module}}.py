{% set c = cookiecutter %}
{% set methods = c.quantization_methods.split(",") %}
{% set weights = c.target == "weights" %}
{% set thresholds = "symmetric" in methods or "power_of_two" in methods %}
{% set config_class = "NodeWeightsQuantizationConfig" if weights else "NodeActivationQuantizationConfig" %}
{% set extra = "channel_axis" if weights else ("signed" if thresholds else "") %}
"""{{ c.method }}: the trainable {{ c.target }} quantizer for Keras 3, used during QAT.

It starts as a working straight-through-estimator quantizer on the shared grid of
``quantize``; put your method's math in ``__call__`` (and in ``quantize`` and ``grid`` of the
inferable module if the grid itself changes). The base class creates the variables of
``PARAMETERS`` on the layer (``self.parameters``); to start one from the float values once they
are in place, override ``calibrate(values)`` (the QAT flow calls it once, before training).
Write the math with ``keras.ops`` only: it then trains on every Keras 3 back end (TensorFlow,
JAX).
"""

from __future__ import annotations

from typing import Any

from {{ c.runtime }}.quantizers_infrastructure import keras3 as qi3

from .{{ c.inferable_module }} import (
    METHODS,
    PARAMETERS,
    {{ c.inferable_class }},
    quantize,
)


@qi3.register_quantizer
class {{ c.training_class }}(qi3.BaseKerasTrainableQuantizer):
    """Quantizes {{ c.target }} while training: an STE quantizer until you change its math."""

    parameter_spec = PARAMETERS

    def __init__(self, quantization_config: qi3.{{ config_class }}) -> None:
        super().__init__(quantization_config, qi3.QuantizationTarget.{{ c.qi_target }}, METHODS)
{% if extra == "signed" %}
        params = quantization_config.activation_quantization_params
        self.signed = bool(params.get("is_signed", True))
{% endif %}

    def __call__(self, inputs: Any, training: bool) -> Any:
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
