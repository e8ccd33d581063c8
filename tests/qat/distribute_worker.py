"""Train the same QAT model on one device and under MirroredStrategy on two logical CPUs.

Run as a script (the logical devices must be set before TensorFlow initializes); prints one
JSON object with, per quantization method, how far the two results are apart.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
from qat_tiny_models import conv_dense_model  # noqa: E402

from quantizer_scaffold import quantizers_infrastructure as qi  # noqa: E402
from quantizer_scaffold.qat import qat_finalize, qat_init  # noqa: E402
from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras, tf  # noqa: E402

(cpu,) = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

rng = np.random.default_rng(0)
IMAGES = rng.normal(size=(64, 8, 8, 1)).astype(np.float32)
LABELS = rng.integers(0, 3, 64)


def representative_dataset():
    return (IMAGES[i : i + 16] for i in range(0, 64, 16))


def train(strategy: tf.distribute.Strategy, method: qi.QuantizationMethod) -> dict:
    float_model = conv_dense_model(seed=0)
    with strategy.scope():
        model = qat_init(
            float_model,
            representative_dataset,
            weights_method=method,
            activation_method=method,
            weights_n_bits=4,
            activation_n_bits=8,
        )
        model.compile(
            keras.optimizers.SGD(0.05),
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
    losses = model.fit(IMAGES, LABELS, batch_size=16, epochs=2, shuffle=False, verbose=0).history[
        "loss"
    ]
    quantizer_variables = [
        v for layer in model.layers for v in getattr(layer, "non_trainable_weights", [])
    ]
    finalized = qat_finalize(model)
    return {
        "losses": losses,
        "weights": model.get_weights(),
        "trainable": [v.numpy() for v in model.trainable_weights],
        "predictions": model(IMAGES, training=False).numpy(),
        "finalized": finalized(IMAGES).numpy(),
        "variable_types": sorted({type(v).__name__ for v in quantizer_variables}),
        "aggregations": sorted({v.aggregation.name for v in quantizer_variables}),
        "replicas": strategy.num_replicas_in_sync,
    }


def main() -> None:
    report = {}
    one = tf.distribute.OneDeviceStrategy("/cpu:0")
    two = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    for method in qi.QuantizationMethod:
        single, mirrored = train(one, method), train(two, method)
        report[method.name] = {
            "replicas": mirrored["replicas"],
            "single_losses": single["losses"],
            "mirrored_losses": mirrored["losses"],
            "max_weight_difference": max(
                float(np.abs(a - b).max())
                for a, b in zip(single["weights"], mirrored["weights"], strict=True)
            ),
            "weights_moved": all(
                not np.array_equal(a, b)
                for a, b in zip(
                    single["trainable"], conv_dense_model(seed=0).get_weights(), strict=True
                )
            ),
            "max_prediction_difference": float(
                np.abs(single["predictions"] - mirrored["predictions"]).max()
            ),
            "max_finalized_difference": float(
                np.abs(mirrored["finalized"] - mirrored["predictions"]).max()
            ),
            "mirrored_variable_types": mirrored["variable_types"],
            "aggregations": mirrored["aggregations"],
        }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
