"""Where a wrapped layer's TensorFlow Lite int32 bias grid comes from, for both Kerases.

TFLite's int8 kernels add the bias as int32 on the grid of input step x weight step (one per
output channel). The weight step is that of the wrapper's quantizer of the weight the kernel
multiplies by (``kernel_table``); the input step that of the last activation quantizer of the
wrapper whose output reaches the layer through layers that only move values (TFLite computes
their output with their input's scale and zero point). Each Keras' ``bias_grid`` module reads
the steps in its own ops; the tables and the search are here. Framework-free: each Keras
passes its ``layers`` module and how to walk its call graph.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

# layers whose output TFLite computes with their input's scale and zero point
MOVES_VALUES = (
    "Flatten",
    "Reshape",
    "Permute",
    "Identity",
    "Dropout",
    "MaxPooling1D",
    "MaxPooling2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "ZeroPadding1D",
    "ZeroPadding2D",
    "Cropping1D",
    "Cropping2D",
)

# inner layer class name -> the axis (from the end) of the weight the kernel op multiplies the
# input by whose channels the bias's follow: a per-channel weight grid gives the bias a step
# per channel only along it
_BIAS_AXIS = {
    "Dense": -1,
    "Conv1D": -1,
    "Conv2D": -1,
    "Conv2DTranspose": -2,  # [h, w, out, in]
    "DepthwiseConv1D": -2,  # [w, C, M]: C*M outputs
    "DepthwiseConv2D": -2,
}

# a call of a layer in a model: (the layer that computed a node's one input, that layer's own
# call node, the shape of the input) or None where the node has not exactly one input
Inbound = Callable[[Any], "tuple[Any, Any, Any] | None"]


def moves_values(layers: Any) -> tuple[type, ...]:
    """This Keras' layer classes that only move values (``layers``: its ``keras.layers``)."""
    return tuple(getattr(layers, name) for name in MOVES_VALUES if hasattr(layers, name))


def kernel_table(layers: Any, depthwise_attribute: str) -> dict[type, tuple[str, int]]:
    """Inner layer class (exact) -> (the weight's attribute, the bias's axis in it)."""
    return {
        getattr(layers, name): (depthwise_attribute if "Depthwise" in name else "kernel", axis)
        for name, axis in _BIAS_AXIS.items()
        if hasattr(layers, name)
    }


def per_channel_axis(quantizer: Any) -> int | None:
    """The axis a weights quantizer quantizes per channel along, None per tensor or unknown.

    Read from the ``channel_axis`` attribute every built-in and generated weights quantizer
    has (and ``per_channel``, where a quantizer keeps an axis while quantizing per tensor).
    """
    if getattr(quantizer, "per_channel", True) is False:
        return None
    axis = getattr(quantizer, "channel_axis", None)
    return axis if isinstance(axis, int) and not isinstance(axis, bool) else None


def bias_weight(
    layer: Any, weights_quantizers: Mapping[str, Any], table: Mapping[type, tuple[str, int]]
) -> tuple[str, int | None] | None:
    """The quantized weight whose grid TFLite's int32 bias of ``layer`` is on, and the axis its
    quantizer works per channel along (``per_channel_axis``); None if there is none."""
    attribute, _ = table.get(type(layer), (None, None))
    if attribute in weights_quantizers and getattr(layer, "use_bias", False):
        return attribute, per_channel_axis(weights_quantizers[attribute])
    return None


def step_repeats(
    steps: int,
    channel_axis: int | None,
    bias_axis: int,
    weight_shape: Sequence[int],
    bias_size: int,
) -> int | None:
    """How often each of a weight grid's ``steps`` steps repeats along the bias: 1 per tensor
    or per bias value; the depth multiplier for a depthwise weight ``[..., C, M]`` quantized per
    input channel ``C`` (its ``C * M`` outputs ``c * M + m``); None when the steps do not follow
    the bias's channels (per channel along another axis)."""
    rank = len(weight_shape)
    if steps == 1:
        return 1
    if channel_axis is None or channel_axis % rank != bias_axis % rank:
        return None
    if steps == bias_size:
        return 1
    multiplier = weight_shape[-1]
    return multiplier if bias_axis % rank == rank - 2 and steps * multiplier == bias_size else None


def input_source(
    nodes: Iterable[Any], inbound: Inbound, wrapper_class: type, moves: tuple[type, ...]
) -> tuple[Any, Any] | None:
    """The quantizer whose grid a wrapper's input is on, and the shape it quantizes.

    Found in every call node of the wrapper (``nodes``); None unless they all agree.
    """
    found = {}
    for node in nodes:
        source = _producer(node, inbound, wrapper_class, moves)
        if source is None:
            return None
        found[id(source[0])] = source
    return next(iter(found.values())) if len(found) == 1 else None


def _producer(
    node: Any, inbound: Inbound, wrapper_class: type, moves: tuple[type, ...]
) -> tuple[Any, Any] | None:
    """The last activation quantizer of the wrapper whose output reaches ``node``'s one input
    through layers that only move values, with that output's shape."""
    while True:
        found = inbound(node)
        if found is None:
            return None
        layer, node, shape = found
        if isinstance(layer, wrapper_class):
            if not layer.activation_quantizers:
                return None
            return layer.activation_quantizers[-1], shape
        if type(layer) not in moves or node is None:
            return None
