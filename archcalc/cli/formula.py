"""archcalc formula: the closed form, in text, LaTeX, Python or JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from archcalc.cli._app import (
    JsonOpt,
    PluginOpt,
    SetOpt,
    _format,
    _guard,
    _json_meta,
    _load,
    _out,
    _overrides,
    _registry,
    _warn,
    app,
)


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
        typer.Option("--format", "-f", metavar="FORMAT", help="text, latex, python or json."),
    ] = "text",
    as_json: JsonOpt = False,
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

        fmt = _format(fmt, as_json, formulas.FORMATS)
        overrides = _overrides(set_)
        _registry(plugin)
        loaded = _load(spec, overrides)
        _warn(loaded.warnings)
        keep_list = None if keep is None else [k for k in keep.split(",") if k.strip()]
        built = formulas.build(loaded, keep_list)
        if fmt == "json":
            _out(json.dumps({**_json_meta(overrides), **formulas.to_json(built)}, indent=2))
        else:
            _out(formulas.render(built, fmt))
