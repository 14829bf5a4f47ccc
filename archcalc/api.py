"""The library's front door: load a spec, count it, check it. Never prints.

Example::

    import archcalc
    spec = archcalc.load_spec("examples/llama-3-8b.yaml")
    result = archcalc.count(spec)
    result.total_params, result.active_params   # exact ints
    archcalc.formula(spec, keep=["n_layers", "d_model"]).total   # a sympy expression
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from archcalc import yamlsafe
from archcalc.contract import family_call, one_line
from archcalc.errors import (
    ArchcalcError,
    Diagnostic,
    DiagnosticSink,
    PluginError,
    SpecError,
    safe,
)
from archcalc.family import Breakdown, Family, ShapeRow
from archcalc.registry import Registry, load_registry
from archcalc.schema import validate_structure
from archcalc.spec import Override, Resolved, did_you_mean, resolve

_default_registry: Registry | None = None

#: Built-in families that were folded into another one, and what their specs write
#: instead (an old spec gets this, not a bare "unknown family").
RETIRED_FAMILIES = {
    "rwkv": (
        "family: transformer with mixer: rwkv, mlp: rwkv, n_heads: 1, d_head: <d_attention> "
        "(d_model if it was left out), d_ff: <d_ff> (4 × d_model if it was left out), norm: "
        "layernorm, positional: none, embedding_norm: true (README: RWKV-4)"
    ),
}


def default_registry() -> Registry:
    """The plugins of this process, loaded once."""
    global _default_registry
    if _default_registry is None:
        _default_registry = load_registry()
    return _default_registry


@dataclass(frozen=True)
class Spec:
    """A loaded, valid spec: its document, family and exact values."""

    doc: yamlsafe.Document
    family: Family
    exact: Resolved
    overrides: tuple[Override, ...] = ()
    warnings: tuple[Diagnostic, ...] = field(default_factory=tuple)
    #: Every ``--set`` as given, when some named a Hugging Face config's keys (applied to
    #: the config before it was translated); ``overrides`` holds the ones left for the spec.
    given_overrides: tuple[Override, ...] = ()

    @property
    def all_overrides(self) -> tuple[Override, ...]:
        """What the user changed (config keys included): shown so a what-if never looks
        like the original model."""
        return self.given_overrides or self.overrides

    @property
    def name(self) -> str:
        return self.exact.name

    @property
    def file(self) -> str:
        return self.doc.file

    @property
    def registry(self) -> Registry:
        """The plugins this spec was loaded with."""
        return self.exact.registry


@dataclass(frozen=True)
class Count:
    """The exact count of one spec."""

    name: str
    family: str
    breakdown: Breakdown

    @property
    def total_params(self) -> int:
        return int(self.breakdown.total)

    @property
    def active_params(self) -> int:
        return int(self.breakdown.active)


def _family_of(doc: yamlsafe.Document, registry: Registry, sink: DiagnosticSink) -> Family | None:
    name = doc.data.get("family")
    if name is None:
        sink.error(
            doc.mark(()),
            "missing required key 'family' (one of: "
            + ", ".join(sorted(registry.families))
            + ")"
            + _family_hint(doc, registry),
            "S206",
        )
        return None
    if not isinstance(name, str):
        sink.error(
            doc.mark(("family",)),
            f"family must be the name of a family, got {type(name).__name__} "
            "(one of: " + ", ".join(sorted(registry.families)) + ")",
            "S206",
        )
        return None
    family = registry.family(name)
    if family is None:
        missing = registry.missing("family", name)
        if missing is not None:
            raise missing
        if name in RETIRED_FAMILIES:
            message = f"family '{name}' is now written as {RETIRED_FAMILIES[name]}"
            sink.error(doc.mark(("family",)), message, "S206")
            return None
        known = sorted(registry.families)
        sink.error(
            doc.mark(("family",)),
            f"unknown family '{name[:60]}' (installed: {', '.join(known)})"
            + did_you_mean(name, known),
            "S206",
        )
    return family


def _family_hint(doc: yamlsafe.Document, registry: Registry) -> str:
    """'; its keys are those of family X' when one family's keys fit the spec best."""
    from archcalc.discover import spec_keys

    keys = set(doc.data)
    family_keys = {name: spec_keys([f]) for name, f in registry.families.items()}
    # Most keys in common; among equals the family with the fewest keys (the base one,
    # not an extension of it such as transformer-lora).
    fits = sorted(family_keys, key=lambda n: (-len(keys & family_keys[n]), len(family_keys[n])))
    if not fits or len(keys & family_keys[fits[0]]) < 2:
        return ""
    best = fits[0]
    tie = len(fits) > 1 and (
        len(keys & family_keys[fits[1]]),
        len(family_keys[fits[1]]),
    ) == (len(keys & family_keys[best]), len(family_keys[best]))
    return "" if tie else f"; its keys are those of '{best}': add family: {best}"


def check_document(
    doc: yamlsafe.Document,
    overrides: Sequence[Override] = (),
    registry: Registry | None = None,
) -> Spec:
    """Validate a loaded document; raise :class:`~archcalc.errors.SpecError` with every problem.

    Problems the YAML reader recovered from (``doc.problems``) are reported with the rest,
    and nothing is said again about the values they concern. Warnings silenced by a
    ``# archcalc: ignore[CODE]`` comment on their line are left out (see
    :mod:`archcalc.ignores`).
    """
    if "ignore" not in doc.source:  # no ignore comment can be there: skip the module
        return _check_document(doc, overrides, registry)
    from archcalc import ignores

    try:
        spec = _check_document(doc, overrides, registry)
    except SpecError as exc:
        raise SpecError(ignores.apply(exc.diagnostics, doc.source, doc.file, False)) from None
    kept = ignores.apply(spec.warnings, doc.source, doc.file, True)
    return dataclasses.replace(spec, warnings=tuple(kept))


def _check_document(
    doc: yamlsafe.Document, overrides: Sequence[Override], registry: Registry | None
) -> Spec:
    registry = registry or default_registry()
    sink = DiagnosticSink(doc.file, list(doc.problems))
    family = _family_of(doc, registry, sink)
    if family is None:
        sink.raise_if_errors()
        raise AssertionError("unreachable: an unknown family is an error")
    try:
        bad_paths = validate_structure(doc, family, sink, doc.bad_paths, registry) | doc.bad_paths
    except ArchcalcError:
        raise
    except Exception as exc:  # the family's schema is broken (e.g. a remote $ref, never fetched)
        owner = registry.owners.get(family.name, "?")
        raise PluginError(
            f"plugin '{safe(owner)}' failed while checking: the schema of family "
            f"'{safe(family.name)}' is unusable: {one_line(exc)}"
        ) from None
    exact = resolve(doc, family, overrides, sink=sink, skip=bad_paths, registry=registry)
    return Spec(doc, family, exact, tuple(overrides), tuple(exact.sink.diagnostics))


def load_spec(
    path: str | os.PathLike[str],
    overrides: Sequence[Override | str] = (),
    registry: Registry | None = None,
    display: str | None = None,
) -> Spec:
    """Load and validate the spec at ``path``; ``overrides`` are ``KEY=EXPR`` strings or objects."""
    parsed = [o if isinstance(o, Override) else Override.parse(o) for o in overrides]
    doc, rest = _load(path, display, registry, parsed)
    spec = check_document(doc, rest, registry)
    if len(rest) != len(parsed):  # a config took some: keep them all, in the order given
        spec = dataclasses.replace(spec, given_overrides=tuple(parsed))
    return spec


def load_document(
    path: str | os.PathLike[str], display: str | None = None, registry: Registry | None = None
) -> yamlsafe.Document:
    """A spec file, or a Hugging Face ``config.json`` translated into one (see :mod:`archcalc.hf`).

    ``.json`` files are read as Hugging Face configs; any other file whose content turns
    out to be a mapping with a ``model_type`` and no ``family`` is one too. A folder holding
    a ``config.json`` is a Hugging Face model folder: its config is read. The plugin
    that reads the config's model_type comes from ``registry`` (default: this process's).
    """
    return _load(path, display, registry, ())[0]


def _load(
    path: str | os.PathLike[str],
    display: str | None,
    registry: Registry | None,
    overrides: Sequence[Override],
) -> tuple[yamlsafe.Document, list[Override]]:
    """The document, and the overrides left for it once a config has taken its own keys."""
    from archcalc import suggest

    suggest.reset()  # each file gets the same bounded budget of suggestions
    if os.path.isdir(path) and os.path.isfile(os.path.join(path, "config.json")):
        from archcalc import hf

        name = os.path.join(display if display is not None else os.fsdecode(path), "config.json")
        return hf.load_document(os.path.join(path, "config.json"), name, registry, overrides)
    if str(path).lower().endswith(".json"):
        from archcalc import hf

        return hf.load_document(path, display, registry, overrides)
    doc = yamlsafe.load_path(path, display, recover=True)
    if "model_type" in doc.data:  # only then can it be a config; hf (imported when needed) decides
        from archcalc import hf

        if hf.is_hf_config_data(doc.data):
            return hf.from_yaml_document(doc, registry, overrides)
    return doc, list(overrides)


def count(spec: Spec) -> Count:
    """Count a spec exactly."""
    breakdown = _run_family(spec, spec.exact)
    return Count(spec.name, spec.family.name, breakdown)


def _run_family(spec: Spec, resolved: Resolved) -> Breakdown:
    breakdown: Breakdown = family_call(resolved, "count", spec.family.count, resolved)
    return breakdown


def shapes(spec: Spec) -> tuple[ShapeRow, ...] | None:
    """The output shape after each layer, or None when the family has no layer graph."""
    if spec.family.shapes is None:
        return None
    rows = family_call(spec.exact, "shapes", spec.family.shapes, spec.exact)
    return tuple(rows)


def symbolic(spec: Spec, keep: Sequence[str] | None = None) -> tuple[Resolved, Breakdown]:
    """Resolve ``spec`` with sympy symbols and run its formula; used by :mod:`archcalc.formula`."""
    resolved = resolve(
        spec.doc, spec.family, spec.overrides, symbolic=True, keep=keep, exact=spec.exact
    )
    return resolved, _run_family(spec, resolved)


def numeric_names(spec: Spec) -> list[str]:
    """Names that ``--keep``, ``solve`` and ``sweep`` accept for this spec."""
    entries = spec.exact.namespace.entries
    return [n for n, e in entries.items() if e.kind in ("size", "count", "number")]


def values_of(spec: Spec) -> dict[str, Any]:
    """Exact values of every numeric name of the spec (fields and vars)."""
    return {
        n: spec.exact.namespace.memo[n]
        for n in numeric_names(spec)
        if n in spec.exact.namespace.memo
    }
