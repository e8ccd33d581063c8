"""Accuracy of PTQ, STE QAT and LSQ QAT with Keras 3 on TensorFlow and on JAX, beside Keras 2.

Run: python benchmarks/digits_qat_keras3.py [--seeds 3] [--back-ends tensorflow jax]
     [--no-keras2] [--table TXT] [--tiny]
The protocol, seeds and code of digits_qat.py (the same split, CNN, epochs and bit widths),
with the CNN built in Keras 3 and passed through the same qat_init / qat_finalize, which route
it to the Keras 3 back end; Keras 3's own post-training ``model.quantize("int8")`` is the 8/8
reference row. Keras 2 (for comparison) and each back end run in their own process. Keras 3
and Keras 2 train different float models from the same seed (different random number
generators and kernels), so each Keras 3 table also has the row "PTQ of Keras 2 float": PTQ
of the Keras 2 run's float weights, which isolates the quantization itself. Prints one table
per run, then each Keras 3 cell minus the Keras 2 cell and whether the difference is within
the Keras 2 row's spread over the seeds.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from back_ends import KERAS3_BACK_ENDS, run_children, write_json
from digits_qat import BIT_WIDTHS, format_table, quantize_and_train, run
from workload import Digits, accuracy, build_cnn, load_split

RESULTS = Path(__file__).resolve().parent / "results"
KERAS3_REFERENCE = "Keras int8 PTQ"
SAME_FLOAT = "PTQ of Keras 2 float"
ROWS = ("PTQ", "QAT STE", "QAT LSQ")  # the training methods Keras 3 has so far
COMPARED = ("PTQ", SAME_FLOAT, "QAT STE", "QAT LSQ")  # SAME_FLOAT is compared with PTQ


def keras_int8_ptq(float_model: Any, data: Digits, epochs: int) -> Any:
    """Keras 3's own ``model.quantize("int8")`` on a copy (post-training; Dense layers only)."""
    import keras

    model = keras.models.clone_model(float_model)
    model.set_weights(float_model.get_weights())
    with warnings.catch_warnings():  # "Layer Conv2D does not have a `quantize` method"
        warnings.simplefilter("ignore")
        model.quantize("int8")
    return model


def child(
    name: str, seeds: int, float_epochs: int, qat_epochs: int, bit_widths, weights: Path
) -> dict:
    """The digits table of one run: Keras 2 (which saves its float weights to ``weights``), or
    Keras 3 on the current back end (which adds the PTQ of those weights)."""
    if name == "keras2":

        def save(seed: int, model: Any) -> None:
            np.savez(weights / f"seed{seed}.npz", *model.get_weights())

        results, _ = run(
            seeds, float_epochs, qat_epochs, bit_widths, rows=ROWS, on_float_model=save
        )
        return results
    import keras

    assert keras.backend.backend() == name, (keras.backend.backend(), name)
    references = {KERAS3_REFERENCE: keras_int8_ptq}
    results, _ = run(seeds, float_epochs, qat_epochs, bit_widths, keras, references, rows=ROWS)
    for seed in range(seeds):
        saved = weights / f"seed{seed}.npz"
        if not saved.exists():
            break
        with np.load(saved) as arrays:
            float_model = build_cnn(keras=keras)
            float_model.set_weights([arrays[f"arr_{i}"] for i in range(len(arrays.files))])
        data = load_split(seed)
        for bits in bit_widths:
            model = quantize_and_train(float_model, data, bits, None, 0, keras)
            results[SAME_FLOAT][f"{bits[0]}/{bits[1]}"].append(accuracy(model, data))
    return results


def comparison(keras3: dict, keras2: dict) -> str:
    """Keras 3 mean - Keras 2 mean per cell, and whether it is within the Keras 2 spread."""
    labels = list(keras2["float"])
    width = max(len(name) for name in COMPARED) + 2
    header = f"{'method':<{width}}" + "".join(f"{label:>18}" for label in labels)
    lines = [header, "-" * len(header)]
    for name in COMPARED:
        if name not in keras3:
            continue
        cells = []
        for label in labels:
            ours = keras3[name][label]
            theirs = keras2["PTQ" if name == SAME_FLOAT else name][label]
            difference = 100 * (statistics.mean(ours) - statistics.mean(theirs))
            spread = 100 * (statistics.pstdev(theirs) if len(theirs) > 1 else 0.0)
            verdict = "in" if abs(difference) <= spread else "OUT"
            cells.append(f"{difference:>+8.2f} ({verdict:>3}{spread:>5.2f})")
        lines.append(f"{name:<{width}}" + "".join(cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None, log: Callable[[str], None] = print) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--float-epochs", type=int, default=15)
    parser.add_argument("--qat-epochs", type=int, default=5)
    parser.add_argument("--back-ends", nargs="+", default=list(KERAS3_BACK_ENDS))
    parser.add_argument("--no-keras2", action="store_true", help="skip the Keras 2 comparison")
    parser.add_argument(
        "--table", default=str(RESULTS / "digits_qat_keras3.txt"), help="'' to skip"
    )
    parser.add_argument("--tiny", action="store_true", help="one seed, one epoch, 8/8 and 2/4")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    parser.add_argument("--float-weights", help=argparse.SUPPRESS)  # Keras 2's, per seed
    args = parser.parse_args(argv)
    bit_widths = BIT_WIDTHS
    if args.tiny:
        args.seeds, args.float_epochs, args.qat_epochs = 1, 1, 1
        bit_widths = ((8, 8), (2, 4))
    if args.child:
        weights = Path(args.float_weights)
        result = child(
            args.child, args.seeds, args.float_epochs, args.qat_epochs, bit_widths, weights
        )
        write_json(args.json, result)
        return result
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as weights:
        forwarded = [f"--seeds={args.seeds}", f"--float-epochs={args.float_epochs}"]
        forwarded += [f"--qat-epochs={args.qat_epochs}", f"--float-weights={weights}"]
        forwarded += ["--tiny"] if args.tiny else []
        # Keras 2 first: the Keras 3 runs quantize its float weights too
        children = ([] if args.no_keras2 else ["keras2"]) + list(args.back_ends)
        results = run_children(__file__, forwarded, children)
    results = {name: results[name] for name in [*args.back_ends, "keras2"] if name in results}
    sections = []
    for name, result in results.items():
        title = "Keras 2 (tf_keras)" if name == "keras2" else f"Keras 3 on {name}"
        sections.append(f"{title}:\n{format_table(result)}")
    if "keras2" in results:
        for name in args.back_ends:
            sections.append(
                f"Keras 3 on {name} - Keras 2, points (in/OUT of the Keras 2 spread over the "
                f"seeds, which follows):\n{comparison(results[name], results['keras2'])}"
            )
    settings = (
        f"{args.seeds} seed(s), float {args.float_epochs} epochs, QAT {args.qat_epochs} epochs, "
        f"{time.perf_counter() - start:.0f} s"
    )
    text = "\n\n".join(sections) + f"\n({settings})"
    log(text)
    if args.table:
        Path(args.table).parent.mkdir(parents=True, exist_ok=True)
        Path(args.table).write_text(text + "\n", encoding="utf-8")
        log(f"table written to {args.table}")
    return results


if __name__ == "__main__":
    main()
