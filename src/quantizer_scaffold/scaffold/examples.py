"""Refresh (or check) ``generated_examples/``: the seed's two examples, as the tool writes them.

    python -m quantizer_scaffold.scaffold.examples          # rewrite generated_examples/
    python -m quantizer_scaffold.scaffold.examples --check  # exit 1 if they are out of date

Both run the real generator on a temporary baseline copy of this repository (``src/`` and
``pyproject.toml`` with every method the tool scaffolded into it removed again):
``MyTrainingMethod`` for weights, then for activations (symmetric), on Keras 2 and then on
Keras 3 (``--framework keras3``: the enum member is shared, the Keras 3 dispatcher gains the
entries), and store the generated files plus the registry changes as ``registry.patch``.
"""

from __future__ import annotations

import difflib
import sys
import tempfile
from pathlib import Path

from .api import scaffold
from .baseline import copy_baseline_project
from .naming import Target
from .project import BACKENDS, load_project

EXAMPLES = [
    ("MyTrainingMethod", Target.WEIGHTS, "keras"),
    ("MyTrainingMethod", Target.ACTIVATION, "keras"),
    ("MyTrainingMethod", Target.WEIGHTS, "keras3"),
    ("MyTrainingMethod", Target.ACTIVATION, "keras3"),
]
OUTPUT = "generated_examples"
PATCH = "registry.patch"
OWN_FILES = {"ruff.toml"}  # hand-written configuration of the folder, not generated


def stored_examples(output: Path) -> dict[str, str]:
    """The generated files under ``output`` (caches and the folder's own config left out)."""
    if not output.exists():
        return {}
    return {
        path.relative_to(output).as_posix(): path.read_bytes().decode("utf-8")
        for path in sorted(output.rglob("*"))
        if path.is_file()
        and path.relative_to(output).as_posix() not in OWN_FILES
        and not any(p.startswith((".", "__pycache__")) for p in path.relative_to(output).parts)
    }


def repository_root() -> Path:
    return Path(__file__).resolve().parents[3]


def render_examples(repo: Path) -> dict[str, str]:
    """Relative path inside generated_examples/ -> text."""
    with tempfile.TemporaryDirectory(prefix="scaffold-examples-") as folder:
        copy = copy_baseline_project(repo, Path(folder))
        config = load_project(copy).config
        registry_files = [config.training_method_file]
        registry_files += [config.backend(backend).dispatcher_file for backend in BACKENDS]
        before = {p: (copy / p).read_text(encoding="utf-8") for p in registry_files}
        files: dict[str, str] = {}
        for method, target, backend in EXAMPLES:
            report = scaffold(method, target, ["symmetric"], root=copy, backend=backend)
            for item in report.files:
                if item.action == "CREATE" and item.path.endswith(".py"):
                    files[item.path] = (copy / item.path).read_text(encoding="utf-8")
        patch = []
        for path in registry_files:
            after = (copy / path).read_text(encoding="utf-8")
            patch.extend(
                difflib.unified_diff(
                    before[path].splitlines(keepends=True),
                    after.splitlines(keepends=True),
                    fromfile=f"a/{path}",
                    tofile=f"b/{path}",
                )
            )
        files[PATCH] = "".join(patch)
        return files


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    repo = repository_root()
    expected = render_examples(repo)
    output = repo / OUTPUT
    current = stored_examples(output)
    if "--check" in args:
        stale = sorted(p for p in set(expected) | set(current) if expected.get(p) != current.get(p))
        for path in stale:
            print(f"out of date: {OUTPUT}/{path}")
        return 1 if stale else 0
    for path in set(current) - set(expected):
        (output / path).unlink()
    for path, text in expected.items():
        target = output / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode("utf-8"))
        print(f"wrote {OUTPUT}/{path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
