"""The shared machinery of the command line: the app, common options, output and errors.

Kept light on purpose (typer and the error types only): every command imports this
module, so the library is imported inside the helpers, when a command needs it.

Exit codes (pinned): 0 all good, 1 a spec is invalid, 2 usage error, 3 a plugin failed or
archcalc has a bug. No input prints a traceback: every failure becomes one located line.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from archcalc.errors import (
    ArchcalcError,
    Diagnostic,
    ExitCode,
    PluginError,
    SpecError,
    UsageError,
    safe_text,
)

if TYPE_CHECKING:
    from archcalc import api
    from archcalc.spec import Override

app = typer.Typer(
    name="archcalc",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    help=(
        "Exact parameter counts, closed-form formulas and validation for neural-network "
        "architecture specs, without building a single weight.\n\n"
        "Examples:\n\n"
        "archcalc count examples/llama-3-8b.yaml\n\n"
        "archcalc formula examples/gpt2-small.yaml --keep n_layers,d_model\n\n"
        "archcalc validate specs/*.yaml\n\n"
        "Exit codes: 0 ok, 1 invalid spec, 2 usage error, 3 plugin failure or internal error."
    ),
)

SpecsArg = Annotated[
    list[Path], typer.Argument(help="Spec files (YAML).", show_default=False, metavar="SPEC")
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        "-s",
        metavar="KEY=EXPR",
        help="Override a field or var, e.g. --set n_layers=48 --set 'd_ff=4*d_model'. Repeatable.",
    ),
]
PluginOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--plugin",
        "-p",
        metavar="PATH_OR_MODULE",
        help="Load a plugin from a .py file or module (also ARCHCALC_PLUGINS). Repeatable.",
    ),
]


FormatOpt = Annotated[
    str, typer.Option("--format", "-f", metavar="FORMAT", help="Output: text or json.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="The same as --format json.")]


def _format(fmt: str, as_json: bool, choices: tuple[str, ...] = ("text", "json")) -> str:
    """The output format asked for: ``--format``, or ``json`` for the ``--json`` alias.

    ``choices[0]`` is the command's default format, which ``--json`` replaces.
    """
    if as_json:
        if fmt not in (choices[0], "json"):
            raise UsageError(f"--json and --format {fmt} contradict each other; give one")
        return "json"
    if fmt not in choices:
        raise UsageError(f"--format must be one of {', '.join(choices)}, got '{fmt[:40]}'")
    return fmt


def _json_meta(overrides: list[Override]) -> dict[str, object]:
    """What every JSON object of a command records: archcalc's version and the --set used."""
    from archcalc import __version__
    from archcalc.render import overrides_json

    return {"archcalc_version": __version__, "overrides": overrides_json(overrides)}


def _err(text: str) -> None:
    sys.stderr.write(safe_text(text.rstrip("\n")) + "\n")


def _out(text: str) -> None:
    sys.stdout.write(safe_text(text.rstrip("\n")) + "\n")


def _exit(code: ExitCode) -> NoReturn:
    raise typer.Exit(int(code))


@contextlib.contextmanager
def _guard() -> Iterator[None]:
    """Turn every failure into one line and the pinned exit code."""
    try:
        yield
    except typer.Exit:
        raise
    except UsageError as exc:
        _err(f"archcalc: error: {exc}")
        _exit(ExitCode.USAGE)
    except PluginError as exc:
        _err(f"archcalc: plugin error: {exc}")
        _exit(ExitCode.INTERNAL)
    except SpecError as exc:
        from archcalc import render

        _err(render.diagnostics_text(exc.diagnostics))
        _exit(ExitCode.INVALID)
    except ArchcalcError as exc:
        _err(f"archcalc: {exc}")
        _exit(ExitCode.INTERNAL)
    except KeyboardInterrupt:
        _err("archcalc: interrupted")
        _exit(ExitCode.INTERNAL)
    except Exception as exc:
        _err(f"archcalc: internal error (a bug, not your spec): {type(exc).__name__}: {exc}")
        _exit(ExitCode.INTERNAL)


def _overrides(items: list[str] | None) -> list[Override]:
    from archcalc.spec import Override

    return [Override.parse(item) for item in items or ()]


def _registry(plugins: list[str] | None) -> None:
    """Load the plugins (``--plugin`` ones included) as this run's registry.

    A broken plugin the user named (``--plugin``, ``ARCHCALC_PLUGINS``) stops the run with
    exit 3; a broken installed one is reported here, once, and the run goes on without it.
    """
    from archcalc import api

    if plugins:
        from archcalc.registry import load_registry

        api._default_registry = load_registry(plugins)
    for info in api.default_registry().broken:
        _err(f"archcalc: warning: skipping a broken plugin: {info.error}")


def _load(path: Path, overrides: list[Override]) -> api.Spec:
    from archcalc import api

    return api.load_spec(path, overrides, display=str(path))


def _warn(diagnostics: tuple[Diagnostic, ...]) -> None:
    if diagnostics:
        from archcalc import render

        _err(render.diagnostics_text(diagnostics))


def _version_callback(value: bool) -> None:
    if value:
        from archcalc import __version__

        _out(f"archcalc {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version_callback, is_eager=True, help="Show version."),
    ] = False,
) -> None:
    """Exact parameter counts, formulas and validation for architecture specs."""
