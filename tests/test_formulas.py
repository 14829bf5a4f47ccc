"""Formulas: written once, rendered four ways, always reproducing the count."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import sympy

import archcalc
from archcalc import formulas
from archcalc.errors import UsageError
from tests.helpers import EXAMPLES, write_spec


@pytest.fixture(scope="module")
def llama() -> archcalc.Spec:
    return archcalc.load_spec(EXAMPLES / "llama-3-8b.yaml")


def test_literals_become_symbols_and_derived_fields_expand(llama: archcalc.Spec) -> None:
    formula = archcalc.formula(llama)
    names = {s.name for s in formula.total.free_symbols}
    # d_model is 'width' (a var) and d_ff an expression over it: both expand into 'width'.
    assert names == {"n_layers", "width", "n_heads", "n_kv_heads", "vocab_size"}
    assert formula.values["width"] == 4096


def test_keep_substitutes_everything_else(llama: archcalc.Spec) -> None:
    formula = archcalc.formula(llama, keep=["n_layers"])
    (symbol,) = formula.total.free_symbols
    assert symbol.name == "n_layers"
    per_layer, rest = sympy.Poly(formula.total, symbol).all_coeffs()
    count = archcalc.count(llama)
    assert per_layer * 32 + rest == count.total_params


def test_keeping_a_derived_field_keeps_it_whole(llama: archcalc.Spec) -> None:
    formula = archcalc.formula(llama, keep=["d_ff"])
    assert {s.name for s in formula.total.free_symbols} == {"d_ff"}
    assert formula.values == {"d_ff": 14336}


def test_keep_rejects_unknown_names(llama: archcalc.Spec) -> None:
    with pytest.raises(UsageError, match="did you mean 'n_layers'"):
        archcalc.formula(llama, keep=["n_layer"])


def test_json_form_has_the_pinned_fields(llama: archcalc.Spec) -> None:
    data = json.loads(formulas.render(archcalc.formula(llama), "json"))
    expression = sympy.parse_expr(data["formula"])
    values = {sympy.Symbol(k): sympy.Integer(v) for k, v in data["symbols"].items()}
    assert expression.subs(values) == data["total_params"] == 8_030_261_248


def test_exact_fractions_are_strings_in_json(tmp_path: Path) -> None:
    spec = {
        "family": "transformer",
        "vars": {"mult": 1.5},
        "n_layers": 2,
        "d_model": 64,
        "n_heads": 4,
        "d_ff": "ceil(mult * 100)",
        "vocab_size": 10,
    }
    formula = archcalc.formula(archcalc.load_spec(write_spec(tmp_path, spec)))
    assert formula.values["mult"] == Fraction(3, 2)
    assert formulas.to_json(formula)["symbols"]["mult"] == "3/2"


def test_python_form_is_exact_code(llama: archcalc.Spec) -> None:
    formula = archcalc.formula(llama)
    source = formulas.render(formula, "python")
    namespace: dict[str, Any] = {}
    exec(compile(source, "<generated>", "exec"), namespace)  # our own generated code
    assert namespace["total_params"](**formula.values) == 8_030_261_248


def test_latex_and_text_forms_name_every_symbol(llama: archcalc.Spec) -> None:
    formula = archcalc.formula(llama)
    latex = formulas.render(formula, "latex")
    assert "n_{\\mathrm{layers}}" in latex and "\\mathrm{vocab\\_size} = 128256" in latex
    text = formulas.render(formula, "text")
    assert "total_params = 8,030,261,248" in text
    assert "  width = 4096" in text


def test_moe_formula_has_an_active_part() -> None:
    formula = archcalc.formula(archcalc.load_spec(EXAMPLES / "mixtral-8x7b.yaml"))
    assert "top_k" in {s.name for s in formula.active.free_symbols}
    assert "top_k" not in {s.name for s in formula.total.free_symbols}
    assert formula.substitute(formula.active) == 12_879_925_248


def test_expansion_is_skipped_for_large_powers_of_sums() -> None:
    x, y = sympy.symbols("x y")
    big = (x + y) ** 40
    assert formulas._tidy(big) == big  # left factored: expanding could take forever
    assert formulas._tidy((x + y) ** 2) == x**2 + 2 * x * y + y**2


def test_symbols_are_plain_so_the_users_own_symbols_work() -> None:
    """sympy.Symbol("n_layers") is the formula's symbol: no assumptions to match."""
    formula = formulas.build(archcalc.load_spec(EXAMPLES / "llama-3-8b.yaml"))
    n_layers = sympy.Symbol("n_layers")
    assert formula.symbols["n_layers"] == n_layers
    per_layer = formula.total.diff(n_layers)
    assert per_layer != 0
    assert formula.substitute(per_layer) == 218_112_000  # one Llama 3 8B block
    assert set(formula.symbols) == set(formula.values)
    assert all(s.assumptions0 == sympy.Symbol("x").assumptions0 for s in formula.symbols.values())


def test_vars_and_fields_are_the_same_kind_of_symbol(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "family: transformer\nvars: {width: 512}\nn_layers: 2\nd_model: width\nn_heads: 8\n"
        "d_ff: 2048\nvocab_size: 1000\n",
        encoding="utf-8",
    )
    formula = formulas.build(archcalc.load_spec(spec))
    width, n_layers = formula.symbols["width"], formula.symbols["n_layers"]
    assert width == sympy.Symbol("width") and n_layers == sympy.Symbol("n_layers")
    assert width.assumptions0 == n_layers.assumptions0
