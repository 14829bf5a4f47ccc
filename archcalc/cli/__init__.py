"""The ``archcalc`` command line: parse, call the library, render. Nothing else lives here.

Each command is a module of this package registering itself on the shared ``app``
(``archcalc.cli._app``); a new command is a new module plus one line in :data:`COMMANDS`.

Start-up is part of the interface: ``archcalc count spec.yaml`` should cost little more
than starting Python and reading the YAML. So :func:`main` imports only the module of the
command named on the command line (typer then builds one command, not ten); ``--help``,
no command or an unknown one imports them all, so help and "no such command" see every
command. Command modules keep heavy imports (sympy, jsonschema, numpy...) inside their
functions; ``tests/test_startup.py`` checks what a ``count`` imports.

Exit codes (pinned): 0 all good, 1 a spec is invalid, 2 usage error, 3 a plugin failed or
archcalc has a bug. No input prints a traceback: every failure becomes one located line.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import typer

__all__ = ["COMMANDS", "app", "main"]

#: Command name -> the module (in this package) that registers it, in ``--help`` order.
COMMANDS: dict[str, str] = {
    "count": "count",
    "formula": "formula",
    "validate": "validate",
    "schema": "schema",
    "plugins": "plugins",
    "solve": "solve",
    "sweep": "sweep",
    "size": "size",
    "diff": "diff",
    "import-hf": "import_hf",
    "tensors": "tensors",
    "check": "check",
}


def command_in(args: Sequence[str]) -> str | None:
    """The command named in ``args``: the first word that is not an option.

    The root command's own options (``--version``, ``--help``) take no value, so the
    first non-option word is the command.
    """
    for arg in args:
        if arg == "--":
            return None
        if not arg.startswith("-"):
            return arg
    return None


#: The options a plain ``archcalc count`` may carry (``--json``, ``--shapes``).
PLAIN_COUNT_FLAGS = ("--json", "--shapes")


class PlainCount(NamedTuple):
    """A plain ``archcalc count``: its spec paths and flags."""

    paths: list[str]
    as_json: bool = False
    show_shapes: bool = False


def plain_count(args: Sequence[str]) -> PlainCount | None:
    """``count SPEC... [--json] [--shapes]``, or None for anything else (typer parses that).

    Only a form typer would parse the same way qualifies: at least one path, no word
    starting with ``-`` other than those flags, no empty word. On Windows typer expands
    wildcards in the arguments, and a shell-completion request is typer's, so neither
    takes this route.
    """
    if not args or args[0] != "count" or os.name == "nt" or "_ARCHCALC_COMPLETE" in os.environ:
        return None
    words = args[1:]
    names = [arg for arg in words if arg not in PLAIN_COUNT_FLAGS]
    if not names or any(not name or name.startswith("-") for name in names):
        return None
    return PlainCount([posix_path_text(n) for n in names], "--json" in words, "--shapes" in words)


def posix_path_text(name: str) -> str:
    """``str(pathlib.PurePosixPath(name))``, which is how typer hands a path to a command
    and so how messages name the file, without importing pathlib (it and the urllib.parse
    and ipaddress it imports are a few percent of a plain count).

    Empty and ``.`` components go, one or three-plus leading slashes are one root, exactly
    two stay two (POSIX leaves ``//`` implementation-defined, and pathlib keeps it).
    """
    stripped = name.lstrip("/")
    slashes = len(name) - len(stripped)
    root = "//" if slashes == 2 else "/" if slashes else ""
    parts = [part for part in stripped.split("/") if part and part != "."]
    return root + "/".join(parts) if root or parts else "."


def load_commands(names: Sequence[str] | None = None) -> typer.Typer:
    """Register the commands ``names`` (all when None) on the app, and return it."""
    from archcalc.cli import _app

    for name in COMMANDS if names is None else names:
        importlib.import_module(f"archcalc.cli.{COMMANDS[name]}")
    return _app.app


def __getattr__(name: str) -> Any:
    """``from archcalc.cli import app``: the app with every command (tests, embedding)."""
    if name == "app":
        return load_commands()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Console-script entry point; never lets a traceback escape."""
    from archcalc.errors import ExitCode, SafeWriter

    # Everything printed goes through errors.safe_text, whoever prints it (a renderer,
    # click echoing a bad option value): no raw escape or bidi character reaches a terminal.
    sys.stdout = SafeWriter(sys.stdout)
    sys.stderr = SafeWriter(sys.stderr)
    try:
        args = sys.argv[1:]
        plain = plain_count(args)
        if plain is not None:
            from archcalc.cli._count import run

            run(plain.paths, as_json=plain.as_json, show_shapes=plain.show_shapes)
            return
        command = command_in(args)
        if command in COMMANDS:
            app = load_commands([command])
        elif command is None and "--version" in args:
            app = load_commands([])
        else:
            app = load_commands()
        app()
    except SystemExit:
        raise
    except BaseException as exc:  # pragma: no cover - last line of defence
        sys.stderr.write(
            f"archcalc: internal error (a bug, not your spec): {type(exc).__name__}: {exc}\n"
        )
        sys.exit(int(ExitCode.INTERNAL))
