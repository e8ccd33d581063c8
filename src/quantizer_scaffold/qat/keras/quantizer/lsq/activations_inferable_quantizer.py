"""LSQ: the inferable activation quantizer, deployed after training.

``PARAMETERS`` declares LSQ's one parameter, the learned step size ``s``; on the symmetric grid
it is the threshold ``t = s * 2^(b - signed)``, so ``quantize`` is the plain symmetric grid and
the trainable quantizer calls it in inference too.
"""

from __future__ import annotations

from typing import Any

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.quantizers_infrastructure.common import validation
from quantizer_scaffold.quantizers_infrastructure.keras import quantizer_utils
from quantizer_scaffold.quantizers_infrastructure.keras.compat import tf

from .step_size import threshold_per_step

IDENTIFIER = "LSQ"
METHODS = [
    qi.QuantizationMethod.SYMMETRIC,
]
PARAMETERS = qi.ParameterSpec(
    # learned: starts from the calibrated threshold, s = t / 2^(b - signed)
    qi.QuantizerParameter("step_size", qi.ParameterKind.LEARNED, initial="threshold"),
)


def quantize(
    inputs: tf.Tensor,
    method: qi.QuantizationMethod,
    num_bits: int,
    parameters: dict[str, Any],
    signed: bool,
) -> tf.Tensor:
    """Quantize ``inputs`` on the symmetric grid of ``t = s * 2^(b - signed)``, STE gradient.

    The trainable quantizer (in inference) and the inferable quantizer both call this function,
    so they are equal. ``parameters`` holds one value for each name in ``PARAMETERS``.
    """
    step = tf.reshape(tf.cast(parameters["step_size"], inputs.dtype), [])
    threshold = step * threshold_per_step(num_bits, signed)
    return quantizer_utils.symmetric_quantize(inputs, threshold, num_bits, signed=signed)


def grid(
    method: qi.QuantizationMethod, num_bits: int, parameters: dict[str, list[float]], signed: bool
) -> qi.UniformGrid:
    """The values ``quantize`` outputs with these parameter values: s * q, q in [-Qn, Qp]."""
    threshold = parameters["step_size"][0] * threshold_per_step(num_bits, signed)
    return qi.UniformGrid.symmetric(threshold, num_bits, signed)


@qi.register_quantizer
@qi.mark_quantizer(qi.QuantizationTarget.Activation, METHODS, identifier=IDENTIFIER)
class LSQActivationsInferableQuantizer(qi.BaseKerasInferableQuantizer):
    """Quantizes activation with the fixed parameters that its trainable quantizer learned."""

    parameter_spec = PARAMETERS

    def __init__(
        self,
        quantization_method: str,
        num_bits: int,
        signed: bool = True,
        **parameters: list[float],
    ) -> None:
        """``parameters``: each name of ``PARAMETERS`` with one value."""
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

    def __call__(self, inputs: Any) -> tf.Tensor:
        inputs = tf.convert_to_tensor(inputs)
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
