{% set c = cookiecutter %}
{% set contract = "WeightsQuantizerContract" if c.target == "weights" else "ActivationQuantizerContract" %}
{% set test_class = "Test" ~ c.method ~ c.target_word ~ "Quantizer" %}
{% macro from_import(module, names) %}
{% set line = "from " ~ module ~ " import " ~ names|join(", ") %}
{% if line|length <= c.line_length %}
{{ line }}
{% elif ("from " ~ module ~ " import (")|length <= c.line_length %}
from {{ module }} import (
{% for name in names %}
    {{ name }},
{% endfor %}
)
{% else %}
from {{ module }} import (  # noqa: E501
{% for name in names %}
    {{ name }},
{% endfor %}
)
{% endif %}
{% endmacro %}
{% set runtime_imports = [(c.runtime ~ ".testing.quantizer_contract_keras3", [contract, "registered_member"])] %}
{% set imports = [
    (c.training_method_module, ["TrainingMethod"]),
    (c.quantizers_module ~ "." ~ c.inferable_module, ["METHODS", c.inferable_class]),
    (c.quantizers_module ~ "." ~ c.training_module, [c.training_class]),
] %}
{% set own_registry = c.project_registry == "yes" %}
{% if own_registry %}
{% set runtime_imports = runtime_imports + [(c.runtime ~ ".qat", ["register_dispatcher"])] %}
{% set imports = imports + [(c.dispatcher_module.rpartition(".")[0], [c.dispatcher_module.rpartition(".")[2]])] %}
{% else %}
{% set imports = imports + runtime_imports %}
{% set runtime_imports = [] %}
{% endif %}
"""Tests of the {{ c.method }} {{ c.target }} quantizer pair (Keras 3), by scaffold-quantizer.

The base class runs the shared quantizer contract for every method in ``METHODS``:
registration, constructor validation, the declared ``PARAMETERS`` as variables and as the
inferable's arguments, shape and dtype, values on the inferable's ``grid()``, gradients to the
inputs and to learned parameters, trainable == inferable in inference, config round trips,
and a wrapped model whose layer and parameters train, then reload: on the Keras 3 back end of
this process (``KERAS_BACKEND``), then once more on JAX in a subprocess (skipped, with the
reason, where JAX is not installed). It checks properties, not the STE formula: keep it
passing when you replace the math (each failure names the hook to fix). Add tests of your
method's own math as ``test_*`` methods of the class below; override a contract hook (e.g.
``make_config``) only where your quantizer needs it.
"""

from __future__ import annotations

{% for module, names in runtime_imports|sort(attribute="0") %}
{{ from_import(module, names) -}}
{% endfor %}
{% if runtime_imports %}

{% endif %}
{% for module, names in imports|sort(attribute="0") %}
{{ from_import(module, names) -}}
{% endfor %}
{% if own_registry %}

# The runtime finds this project's dispatcher through the entry point in pyproject.toml once
# the project is installed; registering it here makes these tests pass before that too.
register_dispatcher({{ c.dispatcher_module.rpartition(".")[2] }}, backend="{{ c.backend }}")
{% endif %}


class {{ test_class }}({{ contract }}):
    """The {{ c.target }} quantizer contract for this pair; add your method's own tests here."""

    trainable = {{ c.training_class }}
    inferable = {{ c.inferable_class }}
    training_method = registered_member(TrainingMethod, "{{ c.method }}")
    methods = METHODS
