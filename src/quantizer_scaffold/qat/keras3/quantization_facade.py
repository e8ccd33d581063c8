"""Model in, model out, for Keras 3: ``qat_init`` wraps a float model for QAT, ``qat_finalize``
exports it; on every Keras 3 back end.

The flow itself (what is wrapped, with which quantizer and which initial parameters, the
report) is ``qat/common/flow.py``, shared with Keras 2; this module is its Keras 3 back end:
the layer classes it quantizes, cloning, and reading the layer graph of a Keras 3 model.
Functional models and Sequential models with a known input are supported. A subclassed model
is refused: its ``call`` is Python code, with no layer graph to clone; wrap its layers in
``qi3.KerasQuantizationWrapper`` inside the subclass instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from quantizer_scaffold.qat.common import flow
from quantizer_scaffold.qat.common.flow import LayerCopier, RepresentativeDataset
from quantizer_scaffold.qat.common.qat_config import QATConfig
from quantizer_scaffold.qat.keras3.quantizer.quantization_dispatcher_builder import (
    get_trainable_quantizer_class,
)
from quantizer_scaffold.quantizers_infrastructure import keras3 as qi3
from quantizer_scaffold.quantizers_infrastructure.common.frameworks import KERAS3, check_keras
from quantizer_scaffold.quantizers_infrastructure.keras3 import quantizer_utils
from quantizer_scaffold.quantizers_infrastructure.keras3.compat import keras

__all__ = ["qat_finalize", "qat_init"]

# layer class -> {weight attribute: its output-channel axis}; matched by exact class, so a
# user's subclass (which may change what the weight means) is reported, not guessed at.
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


def qat_init(
    model: keras.Model,
    representative_dataset: RepresentativeDataset | None = None,
    qat_config: QATConfig | None = None,
    weights_n_bits: int = 8,
    activation_n_bits: int = 8,
    weights_method: qi3.QuantizationMethod | None = qi3.QuantizationMethod.SYMMETRIC,
    activation_method: qi3.QuantizationMethod | None = qi3.QuantizationMethod.SYMMETRIC,
    per_channel: bool = True,
) -> keras.Model:
    """A new, uncompiled Keras 3 model with every supported layer wrapped for QAT.

    ``representative_dataset`` is a callable returning an iterable of input batches (as TFLite's
    converter takes it); it is required unless ``activation_method`` is None. Pass
    ``weights_method=None`` to quantize activations only. ``model`` itself is not changed.
    """
    return flow.qat_init(
        KERAS3_BACK_END,
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
    """A new Keras 3 model with every trainable quantizer replaced by ``convert2inferable()``.

    In inference mode it predicts what ``qat_model`` predicts; save it with
    ``model.save("….keras")`` and reload it with ``qi3.load_quantized_model``.
    """
    return flow.qat_finalize(KERAS3_BACK_END, qat_model)


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


class _Keras3BackEnd:
    """The Keras 3 side of ``qat/common/flow.py``."""

    quantized_weights = QUANTIZED_WEIGHTS
    wrapper_class = qi3.KerasQuantizationWrapper
    check_model = staticmethod(_check_model)
    layer_outputs = staticmethod(_layer_outputs)
    clone = staticmethod(_clone)
    trainable_quantizer_class = staticmethod(get_trainable_quantizer_class)

    @staticmethod
    def probe_model(model: keras.Model, outputs: list[Any]) -> keras.Model:
        inputs = model.inputs
        # a single input as itself: Keras 3 warns when an array is fed to an input list
        return keras.Model(inputs[0] if len(inputs) == 1 else inputs, outputs)

    @staticmethod
    def is_input_layer(layer: keras.layers.Layer) -> bool:
        return isinstance(layer, keras.layers.InputLayer)

    @staticmethod
    def is_model(layer: keras.layers.Layer) -> bool:
        return isinstance(layer, keras.Model)

    @staticmethod
    def weight_values(layer: keras.layers.Layer, attribute: str) -> np.ndarray:
        return keras.ops.convert_to_numpy(quantizer_utils.as_tensor(getattr(layer, attribute)))


KERAS3_BACK_END = _Keras3BackEnd()
