"""{{ cookiecutter.method }}: a flatqat training method."""
