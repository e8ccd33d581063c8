"""Finding the dispatcher of a project's own TrainingMethod: registration, conflicts, errors."""

from __future__ import annotations

import enum
import sys
import types

import pytest

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.qat import QATConfig, TrainingMethod, register_dispatcher
from quantizer_scaffold.qat.common import dispatchers


class ProjectMethod(enum.Enum):
    Mine = 0


class Unregistered(enum.Enum):
    Other = 0


class MineWeights:
    """A stand-in quantizer class: the lookup only returns it."""


def _module(name: str, weights: dict, activations: dict) -> types.ModuleType:
    module = types.ModuleType(name)
    module.TrainingMethod = ProjectMethod
    module.METHOD2WEIGHTQUANTIZER = weights
    module.METHOD2ACTQUANTIZER = activations
    sys.modules[name] = module
    return module


@pytest.fixture
def project_dispatcher():
    module = _module(
        "fake_project_dispatcher",
        {ProjectMethod.Mine: {qi.QuantizationMethod.SYMMETRIC: MineWeights}},
        {},
    )
    yield module
    dispatchers._BY_ENUM.pop(("keras", ProjectMethod), None)
    sys.modules.pop(module.__name__, None)


def test_a_registered_project_enum_is_served_by_its_own_dispatcher(project_dispatcher) -> None:
    register_dispatcher(project_dispatcher)
    register_dispatcher("fake_project_dispatcher")  # again, by name: nothing changes
    found = dispatchers.get_trainable_quantizer_class(
        ProjectMethod.Mine, qi.QuantizationMethod.SYMMETRIC, qi.QuantizationTarget.Weights
    )
    assert found is MineWeights
    with pytest.raises(ValueError, match="no Activation quantizer is registered for training"):
        dispatchers.get_trainable_quantizer_class(
            ProjectMethod.Mine, "symmetric", qi.QuantizationTarget.Activation
        )
    builtin = dispatchers.dispatcher_for(TrainingMethod.STE)
    assert builtin.origin == "built-in" and builtin.enum is TrainingMethod


def test_a_second_dispatcher_for_one_enum_is_refused(project_dispatcher) -> None:
    register_dispatcher(project_dispatcher)
    other = _module("fake_other_dispatcher", {}, {})
    try:
        with pytest.raises(ValueError, match="already has a keras dispatcher"):
            register_dispatcher(other)
    finally:
        sys.modules.pop(other.__name__, None)


def test_an_unknown_enum_names_both_fixes() -> None:
    with pytest.raises(ValueError) as error:
        dispatchers.dispatcher_for(Unregistered.Other)
    message = str(error.value)
    assert "has no keras dispatcher" in message
    assert "quantizer_scaffold.dispatchers" in message and "register_dispatcher" in message


def test_qat_config_takes_any_training_method_and_refuses_the_rest() -> None:
    assert QATConfig(weight_training_method=ProjectMethod.Mine).weight_training_method is (
        ProjectMethod.Mine
    )
    with pytest.raises(ValueError, match="is a QuantizationMethod: pass the grid"):
        QATConfig(weight_training_method=qi.QuantizationMethod.SYMMETRIC)
    with pytest.raises(ValueError, match="your project's own TrainingMethod"):
        QATConfig(activation_training_method="STE")
