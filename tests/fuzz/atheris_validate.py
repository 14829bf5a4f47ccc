"""Coverage-guided fuzzing of ``archcalc validate`` with atheris, for runs longer than the suite.

Not collected by pytest (no ``test_`` prefix) and not needed by it. The property tests in
``tests/test_validate_fuzz.py`` check the same invariant for a few seconds; this harness
lets libFuzzer search for hours, starting from the corpus::

    pip install atheris
    mkdir -p /tmp/archcalc-fuzz && cp tests/corpus/*/*.yaml /tmp/archcalc-fuzz/
    python tests/fuzz/atheris_validate.py /tmp/archcalc-fuzz -max_len=4096 -timeout=5 \\
        -rss_limit_mb=1024

A finding is any input for which validation raises something other than SpecError (the
CLI would print "internal error"), prints a line that is not a located diagnostic, takes
more than 5 s, or uses more than 1 GiB. libFuzzer writes the input to ``crash-*``;
replay it with ``archcalc validate crash-*`` and add it to ``tests/corpus/invalid/``.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from archcalc import api, yamlsafe
    from archcalc.errors import PluginError, SpecError


def one_input(data: bytes) -> None:
    """Load and check one input exactly as ``archcalc validate`` does, minus the printing."""
    try:
        doc = yamlsafe.load_bytes(data, "fuzz.yaml")
        spec = api.check_document(doc)
        diagnostics = list(spec.warnings)
    except SpecError as exc:
        diagnostics = exc.diagnostics
        if not diagnostics:
            raise AssertionError("SpecError without diagnostics") from exc
    except PluginError as exc:  # the built-in family failed on a spec: a bug to report
        raise AssertionError(f"family code failed on a spec: {exc}") from exc
    for diagnostic in diagnostics:
        if diagnostic.line < 1 or diagnostic.column < 1:
            raise AssertionError(f"unlocated diagnostic: {diagnostic}")
        if "could not read YAML" in diagnostic.message:
            raise AssertionError(f"unforeseen loader exception: {diagnostic.message}")


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
