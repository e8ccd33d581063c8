"""Inference time of our finalized (inferable) model beside tfmot's quantized model.

Run: python benchmarks/inference.py [--repeats 100]
Figures are median times of one forward pass on the same batch, and ratios to float and
to tfmot.
"""

from __future__ import annotations

import argparse

from timing import median_seconds, ratio_table
from workload import build_cnn, load_split, seed_everything

from quantizer_scaffold.qat import qat_finalize, qat_init
from quantizer_scaffold.quantizers_infrastructure.keras.compat import tf, tfmot


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)
    seed_everything(0)
    data = load_split(0)
    x = tf.constant(data.x_test[: args.batch_size])
    float_model = build_cnn()
    models = {
        "float": float_model,
        "our inferable": qat_finalize(
            qat_init(float_model, representative_dataset=data.representative_dataset())
        ),
        "tfmot 8-bit QAT": tfmot.quantization.keras.quantize_model(float_model),
    }
    times = {}
    for name, model in models.items():
        forward = tf.function(lambda batch, m=model: m(batch, training=False))
        times[name] = median_seconds(lambda f=forward: f(x).numpy(), args.repeats)
    print(f"inference, batch {args.batch_size}, median of {args.repeats}")
    print(ratio_table(times, ["float", "tfmot 8-bit QAT"]))
    return times


if __name__ == "__main__":
    main()
