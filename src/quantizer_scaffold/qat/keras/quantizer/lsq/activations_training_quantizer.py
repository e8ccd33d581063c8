"""LSQ: the trainable activation quantizer, used during QAT.

Learned Step Size Quantization (Esser et al., ICLR 2020) on the symmetric grid:
``q(x) = s * round(clip(x / s, -Qn, Qp))`` with one trainable step size ``s``; signed
``(Qn, Qp) = (2^(b-1), 2^(b-1) - 1)``, unsigned ``(0, 2^b - 1)``; the gradient reaching ``s`` is
scaled by ``1 / sqrt(N * Qp)``, ``N`` the number of features of one sample (the paper's N_F).

``s`` starts from the calibration the config carries: ``s = t / 2^(b - signed)``, the grid that
covers every output ``qat_init`` saw on the representative data (the paper's
``2 * mean(|x|) / sqrt(Qp)`` needs a batch's values, which a traced training step does not
have); from there LSQ learns it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras, tf
from quantizer_scaffold.quantizers_infrastructure.keras.quantizer_variables import as_list

from .activations_inferable_quantizer import (
    METHODS,
    LSQActivationsInferableQuantizer,
    quantize,
)
from .step_size import (
    add_step_size,
    gradient_scale,
    integer_bounds,
    lsq_quantize,
    run_by_training_flag,
    threshold_per_step,
)


@qi.register_quantizer
class LSQActivationsTrainingQuantizer(qi.BaseKerasTrainableQuantizer):
    """Quantizes activations while training with one learned step size."""

    def __init__(self, quantization_config: qi.NodeActivationQuantizationConfig) -> None:
        super().__init__(quantization_config, qi.QuantizationTarget.Activation, METHODS)
        self.method = quantization_config.activation_quantization_method
        self.num_bits = quantization_config.activation_n_bits
        params = quantization_config.activation_quantization_params
        self.signed = bool(params.get("is_signed", True))
        self.qn, self.qp = integer_bounds(self.num_bits, self.signed)
        self.threshold_per_step = threshold_per_step(self.num_bits, self.signed)
        self.min_step = quantization_config.min_threshold / self.threshold_per_step
        self.initial_threshold = params["threshold"]
        self.parameters: dict[str, tf.Variable] = {}

    def initialize_quantization(
        self, tensor_shape: Any, name: str, layer: keras.layers.Layer
    ) -> dict[str, tf.Variable]:
        """The trainable step size, from the calibrated threshold: ``s = t / 2^(b - signed)``."""
        threshold = np.asarray(self.initial_threshold, dtype=np.float32).reshape([1])
        self.parameters = {
            "step_size": add_step_size(
                layer, f"{name}_step_size", threshold / self.threshold_per_step
            )
        }
        self.quantizer_parameters = dict(self.parameters)
        return self.quantizer_parameters

    def __call__(self, inputs: tf.Tensor, training: bool = True) -> tf.Tensor:
        """LSQ in training; in inference the shared symmetric grid with ``t = s * 2^(b-signed)``."""
        if not self.parameters:
            raise RuntimeError(
                f"{type(self).__name__}: call initialize_quantization() (the wrapper's build) first"
            )
        return run_by_training_flag(
            training, lambda: self._learn(inputs), lambda: self._quantize(inputs)
        )

    def _learn(self, inputs: Any) -> tf.Tensor:
        x = tf.convert_to_tensor(inputs)
        step = tf.reshape(self._clamped_step(), [])
        scale = gradient_scale(_features_per_sample(x), self.qp)
        return lsq_quantize(x, step, self.num_bits, self.signed, scale)

    def _quantize(self, inputs: Any) -> tf.Tensor:
        threshold = self._clamped_step() * self.threshold_per_step
        return quantize(inputs, self.method, self.num_bits, {"threshold": threshold}, self.signed)

    def _clamped_step(self) -> tf.Tensor:
        return tf.maximum(self.parameters["step_size"], self.min_step)

    def convert2inferable(self) -> LSQActivationsInferableQuantizer:
        """The symmetric inferable quantizer with the learned threshold ``t = s * 2^(b-signed)``."""
        threshold = self._clamped_step() * self.threshold_per_step
        return LSQActivationsInferableQuantizer(
            quantization_method=self.method.value,
            num_bits=self.num_bits,
            threshold=as_list(threshold.numpy()),
            signed=self.signed,
        )


def _features_per_sample(x: tf.Tensor) -> Any:
    """``N``: values per sample (all but the batch axis); a tensor if known only at run time."""
    if x.shape.rank == 0:
        return 1
    if x.shape.rank is not None and x.shape[1:].num_elements() is not None:
        return x.shape[1:].num_elements()
    return tf.size(x) // tf.maximum(tf.shape(x)[0], 1)
