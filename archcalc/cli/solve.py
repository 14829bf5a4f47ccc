"""archcalc solve: which value of one key gives a target size (pinned command)."""

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


def solution_text(solution: object) -> str:
    """A small table: the root, then each candidate with its exact counts."""
    from archcalc.render import human
    from archcalc.solve import Solution

    assert isinstance(solution, Solution)
    lines = [
        f"solve {solution.measure} = {solution.target:,} ({human(solution.target)}) "
        f"for {solution.name}",
        f"  {solution.measure} = {solution.formula}",
        f"  root: {solution.root or 'none'}  ({solution.root_method}; "
        f"{'increasing' if solution.increasing else 'decreasing'} in {solution.name})",
        "",
    ]
    rows = [(solution.name, "total_params", "active_params", "vs target")]
    for c in solution.candidates:
        measure = c.active_params if solution.measure == "active_params" else c.total_params
        delta = measure - solution.target
        share = f"{100 * delta / solution.target:+.2f}%"
        rows.append((f"{c.value:,}", f"{c.total_params:,}", f"{c.active_params:,}", share))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        lines.append("  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)))
    return "\n".join(lines)


@app.command()
def solve(
    spec: Annotated[Path, typer.Argument(help="Spec file (YAML).", show_default=False)],
    key: Annotated[
        str,
        typer.Option(
            "--for", metavar="KEY", help="Numeric field or var to solve for (vars.NAME or NAME)."
        ),
    ],
    target: Annotated[
        str,
        typer.Option(
            "--target", "-t", metavar="SIZE", help="Target size: 7B, 1.5T, 175e9, 350M or an int."
        ),
    ],
    active: Annotated[
        bool, typer.Option("--active", help="Solve for active (per-token) parameters.")
    ] = False,
    fmt: FormatOpt = "text",
    as_json: JsonOpt = False,
    set_: SetOpt = None,
    plugin: PluginOpt = None,
) -> None:
    """Find the valid values of KEY whose exact count brackets SIZE.

    The exact root of the formula, then the largest valid value at or under the target
    and the smallest at or over it, each re-validated (e.g. heads must still divide the
    width) and counted exactly.

    Examples:

      archcalc solve examples/llama-3-8b.yaml --for n_layers --target 70B

      archcalc solve examples/llama-3-8b.yaml --for vars.width --target 1T --json

      archcalc solve examples/mixtral-8x7b.yaml --for top_k --target 20B --active
    """
    with _guard():
        from archcalc import solve as solver

        as_json = _format(fmt, as_json) == "json"
        size = solver.parse_size(target)
        overrides = _overrides(set_)
        _registry(plugin)
        loaded = _load(spec, overrides)
        _warn(loaded.warnings)
        solution = solver.solve(loaded, key, size, active=active)
        if as_json:
            _out(json.dumps({**_json_meta(overrides), **solution.to_json()}, indent=2))
        else:
            _out(solution_text(solution))
