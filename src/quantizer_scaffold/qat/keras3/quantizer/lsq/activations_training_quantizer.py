"""LSQ: the trainable activation quantizer for Keras 3.

Learned Step Size Quantization (Esser et al., ICLR 2020) on the symmetric grid:
``q(x) = s * round(clip(x / s, -Qn, Qp))`` with one trainable step size ``s``; signed
``(Qn, Qp) = (2^(b-1), 2^(b-1) - 1)``, unsigned ``(0, 2^b - 1)``; the gradient reaching ``s`` is
scaled by ``1 / sqrt(N * Qp)``, ``N`` the number of features of one sample (the paper's N_F).
``s`` starts from the calibrated threshold of the config, ``s = t / 2^(b - signed)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from quantizer_scaffold.qat.common.lsq import integer_bounds, threshold_per_step
from quantizer_scaffold.quantizers_infrastructure import keras3 as qi3
from quantizer_scaffold.quantizers_infrastructure.keras3 import quantizer_utils
from quantizer_scaffold.quantizers_infrastructure.keras3.compat import keras, ops
from quantizer_scaffold.quantizers_infrastructure.keras3.quantizer_variables import (
    add_variable,
    as_list,
)

from .step_size import gradient_scale, lsq_quantize

METHODS = [qi3.QuantizationMethod.SYMMETRIC]


@qi3.register_quantizer
class LSQActivationsTrainingQuantizer(qi3.BaseKerasTrainableQuantizer):
    """Quantizes activations while training with one learned step size."""

    def __init__(self, quantization_config: qi3.NodeActivationQuantizationConfig) -> None:
        super().__init__(quantization_config, qi3.QuantizationTarget.Activation, METHODS)
        self.num_bits = quantization_config.activation_n_bits
        params = quantization_config.activation_quantization_params
        self.signed = bool(params.get("is_signed", True))
        self.qn, self.qp = integer_bounds(self.num_bits, self.signed)
        self.threshold_per_step = threshold_per_step(self.num_bits, self.signed)
        self.min_step = quantization_config.min_threshold / self.threshold_per_step
        self.initial_threshold = params["threshold"]
        self.parameters: dict[str, Any] = {}

    def initialize_quantization(
        self, tensor_shape: Any, name: str, layer: keras.layers.Layer
    ) -> dict[str, Any]:
        """The trainable step size, from the calibrated threshold: ``s = t / 2^(b - signed)``."""
        step = np.asarray(self.initial_threshold, np.float32).reshape([]) / self.threshold_per_step
        self.parameters = {
            "step_size": add_variable(layer, f"{name}_step_size", step, trainable=True)
        }
        self.quantizer_parameters = dict(self.parameters)
        return self.quantizer_parameters

    def __call__(self, inputs: Any, training: bool = True) -> Any:
        """LSQ in training; in inference the symmetric grid with ``t = s * 2^(b - signed)``."""
        if not self.parameters:
            raise RuntimeError(
                f"{type(self).__name__}: call initialize_quantization() (the wrapper's build) first"
            )
        x = quantizer_utils.as_tensor(inputs)
        step = self._step()
        if not training:
            return quantizer_utils.symmetric_quantize(
                x, step * self.threshold_per_step, self.num_bits, self.signed
            )
        scale = gradient_scale(_features_per_sample(x), self.qp)
        return lsq_quantize(x, step, self.num_bits, self.signed, scale)

    def _step(self) -> Any:
        return ops.maximum(quantizer_utils.as_tensor(self.parameters["step_size"]), self.min_step)

    def convert2inferable(self) -> qi3.BaseKerasInferableQuantizer:
        """The symmetric inferable quantizer with the learned threshold ``t = s * 2^(b-signed)``."""
        return qi3.ActivationSymmetricInferableQuantizer(
            num_bits=self.num_bits,
            threshold=as_list(self._step() * self.threshold_per_step),
            signed=self.signed,
        )


def _features_per_sample(x: Any) -> Any:
    """``N``: values per sample (all but the batch axis); a tensor if known only at run time."""
    if len(x.shape) == 0:
        return 1
    if all(d is not None for d in x.shape[1:]):
        return int(np.prod(x.shape[1:]))
    return ops.size(x) // ops.maximum(ops.shape(x)[0], 1)
