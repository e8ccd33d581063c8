"""All-or-nothing writes into the project: lock, journal, temp file + rename, rollback.

A run holds ``.scaffold-quantizer.lock`` (``flock``) while it reads, plans and writes, so two
runs never interleave. Before the first write it saves a journal with the original bytes of
every path it will touch; the journal is deleted only when every write has landed. A run that
dies in between (even by SIGKILL) leaves the journal behind, and the next run restores the
originals from it before doing anything else.

Fault injection (for tests): ``SCAFFOLD_QUANTIZER_FAULT=<point>:<k>[:kill]`` makes the k-th
``write`` (temp file written), ``replace`` (rename into place) or ``delete`` fail with an
OSError, or kill the process with SIGKILL when ``:kill`` is given.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import json
import os
import signal
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import LockTimeoutError, TransactionError, UsageError

LOCK_FILE = ".scaffold-quantizer.lock"
JOURNAL_FILE = ".scaffold-quantizer.journal"
FAULT_ENV = "SCAFFOLD_QUANTIZER_FAULT"

_fault_counts: dict[str, int] = {}


def _fault(point: str) -> None:
    """Fail here if SCAFFOLD_QUANTIZER_FAULT asks for this point's current occurrence."""
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    parts = spec.split(":")
    _fault_counts[point] = _fault_counts.get(point, 0) + 1
    if parts[0] != point or _fault_counts[point] != int(parts[1]):
        return
    if parts[2:] == ["kill"]:
        os.kill(os.getpid(), signal.SIGKILL)
    raise OSError(errno.EIO, f"injected fault at {point} #{parts[1]}")


@dataclass(frozen=True)
class Change:
    """One file: its bytes before (None: absent) and after (None: delete) the run."""

    path: str  # project-relative, POSIX
    before: str | None
    after: str | None

    @property
    def action(self) -> str:
        if self.before == self.after:
            return "UNCHANGED"
        if self.before is None:
            return "CREATE"
        if self.after is None:
            return "DELETE"
        return "UPDATE"


def inside(root: Path, relative: str) -> Path:
    """The real path of ``relative`` under ``root``; refuse anything that leads outside it."""
    real_root = root.resolve()
    target = (root / relative).resolve()
    if target != real_root and real_root not in target.parents:
        raise UsageError(
            f"{relative} resolves to {target}, outside the project {real_root} "
            "(a symlink?); scaffold-quantizer never writes outside the project"
        )
    return target


def read_text(root: Path, relative: str) -> str | None:
    """The file's text exactly as stored (no newline translation), or None if it is absent."""
    path = inside(root, relative)
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise UsageError(f"{relative} is not UTF-8 text; convert it first") from None
    except OSError as error:
        raise UsageError(f"cannot read {relative}: {error.strerror}") from None


@contextlib.contextmanager
def project_lock(root: Path, timeout: float = 30.0) -> Iterator[None]:
    """Hold the project's lock; wait up to ``timeout`` seconds for another run to finish."""
    import fcntl

    path = root / LOCK_FILE
    deadline = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as error:
            if error.errno != errno.ELOOP:
                raise
            raise UsageError(
                f"{LOCK_FILE} in {root} is a symlink; scaffold-quantizer never follows links "
                "out of the project: delete it and run again"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if time.monotonic() > deadline:
                raise LockTimeoutError(
                    f"another scaffold-quantizer run holds {path} for more than {timeout:.0f} s; "
                    "wait for it to finish (or delete the file if no run is active)"
                ) from None
            time.sleep(0.05)
            continue
        # the previous holder may have unlinked the file between our open and our lock
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        os.close(fd)


def _create(path: Path) -> int:
    """A new, empty file at ``path`` opened for writing; a leftover (even a symlink) goes first.

    ``O_EXCL | O_NOFOLLOW``: the bytes never land behind a link planted at this name.
    """
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)


def _read_only(path: Path) -> bool:
    """No write permission, or no write bit at all (which root's ``os.access`` ignores)."""
    return not os.access(path, os.W_OK) or not path.stat().st_mode & 0o222


def _atomic_write(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.scaffold-tmp")
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    try:
        with os.fdopen(_create(temporary), "wb") as handle:
            _fault("write")
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(temporary, mode)
        _fault("replace")
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def _delete(path: Path) -> None:
    _fault("delete")
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _encode(text: str | None) -> str | None:
    return None if text is None else base64.b64encode(text.encode("utf-8")).decode("ascii")


def _decode(data: str | None) -> str | None:
    return None if data is None else base64.b64decode(data).decode("utf-8")


def _write_journal(root: Path, changes: Sequence[Change], created_dirs: Sequence[str]) -> None:
    journal = {
        "changes": [
            {"path": c.path, "before": _encode(c.before), "after": _encode(c.after)}
            for c in changes
        ],
        "created_dirs": list(created_dirs),
    }
    path = root / JOURNAL_FILE
    temporary = path.with_name(path.name + ".tmp")
    with os.fdopen(_create(temporary), "w", encoding="utf-8") as handle:
        json.dump(journal, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _restore(root: Path, changes: Sequence[Change], created_dirs: Sequence[str]) -> None:
    """Put every path back to its ``before`` state and remove the folders the run created."""
    for change in reversed(changes):
        path = inside(root, change.path)
        current = read_text(root, change.path)
        if current == change.before:
            continue
        if change.before is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_plain(path, change.before)
    for folder in sorted(created_dirs, key=len, reverse=True):
        with contextlib.suppress(OSError):
            (root / folder).rmdir()


def _write_plain(path: Path, text: str) -> None:
    """Atomic write without fault points: used to undo, which must not fail on purpose."""
    temporary = path.with_name(f".{path.name}.scaffold-tmp")
    with os.fdopen(_create(temporary), "wb") as handle:
        handle.write(text.encode("utf-8"))
    os.replace(temporary, path)


def recover(root: Path) -> str | None:
    """Finish or undo a run that was interrupted; return what was done, or None."""
    path = root / JOURNAL_FILE
    with contextlib.suppress(FileNotFoundError):
        (root / (JOURNAL_FILE + ".tmp")).unlink()
    try:
        journal = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise TransactionError(
            f"{path} (left by an interrupted run) cannot be read: {error}; "
            "check `git status` and delete it"
        ) from None
    changes = [
        Change(c["path"], _decode(c["before"]), _decode(c["after"])) for c in journal["changes"]
    ]
    for change in changes:  # leftover temporary files of the interrupted run
        target = inside(root, change.path)
        with contextlib.suppress(FileNotFoundError):
            target.with_name(f".{target.name}.scaffold-tmp").unlink()
    if all(read_text(root, c.path) == c.after for c in changes):
        path.unlink()
        return f"completed an interrupted run ({len(changes)} files were already written)"
    _restore(root, changes, journal.get("created_dirs", []))
    path.unlink()
    return f"undid an interrupted run: {len(changes)} files restored"


def apply(root: Path, changes: Sequence[Change], remove_dirs: Sequence[str] = ()) -> list[str]:
    """Write every change or none; return the folders created. ``remove_dirs`` go if empty."""
    pending = [c for c in changes if c.before != c.after]
    if not pending:
        return []
    targets = {c.path: inside(root, c.path) for c in pending}
    for change in pending:  # fail before touching anything
        target = targets[change.path]
        if target.exists() and _read_only(target):
            raise UsageError(f"{change.path} is read-only; make it writable and run again")
        folder = target.parent
        while not folder.exists():
            folder = folder.parent
        if _read_only(folder):
            relative = folder.relative_to(root.resolve()).as_posix() or "."
            raise UsageError(
                f"the folder {relative} (for {change.path}) is read-only; "
                "make it writable and run again"
            )
    created: list[str] = []
    for change in pending:
        if change.after is None:
            continue
        folder = targets[change.path].parent
        missing = []
        while not folder.exists():
            missing.append(folder)
            folder = folder.parent
        for item in reversed(missing):
            relative = item.relative_to(root.resolve()).as_posix()
            if relative not in created:
                created.append(relative)
    _write_journal(root, pending, created)
    done: list[Change] = []
    try:
        for folder in created:
            (root / folder).mkdir(exist_ok=True)
        for change in pending:
            target = targets[change.path]
            done.append(change)
            if change.after is None:
                _delete(target)
            else:
                _atomic_write(target, change.after)
        for folder in sorted(remove_dirs, key=len, reverse=True):
            path = inside(root, folder)
            with contextlib.suppress(OSError):
                path.rmdir()
    except Exception as error:
        _restore(root, done, created)
        for folder in sorted(remove_dirs, key=len):
            (root / folder).mkdir(parents=True, exist_ok=True)
        (root / JOURNAL_FILE).unlink()
        raise TransactionError(
            f"writing {done[-1].path if done else 'the project'} failed ({error}); "
            "every file was restored to what it was before this run"
        ) from error
    (root / JOURNAL_FILE).unlink()
    return created
