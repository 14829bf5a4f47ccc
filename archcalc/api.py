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
from archcalc.errors import (
    ArchcalcError,
    Diagnostic,
    DiagnosticSink,
    PluginError,
    SpecError,
    shorten,
)
from archcalc.family import Breakdown, Family, ShapeRow
from archcalc.registry import Registry, load_registry
from archcalc.schema import validate_structure
from archcalc.spec import Override, Resolved, did_you_mean, resolve

_default_registry: Registry | None = None


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

    @property
    def name(self) -> str:
        return self.exact.name

    @property
    def file(self) -> str:
        return self.doc.file


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
            "missing required key 'family' (one of: " + ", ".join(sorted(registry.families)) + ")",
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
        known = sorted(registry.families)
        sink.error(
            doc.mark(("family",)),
            f"unknown family '{name[:60]}' (installed: {', '.join(known)})"
            + did_you_mean(name, known),
            "S206",
        )
    return family


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
        bad_paths = validate_structure(doc, family, sink, doc.bad_paths) | doc.bad_paths
    except ArchcalcError:
        raise
    except Exception as exc:  # the family's schema is broken (e.g. a remote $ref, never fetched)
        raise _plugin_failure(registry, family, f"checking {doc.file}", exc) from None
    try:
        exact = resolve(doc, family, overrides, sink=sink, skip=bad_paths)
    except ArchcalcError:
        raise
    except Exception as exc:  # the family's own code failed: the plugin's fault, not the spec's
        raise _plugin_failure(registry, family, f"checking {doc.file}", exc) from None
    return Spec(doc, family, exact, tuple(overrides), tuple(exact.sink.diagnostics))


def _plugin_failure(registry: Registry, family: Family, doing: str, exc: Exception) -> PluginError:
    owner = registry.owners.get(family.name, family.name)
    return PluginError(f"plugin '{owner}' failed while {doing}: {type(exc).__name__}: {exc}")


def load_spec(
    path: str | os.PathLike[str],
    overrides: Sequence[Override | str] = (),
    registry: Registry | None = None,
    display: str | None = None,
) -> Spec:
    """Load and validate the spec at ``path``; ``overrides`` are ``KEY=EXPR`` strings or objects."""
    parsed = [o if isinstance(o, Override) else Override.parse(o) for o in overrides]
    return check_document(load_document(path, display, registry), parsed, registry)


def load_document(
    path: str | os.PathLike[str], display: str | None = None, registry: Registry | None = None
) -> yamlsafe.Document:
    """A spec file, or a Hugging Face ``config.json`` translated into one (see :mod:`archcalc.hf`).

    ``.json`` files are read as Hugging Face configs; any other file whose content turns
    out to be a mapping with a ``model_type`` and no ``family`` is one too. A folder holding
    a ``config.json`` is a Hugging Face model folder: its config is read. The plugin
    that reads the config's model_type comes from ``registry`` (default: this process's).
    """
    from archcalc import hf

    if os.path.isdir(path) and os.path.isfile(os.path.join(path, "config.json")):
        name = os.path.join(display if display is not None else os.fsdecode(path), "config.json")
        return hf.load_document(os.path.join(path, "config.json"), name, registry)
    if str(path).lower().endswith(".json"):
        return hf.load_document(path, display, registry)
    doc = yamlsafe.load_path(path, display, recover=True)
    if hf.is_hf_config_data(doc.data):
        return hf.from_yaml_document(doc, registry)
    return doc


def count(spec: Spec) -> Count:
    """Count a spec exactly."""
    breakdown = _run_family(spec, spec.exact)
    return Count(spec.name, spec.family.name, breakdown)


def _run_family(spec: Spec, resolved: Resolved) -> Breakdown:
    try:
        return _checked(spec.family.count(resolved), resolved.symbolic)
    except ArchcalcError:
        raise
    except Exception as exc:
        doing = f"counting {spec.file}"
        raise _plugin_failure(default_registry(), spec.family, doing, exc) from None


def _checked(breakdown: Any, symbolic: bool) -> Breakdown:
    """A family's result, checked here so that a wrong one is blamed on its plugin.

    Without this, a ``count`` returning the wrong type, a string, or a fraction would
    surface later as an archcalc bug (or, worse, be truncated by ``int()``).
    """
    if not isinstance(breakdown, Breakdown):
        raise TypeError(f"count returned {type(breakdown).__name__}, expected archcalc.Breakdown")
    figures: dict[str, Any] = {"total": breakdown.total, "active": breakdown.active}
    figures.update(breakdown.extras)
    if not symbolic:
        from archcalc.expr import exact_int

        for part in breakdown.parts:
            figures[f"part '{part.name}'"] = part.params
            figures[f"active of part '{part.name}'"] = part.active
        for what, value in figures.items():
            # An integral float below 2**53 is still exact (``/`` on ints); beyond, it is not.
            safe_float = isinstance(value, float) and value.is_integer() and abs(value) < 2**53
            if not safe_float and exact_int(value) is None:
                raise TypeError(f"{what} is {shorten(value)}, not an exact integer")
    return breakdown


def shapes(spec: Spec) -> tuple[ShapeRow, ...] | None:
    """The output shape after each layer, or None when the family has no layer graph."""
    if spec.family.shapes is None:
        return None
    try:
        return tuple(spec.family.shapes(spec.exact))
    except ArchcalcError:
        raise
    except Exception as exc:
        doing = f"following the shapes of {spec.file}"
        raise _plugin_failure(default_registry(), spec.family, doing, exc) from None


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
