"""archcalc formula: the closed form, in text, LaTeX, Python or JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from archcalc.cli._app import (
    PluginOpt,
    SetOpt,
    _guard,
    _load,
    _out,
    _overrides,
    _registry,
    _warn,
    app,
)
from archcalc.errors import UsageError


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
