"""archcalc validate: every problem of every spec, located."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from archcalc import render
from archcalc.cli._app import (
    PluginOpt,
    SetOpt,
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

#: Plain strings, not ``list[Path]``: typer builds a pydantic adapter per Path value, which
#: costs more than validating the spec (0.2 s for the 1,000 files a pre-commit run may pass).
SpecPaths = Annotated[
    list[str], typer.Argument(help="Spec files (YAML).", show_default=False, metavar="SPEC...")
]


@app.command()
def validate(
    specs: SpecPaths,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="text, json or github (workflow annotations).")
    ] = "text",
    strict: Annotated[
        bool, typer.Option("--strict", help="Warnings fail too (exit 1), as errors do.")
    ] = False,
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
        for path in map(Path, specs):
            try:
                loaded = _load(path, overrides)
            except SpecError as exc:
                diagnostics += exc.diagnostics
                files.append((str(path), False, None))
                continue
            diagnostics += loaded.warnings
            files.append((str(path), True, loaded.family.name))
        diagnostics = sorted(diagnostics, key=Diagnostic.sort_key)
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
        if any(not ok for _, ok, _ in files) or (strict and diagnostics):
            _exit(ExitCode.INVALID)
