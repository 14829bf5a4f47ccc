"""archcalc schema: the JSON Schema of specs, plugins included."""

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
from archcalc.errors import UsageError


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
            _out(
                json.dumps(schemas.combined_schema(registry.families.values(), registry), indent=2)
            )
            return
        found = registry.family(family)
        if found is None:
            known = sorted(registry.families)
            raise UsageError(
                f"unknown family '{family}' (installed: {', '.join(known)})"
                + did_you_mean(family, known)
            )
        _out(json.dumps(schemas.family_schema(found, registry), indent=2))
