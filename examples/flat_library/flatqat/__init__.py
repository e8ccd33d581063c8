"""flatqat: a small QAT library with its own runtime (an example target of scaffold-quantizer)."""
