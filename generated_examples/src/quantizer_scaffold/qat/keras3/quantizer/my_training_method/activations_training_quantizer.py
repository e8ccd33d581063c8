"""MyTrainingMethod: the trainable activation quantizer for Keras 3, used during QAT.

It starts as a working straight-through-estimator quantizer on the shared grid of
``quantize``; put your method's math in ``__call__`` (and in ``quantize`` and ``grid`` of the
inferable module if the grid itself changes). The base class creates the variables of
``PARAMETERS`` on the layer (``self.parameters``); to start one from the float values once they
are in place, override ``calibrate(values)`` (the QAT flow calls it once, before training).
Write the math with ``keras.ops`` only: it then trains on every Keras 3 back end (TensorFlow,
JAX). ``qi`` is Keras 3's (``quantizer_scaffold.quantizers_infrastructure.keras3``).
"""

from __future__ import annotations

from typing import Any

from quantizer_scaffold.quantizers_infrastructure import keras3 as qi

from .activations_inferable_quantizer import (
    METHODS,
    PARAMETERS,
    MyTrainingMethodActivationsInferableQuantizer,
    quantize,
)


@qi.register_quantizer
class MyTrainingMethodActivationsTrainingQuantizer(qi.BaseKerasTrainableQuantizer):
    """Quantizes activation while training: an STE quantizer until you change its math."""

    parameter_spec = PARAMETERS

    def __init__(self, quantization_config: qi.NodeActivationQuantizationConfig) -> None:
        super().__init__(quantization_config, qi.QuantizationTarget.Activation, METHODS)
        params = quantization_config.activation_quantization_params
        self.signed = bool(params.get("is_signed", True))

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
            self.signed,
        )

    def convert2inferable(self) -> MyTrainingMethodActivationsInferableQuantizer:
        """The inferable quantizer with this quantizer's current parameter values."""
        return MyTrainingMethodActivationsInferableQuantizer(
            quantization_method=self.quantization_method.value,
            num_bits=self.num_bits,
            signed=self.signed,
            **self.parameter_values(),
        )
