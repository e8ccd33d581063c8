"""Training-step time of float, our STE QAT, our LSQ QAT and tfmot's default 8-bit QAT.

Run: python benchmarks/qat_overhead.py [--repeats 50]
All models train on the same digits CNN and the same batch in one process; figures are
median step times and their ratios to float and to tfmot.
"""

from __future__ import annotations

import argparse

from timing import median_seconds, ratio_table
from workload import build_cnn, compile_for_training, load_split, seed_everything

from quantizer_scaffold.qat import QATConfig, TrainingMethod, qat_init
from quantizer_scaffold.quantizers_infrastructure.keras.compat import tfmot


def models_to_compare(data):
    """name -> compiled model, all built from one float model."""
    float_model = build_cnn()
    models = {"float": float_model}
    methods = {"our STE QAT": TrainingMethod.STE}
    if hasattr(TrainingMethod, "LSQ"):
        methods["our LSQ QAT"] = TrainingMethod.LSQ
    for name, method in methods.items():
        models[name] = qat_init(
            float_model,
            representative_dataset=data.representative_dataset(),
            qat_config=QATConfig(weight_training_method=method, activation_training_method=method),
        )
    models["tfmot 8-bit QAT"] = tfmot.quantization.keras.quantize_model(float_model)
    return {name: compile_for_training(model) for name, model in models.items()}


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)
    seed_everything(0)
    data = load_split(0)
    x, y = data.x_train[: args.batch_size], data.y_train[: args.batch_size]
    times = {
        name: median_seconds(lambda m=model: m.train_on_batch(x, y), args.repeats)
        for name, model in models_to_compare(data).items()
    }
    print(f"training step, batch {args.batch_size}, median of {args.repeats}")
    print(ratio_table(times, ["float", "tfmot 8-bit QAT"]))
    return times


if __name__ == "__main__":
    main()
