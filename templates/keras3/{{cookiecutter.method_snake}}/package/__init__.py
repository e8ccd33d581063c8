"""{{ cookiecutter.method }}: a training method scaffolded by scaffold-quantizer."""
