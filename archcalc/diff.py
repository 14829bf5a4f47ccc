"""Compare two specs: per-component differences, ratios, and the formula of the difference.

``archcalc diff A B`` answers "how much smaller is the distilled student, and where?".
Components are matched by section and name (``decoder attention`` with ``decoder
attention``); a component present in one spec only is compared with 0. Differences
are ``A − B`` and ratios ``A / B`` (so a teacher-then-student call reads as "the
teacher is 3.1× the student, 5.2B more").

When both specs share a family, the difference has a closed form too: each spec's
formula with every symbol whose value differs between the two replaced by that spec's
own value, so the names left are the ones the specs share (``vocab_size`` when both
use the same vocabulary). Substituting the shared values gives exactly
``total(A) − total(B)``, which is checked before the formula is returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from archcalc import api
from archcalc.errors import ArchcalcError, safe


@dataclass(frozen=True)
class PartDiff:
    """One component in both specs (0 where a spec does not have it)."""

    section: str
    name: str
    a: int
    b: int

    @property
    def difference(self) -> int:
        return self.a - self.b

    @property
    def ratio(self) -> Fraction | None:
        """``a / b`` exactly; None when ``b`` is 0."""
        return Fraction(self.a, self.b) if self.b else None


@dataclass(frozen=True)
class Diff:
    """Two specs compared component by component."""

    a: api.Spec
    b: api.Spec
    count_a: api.Count
    count_b: api.Count
    parts: tuple[PartDiff, ...]
    #: The difference of the totals as a sympy expression of the shared symbols, or None.
    formula: Any
    #: Values of the symbols left in ``formula``.
    symbols: dict[str, int | Fraction]
    #: Why there is no formula (different families), else ''.
    formula_note: str = ""

    @property
    def total(self) -> PartDiff:
        return PartDiff("", "total", self.count_a.total_params, self.count_b.total_params)

    @property
    def active(self) -> PartDiff:
        return PartDiff("", "active", self.count_a.active_params, self.count_b.active_params)


def _parts(result: api.Count) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for part in result.breakdown:
        key = (part.section, part.name)
        out[key] = out.get(key, 0) + int(part.params)
    return out


def diff(a: api.Spec, b: api.Spec) -> Diff:
    """Compare ``a`` with ``b`` (differences are ``a − b``)."""
    count_a, count_b = api.count(a), api.count(b)
    parts_a, parts_b = _parts(count_a), _parts(count_b)
    keys = list(parts_a) + [k for k in parts_b if k not in parts_a]
    parts = tuple(PartDiff(s, n, parts_a.get((s, n), 0), parts_b.get((s, n), 0)) for s, n in keys)
    if a.family.name != b.family.name:
        note = f"no formula: the specs are of different families ({a.family.name}, {b.family.name})"
        return Diff(a, b, count_a, count_b, parts, None, {}, note)
    formula, symbols = _formula(a, b, count_a.total_params - count_b.total_params)
    return Diff(a, b, count_a, count_b, parts, formula, symbols)


def _formula(a: api.Spec, b: api.Spec, expected: int) -> tuple[Any, dict[str, int | Fraction]]:
    """total(A) − total(B), symbolic in the names both specs give the same value."""
    import sympy

    from archcalc import formulas

    fa, fb = formulas.build(a), formulas.build(b)
    shared = {
        name: value
        for name, value in fa.values.items()
        if name in fb.values and fb.values[name] == value
    }

    def own(formula: formulas.Formula) -> Any:
        mapping = {
            s: sympy.Rational(
                Fraction(formula.values[s.name]).numerator,
                Fraction(formula.values[s.name]).denominator,
            )
            for s in formula.total.free_symbols
            if s.name not in shared and s.name in formula.values
        }
        return formula.total.xreplace(mapping)

    difference = formulas._tidy(own(fa) - own(fb))
    free = {s.name for s in difference.free_symbols}
    symbols = {name: shared[name] for name in sorted(free)}
    check = difference.xreplace(
        {
            s: sympy.Rational(
                Fraction(symbols[s.name]).numerator, Fraction(symbols[s.name]).denominator
            )
            for s in difference.free_symbols
        }
    )
    if check != expected:
        raise ArchcalcError(
            f"internal error: the difference formula gives {check}, not {expected}; please report"
        )
    return difference, symbols


def _ratio_text(ratio: Fraction | None) -> str:
    if ratio is None:
        return "—"
    return f"{float(ratio):.3f}×"


def to_text(result: Diff) -> str:
    """A table of components: A, B, A − B and A / B; then totals and the formula."""
    from archcalc.render import human

    name_a, name_b = safe(result.a.name), safe(result.b.name)
    header = ("component", name_a, name_b, "A − B", "A / B")
    rows = [header]
    for part in result.parts:
        label = safe(f"{part.section} {part.name}" if part.section else part.name)
        rows.append(
            (label, f"{part.a:,}", f"{part.b:,}", f"{part.difference:+,}", _ratio_text(part.ratio))
        )
    totals = [result.total]
    if result.count_a.active_params != result.count_a.total_params or (
        result.count_b.active_params != result.count_b.total_params
    ):
        totals.append(result.active)
    footer = [
        (p.name, f"{p.a:,}", f"{p.b:,}", f"{p.difference:+,}", _ratio_text(p.ratio)) for p in totals
    ]
    widths = [max(len(r[i]) for r in [*rows, *footer]) for i in range(5)]

    def line(row: tuple[str, ...]) -> str:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        return "  ".join(cells).rstrip()

    lines = [f"A = {name_a} ({safe(result.a.file)}), B = {name_b} ({safe(result.b.file)})", ""]
    lines += [line(r) for r in rows]
    lines.append("-" * (sum(widths) + 8))
    lines += [line(r) for r in footer]
    total = result.total
    lines.append("")
    lines.append(
        f"A − B = {total.difference:+,} ({human(abs(total.difference))}"
        f"{' fewer in B' if total.difference > 0 else ' more in B' if total.difference else ''})"
    )
    if result.formula is not None:
        lines.append(f"A − B = {result.formula}")
        if result.symbols:
            lines.append("  where " + ", ".join(f"{k} = {v}" for k, v in result.symbols.items()))
    else:
        lines.append(result.formula_note)
    return "\n".join(lines)


def _json_value(value: int | Fraction) -> int | str:
    if isinstance(value, Fraction) and value.denominator != 1:
        return f"{value.numerator}/{value.denominator}"
    return int(value)


def _ratio_json(ratio: Fraction | None) -> float | None:
    return None if ratio is None else round(float(ratio), 6)


def to_json(result: Diff) -> dict[str, Any]:
    """Differences are ints; ratios are rounded to 6 decimals (display figures, A / B)."""

    def side(spec: api.Spec, count: api.Count) -> dict[str, Any]:
        return {
            "name": spec.name,
            "family": spec.family.name,
            "file": spec.file,
            "total_params": count.total_params,
            "active_params": count.active_params,
        }

    def row(part: PartDiff) -> dict[str, Any]:
        return {
            "section": part.section,
            "name": part.name,
            "a": part.a,
            "b": part.b,
            "difference": part.difference,
            "ratio": _ratio_json(part.ratio),
        }

    return {
        "a": side(result.a, result.count_a),
        "b": side(result.b, result.count_b),
        "parts": [row(p) for p in result.parts],
        "total": {k: v for k, v in row(result.total).items() if k not in ("section", "name")},
        "active": {k: v for k, v in row(result.active).items() if k not in ("section", "name")},
        "formula": None if result.formula is None else str(result.formula),
        "symbols": {k: _json_value(v) for k, v in result.symbols.items()},
        "note": result.formula_note or None,
    }
