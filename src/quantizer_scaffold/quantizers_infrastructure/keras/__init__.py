"""Keras implementations of the quantizers infrastructure (imports TensorFlow)."""
