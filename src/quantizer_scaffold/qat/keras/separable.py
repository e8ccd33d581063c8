"""Keras 2: a model rebuilt from its config with each separable convolution split in two
(``qat/common/separable.py`` says why and makes the halves)."""

from __future__ import annotations

from quantizer_scaffold.qat.common import separable
from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras


def split_separable_convolutions(model: keras.Model) -> tuple[keras.Model, dict[str, str]]:
    """``model`` with every separable convolution as its two halves (a new model, the same
    weights), and what became of each split layer; ``model`` itself when there is none."""
    halves = separable.plan(model, keras.layers)
    if not halves:
        return model, {}
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
    separable.copy_weights(model, split, halves, keras.layers.InputLayer)
    return split, separable.described(halves)
