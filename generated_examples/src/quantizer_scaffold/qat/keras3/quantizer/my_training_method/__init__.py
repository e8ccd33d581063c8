"""MyTrainingMethod: a training method scaffolded by scaffold-quantizer."""
