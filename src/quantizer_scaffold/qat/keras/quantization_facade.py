"""The Keras 2 (tf_keras) back end of the QAT flow: what ``qat_init`` quantizes in a tf_keras
model and how it reads the model's layer graph.

The flow itself (what is wrapped, with which quantizer and which initial parameters, the
report, cloning, ``qat_finalize``) is ``qat/common/flow.py``, shared with Keras 3;
``quantizer_scaffold.qat.qat_init`` / ``qat_finalize`` hand a tf_keras model to it with
``KERAS2_BACK_END``. Before planning, a separable convolution is split into its depthwise
and pointwise halves (``separable.py``), so the tensor between them gets an activation
quantizer too, as TFLite computes it.
"""

from __future__ import annotations

from typing import Any

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.qat.common.flow import QATBackEnd
from quantizer_scaffold.qat.keras.quantizer.quantization_dispatcher_builder import (
    get_trainable_quantizer_class,
)
from quantizer_scaffold.qat.keras.separable import split_separable_convolutions
from quantizer_scaffold.quantizers_infrastructure.common.frameworks import KERAS2, check_keras
from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras, tf

__all__ = ["KERAS2_BACK_END", "QUANTIZED_WEIGHTS"]

# layer class -> {weight attribute: its output-channel axis, counted from the end}; matched by
# exact class, so a user's subclass (which may change what the weight means) is reported, not
# guessed at. Axes from the end stay right when the kernel is viewed with leading unit axes
# (the TFLite forms of quantization_wrapper). Separable convolutions are wrapped whole only
# where they do not split (separable.py).
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


def _with_input_identities(model: keras.Model, identities: dict[str, str]) -> keras.Model:
    """A copy of ``model`` (same weights) with an ``Identity`` layer after each named input.

    ``identities`` maps each new layer's name to its input's. The layers are spliced into the
    model's config, between the input and the layers that read it.
    """
    config = model.get_config()
    renamed = {name: identity for identity, name in identities.items()}
    functional = not isinstance(model, keras.Sequential)
    layers = []
    for layer in config["layers"]:
        if functional and layer["class_name"] != "InputLayer":
            layer["inbound_nodes"] = _renamed_inputs(layer["inbound_nodes"], renamed)
        layers.append(layer)
        name = layer["config"].get("name", layer.get("name"))
        if layer["class_name"] == "InputLayer" and name in renamed:
            entry = keras.layers.serialize(keras.layers.Identity(name=renamed[name]))
            if functional:
                entry["name"] = renamed[name]
                entry["inbound_nodes"] = [[[name, 0, 0, {}]]]
            layers.append(entry)
    config["layers"] = layers
    if functional:
        config["output_layers"] = _renamed_inputs(config["output_layers"], renamed)
        copy = keras.Model.from_config(config)
    else:
        copy = keras.Sequential.from_config(config)
    for layer in model.layers:
        copy.get_layer(layer.name).set_weights(layer.get_weights())
    return copy


def _renamed_inputs(nodes: Any, names: dict[str, str]) -> Any:
    """A functional config's ``[layer, node, tensor(, kwargs)]`` references, inputs renamed."""
    if isinstance(nodes, list):
        is_reference = (
            len(nodes) in (3, 4)
            and isinstance(nodes[0], str)
            and all(isinstance(i, int) for i in nodes[1:3])
        )
        if is_reference and nodes[0] in names:
            return [names[nodes[0]], *[_renamed_inputs(part, names) for part in nodes[1:]]]
        return [_renamed_inputs(part, names) for part in nodes]
    if isinstance(nodes, dict):
        return {key: _renamed_inputs(value, names) for key, value in nodes.items()}
    return nodes


def _inputs(model: keras.Model) -> list[tuple[str, Any, str, bool]]:
    """(name, tensor, dtype name, whether it is float) of each model input."""
    return [
        (name, tensor, tensor.dtype.name, tensor.dtype.is_floating)
        for name, tensor in zip(model.input_names, model.inputs, strict=True)
    ]


KERAS2_BACK_END = QATBackEnd(
    keras=keras,
    quantized_weights=QUANTIZED_WEIGHTS,
    wrapper_class=qi.KerasQuantizationWrapper,
    check_model=_check_model,
    layer_outputs=_layer_outputs,
    trainable_quantizer_class=get_trainable_quantizer_class,
    inputs=_inputs,
    with_input_identities=_with_input_identities,
    split_layers=split_separable_convolutions,
)
