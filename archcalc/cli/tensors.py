"""archcalc tensors: every parameter tensor a spec implies, with its saved name and shape."""

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

ModelTypeOpt = Annotated[
    str | None,
    typer.Option(
        "--model-type",
        help="Name the tensors as transformers saves this model_type (llama, gpt2, t5...). "
        "Default: the spec's own (a config.json, or a spec imported from one).",
        show_default=False,
    ),
]


@app.command()
def tensors(
    spec_path: Annotated[
        Path, typer.Argument(metavar="SPEC", help="A spec, config.json or model folder.")
    ],
    set_: SetOpt = None,
    fmt: FormatOpt = "text",
    as_json: JsonOpt = False,
    model_type: ModelTypeOpt = None,
    dtype: Annotated[
        str, typer.Option("--dtype", help="Bytes per tensor for this dtype (bf16, fp32, fp8...).")
    ] = "bf16",
    plugin: PluginOpt = None,
) -> None:
    """List every parameter tensor of a spec: saved name, shape, parameters and bytes.

    Names are the reference library's: transformers' state-dict names for a Hugging Face
    config (or with --model-type), timm's for a vit, torch.nn.Sequential paths for a cnn.
    The tensors always sum to the count's total_params; tied tensors are listed once.

    Examples:

      archcalc tensors path/to/model/config.json

      archcalc tensors examples/llama-3-8b.yaml --model-type llama --dtype bf16

      archcalc tensors examples/mixtral-8x7b.yaml --model-type mixtral --format json
    """
    with _guard():
        from archcalc import check as checking
        from archcalc import tensor_render
        from archcalc.tensors import parse_dtype

        chosen = _format(fmt, as_json)
        stored_dtype = parse_dtype(dtype)
        overrides = _overrides(set_)
        _registry(plugin)
        spec = _load(spec_path, overrides)
        _warn(spec.warnings)
        expected, used = checking.spec_tensors(spec, model_type)
        if chosen == "json":
            listed = tensor_render.tensors_json(spec, expected, used, stored_dtype)
            _out(json.dumps({**_json_meta(overrides), **listed}, indent=2))
        else:
            _out(tensor_render.tensors_text(spec, expected, used, stored_dtype))
