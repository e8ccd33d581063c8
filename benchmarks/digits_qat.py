"""Accuracy of post-training quantization, QAT with each training method, and tfmot, on digits.

Run: python benchmarks/digits_qat.py [--seeds 3] [--plot PNG] [--table TXT] [--tiny]
Prints one row per method and bit width (held-out accuracy, mean ± population std over
seeds) and each QAT method's per-seed difference to STE (each seed quantizes the same float
model); writes the table and a plot of accuracy against bit width (default:
benchmarks/results/). Rows named "QAT W/A" use training method W for the weights and A for
the activations (DoReFa and PACT run at the low bit widths only).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from workload import (
    Digits,
    accuracy,
    build_cnn,
    compile_for_training,
    keras2,
    load_split,
    seed_everything,
)

from quantizer_scaffold.qat import QATConfig, TrainingMethod, qat_finalize, qat_init
from quantizer_scaffold.quantizers_infrastructure.common.frameworks import KERAS3, keras_of

# a reference row: name -> (float model, data, epochs) -> model, run at 8/8 only
Reference = Callable[[Any, Digits, int], Any]

BIT_WIDTHS = ((8, 8), (4, 8), (4, 4), (2, 4))
LOW_BIT_WIDTHS = ((4, 4), (2, 4))
RESULTS = Path(__file__).resolve().parent / "results"
# row -> (weights, activations) training method names; None: post-training quantization.
# Methods are looked up by name, so rows of methods not registered here are left out.
METHODS: dict[str, tuple[str, str] | None] = {
    "PTQ": None,
    "QAT STE": ("STE", "STE"),
    "QAT LSQ": ("LSQ", "LSQ"),
    "QAT DoReFa/STE": ("DoReFa", "STE"),
    "QAT STE/PACT": ("STE", "PACT"),
    "QAT DoReFa/PACT": ("DoReFa", "PACT"),
}
LOW_BIT_ONLY = {"QAT DoReFa/STE", "QAT STE/PACT", "QAT DoReFa/PACT"}


def train_float(data: Digits, epochs: int, keras: Any = None) -> Any:
    model = compile_for_training(build_cnn(keras=keras), keras=keras)
    model.fit(data.x_train, data.y_train, batch_size=32, epochs=epochs, verbose=0)
    return model


def quantize_and_train(
    float_model: Any,
    data: Digits,
    bits: tuple[int, int],
    methods: tuple[TrainingMethod, TrainingMethod] | None,
    epochs: int,
    keras: Any = None,
) -> Any:
    """qat_init from the float model (either Keras); ``methods`` (weights, activations) None
    means PTQ."""
    weights, activations = methods or (TrainingMethod.STE, TrainingMethod.STE)
    qat_model = qat_init(
        float_model,
        representative_dataset=data.representative_dataset(),
        qat_config=QATConfig(
            weight_training_method=weights, activation_training_method=activations
        ),
        weights_n_bits=bits[0],
        activation_n_bits=bits[1],
    )
    if methods is not None:
        compile_for_training(qat_model, learning_rate=3e-4, keras=keras)
        qat_model.fit(data.x_train, data.y_train, batch_size=32, epochs=epochs, verbose=0)
    return qat_finalize(qat_model)


def tfmot_default_qat(float_model: Any, data: Digits, epochs: int) -> Any:
    """tfmot's default 8-bit QAT of a Keras 2 model: the Keras 2 reference row."""
    from quantizer_scaffold.quantizers_infrastructure.keras.compat import tfmot

    model = compile_for_training(tfmot.quantization.keras.quantize_model(float_model), 3e-4)
    model.fit(data.x_train, data.y_train, batch_size=32, epochs=epochs, verbose=0)
    return model


def reloads_identically(model: Any, data: Digits) -> bool:
    """Whether ``model`` saved as .keras and loaded back (with the ``load_quantized_model`` of
    its Keras) predicts exactly what it predicts."""
    if keras_of(model) == KERAS3:
        from quantizer_scaffold.quantizers_infrastructure import keras3 as qi
    else:
        from quantizer_scaffold import quantizers_infrastructure as qi
    with tempfile.TemporaryDirectory(prefix="digits-qat-") as folder:
        path = Path(folder) / "model.keras"
        model.save(path)
        reloaded = qi.load_quantized_model(path)
    return np.array_equal(
        reloaded.predict(data.x_test, verbose=0), model.predict(data.x_test, verbose=0)
    )


def run(
    seeds: int,
    float_epochs: int,
    qat_epochs: int,
    bit_widths=BIT_WIDTHS,
    keras: Any = None,
    references: dict[str, Reference] | None = None,
    rows: tuple[str, ...] | None = None,
    on_float_model: Callable[[int, Any], None] | None = None,
):
    """Accuracy per (method, bits) over ``seeds`` seeds, {method: {bits: [acc, ...]}}, and
    how many finalized models were saved and reloaded with identical predictions.

    ``keras`` is the Keras to build with (default Keras 2); ``references`` the 8/8 reference
    rows (default tfmot's 8-bit QAT); ``rows`` the rows of ``METHODS`` to run (default all
    whose methods are registered); ``on_float_model(seed, model)`` sees each float model.
    """
    keras = keras or keras2()
    if references is None:
        references = {"tfmot 8-bit QAT": tfmot_default_qat}
    known = {member.name: member for member in TrainingMethod}
    methods = {
        name: None if pair is None else (known[pair[0]], known[pair[1]])
        for name, pair in METHODS.items()
        if (pair is None or set(pair) <= set(known)) and (rows is None or name in rows)
    }
    results: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    reloaded = 0
    for seed in range(seeds):
        data = load_split(seed)
        seed_everything(seed, keras)
        float_model = train_float(data, float_epochs, keras)
        if on_float_model is not None:
            on_float_model(seed, float_model)
        float_accuracy = accuracy(float_model, data)
        for bits in bit_widths:
            label = f"{bits[0]}/{bits[1]}"
            results["float"][label].append(float_accuracy)
            for name, method in methods.items():
                if name in LOW_BIT_ONLY and bits not in LOW_BIT_WIDTHS:
                    continue
                seed_everything(seed, keras)
                model = quantize_and_train(float_model, data, bits, method, qat_epochs, keras)
                results[name][label].append(accuracy(model, data))
                if not reloads_identically(model, data):
                    raise AssertionError(
                        f"{name} at {label}: the reloaded model predicts otherwise"
                    )
                reloaded += 1
        for name, reference in references.items():
            seed_everything(seed, keras)
            model = reference(float_model, data, qat_epochs)
            results[name]["8/8"].append(accuracy(model, data))
    return results, reloaded


def format_table(results) -> str:
    labels = [label for label in results["float"]]
    width = max(18, *(len(name) + 2 for name in results))
    header = f"{'method':<{width}}" + "".join(f"{label:>16}" for label in labels)
    lines = [header, "-" * len(header)]
    for name, per_bits in results.items():
        cells = []
        for label in labels:
            values = per_bits.get(label)
            if not values:
                cells.append(f"{'-':>16}")
                continue
            spread = statistics.pstdev(values) if len(values) > 1 else 0.0
            cells.append(f"{100 * statistics.mean(values):>9.2f} ±{100 * spread:>5.2f}")
        lines.append(f"{name:<{width}}" + "".join(cells))
    for name, per_bits in results.items():
        if not name.startswith("QAT ") or name == "QAT STE":
            continue
        lines.append("")
        lines.append(f"{name[4:]} - STE, points per seed (same float model and data per seed):")
        for label in labels:
            if not per_bits.get(label):
                continue
            pairs = zip(per_bits[label], results["QAT STE"][label], strict=True)
            differences = [100 * (other - ste) for other, ste in pairs]
            listed = ", ".join(f"{d:+.2f}" for d in differences)
            lines.append(f"  {label}: {listed}  (mean {statistics.mean(differences):+.2f})")
    return "\n".join(lines)


def plot(results, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(results["float"])
    figure, axis = plt.subplots(figsize=(7, 4.5))
    for name, per_bits in results.items():
        xs = [i for i, label in enumerate(labels) if per_bits.get(label)]
        means = [100 * statistics.mean(per_bits[labels[i]]) for i in xs]
        spreads = [
            100 * statistics.pstdev(per_bits[labels[i]]) if len(per_bits[labels[i]]) > 1 else 0
            for i in xs
        ]
        axis.errorbar(xs, means, yerr=spreads, marker="o", capsize=3, label=name)
    axis.set_xticks(range(len(labels)), labels)
    axis.set_xlabel("weights / activations bits")
    axis.set_ylabel("held-out accuracy (%)")
    axis.set_title("digits CNN: quantization methods by bit width")
    axis.grid(alpha=0.3)
    axis.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main(argv: list[str] | None = None, log: Callable[[str], None] = print) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--float-epochs", type=int, default=15)
    parser.add_argument("--qat-epochs", type=int, default=5)
    parser.add_argument("--plot", default=str(RESULTS / "digits_qat.png"), help="'' to skip")
    parser.add_argument("--table", default=str(RESULTS / "digits_qat.txt"), help="'' to skip")
    parser.add_argument("--tiny", action="store_true", help="one seed, one epoch, 8/8 and 2/4")
    args = parser.parse_args(argv)
    bit_widths = BIT_WIDTHS
    if args.tiny:
        args.seeds, args.float_epochs, args.qat_epochs = 1, 1, 1
        bit_widths = ((8, 8), (2, 4))
    start = time.perf_counter()
    results, reloaded = run(args.seeds, args.float_epochs, args.qat_epochs, bit_widths)
    table = format_table(results)
    settings = (
        f"{args.seeds} seed(s), float {args.float_epochs} epochs, QAT {args.qat_epochs} epochs, "
        f"{time.perf_counter() - start:.0f} s"
    )
    log(table)
    log(f"({settings})")
    log(f"all {reloaded} finalized models reloaded from .keras with identical predictions")
    if args.table:
        Path(args.table).parent.mkdir(parents=True, exist_ok=True)
        Path(args.table).write_text(f"{table}\n({settings})\n", encoding="utf-8")
        log(f"table written to {args.table}")
    if args.plot:
        Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
        plot(results, args.plot)
        log(f"plot written to {args.plot}")
    return results


if __name__ == "__main__":
    main()
