"""Model in, model out, for Keras 2 (tf_keras): ``qat_init`` wraps a float model for QAT,
``qat_finalize`` exports it.

The flow itself (what is wrapped, with which quantizer and which initial parameters, the
report) is ``qat/common/flow.py``, shared with Keras 3; this module is its Keras 2 back end:
the layer classes it quantizes, cloning, and reading the layer graph of a tf_keras model.
``qat_finalize`` replaces every trainable quantizer with its ``convert2inferable()``; the
result predicts exactly what the QAT model predicts in inference mode and reloads with
``load_quantized_model``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.qat.common import flow
from quantizer_scaffold.qat.common.flow import LayerCopier, QATReport, RepresentativeDataset
from quantizer_scaffold.qat.common.qat_config import QATConfig
from quantizer_scaffold.qat.keras.quantizer.quantization_dispatcher_builder import (
    get_trainable_quantizer_class,
)
from quantizer_scaffold.quantizers_infrastructure.common.frameworks import KERAS2, check_keras
from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras, tf

__all__ = ["QATReport", "qat_finalize", "qat_init"]

# layer class -> {weight attribute: its output-channel axis}; matched by exact class, so a
# user's subclass (which may change what the weight means) is reported, not guessed at.
QUANTIZED_WEIGHTS: dict[type, dict[str, int]] = {
    keras.layers.Dense: {"kernel": -1},
    keras.layers.Conv1D: {"kernel": -1},
    keras.layers.Conv2D: {"kernel": -1},
    keras.layers.Conv3D: {"kernel": -1},
    keras.layers.Conv1DTranspose: {"kernel": -2},
    keras.layers.Conv2DTranspose: {"kernel": -2},
    keras.layers.Conv3DTranspose: {"kernel": -2},
    keras.layers.DepthwiseConv1D: {"depthwise_kernel": -2},
    keras.layers.DepthwiseConv2D: {"depthwise_kernel": -2},
    keras.layers.SeparableConv1D: {"depthwise_kernel": -2, "pointwise_kernel": -1},
    keras.layers.SeparableConv2D: {"depthwise_kernel": -2, "pointwise_kernel": -1},
}


def qat_init(
    model: keras.Model,
    representative_dataset: RepresentativeDataset | None = None,
    qat_config: QATConfig | None = None,
    weights_n_bits: int = 8,
    activation_n_bits: int = 8,
    weights_method: qi.QuantizationMethod | None = qi.QuantizationMethod.SYMMETRIC,
    activation_method: qi.QuantizationMethod | None = qi.QuantizationMethod.SYMMETRIC,
    per_channel: bool = True,
) -> keras.Model:
    """A new, uncompiled model with every supported layer wrapped for quantization-aware training.

    ``representative_dataset`` is a callable returning an iterable of input batches (as TFLite's
    converter takes it); it is required unless ``activation_method`` is None. Pass
    ``weights_method=None`` to quantize activations only. ``model`` itself is not changed.
    """
    return flow.qat_init(
        KERAS2_BACK_END,
        model,
        representative_dataset,
        qat_config,
        weights_n_bits,
        activation_n_bits,
        weights_method,
        activation_method,
        per_channel,
    )


def qat_finalize(qat_model: keras.Model) -> keras.Model:
    """A new model with every trainable quantizer replaced by its ``convert2inferable()``.

    In inference mode it predicts what ``qat_model`` predicts; save it with ``model.save`` and
    reload it with ``qi.load_quantized_model``.
    """
    return flow.qat_finalize(KERAS2_BACK_END, qat_model)


def _check_model(model: Any) -> None:
    check_keras(model, KERAS2, "the model given to the Keras 2 qat_init/qat_finalize")
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"expected a tf_keras Model, got {type(model).__name__}: build the model with "
            "quantizer_scaffold.quantizers_infrastructure.keras.compat.keras (Keras 2)"
        )
    # tf_keras marks Functional models and Sequential models with a known input this way;
    # only those have a layer graph that clone_model can rebuild
    if not getattr(model, "_is_graph_network", False) or not model.inputs:
        raise TypeError(
            f"{type(model).__name__} {model.name!r} is not a Functional model or a Sequential "
            "model with a known input: subclassed models cannot be cloned layer by layer; "
            "build it with keras.Input (or give the Sequential an input_shape)"
        )
    _check_no_keras3_inside(model)


def _check_no_keras3_inside(model: keras.Model) -> None:
    """Refuse a tf_keras model in which a Keras 3 layer was called.

    tf_keras records such a call as op layers (``TFOpLambda``) holding the Keras 3 layer's
    variables or frozen copies of them: nothing a quantizer could be attached to.
    """
    for layer in model.layers:
        for node in layer.inbound_nodes:
            arguments = tf.nest.flatten([node.call_args, node.call_kwargs])
            for argument in arguments:
                check_keras(
                    argument, KERAS2, f"an input of layer {layer.name!r} of model {model.name!r}"
                )


def _clone(
    model: keras.Model,
    replace: Callable[[keras.layers.Layer, LayerCopier], keras.layers.Layer],
) -> keras.Model:
    """Clone ``model`` with ``replace(layer, copy_layer)`` standing in for each layer.

    ``copy_layer`` makes a fresh copy of a layer from its config; the original's weights are
    copied into every such copy once the clone is built.
    """
    pending: list[tuple[keras.layers.Layer, keras.layers.Layer]] = []

    def copy_layer(layer: keras.layers.Layer) -> keras.layers.Layer:
        fresh = layer.__class__.from_config(layer.get_config())
        pending.append((layer, fresh))
        return fresh

    clone = keras.models.clone_model(model, clone_function=lambda layer: replace(layer, copy_layer))
    for source, fresh in pending:
        fresh.set_weights(source.get_weights())
    return clone


def _layer_outputs(model: keras.Model, layer: keras.layers.Layer) -> list[Any]:
    """Every output tensor of ``layer`` inside ``model``: one per call of a shared layer.

    ``layer.output`` would silently give the first call only. tf_keras keeps the model's own
    calls in ``_network_nodes`` (keys ``"<layer>_ib-<i>"``); without it, take every call.
    """
    nodes = range(len(layer.inbound_nodes))
    own = getattr(model, "_network_nodes", None)
    if own is not None:
        nodes = [i for i in nodes if f"{layer.name}_ib-{i}" in own]
    return [layer.get_output_at(i) for i in nodes]


class _Keras2BackEnd:
    """The Keras 2 (tf_keras) side of ``qat/common/flow.py``."""

    quantized_weights = QUANTIZED_WEIGHTS
    wrapper_class = qi.KerasQuantizationWrapper
    check_model = staticmethod(_check_model)
    layer_outputs = staticmethod(_layer_outputs)
    clone = staticmethod(_clone)
    trainable_quantizer_class = staticmethod(get_trainable_quantizer_class)

    @staticmethod
    def probe_model(model: keras.Model, outputs: list[Any]) -> keras.Model:
        return keras.Model(model.inputs, outputs)

    @staticmethod
    def is_input_layer(layer: keras.layers.Layer) -> bool:
        return isinstance(layer, keras.layers.InputLayer)

    @staticmethod
    def is_model(layer: keras.layers.Layer) -> bool:
        return isinstance(layer, keras.Model)

    @staticmethod
    def weight_values(layer: keras.layers.Layer, attribute: str) -> np.ndarray:
        return keras.backend.get_value(getattr(layer, attribute))


KERAS2_BACK_END = _Keras2BackEnd()
