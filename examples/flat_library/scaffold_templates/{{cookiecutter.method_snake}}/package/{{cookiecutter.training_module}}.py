"""{{ cookiecutter.method }}: flatqat's trainable {{ cookiecutter.target }} quantizer."""

from {{ cookiecutter.runtime }} import quantizers_infrastructure as qi


class {{ cookiecutter.training_class }}(qi.BaseTrainableQuantizer):
    """Quantizes {{ cookiecutter.target }} while training; put your method's math in __call__."""

    target = qi.QuantizationTarget.{{ cookiecutter.qi_target }}

    def __call__(self, inputs):
        return self.grid(inputs)
