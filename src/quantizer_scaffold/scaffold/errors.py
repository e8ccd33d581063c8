"""The generator's errors: each one is a one-line message that names the problem and the fix."""

from __future__ import annotations


class ScaffoldError(Exception):
    """Something stopped the generator; nothing was written (or everything was rolled back)."""

    exit_code = 1


class UsageError(ScaffoldError):
    """Bad input from the user: an invalid name, option or project layout (exit code 2)."""

    exit_code = 2


class InvalidNameError(UsageError):
    """A ``--method`` value that cannot become a training method."""


class ConflictError(ScaffoldError):
    """A file or registration exists that this run must not replace (exit code 2)."""

    exit_code = 2


class RegistryError(ScaffoldError):
    """A registry file cannot be read or rewritten as expected (exit code 2)."""

    exit_code = 2


class RecoveryError(UsageError):
    """An interrupted run cannot be finished or undone without touching a user's change."""


class LockTimeoutError(ScaffoldError):
    """Another run holds the project's lock."""


class TransactionError(ScaffoldError):
    """Writing failed; every file was restored to what it was before the run."""
