"""MyTrainingMethod: the inferable weights quantizer, deployed after training.

``quantize`` is the math that training and inference share; edit it to change the grid.
"""

from __future__ import annotations

from typing import Any

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.quantizers_infrastructure.common import validation
from quantizer_scaffold.quantizers_infrastructure.keras import quantizer_utils
from quantizer_scaffold.quantizers_infrastructure.keras.compat import tf

IDENTIFIER = "MyTrainingMethod"
METHODS = [
    qi.QuantizationMethod.SYMMETRIC,
]
PARAMETER_NAMES = {method: ("threshold",) for method in METHODS}


def quantize(
    inputs: tf.Tensor,
    method: qi.QuantizationMethod,
    num_bits: int,
    parameters: dict[str, Any],
    channel_axis: int | None,
) -> tf.Tensor:
    """Quantize ``inputs`` on the grid of ``method``, with a straight-through gradient.

    Your training method's grid goes here: the trainable and the inferable quantizer both call
    this function, so they stay equal in inference. ``parameters`` holds one value per channel
    for each name in ``PARAMETER_NAMES[method]``.
    """
    rank = inputs.shape.rank

    def along_channels(values: Any) -> tf.Tensor:
        values = tf.cast(values, inputs.dtype)
        if channel_axis is None:
            return tf.reshape(values, [])
        return quantizer_utils.channel_broadcast(values, rank, channel_axis)

    threshold = along_channels(parameters["threshold"])
    return quantizer_utils.symmetric_quantize(inputs, threshold, num_bits, signed=True)


@qi.register_quantizer
@qi.mark_quantizer(qi.QuantizationTarget.Weights, METHODS, identifier=IDENTIFIER)
class MyTrainingMethodWeightsInferableQuantizer(qi.BaseKerasInferableQuantizer):
    """Quantizes weights with the fixed parameters that its trainable quantizer learned."""

    def __init__(
        self,
        quantization_method: str,
        num_bits: int,
        threshold: list[float] | None = None,
        channel_axis: int | None = None,
    ) -> None:
        owner = type(self).__name__
        self.method = qi.QuantizationMethod(quantization_method)
        if self.method not in METHODS:
            supported = [m.value for m in METHODS]
            raise ValueError(f"{owner} implements {supported}, not {self.method.value}")
        self.num_bits = validation.num_bits(num_bits, f"{owner}: num_bits")
        given = {
            "threshold": threshold,
        }
        self.parameters = validation.grid_parameters(self.method, given, owner)
        self.channel_axis = validation.channel_axis(channel_axis, f"{owner}: channel_axis")
        count = len(next(iter(self.parameters.values())))
        if self.channel_axis is None and count != 1:
            raise ValueError(f"{owner}: {count} values need a channel_axis (one per channel)")

    def __call__(self, inputs: Any) -> tf.Tensor:
        inputs = tf.convert_to_tensor(inputs)
        return quantize(
            inputs,
            self.method,
            self.num_bits,
            self.parameters,
            self.channel_axis,
        )

    def get_config(self) -> dict[str, Any]:
        return {
            "quantization_method": self.method.value,
            "num_bits": self.num_bits,
            **{name: list(values) for name, values in self.parameters.items()},
            "channel_axis": self.channel_axis,
        }
