"""archcalc count: exact counts with a per-component breakdown."""

from __future__ import annotations

import json
from typing import Annotated, Any

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
    show_shapes: Annotated[
        bool,
        typer.Option(
            "--shapes", help="Also print the output shape after each layer (layer-graph families)."
        ),
    ] = False,
) -> None:
    """Count parameters exactly, with a per-component breakdown.

    Examples:

      archcalc count examples/llama-3-8b.yaml

      archcalc count examples/*.yaml --json

      archcalc count examples/gpt2-small.yaml --set n_layers=48 --set d_model=1600

      archcalc count examples/resnet50.yaml --shapes
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
            objects = [_hf_json(s, render.count_json(s, r)) for s, r in outputs]
            if len(specs) == 1 and objects:
                _out(json.dumps(objects[0], indent=2))
            elif len(specs) > 1:
                _out(json.dumps(objects, indent=2))
        else:
            texts = [_hf_text(s, render.count_text(s, r)) for s, r in outputs]
            if show_shapes:
                texts = [_with_shapes(s, t) for (s, _), t in zip(outputs, texts, strict=True)]
            _out("\n\n".join(texts))
        if invalid:
            _exit(ExitCode.INVALID)


def _with_shapes(spec: api.Spec, text: str) -> str:
    """A model summary (layer, output shape, parameters) above the count's breakdown."""
    rows = api.shapes(spec)
    if rows is None:
        return f"(family {spec.family.name} has no layer shapes)\n" + text
    table = [("layer", "type", "output shape", "params")]
    for row in rows:
        times = f" ×{row.times:,}" if row.times != 1 else ""
        shape = ", ".join(str(x) for x in row.shape) + ("," if len(row.shape) == 1 else "")
        shape = f"({shape})"
        table.append((row.path, row.layer, shape, f"{row.params:,}{times}"))
    widths = [max(len(r[i]) for r in table) for i in range(4)]
    lines = [
        f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]:>{widths[3]}}"
        for r in table
    ]
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:], "", text])


def _hf_json(spec: api.Spec, obj: dict[str, Any]) -> dict[str, Any]:
    """A count of a Hugging Face config names its model_type (``hf_model_type``)."""
    from archcalc.hf import model_type_of

    model_type = model_type_of(spec.doc)
    return obj if model_type is None else {**obj, "hf_model_type": model_type}


def _hf_text(spec: api.Spec, text: str) -> str:
    """The header of a Hugging Face config's count names its model_type."""
    from archcalc.hf import model_type_of

    model_type = model_type_of(spec.doc)
    first, newline, rest = text.partition("\n")
    if model_type is None or not first.endswith(")"):
        return text
    return f"{first[:-1]}, Hugging Face model_type {model_type}){newline}{rest}"
