"""archcalc plugins: what is loaded and from where."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from archcalc import api
from archcalc.cli._app import (
    PluginOpt,
    _guard,
    _out,
    _registry,
    app,
)


@app.command()
def plugins(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable list.")] = False,
    plugin: PluginOpt = None,
) -> None:
    """List loaded plugins: name, version, where they come from, what they provide
    (families, layer types, the Hugging Face model_types they read).

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
                "layer_types": list(p.layer_types),
                "hf_model_types": list(p.hf_model_types),
            }
            for p in registry.plugins
        ]
        if as_json:
            _out(json.dumps(rows, indent=2))
            return
        for row in rows:
            provides = [
                f"{label}: " + ", ".join(row[key])
                for key, label in (
                    ("families", "families"),
                    ("layer_types", "layer types"),
                    ("hf_model_types", "Hugging Face model_types"),
                )
                if row[key]
            ]
            line = f"{row['name']} {row['version']} ({row['source']}): " + (
                "; ".join(provides) or "provides nothing"
            )
            _out(line)
