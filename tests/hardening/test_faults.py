"""Injected faults: every k-th write/replace/delete fails or kills, and the tree stays whole.

Failures are injected in-process (``SCAFFOLD_QUANTIZER_FAULT``, counters reset per run); kills
need a real process, so each ``:kill`` point runs a subprocess and the next run recovers.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hardening_helpers import assert_whole, tree_state, tried

from quantizer_scaffold.scaffold import api, transaction
from quantizer_scaffold.scaffold.errors import TransactionError

POINTS = ("write", "replace", "delete")
SCAFFOLD = ("scaffold", "FaultMethod", "weights")
# remove both targets of a method scaffolded for both (more files, deletes and rmdirs)
REMOVE = ("remove", "FaultMethod", None)


def _run(operation: tuple[str, str, str | None], root: Path) -> api.Report:
    command, method, target = operation
    if command == "scaffold":
        return api.scaffold(method, target, ["symmetric", "uniform"], root=root)
    return api.remove(method, target, root=root)


def _prepare(operation: tuple[str, str, str | None], root: Path) -> Path:
    if operation[0] == "remove":
        api.scaffold("FaultMethod", "weights", root=root)
        api.scaffold("FaultMethod", "activation", ["uniform"], root=root)
    return root


def _count(operation, root: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many of each fault point one clean run passes (on a throwaway copy)."""
    monkeypatch.setenv(transaction.FAULT_ENV, "none:0")
    transaction._fault_counts.clear()
    _run(operation, root)
    counts = {point: transaction._fault_counts.get(point, 0) for point in POINTS}
    monkeypatch.delenv(transaction.FAULT_ENV)
    return counts


@pytest.mark.parametrize("operation", [SCAFFOLD, REMOVE], ids=["scaffold", "remove"])
def test_every_failed_write_replace_or_delete_leaves_the_tree_as_it_was(
    operation, new_project: Callable[[], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    counts = _count(operation, _prepare(operation, new_project()), monkeypatch)
    assert counts["write"] >= 2 and counts["write"] == counts["replace"]
    assert counts["delete"] >= (3 if operation[0] == "remove" else 0)
    project = _prepare(operation, new_project())
    before = tree_state(project)
    injected = []
    for point in POINTS:
        for k in range(1, counts[point] + 1):
            monkeypatch.setenv(transaction.FAULT_ENV, f"{point}:{k}")
            transaction._fault_counts.clear()
            with pytest.raises(TransactionError, match="restored") as error:
                _run(operation, project)
            assert "\n" not in str(error.value)
            assert tree_state(project) == before, f"{point}:{k}"
            injected.append(f"{point}:{k}")
    tried("faults: injected failures", len(injected))
    print(f"{operation[0]}: {counts} -> {len(injected)} injected failures: {' '.join(injected)}")
    monkeypatch.setenv(transaction.FAULT_ENV, f"replace:{counts['replace'] + 1}")
    transaction._fault_counts.clear()
    _run(operation, project)  # one past the last point: nothing fails, the run completes
    assert_whole(project)


def _subprocess(operation, root: Path, fault: str | None) -> subprocess.Popen[str]:
    command, method, target = operation
    code = (
        "import sys\n"
        "from quantizer_scaffold.scaffold import api\n"
        f"root, fault = {str(root)!r}, {fault!r}\n"
        + (
            f"api.scaffold({method!r}, {target!r}, ['symmetric', 'uniform'], root=root)\n"
            if command == "scaffold"
            else f"api.remove({method!r}, {target!r}, root=root)\n"
        )
    )
    env = {**os.environ}
    env.pop(transaction.FAULT_ENV, None)
    if fault:
        env[transaction.FAULT_ENV] = fault
    return subprocess.Popen(
        [sys.executable, "-c", code], env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def _recover_and_check(project: Path, before: dict[str, str], after: dict[str, str]) -> str:
    """The next run's recovery leaves the tree exactly before or exactly after; return which."""
    with transaction.project_lock(project):
        transaction.recover(project)
    state = tree_state(project)
    assert state in (before, after)
    assert_whole(project)
    return "undone" if state == before else "completed"


@pytest.mark.parametrize("operation", [SCAFFOLD, REMOVE], ids=["scaffold", "remove"])
def test_a_kill_at_every_write_replace_or_delete_is_recovered(
    operation, new_project: Callable[[], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = _prepare(operation, new_project())
    before = tree_state(reference)
    counts = _count(operation, reference, monkeypatch)
    after = tree_state(reference)
    points = [f"{p}:{k}:kill" for p in POINTS for k in range(1, counts[p] + 1)]
    projects = [_prepare(operation, new_project()) for _ in points]

    def killed(job: tuple[str, Path]) -> int:
        run = _subprocess(operation, job[1], job[0])
        run.communicate(timeout=120)
        return run.returncode

    with ThreadPoolExecutor(max_workers=2) as pool:
        codes = list(pool.map(killed, zip(points, projects, strict=True)))
    assert codes == [-signal.SIGKILL] * len(points)
    outcomes = {}
    for point, project in zip(points, projects, strict=True):
        assert (project / transaction.JOURNAL_FILE).exists(), point
        outcomes[point] = _recover_and_check(project, before, after)
        if outcomes[point] == "undone":
            _run(operation, project)
        assert tree_state(project) == after, point  # the next run then does the whole job
    tried("faults: kill at every point", len(points))
    print(f"{operation[0]}: {len(points)} kill points: {outcomes}")


def test_kills_at_random_times_are_recovered(new_project: Callable[[], Path]) -> None:
    reference = new_project()
    before = tree_state(reference)
    started = time.monotonic()
    run = _subprocess(SCAFFOLD, reference, None)
    run.communicate(timeout=120)
    duration = time.monotonic() - started
    after = tree_state(reference)
    rng = random.Random(20240611)
    outcomes = []
    for _ in range(6):
        project = new_project()
        run = _subprocess(SCAFFOLD, project, None)
        time.sleep(rng.uniform(0.5, 1.0) * duration)
        run.send_signal(signal.SIGKILL)
        run.communicate(timeout=120)
        outcomes.append(_recover_and_check(project, before, after))
    tried("faults: kills at random times", len(outcomes))
    print(f"random-time kills over a {duration:.2f} s run: {outcomes}")


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_scaffolds_never_lose_an_update(
    round_: int, new_project: Callable[[], Path]
) -> None:
    project = new_project()
    api.scaffold("Resident", "weights", root=project)
    runs = {
        "AlphaMethod": _subprocess(("scaffold", "AlphaMethod", "weights"), project, None),
        "BetaMethod": _subprocess(("scaffold", "BetaMethod", "activation"), project, None),
        "Resident": _subprocess(("remove", "Resident", None), project, None),
    }
    results = {name: (run.communicate(timeout=120), run.returncode) for name, run in runs.items()}
    tried("faults: concurrent runs", len(runs))
    registered = {m.name: m.quantizers for m in assert_whole(project)}
    for name, ((_, err), code) in results.items():
        if code != 0:  # a clear one-line failure is allowed; nothing half-done
            assert err.strip().splitlines()[-1].startswith(("quantizer_scaffold", "LockTimeout")), (
                err
            )
            continue
        if name == "Resident":
            assert name not in registered
        else:
            assert registered[name], name
    assert [code for _, code in results.values()] == [0, 0, 0]  # the lock serializes them
