"""How the generator's time per operation grows with the size of the registry it edits.

Run: python benchmarks/registry_scaling.py [--sizes 10 100 1000] [--repeats 3] [--tiny]
For each size N, a temporary copy of this project gets a registry holding N training methods
(STE, LSQ and N - 2 synthetic ones, each with a weights and an activation quantizer module
and entries in both dispatcher dictionaries, written in the generator's own layout). Then,
per repeat and interleaved over the sizes, it times through the library API that the CLI
calls (in-process: no interpreter start, see cli_latency.py for that): scaffold --dry-run,
scaffold, list and remove of one new method; remove must leave the registry byte-identical.
Figures: median ms per operation and size, the ratio to the smallest size, the cost per
registered method, and the log-log slope between the two largest sizes (1.0 = linear).
"""

from __future__ import annotations

import argparse
import math
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from quantizer_scaffold.scaffold import api

REPO = Path(__file__).resolve().parents[1]
ENUM_FILE = "src/quantizer_scaffold/qat/common/qat_config.py"
DISPATCHER_FILE = "src/quantizer_scaffold/qat/keras/quantizer/quantization_dispatcher_builder.py"
QUANTIZERS = "src/quantizer_scaffold/qat/keras/quantizer"
PACKAGE = "quantizer_scaffold.qat.keras.quantizer"
PROBE = "ScalingProbe"  # the method each repeat scaffolds and removes
OPERATIONS = ("scaffold --dry-run", "scaffold", "list", "remove")


def synthetic_names(count: int) -> list[str]:
    return [f"Synthetic{i:04d}" for i in range(count)]


def grow_registry(project: Path, count: int) -> None:
    """Add ``count`` synthetic methods to the project's enum, dispatcher and quantizer folder."""
    names = synthetic_names(count)
    enum_path = project / ENUM_FILE
    enum_text = enum_path.read_text(encoding="utf-8")
    last = list(re.finditer(r"^    (\w+) = (\d+)\n", enum_text, flags=re.MULTILINE))[-1]
    first_value = int(last.group(2)) + 1
    members = "".join(f"    {name} = {first_value + i}\n" for i, name in enumerate(names))
    enum_path.write_text(enum_text[: last.end()] + members + enum_text[last.end() :], "utf-8")

    dispatcher_path = project / DISPATCHER_FILE
    text = dispatcher_path.read_text(encoding="utf-8")
    imports, entries = [], {"weights": [], "activations": []}
    for name in names:
        module = name.lower()
        package = project / QUANTIZERS / module
        package.mkdir()
        (package / "__init__.py").write_text(f'"""{name}: registry-scaling fixture."""\n')
        for kind in ("activations", "weights"):
            class_name = f"{name}{kind.capitalize()}TrainingQuantizer"
            (package / f"{kind}_training_quantizer.py").write_text(
                f'"""{name} {kind}: registry-scaling fixture."""\n\n\n'
                f"class {class_name}:\n"
                f'    """Never imported: the benchmark only edits and reads the registry."""\n'
            )
            imports.append(
                f"from {PACKAGE}.{module}.{kind}_training_quantizer import (\n"
                f"    {class_name},\n)\n"
            )
            entries[kind].append(
                f"    TrainingMethod.{name}: {{\n"
                f"        qi.QuantizationMethod.SYMMETRIC: {class_name},\n    }},\n"
            )
    # after the existing imports, where sorting puts them ("synthetic" > "ste_rounding")
    anchor = "\nMETHOD2WEIGHTQUANTIZER = {"
    text = text.replace(anchor, "".join(imports) + anchor, 1)
    for kind, table in (
        ("weights", "METHOD2WEIGHTQUANTIZER"),
        ("activations", "METHOD2ACTQUANTIZER"),
    ):
        start = text.index(f"{table} = {{")
        end = text.index("\n}\n", start) + 1
        text = text[:end] + "".join(entries[kind]) + text[end:]
    dispatcher_path.write_text(text, encoding="utf-8")


def make_project(folder: Path, size: int) -> Path:
    """A copy of ``src/`` and ``pyproject.toml`` whose registry holds ``size`` methods."""
    project = folder / f"registry_{size}"
    shutil.copytree(REPO / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(REPO / "pyproject.toml", project / "pyproject.toml")
    _, methods = api.list_methods(root=project, backend="keras")
    grow_registry(project, size - len(methods))
    _, methods = api.list_methods(root=project, backend="keras")
    if len(methods) != size:
        raise RuntimeError(f"built a registry of {len(methods)} methods, wanted {size}")
    return project


def registry_bytes(project: Path) -> tuple[bytes, bytes]:
    return (project / ENUM_FILE).read_bytes(), (project / DISPATCHER_FILE).read_bytes()


def cycle(project: Path) -> dict[str, float]:
    """Seconds of each operation on ``project``; the registry ends as it started."""
    before = registry_bytes(project)
    calls = {
        "scaffold --dry-run": lambda: api.scaffold(PROBE, "weights", root=project, dry_run=True),
        "scaffold": lambda: api.scaffold(PROBE, "weights", root=project),
        "list": lambda: api.list_methods(root=project),
        "remove": lambda: api.remove(PROBE, root=project),
    }
    seconds = {}
    for name in OPERATIONS:
        start = time.perf_counter()
        calls[name]()
        seconds[name] = time.perf_counter() - start
    if registry_bytes(project) != before:
        raise RuntimeError(f"remove did not restore the registry of {project.name}")
    return seconds


def table(medians: dict[int, dict[str, float]]) -> str:
    sizes = sorted(medians)
    small, large = sizes[0], sizes[-1]
    previous = sizes[-2] if len(sizes) > 1 else small
    header = (
        f"{'operation':<20}"
        + "".join(f"{f'{n} ms':>11}" for n in sizes)
        + "".join(f"{f'x{n}/{small}':>11}" for n in sizes[1:])
        + f"{'us/method':>11}{'slope':>8}"
    )
    lines = [header, "-" * len(header)]
    for operation in OPERATIONS:
        times = [medians[n][operation] for n in sizes]
        per_method = (times[-1] - times[0]) / (large - small) if large > small else 0.0
        slope = (
            math.log(medians[large][operation] / medians[previous][operation])
            / math.log(large / previous)
            if large > previous
            else float("nan")
        )
        lines.append(
            f"{operation:<20}"
            + "".join(f"{1000 * t:>11.1f}" for t in times)
            + "".join(f"{t / times[0]:>11.2f}" for t in times[1:])
            + f"{1e6 * per_method:>11.1f}{slope:>8.2f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[int, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tiny", action="store_true", help="sizes 10 and 40, one repeat")
    args = parser.parse_args(argv)
    if args.tiny:
        args.sizes, args.repeats = [10, 40], 1
    sizes = sorted(args.sizes)
    if sizes[0] < 2:
        parser.error("every size must be at least 2 (the registry already holds STE and LSQ)")
    samples: dict[int, dict[str, list[float]]] = {n: {op: [] for op in OPERATIONS} for n in sizes}
    with tempfile.TemporaryDirectory() as folder:
        projects = {n: make_project(Path(folder), n) for n in sizes}
        cycle(projects[sizes[0]])  # warm-up: imports, templates, libcst's first parse
        for repeat in range(args.repeats):
            shift = repeat % len(sizes)
            for n in sizes[shift:] + sizes[:shift]:
                for operation, seconds in cycle(projects[n]).items():
                    samples[n][operation].append(seconds)
    medians = {n: {op: statistics.median(v) for op, v in ops.items()} for n, ops in samples.items()}
    print(f"registry scaling, in-process API, median of {args.repeats} (sizes interleaved)")
    print(table(medians))
    print("slope: log-log growth between the two largest sizes; 1.0 is linear, below is better")
    return medians


if __name__ == "__main__":
    main()
