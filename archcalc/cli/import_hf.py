"""archcalc import-hf: turn a Hugging Face config.json into an archcalc spec."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from archcalc import api, hf, yamlsafe
from archcalc.cli._app import PluginOpt, _err, _guard, _out, _registry, app
from archcalc.errors import UsageError
from archcalc.schema import SCHEMA_ID


@app.command("import-hf")
def import_hf(
    config: Annotated[
        Path,
        typer.Argument(help="A Hugging Face config.json.", show_default=False, metavar="CONFIG"),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", metavar="SPEC", help="Write the spec here (default: stdout)."
        ),
    ] = None,
    schema: Annotated[
        str,
        typer.Option(
            "--schema",
            metavar="REF",
            help="What the yaml-language-server modeline points at (a path or URL).",
        ),
    ] = SCHEMA_ID,
    plugin: PluginOpt = None,
) -> None:
    """Write the archcalc spec equivalent to a Hugging Face config.json.

    The spec counts exactly what transformers builds for the config (AutoModelForCausalLM,
    AutoModel for BERT-like encoders, AutoModelForSeq2SeqLM for T5/BART), and every other
    command (count, formula, solve, sweep, validate) works on it.

    Examples:

      archcalc import-hf config.json -o llama.yaml

      archcalc import-hf config.json -o spec.yaml && archcalc formula spec.yaml
    """
    with _guard():
        _registry(plugin)
        parsed = hf.load_config(config, str(config))
        translation = hf.translate(parsed)
        text = hf.spec_yaml(parsed, translation, schema)
        # The spec must load and validate as written: check it before handing it out.
        target = str(output) if output is not None else "<stdout>"
        api.check_document(yamlsafe.load_text(text, target))
        if output is None:
            _out(text)
            return
        if output.exists() and not output.is_file():
            raise UsageError(f"--output {output}: not a regular file")
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--output {output}: {exc.strerror or exc}") from None
        _err(f"archcalc: wrote {output} ({translation.model_type}, from {config})")
