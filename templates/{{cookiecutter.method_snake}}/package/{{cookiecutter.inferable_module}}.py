{% set c = cookiecutter %}
{% set methods = c.quantization_methods.split(",") %}
{% set weights = c.target == "weights" %}
{% set thresholds = "symmetric" in methods or "power_of_two" in methods %}
{% set ranges = "uniform" in methods %}
"""{{ c.method }}: the inferable {{ c.target }} quantizer, deployed after training.

``quantize`` is the math that training and inference share; edit it to change the grid.
"""

from __future__ import annotations

from typing import Any

from {{ c.runtime }} import quantizers_infrastructure as qi
from {{ c.runtime }}.quantizers_infrastructure.common import validation
from {{ c.runtime }}.quantizers_infrastructure.keras import quantizer_utils
from {{ c.runtime }}.quantizers_infrastructure.keras.compat import tf

IDENTIFIER = "{{ c.method }}"
METHODS = [
{% for method in methods %}
    qi.QuantizationMethod.{{ method.upper() }},
{% endfor %}
]
{% if thresholds and ranges %}
PARAMETER_NAMES = {
{% for method in methods %}
    qi.QuantizationMethod.{{ method.upper() }}: {{ '("range_min", "range_max")' if method == "uniform" else '("threshold",)' }},
{% endfor %}
}
{% elif ranges %}
PARAMETER_NAMES = {qi.QuantizationMethod.UNIFORM: ("range_min", "range_max")}
{% else %}
PARAMETER_NAMES = {method: ("threshold",) for method in METHODS}
{% endif %}


def quantize(
    inputs: tf.Tensor,
    method: qi.QuantizationMethod,
    num_bits: int,
    parameters: dict[str, Any],
{% if weights %}
    channel_axis: int | None,
{% elif thresholds %}
    signed: bool,
{% endif %}
) -> tf.Tensor:
    """Quantize ``inputs`` on the grid of ``method``, with a straight-through gradient.

    Your training method's grid goes here: the trainable and the inferable quantizer both call
    this function, so they stay equal in inference. ``parameters`` holds one value{{ " per channel" if weights else "" }}
    for each name in ``PARAMETER_NAMES[method]``.
    """
{% if weights %}
    rank = inputs.shape.rank

    def along_channels(values: Any) -> tf.Tensor:
        values = tf.cast(values, inputs.dtype)
        if channel_axis is None:
            return tf.reshape(values, [])
        return quantizer_utils.channel_broadcast(values, rank, channel_axis)

{% else %}

    def along_channels(values: Any) -> tf.Tensor:
        return tf.reshape(tf.cast(values, inputs.dtype), [])

{% endif %}
{% if ranges %}
    if method is qi.QuantizationMethod.UNIFORM:
        return quantizer_utils.uniform_quantize(
            inputs,
            along_channels(parameters["range_min"]),
            along_channels(parameters["range_max"]),
            num_bits,
        )
{% endif %}
{% if thresholds %}
    threshold = along_channels(parameters["threshold"])
{% if "power_of_two" in methods %}
    if method is qi.QuantizationMethod.POWER_OF_TWO:
        threshold = quantizer_utils.power_of_two_threshold(threshold)
{% endif %}
    return quantizer_utils.symmetric_quantize(inputs, threshold, num_bits, signed={{ "True" if weights else "signed" }})
{% endif %}


@qi.register_quantizer
@qi.mark_quantizer(qi.QuantizationTarget.{{ c.qi_target }}, METHODS, identifier=IDENTIFIER)
class {{ c.inferable_class }}(qi.BaseKerasInferableQuantizer):
    """Quantizes {{ c.target }} with the fixed parameters that its trainable quantizer learned."""

    def __init__(
        self,
        quantization_method: str,
        num_bits: int,
{% if thresholds %}
        threshold: list[float] | None = None,
{% endif %}
{% if ranges %}
        range_min: list[float] | None = None,
        range_max: list[float] | None = None,
{% endif %}
{% if weights %}
        channel_axis: int | None = None,
{% elif thresholds %}
        signed: bool = True,
{% endif %}
    ) -> None:
        owner = type(self).__name__
        self.method = qi.QuantizationMethod(quantization_method)
        if self.method not in METHODS:
            supported = [m.value for m in METHODS]
            raise ValueError(f"{owner} implements {supported}, not {self.method.value}")
        self.num_bits = validation.num_bits(num_bits, f"{owner}: num_bits")
        given = {
{% if thresholds %}
            "threshold": threshold,
{% endif %}
{% if ranges %}
            "range_min": range_min,
            "range_max": range_max,
{% endif %}
        }
        self.parameters = validation.grid_parameters(self.method, given, owner)
{% if weights %}
        self.channel_axis = validation.channel_axis(channel_axis, f"{owner}: channel_axis")
        count = len(next(iter(self.parameters.values())))
        if self.channel_axis is None and count != 1:
            raise ValueError(f"{owner}: {count} values need a channel_axis (one per channel)")
{% else %}
        if any(len(values) != 1 for values in self.parameters.values()):
            raise ValueError(f"{owner}: activations take one value per parameter, got {given}")
{% if thresholds %}
        self.signed = validation.boolean(signed, f"{owner}: signed")
{% endif %}
{% endif %}

    def __call__(self, inputs: Any) -> tf.Tensor:
        inputs = tf.convert_to_tensor(inputs)
        return quantize(
            inputs,
            self.method,
            self.num_bits,
            self.parameters,
{% if weights %}
            self.channel_axis,
{% elif thresholds %}
            self.signed,
{% endif %}
        )

    def get_config(self) -> dict[str, Any]:
        return {
            "quantization_method": self.method.value,
            "num_bits": self.num_bits,
            **{name: list(values) for name, values in self.parameters.items()},
{% if weights %}
            "channel_axis": self.channel_axis,
{% elif thresholds %}
            "signed": self.signed,
{% endif %}
        }
