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

from quantizer_scaffold.quantizers_infrastructure import keras3 as qi3
from quantizer_scaffold.quantizers_infrastructure.keras3.compat import ops

from .step_size import LSQQuantizer


@qi3.register_quantizer
class LSQActivationsTrainingQuantizer(LSQQuantizer):
    """Quantizes activations while training with one learned step size."""

    def __init__(self, quantization_config: qi3.NodeActivationQuantizationConfig) -> None:
        signed = bool(quantization_config.activation_quantization_params.get("is_signed", True))
        super().__init__(quantization_config, qi3.QuantizationTarget.Activation, signed)

    def values_per_step(self, x: Any) -> Any:
        """``N``: values per sample (all but the batch axis); a tensor if known only at run time."""
        if len(x.shape) == 0:
            return 1
        if all(d is not None for d in x.shape[1:]):
            return int(np.prod(x.shape[1:]))
        return ops.size(x) // ops.maximum(ops.shape(x)[0], 1)

    def convert2inferable(self) -> qi3.BaseKerasInferableQuantizer:
        """The symmetric inferable quantizer with the learned threshold ``t = s * 2^(b-signed)``."""
        return qi3.ActivationSymmetricInferableQuantizer(
            num_bits=self.num_bits, threshold=self.learned_thresholds(), signed=self.signed
        )
