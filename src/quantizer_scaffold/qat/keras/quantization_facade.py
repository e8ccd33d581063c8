"""The Keras 2 (tf_keras) back end of the QAT flow: what ``qat_init`` quantizes in a tf_keras
model and how it reads the model's layer graph.

The flow itself (what is wrapped, with which quantizer and which initial parameters, the
report, cloning, ``qat_finalize``) is ``qat/common/flow.py``, shared with Keras 3;
``quantizer_scaffold.qat.qat_init`` / ``qat_finalize`` hand a tf_keras model to it with
``KERAS2_BACK_END``.
"""

from __future__ import annotations

from typing import Any

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.qat.common.flow import QATBackEnd
from quantizer_scaffold.qat.keras.quantizer.quantization_dispatcher_builder import (
    get_trainable_quantizer_class,
)
from quantizer_scaffold.quantizers_infrastructure.common.frameworks import KERAS2, check_keras
from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras, tf

__all__ = ["KERAS2_BACK_END", "QUANTIZED_WEIGHTS"]

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


KERAS2_BACK_END = QATBackEnd(
    keras=keras,
    quantized_weights=QUANTIZED_WEIGHTS,
    wrapper_class=qi.KerasQuantizationWrapper,
    check_model=_check_model,
    layer_outputs=_layer_outputs,
    trainable_quantizer_class=get_trainable_quantizer_class,
)
