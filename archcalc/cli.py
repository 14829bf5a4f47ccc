"""The ``archcalc`` command line: parse, call the library, render. Nothing else lives here.

Exit codes (pinned): 0 all good, 1 a spec is invalid, 2 usage error, 3 a plugin failed or
archcalc has a bug. No input prints a traceback: every failure becomes one located line.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from archcalc import api, render
from archcalc.errors import (
    ArchcalcError,
    Diagnostic,
    ExitCode,
    PluginError,
    SpecError,
    UsageError,
)
from archcalc.spec import Override

app = typer.Typer(
    name="archcalc",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    help=(
        "Exact parameter counts, closed-form formulas and validation for neural-network "
        "architecture specs, without building a single weight.\n\n"
        "  archcalc count examples/llama-3-8b.yaml\n\n"
        "  archcalc formula examples/gpt2-small.yaml --keep n_layers,d_model\n\n"
        "  archcalc validate specs/*.yaml\n\n"
        "Exit codes: 0 ok, 1 invalid spec, 2 usage error, 3 plugin failure or internal error."
    ),
)

SpecsArg = Annotated[
    list[Path], typer.Argument(help="Spec files (YAML).", show_default=False, metavar="SPEC...")
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


def _err(text: str) -> None:
    sys.stderr.write(text.rstrip("\n") + "\n")


def _out(text: str) -> None:
    sys.stdout.write(text.rstrip("\n") + "\n")


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
    return [Override.parse(item) for item in items or ()]


def _registry(plugins: list[str] | None) -> None:
    if plugins:
        from archcalc.registry import load_registry

        api._default_registry = load_registry(plugins)
    api.default_registry()


def _load(path: Path, overrides: list[Override]) -> api.Spec:
    return api.load_spec(path, overrides, display=str(path))


@app.command()
def count(
    specs: SpecsArg,
    set_: SetOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per spec (an array for several).")
    ] = False,
    plugin: PluginOpt = None,
) -> None:
    """Count parameters exactly, with a per-component breakdown.

    Examples:

      archcalc count examples/llama-3-8b.yaml

      archcalc count examples/*.yaml --json

      archcalc count examples/gpt2-small.yaml --set n_layers=48 --set d_model=1600
    """
    with _guard():
        overrides = _overrides(set_)
        _registry(plugin)
        invalid = False
        outputs = []
        for path in specs:
            try:
                spec = _load(path, overrides)
                result = api.count(spec)
            except SpecError as exc:
                invalid = True
                _err(render.diagnostics_text(exc.diagnostics))
                continue
            _warn(spec.warnings)
            outputs.append((spec, result))
        if as_json:
            objects = [render.count_json(s, r) for s, r in outputs]
            if len(specs) == 1 and objects:
                _out(json.dumps(objects[0], indent=2))
            elif len(specs) > 1:
                _out(json.dumps(objects, indent=2))
        else:
            _out("\n\n".join(render.count_text(s, r) for s, r in outputs))
        if invalid:
            _exit(ExitCode.INVALID)


def _warn(diagnostics: tuple[Diagnostic, ...]) -> None:
    if diagnostics:
        _err(render.diagnostics_text(diagnostics))


@app.command()
def formula(
    spec: Annotated[Path, typer.Argument(help="Spec file (YAML).", show_default=False)],
    keep: Annotated[
        str | None,
        typer.Option(
            "--keep",
            "-k",
            metavar="KEY,...",
            help="Keep only these fields symbolic; substitute the rest. Default: all literals.",
        ),
    ] = None,
    fmt: Annotated[
        str,
        typer.Option("--format", "-f", help="text, latex, python or json."),
    ] = "text",
    set_: SetOpt = None,
    plugin: PluginOpt = None,
) -> None:
    """Print the closed-form parameter count.

    Every numeric field given as a number becomes a symbol; fields computed from others
    are expanded. The JSON form has formula (sympy-parsable), symbols (name -> value) and
    total_params; substituting symbols into formula gives total_params exactly.

    Examples:

      archcalc formula examples/gpt2-small.yaml

      archcalc formula examples/llama-3-8b.yaml --keep n_layers,d_model

      archcalc formula examples/mixtral-8x7b.yaml --format latex
    """
    with _guard():
        from archcalc import formulas

        if fmt not in formulas.FORMATS:
            raise UsageError(f"--format must be one of {', '.join(formulas.FORMATS)}, got '{fmt}'")
        overrides = _overrides(set_)
        _registry(plugin)
        loaded = _load(spec, overrides)
        _warn(loaded.warnings)
        keep_list = None if keep is None else [k for k in keep.split(",") if k.strip()]
        _out(formulas.render(formulas.build(loaded, keep_list), fmt))


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


@app.command()
def schema(
    family: Annotated[
        str | None, typer.Argument(help="Only this family's schema.", show_default=False)
    ] = None,
    plugin: PluginOpt = None,
) -> None:
    """Print the JSON Schema of specs, including installed plugins' families.

    Point your editor at it with a first line in the spec:

      # yaml-language-server: $schema=../schemas/archcalc.schema.json

    Examples:

      archcalc schema > .archcalc.schema.json

      archcalc schema transformer
    """
    with _guard():
        from archcalc import schema as schemas
        from archcalc.spec import did_you_mean

        _registry(plugin)
        registry = api.default_registry()
        if family is None:
            _out(json.dumps(schemas.combined_schema(registry.families.values()), indent=2))
            return
        found = registry.family(family)
        if found is None:
            known = sorted(registry.families)
            raise UsageError(
                f"unknown family '{family}' (installed: {', '.join(known)})"
                + did_you_mean(family, known)
            )
        _out(json.dumps(schemas.family_schema(found), indent=2))


@app.command()
def plugins(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable list.")] = False,
    plugin: PluginOpt = None,
) -> None:
    """List loaded plugins: name, version, where they come from, what they provide.

    Examples:

      archcalc plugins

      archcalc plugins --plugin ./my_layer.py --json
    """
    with _guard():
        _registry(plugin)
        registry = api.default_registry()
        rows = [
            {
                "name": p.name,
                "version": p.version,
                "source": p.source,
                "families": list(p.families),
            }
            for p in registry.plugins
        ]
        if as_json:
            _out(json.dumps(rows, indent=2))
            return
        for row in rows:
            provides = ", ".join(row["families"]) or "-"
            _out(f"{row['name']} {row['version']} ({row['source']}): families: {provides}")


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


def main() -> None:
    """Console-script entry point; never lets a traceback escape."""
    try:
        app()
    except SystemExit:
        raise
    except BaseException as exc:  # pragma: no cover - last line of defence
        _err(f"archcalc: internal error (a bug, not your spec): {type(exc).__name__}: {exc}")
        sys.exit(int(ExitCode.INTERNAL))
