"""Test helpers for quantizer authors: ``quantizer_contract`` holds the shared contract suite.

Import the submodule from your tests; it imports TensorFlow and pytest, so this package does
not import it for you.
"""
