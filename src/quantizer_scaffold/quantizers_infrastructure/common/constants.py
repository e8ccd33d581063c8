"""Enumerations shared by every framework: what is quantized and how."""

from __future__ import annotations

from enum import Enum


class QuantizationTarget(str, Enum):
    """The tensor a quantizer acts on. Values are persisted, so they never change."""

    Weights = "weights"
    Activation = "activation"


class QuantizationMethod(str, Enum):
    """The quantization grid. Values are persisted by name, so adding a member is safe."""

    POWER_OF_TWO = "power_of_two"
    SYMMETRIC = "symmetric"
    UNIFORM = "uniform"
