"""DoReFa: the trainable weights quantizer, used during QAT.

DoReFa-Net's k-bit weights, ``w_q = 2 * q_k(tanh(w) / (2 * max|tanh(w)|) + 1/2) - 1``
(``dorefa`` in the inferable module): parameter-free, the same computation in training and
inference, a straight-through estimator for the rounding only.
"""

from __future__ import annotations

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.quantizers_infrastructure.keras.compat import tf

from .weights_inferable_quantizer import (
    METHODS,
    PARAMETERS,
    DoReFaWeightsInferableQuantizer,
    quantize,
)


@qi.register_quantizer
class DoReFaWeightsTrainingQuantizer(qi.BaseKerasTrainableQuantizer):
    """Quantizes weights while training: an STE quantizer until you change its math."""

    parameter_spec = PARAMETERS

    def __init__(self, quantization_config: qi.NodeWeightsQuantizationConfig) -> None:
        super().__init__(quantization_config, qi.QuantizationTarget.Weights, METHODS)

    def __call__(self, inputs: tf.Tensor, training: bool) -> tf.Tensor:
        """DoReFa's weights; the same computation in training and inference."""
        return quantize(
            inputs,
            self.quantization_method,
            self.num_bits,
            self.parameters,
            self.channel_axis,
        )

    def convert2inferable(self) -> DoReFaWeightsInferableQuantizer:
        """The inferable quantizer with this quantizer's current parameter values."""
        return DoReFaWeightsInferableQuantizer(
            quantization_method=self.quantization_method.value,
            num_bits=self.num_bits,
            channel_axis=self.channel_axis,
            **self.parameter_values(),
        )
