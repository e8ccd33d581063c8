"""Quantization-aware training for Keras 3 models (any Keras 3 back end).

``quantizer_scaffold.qat.qat_init`` / ``qat_finalize`` hand a Keras 3 model to this back end
on their own; its modules import Keras 3.
"""
