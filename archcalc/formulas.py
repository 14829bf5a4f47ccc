"""The closed form of a spec's count, and its renderings (text, LaTeX, Python, JSON).

The family's formula runs on sympy symbols instead of ints, so the expression printed
here is the very code that counts. Each formula is checked against the exact count
before it is shown: substituting the symbols' values must give ``total_params``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import sympy

from archcalc import api
from archcalc.contract import family_failure, label, layer_failure
from archcalc.errors import Diagnostic, SpecError, UsageError, safe
from archcalc.spec import Override, Resolved, did_you_mean

FORMATS = ("text", "latex", "python", "json")
#: sympy's expand is only safe on our own shapes: a user could write (a+b+...)**64.
MAX_EXPANDED_POWER = 8


@dataclass(frozen=True)
class Formula:
    """A spec's parameter count as sympy expressions, with the symbols' values.

    Every field and var left symbolic is a plain ``sympy.Symbol(name)``, without
    assumptions, so the user's own ``sympy.Symbol("n_layers")`` is the very same symbol:
    ``formula.total.diff(sympy.Symbol("n_layers"))`` is the cost of one more layer.
    ``symbols`` maps each name to it, ``values`` to the spec's exact value.
    (Sizes are positive integers and counts non-negative ones; tell sympy when a
    computation needs it: ``sympy.refine(expr, sympy.Q.positive(d))`` with
    ``d = formula.symbols["d_model"]``.)
    """

    name: str
    family: str
    total: Any
    active: Any
    parts: tuple[tuple[str, str, Any], ...]  # (section, name, expression)
    values: Mapping[str, int | Fraction]
    total_params: int
    active_params: int
    #: Extra figures of the family (``Breakdown.extras``, e.g. ``trainable_params``).
    extras: Mapping[str, Any] = field(default_factory=dict)

    @property
    def symbols(self) -> dict[str, Any]:
        """Name -> the ``sympy.Symbol`` the formula uses, for every symbol in it."""
        expressions = [self.total, self.active, *(e for _, _, e in self.parts)]
        expressions += list(self.extras.values())
        found = {s.name: s for e in expressions for s in getattr(e, "free_symbols", ())}
        return dict(sorted(found.items()))

    def substitute(self, expression: Any) -> Any:
        """``expression`` with every symbol replaced by its value (no strings involved)."""
        mapping = {
            sym: sympy.Rational(self.values[sym.name].numerator, self.values[sym.name].denominator)
            for sym in expression.free_symbols
            if sym.name in self.values
        }
        return expression.xreplace(mapping)


def _tidy(expression: Any) -> Any:
    """Expand into a sum of monomials (12·L·d² + ...) when that is safe and bounded."""
    expression = sympy.sympify(expression) if isinstance(expression, int) else expression
    for power in expression.atoms(sympy.Pow):
        if power.base.is_Add and (not power.exp.is_Integer or abs(power.exp) > MAX_EXPANDED_POWER):
            return expression
    return sympy.expand(expression)


#: Most terms a formula may expand to. Expanding is what makes it readable (12·L·d² + ...);
#: a product of sums grows exponentially (12 sums of 4 fields: 16.7M terms, which sympy
#: would build for minutes), so its size is computed first and a larger one refused.
MAX_TERMS = 10_000


def expanded_terms(expression: Any, cap: int = MAX_TERMS) -> int:
    """An upper bound of the number of terms ``sympy.expand`` gives, computed without
    expanding (at most ``cap + 1``: beyond the cap the exact figure does not matter).

    A sum has the terms of its summands, a product the product of its factors', ``x**e``
    the monomials of degree ``e`` in the terms of ``x``; a function (floor, Min...) is one
    term, its arguments counted on their own. Shared subexpressions are visited once.
    """
    if not isinstance(expression, sympy.Basic):
        return 1
    sizes: dict[int, int] = {}
    largest = 1
    stack: list[tuple[Any, bool]] = [(expression, False)]
    while stack:
        node, ready = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        if not ready:
            stack.append((node, True))
            stack.extend((arg, False) for arg in node.args if id(arg) not in sizes)
            continue
        args = [sizes[id(arg)] for arg in node.args]
        if node.is_Add:
            size = sum(args)
        elif node.is_Mul:
            size = 1
            for n in args:
                size = min(size * n, cap + 1)
        elif node.is_Pow and node.exp.is_Integer and int(node.exp) > 1:
            size = min(math.comb(args[0] + int(node.exp) - 1, int(node.exp)), cap + 1)
        else:
            size = 1
        size = min(size, cap + 1)
        largest = max(largest, size, *args)
        sizes[key] = size
    return min(largest, cap + 1)


def _refuse_huge(spec: api.Spec, resolved: Resolved, figures: list[Any]) -> None:
    """A located error, before anything is expanded, for a formula beyond :data:`MAX_TERMS`.

    It points at the field whose own expression is too large when there is one, else at
    the first layer whose parameters are, else at the ``family`` line (the family's
    formula multiplies fields that are each fine).
    """
    if all(expanded_terms(f) <= MAX_TERMS for f in figures):
        return
    where: tuple[str | int, ...] = ("family",)
    name = "the formula"
    entries = resolved.namespace.entries
    huge = (
        (entries[n].path, n)
        for n, value in resolved.namespace.memo.items()
        if n in entries and expanded_terms(value) > MAX_TERMS
    )
    layers = (
        (path, f"the parameters of {label(path)} ({safe(layer)})")
        for (path, layer, what), results in resolved.calls.items()
        if what == "params" and any(expanded_terms(r) > MAX_TERMS for r in results)
    )
    where, name = next(huge, None) or next(layers, None) or (where, name)
    mark = spec.doc.mark(where)
    raise SpecError(
        [
            Diagnostic(
                spec.file,
                mark.line,
                mark.column,
                f"{name} would expand to more than {MAX_TERMS:,} terms (a product of sums "
                "multiplies their terms); write it with fewer products of sums, or keep fewer "
                "fields symbolic with --keep",
                "error",
                "X309",
            )
        ]
    )


def build(spec: api.Spec, keep: Iterable[str] | None = None) -> Formula:
    """Build the formula of ``spec``; ``keep`` names the only fields left symbolic."""
    keep_list = None if keep is None else _check_keep(spec, keep)
    resolved, breakdown = api.symbolic(spec, keep_list)
    exact = api.count(spec)
    figures = [breakdown.total, breakdown.active, *(p.params for p in breakdown.parts)]
    _refuse_huge(spec, resolved, [*figures, *breakdown.extras.values()])
    total = _tidy(breakdown.total)
    active = _tidy(breakdown.active)
    parts = tuple((p.section, p.name, _tidy(p.params)) for p in breakdown.parts)
    extras = {key: _tidy(value) for key, value in breakdown.extras.items()}
    values = api.values_of(spec)
    free = {s.name for s in total.free_symbols | active.free_symbols}
    for expression in [*(e for _, _, e in parts), *extras.values()]:
        free |= {s.name for s in expression.free_symbols}
    used = {name: values[name] for name in sorted(free) if name in values}
    formula = Formula(
        name=spec.name,
        family=spec.family.name,
        total=total,
        active=active,
        parts=parts,
        values=used,
        total_params=exact.total_params,
        active_params=exact.active_params,
        extras=extras,
    )
    checks = [(total, exact.total_params), (active, exact.active_params)]
    checks += [(extras[k], int(v)) for k, v in exact.breakdown.extras.items() if k in extras]
    for expression, expected in checks:
        if formula.substitute(expression) != expected:
            # A layer type whose symbolic result is not its exact one is the one to blame
            # (a caught TypeError returning a constant), not the family walking the layers.
            _blame_layer(resolved, spec.exact.calls, api.values_of(spec))
            raise family_failure(
                resolved,
                "count",
                f"its formula gives {formula.substitute(expression)} but its exact count "
                f"is {expected}: the count is not written once for ints and symbols",
            )
    probe(spec, formula, resolved)
    return formula


#: Factors tried for the probe point (every symbol's value times one of them).
PROBE_FACTORS = (2, 3)


def probe(spec: api.Spec, formula: Formula, resolved: Resolved) -> None:
    """Check the formula law at a second point: the formula must give the exact count there.

    Reproducing the count at the spec's own values proves little: a rule that calls
    ``int()`` on a symbol and falls back to a number, or that reads exact values where it
    should read symbols, gives a constant that happens to be right. So every symbol is
    scaled (x2, else x3 when that spec is invalid) and the spec counted exactly there. A
    mismatch names the layer type whose recorded result differs (see
    :func:`archcalc.contract.layer_call`), else the family. When the spec changes
    structure between the two points (a part or a layer call appears or vanishes) the
    formula is only piecewise valid and nothing is concluded.
    """
    values = api.values_of(spec)
    # Every name the symbolic run made a symbol, used by the formula or not: a count that
    # ignores its symbols entirely is the plainest case of a formula that is not one.
    names = [
        n for n, v in resolved.namespace.memo.items() if isinstance(v, sympy.Symbol) and n in values
    ]
    if not names:
        return
    for factor in PROBE_FACTORS:
        point = {name: values[name] * factor for name in names}
        overrides = [*spec.overrides, *(Override(n, _number(v)) for n, v in point.items())]
        try:
            there = api.check_document(spec.doc, overrides, spec.registry)
            counted = api.count(there)
        except (SpecError, UsageError):
            continue  # not a valid spec at this point: try the next one
        break
    else:
        return
    expected = [(formula.total, counted.total_params), (formula.active, counted.active_params)]
    expected += [
        (formula.extras[k], int(v))
        for k, v in counted.breakdown.extras.items()
        if k in formula.extras
    ]
    if all(_at(e, point) == v for e, v in expected):
        return
    if [p.name for p in counted.breakdown.parts] != [name for _, name, _ in formula.parts]:
        return
    if not _blame_layer(resolved, there.exact.calls, point):
        return
    shown = ", ".join(f"{n}={_number(v)}" for n, v in point.items())
    raise family_failure(
        resolved,
        "count",
        f"its formula is not symbolic: at {shown} it gives {_at(formula.total, point)} but "
        f"counting gives {counted.total_params} (int(), float(), a caught TypeError or "
        "spec.exact() used for a value, not only for structure?)",
    )


def _blame_layer(
    resolved: Resolved, theirs: Mapping[Any, list[Any]], point: Mapping[str, int | Fraction]
) -> bool:
    """Raise a layer type's failure for the first layer call whose symbolic result, at
    ``point``, is not what the exact run there (``theirs``) got.

    False when the two runs did not make the same calls (the structure changed between
    them: nothing can be concluded), True when they did and every call agrees. An exact
    run may have counted more than once; its last results are the ones compared.
    """
    mine = resolved.calls
    if set(mine) != set(theirs) or any(len(theirs[k]) < len(mine[k]) for k in mine):
        return False
    shown = ", ".join(f"{n}={_number(v)}" for n, v in point.items())
    for (path, layer, what), results in mine.items():
        exacts = theirs[(path, layer, what)][-len(results) :]
        for symbolic, exact in zip(results, exacts, strict=True):
            if _differs(symbolic, exact, point):
                raise layer_failure(
                    resolved,
                    path,
                    layer,
                    what,
                    f"its {what} is not symbolic: at {shown} its formula gives "
                    f"{_shown(symbolic, point)} but counting gives {_shown(exact, point)} "
                    "(int(), float(), round(), a caught TypeError or an exact value used "
                    "where a symbol was given?)",
                )
    return True


def _number(value: int | Fraction) -> str:
    return str(value) if isinstance(value, int) or value.denominator != 1 else str(int(value))


def _at(expression: Any, point: Mapping[str, int | Fraction]) -> Any:
    """``expression`` with each symbol replaced by its value at ``point``."""
    if not isinstance(expression, sympy.Basic):
        return expression
    mapping = {
        sym: sympy.Rational(point[sym.name].numerator, point[sym.name].denominator)
        for sym in expression.free_symbols
        if sym.name in point
    }
    return expression.xreplace(mapping)


def _differs(symbolic: Any, exact: Any, point: Mapping[str, int | Fraction]) -> bool:
    if isinstance(exact, tuple):
        if not isinstance(symbolic, tuple) or len(symbolic) != len(exact):
            return True
        return any(_at(s, point) != e for s, e in zip(symbolic, exact, strict=True))
    return bool(_at(symbolic, point) != exact)


def _shown(value: Any, point: Mapping[str, int | Fraction]) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(str(_at(v, point)) for v in value) + ")"
    return str(_at(value, point))


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
    return safe(f"{section} {name}" if section else name)


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
        "symbols": {k: _json_value(v) for k, v in formula.values.items()},
        "total_params": formula.total_params,
        "active_params": formula.active_params,
        "parts": [{"section": s, "name": n, "formula": str(e)} for s, n, e in formula.parts],
        **({"extras": {k: str(e) for k, e in formula.extras.items()}} if formula.extras else {}),
    }


def _text(formula: Formula) -> str:
    lines = [f"{safe(formula.name)} ({safe(formula.family)})", f"total_params = {formula.total}"]
    if formula.active != formula.total:
        lines.append(f"active_params = {formula.active}")
    for key, expression in formula.extras.items():
        lines.append(f"{key} = {expression}")
    if formula.parts:  # a model without parameters (a pooling-only graph) has none
        lines.append("")
        lines.append("by component:")
        width = max(len(_label(s, n)) for s, n, _ in formula.parts)
        for section, name, expression in formula.parts:
            lines.append(f"  {_label(section, name):<{width}} = {expression}")
    if formula.values:
        lines.append("")
        lines.append("where:")
        for key, value in formula.values.items():
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
        return str(sympy.latex(expression, symbol_names=names))

    lines = [f"N_{{\\mathrm{{total}}}} = {tex(formula.total)}"]
    if formula.active != formula.total:
        lines.append(f"N_{{\\mathrm{{active}}}} = {tex(formula.active)}")
    if formula.values:
        values = ", ".join(
            f"{_latex_name(k)} = {_value_text(v)}" for k, v in formula.values.items()
        )
        lines.append(f"\\quad\\text{{where }} {values}")
    return "\n".join(lines)


def _docstring_text(formula: Formula) -> str:
    """The model's name as docstring text that can only ever be text.

    The name comes from the spec (or a config's file name): :func:`safe` keeps it on one
    line, and escaping backslashes and quotes means no ``\"\"\"`` in it can close the
    docstring, so the generated module never runs a line the spec wrote.
    """
    text = safe(f"{formula.name} ({formula.family})")
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _python(formula: Formula) -> str:
    """A module with exact functions: arguments become Fractions, so ``/`` never rounds."""
    args = ", ".join(formula.values)
    signature = f"*, {args}" if args else ""
    convert = f"    {args}, = (Fraction(v) for v in ({args},))" if args else ""
    body = [
        f'"""Parameters of {_docstring_text(formula)}; generated by archcalc."""',
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
    if formula.values:
        call = ", ".join(f"{k}={_python_value(v)}" for k, v in formula.values.items())
        body += ["", "", f"# total_params({call}) == {formula.total_params}"]
    return "\n".join(body)


def _exact_printer() -> Any:
    """A printer factory: the class needs sympy, imported lazily."""
    from sympy.printing.pycode import PythonCodePrinter

    class ExactPrinter(PythonCodePrinter):  # type: ignore[misc]  # sympy is untyped
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
