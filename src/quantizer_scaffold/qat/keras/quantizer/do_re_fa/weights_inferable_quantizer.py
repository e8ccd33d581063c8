"""DoReFa: the inferable weights quantizer, deployed after training.

DoReFa-Net's k-bit weights (Zhou et al., "DoReFa-Net", 2016, eq. 9), parameter-free::

    w_q = 2 * q_k(tanh(w) / (2 * max|tanh(w)|) + 1/2) - 1
    q_k(v) = round((2^k - 1) * v) / (2^k - 1)

with the max over the whole tensor (as in the paper; the config's channel layout does not
change it). The outputs are the 2^k levels ``2 i / (2^k - 1) - 1``, i = 0 .. 2^k - 1: a uniform
grid on [-1, 1] whose zero point ``(2^k - 1) / 2`` is not an integer, so 0 is not a level and
no int8 tensor with a zero point holds the grid (``grid().fits_integers(8)`` is False).

``quantize`` is the math that training (in inference mode) and deployment share; ``grid``
describes the values it outputs.
"""

from __future__ import annotations

from typing import Any

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.quantizers_infrastructure.common import validation
from quantizer_scaffold.quantizers_infrastructure.keras import quantizer_utils
from quantizer_scaffold.quantizers_infrastructure.keras.compat import tf

IDENTIFIER = "DoReFa"
METHODS = [
    qi.QuantizationMethod.SYMMETRIC,
]
PARAMETERS = qi.ParameterSpec()  # parameter-free: the grid in quantize() is fixed
TINY = 1e-12


def dorefa(w: tf.Tensor, num_bits: int) -> tf.Tensor:
    """DoReFa's weights: tanh, normalised to [0, 1] by the tensor's max, k-bit, back to [-1, 1].

    The rounding has a straight-through gradient; tanh and the normalisation by
    ``max|tanh(w)|`` are differentiated as they are (the paper's ``dr_o / dr_i``).
    """
    levels = float(2**num_bits - 1)
    squashed = tf.tanh(w)
    largest = tf.maximum(tf.reduce_max(tf.abs(squashed)), TINY)  # all-zero weights stay finite
    normalised = squashed / (2.0 * largest) + 0.5
    return 2.0 * quantizer_utils.ste_round(normalised * levels) / levels - 1.0


def quantize(
    inputs: tf.Tensor,
    method: qi.QuantizationMethod,
    num_bits: int,
    parameters: dict[str, Any],
    channel_axis: int | None,
) -> tf.Tensor:
    """DoReFa's k-bit weights; the same in training and inference.

    The trainable quantizer and the inferable quantizer both call this function, so they stay
    equal. DoReFa declares no parameters and normalises by the whole tensor: ``parameters``
    is empty and ``channel_axis`` only tells how the weights are laid out.
    """
    return dorefa(inputs, num_bits)


def grid(
    method: qi.QuantizationMethod,
    num_bits: int,
    parameters: dict[str, list[float]],
    channel_axis: int | None,
) -> qi.UniformGrid:
    """The 2^k levels ``2 i / (2^k - 1) - 1``: scale 2 / (2^k - 1), zero point (2^k - 1) / 2."""
    levels = 2**num_bits - 1
    return qi.UniformGrid((2.0 / levels,), (levels / 2.0,), 0, levels)


@qi.register_quantizer
@qi.mark_quantizer(qi.QuantizationTarget.Weights, METHODS, identifier=IDENTIFIER)
class DoReFaWeightsInferableQuantizer(qi.BaseKerasInferableQuantizer):
    """Quantizes weights with the parameter values its trainable quantizer ended with."""

    parameter_spec = PARAMETERS

    def __init__(
        self,
        quantization_method: str,
        num_bits: int,
        channel_axis: int | None = None,
        **parameters: list[float],
    ) -> None:
        """``parameters``: each name of ``PARAMETERS``, one value per channel (or one)."""
        owner = type(self).__name__
        self.method = qi.QuantizationMethod(quantization_method)
        if self.method not in METHODS:
            supported = [m.value for m in METHODS]
            raise ValueError(f"{owner} implements {supported}, not {self.method.value}")
        self.num_bits = validation.num_bits(num_bits, f"{owner}: num_bits")
        self.channel_axis = validation.channel_axis(channel_axis, f"{owner}: channel_axis")
        self.parameters = PARAMETERS.for_method(self.method).check_values(
            parameters, owner, per_channel=self.channel_axis is not None
        )
        try:
            self.grid()
        except ValueError as error:
            raise ValueError(f"{owner}: these parameters give no grid: {error}") from None

    def __call__(self, inputs: Any) -> tf.Tensor:
        inputs = tf.convert_to_tensor(inputs)
        return quantize(inputs, self.method, self.num_bits, self.parameters, self.channel_axis)

    def grid(self) -> qi.UniformGrid:
        return grid(self.method, self.num_bits, self.parameters, self.channel_axis)

    def get_config(self) -> dict[str, Any]:
        return {
            "quantization_method": self.method.value,
            "num_bits": self.num_bits,
            "channel_axis": self.channel_axis,
            **{name: list(values) for name, values in self.parameters.items()},
        }
