"""archcalc import-hf: turn a Hugging Face config.json into an archcalc spec."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from archcalc import api, hf, yamlsafe
from archcalc.cli._app import JsonOpt, PluginOpt, _err, _format, _guard, _out, _registry, app
from archcalc.errors import ArchcalcError, SpecError, UsageError, safe

#: Schema files looked for, in each folder from the spec's up to the repository's root.
SCHEMA_FILES = ("schemas/archcalc.schema.json", ".archcalc.schema.json", "archcalc.schema.json")


def schema_reference(folder: Path) -> tuple[str, bool]:
    """What the modeline of a spec written in ``folder`` points at, and whether it is local.

    A schema file in the folder or one above it (up to the repository's root), as a
    relative path an offline editor resolves; else this release's schema URL, pinned to
    its tag (a URL to ``main`` would change under the spec).
    """
    from archcalc import __version__

    start = folder.resolve()
    for directory in (start, *start.parents):
        for name in SCHEMA_FILES:
            if (directory / name).is_file():
                return Path(os.path.relpath(directory / name, start)).as_posix(), True
        if (directory / ".git").exists():
            break
    url = "https://raw.githubusercontent.com/archcalc/archcalc"
    return f"{url}/v{__version__}/schemas/archcalc.schema.json", False


def _same_file(a: Path, b: Path) -> bool:
    """Whether ``b`` names the file ``a`` (the same inode, or the same resolved path)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


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
        str | None,
        typer.Option(
            "--schema",
            metavar="REF",
            help="What the yaml-language-server modeline points at (a path or URL). Default: "
            "a schema file near the spec (schemas/archcalc.schema.json or .archcalc.schema.json "
            "here or in a parent folder), as a relative path; else this release's schema URL.",
        ),
    ] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="yaml (the spec), or json: the spec's data, its YAML text and where it came from.",
        ),
    ] = "yaml",
    as_json: JsonOpt = False,
    plugin: PluginOpt = None,
) -> None:
    """Write the archcalc spec equivalent to a Hugging Face config.json.

    The spec counts exactly what transformers builds for the config (AutoModelForCausalLM,
    AutoModel for BERT-like encoders, AutoModelForSeq2SeqLM for T5/BART), and every other
    command (count, formula, solve, sweep, validate) works on it.

    Examples:

      archcalc import-hf config.json -o llama.yaml

      archcalc import-hf config.json -o spec.yaml && archcalc formula spec.yaml

      archcalc schema -o .archcalc.schema.json   (then modelines point at it, offline)
    """
    with _guard():
        fmt = "json" if as_json else fmt
        if fmt not in ("yaml", "json"):
            _format(fmt, False, ("yaml", "json"))
        _registry(plugin)
        if output is not None and _same_file(config, output):
            raise UsageError(
                f"--output {safe(output)}: that is the config being read; write the spec elsewhere"
            )
        parsed = hf.load_config(config, str(config))
        translation = hf.translate(parsed)
        # Problems of the translated spec are the config's: report them at its lines, not
        # in a file never written.
        api.check_document(hf.to_document(parsed, translation))
        local = True
        if schema is None:
            schema, local = schema_reference(output.parent if output is not None else Path("."))
        text = hf.spec_yaml(parsed, translation, schema)
        # The spec must load and validate as written; if not, archcalc wrote it wrong.
        target = str(output) if output is not None else "<stdout>"
        try:
            doc = yamlsafe.load_text(text, target)
            api.check_document(doc)
        except SpecError as exc:
            raise ArchcalcError(
                f"internal error: the spec written for {safe(config)} does not validate "
                f"({exc.diagnostics[0].format()}); please report this"
            ) from None
        if not local:
            _err(
                f"archcalc: the modeline points at {schema}, which an offline editor cannot "
                "load; `archcalc schema -o .archcalc.schema.json` writes one beside your specs"
            )
        if output is not None:
            if output.exists() and not output.is_file():
                raise UsageError(f"--output {safe(output)}: not a regular file")
            try:
                output.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise UsageError(f"--output {safe(output)}: {exc.strerror or exc}") from None
            what = f"{safe(translation.model_type)}, from {safe(config)}"
            _err(f"archcalc: wrote {safe(output)} ({what})")
        if fmt == "json":  # on stdout, with or without -o
            from archcalc import __version__

            data = {
                "archcalc_version": __version__,
                "config": str(config),
                "output": None if output is None else str(output),
                "model_type": translation.model_type,
                "schema": schema,
                "spec": doc.data,
                "yaml": text,
            }
            _out(json.dumps(data, indent=2, default=str))
        elif output is None:
            _out(text)
