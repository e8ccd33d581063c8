{% set c = cookiecutter %}
{% set keras3 = c.backend == "keras3" %}
{# Keras 3 code is written with keras.ops (any back end); the names are otherwise the same #}
{% set ops = "ops" if keras3 else "tf" %}
{% set T = "Any" if keras3 else "tf.Tensor" %}
{% set methods = c.quantization_methods.split(",") %}
{% set weights = c.target == "weights" %}
{% set thresholds = "symmetric" in methods or "power_of_two" in methods %}
{% set ranges = "uniform" in methods %}
{% set declared = c.parameters.declared %}
{% set t = c.parameters.roles | rejectattr("method", "equalto", "uniform") | first %}
{% set u = c.parameters.roles | selectattr("method", "equalto", "uniform") | first %}
{% set bound = declared | length > 0 %}
{% set statistics = {"threshold": "max |x|", "range_min": "min x", "range_max": "max x"} %}
{% set constants = {"threshold": "1.0", "range_min": "-1.0", "range_max": "1.0"} %}
{% set extra = "channel_axis" if weights else ("signed" if thresholds else "") %}
{% macro tensor(role, name) %}{% if role[name] %}along_channels(parameters["{{ role[name] }}"]){% elif keras3 %}ops.convert_to_tensor({{ constants[name] }}, inputs.dtype){% else %}tf.constant({{ constants[name] }}, inputs.dtype){% endif %}{% endmacro %}
{% macro floats(role, name) %}{% if role[name] %}parameters["{{ role[name] }}"]{% else %}{{ constants[name] }}{% endif %}{% endmacro %}
{% macro comment(p) %}
{% set what = "learned (trained)" if p.kind == "learned" else "fixed (not trained)" %}
{% set layout = ", one per output channel" if weights and p.per_channel else "" %}
{% if p.initial in statistics %}
    # {{ what }}{{ layout }}, from the calibrated {{ p.initial }} ({{ statistics[p.initial] }})
{% else %}
    # {{ what }}{{ layout }}, starting at {{ p.initial }}
{% endif %}
{% endmacro %}
{% macro call(indent, head, args, tail="") %}
{# "<indent><head>(args)<tail>" on one line if it fits, else as ruff format splits it #}
{% set line = indent ~ head ~ "(" ~ args | join(", ") ~ ")" ~ tail %}
{% if line | length <= c.line_length %}
{{ line }}
{% elif (indent ~ "    " ~ args | join(", ")) | length <= c.line_length %}
{{ indent }}{{ head }}(
{{ indent }}    {{ args | join(", ") }}
{{ indent }}){{ tail }}
{% else %}
{{ indent }}{{ head }}(
{% for arg in args %}
{{ indent }}    {{ arg }},
{% endfor %}
{{ indent }}){{ tail }}
{% endif %}
{% endmacro %}
{% macro entry(p) %}
{% set args = ['"' ~ p.name ~ '"', "qi.ParameterKind." ~ p.kind.upper(), "initial=" ~ ('"' ~ p.initial ~ '"' if p.initial in statistics else p.initial)] %}
{% if not p.per_channel %}
{% set args = args + ["per_channel=False"] %}
{% endif %}
{% if p.methods %}
{% set args = args + ["methods=(" ~ (p.methods | map("upper") | map("replace", "", "qi.QuantizationMethod.", 1) | join(", ")) ~ ("," if p.methods | length == 1 else "") ~ ")"] %}
{% endif %}
{{ call("    ", "qi.QuantizerParameter", args, ",") -}}
{% endmacro %}
"""{{ c.method }}: the inferable {{ c.target }} quantizer{{ " for Keras 3" if keras3 }}, deployed after training.

``PARAMETERS`` declares the quantizer's parameters, the one place to add, remove or change
one: the trainable quantizer creates them as variables, this quantizer takes them as
arguments, and the contract tests check both. ``quantize`` is the math that training (in
inference mode) and deployment share; ``grid`` describes the values it outputs.
{% if keras3 %}
Written with ``keras.ops`` only, so it runs on every Keras 3 back end (TensorFlow, JAX).
{% endif %}
"""

from __future__ import annotations

from typing import Any

{% if keras3 %}
from {{ c.runtime }}.quantizers_infrastructure import keras3 as qi
from {{ c.runtime }}.quantizers_infrastructure.common import validation
from {{ c.runtime }}.quantizers_infrastructure.keras3 import quantizer_utils
from {{ c.runtime }}.quantizers_infrastructure.keras3.compat import ops
{% else %}
from {{ c.runtime }} import quantizers_infrastructure as qi
from {{ c.runtime }}.quantizers_infrastructure.common import validation
from {{ c.runtime }}.quantizers_infrastructure.keras import quantizer_utils
from {{ c.runtime }}.quantizers_infrastructure.keras.compat import tf
{% endif %}

IDENTIFIER = "{{ c.method }}"
METHODS = [
{% for method in methods %}
    qi.QuantizationMethod.{{ method.upper() }},
{% endfor %}
]
{% if declared %}
PARAMETERS = qi.ParameterSpec(
{% for p in declared %}
{{ comment(p) -}}
{{ entry(p) -}}
{% endfor %}
)
{% else %}
PARAMETERS = qi.ParameterSpec()  # parameter-free: the grid in quantize() is fixed
{% endif %}


def quantize(
    inputs: {{ T }},
    method: qi.QuantizationMethod,
    num_bits: int,
    parameters: dict[str, Any],
{% if weights %}
    channel_axis: int | None,
{% elif thresholds %}
    signed: bool,
{% endif %}
) -> {{ T }}:
    """Quantize ``inputs`` on the grid of ``method``, with a straight-through gradient.

    Your training method's grid goes here: the trainable quantizer (in inference) and the
    inferable quantizer both call this function, so they stay equal. ``parameters`` holds the
{% if weights %}
    value(s) of each name in ``PARAMETERS`` (one per channel when per channel): variables
    while training, lists of floats once deployed.
{% else %}
    value of each name in ``PARAMETERS``: variables while training, lists of floats once
    deployed.
{% endif %}
    """
{% if bound and weights %}
    rank = {{ "len(inputs.shape)" if keras3 else "inputs.shape.rank" }}

    def along_channels(values: Any) -> {{ T }}:
        values = {{ ops }}.cast(values, inputs.dtype)
        if channel_axis is None:
            return {{ ops }}.reshape(values, [])
        return quantizer_utils.channel_broadcast(values, rank, channel_axis)

{% elif bound %}

    def along_channels(values: Any) -> {{ T }}:
        return {{ ops }}.reshape({{ ops }}.cast(values, inputs.dtype), [])

{% endif %}
{% if ranges and thresholds %}
    if method is qi.QuantizationMethod.UNIFORM:
        return quantizer_utils.uniform_quantize(
            inputs,
            {{ tensor(u, "range_min") }},
            {{ tensor(u, "range_max") }},
            num_bits,
        )
{% elif ranges %}
    return quantizer_utils.uniform_quantize(
        inputs,
        {{ tensor(u, "range_min") }},
        {{ tensor(u, "range_max") }},
        num_bits,
    )
{% endif %}
{% if thresholds %}
    threshold = {{ tensor(t, "threshold") }}
{% if "power_of_two" in methods %}
    if method is qi.QuantizationMethod.POWER_OF_TWO:
        # rounded up to a power of two, straight-through: a learned threshold keeps its gradient
        rounded = quantizer_utils.power_of_two_threshold(threshold)
        threshold = quantizer_utils.straight_through(threshold, rounded)
{% endif %}
    return quantizer_utils.symmetric_quantize(inputs, threshold, num_bits, signed={{ "True" if weights else "signed" }})
{% endif %}


def grid(
    method: qi.QuantizationMethod,
    num_bits: int,
    parameters: dict[str, list[float]],
{% if weights %}
    channel_axis: int | None,
{% elif thresholds %}
    signed: bool,
{% endif %}
) -> qi.UniformGrid:
    """The values ``quantize`` outputs with these parameter values (lists of floats)."""
{% if ranges %}
{% set uniform_args = [floats(u, "range_min"), floats(u, "range_max"), "num_bits"] + (["channel_axis"] if weights else []) %}
{% if thresholds %}
    if method is qi.QuantizationMethod.UNIFORM:
{{ call("        ", "return qi.UniformGrid.uniform", uniform_args) -}}
{% else %}
{{ call("    ", "return qi.UniformGrid.uniform", uniform_args) -}}
{% endif %}
{% endif %}
{% if thresholds %}
    threshold = {{ floats(t, "threshold") }}
{% if "power_of_two" in methods %}
    if method is qi.QuantizationMethod.POWER_OF_TWO:
        threshold = qi.power_of_two_ceil(threshold)
{% endif %}
    return qi.UniformGrid.symmetric(threshold, num_bits, {{ "True, channel_axis" if weights else "signed" }})
{% endif %}


@qi.register_quantizer
@qi.mark_quantizer(qi.QuantizationTarget.{{ c.qi_target }}, METHODS, identifier=IDENTIFIER)
class {{ c.inferable_class }}(qi.BaseKerasInferableQuantizer):
    """Quantizes {{ c.target }} with the parameter values its trainable quantizer ended with."""

    parameter_spec = PARAMETERS

    def __init__(
        self,
        quantization_method: str,
        num_bits: int,
{% if weights %}
        channel_axis: int | None = None,
{% elif thresholds %}
        signed: bool = True,
{% endif %}
        **parameters: list[float],
    ) -> None:
        """``parameters``: each name of ``PARAMETERS``, {{ "one value per channel (or one)" if weights else "with one value" }}."""
        owner = type(self).__name__
        self.method = qi.QuantizationMethod(quantization_method)
        if self.method not in METHODS:
            supported = [m.value for m in METHODS]
            raise ValueError(f"{owner} implements {supported}, not {self.method.value}")
        self.num_bits = validation.num_bits(num_bits, f"{owner}: num_bits")
{% if weights %}
        self.channel_axis = validation.channel_axis(channel_axis, f"{owner}: channel_axis")
{% elif thresholds %}
        self.signed = validation.boolean(signed, f"{owner}: signed")
{% endif %}
        self.parameters = PARAMETERS.for_method(self.method).check_values(
            parameters, owner, per_channel={{ "self.channel_axis is not None" if weights else "False" }}
        )
        try:
            self.grid()
        except ValueError as error:
            raise ValueError(f"{owner}: these parameters give no grid: {error}") from None

    def __call__(self, inputs: Any) -> {{ T }}:
        inputs = {{ ops }}.convert_to_tensor(inputs)
{% if extra %}
        return quantize(inputs, self.method, self.num_bits, self.parameters, self.{{ extra }})
{% else %}
        return quantize(inputs, self.method, self.num_bits, self.parameters)
{% endif %}

    def grid(self) -> qi.UniformGrid:
{% if extra %}
        return grid(self.method, self.num_bits, self.parameters, self.{{ extra }})
{% else %}
        return grid(self.method, self.num_bits, self.parameters)
{% endif %}

    def get_config(self) -> dict[str, Any]:
        return {
            "quantization_method": self.method.value,
            "num_bits": self.num_bits,
{% if weights %}
            "channel_axis": self.channel_axis,
{% elif thresholds %}
            "signed": self.signed,
{% endif %}
            **{name: list(values) for name, values in self.parameters.items()},
        }
