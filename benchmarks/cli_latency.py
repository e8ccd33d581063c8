"""Wall time of the ``scaffold-quantizer`` CLI beside ``python -c pass`` (median of runs).

    python benchmarks/cli_latency.py [--repeats 5] [--tiny]

Each repeat makes a fresh temporary copy of this repository's ``src/`` and
``pyproject.toml`` and runs, one after the other (so load changes hit all alike):
``python -c pass``, ``--help``, scaffold ``--dry-run`` (``--method X --target weights``),
scaffold, the same scaffold again (UNCHANGED), ``list``, ``check``, ``update`` (nothing to
renew) and ``remove``; then the first
scaffold in a fresh user project (``pyproject.toml`` and ``src/myproj/__init__.py``), which
also creates that project's registry and edits its pyproject.toml; then a Keras 3 scaffold
(``--framework keras3``) in the repository copy and as the first in a fresh user project.
Prints the median milliseconds and the ratio to the bare interpreter start.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = Path(sys.executable).with_name("scaffold-quantizer")
CLI = (
    [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "quantizer_scaffold.scaffold.cli"]
)
SCAFFOLD = ["--method", "BenchMethod", "--target", "weights"]


def fresh_project(folder: Path) -> Path:
    project = folder / f"project{len(list(folder.iterdir()))}"
    shutil.copytree(REPO / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(REPO / "pyproject.toml", project / "pyproject.toml")
    return project


def fresh_user_project(folder: Path) -> Path:
    project = folder / f"user{len(list(folder.iterdir()))}"
    (project / "src" / "myproj").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "myproj"\nversion = "0.1.0"\ndependencies = ["quantizer-scaffold"]\n'
    )
    (project / "src" / "myproj" / "__init__.py").write_text('"""My project."""\n')
    return project


def timed(command: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of the command as a subprocess.

    CPU time is what the command itself costs; on a machine that other jobs load, wall time
    also counts the waits for a core, so both are printed.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tiny", action="store_true", help="one run of each command")
    args = parser.parse_args(argv)
    repeats = 1 if args.tiny else args.repeats
    samples: dict[str, list[tuple[float, float]]] = {
        "python -c pass": [],
        "scaffold": [],
        "scaffold --dry-run": [],
        "scaffold (unchanged)": [],
        "remove": [],
        "list": [],
        "check": [],
        "update (nothing to renew)": [],
        "--help": [],
        "scaffold (user project, first)": [],
        "scaffold --framework keras3": [],
        "scaffold keras3 (user, first)": [],
    }
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(repeats):
            project = fresh_project(Path(folder))
            samples["python -c pass"].append(timed([sys.executable, "-c", "pass"], project))
            samples["--help"].append(timed([*CLI, "--help"], project))
            samples["scaffold --dry-run"].append(timed([*CLI, *SCAFFOLD, "--dry-run"], project))
            samples["scaffold"].append(timed([*CLI, *SCAFFOLD], project))
            samples["scaffold (unchanged)"].append(timed([*CLI, *SCAFFOLD], project))
            samples["list"].append(timed([*CLI, "list"], project))
            samples["check"].append(timed([*CLI, "check"], project))
            samples["update (nothing to renew)"].append(timed([*CLI, "update"], project))
            samples["remove"].append(timed([*CLI, "remove", "--method", "BenchMethod"], project))
            user = fresh_user_project(Path(folder))
            samples["scaffold (user project, first)"].append(timed([*CLI, *SCAFFOLD], user))
            keras3 = [*SCAFFOLD, "--framework", "keras3"]
            samples["scaffold --framework keras3"].append(timed([*CLI, *keras3], project))
            user = fresh_user_project(Path(folder))
            samples["scaffold keras3 (user, first)"].append(timed([*CLI, *keras3], user))
    medians = {name: statistics.median(w for w, _ in values) for name, values in samples.items()}
    cpu = {name: statistics.median(c for _, c in values) for name, values in samples.items()}
    base = medians["python -c pass"]
    print(
        f"{'command':<32}{'median ms':>12}{'cpu ms':>10}{'x python -c pass':>20}"
        f"   ({repeats} runs each, load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    for name, median in medians.items():
        print(f"{name:<32}{1000 * median:>12.1f}{1000 * cpu[name]:>10.1f}{median / base:>20.2f}")
    return medians


if __name__ == "__main__":
    main()
