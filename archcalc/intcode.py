"""Compile a sympy expression once into exact integer code: fast like a float lambdify,
exact like sympy.

Evaluating a sympy formula once per row of a sweep would take milliseconds a row; a
float ``lambdify`` would be fast but wrong past 2**53. So an expression (with only the
varied keys symbolic, the rest substituted) is *compiled* once into Python code over
integers: every rational subexpression is brought over a common denominator (``N / D``
with integer polynomials ``N`` and ``D``), ``ceiling(N/D)`` becomes ``-((-N) // D)``,
``floor`` becomes ``//``, and the caller checks that the final division is exact (a
non-integer count means the row is not a valid architecture). The same code runs on
Python ints (one row), on NumPy ``int64`` arrays (when :meth:`Compiled.bound` proves
that nothing can overflow) or on NumPy object arrays (exact big integers), broadcasting
over a grid so that terms depending on one key are computed once per value of that key.
Used by :mod:`archcalc.sweep` and :mod:`archcalc.solve`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

#: int64 arithmetic is used only while every intermediate is provably below this.
INT64_SAFE = 2**62


class _Unsupported(Exception):
    """The expression has a shape the integer compiler does not handle (Fraction fallback)."""


def _split(expr: Any) -> tuple[Any, Any]:
    """``expr`` as numerator and denominator with integer coefficients."""
    import sympy

    numerator, denominator = sympy.fraction(sympy.together(expr))
    return numerator, denominator


def _emit(expr: Any, names: dict[Any, str]) -> str:
    """Python code for an integer-valued tree of + * ** over symbols, ints and roundings."""
    import sympy

    if expr.is_Integer:
        return f"({int(expr)})"
    if expr.is_Symbol:
        if expr not in names:
            raise _Unsupported(f"free symbol {expr}")
        return names[expr]
    if expr.is_Add:
        return "(" + " + ".join(_emit(a, names) for a in expr.args) + ")"
    if expr.is_Mul:
        return "(" + " * ".join(_emit(a, names) for a in expr.args) + ")"
    if expr.is_Pow:
        if not (expr.exp.is_Integer and 0 <= int(expr.exp) <= 64):
            raise _Unsupported("non-integer or negative power")
        return f"({_emit(expr.base, names)} ** {int(expr.exp)})"
    if isinstance(expr, (sympy.ceiling, sympy.floor)):
        numerator, denominator = _split(expr.args[0])
        n, d = _emit(numerator, names), _emit(denominator, names)
        if isinstance(expr, sympy.ceiling):
            return f"(-((-{n}) // {d}))"
        return f"({n} // {d})"
    if isinstance(expr, (sympy.Min, sympy.Max)):
        args = []
        for arg in expr.args:
            numerator, denominator = _split(arg)
            if denominator != 1:
                raise _Unsupported("min/max of a fraction")
            args.append(_emit(numerator, names))
        helper = "_H_MIN" if isinstance(expr, sympy.Min) else "_H_MAX"
        return f"{helper}({', '.join(args)})"
    raise _Unsupported(type(expr).__name__)


def _bound(expr: Any, maxima: dict[Any, int], seen: list[int] | None = None) -> int:
    """An upper bound of |``expr``| given |symbol| maxima; ``seen`` collects intermediates.

    Every coefficient is taken in absolute value and every factor at least 1, so the
    bound of a node is at least the bound of each factor and is reached at the largest
    |value| of each symbol: one evaluation covers a whole cartesian grid. A rounding of
    ``N / D`` with a constant ``D`` is bounded by ``|N| // |D| + 1``; its numerator, an
    intermediate of the generated code, is recorded in ``seen``.
    """
    import sympy

    seen = seen if seen is not None else []
    if expr.is_Integer:
        result = max(abs(int(expr)), 1)
    elif expr.is_Symbol:
        result = max(maxima[expr], 1)
    elif expr.is_Add:
        result = sum(_bound(a, maxima, seen) for a in expr.args)
    elif expr.is_Mul:
        result = math.prod(_bound(a, maxima, seen) for a in expr.args)
    elif expr.is_Pow:
        result = _bound(expr.base, maxima, seen) ** int(expr.exp)
    elif isinstance(expr, (sympy.ceiling, sympy.floor, sympy.Min, sympy.Max)):
        result = 1
        for arg in expr.args:
            numerator, denominator = _split(arg)
            top, bottom = _bound(numerator, maxima, seen), _bound(denominator, maxima, seen)
            seen += [top, bottom]
            if denominator.is_Integer and denominator != 0:
                result = max(result, top // abs(int(denominator)) + 1)
            else:
                result = max(result, top + 1)
    else:
        raise _Unsupported(type(expr).__name__)
    seen.append(result)
    return result


@dataclass
class Compiled:
    """An expression compiled over ``symbols``: exact integer code, or Fraction code."""

    symbols: tuple[Any, ...]
    numerator: Any = None
    denominator: Any = None
    #: ``f(*ints) -> (N, D)``; runs on ints or on NumPy arrays. None: see ``fraction_fn``.
    int_source: str | None = None
    #: ``f(*Fractions) -> exact value``; the general fallback (any expression we build).
    fraction_fn: Callable[..., Any] | None = None
    _fns: dict[str, Callable[..., Any]] = field(default_factory=dict)

    def int_fn(self, backend: str = "python") -> Callable[..., Any]:
        """The integer code bound to ``min``/``max`` of ``backend`` (python or numpy)."""
        if self.int_source is None:
            raise _Unsupported("no integer code")
        if backend not in self._fns:
            if backend == "numpy":
                import numpy

                helpers: dict[str, Any] = {"_H_MIN": numpy.minimum, "_H_MAX": numpy.maximum}
            else:
                helpers = {"_H_MIN": min, "_H_MAX": max}
            scope: dict[str, Any] = {"__builtins__": {}, **helpers}
            exec(self.int_source, scope)  # our own generated code; no user text
            self._fns[backend] = scope["_f"]
        return self._fns[backend]

    def bound(self, maxima: Sequence[int]) -> int:
        """Largest |intermediate| over any grid whose |values| stay within ``maxima``."""
        by_symbol = dict(zip(self.symbols, maxima, strict=True))
        seen: list[int] = []
        _bound(self.numerator, by_symbol, seen)
        _bound(self.denominator, by_symbol, seen)
        return max(seen)

    def value(self, *args: int | Fraction) -> int | Fraction:
        """The exact value at one point (an int when integral)."""
        if self.int_source is not None and all(type(a) is int for a in args):
            n, d = self.int_fn()(*args)
            if d == 0:
                raise ZeroDivisionError("division by zero in the formula")
            q, r = divmod(n, d)
            return q if r == 0 else Fraction(n, d)
        assert self.fraction_fn is not None
        result = Fraction(self.fraction_fn(*(Fraction(a) for a in args)))
        return int(result) if result.denominator == 1 else result


def compile_expr(expr: Any, symbols: Sequence[Any]) -> Compiled:
    """Compile ``expr`` (a sympy expression in ``symbols``) for exact evaluation."""
    import sympy

    from archcalc.formulas import _exact_printer

    symbols = tuple(symbols)
    expr = sympy.sympify(expr)
    plain = [sympy.Symbol(f"v{i}") for i in range(len(symbols))]
    renamed = expr.xreplace(dict(zip(symbols, plain, strict=True)))
    args = ", ".join(s.name for s in plain)
    # The general path: Fractions and math.ceil/floor, exact for anything we build.
    code = _exact_printer().doprint(renamed)
    scope: dict[str, Any] = {
        "math": math,
        "Fraction": Fraction,
        "__builtins__": {"min": min, "max": max},
    }
    exec(f"def _g({args}):\n    return {code}\n", scope)  # generated from our own tree
    compiled = Compiled(symbols, fraction_fn=scope["_g"])
    try:
        numerator, denominator = _split(expr)
        names = {s: f"v{i}" for i, s in enumerate(symbols)}
        source = (
            f"def _f({args}):\n"
            f"    return ({_emit(numerator, names)}, {_emit(denominator, names)})\n"
        )
        compiled.numerator, compiled.denominator = numerator, denominator
        _bound(numerator, dict.fromkeys(symbols, 1))
        _bound(denominator, dict.fromkeys(symbols, 1))
        compiled.int_source = source
    except _Unsupported:
        compiled.int_source = None
    return compiled
