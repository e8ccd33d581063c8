"""``BaseKerasTrainableQuantizer``: the trainable-quantizer contract on Keras 2 (tf_keras).

The contract itself (construction, declared parameters, ``initialize_quantization``,
``calibrate``, ``__call__(inputs, training)``, ``convert2inferable``, ``get_config``) is
framework-free and documented in ``common/base_trainable_quantizer.py``. This class adds only
the variables: each declared parameter becomes ``layer.add_weight(...)`` on the layer that owns
the tensor (the ``KerasQuantizationWrapper``), so it is saved with the model and mirrored by
``tf.distribute``. Learned parameters are trainable variables; fixed ones are non-trainable,
written only by calibration, and keep the first replica's value when written in a replica.

Example (runs as written)::

    import numpy as np
    from quantizer_scaffold import quantizers_infrastructure as qi
    from quantizer_scaffold.quantizers_infrastructure.keras import quantizer_utils
    from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras, tf

    @qi.register_quantizer  # saved models refer to it by its module and name
    class LearnedThresholdWeights(qi.BaseKerasTrainableQuantizer):
        \"\"\"Symmetric weights whose threshold, one per output channel, is learned.\"\"\"

        parameter_spec = qi.ParameterSpec(
            # starts at the calibrated max |w| of each channel, then the optimizer moves it
            qi.QuantizerParameter("threshold", qi.ParameterKind.LEARNED, initial="threshold"),
        )

        def __init__(self, quantization_config):
            super().__init__(
                quantization_config,
                qi.QuantizationTarget.Weights,
                [qi.QuantizationMethod.SYMMETRIC],
            )

        def __call__(self, inputs, training):
            threshold = quantizer_utils.channel_broadcast(
                self.parameters["threshold"], inputs.shape.rank, self.channel_axis
            )
            # the fused fake-quant op: STE to the inputs, clipped values' gradient to the range
            return quantizer_utils.symmetric_quantize(inputs, threshold, self.num_bits)

        def calibrate(self, values):
            # once, after the float weights are in place: start at 90% of each channel's max
            return {"threshold": 0.9 * np.abs(values).max(axis=0)}

        def convert2inferable(self):
            return qi.WeightsSymmetricInferableQuantizer(
                self.num_bits,
                self.parameter_values()["threshold"],
                per_channel=True,
                channel_axis=self.channel_axis,
            )

    config = qi.NodeWeightsQuantizationConfig(
        qi.QuantizationMethod.SYMMETRIC, 4, {"threshold": [1.0, 1.0, 1.0]},
        weights_channels_axis=-1,
    )
    wrapper = qi.KerasQuantizationWrapper(
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

from typing import Any

import numpy as np

from ..common.base_trainable_quantizer import BaseTrainableQuantizer
from .compat import keras, tf


class BaseKerasTrainableQuantizer(BaseTrainableQuantizer):
    """Base class of every Keras trainable quantizer; not to be instantiated itself."""

    def _create_variable(
        self,
        layer: keras.layers.Layer,
        name: str,
        values: list[float],
        shape: tuple[int, ...],
        trainable: bool,
    ) -> tf.Variable:
        initial = np.reshape(np.asarray(values, dtype=np.float32), shape)
        placement: dict[str, Any] = {}
        if not trainable:
            # written by calibration, never per step: mirrored, and a write from a replica
            # context keeps the first replica's value so replicas cannot drift apart
            placement = {
                "synchronization": tf.VariableSynchronization.ON_WRITE,
                "aggregation": tf.VariableAggregation.ONLY_FIRST_REPLICA,
            }
        return layer.add_weight(
            name=name,
            shape=shape,
            dtype=tf.float32,
            initializer=keras.initializers.Constant(initial),
            trainable=trainable,
            **placement,
        )

    def _read_variable(self, variable: tf.Variable) -> list[float]:
        value = keras.backend.get_value(variable)
        return np.asarray(value, dtype=np.float32).reshape(-1).tolist()

    def _assign_variable(self, variable: tf.Variable, values: list[float]) -> None:
        variable.assign(np.reshape(np.asarray(values, dtype=np.float32), variable.shape))
