"""``archcalc.diff``: per-component differences and the formula of the gap."""

from __future__ import annotations

import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archcalc import api
from archcalc.diff import diff, to_json, to_text
from tests.helpers import EXAMPLES, reference, write_spec


def test_parts_are_matched_and_differences_sum_to_the_totals() -> None:
    a = api.load_spec(EXAMPLES / "mixtral-8x7b.yaml")
    b = api.load_spec(EXAMPLES / "mistral-7b.yaml")
    result = diff(a, b)
    ref = reference()
    assert result.total.difference == (
        ref["mixtral-8x7b"]["total_params"] - ref["mistral-7b"]["total_params"]
    )
    assert sum(p.difference for p in result.parts) == result.total.difference
    by_name = {p.name: p for p in result.parts}
    assert by_name["attention"].difference == 0 and by_name["attention"].ratio == 1
    assert by_name["mlp"].a == 0 and by_name["experts"].b == 0  # present on one side only
    assert by_name["experts"].ratio is None


def test_the_difference_formula_keeps_the_shared_names() -> None:
    a = api.load_spec(EXAMPLES / "mixtral-8x7b.yaml")
    b = api.load_spec(EXAMPLES / "mistral-7b.yaml")
    result = diff(a, b)
    names = {s.name: s for s in result.formula.free_symbols}
    d_model, d_ff, n_layers = names["d_model"], names["d_ff"], names["n_layers"]
    # 8 experts of 3 matrices minus 1 MLP of 3 matrices, plus the 8-wide router, per layer.
    assert (
        sympy.expand(result.formula - (21 * d_ff * d_model * n_layers + 8 * d_model * n_layers))
        == 0
    )
    assert result.symbols == {"d_ff": 14336, "d_model": 4096, "n_layers": 32}


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 48), st.integers(1, 48), st.sampled_from([512, 768, 1024]))
def test_formula_reproduces_the_difference_of_counts(tmp_path_factory, la: int, lb: int, d: int):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("diff")
    base = {
        "family": "transformer",
        "d_model": d,
        "n_heads": 8,
        "d_ff": 4 * d,
        "vocab_size": 1000,
        "mlp": "gelu",
        "norm": "layernorm",
    }
    a = api.load_spec(write_spec(tmp, {**base, "n_layers": la}, "a.yaml"))
    b = api.load_spec(write_spec(tmp, {**base, "n_layers": lb}, "b.yaml"))
    result = diff(a, b)
    value = result.formula.xreplace(
        {s: result.symbols[s.name] for s in result.formula.free_symbols}
    )
    assert value == api.count(a).total_params - api.count(b).total_params
    assert "n_layers" not in result.symbols  # differs between the two: substituted


def test_different_families_have_no_formula_but_still_a_table(tmp_path) -> None:  # type: ignore[no-untyped-def]
    vit = {
        "family": "vit",
        "image_size": 32,
        "patch_size": 8,
        "in_channels": 3,
        "n_layers": 2,
        "d_model": 64,
        "n_heads": 4,
        "d_ff": 128,
        "n_classes": 10,
    }
    b = api.load_spec(write_spec(tmp_path, vit, "vit.yaml"))
    a = api.load_spec(EXAMPLES / "gpt2-small.yaml")
    result = diff(a, b)
    assert result.formula is None and "different families" in result.formula_note
    assert to_json(result)["formula"] is None
    assert "different families" in to_text(result)


def test_json_and_text_show_differences_and_ratios() -> None:
    a = api.load_spec(EXAMPLES / "llama-2-7b.yaml")
    b = api.load_spec(EXAMPLES / "llama-3-8b.yaml")
    data = to_json(diff(a, b))
    assert data["total"]["difference"] == data["a"]["total_params"] - data["b"]["total_params"]
    assert (
        abs(data["total"]["ratio"] - data["a"]["total_params"] / data["b"]["total_params"]) < 1e-6
    )
    text = to_text(diff(a, b))
    assert "A − B" in text and "A / B" in text
