"""Text and JSON renderings of counts and diagnostics, as strings (the CLI prints them)."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any

from archcalc.api import Count, Spec
from archcalc.errors import Diagnostic, safe

UNITS = ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K"))


def human(n: int) -> str:
    """Three significant figures with a unit: 6.74B, 46.7B, 124M, 1.01T."""
    for scale, unit in UNITS:
        if abs(n) >= scale:
            value = n / scale
            digits = 2 if abs(value) < 10 else 1 if abs(value) < 100 else 0
            return f"{value:.{digits}f}{unit}"
    return str(n)


def _label(section: str, name: str) -> str:
    return safe(f"{section} {name}" if section else name)


def count_text(spec: Spec, result: Count) -> str:
    """A model-summary style table: per layer, layers, total and share of each component."""
    total = result.total_params
    rows = [("component", "per layer", "layers", "params", "%")]
    for part in result.breakdown:
        share = f"{100 * int(part.params) / total:.1f}%" if total else "-"
        per_layer = f"{int(part.per_layer):,}" if part.per_layer is not None else ""
        layers = f"{int(part.layers):,}" if part.layers is not None else ""
        rows.append(
            (_label(part.section, part.name), per_layer, layers, f"{int(part.params):,}", share)
        )
    rows.append(("total", "", "", f"{total:,}", "100.0%"))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    where = f"{safe(result.family)}, {safe(spec.file)}{overrides_text(spec.all_overrides)}"
    lines = [f"{safe(result.name)}  ({where})", ""]
    for i, row in enumerate(rows):
        if i == len(rows) - 1:
            lines.append("-" * (sum(widths) + 8))
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    lines.append("")
    lines.append(f"total params:  {total:,}  ({human(total)})")
    if result.active_params != total:
        active_share = 100 * result.active_params / total
        lines.append(
            f"active params: {result.active_params:,}  ({human(result.active_params)}, "
            f"{active_share:.1f}% per token)"
        )
    for key, value in result.breakdown.extras.items():  # e.g. a LoRA plugin's trainable_params
        figure = int(value)
        share = f", {100 * figure / total:.2f}% of total" if total else ""
        lines.append(f"{key.replace('_', ' ')}: {figure:,}  ({human(figure)}{share})")
    assumed = defaults_used(spec)
    if assumed:
        lines.append("defaults used: " + ", ".join(f"{k}={text_value(v)}" for k, v in assumed))
    return "\n".join(lines)


def overrides_text(overrides: Sequence[Any]) -> str:
    """``, --set n_layers=48 --set bias=true`` for a header, so a what-if never looks
    like the original model; '' without overrides."""
    shown = " ".join(f"--set {safe(o.key)}={safe(o.text)}" for o in overrides)
    return f", {shown}" if overrides else ""


def json_value(value: Any) -> Any:
    """A value as JSON types it: bools and ints as themselves, an exact fraction "13/10"."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    if isinstance(value, int):
        return int(value)
    return str(value)


def text_value(value: Any) -> str:
    """A value as the text outputs show it: ``true``, ``128``, ``13/10``."""
    shown = json_value(value)
    return str(shown).lower() if isinstance(shown, bool) else str(shown)


def defaults_used(spec: Spec) -> list[tuple[str, Any]]:
    """Fields the spec left to their defaults, so a reader sees every assumption.

    For a Hugging Face config these are the config keys it left out and the model type's
    defaults that filled them in: the translated spec's own keys all come from the config.
    """
    # Only archcalc.hf translates configs: when this run never imported it, the spec is not
    # one, and a YAML spec's count does not pay for importing it.
    hf = sys.modules.get("archcalc.hf")
    hf_defaults = None if hf is None else hf.defaults_of(spec.doc)
    if hf_defaults is not None:
        return [(k, json_value(v)) for k, v in hf_defaults.items()]
    shown = []
    memo = spec.exact.namespace.memo
    for entry in spec.exact.namespace.entries.values():
        if entry.given or entry.path[0] == "vars" or entry.name not in spec.exact.reads:
            continue
        shown.append((entry.name, json_value(memo.get(entry.name, entry.raw))))
    return shown


def count_json(spec: Spec, result: Count) -> dict[str, Any]:
    """One spec's count; ``valid``, ``overrides`` and ``diagnostics`` (its warnings) as in
    :func:`count_failure_json`, so an array mixes both kinds of entry."""
    from archcalc import __version__

    return {
        "archcalc_version": __version__,
        "valid": True,
        "name": result.name,
        "family": result.family,
        "file": spec.file,
        "total_params": result.total_params,
        "active_params": result.active_params,
        "total_human": human(result.total_params),
        # Extra figures a family reports (Breakdown.extras), e.g. ``trainable_params``.
        **{key: int(value) for key, value in result.breakdown.extras.items()},
        "parts": [
            {
                "section": p.section,
                "name": p.name,
                "params": int(p.params),
                "active_params": int(p.active),
                "per_layer": None if p.per_layer is None else int(p.per_layer),
                "layers": None if p.layers is None else int(p.layers),
            }
            for p in result.breakdown
        ],
        "defaults_used": dict(defaults_used(spec)),
        "overrides": overrides_json(spec.all_overrides),
        "diagnostics": [diagnostic_json(d) for d in spec.warnings],
    }


def count_failure_json(
    file: str, diagnostics: Sequence[Diagnostic], overrides: Sequence[Any]
) -> dict[str, Any]:
    """The entry of a spec that could not be counted: its file and every problem."""
    from archcalc import __version__

    return {
        "archcalc_version": __version__,
        "valid": False,
        "name": None,
        "family": None,
        "file": file,
        "total_params": None,
        "active_params": None,
        "overrides": overrides_json(overrides),
        "diagnostics": [diagnostic_json(d) for d in diagnostics],
    }


def diagnostics_text(diagnostics: Iterable[Diagnostic]) -> str:
    return "\n".join(d.format() for d in diagnostics)


def _escape_github(text: str, property_value: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def diagnostics_github(diagnostics: Iterable[Diagnostic]) -> str:
    """GitHub Actions workflow commands: annotations on the pull request's diff."""
    return "\n".join(
        f"::{d.severity} file={_escape_github(d.file, True)},line={d.line},col={d.column},"
        f"title=archcalc {d.code}::{_escape_github(d.message)}"
        for d in diagnostics
    )


def diagnostic_json(d: Diagnostic) -> dict[str, Any]:
    """One diagnostic as every JSON output writes it."""
    return {
        "file": d.file,
        "line": d.line,
        "column": d.column,
        "severity": d.severity,
        "code": d.code,
        "message": d.message,
    }


def override_value(text: str) -> Any:
    """A ``--set`` value typed as written: 48 an int, true a bool, anything else the text."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return int(text)
    except ValueError:
        return text


def overrides_json(overrides: Sequence[Any]) -> dict[str, Any]:
    """The ``--set`` overrides of a run, key to typed value (see :func:`override_value`)."""
    return {o.key: override_value(o.text) for o in overrides}
