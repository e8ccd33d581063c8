"""LSQ: the trainable weights quantizer, used during QAT.

Learned Step Size Quantization (Esser et al., ICLR 2020) on the signed symmetric grid:
``q(w) = s * round(clip(w / s, -2^(b-1), 2^(b-1) - 1))`` with a trainable step size ``s`` per
output channel (the paper uses one per layer; one per channel follows each channel's range,
as the STE quantizers' thresholds do), its gradient scaled by ``1 / sqrt(N * Qp)``.

``s`` starts at the calibrated threshold of the config (``s = t / 2^(b-1)``, the
post-training grid) and is set to the paper's ``2 * mean(|w|) / sqrt(Qp)`` the first time the
quantizer runs in training, from the weights' values at that moment: ``qat_init`` copies the
float weights in only after the wrapper is built, so build time would see the random
initializer's kernel. The setting happens once, eagerly (also while a training step is being
traced), so no training step carries an initialisation op and tf.distribute replicas all get
the same value; a flag variable, saved with the model, keeps a reloaded model from resetting.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.quantizers_infrastructure.keras import quantizer_utils
from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras, tf
from quantizer_scaffold.quantizers_infrastructure.keras.quantizer_variables import (
    add_fixed_variable,
    as_list,
    channel_values,
)

from .step_size import (
    add_step_size,
    gradient_scale,
    initial_step_size,
    integer_bounds,
    lsq_quantize,
    run_by_training_flag,
    threshold_per_step,
)
from .weights_inferable_quantizer import (
    METHODS,
    LSQWeightsInferableQuantizer,
    quantize,
)


@qi.register_quantizer
class LSQWeightsTrainingQuantizer(qi.BaseKerasTrainableQuantizer):
    """Quantizes weights while training with a learned step size per channel (or per tensor)."""

    def __init__(self, quantization_config: qi.NodeWeightsQuantizationConfig) -> None:
        super().__init__(quantization_config, qi.QuantizationTarget.Weights, METHODS)
        self.method = quantization_config.weights_quantization_method
        self.num_bits = quantization_config.weights_n_bits
        self.qn, self.qp = integer_bounds(self.num_bits, signed=True)
        self.threshold_per_step = threshold_per_step(self.num_bits, signed=True)
        self.min_step = quantization_config.min_threshold / self.threshold_per_step
        params = quantization_config.weights_quantization_params
        per_channel = quantization_config.weights_per_channel_threshold
        self.channel_axis = quantization_config.weights_channels_axis if per_channel else None
        self.initial_threshold = params["threshold"]
        self.parameters: dict[str, tf.Variable] = {}

    def initialize_quantization(
        self, tensor_shape: Any, name: str, layer: keras.layers.Layer
    ) -> dict[str, tf.Variable]:
        """The trainable step size (one per channel) and its "set from the weights" flag."""
        if self.channel_axis is None:
            threshold = np.asarray(self.initial_threshold, dtype=np.float32).reshape([1])
        else:
            threshold = channel_values(
                self.initial_threshold, tensor_shape, self.channel_axis, "threshold"
            )
        self.parameters = {
            "step_size": add_step_size(
                layer, f"{name}_step_size", threshold / self.threshold_per_step
            ),
            "initialized": add_fixed_variable(layer, f"{name}_step_size_initialized", 0.0),
        }
        self.quantizer_parameters = dict(self.parameters)
        return self.quantizer_parameters

    def __call__(self, inputs: tf.Tensor, training: bool = True) -> tf.Tensor:
        """LSQ in training; in inference the shared symmetric grid with ``t = s * 2^(b-1)``."""
        if not self.parameters:
            raise RuntimeError(
                f"{type(self).__name__}: call initialize_quantization() (the wrapper's build) first"
            )
        return run_by_training_flag(
            training, lambda: self._learn(inputs), lambda: self._quantize(inputs)
        )

    def _learn(self, inputs: Any) -> tf.Tensor:
        self._initialize_step_size(inputs)
        x = tf.convert_to_tensor(inputs)
        channels = 1 if self.channel_axis is None else x.shape[self.channel_axis]
        scale = gradient_scale(x.shape.num_elements() // channels, self.qp)
        return lsq_quantize(x, self._step(x.shape.rank), self.num_bits, True, scale)

    def _quantize(self, inputs: Any) -> tf.Tensor:
        threshold = self._clamped_step() * self.threshold_per_step
        return quantize(
            inputs, self.method, self.num_bits, {"threshold": threshold}, self.channel_axis
        )

    def _clamped_step(self) -> tf.Tensor:
        return tf.maximum(self.parameters["step_size"], self.min_step)

    def _step(self, rank: int) -> tf.Tensor:
        step = self._clamped_step()
        if self.channel_axis is None:
            return tf.reshape(step, [])
        return quantizer_utils.channel_broadcast(step, rank, self.channel_axis)

    def _initialize_step_size(self, weights: Any) -> None:
        """Once: ``s = 2 * mean(|w|) / sqrt(Qp)`` from the current values of ``weights``."""
        readable = isinstance(weights, tf.Variable) or tf.executing_eagerly()
        with tf.init_scope():
            if not readable or bool(self.parameters["initialized"].numpy()):
                return
            values = tf.convert_to_tensor(weights).numpy()
            step = initial_step_size(values, self.qp, self.channel_axis)
            self.parameters["step_size"].assign(np.maximum(step, self.min_step))
            self.parameters["initialized"].assign(1.0)

    def convert2inferable(self) -> LSQWeightsInferableQuantizer:
        """The symmetric inferable quantizer with the learned threshold ``t = s * 2^(b-1)``."""
        threshold = self._clamped_step() * self.threshold_per_step
        return LSQWeightsInferableQuantizer(
            quantization_method=self.method.value,
            num_bits=self.num_bits,
            threshold=as_list(threshold.numpy()),
            channel_axis=self.channel_axis,
        )
