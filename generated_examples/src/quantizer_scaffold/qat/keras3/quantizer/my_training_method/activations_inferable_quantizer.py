"""MyTrainingMethod: the inferable activation quantizer for Keras 3, deployed after training.

``PARAMETERS`` declares the quantizer's parameters, the one place to add, remove or change
one: the trainable quantizer creates them as variables, this quantizer takes them as
arguments, and the contract tests check both. ``quantize`` is the math that training (in
inference mode) and deployment share; ``grid`` describes the values it outputs.
Written with ``keras.ops`` only, so it runs on every Keras 3 back end (TensorFlow, JAX).
"""

from __future__ import annotations

from typing import Any

from quantizer_scaffold.quantizers_infrastructure import keras3 as qi
from quantizer_scaffold.quantizers_infrastructure.common import validation
from quantizer_scaffold.quantizers_infrastructure.keras3 import quantizer_utils
from quantizer_scaffold.quantizers_infrastructure.keras3.compat import ops

IDENTIFIER = "MyTrainingMethod"
METHODS = [
    qi.QuantizationMethod.SYMMETRIC,
]
PARAMETERS = qi.ParameterSpec(
    # fixed (not trained), from the calibrated threshold (max |x|)
    qi.QuantizerParameter("threshold", qi.ParameterKind.FIXED, initial="threshold"),
)


def quantize(
    inputs: Any,
    method: qi.QuantizationMethod,
    num_bits: int,
    parameters: dict[str, Any],
    signed: bool,
) -> Any:
    """Quantize ``inputs`` on the grid of ``method``, with a straight-through gradient.

    Your training method's grid goes here: the trainable quantizer (in inference) and the
    inferable quantizer both call this function, so they stay equal. ``parameters`` holds the
    value of each name in ``PARAMETERS``: variables while training, lists of floats once
    deployed.
    """

    def along_channels(values: Any) -> Any:
        return ops.reshape(ops.cast(values, inputs.dtype), [])

    threshold = along_channels(parameters["threshold"])
    return quantizer_utils.symmetric_quantize(inputs, threshold, num_bits, signed=signed)


def grid(
    method: qi.QuantizationMethod,
    num_bits: int,
    parameters: dict[str, list[float]],
    signed: bool,
) -> qi.UniformGrid:
    """The values ``quantize`` outputs with these parameter values (lists of floats)."""
    threshold = parameters["threshold"]
    return qi.UniformGrid.symmetric(threshold, num_bits, signed)


@qi.register_quantizer
@qi.mark_quantizer(qi.QuantizationTarget.Activation, METHODS, identifier=IDENTIFIER)
class MyTrainingMethodActivationsInferableQuantizer(qi.BaseKerasInferableQuantizer):
    """Quantizes activation with the parameter values its trainable quantizer ended with."""

    parameter_spec = PARAMETERS

    def __init__(
        self,
        quantization_method: str,
        num_bits: int,
        signed: bool = True,
        **parameters: list[float],
    ) -> None:
        """``parameters``: each name of ``PARAMETERS``, with one value."""
        owner = type(self).__name__
        self.method = qi.QuantizationMethod(quantization_method)
        if self.method not in METHODS:
            supported = [m.value for m in METHODS]
            raise ValueError(f"{owner} implements {supported}, not {self.method.value}")
        self.num_bits = validation.num_bits(num_bits, f"{owner}: num_bits")
        self.signed = validation.boolean(signed, f"{owner}: signed")
        self.parameters = PARAMETERS.for_method(self.method).check_values(
            parameters, owner, per_channel=False
        )
        try:
            self.grid()
        except ValueError as error:
            raise ValueError(f"{owner}: these parameters give no grid: {error}") from None

    def __call__(self, inputs: Any) -> Any:
        inputs = ops.convert_to_tensor(inputs)
        return quantize(inputs, self.method, self.num_bits, self.parameters, self.signed)

    def grid(self) -> qi.UniformGrid:
        return grid(self.method, self.num_bits, self.parameters, self.signed)

    def get_config(self) -> dict[str, Any]:
        return {
            "quantization_method": self.method.value,
            "num_bits": self.num_bits,
            "signed": self.signed,
            **{name: list(values) for name, values in self.parameters.items()},
        }
