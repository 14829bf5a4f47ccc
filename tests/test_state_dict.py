"""The renaming machinery of archcalc.state_dict: experts split, projections fused, weights
transposed, conditional rules; the element count never changes.

(The tables themselves are checked against real transformers checkpoints in
tests/cli/test_check_checkpoints.py.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archcalc import Tensor, api
from archcalc.check import spec_tensors
from archcalc.state_dict import (
    NAMINGS,
    Fuse,
    Naming,
    Rule,
    Split,
    UnnamedTensor,
    _cuts,
    state_dict,
)
from archcalc.tensors import total_numel
from tests.helpers import write_spec
from tests.plugins.test_transformer import _spec_strategy


def _names(tensors: list[Tensor], model_type: str) -> dict[str, tuple[int, ...]]:
    return {e.tensor.name: e.tensor.shape for e in state_dict(tensors, NAMINGS[model_type])}


def test_stacked_experts_are_saved_one_per_expert() -> None:
    stacked = [
        Tensor("layers.0.mlp.gate.weight", (3, 8)),
        Tensor("layers.0.mlp.experts.gate_proj.weight", (3, 16, 8)),
        Tensor("layers.0.mlp.experts.down_proj.weight", (3, 8, 16)),
    ]
    names = _names(stacked, "mixtral")
    assert names["model.layers.0.block_sparse_moe.gate.weight"] == (3, 8)
    assert names["model.layers.0.block_sparse_moe.experts.2.w1.weight"] == (16, 8)
    assert names["model.layers.0.block_sparse_moe.experts.0.w2.weight"] == (8, 16)
    assert len(names) == 7


def test_gpt2_fuses_qkv_and_transposes_conv1d_weights() -> None:
    block = [
        Tensor("layers.0.self_attn.q_proj.weight", (8, 8)),
        Tensor("layers.0.self_attn.q_proj.bias", (8,)),
        Tensor("layers.0.self_attn.k_proj.weight", (8, 8)),
        Tensor("layers.0.self_attn.k_proj.bias", (8,)),
        Tensor("layers.0.self_attn.v_proj.weight", (8, 8)),
        Tensor("layers.0.self_attn.v_proj.bias", (8,)),
        Tensor("layers.0.mlp.up_proj.weight", (32, 8)),
    ]
    names = _names(block, "gpt2")
    assert names == {
        "transformer.h.0.attn.c_attn.weight": (8, 24),
        "transformer.h.0.attn.c_attn.bias": (24,),
        "transformer.h.0.mlp.c_fc.weight": (8, 32),
    }


def test_t5_names_its_one_input_projection_wi_and_a_gated_pair_wi_0_wi_1() -> None:
    relu = [Tensor("encoder.layers.0.mlp.up_proj.weight", (16, 8))]
    gated = [Tensor("encoder.layers.0.mlp.gate_proj.weight", (16, 8)), *relu]
    assert set(_names(relu, "t5")) == {"encoder.block.0.layer.1.DenseReluDense.wi.weight"}
    assert set(_names(gated, "t5")) == {
        "encoder.block.0.layer.1.DenseReluDense.wi_0.weight",
        "encoder.block.0.layer.1.DenseReluDense.wi_1.weight",
    }


def test_a_tensor_without_a_rule_is_refused_not_guessed() -> None:
    with pytest.raises(
        UnnamedTensor, match=r"gpt2 gives tensor 'layers\.0\.self_attn\.q_norm\.weight'"
    ):
        state_dict([Tensor("layers.0.self_attn.q_norm.weight", (8,))], NAMINGS["gpt2"])


def test_an_incomplete_fuse_group_is_left_alone() -> None:
    naming = Naming("x", (Rule(r"(.*)", r"\1"),), fuse=(Fuse(("a", "b"), "ab"),))
    out = state_dict([Tensor("m.a.weight", (2, 3)), Tensor("n.b.weight", (4, 3))], naming)
    assert [e.tensor.name for e in out] == ["m.a.weight", "n.b.weight"]
    fused = state_dict([Tensor("m.a.weight", (2, 3)), Tensor("m.b.weight", (4, 3))], naming)
    assert [(e.tensor.name, e.tensor.shape, e.canonical) for e in fused] == [
        ("m.ab.weight", (6, 3), ("m.a.weight", "m.b.weight"))
    ]


_DIM = st.integers(min_value=1, max_value=9)


@given(
    layers=st.integers(min_value=1, max_value=3),
    d=_DIM,
    ff=_DIM,
    experts=st.integers(min_value=1, max_value=4),
    model_type=st.sampled_from(["llama", "mixtral", "qwen2_moe", "phi3", "deepseek_v3"]),
)
def test_renaming_keeps_every_element(
    layers: int, d: int, ff: int, experts: int, model_type: str
) -> None:
    tensors = [Tensor("embed_tokens.weight", (11, d))]
    for i in range(layers):
        tensors += [
            Tensor(f"layers.{i}.self_attn.{p}_proj.weight", (d, d)) for p in ("q", "k", "v", "o")
        ]
        tensors += [
            Tensor(f"layers.{i}.mlp.gate.weight", (experts, d)),
            Tensor(f"layers.{i}.mlp.experts.gate_proj.weight", (experts, ff, d)),
            Tensor(f"layers.{i}.mlp.experts.up_proj.weight", (experts, ff, d)),
            Tensor(f"layers.{i}.mlp.experts.down_proj.weight", (experts, d, ff)),
        ]
    renamed = [e.tensor for e in state_dict(tensors, NAMINGS[model_type])]
    assert total_numel(renamed) == total_numel(tensors)
    assert len({t.name for t in renamed}) == len(renamed)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(spec=_spec_strategy())
def test_tensors_sum_to_the_count_under_every_naming(tmp_path: Path, spec: dict[str, Any]) -> None:
    """The law of `archcalc tensors`: for any transformer, in archcalc's names and in every
    transformers naming that can name it, the tensors hold exactly total_params."""
    loaded = api.load_spec(write_spec(tmp_path, spec))
    total = api.count(loaded).total_params
    canonical, _ = spec_tensors(loaded)
    assert total_numel(e.tensor for e in canonical) == total
    for naming in NAMINGS.values():
        try:
            renamed = state_dict([e.tensor for e in canonical], naming)
        except UnnamedTensor:
            continue
        assert total_numel(e.tensor for e in renamed) == total, naming.model_type
        assert len({e.tensor.name for e in renamed}) == len(renamed), naming.model_type


def test_a_split_cuts_at_the_projection_widths_or_as_torch_chunk_does() -> None:
    conv = [
        Tensor("l.0.q.weight", (4, 8)),
        Tensor("l.0.k.weight", (4, 8)),
        Tensor("l.0.v.weight", (6, 8)),
        Tensor("l.0.conv.weight", (14, 1, 3)),
    ]
    rules = (Rule(r"l\.0\.(q|k|v|qc|kc|vc)\.weight", r"l.0.\1.weight"),)
    at = Naming("t", rules, split=(Split("conv", ("qc", "kc", "vc"), at=("q", "k", "v")),))
    chunked = Naming("t", rules, split=(Split("conv", ("qc", "kc", "vc")),))
    for naming, sizes in ((at, (4, 4, 6)), (chunked, (5, 5, 4))):
        out = {e.tensor.name: (e.tensor.shape, e.canonical) for e in state_dict(conv, naming)}
        assert [out[f"l.0.{p}c.weight"] for p in "qkv"] == [
            ((n, 1, 3), ("l.0.conv.weight",)) for n in sizes
        ]
    # widths that do not add up to the tensor: not the module the split knows, refused
    with pytest.raises(UnnamedTensor):
        state_dict([*conv[:2], Tensor("l.0.v.weight", (5, 8)), conv[3]], at)


@given(size=st.integers(min_value=1, max_value=500), pieces=st.integers(min_value=1, max_value=5))
def test_chunks_are_torch_chunks(size: int, pieces: int) -> None:
    """torch.chunk: pieces of ceil(size / pieces), the last shorter, no empty piece."""
    cuts = _cuts(size, pieces)
    step = -(-size // pieces)
    assert sum(cuts) == size and 1 <= len(cuts) <= pieces
    assert all(c == step for c in cuts[:-1]) and 0 < cuts[-1] <= step


OLMO_HYBRID_SPEC = """\
name: olmo-hybrid
family: transformer
n_layers: {layers}
d_model: {d}
n_heads: 4
d_ff: 24
vocab_size: 50
mixer: gated_deltanet
deltanet: {{key_heads: {kh}, value_heads: {vh}, key_head_dim: {kd}, value_head_dim: {vd},
           fused_projections: false}}
blocks:
  full: {{mixer: attention, norm_position: post, qk_norm: true, qk_norm_scope: projection}}
stack:
  - pattern: [default, full]
"""


@settings(max_examples=30, deadline=None)
@given(
    layers=st.integers(min_value=2, max_value=5),
    d=st.sampled_from([8, 16, 32]),
    kh=st.integers(min_value=1, max_value=3),
    groups=st.integers(min_value=1, max_value=3),
    kd=st.integers(min_value=1, max_value=9),
    vd=st.integers(min_value=1, max_value=9),
)
def test_olmo_hybrid_layouts_keep_every_element(
    tmp_path_factory: pytest.TempPathFactory,
    layers: int,
    d: int,
    kh: int,
    groups: int,
    kd: int,
    vd: int,
) -> None:
    """Both OLMo-Hybrid layouts (save_pretrained's and the released one) hold total_params,
    the released one cutting the convolution at the q/k/v widths."""
    text = OLMO_HYBRID_SPEC.format(layers=layers, d=d, kh=kh, vh=kh * groups, kd=kd, vd=vd)
    path = tmp_path_factory.mktemp("olmo") / "o.yaml"
    path.write_text(text)
    loaded = api.load_spec(path)
    total = api.count(loaded).total_params
    canonical = [e.tensor for e in spec_tensors(loaded)[0]]
    main = NAMINGS["olmo_hybrid"]
    for naming in (main, *main.variants):
        named = {e.tensor.name: e.tensor.shape for e in state_dict(canonical, naming)}
        assert total_numel(Tensor(n, s) for n, s in named.items()) == total
        convs = [named.get(f"model.layers.0.linear_attn.{p}_conv1d.weight") for p in "qkv"]
        widths = [kh * kd, kh * kd, kh * groups * vd]
        if naming is main:
            assert [c[0] for c in convs if c] == _cuts(sum(widths), 3)
        else:
            assert [c[0] for c in convs if c] == widths
