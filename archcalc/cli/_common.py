"""The command line's shared helpers that need no typer: output, errors, exit codes.

Split from :mod:`archcalc.cli._app` so that the plain ``archcalc count SPEC...`` (see
:func:`archcalc.cli.main`) runs without importing typer at all, a fifth of such a run.
A command stops with :func:`_exit`, a ``SystemExit`` that typer lets through unchanged,
so a command body behaves the same under typer and without it.

Exit codes (pinned): 0 all good, 1 a spec is invalid, 2 usage error, 3 a plugin failed or
archcalc has a bug. No input prints a traceback: every failure becomes one located line.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, NoReturn

from archcalc.errors import (
    ArchcalcError,
    Diagnostic,
    ExitCode,
    PluginError,
    SpecError,
    UsageError,
    safe,
    safe_text,
)

if TYPE_CHECKING:
    from archcalc import api
    from archcalc.spec import Override


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
    """Stop the command with ``code`` (typer lets a ``SystemExit`` through as it is)."""
    raise SystemExit(int(code))


@contextlib.contextmanager
def _guard() -> Iterator[None]:
    """Turn every failure into one line and the pinned exit code.

    A usage or plugin error is one line by contract, even when it echoes an option value
    or a name holding a line break (``--set $'\\n='``): :func:`safe` keeps it one.
    """
    try:
        yield
    except UsageError as exc:
        _err(f"archcalc: error: {safe(str(exc))}")
        _exit(ExitCode.USAGE)
    except PluginError as exc:
        _err(f"archcalc: plugin error: {safe(str(exc))}")
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
    for info in api.default_registry().plugins:  # a typo that named some other module
        named = bool(plugins) and info.name in (plugins or ()) and not info.error
        if named and not (info.families or info.layer_types or info.hf_model_types):
            _err(
                f"archcalc: warning: plugin '{safe(info.name)}' registers nothing (no "
                "families, layer types or Hugging Face model types): is it the module you "
                "meant?"
            )


def _load(path: str | os.PathLike[str], overrides: list[Override]) -> api.Spec:
    from archcalc import api

    return api.load_spec(path, overrides, display=os.fspath(path))


def _warn(diagnostics: tuple[Diagnostic, ...]) -> None:
    if diagnostics:
        from archcalc import render

        _err(render.diagnostics_text(diagnostics))
