"""archcalc count: exact counts with a per-component breakdown."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from archcalc import api, render
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
    _warn,
    app,
)
from archcalc.errors import ExitCode, SpecError


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
