"""LSQ: the trainable weights quantizer for Keras 3.

Learned Step Size Quantization (Esser et al., ICLR 2020) on the signed symmetric grid:
``q(w) = s * round(clip(w / s, -2^(b-1), 2^(b-1) - 1))`` with a trainable step size ``s`` per
output channel, its gradient scaled by ``1 / sqrt(N * Qp)``; as the Keras 2 LSQ does.

``s`` starts at the calibrated threshold of the config (``s = t / 2^(b-1)``, the post-training
grid); the QAT flow's calibration step then sets the paper's ``2 * mean(|w|) / sqrt(Qp)`` from
the float weights (``calibrate``), once, before training. A reloaded model keeps its learned
step sizes: calibration is not part of loading.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from quantizer_scaffold.qat.common.lsq import initial_step_size
from quantizer_scaffold.quantizers_infrastructure import keras3 as qi3

from .step_size import LSQQuantizer


@qi3.register_quantizer
class LSQWeightsTrainingQuantizer(LSQQuantizer):
    """Quantizes weights while training with a learned step size per channel (or per tensor)."""

    def __init__(self, quantization_config: qi3.NodeWeightsQuantizationConfig) -> None:
        super().__init__(quantization_config, qi3.QuantizationTarget.Weights, signed=True)

    def calibrate(self, values: np.ndarray) -> dict[str, Any]:
        """The paper's ``s = 2 * mean(|w|) / sqrt(Qp)`` from the float weights, per channel."""
        step = initial_step_size(values, self.qp, self.channel_axis)
        return {"step_size": np.maximum(step, self.min_step)}

    def values_per_step(self, x: Any) -> int:
        """``N``: the weights sharing one step size (a channel's, or the whole tensor)."""
        channels = 1 if self.channel_axis is None else x.shape[self.channel_axis]
        return int(np.prod(x.shape)) // channels

    def convert2inferable(self) -> qi3.BaseKerasInferableQuantizer:
        """The symmetric inferable quantizer with the learned threshold ``t = s * 2^(b-1)``."""
        return qi3.WeightsSymmetricInferableQuantizer(
            num_bits=self.num_bits,
            threshold=self.learned_thresholds(),
            per_channel=self.channel_axis is not None,
            channel_axis=self.channel_axis,
        )
