"""flatqat's own runtime: the grids, the targets and the base class of trainable quantizers."""

from __future__ import annotations

from enum import Enum

import numpy as np


class QuantizationMethod(Enum):
    SYMMETRIC = "symmetric"
    POWER_OF_TWO = "power_of_two"
    UNIFORM = "uniform"


class QuantizationTarget(Enum):
    Weights = "weights"
    Activation = "activation"


class BaseTrainableQuantizer:
    """A quantizer on a symmetric grid of ``num_bits`` over [-threshold, threshold)."""

    target: QuantizationTarget

    def __init__(self, num_bits: int = 8, threshold: float = 1.0) -> None:
        self.num_bits = num_bits
        self.threshold = threshold

    def grid(self, inputs: np.ndarray) -> np.ndarray:
        step = self.threshold / 2 ** (self.num_bits - 1)
        levels = np.clip(np.floor(inputs / step + 0.5), -(2 ** (self.num_bits - 1)),
                         2 ** (self.num_bits - 1) - 1)  # fmt: skip
        return levels * step

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        raise NotImplementedError
