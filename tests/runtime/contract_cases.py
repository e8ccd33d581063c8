"""A correct quantizer pair and broken variants, run through the shared contract.

Not collected here (no ``test_`` prefix): ``test_quantizer_contract.py`` copies it into a
temporary folder as a test module and runs it in a pytest subprocess.
"""

from __future__ import annotations

from typing import Any

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.qat.common.qat_config import TrainingMethod
from quantizer_scaffold.quantizers_infrastructure.keras import quantizer_utils
from quantizer_scaffold.quantizers_infrastructure.keras.compat import tf
from quantizer_scaffold.testing.quantizer_contract import WeightsQuantizerContract

SYMMETRIC = [qi.QuantizationMethod.SYMMETRIC]
SPEC = qi.ParameterSpec(qi.QuantizerParameter("threshold", qi.ParameterKind.LEARNED))


def _quantize(inputs: Any, threshold: Any, num_bits: int, channel_axis: int | None) -> Any:
    inputs = tf.convert_to_tensor(inputs)
    threshold = tf.cast(threshold, inputs.dtype)
    if channel_axis is None:
        threshold = tf.reshape(threshold, [])
    else:
        threshold = quantizer_utils.channel_broadcast(threshold, inputs.shape.rank, channel_axis)
    return quantizer_utils.symmetric_quantize(inputs, threshold, num_bits)


@qi.register_quantizer
class Inferable(qi.BaseKerasInferableQuantizer):
    """Symmetric weights with a (learned, now fixed) threshold."""

    parameter_spec = SPEC

    def __init__(self, num_bits: int, channel_axis: int | None = None, **parameters: Any) -> None:
        self.num_bits = qi.common.validation.num_bits(num_bits, "Inferable: num_bits")
        self.channel_axis = channel_axis
        self.parameters = SPEC.check_values(parameters, "Inferable", channel_axis is not None)

    def __call__(self, inputs: Any) -> Any:
        return _quantize(inputs, self.parameters["threshold"], self.num_bits, self.channel_axis)

    def grid(self) -> qi.UniformGrid:
        return qi.UniformGrid.symmetric(
            self.parameters["threshold"], self.num_bits, True, self.channel_axis
        )

    def get_config(self) -> dict[str, Any]:
        return {
            "num_bits": self.num_bits,
            "channel_axis": self.channel_axis,
            "threshold": list(self.parameters["threshold"]),
        }


@qi.register_quantizer
class Correct(qi.BaseKerasTrainableQuantizer):
    """A learned threshold with the fused fake-quant op's gradients."""

    parameter_spec = SPEC

    def __init__(self, quantization_config: Any) -> None:
        super().__init__(quantization_config, qi.QuantizationTarget.Weights, SYMMETRIC)

    def __call__(self, inputs: Any, training: Any) -> Any:
        return _quantize(inputs, self.parameters["threshold"], self.num_bits, self.channel_axis)

    def convert2inferable(self) -> Inferable:
        return Inferable(self.num_bits, self.channel_axis, **self.parameter_values())


@qi.register_quantizer
class BlocksGradient(Correct):
    def __call__(self, inputs: Any, training: Any) -> Any:
        return tf.stop_gradient(super().__call__(inputs, training))


@qi.register_quantizer
class OffGrid(Correct):
    def __call__(self, inputs: Any, training: Any) -> Any:
        threshold = self.parameters["threshold"]
        return _quantize(inputs, threshold, self.num_bits + 2, self.channel_axis)


@qi.register_quantizer
class FrozenParameter(Correct):
    def __call__(self, inputs: Any, training: Any) -> Any:
        threshold = tf.stop_gradient(self.parameters["threshold"])
        return _quantize(inputs, threshold, self.num_bits, self.channel_axis)


@qi.register_quantizer
class EagerOnly(Correct):
    def __call__(self, inputs: Any, training: Any) -> Any:
        threshold = self.parameters["threshold"].numpy()  # fails inside tf.function
        return _quantize(inputs, threshold, self.num_bits, self.channel_axis)


def _own_grid(inputs: Any, threshold: Any, num_bits: int, channel_axis: int | None) -> Any:
    """The symmetric grid written by hand, dividing by the step: ``x / step``."""
    inputs = tf.convert_to_tensor(inputs)
    threshold = quantizer_utils.channel_broadcast(
        tf.cast(threshold, inputs.dtype), inputs.shape.rank, channel_axis
    )
    step = threshold / 2.0 ** (num_bits - 1)
    codes = tf.clip_by_value(quantizer_utils.round_half_up(inputs / step), -8.0, 7.0)
    return inputs + tf.stop_gradient(codes * step - inputs)


@qi.register_quantizer
class OwnGridInferable(Inferable):
    def __call__(self, inputs: Any) -> Any:
        return _own_grid(inputs, self.parameters["threshold"], self.num_bits, self.channel_axis)


@qi.register_quantizer
class DividesByItsParameter(Correct):
    def __call__(self, inputs: Any, training: Any) -> Any:
        return _own_grid(inputs, self.parameters["threshold"], self.num_bits, self.channel_axis)

    def convert2inferable(self) -> OwnGridInferable:
        return OwnGridInferable(self.num_bits, self.channel_axis, **self.parameter_values())


@qi.register_quantizer
class UndeclaredVariable(Correct):
    def initialize_quantization(self, tensor_shape: Any, name: str, layer: Any) -> Any:
        variables = super().initialize_quantization(tensor_shape, name, layer)
        variables["hidden"] = layer.add_weight(name=f"{name}_hidden", shape=(), trainable=False)
        return variables


@qi.register_quantizer
class LooseInferable(Inferable):
    def __init__(self, num_bits: int, channel_axis: int | None = None, **parameters: Any) -> None:
        parameters.pop("undeclared_parameter", None)
        super().__init__(num_bits, channel_axis, **parameters)


@qi.register_quantizer
class LooseTrainable(Correct):
    def convert2inferable(self) -> LooseInferable:
        return LooseInferable(self.num_bits, self.channel_axis, **self.parameter_values())


@qi.register_quantizer
class NoGridInferable(qi.BaseKerasInferableQuantizer):
    """Parameter-free: values on a fixed grid, without describing it."""

    def __init__(self, num_bits: int) -> None:
        self.num_bits = num_bits

    def __call__(self, inputs: Any) -> Any:
        return quantizer_utils.symmetric_quantize(inputs, 1.0, self.num_bits)

    def get_config(self) -> dict[str, Any]:
        return {"num_bits": self.num_bits}


@qi.register_quantizer
class NoGrid(qi.BaseKerasTrainableQuantizer):
    def __init__(self, quantization_config: Any) -> None:
        super().__init__(quantization_config, qi.QuantizationTarget.Weights, SYMMETRIC)

    def __call__(self, inputs: Any, training: Any) -> Any:
        return quantizer_utils.symmetric_quantize(inputs, 1.0, self.num_bits)

    def convert2inferable(self) -> NoGridInferable:
        return NoGridInferable(self.num_bits)


class _Pair(WeightsQuantizerContract):
    inferable = Inferable
    training_method = TrainingMethod.STE  # not registered: the dispatcher check is deselected
    methods = SYMMETRIC


class TestCorrect(_Pair):
    trainable = Correct


class TestBlocksGradient(_Pair):
    trainable = BlocksGradient


class TestOffGrid(_Pair):
    trainable = OffGrid


class TestFrozenParameter(_Pair):
    trainable = FrozenParameter


class TestEagerOnly(_Pair):
    trainable = EagerOnly


class TestDividesByItsParameter(_Pair):
    trainable = DividesByItsParameter
    inferable = OwnGridInferable


class TestUndeclaredVariable(_Pair):
    trainable = UndeclaredVariable


class TestLooseInferable(_Pair):
    trainable = LooseTrainable
    inferable = LooseInferable


class TestNoGrid(_Pair):
    trainable = NoGrid
    inferable = NoGridInferable
