"""Evaluate a spec's formula over a grid of values, exactly and fast; also the exact compiler.

``archcalc sweep SPEC --vary n_layers=24:96:8 --vary d_model=2048,4096`` counts every
combination. Evaluating the sympy formula once per row would take milliseconds a row; a
float ``lambdify`` would be fast but wrong past 2**53. So the formula (with only the
varied keys symbolic, the rest substituted) is *compiled* once into Python code over
integers: every rational subexpression is brought over a common denominator
(``N / D`` with integer polynomials ``N`` and ``D``), ``ceiling(N/D)`` becomes
``-((-N) // D)``, ``floor`` becomes ``//``, and the final division checks that it is
exact (a non-integer count means the row is not a valid architecture). The same code
runs on Python ints (one row), on NumPy ``int64`` arrays (when a bound computed from
the grid's largest values proves nothing can overflow) or on NumPy object arrays
(exact big integers), broadcasting over the grid so that terms depending on one key
are computed once per value of that key, not once per row.

Validity is checked for every row, not assumed: each field that depends on a varied
key must still fit its kind (``d_head = d_model / n_heads`` must be an integer), which
is checked vectorised from its own compiled expression; and the family's semantic
checks (``n_kv_heads`` divides ``n_heads``...) run through the real pipeline once per
distinct combination of the varied keys those checks depend on. Rows that fail carry
``valid: false`` and the error instead of a silent count. Finally, a sample of rows
(every value of each key, and the grid's corners) is counted through the real pipeline
and compared with the compiled formula: a key that changes the model's *structure*
(a part that exists only when it is non-zero) is detected and those grids are counted
row by row through the pipeline instead.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from archcalc import api
from archcalc.errors import SpecError, UsageError, shorten
from archcalc.spec import Override, did_you_mean

#: Largest grid a sweep accepts (rows); the JSON of 10**8 rows would be gigabytes.
MAX_ROWS = 50_000_000
#: Most values one ``--vary`` may list or generate.
MAX_VALUES = 10_000_000
#: Most distinct combinations whose semantic checks run through the real pipeline.
MAX_PIPELINE_CHECKS = 20_000
#: Values of each varied key cross-checked through the real pipeline.
SAMPLES_PER_KEY = 8
#: int64 arithmetic is used only while every intermediate is provably below this.
INT64_SAFE = 2**62


class _Unsupported(Exception):
    """The expression has a shape the integer compiler does not handle (Fraction fallback)."""


# ----------------------------------------------------------------------- exact compiler


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

                helpers = {"_H_MIN": numpy.minimum, "_H_MAX": numpy.maximum}
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


# ----------------------------------------------------------------------- the grid


@dataclass(frozen=True)
class Vary:
    """One ``--vary KEY=VALUES``: the key as given, its leaf name and its exact values."""

    key: str
    name: str
    values: tuple[int | Fraction, ...]


_NUMBER = re.compile(r"^[+-]?(\d[\d_]*)(\.\d+)?$")


def _number(text: str, option: str) -> int | Fraction:
    """An exact int or decimal (``1.5`` is 3/2); never a float."""
    text = text.strip()
    if not _NUMBER.match(text) or len(text) > 40:
        raise UsageError(f"{option}: '{shorten(text)}' is not a number")
    value = Fraction(text.replace("_", ""))
    return int(value) if value.denominator == 1 else value


def parse_vary(item: str) -> tuple[str, tuple[int | Fraction, ...]]:
    """``KEY=a,b,c`` or ``KEY=START:STOP[:STEP]`` (STOP included) into key and values."""
    option = f"--vary {shorten(item)}"
    key, sep, text = item.partition("=")
    key, text = key.strip(), text.strip()
    if not sep or not key or not text:
        raise UsageError(f"{option}: expected KEY=a,b,c or KEY=START:STOP[:STEP]")
    if ":" in text:
        pieces = text.split(":")
        if len(pieces) not in (2, 3):
            raise UsageError(f"{option}: a range is START:STOP or START:STOP:STEP")
        start, stop = _number(pieces[0], option), _number(pieces[1], option)
        step = _number(pieces[2], option) if len(pieces) == 3 else 1
        if step <= 0:
            raise UsageError(f"{option}: STEP must be positive")
        if stop < start:
            raise UsageError(f"{option}: STOP ({stop}) is below START ({start})")
        n = int((stop - start) // step) + 1
        if n > MAX_VALUES:
            raise UsageError(f"{option}: {n:,} values (limit {MAX_VALUES:,})")
        values: list[int | Fraction] = []
        for i in range(n):
            value = start + i * step
            values.append(int(value) if Fraction(value).denominator == 1 else value)
        return key, tuple(values)
    items = [t for t in text.split(",") if t.strip()]
    if not items:
        raise UsageError(f"{option}: no values")
    if len(items) > MAX_VALUES:
        raise UsageError(f"{option}: too many values (limit {MAX_VALUES:,})")
    return key, tuple(_number(t, option) for t in items)


def resolve_key(spec: api.Spec, key: str, option: str) -> str:
    """The leaf name of a numeric field or var (``vars.width`` -> ``width``), or a usage error."""
    names = api.numeric_names(spec)
    leaf = key.removeprefix("vars.").rsplit(".", 1)[-1]
    if leaf not in names:
        raise UsageError(
            f"{option} {key}: {spec.name} has no numeric field or var '{key}'"
            + did_you_mean(leaf, names)
        )
    return leaf


@dataclass
class Row:
    """One configuration: its values, its exact counts or why it is invalid."""

    values: dict[str, int | Fraction]
    total_params: int | None
    active_params: int | None
    error: str | None = None

    @property
    def valid(self) -> bool:
        return self.error is None


@dataclass
class Result:
    """A swept grid, in row-major order (the last ``--vary`` varies fastest)."""

    keys: tuple[str, ...]
    varies: tuple[Vary, ...]
    n_rows: int
    #: Columns: one exact value per row (ints; Fractions for fractional inputs).
    columns: dict[str, Any]
    total: Any
    active: Any
    #: Row index -> error message; rows not listed are valid.
    errors: dict[int, str]
    method: str

    def rows(self) -> Iterator[Row]:
        """Rows one by one, as Python ints (never floats)."""
        for values, total, active, error in self.tuples():
            yield Row(dict(zip(self.keys, values, strict=True)), total, active, error)

    def tuples(self) -> Iterator[tuple[tuple[Any, ...], int | None, int | None, str | None]]:
        """``(values, total, active, error)`` per row; the fast path for writers."""
        columns = [_pylist(self.columns[k]) for k in self.keys]
        total, active = _pylist(self.total), _pylist(self.active)
        errors = self.errors
        for i, values in enumerate(zip(*columns, strict=True)):
            error = errors.get(i)
            if error is None:
                yield values, total[i], active[i], None
            else:
                yield values, None, None, error


def _pylist(column: Any) -> list[Any]:
    """A column as a list of Python ints/Fractions (``tolist`` converts NumPy ints at C speed)."""
    if hasattr(column, "tolist"):
        return [_py(v) for v in column.tolist()] if column.dtype == object else column.tolist()
    return list(column)


def _py(value: Any) -> Any:
    """A NumPy scalar as a Python int; ints and Fractions pass through."""
    if isinstance(value, (int, Fraction)):
        return value
    return int(value)


ProgressFn = Callable[[int, int], None]


def _grid_columns(varies: Sequence[Vary], use_numpy: bool) -> dict[str, Any]:
    """The flattened cartesian product, one column per key (row-major)."""
    sizes = [len(v.values) for v in varies]
    n = math.prod(sizes)
    columns: dict[str, Any] = {}
    if use_numpy:
        import numpy

        for axis, vary in enumerate(varies):
            repeat = math.prod(sizes[axis + 1 :])
            tile = math.prod(sizes[:axis])
            column = _array(vary.values)
            columns[vary.name] = numpy.tile(numpy.repeat(column, repeat), tile)
        return columns
    for axis, vary in enumerate(varies):
        repeat = math.prod(sizes[axis + 1 :])
        tile = math.prod(sizes[:axis])
        column = [value for value in vary.values for _ in range(repeat)] * tile
        columns[vary.name] = column
    assert all(len(c) == n for c in columns.values())
    return columns


def _array(values: Sequence[int | Fraction], dtype: Any = None) -> Any:
    import numpy

    if dtype is None:
        fits = all(type(v) is int and abs(v) < INT64_SAFE for v in values)
        dtype = numpy.int64 if fits else object
    return numpy.array(list(values), dtype=dtype)


def _broadcast_args(varies: Sequence[Vary], dtype: Any) -> list[Any]:
    """One array per key, shaped to broadcast into the grid (like ``numpy.ix_``)."""
    arrays = []
    for axis, vary in enumerate(varies):
        shape = [1] * len(varies)
        shape[axis] = len(vary.values)
        arrays.append(_array(vary.values, dtype).reshape(shape))
    return arrays


def _have_numpy() -> bool:
    try:
        import numpy  # noqa: F401
    except ImportError:
        return False
    return True


def _evaluate(
    compiled: Compiled,
    varies: Sequence[Vary],
    columns: dict[str, Any],
    backend: str,
    progress: ProgressFn | None,
) -> tuple[Any, Any]:
    """Values over the grid and a mask (or list) of rows where the value is not integral."""
    n = len(next(iter(columns.values()))) if columns else 1
    integral = all(type(v) is int for vary in varies for v in vary.values)
    if backend == "numpy" and compiled.int_source is not None and integral:
        import numpy

        maxima = [max(abs(v) for v in vary.values) for vary in varies]
        dtype = numpy.int64 if compiled.bound(maxima) < INT64_SAFE else object
        fn = compiled.int_fn("numpy")
        num, den = fn(*_broadcast_args(varies, dtype))
        shape = tuple(len(v.values) for v in varies)
        # Divide on the compact broadcast shapes (a field that depends on one key is an
        # array over that key only), then expand to the grid.
        num = numpy.asarray(num, dtype=dtype)
        den = numpy.asarray(den, dtype=dtype)
        not_integral: Any = None
        if den.ndim == 0 and int(den) == 1:
            quotient = num
        else:
            bad_den = den == 0
            safe_den = numpy.where(bad_den, 1, den)
            quotient, remainder = num // safe_den, num % safe_den
            not_integral = (remainder != 0) | bad_den
            if not numpy.any(not_integral):
                not_integral = None
            else:
                not_integral = numpy.broadcast_to(not_integral, shape).reshape(-1)
        quotient = numpy.broadcast_to(quotient, shape).reshape(-1)
        if progress:
            progress(n, n)
        return quotient, not_integral
    cols = [columns[v.name] for v in varies]
    values: list[Any] = []
    bad: list[bool] = []
    step = max(n // 100, 1)
    for i in range(n):
        try:
            value = compiled.value(*(c[i] for c in cols))
        except ZeroDivisionError:
            value = None
        ok = type(value) is int
        values.append(value if ok else 0)
        bad.append(not ok)
        if progress and (i % step == 0 or i == n - 1):
            progress(i + 1, n)
    return values, bad


def sweep(
    spec: api.Spec,
    vary: Sequence[tuple[str, Sequence[int | Fraction]]],
    backend: str | None = None,
    progress: ProgressFn | None = None,
) -> Result:
    """Count ``spec`` at every combination of the varied keys' values, exactly.

    ``backend`` is ``"numpy"`` (vectorised, the default when NumPy is installed) or
    ``"python"`` (one row at a time, no dependency). Both give identical results.
    """
    from archcalc import formulas

    if not vary:
        raise UsageError("sweep needs at least one --vary KEY=VALUES")
    varies: list[Vary] = []
    for key, values in vary:
        name = resolve_key(spec, key, "--vary")
        if any(v.name == name for v in varies):
            raise UsageError(f"--vary {key}: '{name}' is varied twice")
        kind = spec.exact.namespace.entries[name].kind
        for value in values:
            if kind != "number" and type(value) is not int:
                raise UsageError(f"--vary {key}: {name} takes integers, got {value}")
        varies.append(Vary(key, name, tuple(values)))
    n_rows = math.prod(len(v.values) for v in varies)
    if n_rows > MAX_ROWS:
        raise UsageError(f"the grid has {n_rows:,} rows (limit {MAX_ROWS:,})")
    if backend is None:
        backend = "numpy" if _have_numpy() else "python"
    elif backend == "numpy" and not _have_numpy():
        raise UsageError("the numpy backend needs NumPy: pip install 'archcalc[fast]'")
    names = [v.name for v in varies]
    formula = formulas.build(spec, names)
    resolved, _ = api.symbolic(spec, names)
    import sympy

    symbol_of = {s.name: s for s in formula.total.free_symbols | formula.active.free_symbols}
    for value in resolved.namespace.memo.values():
        if isinstance(value, sympy.Basic):
            symbol_of.update({s.name: s for s in value.free_symbols})
    symbols = [symbol_of.get(n, sympy.Symbol(n)) for n in names]

    use_numpy = backend == "numpy"
    columns = _grid_columns(varies, use_numpy)
    total, bad_total = _evaluate(
        compile_expr(formula.total, symbols), varies, columns, backend, progress
    )
    if formula.active == formula.total:
        active, bad_active = total, bad_total
    else:
        active, bad_active = _evaluate(
            compile_expr(formula.active, symbols), varies, columns, backend, None
        )
    errors = _kind_errors(spec, resolved, varies, symbols, columns, backend)
    for i in _indices(bad_total, use_numpy) + _indices(bad_active, use_numpy):
        errors.setdefault(i, "the count is not an integer for these values")
    _semantic_errors(spec, resolved, varies, columns, errors, use_numpy)
    result = Result(
        keys=tuple(names),
        varies=tuple(varies),
        n_rows=n_rows,
        columns=columns,
        total=total,
        active=active,
        errors=errors,
        method=f"compiled formula ({backend})",
    )
    if not _agrees_with_pipeline(spec, result):
        result = _pipeline_sweep(spec, varies, columns, progress)
    return result


def _indices(mask: Any, use_numpy: bool) -> list[int]:
    if mask is None:
        return []
    if use_numpy and not isinstance(mask, list):
        import numpy

        return [int(i) for i in numpy.flatnonzero(mask)]
    return [i for i, bad in enumerate(mask) if bad]


def _kind_errors(
    spec: api.Spec,
    resolved: Any,
    varies: Sequence[Vary],
    symbols: Sequence[Any],
    columns: dict[str, Any],
    backend: str,
) -> dict[int, str]:
    """Rows where a field computed from the varied keys no longer fits its kind."""
    import sympy

    errors: dict[int, str] = {}
    varied = set(symbols)
    for name, entry in resolved.namespace.entries.items():
        value = resolved.namespace.memo.get(name)
        if entry.kind not in ("size", "count") or not isinstance(value, sympy.Basic):
            continue
        if not (value.free_symbols & varied):
            continue
        compiled = compile_expr(value, symbols)
        result, not_integral = _evaluate(compiled, varies, columns, backend, None)
        low = 1 if entry.kind == "size" else 0
        shown = name if str(value) == name else f"{name} = {value}"
        if backend == "numpy" and not isinstance(result, list):
            import numpy

            bad = numpy.asarray(result < low, dtype=bool)
            if not_integral is not None:
                bad |= numpy.asarray(not_integral, dtype=bool)
            rows = [int(i) for i in numpy.flatnonzero(bad)]
            messages = {i: not_integral is not None and bool(not_integral[i]) for i in rows}
        else:
            rows = [i for i in range(len(result)) if not_integral[i] or result[i] < low]
            messages = {i: bool(not_integral[i]) for i in rows}
        what = "a positive" if entry.kind == "size" else "a non-negative"
        for i in rows:
            reason = "is not an integer" if messages[i] else f"is not {what} integer"
            errors.setdefault(i, f"{shown} {reason} (it must be {what} integer)")
    return errors


def _semantic_errors(
    spec: api.Spec,
    resolved: Any,
    varies: Sequence[Vary],
    columns: dict[str, Any],
    errors: dict[int, str],
    use_numpy: bool,
) -> None:
    """The family's own checks, through the real pipeline, once per relevant combination.

    A check reads some fields; those depend on some of the varied keys. Rows agreeing on
    those keys get the same verdict, so one pipeline run per distinct combination
    decides them all; it runs on a row of that combination with no kind error, so the
    check is reached.
    """
    import sympy

    fresh = api.check_document(spec.doc, spec.overrides)  # reads = what check() looked at
    relevant: set[str] = set()
    varied = {v.name for v in varies}
    for name in fresh.exact.reads:
        value = resolved.namespace.memo.get(name)
        if name in varied:
            relevant.add(name)
        elif isinstance(value, sympy.Basic):
            relevant |= {s.name for s in value.free_symbols} & varied
    if not relevant:
        return
    keys = [v.name for v in varies if v.name in relevant]
    n = len(columns[keys[0]])
    groups: dict[tuple[Any, ...], list[int]] = {}
    cols = [columns[k] for k in keys]
    for i in range(n):
        groups.setdefault(tuple(_py(c[i]) for c in cols), []).append(i)
    if len(groups) > MAX_PIPELINE_CHECKS:
        raise UsageError(
            f"the grid has {len(groups):,} distinct combinations of {', '.join(keys)} whose "
            f"validity must be checked one by one (limit {MAX_PIPELINE_CHECKS:,}); sweep "
            "fewer values of these keys"
        )
    all_cols = {v.name: columns[v.name] for v in varies}
    for combo, rows in groups.items():
        probe = next((i for i in rows if i not in errors), None)
        if probe is None:
            continue
        overrides = [
            *spec.overrides,
            *(Override(k, _text(_py(c[probe]))) for k, c in all_cols.items()),
        ]
        try:
            api.check_document(spec.doc, overrides)
        except SpecError as exc:
            message = "; ".join(d.message for d in exc.diagnostics if d.severity == "error")
            for i in rows:
                errors.setdefault(i, message)
        del combo


def _text(value: int | Fraction) -> str:
    if isinstance(value, Fraction) and value.denominator != 1:
        return f"{value.numerator}/{value.denominator}"
    return str(int(value))


def _pipeline_count(spec: api.Spec, values: dict[str, Any]) -> tuple[int, int] | str:
    overrides = [*spec.overrides, *(Override(k, _text(v)) for k, v in values.items())]
    try:
        checked = api.check_document(spec.doc, overrides)
    except SpecError as exc:
        return "; ".join(d.message for d in exc.diagnostics if d.severity == "error")
    result = api.count(checked)
    return result.total_params, result.active_params


def _sample(result: Result) -> list[int]:
    """Rows to cross-check: spread values of each key (others at their first), the corners.

    Structure changes happen where a value crosses zero or a threshold, so each key's
    zero, first, last and a spread of values in between are sampled.
    """
    sizes = [len(v.values) for v in result.varies]
    strides = [math.prod(sizes[a + 1 :]) for a in range(len(sizes))]
    rows = {0, result.n_rows - 1}
    for axis, size in enumerate(sizes):
        picks = {0, size - 1, *(j * (size - 1) // SAMPLES_PER_KEY for j in range(SAMPLES_PER_KEY))}
        picks |= {j for j, v in enumerate(result.varies[axis].values[:4096]) if v in (0, 1)}
        rows |= {j * strides[axis] for j in picks}
    return sorted(rows)


def _agrees_with_pipeline(spec: api.Spec, result: Result) -> bool:
    """Whether sampled valid rows count the same through the pipeline as compiled."""
    for i in _sample(result):
        if i in result.errors:
            continue
        values = {k: _py(result.columns[k][i]) for k in result.keys}
        truth = _pipeline_count(spec, values)
        if isinstance(truth, str):
            result.errors[i] = truth
            continue
        if truth != (_py(result.total[i]), _py(result.active[i])):
            return False
    return True


def _pipeline_sweep(
    spec: api.Spec, varies: Sequence[Vary], columns: dict[str, Any], progress: ProgressFn | None
) -> Result:
    """Row by row through the real pipeline: for keys that change the model's structure."""
    names = [v.name for v in varies]
    n = math.prod(len(v.values) for v in varies)
    if n > MAX_PIPELINE_CHECKS:
        raise UsageError(
            f"varying {', '.join(names)} changes the model's structure, so each of the {n:,} "
            f"rows must be counted on its own (limit {MAX_PIPELINE_CHECKS:,}); sweep fewer values"
        )
    total: list[int] = []
    active: list[int] = []
    errors: dict[int, str] = {}
    for i, combo in enumerate(itertools.product(*(v.values for v in varies))):
        truth = _pipeline_count(spec, dict(zip(names, combo, strict=True)))
        if isinstance(truth, str):
            errors[i] = truth
            total.append(0)
            active.append(0)
        else:
            total.append(truth[0])
            active.append(truth[1])
        if progress:
            progress(i + 1, n)
    plain = _grid_columns(varies, use_numpy=False)
    del columns
    return Result(tuple(names), tuple(varies), n, plain, total, active, errors, "pipeline")
