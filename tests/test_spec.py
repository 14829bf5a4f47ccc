"""Field resolution: expressions, vars, defaults, overrides, cycles and kind checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import archcalc
from archcalc.errors import SpecError, UsageError
from archcalc.spec import Override
from tests.helpers import write_spec

BASE: dict[str, Any] = {
    "family": "transformer",
    "n_layers": 2,
    "d_model": 64,
    "n_heads": 4,
    "d_ff": 128,
    "vocab_size": 100,
}


def _load(tmp_path: Path, spec: dict[str, Any], *overrides: str) -> archcalc.Spec:
    return archcalc.load_spec(write_spec(tmp_path, spec), overrides=list(overrides))


def _messages(tmp_path: Path, spec: dict[str, Any], *overrides: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        _load(tmp_path, spec, *overrides)
    return [d.format() for d in info.value.diagnostics]


def test_expressions_over_vars_and_fields_resolve_in_dependency_order(tmp_path: Path) -> None:
    # d_ff depends on d_model, which depends on a var, declared after both.
    spec = {
        **BASE,
        "d_ff": "multiple_of(ceil(8 * d_model / 3 * 1.3), 64)",
        "d_model": "width",
        "vars": {"width": "2 * base", "base": 32},
    }
    values = _load(tmp_path, spec).exact.values
    assert values.d_model == 64
    assert values.d_ff == 256  # ceil(8 * 64 / 3 * 13/10) = 222 -> next multiple of 64


def test_defaults_are_expressions_over_other_fields(tmp_path: Path) -> None:
    values = _load(tmp_path, BASE).exact.values
    assert values.n_kv_heads == 4 and values.d_head == 16
    assert values.qkv_bias is False  # copies bias


def test_bool_default_copies_the_named_field(tmp_path: Path) -> None:
    assert _load(tmp_path, {**BASE, "bias": True}).exact.values.qkv_bias is True
    assert _load(tmp_path, {**BASE, "bias": True, "qkv_bias": False}).exact.values.qkv_bias is False


def test_cycles_are_reported_with_their_path(tmp_path: Path) -> None:
    (line,) = _messages(tmp_path, {**BASE, "vars": {"a": "b + 1", "b": "a"}, "n_layers": "a"})
    assert "cycle between fields: a → b → a" in line


def test_a_size_that_is_a_fraction_shows_the_expression_and_its_value(tmp_path: Path) -> None:
    (line,) = _messages(tmp_path, {**BASE, "d_ff": "8 * d_model / 3"})
    assert "d_ff = '8 * d_model / 3' evaluates to 512/3 (≈ 170.667)" in line
    assert "round it with ceil(), floor() or multiple_of()" in line


def test_unknown_names_suggest_a_fix(tmp_path: Path) -> None:
    (line,) = _messages(tmp_path, {**BASE, "d_ff": "4 * d_modle"})
    assert "unknown name 'd_modle'" in line and "did you mean 'd_model'" in line


def test_a_var_may_not_shadow_a_field(tmp_path: Path) -> None:
    (line,) = _messages(tmp_path, {**BASE, "vars": {"d_model": 8}})
    assert "var 'd_model' has the name of a field" in line


def test_set_overrides_fields_and_vars(tmp_path: Path) -> None:
    spec = {**BASE, "vars": {"width": 64}, "d_model": "width"}
    values = _load(tmp_path, spec, "n_layers=10", "vars.width=128", "bias=true").exact.values
    assert (values.n_layers, values.d_model, values.bias) == (10, 128, True)
    assert _load(tmp_path, spec, "width=256").exact.values.d_model == 256


def test_set_accepts_expressions_and_is_checked_like_the_file(tmp_path: Path) -> None:
    assert _load(tmp_path, BASE, "d_ff=4*d_model").exact.values.d_ff == 256
    (line,) = _messages(tmp_path, BASE, "d_ff=d_model/3")
    assert "(from --set)" in line


@pytest.mark.parametrize(
    ("item", "fragment"),
    [
        ("n_layer=3", "did you mean 'n_layers'"),
        ("bias=maybe", "expected true or false"),
        ("mlp=swigl", "did you mean 'swiglu'"),
        ("n_layers", "--set expects KEY=EXPR"),
    ],
)
def test_bad_overrides_are_usage_errors(tmp_path: Path, item: str, fragment: str) -> None:
    with pytest.raises(UsageError, match=fragment):
        _load(tmp_path, BASE, item)


def test_override_parse_keeps_the_expression_text() -> None:
    assert Override.parse(" d_ff = 4 * d_model ") == Override("d_ff", "4 * d_model")


def test_field_values_are_bounded(tmp_path: Path) -> None:
    (line,) = _messages(tmp_path, {**BASE, "vocab_size": "10**19"})
    assert "larger than the limit" in line


def test_structural_and_value_errors_are_reported_together(tmp_path: Path) -> None:
    lines = _messages(tmp_path, {**BASE, "d_modle": 3, "d_ff": "d_model / 3", "mlp": "swigl"})
    assert len(lines) == 3
    assert any("unknown key 'd_modle'; did you mean 'd_model'?" in x for x in lines)
    assert any("did you mean 'swiglu'" in x for x in lines)
    assert any("evaluates to 64/3" in x for x in lines)
