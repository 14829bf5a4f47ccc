"""The transformer family: exact against transformers, formulas that reproduce the count."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sympy
from archcalc.plugins import transformer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import archcalc
from archcalc.errors import SpecError
from tests.helpers import DATA, EXAMPLES, reference, write_spec

#: Each spec file, written with the pinned keys only, and the reference case it must equal.
SPEC_CASES = {
    **{p: p.stem for p in sorted((DATA / "specs").glob("*.yaml"))},
    EXAMPLES / "gpt2-small.yaml": "gpt2-small",
    EXAMPLES / "gpt3-175b.yaml": "gpt3-175b",
    EXAMPLES / "llama-2-7b.yaml": "llama-2-7b",
    EXAMPLES / "llama-3-8b.yaml": "llama-3-8b",
    EXAMPLES / "mistral-7b.yaml": "mistral-7b",
    EXAMPLES / "mixtral-8x7b.yaml": "mixtral-8x7b",
    EXAMPLES / "dense-1t.yaml": "dense-1t",
}


@pytest.mark.parametrize("path", list(SPEC_CASES), ids=lambda p: p.stem)
def test_count_equals_transformers_on_the_meta_device(path: Path) -> None:
    case = reference()[SPEC_CASES[path]]
    result = archcalc.count(archcalc.load_spec(path))
    assert result.total_params == case["total_params"]
    assert result.active_params == (case.get("active_params") or case["total_params"])


def test_every_reference_case_has_a_spec() -> None:
    assert set(reference()) == set(SPEC_CASES.values())


TENSOR_SOURCES = [*SPEC_CASES, *sorted((DATA / "hf").glob("*.json"))]


@pytest.mark.parametrize("path", TENSOR_SOURCES, ids=lambda p: p.name)
def test_tensors_sum_to_the_count(path: Path) -> None:
    spec = archcalc.load_spec(path)
    tensors = list(transformer.tensors(spec.exact))
    assert sum(t.numel for t in tensors) == archcalc.count(spec).total_params
    assert len({t.name for t in tensors}) == len(tensors)


LAYER = re.compile(r"(?:^|\.)(?:layers|layer|h|block|blocks)\.(\d+)\.")
#: Stack-level tensors that transformers keeps inside its first block (RWKV's embedding
#: norm, pre_ln): archcalc counts them with the stack, so they are not layer 0's.
STACK_LEVEL = re.compile(r"\.blocks\.0\.pre_ln\.")


def _layer_numel(shapes: dict[str, list[int]], layer: int) -> int:
    return sum(
        math.prod(shape)
        for name, shape in shapes.items()
        if (m := LAYER.search(name)) and int(m[1]) == layer and not STACK_LEVEL.search(name)
    )


@pytest.mark.parametrize("path", list(SPEC_CASES), ids=lambda p: p.stem)
def test_each_block_holds_what_the_same_block_of_transformers_holds(path: Path) -> None:
    """Layer 0 (and the extra layers the reference lists) block by block, not just in total."""
    case = reference()[SPEC_CASES[path]]
    ours = {t.name: list(t.shape) for t in transformer.tensors(archcalc.load_spec(path).exact)}
    assert _layer_numel(ours, 0) == _layer_numel(case["shapes"], 0)
    if "layer_shapes" in case:
        (layer,) = {int(m[1]) for n in case["layer_shapes"] if (m := LAYER.search(n))}
        assert _layer_numel(ours, layer) == _layer_numel(case["layer_shapes"], layer)


def _substituted(formula: archcalc.Formula, expression: Any) -> Any:
    return formula.substitute(expression)


@pytest.mark.parametrize("path", list(SPEC_CASES), ids=lambda p: p.stem)
@pytest.mark.parametrize("keep", [None, ["n_layers", "d_model"]], ids=["all", "keep"])
def test_formula_with_symbols_substituted_equals_the_count(path: Path, keep: Any) -> None:
    spec = archcalc.load_spec(path)
    formula = archcalc.formula(spec, keep=keep)
    count = archcalc.count(spec)
    assert _substituted(formula, formula.total) == count.total_params
    assert _substituted(formula, formula.active) == count.active_params
    if keep is not None:
        names = {s.name for s in formula.total.free_symbols}
        assert names <= {"n_layers", "d_model", "width"}
        # Every layer is a symbol's, unless every segment of the stack gives its own layers.
        fixed = all("layers" in s for s in spec.doc.data.get("stack", [{}]))
        assert ("n_layers" in names) != fixed
    parsed = sympy.parse_expr(str(formula.total))  # the JSON string is sympy-parsable
    values = {sympy.Symbol(k): sympy.Rational(str(v)) for k, v in formula.values.items()}
    assert parsed.subs(values) == count.total_params


def test_gpt2_formula_is_the_textbook_closed_form() -> None:
    """12·L·d² + 13·L·d + V·d + P·d + 2·d (Narayanan et al. plus the final LayerNorm)."""
    formula = archcalc.formula(archcalc.load_spec(EXAMPLES / "gpt2-small.yaml"))
    L, d, V, P = sympy.symbols("n_layers d_model vocab_size max_seq_len", positive=True)
    expected = 12 * L * d**2 + 13 * L * d + V * d + P * d + 2 * d
    assert (
        sympy.simplify(
            formula.total.subs(
                {s: sympy.Symbol(s.name, positive=True) for s in formula.total.free_symbols}
            )
            - expected
        )
        == 0
    )


# ---------------------------------------------------------------------------------------
# Laws over random architectures


def _spec_strategy() -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def build(draw: Any) -> dict[str, Any]:
        n_kv = draw(st.integers(1, 4))
        group = draw(st.integers(1, 4))
        n_heads = n_kv * group
        d_head = draw(st.integers(1, 16))
        spec: dict[str, Any] = {
            "family": "transformer",
            "architecture": draw(st.sampled_from(["decoder", "encoder", "encoder-decoder"])),
            "n_layers": draw(st.integers(1, 6)),
            "d_model": n_heads * d_head,
            "n_heads": n_heads,
            "n_kv_heads": n_kv,
            "d_ff": draw(st.integers(1, 64)),
            "vocab_size": draw(st.integers(1, 500)),
            "positional": draw(st.sampled_from(["learned", "rope", "alibi", "sinusoidal", "none"])),
            "mlp": draw(st.sampled_from(["gelu", "relu", "silu", "swiglu", "geglu"])),
            "norm": draw(st.sampled_from(["layernorm", "rmsnorm"])),
            "bias": draw(st.booleans()),
            "qkv_bias": draw(st.booleans()),
            "tie_embeddings": draw(st.booleans()),
        }
        if draw(st.booleans()):
            spec["d_head"] = draw(st.integers(1, 16))
        extras = st.fixed_dictionaries(
            {},
            optional={
                "input_norm": st.booleans(),
                "global_attention": st.booleans(),
                "position_projections": st.sampled_from(["none", "key", "query", "both"]),
                "value_conv": st.integers(0, 9),
                "relative_embeddings": st.integers(0, 64),
                "relative_embeddings_norm": st.booleans(),
                "k_bias": st.booleans(),
                "mlp_in_bias": st.booleans(),
                "task_type_vocab_size": st.integers(0, 5),
            },
        )
        spec.update(draw(extras))
        if draw(st.booleans()):  # OLMo 2's norms after each sub-layer
            spec["norm_position"] = "post"
            spec.pop("input_norm", None)
        if draw(st.booleans()):  # FNet: attention's norms, no attention; MiniMax's lightning
            spec["mixer"] = draw(st.sampled_from(["fourier", "lightning", "rwkv"]))
            for key in ("global_attention", "position_projections", "value_conv"):
                spec.pop(key, None)
        if spec["positional"] == "learned":
            spec["max_seq_len"] = draw(st.integers(1, 64))
        if spec["architecture"] == "encoder":
            spec.pop("tie_embeddings")
        if spec["architecture"] == "encoder-decoder" and draw(st.booleans()):
            spec["n_decoder_layers"] = draw(st.integers(1, 6))
        if spec["architecture"] == "encoder-decoder" and draw(st.booleans()):
            spec["decoder_vocab_size"] = draw(st.integers(1, 500))
        if spec["positional"] == "sinusoidal" and draw(st.booleans()):
            spec["sinusoidal_table"] = True
            spec["max_seq_len"] = draw(st.integers(1, 64))
            if draw(st.booleans()):
                spec["sinusoidal_table_width"] = draw(st.integers(1, 16))
        table = spec["positional"] == "learned" or spec.get("sinusoidal_table")
        if spec["architecture"] == "encoder-decoder" and table and draw(st.booleans()):
            spec["decoder_max_seq_len"] = draw(st.integers(1, 64))
        if draw(st.booleans()):
            n_experts = draw(st.integers(1, 8))
            spec["moe"] = {
                "n_experts": n_experts,
                "top_k": draw(st.integers(1, n_experts)),
                "d_ff_expert": draw(st.integers(1, 32)),
                "n_shared_experts": draw(st.integers(0, 2)),
            }
        if "moe" not in spec and not spec["bias"] and draw(st.booleans()):
            spec["mlp"] = "rwkv"  # RWKV's channel mixing: bias-free
            spec.pop("mlp_in_bias", None)
        return spec

    return build()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(spec=_spec_strategy())
def test_formula_law_holds_for_any_architecture(tmp_path: Path, spec: dict[str, Any]) -> None:
    loaded = archcalc.load_spec(write_spec(tmp_path, spec))
    count = archcalc.count(loaded)
    formula = archcalc.formula(loaded)
    assert formula.substitute(formula.total) == count.total_params
    assert formula.substitute(formula.active) == count.active_params
    assert 0 < count.active_params <= count.total_params


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(spec=_spec_strategy())
def test_one_more_layer_adds_exactly_one_block(tmp_path: Path, spec: dict[str, Any]) -> None:
    spec = {**spec, "architecture": "decoder"}
    spec.pop("n_decoder_layers", None)
    spec.setdefault("tie_embeddings", False)
    base = archcalc.count(archcalc.load_spec(write_spec(tmp_path, spec)))
    deeper = archcalc.count(
        archcalc.load_spec(write_spec(tmp_path, {**spec, "n_layers": spec["n_layers"] + 1}))
    )
    per_layer = sum(int(p.per_layer) for p in base.breakdown if p.per_layer is not None)
    assert deeper.total_params - base.total_params == per_layer


def test_tying_removes_exactly_the_lm_head(tmp_path: Path) -> None:
    spec = {
        "family": "transformer",
        "n_layers": 2,
        "d_model": 64,
        "n_heads": 4,
        "d_ff": 128,
        "vocab_size": 1000,
    }
    untied = archcalc.count(archcalc.load_spec(write_spec(tmp_path, spec)))
    tied = archcalc.count(
        archcalc.load_spec(write_spec(tmp_path, {**spec, "tie_embeddings": True}))
    )
    assert untied.total_params - tied.total_params == 1000 * 64


def test_mixture_of_experts_active_counts_top_k_experts(tmp_path: Path) -> None:
    spec = {
        "family": "transformer",
        "n_layers": 3,
        "d_model": 64,
        "n_heads": 4,
        "d_ff": 96,
        "vocab_size": 100,
        "moe": {"n_experts": 8, "top_k": 2, "n_shared_experts": 1},
    }
    result = archcalc.count(archcalc.load_spec(write_spec(tmp_path, spec)))
    parts = {p.name: p for p in result.breakdown}
    expert = 3 * 64 * 96  # one SwiGLU expert without biases
    assert int(parts["experts"].params) == 3 * 8 * expert
    assert int(parts["experts"].active) == 3 * 2 * expert
    assert int(parts["router"].params) == 3 * 64 * 8
    assert int(parts["shared experts"].params) == int(parts["shared experts"].active) == 3 * expert
    assert result.total_params - result.active_params == 3 * 6 * expert


# ---------------------------------------------------------------------------------------
# Semantic checks, located


BASE = {
    "family": "transformer",
    "n_layers": 2,
    "d_model": 64,
    "n_heads": 4,
    "d_ff": 128,
    "vocab_size": 100,
}


def _errors(tmp_path: Path, spec: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecError) as info:
        archcalc.load_spec(write_spec(tmp_path, spec))
    return [d.format() for d in info.value.diagnostics if d.severity == "error"]


def test_kv_heads_must_divide_heads(tmp_path: Path) -> None:
    (line,) = _errors(tmp_path, {**BASE, "n_kv_heads": 3})
    assert line.endswith(
        "error: n_kv_heads (3) must divide n_heads (4): each key/value head "
        "serves a whole group of query heads [T501]"
    )
    assert ":7:13:" in line  # n_kv_heads is the 7th line of the written spec


def test_heads_must_divide_width_unless_d_head_is_given(tmp_path: Path) -> None:
    (line,) = _errors(tmp_path, {**BASE, "n_heads": 3})
    assert "n_heads must divide d_model, or give d_head explicitly" in line
    assert "64/3" in line
    assert ":4:10:" in line  # pointed at n_heads, the field the default is computed from
    assert archcalc.load_spec(write_spec(tmp_path, {**BASE, "n_heads": 3, "d_head": 16}))


def test_top_k_cannot_exceed_experts(tmp_path: Path) -> None:
    (line,) = _errors(tmp_path, {**BASE, "moe": {"n_experts": 4, "top_k": 5}})
    assert "top_k (5) cannot exceed n_experts (4)" in line


def test_learned_positions_need_max_seq_len(tmp_path: Path) -> None:
    (line,) = _errors(tmp_path, {**BASE, "positional": "learned"})
    assert "positional: learned needs max_seq_len" in line


def test_irrelevant_keys_are_warnings_not_errors(tmp_path: Path) -> None:
    spec = archcalc.load_spec(write_spec(tmp_path, {**BASE, "max_seq_len": 2048}))
    (warning,) = spec.warnings
    assert warning.severity == "warning" and "max_seq_len has no parameters" in warning.message


def test_all_semantic_problems_are_reported_together(tmp_path: Path) -> None:
    lines = _errors(
        tmp_path,
        {**BASE, "n_kv_heads": 3, "positional": "learned", "moe": {"n_experts": 2, "top_k": 3}},
    )
    assert len(lines) == 3


def test_counting_does_not_import_the_tensors_module() -> None:
    """Block parts are described without archcalc.tensors (only ``tensors`` needs it)."""
    code = (
        "import sys, archcalc; "
        "archcalc.count(archcalc.load_spec(sys.argv[1])); "
        "print('archcalc.tensors' in sys.modules)"
    )
    path = str(EXAMPLES / "mixtral-8x7b.yaml")
    out = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr
