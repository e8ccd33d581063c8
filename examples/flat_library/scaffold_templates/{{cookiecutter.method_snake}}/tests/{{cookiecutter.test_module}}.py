{% set c = cookiecutter %}
{% set table = "METHOD2WEIGHTQUANTIZER" if c.target == "weights" else "METHOD2ACTQUANTIZER" %}
"""Tests of {{ c.method }} ({{ c.target }}), generated from flatqat's own templates."""

import numpy as np

from {{ c.runtime }} import quantizers_infrastructure as qi
from {{ c.training_method_module }} import TrainingMethod
from {{ c.dispatcher_module }} import {{ table }}
from {{ c.quantizers_module }}.{{ c.training_module }} import {{ c.training_class }}


def test_the_dispatcher_maps_the_method_to_the_class():
    for grid in "{{ c.quantization_methods }}".split(","):
        method = qi.QuantizationMethod(grid)
        assert {{ table }}[TrainingMethod.{{ c.method }}][method] is {{ c.training_class }}


def test_values_land_on_the_grid():
    quantizer = {{ c.training_class }}(num_bits=4, threshold=1.0)
    values = quantizer(np.linspace(-2, 2, 101))
    assert np.allclose(values * 8, np.round(values * 8)) and values.min() >= -1.0
