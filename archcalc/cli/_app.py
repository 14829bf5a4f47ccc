"""The shared machinery of the command line: the app and the options commands share.

Kept light on purpose (typer and the error types only): every command imports this
module, so the library is imported inside the helpers, when a command needs it. Output,
errors and exit codes live in :mod:`archcalc.cli._common` (no typer) and are re-exported
here for the command modules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from archcalc.cli._common import (
    _err,
    _exit,
    _format,
    _guard,
    _json_meta,
    _load,
    _out,
    _overrides,
    _registry,
    _warn,
)

# Re-exported: command modules import the shared helpers from here.
__all__ = [
    "FormatOpt",
    "JsonOpt",
    "PluginOpt",
    "SetOpt",
    "SpecsArg",
    "_err",
    "_exit",
    "_format",
    "_guard",
    "_json_meta",
    "_load",
    "_out",
    "_overrides",
    "_registry",
    "_warn",
    "app",
]

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
