"""Accuracy of PTQ, STE QAT and LSQ QAT with Keras 3 on TensorFlow and on JAX, beside Keras 2.

Run: python benchmarks/digits_qat_keras3.py [--seeds 3] [--back-ends tensorflow jax]
     [--no-keras2] [--table TXT] [--tiny]
The protocol, seeds and code of digits_qat.py (the same split, CNN, epochs and bit widths),
with the CNN built in Keras 3 and passed through the same qat_init / qat_finalize, which route
it to the Keras 3 back end; Keras 3's own post-training ``model.quantize("int8")`` is the 8/8
reference row. Each back end, and Keras 2 for comparison, runs in its own process. Prints one
table per run, then each Keras 3 cell minus the Keras 2 cell and whether the difference is
within the Keras 2 row's spread over the seeds.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from back_ends import KERAS3_BACK_ENDS, run_children, write_json
from digits_qat import BIT_WIDTHS, format_table, run
from workload import Digits

RESULTS = Path(__file__).resolve().parent / "results"
KERAS3_REFERENCE = "Keras int8 PTQ"
COMPARED = ("PTQ", "QAT STE", "QAT LSQ")


def keras_int8_ptq(float_model: Any, data: Digits, epochs: int) -> Any:
    """Keras 3's own ``model.quantize("int8")`` on a copy (post-training; Dense layers only)."""
    import keras

    model = keras.models.clone_model(float_model)
    model.set_weights(float_model.get_weights())
    with warnings.catch_warnings():  # "Layer Conv2D does not have a `quantize` method"
        warnings.simplefilter("ignore")
        model.quantize("int8")
    return model


def child(name: str, seeds: int, float_epochs: int, qat_epochs: int, bit_widths) -> dict:
    """The digits table of one run: Keras 3 on the current back end, or Keras 2."""
    if name == "keras2":
        return run(seeds, float_epochs, qat_epochs, bit_widths)
    import keras

    assert keras.backend.backend() == name, (keras.backend.backend(), name)
    references = {KERAS3_REFERENCE: keras_int8_ptq}
    return run(seeds, float_epochs, qat_epochs, bit_widths, keras=keras, references=references)


def comparison(keras3: dict, keras2: dict) -> str:
    """Keras 3 mean - Keras 2 mean per cell, and whether it is within the Keras 2 spread."""
    labels = list(keras2["float"])
    header = f"{'method':<16}" + "".join(f"{label:>18}" for label in labels)
    lines = [header, "-" * len(header)]
    for name in COMPARED:
        cells = []
        for label in labels:
            ours, theirs = keras3[name][label], keras2[name][label]
            difference = 100 * (statistics.mean(ours) - statistics.mean(theirs))
            spread = 100 * (statistics.pstdev(theirs) if len(theirs) > 1 else 0.0)
            verdict = "in" if abs(difference) <= spread else "OUT"
            cells.append(f"{difference:>+8.2f} ({verdict:>3}{spread:>5.2f})")
        lines.append(f"{name:<16}" + "".join(cells))
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
    args = parser.parse_args(argv)
    bit_widths = BIT_WIDTHS
    if args.tiny:
        args.seeds, args.float_epochs, args.qat_epochs = 1, 1, 1
        bit_widths = ((8, 8), (2, 4))
    if args.child:
        result = child(args.child, args.seeds, args.float_epochs, args.qat_epochs, bit_widths)
        write_json(args.json, result)
        return result
    start = time.perf_counter()
    forwarded = [f"--seeds={args.seeds}", f"--float-epochs={args.float_epochs}"]
    forwarded += [f"--qat-epochs={args.qat_epochs}"] + (["--tiny"] if args.tiny else [])
    children = list(args.back_ends) + ([] if args.no_keras2 else ["keras2"])
    results = run_children(__file__, forwarded, children)
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
