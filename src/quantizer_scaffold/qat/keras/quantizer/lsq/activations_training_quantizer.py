"""LSQ: the trainable activation quantizer, used during QAT.

Learned Step Size Quantization (Esser et al., ICLR 2020) on the symmetric grid:
``q(x) = s * round(clip(x / s, -Qn, Qp))`` with one trainable step size ``s``; signed
``(Qn, Qp) = (2^(b-1), 2^(b-1) - 1)``, unsigned ``(0, 2^b - 1)``; the gradient reaching ``s`` is
scaled by ``1 / sqrt(N * Qp)``, ``N`` the number of features of one sample (the paper's N_F).

``s`` starts from the calibration the config carries: ``s = t / 2^(b - signed)``, the grid that
covers every output ``qat_init`` saw on the representative data; from there LSQ learns it.
"""

from __future__ import annotations

from typing import Any

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.quantizers_infrastructure.keras import quantizer_utils
from quantizer_scaffold.quantizers_infrastructure.keras.compat import tf

from .activations_inferable_quantizer import (
    METHODS,
    PARAMETERS,
    LSQActivationsInferableQuantizer,
    quantize,
)
from .step_size import gradient_scale, integer_bounds, lsq_quantize, threshold_per_step


@qi.register_quantizer
class LSQActivationsTrainingQuantizer(qi.BaseKerasTrainableQuantizer):
    """Quantizes activations while training with one learned step size."""

    parameter_spec = PARAMETERS

    def __init__(self, quantization_config: qi.NodeActivationQuantizationConfig) -> None:
        super().__init__(quantization_config, qi.QuantizationTarget.Activation, METHODS)
        params = quantization_config.activation_quantization_params
        self.signed = bool(params.get("is_signed", True))
        self.qn, self.qp = integer_bounds(self.num_bits, self.signed)
        per_step = threshold_per_step(self.num_bits, self.signed)
        self.min_step = quantization_config.min_threshold / per_step
        self.initial_values["step_size"] = [
            max(t / per_step, self.min_step) for t in self.initial_values["step_size"]
        ]

    def __call__(self, inputs: tf.Tensor, training: bool) -> tf.Tensor:
        """LSQ in training; in inference the shared symmetric grid with ``t = s * 2^(b-signed)``."""
        return quantizer_utils.by_training(
            training, lambda: self._learn(inputs), lambda: self._quantize(inputs)
        )

    def _learn(self, inputs: Any) -> tf.Tensor:
        x = tf.convert_to_tensor(inputs)
        step = tf.reshape(self._clamped_step(), [])
        scale = gradient_scale(_features_per_sample(x), self.qp)
        return lsq_quantize(x, step, self.num_bits, self.signed, scale)

    def _quantize(self, inputs: Any) -> tf.Tensor:
        return quantize(
            inputs,
            self.quantization_method,
            self.num_bits,
            {"step_size": self._clamped_step()},
            self.signed,
        )

    def _clamped_step(self) -> tf.Tensor:
        return tf.maximum(self.parameters["step_size"], self.min_step)

    def convert2inferable(self) -> LSQActivationsInferableQuantizer:
        """The inferable quantizer with the learned step size (clamped as in training)."""
        step_size = [max(s, self.min_step) for s in self.parameter_values()["step_size"]]
        return LSQActivationsInferableQuantizer(
            quantization_method=self.quantization_method.value,
            num_bits=self.num_bits,
            signed=self.signed,
            step_size=step_size,
        )


def _features_per_sample(x: tf.Tensor) -> Any:
    """``N``: values per sample (all but the batch axis); a tensor if known only at run time."""
    if x.shape.rank == 0:
        return 1
    if x.shape.rank is not None and x.shape[1:].num_elements() is not None:
        return x.shape[1:].num_elements()
    return tf.size(x) // tf.maximum(tf.shape(x)[0], 1)
