"""Solve a spec for one key: which value of KEY gives SIZE parameters?

The formula is rebuilt with only KEY symbolic. Its exact real root is found with sympy
when the count is a polynomial or rational function of KEY (``real_roots`` on the
numerator: exact algebraic numbers, shown as decimals); with ``ceil``/``floor`` in it
(``d_ff: multiple_of(...)``) the root of the relaxed formula (roundings dropped) is
reported instead, and the answer relies on the integer search alone.

The integer search never trusts floats: the count is evaluated exactly (compiled
integer code, :mod:`archcalc.intcode`) and bisected for the first integer whose count
reaches the target. The count must be monotone in KEY (every size in our families
only adds parameters, or removes them, like ``n_heads`` at fixed ``d_model`` and
``n_kv_heads``); this is verified on the integers around the answer and an error
names the key when it does not hold. Finally each candidate is re-validated through
the real pipeline (``--set KEY=value``) and the search steps outward past invalid
values (``d_model`` not divisible by ``n_heads``) up to :data:`MAX_STEPS` values.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from archcalc import api
from archcalc.errors import SpecError, UsageError, shorten
from archcalc.spec import MAX_FIELD_VALUE, Override

#: How far from the boundary the search steps to find a valid value, on each side.
MAX_STEPS = 4096
#: Integers on each side of the boundary on which monotonicity is verified.
MONOTONE_WINDOW = 16
#: Largest target accepted (10**30 parameters is far beyond any model).
MAX_TARGET = 10**30

_UNITS = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9, "G": 10**9, "T": 10**12}
_SIZE = re.compile(r"^([0-9][0-9_]*)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]{1,3}))?\s*([KMBGTkmbgt]?)$")


def parse_size(text: str, option: str = "--target") -> int:
    """``7B``, ``1.5T``, ``175e9``, ``350M`` or ``8030261248`` as an exact int (no floats)."""
    raw = text.strip()
    match = _SIZE.match(raw) if len(raw) <= 60 else None
    if match is None:
        raise UsageError(
            f"{option} '{shorten(text)}': expected a size such as 7B, 1.5T, 175e9, 350M or "
            "an integer"
        )
    whole, decimals, exponent, unit = match.groups()
    value = Fraction(int(whole.replace("_", "")))
    if decimals:
        value += Fraction(int(decimals), 10 ** len(decimals))
    value *= Fraction(10) ** int(exponent or 0) * _UNITS[unit.upper()]
    if value.denominator != 1:
        raise UsageError(f"{option} '{shorten(text)}' is not a whole number of parameters")
    if not 0 < value <= MAX_TARGET:
        raise UsageError(f"{option} '{shorten(text)}' must be between 1 and 1e30")
    return int(value)


@dataclass(frozen=True)
class Candidate:
    """A valid value of the key with its exact counts, from the real pipeline."""

    value: int
    total_params: int
    active_params: int
    #: ``"under"`` (count <= target), ``"over"`` (count >= target) or ``"exact"``.
    side: str


@dataclass(frozen=True)
class Solution:
    """What ``archcalc solve`` reports."""

    key: str
    name: str
    target: int
    measure: str  # "total_params" or "active_params"
    formula: Any  # the count as a sympy expression of the key
    root: str | None
    root_method: str
    increasing: bool
    candidates: tuple[Candidate, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "for": self.key,
            "target": self.target,
            "measure": self.measure,
            "formula": str(self.formula),
            "root": self.root,
            "root_method": self.root_method,
            "monotone": "increasing" if self.increasing else "decreasing",
            "candidates": [
                {
                    "value": c.value,
                    "total_params": c.total_params,
                    "active_params": c.active_params,
                    "side": c.side,
                }
                for c in self.candidates
            ],
        }


def _root(expr: Any, symbol: Any, target: int) -> tuple[str | None, str]:
    """The positive real root of ``expr = target`` as a decimal string, and how it was found."""
    import sympy

    roundings = expr.atoms(sympy.ceiling, sympy.floor, sympy.Min, sympy.Max, sympy.Mod)
    method = "exact"
    if roundings:
        method = "relaxed (ceil/floor/min/max dropped)"
        relax = {r: r.args[0] for r in roundings}
        if expr.atoms(sympy.Mod):
            return None, "none (the formula has %)"
        for _ in range(8):  # nested roundings: peel one level per pass
            expr = expr.xreplace(relax)
            roundings = expr.atoms(sympy.ceiling, sympy.floor, sympy.Min, sympy.Max)
            if not roundings:
                break
            relax = {r: r.args[0] for r in roundings}
    x = sympy.Symbol("x", real=True)
    numerator, _ = sympy.fraction(sympy.together(expr.xreplace({symbol: x}) - target))
    try:
        poly = sympy.Poly(sympy.expand(numerator), x)
    except sympy.PolynomialError:
        return None, "none (not a rational function of the key)"
    if poly.degree() > 8:
        return None, "none (degree above 8)"
    roots = [r for r in sympy.real_roots(poly) if r.is_positive]
    if not roots:
        return None, method
    best = max(roots)
    return sympy.Float(best.evalf(30), 30).__format__(".20g"), method


def solve(
    spec: api.Spec, key: str, target: int, active: bool = False, max_steps: int = MAX_STEPS
) -> Solution:
    """The valid values of ``key`` whose count brackets ``target``, with exact counts.

    Candidates include the valid value nearest the boundary whose count is at or under
    the target and the one whose count is at or over it (for an increasing count: the
    largest value at or under and the smallest at or over).
    """
    from archcalc import formulas
    from archcalc.intcode import compile_expr
    from archcalc.sweep import resolve_key

    name = resolve_key(spec, key, "--for")
    entry = spec.exact.namespace.entries[name]
    formula = formulas.build(spec, [name])
    expr = formula.active if active else formula.total
    measure = "active_params" if active else "total_params"
    symbol = next((s for s in expr.free_symbols if s.name == name), None)
    if symbol is None:
        raise UsageError(
            f"--for {key}: the {measure.replace('_', ' ')} of {spec.name} do not depend on "
            f"{name}" + ("" if active else " (try --active for the active parameters)")
        )
    compiled = compile_expr(expr, [symbol])

    def count(v: int) -> int | Fraction:
        try:
            return compiled.value(v)
        except ZeroDivisionError:
            raise UsageError(f"--for {key}: the formula divides by zero at {name}={v}") from None

    low = 0 if entry.kind == "count" else 1
    root, method = _root(expr, symbol, target)
    increasing = _direction(count, low, root)

    # Bisection for the boundary b: the first value whose count is at or over the target
    # (increasing) or at or under it (decreasing).
    def reached(v: int) -> bool:
        return count(v) >= target if increasing else count(v) <= target

    hi = max(_approx(root, low), low + 1)
    while not reached(hi):
        if hi > MAX_FIELD_VALUE:
            direction = "increasing" if increasing else "decreasing"
            raise UsageError(
                f"no value of {name} up to {MAX_FIELD_VALUE:.0e} reaches {target:,} "
                f"({measure} is {direction} in {name})"
            )
        hi *= 2
    lo = low
    if reached(lo):
        boundary = lo
    else:
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if reached(mid):
                hi = mid
            else:
                lo = mid
        boundary = hi
    _verify_monotone(count, boundary, low, increasing, name)
    exact_hit = count(boundary) == target
    candidates = _candidates(
        spec, key, name, target, boundary, low, increasing, max_steps, active, exact_hit
    )
    return Solution(
        key=key,
        name=name,
        target=target,
        measure=measure,
        formula=expr,
        root=root,
        root_method=method,
        increasing=increasing,
        candidates=candidates,
    )


def _approx(root: str | None, low: int) -> int:
    """The root's integer part (a starting point for the search), at least ``low``."""
    if root is None:
        return low
    try:
        return max(low, min(int(Fraction(root)), MAX_FIELD_VALUE))
    except (ValueError, ZeroDivisionError):
        return low


def _direction(count: Any, low: int, root: str | None) -> bool:
    """Whether the count grows with the key, judged on a wide span of values."""
    anchor = max(low + 1, _approx(root, low))
    a, b = count(max(low, anchor // 2)), count(anchor * 2 + 1)
    if a == b:
        a, b = count(low), count(max(anchor * 4, low + 64))
    return bool(b >= a)


def _verify_monotone(count: Any, boundary: int, low: int, increasing: bool, name: str) -> None:
    start = max(low, boundary - MONOTONE_WINDOW)
    values = [count(v) for v in range(start, boundary + MONOTONE_WINDOW + 1)]
    pairs = list(itertools.pairwise(values))
    ok = all(b >= a for a, b in pairs) if increasing else all(b <= a for a, b in pairs)
    if not ok:
        raise UsageError(
            f"the count is not monotone in {name} near {boundary}; solve cannot bracket the "
            "target (use archcalc sweep to look at the values)"
        )


def _check(spec: api.Spec, key: str, value: int) -> tuple[int, int] | None:
    """Counts of the spec with ``key=value`` through the real pipeline; None when invalid."""
    try:
        checked = api.check_document(spec.doc, [*spec.overrides, Override(key, str(value))])
    except SpecError:
        return None
    result = api.count(checked)
    return result.total_params, result.active_params


def _candidates(
    spec: api.Spec,
    key: str,
    name: str,
    target: int,
    boundary: int,
    low: int,
    increasing: bool,
    max_steps: int,
    active: bool,
    exact_hit: bool,
) -> tuple[Candidate, ...]:
    """The nearest valid values on each side of the boundary, counted by the pipeline.

    ``boundary`` is the first value whose count reaches the target (at or over for an
    increasing count, at or under for a decreasing one); the search walks away from it on
    that side, and from the value before it (or from it, when it hits the target exactly)
    on the other side, skipping values the spec's checks reject.
    """
    reach_side, other_side = ("over", "under") if increasing else ("under", "over")
    sides = (
        (reach_side, boundary, 1),
        (other_side, boundary if exact_hit else boundary - 1, -1),
    )
    found: dict[str, Candidate] = {}
    for side, start, step in sides:
        value = start
        for _ in range(max_steps):
            if value < low or value > MAX_FIELD_VALUE:
                break
            counts = _check(spec, key, value)
            if counts is not None:
                n = counts[1] if active else counts[0]
                if (side == "over" and n >= target) or (side == "under" and n <= target):
                    label = "exact" if n == target else side
                    found[side] = Candidate(value, counts[0], counts[1], label)
                    break
            value += step
    if not found:
        raise UsageError(
            f"no valid value of {name} within {max_steps} steps of {boundary} (every one was "
            "rejected by the spec's checks)"
        )
    ordered = sorted(found.values(), key=lambda c: c.value)
    if len(ordered) == 2 and ordered[0].value == ordered[1].value:
        ordered = ordered[:1]
    return tuple(ordered)
