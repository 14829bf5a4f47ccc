"""archcalc plugins: what is loaded and from where."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from archcalc.cli._app import (
    JsonOpt,
    PluginOpt,
    _err,
    _exit,
    _format,
    _guard,
    _out,
    app,
)
from archcalc.errors import ExitCode, safe
from archcalc.registry import load_registry


@app.command()
def plugins(
    fmt: Annotated[
        str,
        typer.Option("--format", "-f", metavar="FORMAT", help="text, or json (a list of plugins)."),
    ] = "text",
    as_json: JsonOpt = False,
    plugin: PluginOpt = None,
) -> None:
    """List loaded plugins: name, version, where they come from, what they provide
    (families, layer types, the Hugging Face model_types they read).

    Examples:

      archcalc plugins

      archcalc plugins --plugin ./my_layer.py --json
    """
    with _guard():
        as_json = _format(fmt, as_json) == "json"
        # Every plugin is listed, broken ones too (with why): exit 3 when any is broken.
        registry = load_registry(plugin or (), keep_broken=True)
        rows = [
            {
                "name": p.name,
                "version": p.version,
                "source": p.source,
                "families": list(p.families),
                "layer_types": list(p.layer_types),
                "hf_model_types": list(p.hf_model_types),
                "error": p.error or None,
            }
            for p in registry.plugins
        ]
        if as_json:
            _out(json.dumps(rows, indent=2))
        else:
            for row in rows:
                name = f"{safe(row['name'])} {safe(row['version'])} ({safe(row['source'])})"
                if row["error"]:
                    _out(f"{name}: BROKEN")
                    continue
                provides = [
                    f"{label}: " + ", ".join(safe(item) for item in row[key] or ())
                    for key, label in (
                        ("families", "families"),
                        ("layer_types", "layer types"),
                        ("hf_model_types", "Hugging Face model_types"),
                    )
                    if row[key]
                ]
                _out(f"{name}: " + ("; ".join(provides) or "provides nothing"))
        for info in registry.broken:
            _err(f"archcalc: plugin error: {info.error}")
        if registry.broken:
            _exit(ExitCode.INTERNAL)
