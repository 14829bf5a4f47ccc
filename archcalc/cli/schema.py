"""archcalc schema: the JSON Schema of specs, plugins included."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from archcalc import api
from archcalc.cli._app import (
    JsonOpt,
    PluginOpt,
    _err,
    _format,
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
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write the schema to FILE (e.g. .archcalc.schema.json beside your specs: "
            "import-hf modelines then point at it, and editors need no network).",
        ),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", "-f", metavar="FORMAT", help="json (the only one).")
    ] = "json",
    as_json: JsonOpt = False,
    plugin: PluginOpt = None,
) -> None:
    """Print the JSON Schema of specs, including installed plugins' families.

    Point your editor at it with a first line in the spec:

      # yaml-language-server: $schema=../schemas/archcalc.schema.json

    Examples:

      archcalc schema -o .archcalc.schema.json

      archcalc schema transformer
    """
    with _guard():
        from archcalc import schema as schemas
        from archcalc.spec import did_you_mean

        _format(fmt, as_json, ("json",))
        _registry(plugin)
        registry = api.default_registry()
        if family is None:
            document = schemas.combined_schema(registry.families.values(), registry)
        else:
            found = registry.family(family)
            if found is None:
                known = sorted(registry.families)
                raise UsageError(
                    f"unknown family '{family}' (installed: {', '.join(known)})"
                    + did_you_mean(family, known)
                )
            document = schemas.family_schema(found, registry)
        text = json.dumps(document, indent=2)
        if output is None:
            _out(text)
            return
        if output.exists() and not output.is_file():
            raise UsageError(f"--output {output}: not a regular file")
        try:
            output.write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--output {output}: {exc.strerror or exc}") from None
        _err(f"archcalc: wrote {output}")
