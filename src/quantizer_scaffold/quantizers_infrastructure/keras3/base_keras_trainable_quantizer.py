"""``BaseKerasTrainableQuantizer`` for Keras 3: the trainable-quantizer contract in ``keras.ops``.

The contract itself (construction, declared parameters, ``initialize_quantization``,
``calibrate``, ``__call__(inputs, training)``, ``convert2inferable``, ``get_config``) is
framework-free and documented in ``common/base_trainable_quantizer.py``; it is the same as on
Keras 2. This class adds only the variables: each declared parameter becomes
``layer.add_weight(...)`` on the layer that owns the tensor (the ``KerasQuantizationWrapper``),
so it is saved with the model, trained when learned, and never autocast to a lower precision.
Write ``__call__`` with ``keras.ops`` only and the quantizer runs on every Keras 3 back end.

Example (runs as written, on TensorFlow and on JAX)::

    import keras
    import numpy as np
    from quantizer_scaffold.quantizers_infrastructure import keras3 as qi3
    from quantizer_scaffold.quantizers_infrastructure.keras3 import quantizer_utils

    @qi3.register_quantizer  # saved models refer to it by its module and name
    class LearnedThresholdWeights(qi3.BaseKerasTrainableQuantizer):
        \"\"\"Symmetric weights whose threshold, one per output channel, is learned.\"\"\"

        parameter_spec = qi3.ParameterSpec(
            # starts at the calibrated max |w| of each channel, then the optimizer moves it
            qi3.QuantizerParameter("threshold", qi3.ParameterKind.LEARNED, initial="threshold"),
        )

        def __init__(self, quantization_config):
            super().__init__(
                quantization_config,
                qi3.QuantizationTarget.Weights,
                [qi3.QuantizationMethod.SYMMETRIC],
            )

        def __call__(self, inputs, training):
            threshold = quantizer_utils.channel_broadcast(
                self.parameters["threshold"], len(inputs.shape), self.channel_axis
            )
            # straight-through to the inputs, the clipped values' gradient to the threshold
            return quantizer_utils.symmetric_quantize(inputs, threshold, self.num_bits)

        def calibrate(self, values):
            # once, after the float weights are in place: start at 90% of each channel's max
            return {"threshold": 0.9 * np.abs(values).max(axis=0)}

        def convert2inferable(self):
            return qi3.WeightsSymmetricInferableQuantizer(
                self.num_bits,
                self.parameter_values()["threshold"],
                per_channel=True,
                channel_axis=self.channel_axis,
            )

    config = qi3.NodeWeightsQuantizationConfig(
        qi3.QuantizationMethod.SYMMETRIC, 4, {"threshold": [1.0, 1.0, 1.0]},
        weights_channels_axis=-1,
    )
    wrapper = qi3.KerasQuantizationWrapper(
        keras.layers.Dense(3), weights_quantizers={"kernel": LearnedThresholdWeights(config)}
    )
    model = keras.Sequential([keras.Input((4,)), wrapper])  # build: the variables are created
    wrapper.calibrate()  # what qat_init does once the float weights are in place
    x = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    model.compile("adam", "mse")
    model.fit(x, np.zeros((8, 3)), verbose=0)  # the threshold trains with the kernel
    deployable = wrapper.convert_to_inferable_quantizers()
    np.testing.assert_allclose(deployable(x), model(x, training=False), atol=1e-6)
"""

from __future__ import annotations

import numpy as np

from ..common.base_trainable_quantizer import BaseTrainableQuantizer
from .compat import keras


class BaseKerasTrainableQuantizer(BaseTrainableQuantizer):
    """Base class of every Keras 3 trainable quantizer; not to be instantiated itself."""

    def _create_variable(
        self,
        layer: keras.layers.Layer,
        name: str,
        values: list[float],
        shape: tuple[int, ...],
        trainable: bool,
    ) -> keras.Variable:
        return layer.add_weight(
            name=name,
            shape=shape,
            dtype="float32",
            initializer=keras.initializers.Constant(
                np.reshape(np.asarray(values, dtype=np.float32), shape)
            ),
            trainable=trainable,
            autocast=False,
        )

    def _read_variable(self, variable: keras.Variable) -> list[float]:
        value = keras.ops.convert_to_numpy(variable.value)
        return np.asarray(value, dtype=np.float32).reshape(-1).tolist()

    def _assign_variable(self, variable: keras.Variable, values: list[float]) -> None:
        variable.assign(np.reshape(np.asarray(values, dtype=np.float32), variable.shape))
