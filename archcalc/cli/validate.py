"""archcalc validate: every problem of every spec, located, as text, JSON, GitHub or SARIF."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated

import typer

from archcalc.cli._app import (
    JsonOpt,
    PluginOpt,
    SetOpt,
    _err,
    _exit,
    _format,
    _guard,
    _out,
    _overrides,
    _registry,
    app,
)
from archcalc.errors import Diagnostic, ExitCode, PluginError, SpecError

FORMATS = ("text", "json", "github", "sarif")

#: Plain strings, not ``list[Path]``: typer builds a pydantic adapter per Path value, which
#: costs more than validating the spec (0.2 s for the 1,000 files a pre-commit run may pass).
SpecPaths = Annotated[
    list[str],
    typer.Argument(
        help="Spec files, or folders to search for specs.", show_default=False, metavar="PATH..."
    ),
]


@app.command()
def validate(
    specs: SpecPaths,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="text, json, github (workflow annotations) or sarif (code scanning).",
        ),
    ] = "text",
    as_json: JsonOpt = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Warnings fail too (exit 1), as errors do.")
    ] = False,
    only_specs: Annotated[
        bool,
        typer.Option(
            "--only-specs",
            help="Leave alone named files that are not specs (the pre-commit hook's mode): "
            "a spec has a top-level family key, an archcalc schema modeline, two keys of an "
            "installed family, or lives under a --spec-dir.",
        ),
    ] = False,
    spec_dirs: Annotated[
        list[str] | None,
        typer.Option(
            "--spec-dir",
            metavar="DIR",
            help="Every YAML file under DIR is a spec, even one missing its family. Repeatable.",
        ),
    ] = None,
    set_: SetOpt = None,
    plugin: PluginOpt = None,
) -> None:
    """Check specs: YAML, schema, expressions, architecture semantics, and the count itself.

    Prints PATH:LINE:COL: error: MESSAGE [CODE] for every problem in every file and exits
    1 if any spec is invalid (with --strict, also on a warning), 3 if a plugin fails on a
    spec. Folders are searched for specs (*.yaml, *.yml); other YAML is left alone.
    A trailing comment "# archcalc: ignore[CODE]" silences a warning on its line.

    Examples:

      archcalc validate models/

      archcalc validate examples/*.yaml --strict

      archcalc validate models/ --format github

      archcalc validate models/ --format sarif > archcalc.sarif
    """
    with _guard():
        from archcalc import __version__, api, discover

        fmt = _format(fmt, as_json, FORMATS)
        overrides = _overrides(set_)
        _registry(plugin)
        keys = discover.spec_keys(api.default_registry().families.values())
        found = discover.find_specs(specs, keys, only_specs, spec_dirs or ())
        diagnostics: list[Diagnostic] = []
        files: list[dict[str, object]] = []
        failures: list[tuple[str, str]] = []
        for path in found.specs:
            entry: dict[str, object] = {"file": path, "valid": False, "family": None}
            files.append(entry)
            try:
                loaded = api.load_spec(path, overrides, display=path)
                api.count(loaded)  # a plugin that crashes on this spec fails here, not later
            except SpecError as exc:
                diagnostics += exc.diagnostics
                continue
            except PluginError as exc:
                failures.append((path, str(exc)))
                entry["plugin_error"] = str(exc)
                continue
            diagnostics += loaded.warnings
            entry.update(valid=True, family=loaded.family.name, name=loaded.name)
        diagnostics.sort(key=Diagnostic.sort_key)
        for entry in files:
            mine = [d for d in diagnostics if d.file == entry["file"]]
            entry["errors"] = sum(d.severity == "error" for d in mine)
            entry["warnings"] = sum(d.severity == "warning" for d in mine)
        _render(fmt, __version__, found, files, diagnostics, failures, strict, overrides)
        if failures:
            _exit(ExitCode.INTERNAL)
        warned = any(d.severity == "warning" for d in diagnostics)
        if any(not e["valid"] for e in files) or (strict and warned):
            _exit(ExitCode.INVALID)


def _render(
    fmt: str,
    version: str,
    found: object,
    files: list[dict[str, object]],
    diagnostics: list[Diagnostic],
    failures: list[tuple[str, str]],
    strict: bool,
    overrides: Sequence[object],
) -> None:
    from archcalc import render

    skipped: list[str] = getattr(found, "skipped", [])
    if fmt == "json":
        data = {
            "archcalc_version": version,
            "valid": all(e["valid"] for e in files),
            "strict": strict,
            "overrides": render.overrides_json(overrides),
            "files": files,
            "skipped": skipped,
            "diagnostics": [render.diagnostic_json(d) for d in diagnostics],
        }
        _out(json.dumps(data, indent=2))
    elif fmt == "sarif":
        from archcalc.sarif import sarif_log

        _out(json.dumps(sarif_log(diagnostics, version, failures), indent=2))
    elif fmt == "github" and diagnostics:
        _out(render.diagnostics_github(diagnostics))
    elif fmt == "text" and diagnostics:
        _out(render.diagnostics_text(diagnostics))
    for _, message in failures:
        _err(f"archcalc: plugin error: {message}")
    if fmt == "text" and not failures:  # a plugin failure is said in one line, nothing more
        _err(_summary(files, diagnostics, len(skipped)))


def _summary(files: list[dict[str, object]], diagnostics: list[Diagnostic], skipped: int) -> str:
    n = len(files)
    bad = sum(1 for e in files if not e["valid"])
    warnings = sum(d.severity == "warning" for d in diagnostics)
    text = f"archcalc: {n} spec{'s' if n != 1 else ''} checked, " + (
        f"{bad} invalid" if bad else "all valid"
    )
    if warnings:
        text += f", {warnings} warning{'s' if warnings != 1 else ''}"
    if skipped:
        text += f" ({skipped} other YAML file{'s' if skipped != 1 else ''} left alone)"
    return text
