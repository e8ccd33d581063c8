"""LSQ: the inferable weights quantizer, deployed after training.

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
    channel_axis: int | None,
) -> tf.Tensor:
    """Quantize ``inputs`` on the symmetric grid of ``threshold``, with a straight-through gradient.

    The trainable quantizer (in inference) and the inferable quantizer both call this function,
    so they are equal. ``parameters`` holds one value per channel for each name in
    ``PARAMETER_NAMES[method]``.
    """
    rank = inputs.shape.rank

    def along_channels(values: Any) -> tf.Tensor:
        values = tf.cast(values, inputs.dtype)
        if channel_axis is None:
            return tf.reshape(values, [])
        return quantizer_utils.channel_broadcast(values, rank, channel_axis)

    threshold = along_channels(parameters["threshold"])
    return quantizer_utils.symmetric_quantize(inputs, threshold, num_bits, signed=True)


def _values(owner: str, name: str, values: Any) -> list[float]:
    """``values`` as a non-empty list of finite floats (positive for a threshold)."""
    items = np.asarray(values, dtype=np.float64).reshape(-1).tolist()
    if not items or not all(np.isfinite(items)):
        raise ValueError(f"{owner}: {name} must be finite numbers, got {values!r}")
    if name == "threshold" and min(items) <= 0:
        raise ValueError(f"{owner}: threshold must be positive, got {values!r}")
    return items


@qi.register_quantizer
@qi.mark_quantizer(qi.QuantizationTarget.Weights, METHODS, identifier=IDENTIFIER)
class LSQWeightsInferableQuantizer(qi.BaseKerasInferableQuantizer):
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
        if isinstance(num_bits, bool) or not isinstance(num_bits, int) or not 1 <= num_bits <= 16:
            raise ValueError(f"{owner}: num_bits must be an int in 1..16, got {num_bits!r}")
        self.num_bits = num_bits
        given = {
            "threshold": threshold,
        }
        self.parameters = {
            name: _values(owner, name, given[name]) for name in PARAMETER_NAMES[self.method]
        }
        count = len(next(iter(self.parameters.values())))
        if channel_axis is None and count != 1:
            raise ValueError(f"{owner}: {count} values need a channel_axis (one per channel)")
        if channel_axis is not None and (
            isinstance(channel_axis, bool) or not isinstance(channel_axis, int)
        ):
            raise ValueError(f"{owner}: channel_axis must be an int or None, got {channel_axis!r}")
        self.channel_axis = channel_axis

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
