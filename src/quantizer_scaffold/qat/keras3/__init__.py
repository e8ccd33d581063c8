"""Quantization-aware training for Keras 3 models (any Keras 3 back end).

``quantizer_scaffold.qat.qat_init`` / ``qat_finalize`` route a Keras 3 model here on their
own; importing this package imports Keras 3.
"""
