"""quantizer-scaffold: write, register and run custom QAT quantizers for Keras.

Importing this package never imports TensorFlow; the Keras runtime loads on first use.
"""

__version__ = "0.1.0"
