"""Registration of Keras 2 quantizer classes for saving and loading (``common/registration.py``).

Each class is registered as ``"<module>><ClassName>"``, so a user's ``MyQuantizer`` and a
built-in ``MyQuantizer`` cannot be confused when a model loads.
"""

from __future__ import annotations

from ..common.registration import QuantizerRegistry
from .compat import keras

_REGISTRY = QuantizerRegistry(keras, "@qi.register_quantizer")

# ``@register_quantizer`` (or ``@register_quantizer(package=..., name=...)``) makes a class
# loadable by ``load_quantized_model``
register_quantizer = _REGISTRY.register
registered_quantizer_classes = _REGISTRY.classes
is_registered = _REGISTRY.is_registered
serialize_quantizer = _REGISTRY.serialize
deserialize_quantizer = _REGISTRY.deserialize
