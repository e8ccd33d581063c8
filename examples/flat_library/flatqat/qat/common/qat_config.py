from enum import Enum


class TrainingMethod(Enum):
    STE = 0
