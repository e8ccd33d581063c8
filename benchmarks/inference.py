"""Inference time of our finalized (inferable) models beside tfmot's quantized model.

Run: python benchmarks/inference.py [--repeats 300] [--batch-size 64] [--tiny]
One forward pass (``training=False``, inside a ``tf.function``) on the same batch, the
models timed interleaved (round-robin per repeat). Figures: median time and its ratios to
float and to tfmot. "our inferable" models are ``qat_finalize`` of an STE / LSQ QAT model.
"""

from __future__ import annotations

from timing import interleaved_medians, ratio_table, speed_arguments
from workload import build_cnn, load_split, seed_everything

from quantizer_scaffold.qat import QATConfig, TrainingMethod, qat_finalize, qat_init
from quantizer_scaffold.quantizers_infrastructure.keras.compat import tf, tfmot

TFMOT = "tfmot 8-bit QAT"


def models_to_compare(data):
    float_model = build_cnn()
    models = {"float": float_model}
    methods = {"our inferable (STE)": TrainingMethod.STE}
    if hasattr(TrainingMethod, "LSQ"):
        methods["our inferable (LSQ)"] = TrainingMethod.LSQ
    for name, method in methods.items():
        models[name] = qat_finalize(
            qat_init(
                float_model,
                representative_dataset=data.representative_dataset(),
                qat_config=QATConfig(
                    weight_training_method=method, activation_training_method=method
                ),
            )
        )
    models[TFMOT] = tfmot.quantization.keras.quantize_model(float_model)
    return models


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = speed_arguments(__doc__.splitlines()[0], 300, argv)
    seed_everything(0)
    data = load_split(0)
    x = tf.constant(data.x_test[: args.batch_size])
    steps = {}
    for name, model in models_to_compare(data).items():
        forward = tf.function(lambda batch, m=model: m(batch, training=False))
        steps[name] = lambda f=forward: f(x).numpy()
    times = interleaved_medians(steps, args.repeats)
    print(f"inference, batch {args.batch_size}, median of {args.repeats}")
    print(ratio_table(times, ["float", TFMOT]))
    return times


if __name__ == "__main__":
    main()
