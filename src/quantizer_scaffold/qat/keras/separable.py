"""Separable convolutions split in two, so that the tensor between the halves is quantized.

A ``SeparableConv1D``/``SeparableConv2D`` is a depthwise convolution followed by a pointwise
(1x1) one, and TensorFlow Lite computes it that way: ``DEPTHWISE_CONV_2D`` then ``CONV_2D``,
the depthwise result a tensor of its own. An exact int8 model needs a grid for that tensor, set
and trained like any activation's. So ``qat_init`` first rebuilds the model with each separable
convolution as its two halves, a ``DepthwiseConv1D/2D`` and a ``Conv1D/2D`` of kernel size 1
(tfmot's default 8-bit scheme splits ``SeparableConv2D`` the same way): the same weights and
function, and two layers to wrap, the depthwise one with an activation quantizer of its own.

The pointwise half keeps the layer's name (the model's outputs and the layers reading it keep
theirs); the depthwise half is ``<name>_depthwise``. A causal ``SeparableConv1D`` gets a
``ZeroPadding1D`` in front (``DepthwiseConv1D`` has no causal padding); a causal one with
``channels_first`` data is left whole.
"""

from __future__ import annotations

from typing import Any

from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras

_HALVES = {
    keras.layers.SeparableConv1D: (keras.layers.DepthwiseConv1D, keras.layers.Conv1D),
    keras.layers.SeparableConv2D: (keras.layers.DepthwiseConv2D, keras.layers.Conv2D),
}


def split_separable_convolutions(model: keras.Model) -> tuple[keras.Model, dict[str, str]]:
    """``model`` with every separable convolution as its two halves (a new model, the same
    weights), and what became of each split layer; ``model`` itself when there is none."""
    separable = [layer for layer in model.layers if _splits(layer)]
    if not separable:
        return model, {}
    taken = {layer.name for layer in model.layers}
    halves = {layer.name: _halves(layer, taken) for layer in separable}
    config = model.get_config()
    functional = not isinstance(model, keras.Sequential)
    entries = []
    for entry in config["layers"]:
        name = entry["config"].get("name")
        if name not in halves:
            entries.append(entry)
            continue
        nodes = entry.get("inbound_nodes", [])
        for position, layer in enumerate(halves[name]):
            new = keras.layers.serialize(layer)
            if position == 0 and "batch_input_shape" in entry["config"]:
                new["config"]["batch_input_shape"] = entry["config"]["batch_input_shape"]
            if functional:
                new["name"] = layer.name
                before = halves[name][position - 1].name if position else None
                new["inbound_nodes"] = (
                    nodes if before is None else [[[before, i, 0, {}]] for i in range(len(nodes))]
                )
            entries.append(new)
    config["layers"] = entries
    split = (
        keras.Sequential.from_config(config) if not functional else keras.Model.from_config(config)
    )
    for layer in model.layers:
        if layer.name in halves:
            *_, depthwise, pointwise = halves[layer.name]
            split.get_layer(depthwise.name).set_weights([layer.depthwise_kernel.numpy()])
            bias = [layer.bias.numpy()] if layer.use_bias else []
            split.get_layer(pointwise.name).set_weights([layer.pointwise_kernel.numpy(), *bias])
        elif not isinstance(layer, keras.layers.InputLayer):
            split.get_layer(layer.name).set_weights(layer.get_weights())
    return split, {
        name: " + ".join(f"{half.name} ({type(half).__name__})" for half in layers)
        for name, layers in halves.items()
    }


def _splits(layer: keras.layers.Layer) -> bool:
    """Whether ``layer`` is a separable convolution (exact class) that splits."""
    if type(layer) not in _HALVES:
        return False
    return not (layer.padding == "causal" and layer.data_format != "channels_last")


def _halves(layer: keras.layers.Layer, taken: set[str]) -> list[keras.layers.Layer]:
    """The layers that compute ``layer`` in turn: [padding,] depthwise, pointwise."""
    depthwise_class, pointwise_class = _HALVES[type(layer)]
    config = layer.get_config()
    shared = {"trainable": config["trainable"], "dtype": config["dtype"]}
    rank = len(config["kernel_size"])
    padding = config["padding"]
    layers = []
    if padding == "causal":
        left = config["dilation_rate"][0] * (config["kernel_size"][0] - 1)
        name = _free_name(f"{layer.name}_causal_padding", taken)
        layers.append(keras.layers.ZeroPadding1D((left, 0), name=name, **shared))
        padding = "valid"
    layers.append(
        depthwise_class(
            name=_free_name(f"{layer.name}_depthwise", taken),
            kernel_size=config["kernel_size"],
            strides=config["strides"],
            padding=padding,
            depth_multiplier=config["depth_multiplier"],
            data_format=config["data_format"],
            dilation_rate=config["dilation_rate"],
            activation=None,
            use_bias=False,
            **_renamed(config, depthwise="depthwise"),
            **shared,
        )
    )
    layers.append(
        pointwise_class(
            name=layer.name,
            filters=config["filters"],
            kernel_size=(1,) * rank,
            data_format=config["data_format"],
            activation=config["activation"],
            use_bias=config["use_bias"],
            bias_initializer=config["bias_initializer"],
            bias_regularizer=config["bias_regularizer"],
            bias_constraint=config["bias_constraint"],
            activity_regularizer=config["activity_regularizer"],
            **_renamed(config, kernel="pointwise"),
            **shared,
        )
    )
    return layers


def _renamed(config: dict[str, Any], **prefixes: str) -> dict[str, Any]:
    """``{new}_initializer/_regularizer/_constraint`` from the config's ``{old}_...``."""
    return {
        f"{new}_{part}": config[f"{old}_{part}"]
        for new, old in prefixes.items()
        for part in ("initializer", "regularizer", "constraint")
    }


def _free_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name_<i>`` with the first ``i`` not taken; marked as taken."""
    candidate, i = name, 1
    while candidate in taken:
        candidate, i = f"{name}_{i}", i + 1
    taken.add(candidate)
    return candidate
