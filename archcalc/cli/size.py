"""archcalc size: memory, KV cache, FLOPs and training tokens, each with its convention."""

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
def size(
    spec: Annotated[Path, typer.Argument(help="Spec file (YAML).", show_default=False)],
    seq_len: Annotated[
        int, typer.Option("--seq-len", "-S", help="Sequence length for FLOPs and the KV cache.")
    ] = 2048,
    kv_dtype: Annotated[
        str, typer.Option("--kv-dtype", help="KV-cache dtype: fp32, bf16, fp16, fp8, int8, int4.")
    ] = "bf16",
    group_size: Annotated[
        int, typer.Option("--group-size", help="int4 weights per fp16 scale.")
    ] = 128,
    gpus: Annotated[int, typer.Option("--gpus", help="Data-parallel GPUs sharing ZeRO state.")] = 1,
    batch: Annotated[int, typer.Option("--batch", help="Sequences in the KV cache.")] = 1,
    tokens: Annotated[
        str | None,
        typer.Option(
            "--tokens",
            metavar="SIZE",
            help="Training tokens (7B, 1.5T...); default: Chinchilla's 20 per parameter.",
        ),
    ] = None,
    fmt: FormatOpt = "text",
    as_json: JsonOpt = False,
    set_: SetOpt = None,
    plugin: PluginOpt = None,
) -> None:
    """Weight and training memory, KV cache, forward FLOPs and training compute.

    Conventions are printed with the numbers: bytes per parameter by dtype (int4 with one
    fp16 scale per group), 16 B/param for mixed-precision Adam with ZeRO stages 1-3,
    matmul FLOPs as 2·m·n·k (non-causal and causal), training as 3 × forward next to
    6·N·D, and Chinchilla's ≈ 20 tokens per parameter.

    Examples:

      archcalc size examples/llama-3-8b.yaml --seq-len 8192

      archcalc size examples/mixtral-8x7b.yaml --gpus 64 --tokens 2T --json
    """
    with _guard():
        from archcalc import sizes
        from archcalc.solve import parse_size

        as_json = _format(fmt, as_json) == "json"
        n_tokens = None if tokens is None else parse_size(tokens, "--tokens")
        overrides = _overrides(set_)
        _registry(plugin)
        loaded = _load(spec, overrides)
        _warn(loaded.warnings)
        result = sizes.sizes(
            loaded,
            seq_len=seq_len,
            kv_dtype=kv_dtype,
            group_size=group_size,
            gpus=gpus,
            batch=batch,
            tokens=n_tokens,
        )
        if as_json:
            _out(json.dumps({**_json_meta(overrides), **sizes.to_json(result)}, indent=2))
        else:
            _out(sizes.to_text(result))
