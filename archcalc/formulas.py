"""The closed form of a spec's count, and its renderings (text, LaTeX, Python, JSON).

The family's formula runs on sympy symbols instead of ints, so the expression printed
here is the very code that counts. Each formula is checked against the exact count
before it is shown: substituting the symbols' values must give ``total_params``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import sympy

from archcalc import api
from archcalc.errors import ArchcalcError, UsageError
from archcalc.spec import did_you_mean

FORMATS = ("text", "latex", "python", "json")
#: sympy's expand is only safe on our own shapes: a user could write (a+b+...)**64.
MAX_EXPANDED_POWER = 8


@dataclass(frozen=True)
class Formula:
    """A spec's parameter count as sympy expressions, with the symbols' values."""

    name: str
    family: str
    total: Any
    active: Any
    parts: tuple[tuple[str, str, Any], ...]  # (section, name, expression)
    symbols: Mapping[str, int | Fraction]
    total_params: int
    active_params: int
    #: Extra figures of the family (``Breakdown.extras``, e.g. ``trainable_params``).
    extras: Mapping[str, Any] = field(default_factory=dict)

    def substitute(self, expression: Any) -> Any:
        """``expression`` with every symbol replaced by its value (no strings involved)."""
        mapping = {
            sym: sympy.Rational(
                self.symbols[sym.name].numerator, self.symbols[sym.name].denominator
            )
            for sym in expression.free_symbols
            if sym.name in self.symbols
        }
        return expression.xreplace(mapping)


def _tidy(expression: Any) -> Any:
    """Expand into a sum of monomials (12·L·d² + ...) when that is safe and bounded."""
    expression = sympy.sympify(expression) if isinstance(expression, int) else expression
    for power in expression.atoms(sympy.Pow):
        if power.base.is_Add and (not power.exp.is_Integer or abs(power.exp) > MAX_EXPANDED_POWER):
            return expression
    return sympy.expand(expression)


def build(spec: api.Spec, keep: Iterable[str] | None = None) -> Formula:
    """Build the formula of ``spec``; ``keep`` names the only fields left symbolic."""
    keep_list = None if keep is None else _check_keep(spec, keep)
    _, breakdown = api.symbolic(spec, keep_list)
    exact = api.count(spec)
    total = _tidy(breakdown.total)
    active = _tidy(breakdown.active)
    parts = tuple((p.section, p.name, _tidy(p.params)) for p in breakdown.parts)
    extras = {key: _tidy(value) for key, value in breakdown.extras.items()}
    values = api.values_of(spec)
    free = {s.name for s in total.free_symbols | active.free_symbols}
    for expression in [*(e for _, _, e in parts), *extras.values()]:
        free |= {s.name for s in expression.free_symbols}
    symbols = {name: values[name] for name in sorted(free) if name in values}
    formula = Formula(
        name=spec.name,
        family=spec.family.name,
        total=total,
        active=active,
        parts=parts,
        symbols=symbols,
        total_params=exact.total_params,
        active_params=exact.active_params,
        extras=extras,
    )
    checks = [(total, exact.total_params), (active, exact.active_params)]
    checks += [(extras[k], int(v)) for k, v in exact.breakdown.extras.items() if k in extras]
    for expression, expected in checks:
        if formula.substitute(expression) != expected:
            raise ArchcalcError(
                f"internal error: the formula of {spec.name} does not reproduce its count "
                f"({formula.substitute(expression)} != {expected}); please report this"
            )
    return formula


def _check_keep(spec: api.Spec, keep: Iterable[str]) -> list[str]:
    names = api.numeric_names(spec)
    result = []
    for key in keep:
        leaf = key.strip().rsplit(".", 1)[-1]
        if not leaf:
            continue
        if leaf not in names:
            raise UsageError(
                f"--keep {key}: {spec.name} has no numeric field or var '{key}'"
                + did_you_mean(leaf, names)
            )
        result.append(leaf)
    return result


def _value_text(value: int | Fraction) -> str:
    return str(value)


def _json_value(value: int | Fraction) -> int | str:
    """Integers stay numbers; exact fractions become strings like "13/10" (never floats)."""
    if isinstance(value, int) or value.denominator == 1:
        return int(value)
    return f"{value.numerator}/{value.denominator}"


def _label(section: str, name: str) -> str:
    return f"{section} {name}" if section else name


def render(formula: Formula, fmt: str) -> str:
    """The formula in one of :data:`FORMATS`."""
    if fmt == "json":
        return json.dumps(to_json(formula), indent=2)
    if fmt == "latex":
        return _latex(formula)
    if fmt == "python":
        return _python(formula)
    return _text(formula)


def to_json(formula: Formula) -> dict[str, Any]:
    return {
        "name": formula.name,
        "family": formula.family,
        "formula": str(formula.total),
        "active_formula": str(formula.active),
        "symbols": {k: _json_value(v) for k, v in formula.symbols.items()},
        "total_params": formula.total_params,
        "active_params": formula.active_params,
        "parts": [{"section": s, "name": n, "formula": str(e)} for s, n, e in formula.parts],
        **({"extras": {k: str(e) for k, e in formula.extras.items()}} if formula.extras else {}),
    }


def _text(formula: Formula) -> str:
    lines = [f"{formula.name} ({formula.family})", f"total_params = {formula.total}"]
    if formula.active != formula.total:
        lines.append(f"active_params = {formula.active}")
    for key, expression in formula.extras.items():
        lines.append(f"{key} = {expression}")
    lines.append("")
    lines.append("by component:")
    width = max(len(_label(s, n)) for s, n, _ in formula.parts)
    for section, name, expression in formula.parts:
        lines.append(f"  {_label(section, name):<{width}} = {expression}")
    if formula.symbols:
        lines.append("")
        lines.append("where:")
        for key, value in formula.symbols.items():
            lines.append(f"  {key} = {_value_text(value)}")
    lines.append("")
    lines.append(f"total_params = {formula.total_params:,}")
    if formula.active_params != formula.total_params:
        lines.append(f"active_params = {formula.active_params:,}")
    return "\n".join(lines)


def _latex_name(name: str) -> str:
    """``d_model`` -> ``d_{\\mathrm{model}}``; longer names stay upright (``vocab_size``)."""
    head, _, rest = name.partition("_")
    if rest and len(head) == 1:
        return f"{head}_{{\\mathrm{{{rest.replace('_', chr(92) + '_')}}}}}"
    return f"\\mathrm{{{name.replace('_', chr(92) + '_')}}}"


def _latex(formula: Formula) -> str:
    names = {
        sym: _latex_name(sym.name)
        for sym in formula.total.free_symbols | formula.active.free_symbols
    }

    def tex(expression: Any) -> str:
        return sympy.latex(expression, symbol_names=names)

    lines = [f"N_{{\\mathrm{{total}}}} = {tex(formula.total)}"]
    if formula.active != formula.total:
        lines.append(f"N_{{\\mathrm{{active}}}} = {tex(formula.active)}")
    if formula.symbols:
        values = ", ".join(
            f"{_latex_name(k)} = {_value_text(v)}" for k, v in formula.symbols.items()
        )
        lines.append(f"\\quad\\text{{where }} {values}")
    return "\n".join(lines)


def _python(formula: Formula) -> str:
    """A module with exact functions: arguments become Fractions, so ``/`` never rounds."""
    args = ", ".join(formula.symbols)
    signature = f"*, {args}" if args else ""
    convert = f"    {args}, = (Fraction(v) for v in ({args},))" if args else ""
    body = [
        f'"""Parameters of {formula.name} ({formula.family}); generated by archcalc."""',
        "",
        "import math  # noqa: F401  (ceil/floor may appear below)",
        "from fractions import Fraction",
    ]
    functions = [("total_params", formula.total)]
    if formula.active != formula.total:
        functions.append(("active_params", formula.active))
    for name, expression in functions:
        body += ["", "", f"def {name}({signature}):"]
        if convert:
            body.append(convert)
        body.append(f"    return int({_exact_printer().doprint(expression)})")
    if formula.symbols:
        call = ", ".join(f"{k}={_python_value(v)}" for k, v in formula.symbols.items())
        body += ["", "", f"# total_params({call}) == {formula.total_params}"]
    return "\n".join(body)


def _exact_printer() -> Any:
    """A printer factory: the class needs sympy, imported lazily."""
    from sympy.printing.pycode import PythonCodePrinter

    class ExactPrinter(PythonCodePrinter):
        """Prints rationals as ``Fraction(p, q)`` so generated code stays exact."""

        def _print_Rational(self, expr: Any) -> str:
            return f"Fraction({expr.p}, {expr.q})"

        def _print_Half(self, expr: Any) -> str:
            return "Fraction(1, 2)"

    return ExactPrinter({"fully_qualified_modules": True})


def _python_value(value: int | Fraction) -> str:
    if isinstance(value, int) or value.denominator == 1:
        return str(int(value))
    return f"Fraction({value.numerator}, {value.denominator})"
