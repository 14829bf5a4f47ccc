"""Coverage-guided fuzzing of archcalc's inputs with atheris, for runs longer than the suite.

Not collected by pytest (no ``test_`` prefix) and not needed by it. The property tests in
``tests/test_validate_fuzz.py`` check the same invariants for a few seconds; this harness
lets libFuzzer search for hours, starting from the corpus::

    pip install atheris
    mkdir -p /tmp/archcalc-fuzz && cp tests/corpus/*/*.yaml tests/data/hf/*.json /tmp/archcalc-fuzz/
    python tests/fuzz/atheris_validate.py /tmp/archcalc-fuzz -max_len=4096 -timeout=5 \\
        -rss_limit_mb=1024

The first byte picks what the rest is: a YAML spec (``archcalc validate``), a Hugging Face
config.json (parsed, translated and checked as ``archcalc count config.json`` does), or
command-line options (``--set KEY=VALUE`` and ``--keep`` on a valid spec, through the CLI).
A finding is any input for which archcalc raises something other than its located errors
(the CLI would print "internal error" or exit 3), prints a diagnostic without a position,
takes more than 5 s, or uses more than 1 GiB. libFuzzer writes the input to ``crash-*``;
replay it (drop the first byte) and add it to ``tests/corpus/invalid/``.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from typer.testing import CliRunner

    from archcalc import api, hf, yamlsafe
    from archcalc.cli import app
    from archcalc.errors import Diagnostic, PluginError, SpecError, UsageError

SPEC = b"family: transformer\nn_layers: 2\nd_model: 64\nn_heads: 4\nd_ff: 256\nvocab_size: 100\n"
runner = CliRunner()


def _check(diagnostics: list[Diagnostic]) -> None:
    for diagnostic in diagnostics:
        if diagnostic.line < 1 or diagnostic.column < 1:
            raise AssertionError(f"unlocated diagnostic: {diagnostic}")
        if "could not read YAML" in diagnostic.message:
            raise AssertionError(f"unforeseen loader exception: {diagnostic.message}")


def _spec(data: bytes) -> None:
    """Load and check one spec exactly as ``archcalc validate`` does, minus the printing."""
    try:
        doc = yamlsafe.load_bytes(data, "fuzz.yaml")
        _check(list(api.check_document(doc).warnings))
    except SpecError as exc:
        if not exc.diagnostics:
            raise AssertionError("SpecError without diagnostics") from exc
        _check(exc.diagnostics)
    except PluginError as exc:  # the built-in family failed on a spec: a bug to report
        raise AssertionError(f"family code failed on a spec: {exc}") from exc


def _config(data: bytes) -> None:
    """A config.json: parsed, translated by its model type's plugin, the spec checked."""
    try:
        parsed = hf.parse_config(data, "config.json")
        translation = hf.translate(parsed)
        api.check_document(hf.to_document(parsed, translation))
    except SpecError as exc:
        if not exc.diagnostics:
            raise AssertionError("SpecError without diagnostics") from exc
        _check(exc.diagnostics)
    except PluginError as exc:  # a built-in translator failed on a config: a bug
        raise AssertionError(f"translator failed on a config: {exc}") from exc


def _options(data: bytes) -> None:
    """``--set`` and ``--keep`` values from the input, on a valid spec, through the CLI."""
    text = data.decode("utf-8", "replace")
    key, _, rest = text.partition("=")
    value, _, keep = rest.partition("\n")
    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder) / "s.yaml"
        spec.write_bytes(SPEC)
        args = ["formula", str(spec), "--set", f"{key}={value}"] + (
            ["--keep", keep] if keep else []
        )
        result = runner.invoke(app, args)
    if result.exit_code not in (0, 1, 2) or "Traceback" in result.output:
        raise AssertionError(f"{args!r}: exit {result.exit_code}: {result.output[-500:]}")


def one_input(data: bytes) -> None:
    if not data:
        return
    mode, rest = data[0] % 3, data[1:]
    with contextlib.suppress(UsageError):  # a --set the command line refuses: right
        (_spec, _config, _options)[mode](rest)


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
