"""Training-step time of float, our STE QAT, our LSQ QAT and tfmot's default 8-bit QAT.

Run: python benchmarks/qat_overhead.py [--repeats 200] [--batch-size 64] [--tiny]
All models train on the same digits CNN and the same batch in one process. A step is one
call of ``model.train_function`` on a batch iterator, exactly what ``fit`` runs per batch;
the models' steps are timed interleaved (round-robin per repeat). Figures: median step
time and its ratios to float and to tfmot.
"""

from __future__ import annotations

from timing import interleaved_medians, ratio_table, speed_arguments
from workload import build_cnn, compile_for_training, load_split, seed_everything

from quantizer_scaffold.qat import QATConfig, TrainingMethod, qat_init
from quantizer_scaffold.quantizers_infrastructure.keras.compat import tf, tfmot

TFMOT = "tfmot 8-bit QAT"
TARGET = 1.10  # our STE QAT step at most this many times tfmot's


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
    models[TFMOT] = tfmot.quantization.keras.quantize_model(float_model)
    return {name: compile_for_training(model) for name, model in models.items()}


def training_step(model, x, y):
    """One ``fit`` step of ``model`` on the batch (x, y), repeated forever."""
    batches = iter(tf.data.Dataset.from_tensors((x, y)).repeat())
    train_function = model.make_train_function()
    return lambda: train_function(batches)


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = speed_arguments(__doc__.splitlines()[0], 200, argv)
    seed_everything(0)
    data = load_split(0)
    x, y = data.x_train[: args.batch_size], data.y_train[: args.batch_size]
    steps = {name: training_step(m, x, y) for name, m in models_to_compare(data).items()}
    times = interleaved_medians(steps, args.repeats)
    print(
        f"training step (fit's train_function), batch {args.batch_size}, median of {args.repeats}"
    )
    print(ratio_table(times, ["float", TFMOT]))
    ratio = times["our STE QAT"] / times[TFMOT]
    verdict = "met" if ratio <= TARGET else "NOT met"
    print(f"target our STE QAT <= {TARGET:.2f}x tfmot: {ratio:.2f}x, {verdict}")
    return times


if __name__ == "__main__":
    main()
