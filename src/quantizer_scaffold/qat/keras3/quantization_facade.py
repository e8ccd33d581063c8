"""The Keras 3 back end of the QAT flow: what ``qat_init`` quantizes in a Keras 3 model and how
it reads the model's layer graph; on every Keras 3 back end.

The flow itself (what is wrapped, with which quantizer and which initial parameters, the
report, cloning, ``qat_finalize``) is ``qat/common/flow.py``, shared with Keras 2;
``quantizer_scaffold.qat.qat_init`` / ``qat_finalize`` hand a Keras 3 model to it with
``KERAS3_BACK_END``. Functional models and Sequential models with a known input are
supported. A subclassed model is refused: its ``call`` is Python code, with no layer graph to
clone; wrap its layers in ``qi3.KerasQuantizationWrapper`` inside the subclass instead.
"""

from __future__ import annotations

from typing import Any

from quantizer_scaffold.qat.common.flow import QATBackEnd
from quantizer_scaffold.qat.keras3.cloning import fresh_inputs, input_name
from quantizer_scaffold.qat.keras3.quantizer.quantization_dispatcher_builder import (
    get_trainable_quantizer_class,
)
from quantizer_scaffold.qat.keras3.separable import split_separable_convolutions
from quantizer_scaffold.quantizers_infrastructure import keras3 as qi3
from quantizer_scaffold.quantizers_infrastructure.common.frameworks import KERAS3, check_keras
from quantizer_scaffold.quantizers_infrastructure.keras3.compat import keras

__all__ = ["KERAS3_BACK_END", "QUANTIZED_WEIGHTS"]

# layer class -> {weight attribute: its output-channel axis, counted from the end}; matched by
# exact class, so a user's subclass (which may change what the weight means) is reported, not
# guessed at.
# Keras 3 names a depthwise convolution's weight ``kernel`` (Keras 2: ``depthwise_kernel``).
QUANTIZED_WEIGHTS: dict[type, dict[str, int]] = {
    keras.layers.Dense: {"kernel": -1},
    keras.layers.Conv1D: {"kernel": -1},
    keras.layers.Conv2D: {"kernel": -1},
    keras.layers.Conv3D: {"kernel": -1},
    keras.layers.Conv1DTranspose: {"kernel": -2},
    keras.layers.Conv2DTranspose: {"kernel": -2},
    keras.layers.Conv3DTranspose: {"kernel": -2},
    keras.layers.DepthwiseConv1D: {"kernel": -2},
    keras.layers.DepthwiseConv2D: {"kernel": -2},
    keras.layers.SeparableConv1D: {"depthwise_kernel": -2, "pointwise_kernel": -1},
    keras.layers.SeparableConv2D: {"depthwise_kernel": -2, "pointwise_kernel": -1},
}


def _is_graph_model(model: keras.Model) -> bool:
    """A Functional model, or a Sequential model that knows its input (it has a graph then)."""
    if isinstance(model, keras.Sequential):
        try:
            return bool(model.inputs)
        except (AttributeError, ValueError):
            return False
    return isinstance(model, keras.Model) and type(model).__name__ == "Functional"


def _check_model(model: Any) -> None:
    check_keras(model, KERAS3, "the model given to the Keras 3 qat_init/qat_finalize")
    if not isinstance(model, keras.Model):
        raise TypeError(f"expected a Keras 3 Model, got {type(model).__name__}")
    if not _is_graph_model(model):
        raise TypeError(
            f"{type(model).__name__} {model.name!r} is not a Functional model or a Sequential "
            "model with a known input: a subclassed model's call is Python code that cannot be "
            "cloned layer by layer; build it with keras.Input (or start the Sequential with "
            "keras.Input), or wrap its layers in qi3.KerasQuantizationWrapper in the subclass"
        )
    for layer in model.layers:
        check_keras(layer, KERAS3, f"layer {layer.name!r} of model {model.name!r}")


def _layer_outputs(model: keras.Model, layer: keras.layers.Layer) -> list[Any]:
    """Every output tensor of ``layer`` inside ``model``: one per call of a shared layer.

    A Keras 3 layer records each call as a node; the model's graph (a Sequential's is its
    ``_functional``) keeps the keys ``"<id(layer)>_ib-<i>"`` of its own nodes in ``_nodes``;
    without them, take every call.
    """
    graph = getattr(model, "_functional", None) or model
    own = getattr(graph, "_nodes", None)
    outputs = []
    for i, node in enumerate(layer._inbound_nodes):
        if own is None or f"{id(layer)}_ib-{i}" in own:
            outputs.extend(node.output_tensors)
    return outputs


def _inputs(model: keras.Model) -> list[tuple[str, Any, str, bool]]:
    """(name, tensor, dtype name, whether it is float) of each model input."""
    return [
        (input_name(t), t, str(t.dtype), keras.backend.is_float_dtype(t.dtype))
        for t in model.inputs
    ]


def _with_input_identities(model: keras.Model, identities: dict[str, str]) -> keras.Model:
    """A copy of ``model`` (fresh layers, same weights) with an ``Identity`` layer after each
    named input; ``identities`` maps each new layer's name to its input's."""
    by_input = {input_name: identity for identity, input_name in identities.items()}
    copies: list[tuple[keras.layers.Layer, keras.layers.Layer]] = []

    def copy_layer(layer: keras.layers.Layer) -> keras.layers.Layer:
        fresh = layer.__class__.from_config(layer.get_config())
        copies.append((layer, fresh))
        return fresh

    if isinstance(model, keras.Sequential):
        (inputs,) = fresh_inputs(model)
        layers = [copy_layer(layer) for layer in model.layers]
        identity = keras.layers.Identity(name=by_input[input_name(inputs)])
        copy = keras.Sequential([inputs, identity, *layers])
    else:
        # the clone's inputs, made here so that each is known by position (a clone renames them)
        inputs = fresh_inputs(model)
        identity_of = {
            id(new): by_input[input_name(old)]
            for new, old in zip(inputs, model.inputs, strict=True)
            if input_name(old) in by_input
        }
        spliced: dict[int, Any] = {}  # id of a clone input -> its Identity layer's output

        def through_identity(value: Any) -> Any:
            if id(value) not in identity_of:
                return value
            if id(value) not in spliced:
                spliced[id(value)] = keras.layers.Identity(name=identity_of[id(value)])(value)
            return spliced[id(value)]

        def call(layer: keras.layers.Layer, *args: Any, **kwargs: Any) -> Any:
            args = keras.tree.map_structure(through_identity, args)
            kwargs = keras.tree.map_structure(through_identity, kwargs)
            return layer(*args, **kwargs)

        copy = keras.models.clone_model(
            model,
            input_tensors=keras.tree.pack_sequence_as(model.input, inputs),
            clone_function=copy_layer,
            call_function=call,
        )
    for source, fresh in copies:
        fresh.set_weights(source.get_weights())
    return copy


KERAS3_BACK_END = QATBackEnd(
    keras=keras,
    quantized_weights=QUANTIZED_WEIGHTS,
    wrapper_class=qi3.KerasQuantizationWrapper,
    check_model=_check_model,
    layer_outputs=_layer_outputs,
    trainable_quantizer_class=get_trainable_quantizer_class,
    inputs=_inputs,
    with_input_identities=_with_input_identities,
    split_layers=split_separable_convolutions,
)
