"""MyTrainingMethod: the trainable weights quantizer for Keras 3, used during QAT.

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

from .weights_inferable_quantizer import (
    METHODS,
    PARAMETERS,
    MyTrainingMethodWeightsInferableQuantizer,
    quantize,
)


@qi.register_quantizer
class MyTrainingMethodWeightsTrainingQuantizer(qi.BaseKerasTrainableQuantizer):
    """Quantizes weights while training: an STE quantizer until you change its math."""

    parameter_spec = PARAMETERS

    def __init__(self, quantization_config: qi.NodeWeightsQuantizationConfig) -> None:
        super().__init__(quantization_config, qi.QuantizationTarget.Weights, METHODS)

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
            self.channel_axis,
        )

    def convert2inferable(self) -> MyTrainingMethodWeightsInferableQuantizer:
        """The inferable quantizer with this quantizer's current parameter values."""
        return MyTrainingMethodWeightsInferableQuantizer(
            quantization_method=self.quantization_method.value,
            num_bits=self.num_bits,
            channel_axis=self.channel_axis,
            **self.parameter_values(),
        )
