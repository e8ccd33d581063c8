"""The digits models of the accuracy table as int8 TensorFlow Lite models, beside tfmot's.

Run: python benchmarks/tflite_export.py [--seeds 3] [--repeats 2000] [--table TXT] [--tiny]
Per seed, the float CNN of digits_qat.py is trained, then QAT with STE and with LSQ at 8/8 and
4/8 bits (weights/activations) and tfmot's default 8-bit QAT, each finalized and converted
with the standard two lines (``TFLiteConverter.from_keras_model`` + ``Optimize.DEFAULT``);
the float model is converted without optimizations as the reference. The same CNN is built
and trained in Keras 3 (TensorFlow back end, in this process) and its QAT models exported with
``qi.export_tflite`` (the Keras 3 model traced with fake-quant ops); its float model, exported
in float, is the Keras 3 rows' reference. Figures: held-out accuracy of the Keras model and of
the TFLite model (mean over seeds), the share of test images whose TFLite prediction (argmax)
is the Keras model's, the file size and the interpreter latency (one image, one thread,
interleaved medians of every model) relative to the float TFLite model of the same Keras,
measured side by side in one run.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from digits_qat import quantize_and_train, tfmot_default_qat, train_float
from timing import interleaved_medians
from workload import accuracy, load_split, seed_everything

from quantizer_scaffold import quantizers_infrastructure as qi
from quantizer_scaffold.qat import TrainingMethod
from quantizer_scaffold.quantizers_infrastructure.keras.compat import keras, tf

RESULTS = Path(__file__).resolve().parent / "results"
FLOAT = "float (TFLite float)"
TFMOT = "tfmot 8-bit QAT"
KERAS3 = "Keras 3 "  # the prefix of the Keras 3 rows
KERAS3_FLOAT = KERAS3 + FLOAT


def convert(model: keras.Model, int8: bool) -> bytes:
    """The standard conversion: from_keras_model, plus Optimize.DEFAULT for int8."""
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if int8:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    return converter.convert()


def export(model: object, int8: bool) -> bytes:
    """A Keras 3 model's .tflite bytes, through qi.export_tflite."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.tflite"
        qi.export_tflite(model, path, mode="int8" if int8 else "float")
        return path.read_bytes()


def interpreter(content: bytes) -> tf.lite.Interpreter:
    return tf.lite.Interpreter(model_content=content, num_threads=1)


def tflite_logits(content: bytes, images: np.ndarray) -> np.ndarray:
    runner = interpreter(content).get_signature_runner()
    (name,) = runner.get_input_details()
    (output,) = runner(**{name: images}).values()
    return output


def invoke_once(content: bytes, image: np.ndarray):
    """One interpreter call on one image, the input already in place."""
    it = interpreter(content)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], image)
    return it.invoke


def models_of_one_seed(seed: int, float_epochs: int, qat_epochs: int, rows, data):
    """name -> (Keras model or None, .tflite bytes) for every row, from one float model."""
    seed_everything(seed)
    float_model = train_float(data, float_epochs)
    models = {FLOAT: (float_model, convert(float_model, int8=False))}
    for name, (method, bits) in rows.items():
        seed_everything(seed)
        finalized = quantize_and_train(float_model, data, bits, method, qat_epochs)
        models[name] = (finalized, convert(finalized, int8=True))
    seed_everything(seed)
    tfmot_model = tfmot_default_qat(float_model, data, qat_epochs)
    models[TFMOT] = (tfmot_model, convert(tfmot_model, int8=True))
    import keras as keras3

    seed_everything(seed)
    keras3.utils.set_random_seed(seed)
    float3 = train_float(data, float_epochs, keras=keras3)
    models[KERAS3_FLOAT] = (float3, export(float3, int8=False))
    for name, (method, bits) in rows.items():
        seed_everything(seed)
        keras3.utils.set_random_seed(seed)
        finalized = quantize_and_train(float3, data, bits, method, qat_epochs, keras=keras3)
        models[KERAS3 + name] = (finalized, export(finalized, int8=True))
    return models


def float_of(name: str) -> str:
    """The float reference row of a row: that of its Keras."""
    return KERAS3_FLOAT if name.startswith(KERAS3) else FLOAT


def run(seeds: int, float_epochs: int, qat_epochs: int, rows, repeats: int):
    figures: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    latency_models = {}
    for seed in range(seeds):
        data = load_split(seed)
        models = models_of_one_seed(seed, float_epochs, qat_epochs, rows, data)
        for name, (model, content) in models.items():
            keras_logits = model.predict(data.x_test, batch_size=256, verbose=0)
            logits = tflite_logits(content, data.x_test)
            figure = figures[name]
            figure["keras"].append(accuracy(model, data))
            figure["tflite"].append(float(np.mean(np.argmax(logits, -1) == data.y_test)))
            same = np.argmax(logits, -1) == np.argmax(keras_logits, -1)
            figure["identical"].append(float(np.mean(same)))
            figure["size"].append(len(content) / len(models[float_of(name)][1]))
        if seed == 0:
            latency_models = {name: content for name, (_, content) in models.items()}
    image = load_split(0).x_test[:1]
    steps = {name: invoke_once(content, image) for name, content in latency_models.items()}
    medians = interleaved_medians(steps, repeats, warmup=20)
    for name, seconds in medians.items():
        figures[name]["latency"] = [seconds / medians[float_of(name)]]
        figures[name]["latency_us"] = [seconds * 1e6]
    return figures


def format_table(figures) -> str:
    header = (
        f"{'model':<30}{'Keras acc %':>12}{'TFLite acc %':>14}{'identical %':>13}"
        f"{'size x float':>14}{'latency x float':>17}{'latency us':>12}"
    )
    lines = [header, "-" * len(header)]
    for name, figure in figures.items():
        mean = {key: statistics.mean(values) for key, values in figure.items()}
        lines.append(
            f"{name:<30}{100 * mean['keras']:>12.2f}{100 * mean['tflite']:>14.2f}"
            f"{100 * mean['identical']:>13.2f}{mean['size']:>14.3f}{mean['latency']:>17.2f}"
            f"{mean['latency_us']:>12.1f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--float-epochs", type=int, default=15)
    parser.add_argument("--qat-epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2000, help="latency: calls per model")
    parser.add_argument("--table", default=str(RESULTS / "tflite_export.txt"), help="'' to skip")
    parser.add_argument("--tiny", action="store_true", help="one seed, one epoch, STE 8/8 only")
    args = parser.parse_args(argv)
    methods = {"STE": TrainingMethod.STE, "LSQ": getattr(TrainingMethod, "LSQ", None)}
    rows = {
        f"QAT {name} {w}/{a}": ((method, method), (w, a))
        for w, a in ((8, 8), (4, 8))
        for name, method in methods.items()
        if method is not None
    }
    if args.tiny:
        args.seeds, args.float_epochs, args.qat_epochs, args.repeats = 1, 1, 1, 50
        rows = {"QAT STE 8/8": ((TrainingMethod.STE, TrainingMethod.STE), (8, 8))}
    start = time.perf_counter()
    figures = run(args.seeds, args.float_epochs, args.qat_epochs, rows, args.repeats)
    table = format_table(figures)
    settings = (
        f"{args.seeds} seed(s), float {args.float_epochs} epochs, QAT {args.qat_epochs} epochs, "
        f"latency: median of {args.repeats} calls, one image, one thread; "
        f"{time.perf_counter() - start:.0f} s"
    )
    print(table)
    print(f"({settings})")
    if args.table:
        Path(args.table).parent.mkdir(parents=True, exist_ok=True)
        Path(args.table).write_text(f"{table}\n({settings})\n", encoding="utf-8")
        print(f"table written to {args.table}")
    return figures


if __name__ == "__main__":
    main()
