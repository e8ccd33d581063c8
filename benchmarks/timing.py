"""Median wall time of a callable, measured after warm-up; shared by the speed benchmarks."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_seconds(step: Callable[[], object], repeats: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        step()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def ratio_table(times: dict[str, float], references: list[str]) -> str:
    """One row per entry: median time and its ratio to each reference entry."""
    header = f"{'model':<20}{'median ms':>12}" + "".join(f"{'x ' + r:>18}" for r in references)
    lines = [header, "-" * len(header)]
    for name, seconds in times.items():
        ratios = "".join(f"{seconds / times[r]:>18.2f}" for r in references)
        lines.append(f"{name:<20}{1000 * seconds:>12.3f}{ratios}")
    return "\n".join(lines)
