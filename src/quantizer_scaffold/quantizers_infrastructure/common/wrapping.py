"""What a quantization wrapper of any back end decides about its quantizers, once.

A quantizer is trainable by its class (``BaseTrainableQuantizer``), never by its call
signature: a trainable one is called ``quantizer(tensor, training)``, an inferable one
``quantizer(tensor)``. A quantizer of the other Keras is refused with one clear error.
"""

from __future__ import annotations

from typing import Any

from .base_inferable_quantizer import BaseInferableQuantizer
from .base_trainable_quantizer import BaseTrainableQuantizer
from .frameworks import check_keras

Quantizer = BaseTrainableQuantizer | BaseInferableQuantizer


def check_quantizer(quantizer: Any, where: str, keras: str) -> Quantizer:
    """``quantizer`` if it is a trainable or inferable quantizer of the ``keras`` back end."""
    if not isinstance(quantizer, (BaseTrainableQuantizer, BaseInferableQuantizer)):
        raise TypeError(
            f"{where} must be a BaseKerasTrainableQuantizer or BaseKerasInferableQuantizer, "
            f"got {type(quantizer).__name__}"
        )
    check_keras(quantizer, keras, where)
    return quantizer


def is_trainable(quantizer: Quantizer) -> bool:
    """Whether the wrapper calls ``quantizer(tensor, training)`` (and gives it variables)."""
    return isinstance(quantizer, BaseTrainableQuantizer)


def to_inferable(quantizer: Quantizer) -> BaseInferableQuantizer:
    """``quantizer`` itself if inferable, else its ``convert2inferable()`` (checked)."""
    if isinstance(quantizer, BaseTrainableQuantizer):
        quantizer = quantizer.convert2inferable()
        if not isinstance(quantizer, BaseInferableQuantizer):
            raise TypeError(
                f"convert2inferable() must return a BaseKerasInferableQuantizer, "
                f"got {type(quantizer).__name__}"
            )
    return quantizer
