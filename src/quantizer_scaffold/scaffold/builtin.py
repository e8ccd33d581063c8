"""The installed runtime's own registry, seen from a user's project.

Read from quantizer_scaffold's files (never imported): ``list`` shows its methods beside the
project's, and a project method may not take a built-in method's name (in any case).
"""

from __future__ import annotations

from pathlib import Path

from . import registry
from .errors import ConflictError
from .naming import MethodName
from .project import BACKENDS, ENUM_FILE, RUNTIME, Project


def builtin_registry(project: Project, backend: str) -> registry.Registry | None:
    """The installed runtime's own registry (read from its files, never imported), when this
    project is a user's package that uses quantizer-scaffold's runtime."""
    config = project.config
    if config.uses_own_runtime or config.runtime != RUNTIME:
        return None
    import quantizer_scaffold

    base = Path(quantizer_scaffold.__file__).resolve().parent
    files = [base / ENUM_FILE, base / BACKENDS[backend].dispatcher]
    try:
        enum_text, dispatcher_text = (f.read_bytes().decode("utf-8") for f in files)
    except OSError:
        return None
    return registry.Registry(
        registry.RegistryTexts(
            enum_text,
            f"{RUNTIME}/{ENUM_FILE}",
            dispatcher_text,
            f"{RUNTIME}/{BACKENDS[backend].dispatcher}",
        )
    )


def refuse_builtin_name(project: Project, name: MethodName, backend: str) -> None:
    builtin = builtin_registry(project, backend)
    for member in builtin.members if builtin else []:
        if member.lower() == name.enum_member.lower():
            raise ConflictError(
                f"{name.enum_member} is quantizer-scaffold's built-in training method "
                f"{member}: use it as it is (QATConfig(weight_training_method=TrainingMethod."
                f"{member}) with TrainingMethod from quantizer_scaffold.qat), or choose "
                "another --method name"
            )
