"""LSQ: the inferable weights quantizer, deployed after training.

``PARAMETERS`` declares LSQ's one parameter, the learned step size ``s``; on the symmetric grid
it is the threshold ``t = s * 2^(b - 1)``, so ``quantize`` is the plain symmetric grid and the
trainable quantizer calls it in inference too.
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
    # learned, one per output channel: starts from the calibrated threshold (s = t / 2^(b-1)),
    # set to the paper's 2 * mean|w| / sqrt(Qp) by calibrate() once the weights are in place
    qi.QuantizerParameter("step_size", qi.ParameterKind.LEARNED, initial="threshold"),
)


def quantize(
    inputs: tf.Tensor,
    method: qi.QuantizationMethod,
    num_bits: int,
    parameters: dict[str, Any],
    channel_axis: int | None,
) -> tf.Tensor:
    """Quantize ``inputs`` on the symmetric grid of ``t = s * 2^(b-1)``, straight-through gradient.

    The trainable quantizer (in inference) and the inferable quantizer both call this function,
    so they are equal. ``parameters`` holds one value per channel for each name in
    ``PARAMETERS``.
    """
    rank = inputs.shape.rank

    def along_channels(values: Any) -> tf.Tensor:
        values = tf.cast(values, inputs.dtype)
        if channel_axis is None:
            return tf.reshape(values, [])
        return quantizer_utils.channel_broadcast(values, rank, channel_axis)

    threshold = along_channels(parameters["step_size"]) * threshold_per_step(num_bits, True)
    return quantizer_utils.symmetric_quantize(inputs, threshold, num_bits, signed=True)


def grid(
    method: qi.QuantizationMethod,
    num_bits: int,
    parameters: dict[str, list[float]],
    channel_axis: int | None,
) -> qi.UniformGrid:
    """The values ``quantize`` outputs with these parameter values: s * q, q in [-Qn, Qp]."""
    thresholds = [s * threshold_per_step(num_bits, True) for s in parameters["step_size"]]
    return qi.UniformGrid.symmetric(thresholds, num_bits, True, channel_axis)


@qi.register_quantizer
@qi.mark_quantizer(qi.QuantizationTarget.Weights, METHODS, identifier=IDENTIFIER)
class LSQWeightsInferableQuantizer(qi.BaseKerasInferableQuantizer):
    """Quantizes weights with the fixed parameters that its trainable quantizer learned."""

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
