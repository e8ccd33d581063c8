"""PACT: the trainable activation quantizer, used during QAT.

PACT clips each activation at a learned ``alpha`` and quantizes ``[0, alpha]`` (or
``[-alpha, alpha]`` for signed outputs) uniformly, with the paper's gradient for ``alpha``: the
upstream gradient of the values clipped at ``alpha`` (see ``pact`` in the inferable module).
``alpha`` starts at the calibrated threshold, the largest output ``qat_init`` saw on the
representative data, so an untrained model clips nothing; training then moves it. As in the
paper, ``alpha`` is L2-regularized (``alpha_l2 * alpha^2`` joins the model's losses; without
it nothing would pull ``alpha`` below the largest activation, whose clipping gradient only
pushes it up); ``alpha_l2`` defaults to 2e-4 and 0 turns it off. ``alpha`` is kept at least
the config's ``min_threshold`` (a non-positive ``alpha`` has no grid).
"""

from __future__ import annotations

from typing import Any

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras, tf

from .activations_inferable_quantizer import (
    METHODS,
    PARAMETERS,
    PACTActivationsInferableQuantizer,
    integer_bounds,
    quantize,
)


@qi.register_quantizer
class PACTActivationsTrainingQuantizer(qi.BaseKerasTrainableQuantizer):
    """Quantizes activations while training with PACT: clipped at a learned ``alpha``."""

    parameter_spec = PARAMETERS

    def __init__(
        self, quantization_config: qi.NodeActivationQuantizationConfig, alpha_l2: float = 2e-4
    ) -> None:
        super().__init__(quantization_config, qi.QuantizationTarget.Activation, METHODS)
        params = quantization_config.activation_quantization_params
        self.signed = bool(params.get("is_signed", True))
        integer_bounds(self.num_bits, self.signed)  # signed PACT needs 2 bits: refuse it now
        self.min_alpha = quantization_config.min_threshold
        self.alpha_l2 = float(alpha_l2)
        if not self.alpha_l2 >= 0.0:
            raise ValueError(f"alpha_l2 must be a number >= 0, got {alpha_l2!r}")

    def initialize_quantization(
        self, tensor_shape: Any, name: str, layer: keras.layers.Layer
    ) -> dict[str, tf.Variable]:
        """The declared ``alpha``, and its L2 penalty as a loss of ``layer``."""
        variables = super().initialize_quantization(tensor_shape, name, layer)
        if self.alpha_l2:
            alpha = variables["alpha"]
            layer.add_loss(lambda: self.alpha_l2 * tf.reduce_sum(tf.square(alpha)))
        return variables

    def __call__(self, inputs: tf.Tensor, training: bool) -> tf.Tensor:
        """PACT; the same computation in training and inference."""
        alpha = tf.maximum(self.parameters["alpha"], self.min_alpha)
        return quantize(
            inputs, self.quantization_method, self.num_bits, {"alpha": alpha}, self.signed
        )

    def convert2inferable(self) -> PACTActivationsInferableQuantizer:
        """The inferable quantizer with the learned ``alpha`` (kept positive as in training)."""
        alpha = [max(value, self.min_alpha) for value in self.parameter_values()["alpha"]]
        return PACTActivationsInferableQuantizer(
            quantization_method=self.quantization_method.value,
            num_bits=self.num_bits,
            signed=self.signed,
            alpha=alpha,
        )

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha_l2": self.alpha_l2}
