"""MyTrainingMethod: the inferable activation quantizer, deployed after training.

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
    signed: bool,
) -> tf.Tensor:
    """Quantize ``inputs`` on the grid of ``method``, with a straight-through gradient.

    Your training method's grid goes here: the trainable and the inferable quantizer both call
    this function, so they stay equal in inference. ``parameters`` holds one value
    for each name in ``PARAMETER_NAMES[method]``.
    """

    def along_channels(values: Any) -> tf.Tensor:
        return tf.reshape(tf.cast(values, inputs.dtype), [])

    threshold = along_channels(parameters["threshold"])
    return quantizer_utils.symmetric_quantize(inputs, threshold, num_bits, signed=signed)


@qi.register_quantizer
@qi.mark_quantizer(qi.QuantizationTarget.Activation, METHODS, identifier=IDENTIFIER)
class MyTrainingMethodActivationsInferableQuantizer(qi.BaseKerasInferableQuantizer):
    """Quantizes activation with the fixed parameters that its trainable quantizer learned."""

    def __init__(
        self,
        quantization_method: str,
        num_bits: int,
        threshold: list[float] | None = None,
        signed: bool = True,
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
        if any(len(values) != 1 for values in self.parameters.values()):
            raise ValueError(f"{owner}: activations take one value per parameter, got {given}")
        self.signed = validation.boolean(signed, f"{owner}: signed")

    def __call__(self, inputs: Any) -> tf.Tensor:
        inputs = tf.convert_to_tensor(inputs)
        return quantize(
            inputs,
            self.method,
            self.num_bits,
            self.parameters,
            self.signed,
        )

    def get_config(self) -> dict[str, Any]:
        return {
            "quantization_method": self.method.value,
            "num_bits": self.num_bits,
            **{name: list(values) for name, values in self.parameters.items()},
            "signed": self.signed,
        }
