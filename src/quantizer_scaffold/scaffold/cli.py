"""``scaffold-quantizer``: a thin click shell over :mod:`quantizer_scaffold.scaffold.api`.

``scaffold-quantizer --method X --target weights`` scaffolds (the group runs without a
subcommand); ``remove``, ``update``, ``check``, ``recover`` and ``list`` are subcommands.
Every error is one line on stderr: exit code 2 for bad input or a conflict, 1 for a failed
write (rolled back), for ``--check`` when something would change, for ``check`` when it
finds a problem and for ``update`` when it marked a conflict.
Shell completion: ``eval "$(_SCAFFOLD_QUANTIZER_COMPLETE=bash_source scaffold-quantizer)"``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from .errors import ScaffoldError
from .naming import QuantizationMethod, Target
from .project import BACKENDS

PROG = "scaffold-quantizer"
FRAMEWORKS = list(BACKENDS)
TARGETS = [t.value for t in Target]
METHODS = [m.value for m in QuantizationMethod]
STYLES = {
    "CREATE": "green",
    "UPDATE": "yellow",
    "DELETE": "red",
    "UNCHANGED": None,
    "KEEP": "cyan",
}


def _complete(choices: list[str]) -> Any:
    def complete(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
        return [c for c in choices if c.startswith(incomplete)]

    return complete


def _method_option(required: bool) -> Any:
    return click.option(
        "--method",
        "-m",
        metavar="NAME",
        required=required,
        help="Training method: MyTrainingMethod, my_training_method or my-training-method.",
    )


def _only_target_option(text: str) -> Any:
    return click.option(
        "--target",
        "-t",
        default=None,
        metavar="weights|activation",
        shell_complete=_complete(TARGETS),
        help=text,
    )


def _framework_option(text: str) -> Any:
    return click.option(
        "--framework",
        "-f",
        default=None,
        metavar="|".join(FRAMEWORKS),
        shell_complete=_complete(FRAMEWORKS),
        help=text,
    )


def _root_option() -> Any:
    return click.option(
        "--root",
        type=click.Path(file_okay=False, path_type=str),
        help="Project to work in (default: the nearest folder with pyproject.toml).",
    )


def _write_options(command: Any) -> Any:
    for option in reversed(
        [
            click.option("--dry-run", is_flag=True, help="Show what would change, with diffs."),
            click.option(
                "--check", is_flag=True, help="Write nothing; exit 1 if anything would change."
            ),
            click.option(
                "--json", "as_json", is_flag=True, help="Print a machine-readable report."
            ),
        ]
    ):
        command = option(command)
    return command


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def _print_report(report: Any, as_json: bool, show_diffs: bool) -> None:
    """The report as the user reads it (click's styles: rich's import would cost 35 ms)."""
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    echo = click.secho
    for note in report.notes:
        echo(f"note: {note}", fg="cyan")
    width = max((len(f.action) for f in report.files), default=6)
    for item in report.files:
        line = click.style(f"{item.action:<{width}}  ", fg=STYLES.get(item.action))
        line += click.style(item.path, dim=item.action == "UNCHANGED")
        if item.note:
            line += click.style(f"  ({item.note})", dim=True)
        click.echo(line)
        if show_diffs and item.diff:
            for diff_line in item.diff.splitlines():
                colour = {"+": "green", "-": "red"}.get(diff_line[:1])
                echo(diff_line, fg=colour, dim=colour is None)
    if report.dry_run:
        verdict = "would change files" if report.changed else "nothing to change"
        echo(f"dry run: {verdict}; nothing was written", bold=True)
    elif not report.changed:
        echo("nothing to change: everything is up to date", bold=True)
    if report.next_steps and not report.dry_run:
        echo("\nNext steps:", bold=True)
        for number, step in enumerate(report.next_steps, 1):
            click.echo(f"  {number}. {step}")


def _finish(report: Any, as_json: bool, dry_run: bool, check: bool) -> None:
    _print_report(report, as_json, show_diffs=dry_run)
    if check and report.changed:
        raise click.exceptions.Exit(1)


class _ScaffoldGroup(click.Group):
    """A group whose own options scaffold when no subcommand follows."""

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage(PROG, "--method NAME [--target weights|activation] [OPTIONS]")
        formatter.write_usage(PROG, "remove --method NAME [--target ...] [OPTIONS]")
        formatter.write_usage(PROG, "list [--root PATH] [--json]")
        formatter.write_usage(PROG, "update [--method NAME] [--dry-run] [OPTIONS]")
        formatter.write_usage(PROG, "check [--root PATH] [--json]")
        formatter.write_usage(PROG, "recover [--dry-run] [--discard-journal]")


@click.group(
    cls=_ScaffoldGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@_method_option(required=False)
@click.option(
    "--target",
    "-t",
    default="weights",
    show_default=True,
    metavar="weights|activation",
    shell_complete=_complete(TARGETS),
    help="What the quantizer acts on.",
)
@click.option(
    "--quantization-method",
    "-q",
    "quantization_methods",
    multiple=True,
    metavar="|".join(METHODS),
    shell_complete=_complete(METHODS),
    help="Grid(s) the quantizer implements; repeat for several (default: symmetric).",
)
@click.option(
    "--param",
    "-p",
    "parameters",
    multiple=True,
    metavar="NAME=KIND[:INIT][:LAYOUT]|none",
    help="A parameter the quantizer declares; repeat for several. KIND: fixed|learned; INIT: "
    "a number or threshold|range_min|range_max (calibrated); LAYOUT: per-channel|per-tensor. "
    "'none': parameter-free. Default: the ones this method and target were scaffolded with "
    "(the manifest records them), else the grid's fixed, calibrated threshold or range.",
)
@_framework_option(
    "Keras of the quantizer: keras (Keras 2, tf_keras) or keras3 (Keras 3 on TensorFlow or JAX); "
    "default: framework in [tool.scaffold-quantizer], else keras."
)
@_root_option()
@click.option("--force", is_flag=True, help="Replace files/registrations this tool made before.")
@_write_options
@click.version_option(package_name="quantizer-scaffold", prog_name=PROG)
@click.pass_context
def cli(
    ctx: click.Context,
    method: str | None,
    target: str,
    quantization_methods: tuple[str, ...],
    parameters: tuple[str, ...],
    framework: str | None,
    root: str | None,
    force: bool,
    dry_run: bool,
    check: bool,
    as_json: bool,
) -> None:
    """Scaffold a trainable + inferable quantizer pair and register it with libcst.

    \b
    scaffold-quantizer --method MyTrainingMethod --target weights
    scaffold-quantizer --method my-method --target activation -q symmetric -q power_of_two
    scaffold-quantizer --method PACT --target activation --param alpha=learned:threshold
    scaffold-quantizer --method DoReFa --target weights --param none
    scaffold-quantizer --method MyTrainingMethod --framework keras3
    scaffold-quantizer remove --method MyTrainingMethod
    scaffold-quantizer list
    scaffold-quantizer check
    scaffold-quantizer update --dry-run
    """
    if ctx.invoked_subcommand is not None:
        source = ctx.get_parameter_source
        given = [
            name
            for name in (
                "method",
                "target",
                "quantization_methods",
                "parameters",
                "framework",
                "force",
                "dry_run",
                "check",
            )
            if source(name) is click.core.ParameterSource.COMMANDLINE
        ]
        if given or root or as_json:
            raise click.UsageError(
                f"put options after the subcommand: {PROG} {ctx.invoked_subcommand} --method ..."
            )
        return
    if method is None:
        raise click.UsageError(
            f"--method is required, e.g. {PROG} --method MyTrainingMethod --target weights"
        )
    from . import api

    report = api.scaffold(
        method,
        target,
        quantization_methods,
        root=root,
        dry_run=dry_run,
        check=check,
        force=force,
        backend=framework,
        parameters=parameters or None,  # not given: the recorded ones, else the grids' own
    )
    _finish(report, as_json, dry_run, check)


@cli.command("remove")
@_method_option(required=True)
@_only_target_option("Remove only this target (default: every target of the method).")
@_framework_option("The back end whose pair to remove (default: the one it was scaffolded for).")
@_root_option()
@_write_options
def remove_command(
    method: str,
    target: str | None,
    framework: str | None,
    root: str | None,
    dry_run: bool,
    check: bool,
    as_json: bool,
) -> None:
    """Unregister a scaffolded method and delete its generated files that you did not edit."""
    from . import api

    report = api.remove(method, target, root=root, dry_run=dry_run, check=check, backend=framework)
    _finish(report, as_json, dry_run, check)


@cli.command("update")
@_method_option(required=False)
@_only_target_option("Update only this target (default: every target).")
@_framework_option("Update only this back end's pairs (default: every back end).")
@_root_option()
@_write_options
def update_command(
    method: str | None,
    target: str | None,
    framework: str | None,
    root: str | None,
    dry_run: bool,
    check: bool,
    as_json: bool,
) -> None:
    """Bring generated files up to date with the templates (every method, or --method).

    Files you did not edit are regenerated; template changes are merged into files you
    edited (three-way, against what the old templates rendered); conflicts are marked as
    git marks them and make the exit code 1. --dry-run shows the diffs.
    """
    from . import api

    report = api.update(method, target, root=root, dry_run=dry_run, check=check, backend=framework)
    _finish(report, as_json, dry_run, check)
    if report.conflicts and not (dry_run or check):
        raise click.exceptions.Exit(1)


@cli.command("check")
@_root_option()
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable report.")
def check_command(root: str | None, as_json: bool) -> None:
    """Check the whole project (for CI and pre-commit); exit 1 with what is wrong.

    Every method scaffold-quantizer recorded is registered in the enum and the dispatcher,
    its files are present and parse, their imports resolve, no merge conflict is left and
    no interrupted run is pending. Writes nothing.
    """
    from . import api

    report = api.check_project(root=root)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        for note in report.notes:
            click.secho(f"note: {note}", fg="cyan")
        for problem in report.problems:
            click.secho(f"problem: {problem}", fg="red")
        names = ", ".join(report.methods) or "none"
        if report.ok:
            click.secho(
                f"ok: {len(report.methods)} method(s) recorded ({names}): registered, files "
                "present, imports resolving",
                bold=True,
            )
        else:
            click.secho(f"{len(report.problems)} problem(s) in {report.root}", bold=True)
    if not report.ok:
        raise click.exceptions.Exit(1)


@cli.command("recover")
@_root_option()
@click.option("--dry-run", is_flag=True, help="Show what recovery would restore; write nothing.")
@click.option(
    "--discard-journal",
    is_flag=True,
    help="Forget the interrupted run and keep every file as it is (after checking git diff).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable report.")
def recover_command(root: str | None, dry_run: bool, discard_journal: bool, as_json: bool) -> None:
    """Finish or undo a run that was interrupted (any writing run does this first).

    Only files that still hold what the interrupted run left there are restored; a file
    changed since stops recovery with its name.
    """
    from . import api

    report = api.recover(root=root, dry_run=dry_run, discard_journal=discard_journal)
    _print_report(report, as_json, show_diffs=dry_run)


@cli.command("list")
@_framework_option("Only this back end's dispatchers (default: every back end).")
@_root_option()
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable list.")
def list_command(framework: str | None, root: str | None, as_json: bool) -> None:
    """Show every training method per back end, its quantizer classes and where it is
    registered."""
    from . import api, transaction

    project, methods = api.list_methods(root=root, backend=framework)
    if transaction.journal_left(project.root):
        click.secho(f"warning: {api.INTERRUPTED}; the registry below may be half-written",
                    fg="yellow", err=True)  # fmt: skip
    if as_json:
        rows = [m.to_dict() for m in methods]
        click.echo(json.dumps({"root": str(project.root), "methods": rows}, indent=2))
        return
    from rich.table import Table

    table = Table(title=f"Training methods of {project.root.name}")
    columns = ("back end", "method", "value", "target", "grid", "quantizer class", "registered in")
    for column in columns:
        table.add_column(column, justify="right" if column == "value" else "left")
    for entry in methods:
        rows = [
            (target, grid, cls)
            for target in TARGETS
            for grid, cls in entry.quantizers.get(target, {}).items()
        ] or [("-", "-", "-")]
        where = entry.registered_in.get("dispatcher_file", "")
        if entry.origin == "built-in" and not where.startswith(project.config.source_root):
            where += " (built-in, installed)"
        for i, row in enumerate(rows):
            first = i == 0
            table.add_row(
                entry.registered_in["backend"] if first else "",
                entry.name if first else "",
                str(entry.value) if first else "",
                *row,
                where if first else "",
            )
    console = _console()
    if not console.is_terminal:  # piped: no terminal width to respect, so never fold a name
        console.width = max(console.width, 200)
    console.print(table)


def _fail(message: str, code: int) -> None:
    click.echo(f"{PROG}: error: {message}", err=True)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: one-line errors, documented exit codes."""
    try:
        code = cli.main(args=argv, prog_name=PROG, standalone_mode=False)
    except click.exceptions.Exit as stop:
        sys.exit(stop.exit_code)
    except click.exceptions.Abort:
        _fail("aborted", 130)
    except click.ClickException as error:
        message = " ".join(error.format_message().split())
        _fail(f"{message} (see {PROG} --help)", error.exit_code)
    except ScaffoldError as error:
        _fail(" ".join(str(error).split()), error.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
