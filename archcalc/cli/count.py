"""archcalc count: exact counts with a per-component breakdown."""

from __future__ import annotations

from typing import Annotated

import typer

from archcalc.cli._app import JsonOpt, PluginOpt, SetOpt, SpecsArg, app
from archcalc.cli._count import run


@app.command()
def count(
    specs: SpecsArg,
    set_: SetOpt = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="text, or json: one object per spec (an array for several), failures included.",
        ),
    ] = "text",
    as_json: JsonOpt = False,
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

      archcalc count path/to/hf-model-folder          (reads its config.json)

      archcalc count model.safetensors                (the checkpoint's own tensors, by dtype)

    A Hugging Face model folder is counted from its config.json; a .safetensors file, a
    model.safetensors.index.json or a folder without config.json is counted from the
    checkpoint's tensor headers (no weights are read).
    """
    run(specs, set_, fmt, as_json, plugin, show_shapes)
