"""Count a spec at every point of a grid of values: exact, validated, streamed in chunks.

``archcalc sweep SPEC --vary n_layers=24:96:8 --vary d_model=2048,4096`` counts every
combination. The formula (only the varied keys symbolic, the rest substituted) is
compiled once into exact integer code (:mod:`archcalc.intcode`) and evaluated over the
grid **a chunk at a time** (:data:`CHUNK_ROWS` rows): memory follows the chunk, never the
grid, so the largest grid accepted (:data:`MAX_ROWS`) is counted in the same memory as a
small one, and a grid over the limit is refused from the sizes of the ``--vary`` lists
before anything grid-sized exists (a ``START:STOP:STEP`` range is never expanded).

Every row is checked, not assumed valid:

- each field computed from a varied key must still fit its kind (``d_head = d_model /
  n_heads`` must be a positive integer): its compiled expression is evaluated over the
  chunk like the count;
- the family's own checks (``n_kv_heads`` divides ``n_heads``...) are decided **once per
  distinct combination** of the varied keys they depend on, never per row: their verdicts
  form a small table, and each chunk looks its rows up by index arithmetic. A check's
  verdict is computed by running the family's real ``check`` on the spec with the
  combination's values (those computed from the keys come from the compiled
  expressions), which costs microseconds instead of a full reload. The keys a check
  depends on are the ones the fields it read depend on; a check that reads more fields
  for some values is re-run with the larger set until nothing new is read.
- finally a sample of rows (spread values of each key, the grid's corners) is counted and
  checked through the real pipeline (``load`` + ``count``, as ``archcalc count --set``
  does) and must agree with the compiled result in validity and in both counts. A key
  that changes the model's *structure* (a part that exists only when it is non-zero) or
  any other disagreement sends the grid through the pipeline row by row instead
  (refused, with the reason, when that would be more than :data:`MAX_PIPELINE_CHECKS`
  rows).

Rows that fail carry ``valid: false`` and the reason instead of a silent count.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, overload

from archcalc import api
from archcalc.errors import DiagnosticSink, SpecError, UsageError, shorten
from archcalc.intcode import INT64_SAFE, Compiled, compile_expr
from archcalc.spec import UNAVAILABLE as UNAVAILABLE_VALUE
from archcalc.spec import Namespace, Override, did_you_mean

__all__ = [
    "CHUNK_ROWS",
    "MAX_PIPELINE_CHECKS",
    "MAX_ROWS",
    "MAX_VALUES",
    "Chunk",
    "Range",
    "Row",
    "Sweep",
    "Vary",
    "compile_expr",
    "parse_vary",
    "resolve_key",
    "sweep",
]

#: Largest grid a sweep accepts (rows); its CSV is a few gigabytes.
MAX_ROWS = 50_000_000
#: Most values one ``--vary`` may list or generate.
MAX_VALUES = 10_000_000
#: Most distinct combinations decided one by one (check verdicts; pipeline rows).
MAX_PIPELINE_CHECKS = 20_000
#: Values of each varied key cross-checked through the real pipeline.
SAMPLES_PER_KEY = 8
#: Rows computed (and written) at a time: the unit of memory and of progress.
CHUNK_ROWS = 1 << 17

ProgressFn = Callable[[int, int], None]


# ----------------------------------------------------------------------- the values


class Range(Sequence[int | Fraction]):
    """``start, start + step, ...`` (``n`` values), exact, computed on demand.

    ``--vary n_layers=1:9000000`` is nine million values; holding them as Python ints
    would take a quarter of a gigabyte before the grid's size could even be checked.
    """

    __slots__ = ("n", "start", "step")

    def __init__(self, start: int | Fraction, step: int | Fraction, n: int) -> None:
        self.start, self.step, self.n = start, step, n

    def __len__(self) -> int:
        return self.n

    @overload
    def __getitem__(self, index: int) -> int | Fraction: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[int | Fraction, ...]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(self.n)[index])
        if index < 0:
            index += self.n
        if not 0 <= index < self.n:
            raise IndexError(index)
        return _exact(self.start + index * self.step)

    def __iter__(self) -> Iterator[int | Fraction]:
        return (self[i] for i in range(self.n))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or len(other) != self.n:
            return NotImplemented if not isinstance(other, Sequence) else False
        return all(a == b for a, b in zip(self, other, strict=True))

    def __hash__(self) -> int:
        return hash((self.start, self.step, self.n))

    def __repr__(self) -> str:
        return f"Range(start={self.start}, step={self.step}, n={self.n})"

    @property
    def integral(self) -> bool:
        return type(self.start) is int and type(self.step) is int


def _exact(value: int | Fraction) -> int | Fraction:
    return int(value) if Fraction(value).denominator == 1 else value


_NUMBER = re.compile(r"^[+-]?(\d[\d_]*)(\.\d+)?$")


def _number(text: str, option: str) -> int | Fraction:
    """An exact int or decimal (``1.5`` is 3/2); never a float."""
    text = text.strip()
    if not _NUMBER.match(text) or len(text) > 40:
        raise UsageError(f"{option}: '{shorten(text)}' is not a number")
    return _exact(Fraction(text.replace("_", "")))


def parse_vary(item: str) -> tuple[str, Sequence[int | Fraction]]:
    """``KEY=a,b,c`` or ``KEY=START:STOP[:STEP]`` (STOP included) into key and values.

    A range comes back as a :class:`Range`, whose values are computed when read.
    """
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
        return key, Range(start, step, n)
    if text.count(",") >= MAX_VALUES:
        raise UsageError(f"{option}: too many values (limit {MAX_VALUES:,})")
    items = [t for t in text.split(",") if t.strip()]
    if not items:
        raise UsageError(f"{option}: no values")
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


@dataclass(frozen=True)
class Vary:
    """One ``--vary KEY=VALUES``: the key as given, its leaf name and its exact values."""

    key: str
    name: str
    values: Sequence[int | Fraction]

    @property
    def integral(self) -> bool:
        if isinstance(self.values, Range):
            return self.values.integral
        return all(type(v) is int for v in self.values)

    def largest(self) -> int | Fraction:
        """The largest |value| (a range's is at one of its ends)."""
        values: Sequence[Any] = self.values
        ends = (values[0], values[-1]) if isinstance(values, Range) else values
        largest: int | Fraction = max(abs(v) for v in ends)
        return largest

    def array(self, lo: int, hi: int, dtype: Any) -> Any:
        """Values ``lo:hi`` as a NumPy array (a range computed, not listed)."""
        import numpy

        if isinstance(self.values, Range) and self.values.integral and dtype is numpy.int64:
            steps: Any = numpy.arange(lo, hi, dtype=numpy.int64)
            return steps * self.values.step + self.values.start
        values = self.values[lo:hi]
        return numpy.array(list(values), dtype=dtype)


# ----------------------------------------------------------------------- rows and chunks


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
class Chunk:
    """Consecutive rows ``start .. start + len - 1`` of a sweep, column by column.

    ``columns[key]``, ``total``, ``active`` and ``codes`` are NumPy arrays (numpy backend)
    or lists; ``codes[i]`` is 0 for a valid row, else ``messages[codes[i]]`` says why it
    is not (``total`` and ``active`` are then meaningless). Writers that want speed read
    the arrays; everyone else uses :meth:`rows` or :meth:`tuples`.
    """

    start: int
    columns: dict[str, Any]
    total: Any
    active: Any
    codes: Any
    messages: Sequence[str]

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def n_invalid(self) -> int:
        if hasattr(self.codes, "nonzero"):
            return int(self.codes.astype(bool).sum())
        return sum(1 for c in self.codes if c)

    def tuples(self) -> Iterator[tuple[tuple[Any, ...], int | None, int | None, str | None]]:
        """``(values, total, active, error)`` per row, as Python ints or Fractions."""
        columns = [_pylist(c) for c in self.columns.values()]
        total, active, codes = _pylist(self.total), _pylist(self.active), _pylist(self.codes)
        for i, values in enumerate(zip(*columns, strict=True)):
            code = codes[i]
            if code:
                yield values, None, None, self.messages[code]
            else:
                yield values, total[i], active[i], None

    def rows(self) -> Iterator[Row]:
        keys = tuple(self.columns)
        for values, total, active, error in self.tuples():
            yield Row(dict(zip(keys, values, strict=True)), total, active, error)


def _pylist(column: Any) -> list[Any]:
    """A column as Python ints/Fractions (``tolist`` converts NumPy ints at C speed)."""
    if hasattr(column, "tolist"):
        values = column.tolist()
        return [_py(v) for v in values] if column.dtype == object else values
    return list(column)


def _py(value: Any) -> Any:
    return value if isinstance(value, (int, Fraction)) else int(value)


class Sweep:
    """A swept grid in row-major order (the last ``--vary`` varies fastest), produced lazily.

    Iterating :meth:`chunks` (or :meth:`rows`) computes the rows chunk by chunk; nothing
    grid-sized is ever held. ``progress(done, total)`` is called after each chunk has been
    handled by the consumer, so a progress bar covers computing and writing alike.
    """

    def __init__(
        self,
        keys: tuple[str, ...],
        varies: tuple[Vary, ...],
        method: str,
        produce: Callable[[int, int], Chunk],
        progress: ProgressFn | None = None,
        chunk_rows: int = CHUNK_ROWS,
    ) -> None:
        self.keys, self.varies, self.method = keys, varies, method
        self.n_rows = math.prod(len(v.values) for v in varies)
        self._produce, self.progress, self.chunk_rows = produce, progress, chunk_rows
        #: Invalid rows seen by the last complete iteration (None before one).
        self.invalid: int | None = None
        #: Work done before the first row: runs of the family's check (one per distinct
        #: combination of the keys it depends on) and rows counted through the pipeline.
        self.check_runs = 0
        self.pipeline_runs = 0

    def chunks(self) -> Iterator[Chunk]:
        invalid = 0
        for lo, hi in _chunk_bounds([len(v.values) for v in self.varies], self.chunk_rows):
            chunk = self._produce(lo, hi)
            invalid += chunk.n_invalid
            yield chunk
            if self.progress is not None:
                self.progress(hi, self.n_rows)
        self.invalid = invalid

    def rows(self) -> Iterator[Row]:
        for chunk in self.chunks():
            yield from chunk.rows()

    def tuples(self) -> Iterator[tuple[tuple[Any, ...], int | None, int | None, str | None]]:
        for chunk in self.chunks():
            yield from chunk.tuples()

    def row(self, index: int) -> Row:
        """One row, computed alone."""
        return next(self._produce(index, index + 1).rows())


def _chunk_bounds(sizes: Sequence[int], chunk_rows: int) -> Iterator[tuple[int, int]]:
    """Row ranges of at most ``chunk_rows`` rows that are boxes of the grid.

    A box fixes the leading axes, takes a slice of one axis and all of the axes after it,
    so its rows are consecutive in row-major order and its values broadcast like the
    whole grid's: terms that depend on one key are computed once per value in the box.
    """
    n = math.prod(sizes)
    inner = 1
    split = len(sizes) - 1
    while split > 0 and inner * sizes[split] <= chunk_rows:
        inner *= sizes[split]
        split -= 1
    step = max(chunk_rows // inner, 1) * inner  # whole multiples of the inner block
    block = sizes[split] * inner
    for base in range(0, n, block):
        for lo in range(base, base + block, step):
            yield lo, min(lo + step, base + block)


# ----------------------------------------------------------------------- the sweep


def sweep(
    spec: api.Spec,
    vary: Sequence[tuple[str, Sequence[int | Fraction]]],
    backend: str | None = None,
    progress: ProgressFn | None = None,
    chunk_rows: int | None = None,
) -> Sweep:
    """Count ``spec`` at every combination of the varied keys' values, exactly.

    ``backend`` is ``"numpy"`` (vectorised, the default when NumPy is installed) or
    ``"python"`` (one row at a time, no dependency). Both give identical rows. The grid
    is checked against :data:`MAX_ROWS` first, from the lengths of the value lists alone.
    Rows are computed when read, ``chunk_rows`` (default :data:`CHUNK_ROWS`) at a time.
    """
    chunk_rows = chunk_rows if chunk_rows is not None else CHUNK_ROWS
    if not vary:
        raise UsageError("sweep needs at least one --vary KEY=VALUES")
    empty = next((key for key, values in vary if not len(values)), None)
    if empty is not None:
        raise UsageError(f"--vary {empty}: no values")
    n_rows = math.prod(len(values) for _, values in vary)
    if n_rows > MAX_ROWS:
        sizes = " × ".join(f"{len(values):,}" for _, values in vary)
        raise UsageError(
            f"the grid has {n_rows:,} rows ({sizes}; limit {MAX_ROWS:,}): "
            "sweep fewer values or split the grid into several runs"
        )
    varies: list[Vary] = []
    for key, values in vary:
        name = resolve_key(spec, key, "--vary")
        if any(v.name == name for v in varies):
            raise UsageError(f"--vary {key}: '{name}' is varied twice")
        one = Vary(key, name, values)
        kind = spec.exact.namespace.entries[name].kind
        if kind != "number" and not one.integral:
            wrong = next(v for v in values if type(v) is not int)
            raise UsageError(f"--vary {key}: {name} takes integers, got {wrong}")
        varies.append(one)
    if backend is None:
        backend = "numpy" if _have_numpy() else "python"
    elif backend == "numpy" and not _have_numpy():
        raise UsageError("the numpy backend needs NumPy: pip install 'archcalc[fast]'")
    grid = _Grid.build(spec, tuple(varies), backend)
    result = Sweep(
        grid.keys, grid.varies, f"compiled formula ({backend})", grid.chunk, progress, chunk_rows
    )
    result.check_runs = grid.check_runs
    disagreement = _disagreement(spec, result)
    if disagreement is not None:
        return _pipeline_sweep(spec, tuple(varies), disagreement, progress, chunk_rows)
    return result


def _have_numpy() -> bool:
    try:
        import numpy  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class _KindCheck:
    """A field computed from the varied keys, which must stay a (positive) integer."""

    compiled: Compiled
    low: int
    not_integer: int  # message codes
    too_small: int


@dataclass
class _Grid:
    """Everything a chunk needs, computed once: compiled code, kinds, check verdicts."""

    spec: api.Spec
    keys: tuple[str, ...]
    varies: tuple[Vary, ...]
    backend: str
    total: Compiled
    active: Compiled | None  # None: the same as total
    kinds: list[_KindCheck]
    messages: list[str]
    #: Axes the family's checks depend on, and the verdict (a message code) per combination
    #: of their values, row-major over those axes (a list; an array for NumPy).
    check_axes: tuple[int, ...] = ()
    verdict_list: list[int] = field(default_factory=list)
    verdicts: Any = None
    #: NumPy chunks (int64 or exact object arrays), or one row at a time in Python.
    vectorised: bool = False
    dtype: Any = None
    check_runs: int = 0
    _codes: dict[str, int] = field(default_factory=dict)

    def code(self, message: str) -> int:
        if message not in self._codes:
            self._codes[message] = len(self.messages)
            self.messages.append(message)
        return self._codes[message]

    @classmethod
    def build(cls, spec: api.Spec, varies: tuple[Vary, ...], backend: str) -> _Grid:
        import sympy

        from archcalc import formulas

        names = [v.name for v in varies]
        formula = formulas.build(spec, names)
        resolved, _ = api.symbolic(spec, names)
        symbol_of = {s.name: s for s in formula.total.free_symbols | formula.active.free_symbols}
        for value in resolved.namespace.memo.values():
            if isinstance(value, sympy.Basic):
                symbol_of.update({s.name: s for s in value.free_symbols})
        symbols = [symbol_of.get(n, sympy.Symbol(n)) for n in names]
        same = formula.active == formula.total
        grid = cls(
            spec,
            tuple(names),
            varies,
            backend,
            compile_expr(formula.total, symbols),
            None if same else compile_expr(formula.active, symbols),
            [],
            [""],
        )
        grid.code("the count is not an integer for these values")
        dependents = grid._compile_fields(resolved, symbols)
        compiled = [grid.total, *([grid.active] if grid.active else []), *grid._kind_codes()]
        grid.vectorised = (
            backend == "numpy"
            and all(v.integral for v in varies)
            and all(c.int_source is not None for c in compiled)
        )
        if grid.vectorised:
            grid.dtype = _dtype(compiled, varies)
        verdicts = _Verdicts(grid, dependents)
        grid.check_axes, grid.verdict_list = verdicts.decide()
        grid.check_runs = verdicts.runs
        if grid.check_axes and backend == "numpy":
            import numpy

            sizes = [len(varies[a].values) for a in grid.check_axes]
            grid.verdicts = numpy.array(grid.verdict_list, dtype=numpy.int32).reshape(sizes)
        return grid

    def _compile_fields(
        self, resolved: Any, symbols: Sequence[Any]
    ) -> dict[str, tuple[Compiled, set[int]]]:
        """Kind checks for fields computed from the varied keys; each such field's compiled
        value and the axes (varied keys) it depends on."""
        import sympy

        varied = set(symbols)
        dependents: dict[str, tuple[Compiled, set[int]]] = {}
        for name, entry in resolved.namespace.entries.items():
            value = resolved.namespace.memo.get(name)
            if entry.kind not in ("size", "count", "number") or not isinstance(value, sympy.Basic):
                continue
            if not (value.free_symbols & varied):
                continue
            compiled = compile_expr(value, symbols)
            axes = {a for a, symbol in enumerate(symbols) if symbol in value.free_symbols}
            dependents[name] = (compiled, axes)
            if entry.kind == "number":
                continue
            low = 1 if entry.kind == "size" else 0
            shown = name if str(value) == name else f"{name} = {value}"
            what = "a positive" if entry.kind == "size" else "a non-negative"
            self.kinds.append(
                _KindCheck(
                    compiled,
                    low,
                    self.code(f"{shown} is not an integer (it must be {what} integer)"),
                    self.code(f"{shown} is not {what} integer (it must be {what} integer)"),
                )
            )
        return dependents

    def _kind_codes(self) -> list[Compiled]:
        return [k.compiled for k in self.kinds]

    # ---- one chunk

    def chunk(self, lo: int, hi: int) -> Chunk:
        return self._numpy_chunk(lo, hi) if self.vectorised else self._python_chunk(lo, hi)

    def _box(self, lo: int, hi: int) -> list[tuple[int, int]]:
        """Per axis, the index range ``[a, b)`` the rows ``lo:hi`` cover (they form a box)."""
        sizes = [len(v.values) for v in self.varies]
        strides = [math.prod(sizes[a + 1 :]) for a in range(len(sizes))]
        last = hi - 1
        box = []
        for size, stride in zip(sizes, strides, strict=True):
            a, b = (lo // stride) % size, (last // stride) % size
            box.append((a, b + 1))
        assert math.prod(b - a for a, b in box) == hi - lo, "a chunk must be a box of the grid"
        return box

    def _numpy_chunk(self, lo: int, hi: int) -> Chunk:
        import numpy

        box = self._box(lo, hi)
        shape = tuple(b - a for a, b in box)
        dims = len(box)
        args, indices = [], []
        for axis, (vary, (a, b)) in enumerate(zip(self.varies, box, strict=True)):
            where = [1] * dims
            where[axis] = b - a
            args.append(vary.array(a, b, self.dtype).reshape(where))
            indices.append(numpy.arange(a, b).reshape(where))
        total, bad = _evaluate(self.total, args, self.dtype)
        active, bad_active = (
            (total, bad) if self.active is None else _evaluate(self.active, args, self.dtype)
        )
        codes = numpy.zeros(shape, dtype=numpy.int32)
        for kind in self.kinds:
            value, not_integral = _evaluate(kind.compiled, args, self.dtype)
            if not_integral is not None:
                codes = numpy.where((codes == 0) & not_integral, kind.not_integer, codes)
            small = numpy.asarray(value < kind.low, dtype=bool)
            codes = numpy.where((codes == 0) & small, kind.too_small, codes)
        for mask in (bad, bad_active):
            if mask is not None:
                codes = numpy.where((codes == 0) & mask, 1, codes)
        if self.check_axes:
            verdict = self.verdicts[tuple(indices[axis] for axis in self.check_axes)]
            codes = numpy.where(codes == 0, verdict, codes)
        columns = {
            v.name: numpy.broadcast_to(arg, shape).reshape(-1)
            for v, arg in zip(self.varies, args, strict=True)
        }
        flat = numpy.broadcast_to(codes, shape).reshape(-1)
        return Chunk(
            lo,
            columns,
            numpy.broadcast_to(total, shape).reshape(-1),
            numpy.broadcast_to(active, shape).reshape(-1),
            flat,
            self.messages,
        )

    def _python_chunk(self, lo: int, hi: int) -> Chunk:
        box = self._box(lo, hi)
        axes = [range(a, b) for a, b in box]
        columns: dict[str, list[Any]] = {k: [] for k in self.keys}
        total: list[Any] = []
        active: list[Any] = []
        codes: list[int] = []
        for index in itertools.product(*axes):
            values = [v.values[i] for v, i in zip(self.varies, index, strict=True)]
            for key, value in zip(self.keys, values, strict=True):
                columns[key].append(value)
            t, a, code = self._python_row(index, values)
            total.append(t)
            active.append(a)
            codes.append(code)
        return Chunk(lo, columns, total, active, codes, self.messages)

    def _python_row(self, index: Sequence[int], values: Sequence[Any]) -> tuple[Any, Any, int]:
        code = 0
        for kind in self.kinds:
            value = _value(kind.compiled, values)
            if value is None or type(value) is not int:
                code = kind.not_integer
            elif value < kind.low:
                code = kind.too_small
            if code:
                break
        total = _value(self.total, values)
        active = total if self.active is None else _value(self.active, values)
        if not code and (type(total) is not int or type(active) is not int):
            code = 1
        if not code and self.check_axes:
            flat = 0
            for axis in self.check_axes:
                flat = flat * len(self.varies[axis].values) + index[axis]
            code = self.verdict_list[flat]
        return (total if type(total) is int else 0), (active if type(active) is int else 0), code


def _dtype(compiled: Sequence[Compiled], varies: Sequence[Vary]) -> Any:
    """int64 when a bound over the whole grid proves that no intermediate overflows, else
    exact object arrays (Python ints)."""
    import numpy

    maxima = [int(v.largest()) for v in varies]
    if max(maxima, default=0) >= INT64_SAFE:
        return object
    if any(c.bound(maxima) >= INT64_SAFE for c in compiled):
        return object
    return numpy.int64


def _value(compiled: Compiled, values: Sequence[Any]) -> int | Fraction | None:
    try:
        return compiled.value(*values)
    except ZeroDivisionError:
        return None


def _evaluate(compiled: Compiled, args: Sequence[Any], dtype: Any) -> tuple[Any, Any]:
    """Values on the chunk's broadcast arrays and a mask where they are not integers."""
    import numpy

    num, den = compiled.int_fn("numpy")(*args)
    num = numpy.asarray(num, dtype=dtype)
    den = numpy.asarray(den, dtype=dtype)
    if den.ndim == 0 and int(den) == 1:
        return num, None
    bad_den = den == 0
    safe = numpy.where(bad_den, 1, den)
    quotient, remainder = num // safe, num % safe
    not_integral = numpy.asarray((remainder != 0) | bad_den, dtype=bool)
    return quotient, (not_integral if not_integral.any() else None)


# ----------------------------------------------------------------------- check verdicts


class _Verdicts:
    """The family's check, decided once per combination of the keys it depends on."""

    def __init__(self, grid: _Grid, dependents: dict[str, tuple[Compiled, set[int]]]) -> None:
        self.grid = grid
        self.dependents = dependents
        self.base = grid.spec.exact
        self.low = {"size": 1, "count": 0}
        #: Field leaf -> its group (None: top level); vars are not fields.
        self.groups: dict[str, str | None] = {
            f.leaf: (f.name.split(".")[0] if "." in f.name else None)
            for f in self.base.family.all_fields()
        }
        #: Work done, for tests that bound it: checks run.
        self.runs = 0

    def decide(self) -> tuple[tuple[int, ...], list[int]]:
        """The axes the checks depend on and the verdict of each combination of them.

        Starts from what the check reads at the spec's own values; a combination whose
        check reads a field depending on further keys widens the set, and the table is
        rebuilt until the check reads nothing new.
        """
        reads = self._run({})[1]
        axes: tuple[int, ...] = ()
        table: list[int] = []
        while True:
            wanted = tuple(sorted({a for name in reads for a in self._axes_of(name)}))
            if wanted == axes:
                return axes, table
            axes = wanted
            table, more = self._table(axes)
            reads |= more

    def _axes_of(self, name: str) -> set[int]:
        if name in self.grid.keys:
            return {self.grid.keys.index(name)}
        return self.dependents[name][1] if name in self.dependents else set()

    def _table(self, axes: tuple[int, ...]) -> tuple[list[int], set[str]]:
        grid = self.grid
        sizes = [len(grid.varies[a].values) for a in axes]
        combos = math.prod(sizes)
        if combos > MAX_PIPELINE_CHECKS:
            keys = ", ".join(grid.keys[a] for a in axes)
            raise UsageError(
                f"the family's checks depend on {keys}: {combos:,} combinations of their "
                f"values must be checked one by one (limit {MAX_PIPELINE_CHECKS:,}); sweep "
                "fewer values of these keys"
            )
        reads: set[str] = set()
        codes = []
        for index in itertools.product(*(range(s) for s in sizes)):
            values = {
                grid.keys[a]: grid.varies[a].values[i] for a, i in zip(axes, index, strict=True)
            }
            message, read = self._run(values)
            reads |= read
            codes.append(grid.code(message) if message else 0)
        return codes, reads

    def _run(self, values: dict[str, Any]) -> tuple[str, set[str]]:
        """The family's check on the spec with ``values`` (other varied keys at the spec's
        own values): its error messages, and every numeric name it read.

        The fields computed from the keys take their compiled values; one that no longer
        fits its kind is unavailable to the check, as in the pipeline (reading it stops
        the check quietly: the rows are invalid for that reason already).
        """
        from archcalc.spec import _run_check

        self.runs += 1
        base = self.base
        entries = base.namespace.entries
        point = [values.get(key, base.namespace.memo.get(key)) for key in self.grid.keys]
        reads: set[str] = set()
        namespace = _Recording(entries, base.namespace.algebra, base.namespace.report, reads)
        namespace.memo = _Reads(base.namespace.memo, reads)
        namespace.failed = set(base.namespace.failed)
        changed: dict[str, Any] = {}
        for name, (compiled, _) in self.dependents.items():
            value = _value(compiled, point)
            low = self.low.get(entries[name].kind)
            if value is None or (low is not None and (type(value) is not int or value < low)):
                namespace.failed.add(name)
                namespace.memo.pop(name, None)
                changed[name] = UNAVAILABLE_VALUE
            else:
                namespace.memo[name] = changed[name] = value
        sink = DiagnosticSink(base.sink.file)
        variant = dataclasses.replace(
            base,
            values=self._values(changed, reads),
            sink=sink,
            namespace=namespace,
            exact_values=namespace.memo,
            reads=reads,
            calls={},
        )
        _run_check(base.family, variant)  # reports into the sink, raises only a plugin's fault
        message = "; ".join(d.message for d in sink.diagnostics if d.severity == "error")
        return message, set(reads)

    def _values(self, changed: dict[str, Any], reads: set[str]) -> Any:
        """The spec's values namespace with the ``changed`` fields replaced: a copy of the
        exact resolution's (the other fields cannot differ), recording reads in ``reads``."""
        top = _copy_values(self.base.values, reads)
        for name, value in changed.items():
            group = self.groups.get(name, False)
            if group is False:
                continue  # a var, not a field: only the namespace holds it
            target = top if group is None else vars(top).get(group)
            if target is not None and target is not UNAVAILABLE_VALUE:
                setattr(target, name, value)
        return top


def _copy_values(values: Any, reads: set[str]) -> Any:
    from archcalc.spec import Values

    copy = Values(reads)
    for key, value in vars(values).items():
        if not key.startswith("_"):
            setattr(copy, key, _copy_values(value, reads) if isinstance(value, Values) else value)
    return copy


class _Reads(dict[str, Any]):
    """A memo that records which names are looked up (``spec.exact(name)`` reads it)."""

    def __init__(self, data: dict[str, Any], reads: set[str]) -> None:
        super().__init__(data)
        self.reads = reads

    def get(self, key: str, default: Any = None) -> Any:
        self.reads.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.reads.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.reads.add(key)
        return super().__contains__(key)


class _Recording(Namespace):
    """A namespace that records every name evaluated (a layer argument over ``vars``)."""

    def __init__(self, entries: Any, algebra: Any, report: Any, reads: set[str]) -> None:
        super().__init__(entries, algebra, report)
        self.reads = reads

    def value(self, name: str) -> Any:
        self.reads.add(name)
        return super().value(name)


# ----------------------------------------------------------------------- the cross-check


def _text(value: int | Fraction) -> str:
    if isinstance(value, Fraction) and value.denominator != 1:
        return f"{value.numerator}/{value.denominator}"
    return str(int(value))


def _pipeline_count(spec: api.Spec, values: dict[str, Any]) -> tuple[int, int] | str:
    """``archcalc count --set KEY=VALUE...``: the counts, or the errors."""
    overrides = [*spec.overrides, *(Override(k, _text(v)) for k, v in values.items())]
    try:
        checked = api.check_document(spec.doc, overrides, spec.registry)
    except SpecError as exc:
        return "; ".join(d.message for d in exc.diagnostics if d.severity == "error")
    result = api.count(checked)
    return result.total_params, result.active_params


def _sample(varies: Sequence[Vary]) -> list[int]:
    """Rows to cross-check: spread values of each key (others at their first), the corners.

    Structure changes happen where a value crosses zero or a threshold, so each key's
    zero, first, last and a spread of values in between are sampled.
    """
    sizes = [len(v.values) for v in varies]
    strides = [math.prod(sizes[a + 1 :]) for a in range(len(sizes))]
    rows = {0, math.prod(sizes) - 1}
    for axis, size in enumerate(sizes):
        picks = {0, size - 1, *(j * (size - 1) // SAMPLES_PER_KEY for j in range(SAMPLES_PER_KEY))}
        picks |= {j for j, v in enumerate(varies[axis].values[:4096]) if v in (0, 1)}
        rows |= {j * strides[axis] for j in picks}
    return sorted(rows)


def _disagreement(spec: api.Spec, result: Sweep) -> str | None:
    """Why the compiled rows cannot be trusted (a sampled row the pipeline sees
    differently), or None when every sampled row agrees."""
    for i in _sample(result.varies):
        row = result.row(i)
        result.pipeline_runs += 1
        truth = _pipeline_count(spec, row.values)
        ours = (row.total_params, row.active_params) if row.valid else None
        theirs = truth if not isinstance(truth, str) else None
        if ours != theirs:
            shown = ", ".join(f"{k}={_text(v)}" for k, v in row.values.items())
            return f"at {shown} the compiled formula gives {ours}, the pipeline {theirs}"
    return None


def _pipeline_sweep(
    spec: api.Spec,
    varies: tuple[Vary, ...],
    reason: str,
    progress: ProgressFn | None,
    chunk_rows: int,
) -> Sweep:
    """Row by row through the real pipeline: for keys that change the model's structure."""
    names = tuple(v.name for v in varies)
    n = math.prod(len(v.values) for v in varies)
    if n > MAX_PIPELINE_CHECKS:
        raise UsageError(
            f"the compiled formula does not hold over this grid ({reason}: varying "
            f"{', '.join(names)} changes the model's structure), so each of the {n:,} rows "
            f"would be counted on its own (limit {MAX_PIPELINE_CHECKS:,}); sweep fewer values"
        )
    messages: list[str] = [""]
    codes: dict[str, int] = {}
    rows: list[tuple[tuple[Any, ...], int, int, int]] = []
    for combo in itertools.product(*(v.values for v in varies)):
        truth = _pipeline_count(spec, dict(zip(names, combo, strict=True)))
        if isinstance(truth, str):
            code = codes.setdefault(truth, len(messages))
            if code == len(messages):
                messages.append(truth)
            rows.append((combo, 0, 0, code))
        else:
            rows.append((combo, truth[0], truth[1], 0))

    def produce(lo: int, hi: int) -> Chunk:
        part = rows[lo:hi]
        columns = {k: [r[0][a] for r in part] for a, k in enumerate(names)}
        return Chunk(
            lo, columns, [r[1] for r in part], [r[2] for r in part], [r[3] for r in part], messages
        )

    result = Sweep(names, varies, "pipeline", produce, progress, chunk_rows)
    result.pipeline_runs = n
    return result
