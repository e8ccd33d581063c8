"""Rendering: the cookiecutter template in ``templates/`` into a staging folder, then memory.

Rendering goes through cookiecutter's Python API with Jinja2's StrictUndefined (a misspelt
variable fails instead of writing an empty string). Nothing is written into the project here.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .. import __version__
from .errors import ScaffoldError
from .naming import MethodName, Target
from .parameters import DeclaredParameter, roles
from .project import Project

PACKAGE_DIR = "package"
TESTS_DIR = "tests"


def template_dir() -> Path:
    """The template inside the installed package (wheel), else the repository's ``templates/``."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "templates", here.parents[2] / "templates"):
        if (candidate / "cookiecutter.json").is_file():
            return candidate
    raise ScaffoldError(
        "the generator's templates are missing (looked in the package and the repository); "
        "reinstall quantizer-scaffold"
    )


def module_of(project: Project, relative_file: str) -> str:
    """The dotted module of a ``.py`` file under ``source_root``."""
    path = PurePosixPath(relative_file)
    return project.config.module_of(str(path.with_suffix("")))


@dataclass(frozen=True)
class Rendering:
    """What one run generates: project-relative POSIX path -> file text."""

    files: dict[str, str]
    package_dir: str
    training_module: str  # dotted, what the dispatcher imports
    training_file: str
    inferable_file: str
    test_file: str


def context(
    project: Project,
    name: MethodName,
    target: Target,
    methods: Sequence[str],
    parameters: Sequence[DeclaredParameter],
) -> dict[str, object]:
    """The template variables; every name comes from ``name`` (see naming.py)."""
    config = project.config
    package_dir = f"{config.quantizers_dir}/{name.package}"
    return {
        "method": name.camel,
        "method_snake": name.snake,
        "target": target.value,
        "target_word": target.word,
        "qi_target": target.qi_name,
        "quantization_methods": ",".join(methods),
        "parameters": {
            "declared": [p.to_context() for p in parameters],
            "roles": roles(parameters, methods),
        },
        "package": config.package,
        "quantizers_module": config.module_of(package_dir),
        "training_method_module": module_of(project, config.training_method_file),
        "dispatcher_module": module_of(project, config.dispatcher_file),
        "training_class": name.training_class(target),
        "inferable_class": name.inferable_class(target),
        "training_module": name.training_module(target),
        "inferable_module": name.inferable_module(target),
        "test_module": name.test_module(target),
        "line_length": project.line_length,
        "generator_version": __version__,
    }


def render_files(variables: dict[str, object], template: Path | None = None) -> dict[str, str]:
    """Render the template with ``variables`` into a temporary folder; return path -> text."""
    from cookiecutter.exceptions import CookiecutterException
    from cookiecutter.generate import generate_context, generate_files
    from jinja2 import TemplateError

    template = template or template_dir()
    with tempfile.TemporaryDirectory(prefix="scaffold-quantizer-") as staging:
        try:
            ctx = generate_context(
                context_file=str(template / "cookiecutter.json"), extra_context=variables
            )
            out = Path(
                generate_files(
                    repo_dir=str(template), context=ctx, output_dir=staging, accept_hooks=False
                )
            )
        except (CookiecutterException, TemplateError) as error:
            raise ScaffoldError(f"rendering the template {template} failed: {error}") from None
        return {
            path.relative_to(out).as_posix(): path.read_bytes().decode("utf-8")
            for path in sorted(out.rglob("*"))
            if path.is_file() and not _is_cache(path.relative_to(out))
        }


def _is_cache(relative: Path) -> bool:
    """Bytecode that an installer compiled inside the template (pip does, in a wheel)."""
    return "__pycache__" in relative.parts or relative.suffix in {".pyc", ".pyo"}


def render(
    project: Project,
    name: MethodName,
    target: Target,
    methods: Sequence[str],
    parameters: Sequence[DeclaredParameter],
) -> Rendering:
    """The files of one run, at their places in the project."""
    config = project.config
    variables = context(project, name, target, methods, parameters)
    package_dir = f"{config.quantizers_dir}/{name.package}"
    files: dict[str, str] = {}
    for staged, text in render_files(variables).items():
        top, _, rest = staged.partition("/")
        if top == PACKAGE_DIR:
            files[f"{package_dir}/{rest}"] = text
        elif top == TESTS_DIR:
            files[f"{config.tests_dir}/{rest}"] = text
        else:  # pragma: no cover - a template layout error
            raise ScaffoldError(f"the template renders {staged!r} outside package/ and tests/")
    return Rendering(
        files=files,
        package_dir=package_dir,
        training_module=f"{variables['quantizers_module']}.{variables['training_module']}",
        training_file=f"{package_dir}/{variables['training_module']}.py",
        inferable_file=f"{package_dir}/{variables['inferable_module']}.py",
        test_file=f"{config.tests_dir}/{variables['test_module']}.py",
    )
