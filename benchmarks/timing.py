"""Median wall times of several callables measured side by side; shared by the speed benchmarks.

The callables run interleaved, round-robin, one call each per repeat (the starting one
rotating), so a change of machine load or CPU clock during the run hits every entry alike
and the ratios stay meaningful even when the absolute times drift.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable


def interleaved_medians(
    steps: dict[str, Callable[[], object]], repeats: int, warmup: int = 3
) -> dict[str, float]:
    """Median seconds per call of each entry; all entries warmed up, then timed in turns."""
    names = list(steps)
    for _ in range(warmup):
        for name in names:
            steps[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    for repeat in range(repeats):
        shift = repeat % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            steps[name]()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in samples.items()}


def ratio_table(times: dict[str, float], references: list[str]) -> str:
    """One row per entry: median time and its ratio to each reference entry."""
    header = f"{'model':<20}{'median ms':>12}" + "".join(f"{'x ' + r:>18}" for r in references)
    lines = [header, "-" * len(header)]
    for name, seconds in times.items():
        ratios = "".join(f"{seconds / times[r]:>18.2f}" for r in references)
        lines.append(f"{name:<20}{1000 * seconds:>12.3f}{ratios}")
    return "\n".join(lines)


def speed_arguments(
    description: str,
    repeats: int,
    argv: list[str] | None,
    configure: Callable[[argparse.ArgumentParser], object] | None = None,
) -> argparse.Namespace:
    """``--repeats``, ``--batch-size`` and ``--tiny`` (10 repeats of a batch of 16), parsed;
    ``configure`` adds a script's own options."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--repeats", type=int, default=repeats)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--tiny", action="store_true", help="10 repeats of a batch of 16")
    if configure is not None:
        configure(parser)
    args = parser.parse_args(argv)
    if args.tiny:
        args.repeats, args.batch_size = 10, 16
    return args
