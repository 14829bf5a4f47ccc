"""archcalc diff: two specs compared component by component, with the formula of the gap."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from archcalc.cli._app import (
    FormatOpt,
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
def diff(
    a: Annotated[Path, typer.Argument(help="First spec (A).", show_default=False)],
    b: Annotated[Path, typer.Argument(help="Second spec (B).", show_default=False)],
    fmt: FormatOpt = "text",
    as_json: JsonOpt = False,
    set_: SetOpt = None,
    plugin: PluginOpt = None,
) -> None:
    """Compare two specs: per-component A − B and A / B, totals, and the formula of A − B.

    Components are matched by section and name. With the same family, the difference is
    also a formula in the names both specs share (with equal values). --set applies to both.

    Examples:

      archcalc diff examples/llama-2-7b.yaml examples/llama-3-8b.yaml

      archcalc diff examples/mixtral-8x7b.yaml examples/mistral-7b.yaml --json
    """
    with _guard():
        from archcalc import diff as differ

        as_json = _format(fmt, as_json) == "json"
        overrides = _overrides(set_)
        _registry(plugin)
        spec_a, spec_b = _load(a, overrides), _load(b, overrides)
        _warn(spec_a.warnings)
        _warn(spec_b.warnings)
        result = differ.diff(spec_a, spec_b)
        if as_json:
            _out(json.dumps({**_json_meta(overrides), **differ.to_json(result)}, indent=2))
        else:
            _out(differ.to_text(result))
