"""Keras 3: a model cloned with each separable convolution split in two
(``qat/common/separable.py`` says why and makes the halves)."""

from __future__ import annotations

from typing import Any

from quantizer_scaffold.qat.common import separable
from quantizer_scaffold.qat.keras3.cloning import fresh_inputs
from quantizer_scaffold.quantizers_infrastructure.keras3.compat import keras


def split_separable_convolutions(model: keras.Model) -> tuple[keras.Model, dict[str, str]]:
    """``model`` with every separable convolution as its two halves (a new model, the same
    weights), and what became of each split layer; ``model`` itself when there is none."""
    halves = separable.plan(model, keras.layers)
    if not halves:
        return model, {}
    if isinstance(model, keras.Sequential):
        layers: list[Any] = fresh_inputs(model)
        for layer in model.layers:
            layers += halves.get(layer.name) or [_copy(layer)]
        split = keras.Sequential(layers, name=model.name)
    else:

        def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
            return halves[layer.name][-1] if layer.name in halves else _copy(layer)

        def call(layer: keras.layers.Layer, *args: Any, **kwargs: Any) -> Any:
            if layer.name in halves:
                (x,) = args
                for first in halves[layer.name][:-1]:  # [padding,] depthwise; layer: pointwise
                    x = first(x)
                return layer(x, **kwargs)
            return layer(*args, **kwargs)

        split = keras.models.clone_model(
            model,
            input_tensors=keras.tree.pack_sequence_as(model.input, fresh_inputs(model)),
            clone_function=clone,
            call_function=call,
        )
    separable.copy_weights(model, split, halves, keras.layers.InputLayer)
    return split, separable.described(halves)


def _copy(layer: keras.layers.Layer) -> keras.layers.Layer:
    """A new layer of ``layer``'s class and config (its weights are set after the build)."""
    return layer.__class__.from_config(layer.get_config())
