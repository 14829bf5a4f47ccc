"""``archcalc.sweep``: exact rows over grids, validity per row, both backends agree."""

from __future__ import annotations

import itertools
import math
import sys
import tracemalloc
from fractions import Fraction

import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archcalc import api, sweep
from archcalc.errors import SpecError, UsageError
from tests.helpers import EXAMPLES


def _truth(path: str, values: dict[str, int]) -> tuple[int, int] | None:
    try:
        spec = api.load_spec(EXAMPLES / path, [f"{k}={v}" for k, v in values.items()])
    except SpecError:
        return None
    result = api.count(spec)
    return result.total_params, result.active_params


def _rows(result: sweep.Result) -> list[tuple[dict[str, int], tuple[int, int] | None]]:
    return [
        (r.values, (r.total_params, r.active_params) if r.valid else None) for r in result.rows()
    ]


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("n_layers=1,2,5", (1, 2, 5)),
        ("n_layers=2:10:4", (2, 6, 10)),
        ("n_layers=3:5", (3, 4, 5)),
        ("vars.width=1.5,2", (Fraction(3, 2), 2)),
        ("x=0.5:1.5:0.5", (Fraction(1, 2), 1, Fraction(3, 2))),
    ],
)
def test_parse_vary_includes_stop_and_stays_exact(text: str, values: tuple[object, ...]) -> None:
    assert sweep.parse_vary(text)[1] == values


@pytest.mark.parametrize(
    "text", ["n_layers", "n_layers=", "=1,2", "n_layers=5:1", "n_layers=1:5:0", "n=1:2:3:4", "n=a"]
)
def test_parse_vary_rejects_malformed_items(text: str) -> None:
    with pytest.raises(UsageError):
        sweep.parse_vary(text)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.integers(1, 200), min_size=1, max_size=3, unique=True),
    st.lists(st.sampled_from([8, 12, 16, 24, 32, 40, 64]), min_size=1, max_size=3, unique=True),
    st.sampled_from(["numpy", "python"]),
)
def test_rows_equal_count_with_set(layers: list[int], heads: list[int], backend: str) -> None:
    """Every row is exactly `archcalc count --set ...`, invalid rows included."""
    spec = api.load_spec(EXAMPLES / "gpt2-small.yaml")
    result = sweep.sweep(spec, [("n_layers", layers), ("n_heads", heads)], backend=backend)
    rows = _rows(result)
    assert len(rows) == len(layers) * len(heads)
    for values, counts in rows:
        assert counts == _truth("gpt2-small.yaml", values), values


def test_row_order_is_row_major_with_the_last_key_fastest() -> None:
    spec = api.load_spec(EXAMPLES / "llama-2-7b.yaml")
    result = sweep.sweep(spec, [("n_layers", [1, 2]), ("d_ff", [10, 20, 30])])
    assert [tuple(r.values.values()) for r in result.rows()] == [
        (1, 10),
        (1, 20),
        (1, 30),
        (2, 10),
        (2, 20),
        (2, 30),
    ]


def test_invalid_rows_are_reported_not_counted() -> None:
    spec = api.load_spec(EXAMPLES / "llama-3-8b.yaml")
    result = sweep.sweep(spec, [("n_heads", [24, 32]), ("n_kv_heads", [3, 8])])
    by_values = {tuple(r.values.values()): r for r in result.rows()}
    assert by_values[(32, 8)].valid
    assert "must divide n_heads" in (by_values[(32, 3)].error or "")
    assert "d_head" in (by_values[(24, 8)].error or "")  # 4096 / 24 is not an integer
    assert by_values[(24, 8)].total_params is None


def test_a_var_is_swept_through_every_expression_that_uses_it() -> None:
    spec = api.load_spec(EXAMPLES / "llama-3-8b.yaml")
    result = sweep.sweep(spec, [("vars.width", [2048, 3000, 4096, 8192])])
    for values, counts in _rows(result):
        assert counts == _truth("llama-3-8b.yaml", {"width": values["width"]})


def test_backends_agree_and_huge_values_stay_exact() -> None:
    """Past int64 (1e25 parameters) the NumPy backend switches to exact Python ints."""
    spec = api.load_spec(EXAMPLES / "llama-2-7b.yaml")
    vary = [("n_layers", [1, 10**6]), ("d_model", [4096, 32 * 10**9])]
    numpy_rows = _rows(sweep.sweep(spec, vary, backend="numpy"))
    python_rows = _rows(sweep.sweep(spec, vary, backend="python"))
    assert numpy_rows == python_rows
    big = numpy_rows[-1]
    assert big[1] is not None and big[1][0] > 2**63
    assert big[1] == _truth("llama-2-7b.yaml", big[0])


def test_a_key_that_changes_the_structure_falls_back_to_the_pipeline() -> None:
    """Shared experts exist only when n_shared_experts > 0: the formula of 0 has no term."""
    spec = api.load_spec(EXAMPLES / "mixtral-8x7b.yaml")
    result = sweep.sweep(spec, [("n_shared_experts", [0, 1, 2])])
    assert result.method == "pipeline"
    for values, counts in _rows(result):
        assert counts == _truth("mixtral-8x7b.yaml", values)


def test_compiled_code_is_exact_for_roundings_and_fractions() -> None:
    x = sympy.Symbol("x", positive=True, integer=True)
    expr = 98304 * x * sympy.ceiling(sympy.ceiling(52 * x / 15) / 1024) + x**2 / 3
    compiled = sweep.compile_expr(expr, [x])
    for value in (1, 3, 4096, 10**15 + 7):
        expected = expr.xreplace({x: value})
        got = Fraction(compiled.value(value))
        assert sympy.Rational(got.numerator, got.denominator) == expected


def test_grid_limits_and_bad_keys_are_usage_errors() -> None:
    spec = api.load_spec(EXAMPLES / "llama-2-7b.yaml")
    with pytest.raises(UsageError, match="did you mean"):
        sweep.sweep(spec, [("n_layer", [1])])
    with pytest.raises(UsageError, match="integers"):
        sweep.sweep(spec, [("n_layers", [Fraction(1, 2)])])
    with pytest.raises(UsageError, match="twice"):
        sweep.sweep(spec, [("n_layers", [1]), ("n_layers", [2])])
    with pytest.raises(UsageError, match="rows"):
        sweep.sweep(spec, [("n_layers", range(1, 10**4)), ("d_ff", range(1, 10**4))])


def test_python_backend_needs_no_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "numpy", None)
    spec = api.load_spec(EXAMPLES / "gpt2-small.yaml")
    result = sweep.sweep(spec, [("n_layers", [12, 24])])
    assert result.method == "compiled formula (python)"
    assert [r.total_params for r in result.rows()] == [
        _truth("gpt2-small.yaml", {"n_layers": 12})[0],  # type: ignore[index]
        _truth("gpt2-small.yaml", {"n_layers": 24})[0],  # type: ignore[index]
    ]


# --- bounds, chunks and streaming (issues 12 and 13): work and memory, never a clock ---------


def test_a_huge_grid_is_refused_before_anything_grid_sized_exists() -> None:
    """9e6 × 9e6 values: refused from the lengths alone; the ranges are never expanded."""
    spec = api.load_spec(EXAMPLES / "llama-2-7b.yaml")
    tracemalloc.start()
    try:
        vary = [sweep.parse_vary("n_layers=1:9000000"), sweep.parse_vary("d_ff=1:9000000")]
        with pytest.raises(UsageError, match=r"81,000,000,000,000 rows .*limit 50,000,000"):
            sweep.sweep(spec, vary)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20  # under a megabyte: no list of nine million values was built


def test_a_range_is_exact_and_lazy() -> None:
    values = sweep.parse_vary("x=0.5:4.5:0.25")[1]
    assert isinstance(values, sweep.Range) and len(values) == 17
    assert values[1] == Fraction(3, 4) and values[2] == 1 and type(values[2]) is int
    assert values[-1] == Fraction(9, 2) and list(values)[:3] == [Fraction(1, 2), Fraction(3, 4), 1]
    with pytest.raises(IndexError):
        values[17]
    big = sweep.parse_vary("n=1:10000000")[1]
    assert len(big) == 10**7 and big[10**7 - 1] == 10**7


def test_memory_follows_the_chunk_not_the_grid() -> None:
    """A 49M-row grid (under the limit) computes chunk by chunk in the same memory."""
    spec = api.load_spec(EXAMPLES / "llama-2-7b.yaml")
    vary = [("n_layers", sweep.Range(1, 1, 7_000)), ("d_ff", sweep.Range(1, 1, 7_000))]
    result = sweep.sweep(spec, vary, chunk_rows=1 << 14)
    assert result.n_rows == 49_000_000
    chunks = result.chunks()
    next(chunks)  # the first chunk allocates what NumPy needs once
    tracemalloc.start()
    try:
        for _ in range(3):
            chunk = next(chunks)
            assert len(chunk) <= 1 << 14
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20  # a few chunk-sized arrays, not 49M rows (gigabytes)
    last = result.row(result.n_rows - 1)
    assert (last.total_params, last.active_params) == _truth(
        "llama-2-7b.yaml", {"n_layers": 7000, "d_ff": 7000}
    )


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(1, 7), min_size=1, max_size=4),
    st.integers(1, 64),
)
def test_chunks_are_consecutive_boxes_covering_the_grid(sizes: list[int], chunk: int) -> None:
    bounds = list(sweep._chunk_bounds(sizes, chunk))
    assert [lo for lo, _ in bounds] == [0, *(hi for _, hi in bounds[:-1])]
    assert bounds[-1][1] == math.prod(sizes)
    grid = list(itertools.product(*(range(n) for n in sizes)))
    for lo, hi in bounds:
        assert hi - lo <= chunk
        rows = grid[lo:hi]
        axes = [sorted({r[a] for r in rows}) for a in range(len(sizes))]
        assert rows == list(itertools.product(*axes))  # a box, in row-major order
        assert all(a == list(range(a[0], a[-1] + 1)) for a in axes)


@pytest.mark.parametrize("backend", ["numpy", "python"])
def test_rows_do_not_depend_on_the_chunk_size(backend: str) -> None:
    spec = api.load_spec(EXAMPLES / "llama-3-8b.yaml")
    vary = [("n_heads", [24, 32, 40]), ("n_kv_heads", [3, 4, 8]), ("n_layers", [1, 2, 3, 4, 5])]
    whole = _rows(sweep.sweep(spec, vary, backend=backend))
    for chunk_rows in (1, 2, 7, 15):
        assert _rows(sweep.sweep(spec, vary, backend=backend, chunk_rows=chunk_rows)) == whole


def test_checks_run_once_per_combination_of_the_keys_they_read() -> None:
    """n_layers is read by no check: 1000 widths × 300 depths need 1000 check runs, not 300k."""
    spec = api.load_spec(EXAMPLES / "llama-3-8b.yaml")
    vary = [("n_layers", sweep.Range(1, 1, 300)), ("d_model", sweep.Range(128, 128, 1000))]
    result = sweep.sweep(spec, vary)
    assert result.check_runs <= 1000 + 1  # + the run at the spec's own values
    assert result.pipeline_runs < 50  # the sampled cross-check
    rows = list(result.chunks())
    assert sum(len(c) for c in rows) == 300_000


def test_a_check_verdict_matches_the_pipeline_on_every_row() -> None:
    spec = api.load_spec(EXAMPLES / "mixtral-8x7b.yaml")
    vary = [("n_experts", [1, 2, 4, 8]), ("top_k", [1, 2, 3, 9])]
    for values, counts in _rows(sweep.sweep(spec, vary)):
        assert counts == _truth("mixtral-8x7b.yaml", values), values


def test_progress_covers_every_chunk_as_it_is_consumed() -> None:
    spec = api.load_spec(EXAMPLES / "gpt2-small.yaml")
    calls: list[tuple[int, int]] = []
    result = sweep.sweep(
        spec, [("n_layers", range(1, 11))], progress=lambda d, t: calls.append((d, t)), chunk_rows=3
    )
    assert calls == []  # nothing is computed before the rows are asked for
    seen = []
    for chunk in result.chunks():
        seen.append(len(calls))  # the chunk is handed out before its progress is reported
        del chunk
    assert seen == [0, 1, 2, 3]
    assert calls == [(3, 10), (6, 10), (9, 10), (10, 10)]
