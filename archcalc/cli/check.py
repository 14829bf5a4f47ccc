"""archcalc check: does a spec describe a checkpoint, tensor by tensor?"""

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
    _exit,
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
from archcalc.cli.tensors import ModelTypeOpt


@app.command()
def check(
    spec_path: Annotated[
        Path, typer.Argument(metavar="SPEC", help="A spec, config.json or model folder.")
    ],
    against: Annotated[
        Path,
        typer.Option(
            "--against",
            "-a",
            metavar="PATH",
            help="A .safetensors file, a model.safetensors.index.json, or a folder holding one.",
            show_default=False,
        ),
    ],
    set_: SetOpt = None,
    fmt: FormatOpt = "text",
    as_json: JsonOpt = False,
    model_type: ModelTypeOpt = None,
    plugin: PluginOpt = None,
) -> None:
    """Compare a spec with a checkpoint's tensors: exit 0 when they agree, 1 when not.

    Reads only the safetensors headers (never the weights) and reports, one by one, the
    tensors the spec implies that the checkpoint lacks, the tensors the checkpoint holds
    that the spec does not imply, and shape mismatches; then the index's totals. Names
    that differ only by a base-model prefix (model., transformer., bert.), stored copies
    of tied embeddings and saved buffers are handled and noted, not reported.

    Examples:

      archcalc check path/to/model/config.json --against path/to/model

      archcalc check specs/my-llama.yaml --against ckpt/model.safetensors.index.json

      archcalc check path/to/model --against path/to/model --set n_layers=3
    """
    with _guard():
        from archcalc import check as checking
        from archcalc import tensor_render
        from archcalc.checkpoint import open_checkpoint
        from archcalc.errors import ExitCode

        chosen = _format(fmt, as_json)
        overrides = _overrides(set_)
        _registry(plugin)
        spec = _load(spec_path, overrides)
        _warn(spec.warnings)
        checkpoint = open_checkpoint(against, display=str(against))
        report = checking.check(spec, checkpoint, model_type)
        if chosen == "json":
            _out(
                json.dumps({**_json_meta(overrides), **tensor_render.check_json(report)}, indent=2)
            )
        else:
            _out(tensor_render.check_text(report))
        if not report.agree:
            _exit(ExitCode.INVALID)
