"""LSQ: the inferable activation quantizer, deployed after training.

LSQ's learned step size ``s`` is a threshold ``t = s * 2^(b - signed)`` on the symmetric grid,
so ``quantize`` is the plain symmetric grid; the trainable quantizer calls it in inference too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.quantizers_infrastructure.keras import quantizer_utils
from quantizer_scaffold.quantizers_infrastructure.keras.compat import tf

IDENTIFIER = "LSQ"
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
    """Quantize ``inputs`` on the symmetric grid of ``threshold``, with a straight-through gradient.

    The trainable quantizer (in inference) and the inferable quantizer both call this function,
    so they are equal. ``parameters`` holds one value for each name in
    ``PARAMETER_NAMES[method]``.
    """

    def along_channels(values: Any) -> tf.Tensor:
        return tf.reshape(tf.cast(values, inputs.dtype), [])

    threshold = along_channels(parameters["threshold"])
    return quantizer_utils.symmetric_quantize(inputs, threshold, num_bits, signed=signed)


def _values(owner: str, name: str, values: Any) -> list[float]:
    """``values`` as a non-empty list of finite floats (positive for a threshold)."""
    items = np.asarray(values, dtype=np.float64).reshape(-1).tolist()
    if not items or not all(np.isfinite(items)):
        raise ValueError(f"{owner}: {name} must be finite numbers, got {values!r}")
    if name == "threshold" and min(items) <= 0:
        raise ValueError(f"{owner}: threshold must be positive, got {values!r}")
    return items


@qi.register_quantizer
@qi.mark_quantizer(qi.QuantizationTarget.Activation, METHODS, identifier=IDENTIFIER)
class LSQActivationsInferableQuantizer(qi.BaseKerasInferableQuantizer):
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
        if isinstance(num_bits, bool) or not isinstance(num_bits, int) or not 1 <= num_bits <= 16:
            raise ValueError(f"{owner}: num_bits must be an int in 1..16, got {num_bits!r}")
        self.num_bits = num_bits
        given = {
            "threshold": threshold,
        }
        self.parameters = {
            name: _values(owner, name, given[name]) for name in PARAMETER_NAMES[self.method]
        }
        if any(len(values) != 1 for values in self.parameters.values()):
            raise ValueError(f"{owner}: activations take one value per parameter, got {given}")
        if not isinstance(signed, bool):
            raise ValueError(f"{owner}: signed must be True or False, got {signed!r}")
        self.signed = signed

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
