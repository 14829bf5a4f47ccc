"""The body of ``archcalc count``, free of typer (see :mod:`archcalc.cli._common`).

:mod:`archcalc.cli.count` declares the command's options for typer and calls :func:`run`;
:func:`archcalc.cli.main` calls :func:`run` directly for a plain ``archcalc count SPEC...``,
so the commonest command does not import typer.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from archcalc import api, render
from archcalc.cli._common import (
    _err,
    _exit,
    _format,
    _guard,
    _load,
    _out,
    _overrides,
    _registry,
    _warn,
)
from archcalc.errors import ExitCode, SpecError, UsageError
from archcalc.spec import Override


def run(
    specs: Sequence[str | os.PathLike[str]],
    set_: list[str] | None = None,
    fmt: str = "text",
    as_json: bool = False,
    plugin: list[str] | None = None,
    show_shapes: bool = False,
) -> None:
    """Count each spec; the arguments are ``archcalc count``'s options."""
    with _guard():
        as_json = _format(fmt, as_json) == "json"
        overrides = _overrides(set_)
        _registry(plugin)
        invalid = False
        outputs: list[tuple[api.Spec | None, Any]] = []
        objects: list[dict[str, Any]] = []  # in the order of the arguments, failures too
        for path in specs:
            try:
                if _is_checkpoint(path):
                    outputs.append((None, _checkpoint(path, overrides)))
                    objects.append(_json(*outputs[-1]))
                    continue
                spec = _load(path, overrides)
                result = api.count(spec)
            except SpecError as exc:
                invalid = True
                _err(render.diagnostics_text(exc.diagnostics))
                objects.append(
                    render.count_failure_json(os.fspath(path), exc.diagnostics, overrides)
                )
                continue
            _warn(spec.warnings)
            outputs.append((spec, result))
            objects.append(_json(spec, result))
        if as_json:
            _out(json.dumps(objects[0] if len(specs) == 1 else objects, indent=2))
        else:
            texts = [_text(s, r, show_shapes) for s, r in outputs]
            _out("\n\n".join(texts))
        if invalid:
            _exit(ExitCode.INVALID)


def _is_checkpoint(path: str | os.PathLike[str]) -> bool:
    """A safetensors file or index, or a folder without a config.json to count from."""
    name = os.path.basename(os.fspath(path)).lower()
    if name.endswith((".safetensors", ".safetensors.index.json")):
        return True
    return os.path.isdir(path) and not os.path.exists(os.path.join(path, "config.json"))


def _checkpoint(path: str | os.PathLike[str], overrides: list[Override]) -> Any:
    from archcalc.checkpoint import index_warnings, open_checkpoint

    if overrides:
        raise UsageError(f"--set does not apply to a checkpoint ({path}): it has no spec to change")
    checkpoint = open_checkpoint(path, display=os.fspath(path))
    _warn(index_warnings(checkpoint))
    return checkpoint


def _json(spec: api.Spec | None, result: Any) -> dict[str, Any]:
    if spec is None:
        from archcalc.tensor_render import checkpoint_json

        return checkpoint_json(result)
    return _hf_json(spec, render.count_json(spec, result))


def _text(spec: api.Spec | None, result: Any, show_shapes: bool) -> str:
    if spec is None:
        from archcalc.tensor_render import checkpoint_text

        return checkpoint_text(result)
    text = _hf_text(spec, render.count_text(spec, result))
    return _with_shapes(spec, text) if show_shapes else text


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


def _model_type(spec: api.Spec) -> str | None:
    """The Hugging Face model_type the spec was translated from, if it was.

    Only :mod:`archcalc.hf` translates configs, so when this process never imported it
    the spec is not one, and a YAML spec's count does not pay for importing it.
    """
    hf = sys.modules.get("archcalc.hf")
    return None if hf is None else hf.model_type_of(spec.doc)


def _hf_json(spec: api.Spec, obj: dict[str, Any]) -> dict[str, Any]:
    """A count of a Hugging Face config names its model_type (``hf_model_type``)."""
    model_type = _model_type(spec)
    return obj if model_type is None else {**obj, "hf_model_type": model_type}


def _hf_text(spec: api.Spec, text: str) -> str:
    """The header of a Hugging Face config's count names its model_type."""
    model_type = _model_type(spec)
    first, newline, rest = text.partition("\n")
    if model_type is None or not first.endswith(")"):
        return text
    return f"{first[:-1]}, Hugging Face model_type {model_type}){newline}{rest}"
