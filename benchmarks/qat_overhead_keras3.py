"""Training-step and inference time of our Keras 3 QAT against Keras 3 float, on TF and JAX.

Run: python benchmarks/qat_overhead_keras3.py [--repeats 200] [--batch-size 64]
     [--back-ends tensorflow jax] [--tiny]
The digits CNN of workload.py in Keras 3: float, our STE QAT and our LSQ QAT (qat_init, 8-bit
weights per channel and activations), compiled with Adam. A training step is what ``fit``
runs per batch and a forward pass the model in inference mode (finalized models for QAT),
both as keras3_steps.py defines them; the models are timed interleaved (round-robin per
repeat) in one process per back end. Figures: median times and their ratios to float.
On TensorFlow the training steps are timed twice, in one interleaved run: compiled as Keras
compiles by default on a CPU (no XLA) and with ``jit_compile=True`` (XLA, Keras' default on a
GPU), each model fresh for each; on JAX Keras always compiles with XLA.
Target: each QAT step at most 1.3x the float step on each back end.
"""

from __future__ import annotations

import argparse
from typing import Any

from back_ends import KERAS3_BACK_ENDS, run_children, write_json
from timing import interleaved_medians, ratio_table, speed_arguments
from workload import build_cnn, compile_for_training, load_split, seed_everything

from quantizer_scaffold.qat import QATConfig, TrainingMethod, qat_finalize, qat_init

TARGET = 1.3  # a QAT training step at most this many times the float step
METHODS = {"our STE QAT": TrainingMethod.STE, "our LSQ QAT": TrainingMethod.LSQ}
XLA = ", XLA"  # the row names of the steps compiled with jit_compile=True


def child(repeats: int, batch_size: int) -> dict:
    """{"backend", "training": {name: s}, "inference": {name: s}} on this process' back end."""
    import keras
    from keras3_steps import forward_pass, training_step

    seed_everything(0, keras)
    data = load_split(0)
    x, y = data.x_train[:batch_size], data.y_train[:batch_size]
    float_model = build_cnn(keras=keras)
    models = _qat_models(float_model, data)
    # inference first: on JAX a training step consumes (donates) the variables' old arrays
    forward = {name: forward_pass(model, x) for name, model in _inferable(models).items()}
    inference = interleaved_medians(forward, repeats)
    steps = {
        name: training_step(compile_for_training(model, keras=keras), x, y)
        for name, model in models.items()
    }
    backend = keras.backend.backend()
    if backend == "tensorflow":  # the same models again, fresh, compiled with XLA
        float_copy = keras.models.clone_model(float_model)
        float_copy.set_weights(float_model.get_weights())
        for name, model in _qat_models(float_copy, data).items():
            steps[name + XLA] = training_step(
                compile_for_training(model, keras=keras, jit_compile=True), x, y
            )
    times = interleaved_medians(steps, repeats)
    training = {name: s for name, s in times.items() if not name.endswith(XLA)}
    result = {"backend": backend, "training": training, "inference": inference}
    if backend == "tensorflow":
        result["training_xla"] = {
            name.removesuffix(XLA): s for name, s in times.items() if name.endswith(XLA)
        }
    return result


def _qat_models(float_model: Any, data: Any) -> dict:
    """The float model and our QAT models of it, one per method, keyed by their row names."""
    models = {"float": float_model}
    for name, method in METHODS.items():
        models[name] = qat_init(
            float_model,
            representative_dataset=data.representative_dataset(),
            qat_config=QATConfig(weight_training_method=method, activation_training_method=method),
        )
    return models


def _inferable(models: dict) -> dict:
    """The float model and each QAT model finalized (what would be deployed)."""
    return {
        name: model if name == "float" else qat_finalize(model) for name, model in models.items()
    }


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--back-ends", nargs="+", default=list(KERAS3_BACK_ENDS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)


def main(argv: list[str] | None = None) -> dict:
    args = speed_arguments(__doc__.splitlines()[0], 200, argv, _options)
    if args.child:
        result = child(args.repeats, args.batch_size)
        write_json(args.json, result)
        return result
    forwarded = [f"--repeats={args.repeats}", f"--batch-size={args.batch_size}"]
    results = run_children(__file__, forwarded, args.back_ends)
    print(f"batch {args.batch_size}, median of {args.repeats}, each back end in its own process")
    for back_end, result in results.items():
        assert result["backend"] == back_end, result["backend"]
        compiled = "XLA, as always on JAX" if back_end == "jax" else "no XLA, the CPU default"
        print(f"\nKeras 3 on {back_end}: training step (fit's step; {compiled})")
        print(ratio_table(result["training"], ["float"]))
        if "training_xla" in result:
            print(f"Keras 3 on {back_end}: training step with jit_compile=True (XLA)")
            print(ratio_table(result["training_xla"], ["float"]))
        print(f"Keras 3 on {back_end}: inference (finalized models)")
        print(ratio_table(result["inference"], ["float"]))
    print()
    for back_end, result in results.items():
        for kind, compiled in (("training", ""), ("training_xla", " with XLA")):
            times = result.get(kind)
            for name in METHODS if times else ():
                ratio = times[name] / times["float"]
                verdict = "met" if ratio <= TARGET else "NOT met"
                print(
                    f"target {name} step <= {TARGET:.1f}x float on {back_end}{compiled}: "
                    f"{ratio:.2f}x, {verdict}"
                )
    return results


if __name__ == "__main__":
    main()
