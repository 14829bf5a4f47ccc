"""Heterogeneous stacks: kinds of block, segments and patterns, multiplied and never unrolled.

The counts of the heterogeneous reference models (Llama 4 interleaving, Qwen2-MoE
mlp_only_layers and decoder_sparse_step, DeepSeek dense-then-MoE, gpt-oss, Gemma 3,
cross-attention decoders) are pinned in test_transformer.py with every other spec of
tests/data/specs; here are the laws and the located errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from archcalc.plugins import transformer, transformer_stack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import archcalc
from archcalc import sizes
from archcalc.errors import SpecError, UsageError
from tests.helpers import ROOT, write_spec

BASE: dict[str, Any] = {
    "family": "transformer",
    "n_layers": 6,
    "d_model": 64,
    "n_heads": 4,
    "d_ff": 128,
    "vocab_size": 100,
}
MOE = {"n_experts": 4, "top_k": 2, "d_ff_expert": 32, "n_shared_experts": 1}


def _load(tmp_path: Path, spec: dict[str, Any], *overrides: str) -> archcalc.Spec:
    return archcalc.load_spec(write_spec(tmp_path, spec), list(overrides))


def _total(tmp_path: Path, spec: dict[str, Any], *overrides: str) -> int:
    return archcalc.count(_load(tmp_path, spec, *overrides)).total_params


def _errors(tmp_path: Path, spec: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecError) as info:
        _load(tmp_path, spec)
    return [d.format() for d in info.value.diagnostics if d.severity == "error"]


# ---------------------------------------------------------------------------------------
# What a kind of block means: the top-level spec with some keys replaced


def test_a_flat_spec_and_its_one_segment_stack_count_the_same(tmp_path: Path) -> None:
    flat = _total(tmp_path, {**BASE, "moe": MOE})
    stacked = _total(tmp_path, {**BASE, "moe": MOE, "stack": [{"block": "default"}]})
    assert flat == stacked


def test_defaults_follow_the_keys_a_kind_replaces(tmp_path: Path) -> None:
    """d_head defaults to d_model / n_heads: a kind with 8 heads has heads of 8, not 16."""
    spec = {
        **BASE,
        "n_layers": 2,
        "blocks": {"many": {"n_heads": 8, "bias": True}},
        "stack": [{"block": "many", "layers": 1}, {"block": "default"}],
    }
    names = {t.name: t.shape for t in transformer.tensors(_load(tmp_path, spec).exact)}
    assert names["layers.0.self_attn.q_proj.weight"] == (64, 64)  # 8 heads of 8
    assert names["layers.0.self_attn.k_proj.weight"] == (64, 64)  # n_kv_heads follows too
    assert "layers.0.self_attn.q_proj.bias" in names  # qkv_bias follows the kind's bias
    assert "layers.0.mlp.up_proj.bias" in names
    assert "layers.1.self_attn.q_proj.bias" not in names


def test_a_kind_merges_into_the_spec_moe_or_removes_it(tmp_path: Path) -> None:
    spec = {
        **BASE,
        "moe": MOE,
        "blocks": {"dense": {"moe": False}, "big": {"moe": {"n_experts": 8}}},
        "stack": [{"pattern": ["dense", "big", "default"]}],
    }
    shapes = {t.name: t.shape for t in transformer.tensors(_load(tmp_path, spec).exact)}
    assert shapes["layers.0.mlp.up_proj.weight"] == (128, 64)  # dense: d_ff
    assert shapes["layers.1.mlp.experts.up_proj.weight"] == (
        8,
        32,
        64,
    )  # 8 experts, top-level width
    assert shapes["layers.2.mlp.experts.up_proj.weight"] == (4, 32, 64)
    assert "layers.3.mlp.up_proj.weight" in shapes  # the pattern starts again


def test_set_reaches_every_kind_that_does_not_replace_the_key(tmp_path: Path) -> None:
    spec = {
        **BASE,
        "n_layers": 2,
        "blocks": {"narrow": {"d_ff": 16}},
        "stack": [{"block": "narrow", "layers": 1}, {"block": "default"}],
    }
    base = _total(tmp_path, spec)
    wider = _total(tmp_path, spec, "d_ff=129")
    assert wider - base == 3 * 64  # only the default block's MLP grew, by one unit


def test_inline_kinds_and_their_errors_are_located(tmp_path: Path) -> None:
    spec = {**BASE, "stack": [{"block": {"n_kv_heads": 3}, "layers": 2}, {"block": "default"}]}
    (line,) = _errors(tmp_path, spec)
    assert "n_kv_heads (3) must divide n_heads (4)" in line
    assert ":9:17:" in line  # at the inline block's n_kv_heads value


def test_first_dense_layers_is_a_stack_of_dense_then_moe_blocks(tmp_path: Path) -> None:
    flat = {**BASE, "moe": {**MOE, "first_dense_layers": 2}}
    stacked = {
        **BASE,
        "moe": MOE,
        "blocks": {"dense": {"moe": False}},
        "stack": [{"block": "dense", "layers": 2}, {"block": "default"}],
    }
    a, b = (archcalc.count(_load(tmp_path, s)) for s in (flat, stacked))
    assert (a.total_params, a.active_params) == (b.total_params, b.active_params)


# ---------------------------------------------------------------------------------------
# Laws over random stacks


@st.composite
def _stacks(draw: Any) -> dict[str, Any]:
    """A random valid spec with 1-3 kinds of block laid out in 1-4 segments."""
    spec: dict[str, Any] = {
        "family": "transformer",
        "n_layers": 1,
        "d_model": 32,
        "n_heads": draw(st.sampled_from([2, 4, 8])),
        "n_kv_heads": draw(st.sampled_from([1, 2])),
        "d_head": draw(st.integers(1, 8)),
        "d_ff": draw(st.integers(1, 48)),
        "vocab_size": draw(st.integers(1, 64)),
        "mlp": draw(st.sampled_from(["gelu", "swiglu"])),
        "norm": draw(st.sampled_from(["layernorm", "rmsnorm"])),
        "tie_embeddings": draw(st.booleans()),
    }
    if draw(st.booleans()):
        spec["moe"] = {"n_experts": draw(st.integers(2, 6)), "top_k": 1, "d_ff_expert": 8}
    if draw(st.booleans()):
        spec["mamba"] = {"d_state": draw(st.integers(1, 8)), "head_dim": 8}
    if draw(st.booleans()):
        spec["deltanet"] = {"key_heads": draw(st.integers(1, 4)), "key_head_dim": 4}
        spec["deltanet"]["fused_projections"] = draw(st.booleans())
    if draw(st.booleans()):
        spec["short_conv"] = {"kernel_size": draw(st.integers(1, 5)), "biases": draw(st.booleans())}
    if draw(st.booleans()):
        spec["kda"] = {"heads": draw(st.integers(1, 4)), "head_width": draw(st.integers(1, 8))}
    if draw(st.booleans()):
        blocks = draw(st.integers(1, 4))
        spec["rglru"] = {"lru_width": blocks * draw(st.integers(1, 6)), "gate_blocks": blocks}
    overrides = st.fixed_dictionaries(
        {},
        optional={
            "n_heads": st.sampled_from([2, 4, 8]),
            "n_kv_heads": st.sampled_from([1, 2]),
            "d_ff": st.integers(1, 48) | st.just("2 * d_model"),
            "mlp": st.sampled_from(["relu", "geglu"]),
            "bias": st.booleans(),
            "qk_norm": st.booleans(),
            "post_norms": st.booleans(),
            "parallel_block": st.booleans(),
            "attention_sinks": st.booleans(),
            "attention_gate": st.sampled_from(["none", "head", "element"]),
            "qk_norm_scope": st.sampled_from(["head", "projection"]),
            "cross_attention": st.booleans(),
            "input_norm": st.booleans(),
            "global_attention": st.booleans(),
            "position_projections": st.sampled_from(["none", "key", "query", "both"]),
            "value_conv": st.integers(0, 5),
            "norm_position": st.sampled_from(["pre", "post"]),
            "k_bias": st.booleans(),
            "mlp_in_bias": st.booleans(),
            "position_key_bias": st.booleans(),
            "moe": st.just(False)
            | st.fixed_dictionaries(
                {
                    "n_experts": st.integers(2, 5),
                    "top_k": st.just(2),
                    "d_ff_expert": st.integers(1, 16),
                }
            ),
        },
    )
    names = [f"k{i}" for i in range(draw(st.integers(1, 3)))]
    spec["blocks"] = {name: draw(overrides) for name in names}
    mixers = ["attention", "none", "fourier", "lightning", "rwkv"]
    mixers += ["mamba", "mamba2", "attention+mamba2"] if "mamba" in spec else []
    mixers += [name for name in ("short_conv", "rglru", "kda") if name in spec]
    mixers += ["gated_deltanet"] if "deltanet" in spec else []
    for kind in spec["blocks"].values():
        if kind.get("position_projections") not in ("key", "both"):
            kind.pop("position_key_bias", None)  # a warning without a key projection
        if kind.get("norm_position") == "post":  # post-placed norms are only the two
            for key in ("post_norms", "parallel_block", "input_norm"):
                kind.pop(key, None)
        if draw(st.booleans()):
            kind["mixer"] = draw(st.sampled_from(mixers))
            if "attention" not in kind["mixer"]:  # keys that shape attention need one
                for key in ("global_attention", "position_projections", "value_conv"):
                    kind.pop(key, None)
    kinds = st.sampled_from(["default", *names])
    segments = []
    for _ in range(draw(st.integers(1, 4))):
        segment: dict[str, Any] = (
            {"pattern": draw(st.lists(kinds, min_size=1, max_size=4))}
            if draw(st.booleans())
            else {"block": draw(kinds)}
        )
        segment["layers"] = draw(st.integers(1, 9))
        segments.append(segment)
    rest = draw(st.none() | st.integers(0, len(segments) - 1))
    spec["n_layers"] = sum(s["layers"] for s in segments) + draw(st.integers(1, 5))
    if rest is None:
        spec["n_layers"] = sum(s["layers"] for s in segments)
    else:
        segments[rest].pop("layers")
    spec["stack"] = segments
    used = {n for s in segments for n in s.get("pattern", [s.get("block")])}
    spec["blocks"] = {k: v for k, v in spec["blocks"].items() if k in used} or None
    if spec["blocks"] is None:
        del spec["blocks"]
    return spec


def _unrolled(spec: dict[str, Any]) -> dict[str, Any]:
    """The same stack with every block its own one-layer segment (written independently)."""
    fixed = sum(s.get("layers", 0) for s in spec["stack"])
    order: list[str] = []
    for segment in spec["stack"]:
        pattern = segment.get("pattern", [segment.get("block")])
        layers = segment.get("layers", spec["n_layers"] - fixed)
        order += [pattern[i % len(pattern)] for i in range(layers)]
    return {**spec, "stack": [{"block": name, "layers": 1} for name in order]}


SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(spec=_stacks())
def test_formula_law_holds_for_random_stacks(tmp_path: Path, spec: dict[str, Any]) -> None:
    loaded = _load(tmp_path, spec)
    count = archcalc.count(loaded)
    for keep in (None, ["n_layers", "d_model"]):
        formula = archcalc.formula(loaded, keep=keep)
        assert formula.substitute(formula.total) == count.total_params
        assert formula.substitute(formula.active) == count.active_params


@SETTINGS
@given(spec=_stacks())
def test_a_multiplied_stack_equals_its_unrolled_form(tmp_path: Path, spec: dict[str, Any]) -> None:
    """Count, active count, FLOPs, KV cache and tensors: the same whichever way it is written."""
    stacked = _load(tmp_path, spec)
    unrolled = archcalc.load_spec(write_spec(tmp_path, _unrolled(spec), "unrolled.yaml"))
    a, b = archcalc.count(stacked), archcalc.count(unrolled)
    assert (a.total_params, a.active_params) == (b.total_params, b.active_params)
    ca, cb = (sizes.sizes(s, seq_len=7).compute for s in (stacked, unrolled))
    assert ca is not None and cb is not None
    assert ca.flops_per_sequence == cb.flops_per_sequence
    assert ca.flops_per_sequence_causal == cb.flops_per_sequence_causal
    assert ca.kv_elements_per_token == cb.kv_elements_per_token
    tensors = list(transformer.tensors(stacked.exact))
    assert sum(t.numel for t in tensors) == a.total_params
    assert [t.name for t in tensors] == [t.name for t in transformer.tensors(unrolled.exact)]


def test_count_and_formula_are_flat_in_depth(tmp_path: Path) -> None:
    """200,000 layers give the same breakdown and the same formula as 8: nothing unrolled."""
    spec = {
        **BASE,
        "moe": MOE,
        "blocks": {"dense": {"moe": False}, "wide": {"d_ff": 512}},
        "stack": [{"block": "dense", "layers": 3}, {"pattern": ["dense", "wide", "default"]}],
    }
    small = _load(tmp_path, {**spec, "n_layers": 8})
    deep = archcalc.load_spec(write_spec(tmp_path, {**spec, "n_layers": 200_000}, "deep.yaml"))
    rows = [
        [(p.name, p.layers is not None) for p in archcalc.count(s).breakdown] for s in (small, deep)
    ]
    assert rows[0] == rows[1]
    f8, f200k = archcalc.formula(small), archcalc.formula(deep)
    assert f8.total == f200k.total and f8.values["n_layers"] == 8
    assert f200k.substitute(f200k.total) == archcalc.count(deep).total_params
    parts = {p.name: p for p in archcalc.count(deep).breakdown}
    # 199,997 patterned blocks: dense and wide get 66,666 each, default 66,665; wide keeps
    # the spec's experts (its d_ff has no effect on them).
    assert parts["experts"].layers == 66_666 + 66_665 and parts["mlp"].layers == 3 + 66_666


# ---------------------------------------------------------------------------------------
# Located errors


def test_unknown_kinds_and_keys_are_located(tmp_path: Path) -> None:
    spec = {
        **BASE,
        "blocks": {"dense": {"d_model": 32, "d_fff": 3}},
        "stack": [{"pattern": ["dense", "dnese"]}],
    }
    lines = _errors(tmp_path, spec)
    assert any(
        ":9:5:" in line and "'d_model' in blocks.dense: d_model is the model's" in line
        for line in lines
    )
    assert any(
        "unknown key 'd_fff' in blocks.dense; did you mean 'd_ff'?" in line for line in lines
    )
    assert any(
        ":14:5:" in line and "unknown kind of block 'dnese'" in line and "'dense'?" in line
        for line in lines
    )


@pytest.mark.parametrize(
    ("stack", "message"),
    [
        (
            [{"block": "default", "layers": 2}, {"block": "default", "layers": 3}],
            "the segments of stack hold 5 layers but n_layers is 6",
        ),
        (
            [{"block": "default"}, {"pattern": ["default"]}],
            "stack[1] has no 'layers', and neither has stack[0]",
        ),
        (
            [{"block": "default", "layers": 7}, {"block": "default"}],
            "leaving -1 for stack[1] (n_layers is 6)",
        ),
        ([{"block": "default", "pattern": ["default"]}], "needs exactly one of 'block'"),
    ],
)
def test_segments_must_add_up(tmp_path: Path, stack: list[Any], message: str) -> None:
    (line,) = _errors(tmp_path, {**BASE, "stack": stack})
    assert message in line


def test_every_problem_of_a_stack_is_reported_together(tmp_path: Path) -> None:
    spec = {
        **BASE,
        "blocks": {"odd": {"n_heads": 3}, "kv": {"n_kv_heads": 3}},
        "stack": [{"block": "odd", "layers": 7}, {"block": "kv"}],
    }
    lines = _errors(tmp_path, spec)
    assert len(lines) == 3
    assert "n_heads must divide d_model" in lines[0] and ":9:14:" in lines[0]  # odd.n_heads
    assert "n_kv_heads (3) must divide n_heads (4)" in lines[1]
    assert "leaving -1" in lines[2]


def test_reserved_and_conflicting_keys(tmp_path: Path) -> None:
    default = _errors(
        tmp_path, {**BASE, "blocks": {"default": {}}, "stack": [{"block": "default"}]}
    )
    assert any("'default' is the block of the top-level keys" in line for line in default)
    both = _errors(
        tmp_path,
        {**BASE, "moe": {**MOE, "first_dense_layers": 1}, "stack": [{"block": "default"}]},
    )
    assert any("first_dense_layers cannot be combined with stack" in line for line in both)
    decoder = _errors(tmp_path, {**BASE, "decoder_stack": [{"block": "default"}]})
    assert any("decoder_stack is for encoder-decoder" in line for line in decoder)
    moe = _errors(
        tmp_path, {**BASE, "blocks": {"m": {"moe": {"top_k": 1}}}, "stack": [{"block": "m"}]}
    )
    assert any("moe of block 'm' needs n_experts" in line for line in moe)


def test_an_unused_kind_is_a_warning(tmp_path: Path) -> None:
    spec = _load(
        tmp_path, {**BASE, "blocks": {"spare": {"d_ff": 3}}, "stack": [{"block": "default"}]}
    )
    (warning,) = spec.warnings
    assert "kind of block 'spare' is not used" in warning.message


def test_encoder_decoder_stacks_are_laid_out_separately(tmp_path: Path) -> None:
    spec = {
        **BASE,
        "architecture": "encoder-decoder",
        "n_decoder_layers": 3,
        "blocks": {"narrow": {"d_ff": 16}},
        "stack": [{"pattern": ["narrow", "default"]}],
        "decoder_stack": [{"block": "narrow", "layers": 1}, {"block": "default"}],
    }
    tensors = {t.name: t.shape for t in transformer.tensors(_load(tmp_path, spec).exact)}
    assert tensors["encoder.layers.0.mlp.up_proj.weight"] == (16, 64)
    assert tensors["encoder.layers.1.mlp.up_proj.weight"] == (128, 64)
    assert tensors["decoder.layers.0.mlp.up_proj.weight"] == (16, 64)
    assert "decoder.layers.0.cross_attn.q_proj.weight" in tensors
    assert "encoder.layers.5.cross_attn.q_proj.weight" not in tensors
    loaded = _load(tmp_path, spec)
    assert (
        sum(t.numel for t in transformer.tensors(loaded.exact))
        == archcalc.count(loaded).total_params
    )


def test_the_readme_worked_example_counts_what_the_readme_shows(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("name: moe-with-dense-layers")
    text = readme[start : readme.index("```", start)]
    path = tmp_path / "moe-with-dense-layers.yaml"
    path.write_text(text, encoding="utf-8")
    result = archcalc.count(archcalc.load_spec(path))
    assert f"total params:  {result.total_params:,}" in readme
    assert f"active params: {result.active_params:,}" in readme


def test_a_sinusoidal_table_needs_sinusoidal_positions_and_a_length(tmp_path: Path) -> None:
    (rope,) = _errors(tmp_path, {**BASE, "sinusoidal_table": True, "max_seq_len": 8})
    assert "sinusoidal_table needs positional: sinusoidal, not rope" in rope
    (rows,) = _errors(tmp_path, {**BASE, "positional": "sinusoidal", "sinusoidal_table": True})
    assert "sinusoidal_table needs max_seq_len" in rows
    table = {**BASE, "positional": "sinusoidal", "sinusoidal_table": True, "max_seq_len": 8}
    assert (
        _total(tmp_path, table) - _total(tmp_path, {**BASE, "positional": "sinusoidal"}) == 8 * 64
    )


def test_state_space_mixers_need_their_group_and_a_block_needs_something(tmp_path: Path) -> None:
    (mamba,) = _errors(tmp_path, {**BASE, "mixer": "mamba"})
    assert "mixer: mamba needs the mamba group" in mamba and "[T523]" in mamba
    (empty,) = _errors(tmp_path, {**BASE, "mixer": "none", "mlp": "none"})
    assert "neither a mixer nor an MLP" in empty
    (experts,) = _errors(tmp_path, {**BASE, "mlp": "none", "moe": MOE})
    assert "mlp: none with moe" in experts


def test_mamba2_heads_must_divide_the_inner_width_and_mamba1_has_none(tmp_path: Path) -> None:
    """d_inner 96 is no multiple of the default head_dim 64: Mamba-2 without ssm_heads is
    refused at its group, saying what to give; Mamba-1 never reads heads and counts."""
    group = {"d_state": 8, "d_inner": 96}
    (line,) = _errors(tmp_path, {**BASE, "mixer": "mamba2", "mamba": group})
    assert "does not divide it: give mamba.ssm_heads" in line and "[T523]" in line
    with_heads = {**BASE, "mixer": "mamba2", "mamba": {**group, "ssm_heads": 3}}
    with_width = {**BASE, "mixer": "mamba2", "mamba": {**group, "head_dim": 32}}
    assert _total(tmp_path, with_heads) == _total(tmp_path, with_width)
    assert _total(tmp_path, {**BASE, "mixer": "mamba", "mamba": group}) > 0


def test_a_stack_written_out_beyond_the_bound_is_refused_fast(tmp_path: Path) -> None:
    """Each named block is resolved, so their number is bounded (a 1 MiB file could hold 30k)."""
    layers = transformer_stack.MAX_ENTRIES + 1
    stack = [{"block": {"d_ff": i + 1}, "layers": 1} for i in range(layers)]
    (line,) = _errors(tmp_path, {**BASE, "n_layers": layers, "stack": stack})
    assert f"stack names {layers:,} blocks" in line and "[T520]" in line


def test_listing_tensors_is_bounded_while_counting_is_not(tmp_path: Path) -> None:
    deep = _load(tmp_path, {**BASE, "n_layers": transformer.MAX_LISTED_BLOCKS + 1})
    assert archcalc.count(deep).total_params > 0
    with pytest.raises(SpecError) as info:
        list(transformer.tensors(deep.exact))
    assert "listing tensors goes block by block" in str(info.value.diagnostics[-1].message)


def test_a_group_made_by_set_on_a_spec_without_it_is_a_usage_error(tmp_path: Path) -> None:
    # One field cannot switch a feature on (its required fields would be missing): the
    # command line is refused before the family sees half a group.
    with pytest.raises(UsageError, match="has no 'moe' section"):
        _load(tmp_path, BASE, "moe.n_experts=8")


def test_encoder_attention_extras_are_named_and_need_attention(tmp_path: Path) -> None:
    """Longformer's global q/k/v, DeBERTa's position projections, a value convolution."""
    spec = {
        **BASE,
        "global_attention": True,
        "position_projections": "key",
        "value_conv": 5,
        "relative_embeddings": 10,
        "relative_embeddings_norm": True,
        "norm": "layernorm",
        "blocks": {"first": {"input_norm": False}, "ssm": {"mixer": "fourier"}},
        "stack": [{"block": "first", "layers": 1}, {"block": "default"}],
        "n_layers": 2,
    }
    with pytest.raises(SpecError) as info:
        _load(tmp_path, {**spec, "stack": [{"block": "ssm", "layers": 1}, {"block": "default"}]})
    errors = [d.format() for d in info.value.diagnostics if d.severity == "error"]
    assert len(errors) == 3 and all("the block's mixer is fourier" in e for e in errors)
    spec["blocks"].pop("ssm")
    shapes = {t.name: t.shape for t in transformer.tensors(_load(tmp_path, spec).exact)}
    assert shapes["layers.0.self_attn.q_global_proj.weight"] == (64, 64)
    assert shapes["layers.1.self_attn.pos_key_proj.weight"] == (64, 64)
    assert "layers.0.self_attn.pos_query_proj.weight" not in shapes
    assert shapes["layers.0.self_attn.value_conv.weight"] == (4, 1, 5, 1)
    assert shapes["rel_embeddings.weight"] == (10, 64)
    assert shapes["rel_embeddings_norm.bias"] == (64,)
    assert "layers.0.input_layernorm.weight" not in shapes
    assert "layers.1.input_layernorm.weight" in shapes
    # Applied to few tokens or to the relative table: no per-token FLOPs from them.
    plain = {k: v for k, v in spec.items() if k not in ("global_attention", "value_conv")}
    plain["position_projections"] = "none"
    a, b = (sizes.sizes(_load(tmp_path, s), seq_len=7).compute for s in (spec, plain))
    assert a is not None and b is not None and a.flops_per_sequence == b.flops_per_sequence


def test_one_bad_value_in_a_block_hides_no_independent_problem(tmp_path: Path) -> None:
    """A misspelt mlp stops only the rules that read it: heads and experts still report."""
    lines = _errors(
        tmp_path, {**BASE, "n_kv_heads": 3, "mlp": "swiglo", "moe": {"n_experts": 2, "top_k": 4}}
    )
    assert len(lines) == 3
    assert any("[T501]" in line for line in lines) and any("top_k (4)" in line for line in lines)


def test_recurrent_and_convolution_mixers_need_their_groups(tmp_path: Path) -> None:
    for mixer, group in (("short_conv", "kernel_size"), ("rglru", "lru_width"), ("kda", "heads")):
        (line,) = _errors(tmp_path, {**BASE, "mixer": mixer})
        assert f"mixer: {mixer} needs the {mixer} group (at least {group})" in line
        assert "[T523]" in line
    (falcon,) = _errors(tmp_path, {**BASE, "mixer": "attention+mamba2"})
    assert "needs the mamba group" in falcon
    (blocks,) = _errors(tmp_path, {**BASE, "mixer": "rglru", "rglru": {"lru_width": 6}})
    assert "gate_blocks must divide lru_width" in blocks


def test_post_placed_norms_rename_and_refuse_what_they_cannot_mean(tmp_path: Path) -> None:
    post = {**BASE, "norm_position": "post"}
    names = [t.name for t in transformer.tensors(_load(tmp_path, post).exact)]
    assert "layers.0.mixer_output_norm.weight" in names
    assert "layers.0.mlp_output_norm.weight" in names
    assert not any("layernorm" in name for name in names)
    assert _total(tmp_path, post) == _total(tmp_path, BASE)
    lines = _errors(tmp_path, {**post, "post_norms": True, "input_norm": False})
    assert len(lines) == 2 and all("[T524]" in line for line in lines)


def test_a_decoder_vocabulary_of_its_own_shapes_its_table_head_and_flops(tmp_path: Path) -> None:
    spec = {**BASE, "architecture": "encoder-decoder", "decoder_vocab_size": 80}
    loaded = _load(tmp_path, spec)
    shapes = {t.name: t.shape for t in transformer.tensors(loaded.exact)}
    assert shapes["embed_tokens.weight"] == (100, 64)
    assert shapes["decoder.embed_tokens.weight"] == (80, 64)
    assert shapes["lm_head.weight"] == (80, 64)
    compute = sizes.sizes(loaded, seq_len=3).compute
    assert compute is not None and dict(compute.components)["lm head"] == 2 * 64 * 80 * 3
    decoder_only = archcalc.load_spec(write_spec(tmp_path, {**BASE, "decoder_vocab_size": 80}))
    (warning,) = decoder_only.warnings
    assert "decoder_vocab_size only applies to encoder-decoder" in warning.message


def test_rwkv_channel_mixing_is_dense_and_bias_free(tmp_path: Path) -> None:
    rwkv = {**BASE, "mixer": "rwkv", "mlp": "rwkv"}
    names = {t.name for t in transformer.tensors(_load(tmp_path, rwkv).exact)}
    assert {"layers.0.attention.time_decay", "layers.0.feed_forward.value.weight"} <= names
    lines = _errors(tmp_path, {**rwkv, "bias": True, "moe": MOE})
    assert len(lines) == 1 and "mlp: rwkv with moe" in lines[0]
    (bias,) = _errors(tmp_path, {**rwkv, "bias": True})
    assert "has no biases" in bias and "[T524]" in bias


def test_single_projection_biases_override_the_group_keys(tmp_path: Path) -> None:
    """DeBERTa: q and v biased, k not (and its position key projection not); gte: only
    down_proj of the MLP biased; ERNIE's task-type table."""
    spec = {
        **BASE,
        "bias": True,
        "k_bias": False,
        "mlp_in_bias": False,
        "position_projections": "both",
        "position_key_bias": False,
        "task_type_vocab_size": 3,
    }
    names = {t.name for t in transformer.tensors(_load(tmp_path, spec).exact)}
    assert {"layers.0.self_attn.q_proj.bias", "layers.0.self_attn.v_proj.bias"} <= names
    assert "layers.0.self_attn.k_proj.bias" not in names
    assert "layers.0.self_attn.pos_query_proj.bias" in names
    assert "layers.0.self_attn.pos_key_proj.bias" not in names
    assert "layers.0.mlp.down_proj.bias" in names and "layers.0.mlp.gate_proj.bias" not in names
    assert "task_type_embeddings.weight" in names
    lonely = archcalc.load_spec(write_spec(tmp_path, {**BASE, "position_key_bias": False}))
    assert "position_key_bias has no effect" in lonely.warnings[0].message
