"""Rendering: a cookiecutter template (``templates/`` or the project's own) into memory.

The templates are cookiecutter templates: ``cookiecutter.json`` (the variables with example
values, and ``_jinja2_env_vars``), one ``{{cookiecutter.method_snake}}/`` folder holding
``package/`` (the method's modules) and ``tests/`` (its test module), and Jinja2 in file
names and contents. They are rendered here with Jinja2 directly, the way cookiecutter's
``generate_files`` renders them (same variables, environment options and
``_copy_without_render``), but in memory and without importing cookiecutter (about 0.1 s of
the CLI's time, mostly its default extensions) or writing a staging folder. StrictUndefined:
a misspelt variable fails instead of writing an empty string.

``TEMPLATE_VARIABLES`` documents every variable; a project's own templates get the same.
"""

from __future__ import annotations

import fnmatch
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from .. import __version__
from .errors import ScaffoldError, UsageError
from .naming import MethodName, Target
from .project import DEFAULT_BACKEND, Project

if TYPE_CHECKING:  # parameters.py loads the runtime's framework-free core: only scaffold needs it
    from .parameters import DeclaredParameter

PACKAGE_DIR = "package"
TESTS_DIR = "tests"

TEMPLATE_VARIABLES = {
    "method": "the enum member and class-name stem (MyTrainingMethod)",
    "method_snake": "the method's module folder (my_training_method)",
    "target": "weights or activation",
    "target_word": "Weights or Activations (in class and module names)",
    "qi_target": "the qi.QuantizationTarget member: Weights or Activation",
    "quantization_methods": "comma-separated grids: symmetric,power_of_two,uniform",
    "parameters": "the declared parameters (--param): 'declared', a list of {name, kind "
    "(fixed|learned), initial (a statistic name or a number as Python source), per_channel, "
    "methods (the grids it applies to; empty: all)}, and 'roles', one {method, <grid value>: "
    "parameter name or None} per grid (which parameter plays threshold / range_min / "
    "range_max in the first math)",
    "package": "the project's import package (where generated code goes)",
    "runtime": "the package generated code imports the runtime from (quantizer_scaffold)",
    "backend": "the back end the dispatcher serves: keras (Keras 2, tf_keras) or keras3 "
    "(Keras 3, keras.ops, on TensorFlow or JAX); the built-in templates render either",
    "quantizers_module": "dotted module of the method's folder",
    "training_method_module": "dotted module that defines TrainingMethod",
    "dispatcher_module": "dotted module of the back end's dispatcher dictionaries",
    "project_registry": "'yes' when the dispatcher is the project's own (not the runtime's): "
    "generated tests then register it with register_dispatcher",
    "training_class": "the trainable quantizer class",
    "inferable_class": "the inferable quantizer class",
    "training_module": "module (file stem) of the trainable quantizer",
    "inferable_module": "module (file stem) of the inferable quantizer",
    "test_module": "file stem of the generated test module (suffixed _keras3 for Keras 3, so "
    "that one method's pairs of both back ends have their own test modules)",
    "line_length": "the project's line length (ruff or black), for wrapping long lines",
    "generator_version": "the scaffold-quantizer version that rendered the files",
}


def builtin_template_dir() -> Path:
    """The template inside the installed package (wheel), else the repository's ``templates/``
    (one template for every back end: ``backend`` picks Keras 2 or Keras 3 code)."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "templates", here.parents[2] / "templates"):
        if (candidate / "cookiecutter.json").is_file():
            return candidate
    raise ScaffoldError(
        "the generator's templates are missing (looked in the package and the repository); "
        "reinstall quantizer-scaffold"
    )


def project_template_dir(project: Project, backend: str) -> Path:
    """The project's own templates for ``backend`` if it names a folder, else the built-in ones."""
    configured = project.config.templates_for(backend)
    if configured is None:
        return builtin_template_dir()
    folder = project.path(configured)
    if not (folder / "cookiecutter.json").is_file():
        raise UsageError(
            f"[tool.scaffold-quantizer] templates = {configured!r} has no cookiecutter.json; "
            "copy the built-in templates folder there and edit it"
        )
    return folder


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
    backend: str = DEFAULT_BACKEND,
) -> dict[str, object]:
    """The template variables (see ``TEMPLATE_VARIABLES``); every name comes from ``name``."""
    from .parameters import roles

    config = project.config
    layout = config.backend(backend)
    package_dir = f"{layout.quantizers_dir}/{name.package}"
    dispatcher_module = module_of(project, layout.dispatcher_file)
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
        "runtime": config.runtime,
        "backend": backend,
        "quantizers_module": config.module_of(package_dir),
        "training_method_module": module_of(project, config.training_method_file),
        "dispatcher_module": dispatcher_module,
        "project_registry": "no" if config.uses_own_runtime else "yes",
        "training_class": name.training_class(target),
        "inferable_class": name.inferable_class(target),
        "training_module": name.training_module(target),
        "inferable_module": name.inferable_module(target),
        "test_module": name.test_module(target)
        + ("" if backend == DEFAULT_BACKEND else f"_{backend}"),
        "line_length": project.line_length,
        "generator_version": __version__,
    }


def render_files(variables: dict[str, object], template: Path | None = None) -> dict[str, str]:
    """Render the template with ``variables``; return its relative paths -> texts."""
    import jinja2

    template = template or builtin_template_dir()
    try:
        settings = json.loads((template / "cookiecutter.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ScaffoldError(f"cannot read {template / 'cookiecutter.json'}: {error}") from None
    options = dict(settings.get("_jinja2_env_vars", {}))
    environment = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        **options,
    )
    verbatim = list(settings.get("_copy_without_render", []))
    values = {k: v for k, v in settings.items() if not k.startswith("_")}
    values.update(variables)
    scope = {"cookiecutter": values}
    roots = [p for p in template.iterdir() if p.is_dir() and "{{" in p.name]
    if len(roots) != 1:
        raise ScaffoldError(
            f"the template {template} must hold exactly one folder named with "
            "{{cookiecutter...}}; found " + (", ".join(p.name for p in roots) or "none")
        )
    root = roots[0]
    files: dict[str, str] = {}
    try:
        for folder, subfolders, names in os.walk(root):
            subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
            for file_name in sorted(names):
                path = Path(folder) / file_name
                relative = path.relative_to(root).as_posix()
                if path.suffix in {".pyc", ".pyo"}:
                    continue  # bytecode an installer compiled inside the template
                target = environment.from_string(relative).render(scope)
                text = path.read_bytes().decode("utf-8")
                if not any(fnmatch.fnmatch(relative, p) for p in verbatim):
                    text = environment.from_string(text).render(scope)
                files[target] = text
    except jinja2.TemplateError as error:
        raise ScaffoldError(f"rendering the template {template} failed: {error}") from None
    return files


def render(
    project: Project,
    name: MethodName,
    target: Target,
    methods: Sequence[str],
    parameters: Sequence[DeclaredParameter],
    backend: str = DEFAULT_BACKEND,
) -> Rendering:
    """The files of one run, at their places in the project."""
    config = project.config
    variables = context(project, name, target, methods, parameters, backend)
    package_dir = f"{config.backend(backend).quantizers_dir}/{name.package}"
    files: dict[str, str] = {}
    for staged, text in render_files(variables, project_template_dir(project, backend)).items():
        top, _, rest = staged.partition("/")
        if top == PACKAGE_DIR and rest:
            files[f"{package_dir}/{rest}"] = text
        elif top == TESTS_DIR and rest:
            files[f"{config.tests_dir}/{rest}"] = text
        else:
            raise ScaffoldError(f"the template renders {staged!r} outside package/ and tests/")
    return Rendering(
        files=files,
        package_dir=package_dir,
        training_module=f"{variables['quantizers_module']}.{variables['training_module']}",
        training_file=f"{package_dir}/{variables['training_module']}.py",
        inferable_file=f"{package_dir}/{variables['inferable_module']}.py",
        test_file=f"{config.tests_dir}/{variables['test_module']}.py",
    )
