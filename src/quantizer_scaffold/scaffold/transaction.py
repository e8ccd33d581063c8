"""All-or-nothing writes into the project: lock, journal, temp file + rename, rollback.

A run holds ``.scaffold-quantizer.lock`` (``flock``) while it reads, plans and writes, so two
runs never interleave. Before the first write it saves a journal with the original bytes of
every path it will touch and the bytes it will write; the journal is deleted only when every
write has landed. A run that dies in between (even by SIGKILL) leaves the journal behind, and
the next run finishes it (every file already written) or undoes it before doing anything
else. Recovery touches a file only while it still holds exactly what the interrupted run left
there (its bytes before or after the run): a file changed since, by hand or by another tool,
stops recovery with its name, and nothing is written (``recover --discard-journal`` then
forgets the interrupted run and keeps every file as it is).

Fault injection (for tests): ``SCAFFOLD_QUANTIZER_FAULT=<point>:<k>[:kill]`` makes the k-th
``journal`` (journal written), ``write`` (temp file written), ``replace`` (rename into place)
or ``delete`` fail with an OSError, or kill the process with SIGKILL when ``:kill`` is given.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import json
import os
import posixpath
import signal
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .errors import LockTimeoutError, RecoveryError, TransactionError, UsageError

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
    """Hold the project's lock; wait up to ``timeout`` seconds for another run to finish.

    The lock is an ``flock`` on the file, which the kernel releases when its holder exits
    (even by SIGKILL): a lock that cannot be taken is always held by a live run. The holder
    writes its process id into the file, for the message of the run that waits.
    """
    import fcntl

    path = root / LOCK_FILE
    deadline = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise UsageError(
                    f"{LOCK_FILE} in {root} is a symlink; scaffold-quantizer never follows "
                    "links out of the project: delete it and run again"
                ) from None
            if error.errno == errno.EISDIR:
                raise UsageError(
                    f"{LOCK_FILE} in {root} is a folder; scaffold-quantizer needs that name "
                    "for its lock file: move the folder away and run again"
                ) from None
            raise UsageError(
                f"cannot create {LOCK_FILE} in {root} ({error.strerror}); "
                "make the folder writable and run again"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            if time.monotonic() > deadline:
                raise LockTimeoutError(
                    f"another scaffold-quantizer run{holder} has been working in this project "
                    f"for more than {timeout:.0f} s (it holds {LOCK_FILE}); wait for it to "
                    "finish and run again"
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
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        os.close(fd)


def _holder(fd: int) -> str:
    """`` (process N)`` from the lock file's content, or nothing when it cannot be read."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (process {text})" if text.isdigit() else ""


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
    try:
        with os.fdopen(_create(temporary), "w", encoding="utf-8") as handle:
            _fault("journal")
            json.dump(journal, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise TransactionError(
            f"could not write {JOURNAL_FILE} ({error.strerror or error}); nothing was written"
        ) from None


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


# --------------------------------------------------------------------------- recovery

_FORGET = (
    "then `scaffold-quantizer recover --discard-journal` forgets the interrupted run and keeps "
    "every file as it is"
)


@dataclass(frozen=True)
class Journal:
    """What an interrupted run meant to do: every change, and the folders it created."""

    changes: list[Change]
    created_dirs: list[str] = field(default_factory=list)


def _malformed(reason: str) -> RecoveryError:
    return RecoveryError(
        f"{JOURNAL_FILE} (left by an interrupted run) is malformed: {reason}; nothing was "
        f"changed: check `git status`, {_FORGET}"
    )


def _journal_path(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise _malformed(f"a path is {value!r}, not a project-relative path")
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts or posixpath.normpath(value) != value:
        raise _malformed(f"the path {value!r} is not a plain path inside the project")
    return value


def _journal_text(value: object, path: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _malformed(f"the bytes of {path} are {type(value).__name__}, not base64 text")
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise _malformed(f"the bytes of {path} are not base64-encoded UTF-8") from None


def read_journal(root: Path) -> Journal | None:
    """The journal an interrupted run left, checked in every field; None if there is none."""
    path = root / JOURNAL_FILE
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise _malformed(f"it cannot be read as JSON ({error})") from None
    if not isinstance(data, dict) or not isinstance(data.get("changes"), list):
        raise _malformed('it is no object with a "changes" list')
    changes = []
    for item in data["changes"]:
        if not isinstance(item, dict) or not {"path", "before", "after"} <= set(item):
            raise _malformed('a change is not an object with "path", "before" and "after"')
        relative = _journal_path(item["path"])
        try:
            inside(root, relative)
        except UsageError:
            raise _malformed(f"the path {relative} leads outside the project") from None
        before = _journal_text(item["before"], relative)
        changes.append(Change(relative, before, _journal_text(item["after"], relative)))
    created = data.get("created_dirs", [])
    if not isinstance(created, list):
        raise _malformed('"created_dirs" is not a list')
    return Journal(changes, [_journal_path(folder) for folder in created])


@dataclass(frozen=True)
class Recovery:
    """How an interrupted run is finished: ``complete`` (every file already written: only
    the journal goes) or ``undo`` (``restore`` goes back to its bytes before the run)."""

    journal: Journal
    action: str  # "complete" or "undo"
    restore: list[Change]  # the journal's changes the run had written (to undo)

    def describe(self, planned: bool = False) -> str:
        count = len(self.journal.changes)
        if self.action == "complete":
            verb = "would complete" if planned else "completed"
            return f"{verb} an interrupted run ({count} files were already written)"
        verb = "would undo" if planned else "undid"
        return (
            f"{verb} an interrupted run: {len(self.restore)} of its {count} files restored to "
            "what they were before it"
        )


def plan_recovery(root: Path, journal: Journal) -> Recovery:
    """Finish or undo ``journal``, refusing (RecoveryError) when a file it lists has changed
    since: it holds neither the bytes from before the run nor what the run wrote."""
    changed, restore = [], []
    for change in journal.changes:
        try:
            current = read_text(root, change.path)
        except UsageError:  # no longer UTF-8 text, or unreadable: not what the run wrote
            changed.append(change.path)
            continue
        if current == change.after and current != change.before:
            restore.append(change)
        elif current != change.before:
            changed.append(change.path)
    if changed:
        more = f" (and {len(changed) - 1} more)" if len(changed) > 1 else ""
        raise RecoveryError(
            f"{changed[0]}{more} changed after a scaffold-quantizer run was interrupted, so "
            "recovery stopped and wrote nothing (it would overwrite that change): compare it "
            f"with `git diff`, {_FORGET}"
        )
    written = all(read_text(root, c.path) == c.after for c in journal.changes)
    return Recovery(journal, "complete" if written else "undo", [] if written else restore)


def _remove_leftovers(root: Path, journal: Journal | None) -> None:
    """The interrupted run's own temporary files (never a user's file)."""
    with contextlib.suppress(FileNotFoundError):
        (root / (JOURNAL_FILE + ".tmp")).unlink()
    for change in journal.changes if journal else []:
        target = inside(root, change.path)
        with contextlib.suppress(FileNotFoundError):
            target.with_name(f".{target.name}.scaffold-tmp").unlink()


def recover(root: Path, discard: bool = False) -> str | None:
    """Finish or undo a run that was interrupted; return what was done, or None.

    ``discard``: forget the interrupted run (its journal) and leave every file as it is.
    """
    path = root / JOURNAL_FILE
    if discard:
        if not path.exists():
            return None
        with contextlib.suppress(RecoveryError):
            _remove_leftovers(root, read_journal(root))
        path.unlink()
        with contextlib.suppress(FileNotFoundError):
            (root / (JOURNAL_FILE + ".tmp")).unlink()
        return (
            f"forgot an interrupted run ({JOURNAL_FILE} deleted); every file is as it was: "
            "`scaffold-quantizer check` shows whether the registry is whole"
        )
    journal = read_journal(root)
    if journal is None:
        with contextlib.suppress(FileNotFoundError):
            (root / (JOURNAL_FILE + ".tmp")).unlink()
        return None
    plan = plan_recovery(root, journal)
    _remove_leftovers(root, journal)
    if plan.action == "undo":
        _restore(root, plan.restore, journal.created_dirs)
    path.unlink()
    return plan.describe()


def journal_left(root: Path) -> bool:
    return (root / JOURNAL_FILE).exists()


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
