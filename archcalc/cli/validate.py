"""archcalc validate: every problem of every spec, located."""

from __future__ import annotations

from typing import Annotated

import typer

from archcalc import render
from archcalc.cli._app import (
    PluginOpt,
    SetOpt,
    SpecsArg,
    _err,
    _exit,
    _guard,
    _load,
    _out,
    _overrides,
    _registry,
    app,
)
from archcalc.errors import Diagnostic, ExitCode, SpecError, UsageError


@app.command()
def validate(
    specs: SpecsArg,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="text, json or github (workflow annotations).")
    ] = "text",
    set_: SetOpt = None,
    plugin: PluginOpt = None,
) -> None:
    """Check specs: YAML, schema, expressions and architecture semantics.

    Prints PATH:LINE:COL: error: MESSAGE for every problem in every file and exits 1 if
    any spec is invalid. Suited to pre-commit and CI.

    Examples:

      archcalc validate examples/*.yaml

      archcalc validate spec.yaml --format github
    """
    with _guard():
        if fmt not in ("text", "json", "github"):
            raise UsageError(f"--format must be text, json or github, got '{fmt}'")
        overrides = _overrides(set_)
        _registry(plugin)
        diagnostics: list[Diagnostic] = []
        files: list[tuple[str, bool, str | None]] = []
        for path in specs:
            try:
                loaded = _load(path, overrides)
            except SpecError as exc:
                diagnostics += exc.diagnostics
                files.append((str(path), False, None))
                continue
            diagnostics += loaded.warnings
            files.append((str(path), True, loaded.family.name))
        diagnostics.sort(key=Diagnostic.sort_key)
        if fmt == "json":
            _out(render.diagnostics_json(files, diagnostics))
        elif fmt == "github":
            if diagnostics:
                _out(render.diagnostics_github(diagnostics))
        else:
            if diagnostics:
                _out(render.diagnostics_text(diagnostics))
            bad = sum(1 for _, ok, _ in files if not ok)
            _err(
                f"archcalc: {len(files)} spec{'s' if len(files) != 1 else ''} checked, "
                + (f"{bad} invalid" if bad else "all valid")
            )
        if any(not ok for _, ok, _ in files):
            _exit(ExitCode.INVALID)
