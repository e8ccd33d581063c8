"""PACT: the inferable activation quantizer, deployed after training.

PACT (Choi et al., "PACT: Parameterized Clipping Activation for Quantized Neural Networks",
2018) clips activations at a learned ``alpha`` and quantizes ``[0, alpha]`` uniformly:
``y = clip(x, 0, alpha)``, ``y_q = round(y / s) * s`` with ``s = alpha / (2^b - 1)``. For signed
activations (a layer without ReLU, e.g. logits) it clips to ``[-alpha, alpha]`` on the
narrow symmetric grid ``s = alpha / (2^(b-1) - 1)``, levels ``-(2^(b-1) - 1) .. 2^(b-1) - 1``.
Either way 0 and ``alpha`` are on the grid, whose zero point is 0 (an int8 tensor holds it).

``PARAMETERS`` declares ``alpha``; ``quantize`` is the math that training (in inference
mode) and deployment share; ``grid`` describes the values it outputs.
"""

from __future__ import annotations

from typing import Any

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.quantizers_infrastructure.common import validation
from quantizer_scaffold.quantizers_infrastructure.keras import quantizer_utils
from quantizer_scaffold.quantizers_infrastructure.keras.compat import tf

IDENTIFIER = "PACT"
METHODS = [
    qi.QuantizationMethod.SYMMETRIC,
]
PARAMETERS = qi.ParameterSpec(
    # learned (trained), from the calibrated threshold (max |x|)
    qi.QuantizerParameter("alpha", qi.ParameterKind.LEARNED, initial="threshold"),
)


def integer_bounds(num_bits: int, signed: bool) -> tuple[int, int]:
    """``(qmin, qmax)``: ``(0, 2^b - 1)`` unsigned, ``(-(2^(b-1) - 1), 2^(b-1) - 1)`` signed."""
    if not signed:
        return 0, 2**num_bits - 1
    if num_bits < 2:
        raise ValueError(
            "signed PACT needs at least 2 bits (1 bit leaves only 0 on [-alpha, alpha]): "
            "use num_bits >= 2, or an unsigned config (is_signed=False)"
        )
    return -(2 ** (num_bits - 1) - 1), 2 ** (num_bits - 1) - 1


def pact(x: tf.Tensor, alpha: tf.Tensor, num_bits: int, signed: bool) -> tf.Tensor:
    """``round(clip(x, qmin * s, alpha) / s) * s`` with ``s = alpha / qmax``; PACT's gradients.

    The paper's gradients, with the straight-through estimator for the rounding:
    ``dy_q/dx = 1`` on ``[qmin * s, alpha)`` and 0 elsewhere; ``dy_q/dalpha = 1`` where
    ``x >= alpha``, ``-1`` where ``x <= -alpha`` (signed only), 0 in between.
    """
    qmin, qmax = integer_bounds(num_bits, signed)

    @tf.custom_gradient
    def clip_and_quantize(x: tf.Tensor, alpha: tf.Tensor) -> Any:
        # divide: alpha is a variable while training and a constant once deployed
        step = quantizer_utils.divide(alpha, float(qmax))
        low = -alpha if signed else tf.zeros_like(alpha)
        clipped = tf.minimum(tf.maximum(x, low), alpha)
        quantized = quantizer_utils.round_half_up(quantizer_utils.divide(clipped, step)) * step

        def gradient(upstream: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            above = x >= alpha
            below = x <= low if signed else tf.zeros_like(above)
            inside = tf.logical_and(x >= low, tf.logical_not(above))
            to_alpha = tf.reduce_sum(tf.where(above, upstream, 0.0)) - tf.reduce_sum(
                tf.where(below, upstream, 0.0)
            )
            return tf.where(inside, upstream, 0.0), tf.reshape(to_alpha, tf.shape(alpha))

        return quantized, gradient

    return clip_and_quantize(x, alpha)


def quantize(
    inputs: tf.Tensor,
    method: qi.QuantizationMethod,
    num_bits: int,
    parameters: dict[str, Any],
    signed: bool,
) -> tf.Tensor:
    """PACT on ``[0, alpha]`` (``[-alpha, alpha]`` if signed); the same in training and inference.

    The trainable quantizer and the inferable quantizer both call this function, so they stay
    equal. ``parameters`` holds ``alpha``: a variable while training, a list of floats once
    deployed.
    """
    alpha = tf.reshape(tf.cast(parameters["alpha"], inputs.dtype), [])
    return pact(inputs, alpha, num_bits, signed)


def grid(
    method: qi.QuantizationMethod,
    num_bits: int,
    parameters: dict[str, list[float]],
    signed: bool,
) -> qi.UniformGrid:
    """``s * q`` for integer ``q`` in ``[qmin, qmax]``, ``s = alpha / qmax``: zero point 0."""
    qmin, qmax = integer_bounds(num_bits, signed)
    (alpha,) = parameters["alpha"]
    return qi.UniformGrid((alpha / qmax,), (0.0,), qmin, qmax)


@qi.register_quantizer
@qi.mark_quantizer(qi.QuantizationTarget.Activation, METHODS, identifier=IDENTIFIER)
class PACTActivationsInferableQuantizer(qi.BaseKerasInferableQuantizer):
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
