"""LSQ: the trainable weights quantizer, used during QAT.

Learned Step Size Quantization (Esser et al., ICLR 2020) on the signed symmetric grid:
``q(w) = s * round(clip(w / s, -2^(b-1), 2^(b-1) - 1))`` with a trainable step size ``s`` per
output channel (the paper uses one per layer; one per channel follows each channel's range,
as the STE quantizers' thresholds do), its gradient scaled by ``1 / sqrt(N * Qp)``.

``s`` starts at the calibrated threshold of the config (``s = t / 2^(b-1)``, the post-training
grid); the QAT flow's calibration step then sets the paper's ``2 * mean(|w|) / sqrt(Qp)`` from
the float weights (``calibrate``), once, before training. A reloaded model keeps its learned
step sizes: calibration is not part of loading.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.quantizers_infrastructure.keras import quantizer_utils
from quantizer_scaffold.quantizers_infrastructure.keras.compat import tf

from .step_size import (
    gradient_scale,
    initial_step_size,
    integer_bounds,
    lsq_quantize,
    threshold_per_step,
)
from .weights_inferable_quantizer import (
    METHODS,
    PARAMETERS,
    LSQWeightsInferableQuantizer,
    quantize,
)


@qi.register_quantizer
class LSQWeightsTrainingQuantizer(qi.BaseKerasTrainableQuantizer):
    """Quantizes weights while training with a learned step size per channel (or per tensor)."""

    parameter_spec = PARAMETERS

    def __init__(self, quantization_config: qi.NodeWeightsQuantizationConfig) -> None:
        super().__init__(quantization_config, qi.QuantizationTarget.Weights, METHODS)
        self.qn, self.qp = integer_bounds(self.num_bits, signed=True)
        per_step = threshold_per_step(self.num_bits, signed=True)
        self.min_step = quantization_config.min_threshold / per_step
        self.initial_values["step_size"] = [
            max(t / per_step, self.min_step) for t in self.initial_values["step_size"]
        ]

    def calibrate(self, values: np.ndarray) -> dict[str, Any]:
        """The paper's ``s = 2 * mean(|w|) / sqrt(Qp)`` from the float weights, per channel."""
        step = initial_step_size(values, self.qp, self.channel_axis)
        return {"step_size": np.maximum(step, self.min_step)}

    def __call__(self, inputs: tf.Tensor, training: bool) -> tf.Tensor:
        """LSQ in training; in inference the shared symmetric grid with ``t = s * 2^(b-1)``."""
        return quantizer_utils.by_training(
            training, lambda: self._learn(inputs), lambda: self._quantize(inputs)
        )

    def _learn(self, inputs: Any) -> tf.Tensor:
        x = tf.convert_to_tensor(inputs)
        channels = 1 if self.channel_axis is None else x.shape[self.channel_axis]
        scale = gradient_scale(x.shape.num_elements() // channels, self.qp)
        return lsq_quantize(x, self._step(x.shape.rank), self.num_bits, True, scale)

    def _quantize(self, inputs: Any) -> tf.Tensor:
        return quantize(
            inputs,
            self.quantization_method,
            self.num_bits,
            {"step_size": self._clamped_step()},
            self.channel_axis,
        )

    def _clamped_step(self) -> tf.Tensor:
        return tf.maximum(self.parameters["step_size"], self.min_step)

    def _step(self, rank: int) -> tf.Tensor:
        step = self._clamped_step()
        if self.channel_axis is None:
            return tf.reshape(step, [])
        return quantizer_utils.channel_broadcast(step, rank, self.channel_axis)

    def convert2inferable(self) -> LSQWeightsInferableQuantizer:
        """The inferable quantizer with the learned step sizes (clamped as in training)."""
        step_size = [max(s, self.min_step) for s in self.parameter_values()["step_size"]]
        return LSQWeightsInferableQuantizer(
            quantization_method=self.quantization_method.value,
            num_bits=self.num_bits,
            channel_axis=self.channel_axis,
            step_size=step_size,
        )
