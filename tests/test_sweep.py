"""``archcalc.sweep``: exact rows over grids, validity per row, both backends agree."""

from __future__ import annotations

import sys
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
