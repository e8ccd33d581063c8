"""A separable convolution as the layers that compute it in turn, for either Keras.

A ``SeparableConv1D``/``SeparableConv2D`` is a depthwise convolution followed by a pointwise
(1x1) one, and TensorFlow Lite computes it that way: ``DEPTHWISE_CONV_2D`` then ``CONV_2D``,
the depthwise result a tensor of its own. An exact int8 model needs a grid for that tensor, set
and trained like any activation's. So ``qat_init`` first rebuilds the model with each separable
convolution as its two halves, a ``DepthwiseConv1D/2D`` and a ``Conv1D/2D`` of kernel size 1
(tfmot's default 8-bit scheme splits ``SeparableConv2D`` the same way): the same weights and
function, and two layers to wrap, the depthwise one with an activation quantizer of its own.
Each Keras rebuilds its models its own way (``qat/keras/separable.py``,
``qat/keras3/separable.py``); the halves are made here, from the layer's config.

The pointwise half keeps the layer's name (the model's outputs and the layers reading it keep
theirs); the depthwise half is ``<name>_depthwise``. A causal ``SeparableConv1D`` gets a
``ZeroPadding1D`` in front (``DepthwiseConv1D`` has no causal padding); a causal one with
``channels_first`` data is left whole.
"""

from __future__ import annotations

from typing import Any


def _table(layers: Any) -> dict[type, tuple[type, type]]:
    """{separable class: (its depthwise class, its pointwise class)} of a Keras' ``layers``."""
    return {
        layers.SeparableConv1D: (layers.DepthwiseConv1D, layers.Conv1D),
        layers.SeparableConv2D: (layers.DepthwiseConv2D, layers.Conv2D),
    }


def _splits(layer: Any, table: dict[type, tuple[type, type]]) -> bool:
    """Whether ``layer`` is a separable convolution (exact class) that splits."""
    if type(layer) not in table:
        return False
    return not (layer.padding == "causal" and layer.data_format != "channels_last")


def _halves(layer: Any, taken: set[str], layers: Any, table: dict[type, tuple[type, type]]) -> list:
    """The layers that compute ``layer`` in turn: [padding,] depthwise, pointwise (unbuilt)."""
    depthwise_class, pointwise_class = table[type(layer)]
    config = layer.get_config()
    shared = {"trainable": config["trainable"], "dtype": config["dtype"]}
    rank = len(config["kernel_size"])
    padding = config["padding"]
    made = []
    if padding == "causal":
        left = config["dilation_rate"][0] * (config["kernel_size"][0] - 1)
        name = _free_name(f"{layer.name}_causal_padding", taken)
        made.append(layers.ZeroPadding1D((left, 0), name=name, **shared))
        padding = "valid"
    made.append(
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
    made.append(
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
    return made


def plan(model: Any, layers: Any) -> dict[str, list[Any]]:
    """{name of each separable convolution of ``model`` that splits: its halves (unbuilt)};
    ``layers``: the Keras' ``layers`` module."""
    table = _table(layers)
    taken = {layer.name for layer in model.layers}
    return {
        layer.name: _halves(layer, taken, layers, table)
        for layer in model.layers
        if _splits(layer, table)
    }


def copy_weights(model: Any, split: Any, planned: dict[str, list[Any]], input_class: type) -> None:
    """Give ``split`` (``model`` rebuilt with the ``planned`` halves) ``model``'s weights."""
    for layer in model.layers:
        if layer.name in planned:
            *_, depthwise, pointwise = planned[layer.name]
            depthwise_kernel, pointwise_kernel, *bias = layer.get_weights()
            split.get_layer(depthwise.name).set_weights([depthwise_kernel])
            split.get_layer(pointwise.name).set_weights([pointwise_kernel, *bias])
        elif not isinstance(layer, input_class):
            split.get_layer(layer.name).set_weights(layer.get_weights())


def described(split: dict[str, list[Any]]) -> dict[str, str]:
    """{split layer: "<half> (<class>) + ..."}, for the QAT report."""
    return {
        name: " + ".join(f"{half.name} ({type(half).__name__})" for half in made)
        for name, made in split.items()
    }


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
