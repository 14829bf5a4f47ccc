"""``archcalc.solve``: exact sizes, exact roots, and candidates that bracket the target."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archcalc import api
from archcalc.errors import SpecError, UsageError
from archcalc.solve import parse_size, solve
from tests.helpers import EXAMPLES, reference


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("7B", 7_000_000_000),
        ("1.5T", 1_500_000_000_000),
        ("175e9", 175_000_000_000),
        ("350M", 350_000_000),
        ("8030261248", 8_030_261_248),
        ("1_000k", 1_000_000),
        ("0.5K", 500),
        ("1.25e3", 1250),
    ],
)
def test_parse_size_is_exact(text: str, value: int) -> None:
    assert parse_size(text) == value


@pytest.mark.parametrize("text", ["7X", "", "1.5", "1e-3", "-7B", "0", "1e999", "7 B B", "x" * 99])
def test_parse_size_rejects_what_is_not_a_whole_size(text: str) -> None:
    with pytest.raises(UsageError):
        parse_size(text)


@given(st.integers(1, 10**15), st.sampled_from(["", "K", "M", "B", "T"]))
def test_parse_size_units_are_powers_of_ten(n: int, unit: str) -> None:
    scale = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9, "T": 10**12}[unit]
    assert parse_size(f"{n}{unit}") == n * scale


def _count(key: str, value: int, path: str = "llama-2-7b.yaml") -> int | None:
    try:
        spec = api.load_spec(EXAMPLES / path, [f"{key}={value}"])
    except SpecError:
        return None
    return api.count(spec).total_params


def _assert_brackets(path: str, key: str, target: int) -> None:
    spec = api.load_spec(EXAMPLES / path)
    solution = solve(spec, key, target)
    under = [c for c in solution.candidates if c.total_params <= target]
    over = [c for c in solution.candidates if c.total_params >= target]
    assert under and over, solution
    low, high = max(c.value for c in under), min(c.value for c in over)
    # Candidates are the real pipeline's counts...
    for candidate in solution.candidates:
        assert _count(key, candidate.value, path) == candidate.total_params
    # ...and no valid value lies strictly between them (they are the nearest ones).
    for value in range(low + 1, high):
        assert _count(key, value, path) is None


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(10**9, 10**12))
def test_candidates_bracket_any_target_for_depth(target: int) -> None:
    _assert_brackets("llama-2-7b.yaml", "n_layers", target)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(10**9, 10**12))
def test_candidates_bracket_any_target_for_width(target: int) -> None:
    # d_model must stay divisible by 32 heads: invalid widths are stepped over.
    _assert_brackets("llama-2-7b.yaml", "d_model", target)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(10**9, 5 * 10**11))
def test_candidates_bracket_targets_for_a_var_under_roundings(target: int) -> None:
    # llama-3-8b: d_model = width, d_ff = multiple_of(ceil(...), 1024): a step function.
    _assert_brackets("llama-3-8b.yaml", "width", target)


@pytest.mark.parametrize(
    ("path", "case", "key", "value"),
    [
        ("llama-2-7b.yaml", "llama-2-7b", "n_layers", 32),
        ("llama-2-7b.yaml", "llama-2-7b", "d_model", 4096),
        ("mixtral-8x7b.yaml", "mixtral-8x7b", "n_layers", 32),
        ("llama-3-8b.yaml", "llama-3-8b", "vars.width", 4096),
    ],
)
def test_held_out_reference_counts_solve_back_to_their_value(
    path: str, case: str, key: str, value: int
) -> None:
    target = reference()[case]["total_params"]
    solution = solve(api.load_spec(EXAMPLES / path), key, target)
    assert [(c.value, c.total_params, c.side) for c in solution.candidates] == [
        (value, target, "exact")
    ]


def test_root_of_a_linear_formula_is_exact() -> None:
    spec = api.load_spec(EXAMPLES / "llama-2-7b.yaml")
    solution = solve(spec, "n_layers", reference()["llama-2-7b"]["total_params"])
    assert solution.root is not None and solution.root.startswith("32.000000")
    assert solution.root_method == "exact"


def test_a_decreasing_count_is_bracketed_too() -> None:
    # More query heads at fixed width and KV heads shrink the K/V projections.
    spec = api.load_spec(EXAMPLES / "llama-3-8b.yaml")
    solution = solve(spec, "n_heads", 7_900_000_000)
    assert not solution.increasing
    values = {c.side: c for c in solution.candidates}
    assert values["over"].total_params >= 7_900_000_000 >= values["under"].total_params
    assert (values["over"].value, values["under"].value) == (32, 64)


def test_active_parameters_can_be_solved_for() -> None:
    spec = api.load_spec(EXAMPLES / "mixtral-8x7b.yaml")
    with pytest.raises(UsageError, match="do not depend on top_k"):
        solve(spec, "top_k", 20 * 10**9)
    solution = solve(spec, "top_k", reference()["mixtral-8x7b"]["active_params"], active=True)
    assert [c.value for c in solution.candidates] == [2]


def test_a_target_below_the_smallest_model_has_only_the_over_candidate() -> None:
    solution = solve(api.load_spec(EXAMPLES / "llama-2-7b.yaml"), "n_layers", 1000)
    assert [(c.value, c.side) for c in solution.candidates] == [(1, "over")]


def test_unreachable_and_unknown_keys_are_usage_errors() -> None:
    spec = api.load_spec(EXAMPLES / "llama-2-7b.yaml")
    with pytest.raises(UsageError, match="reaches"):
        solve(spec, "n_layers", 10**30)
    with pytest.raises(UsageError, match="did you mean 'n_layers'"):
        solve(spec, "n_layer", 10**9)
