"""Hugging Face configs of decoder-only model types beyond the Llama lineage (dense and MoE).

A builtin plugin registered through ``archcalc_hf_model_types`` like any third-party one;
the shared reading helpers live in :mod:`archcalc.plugins.transformer_hf`. Every translator
here maps a config onto existing transformer-spec keys and was checked with
``reference/hf_coverage.py`` (the default config and every key changed one at a time): a
key that changes shapes in a way the spec cannot say is refused, never ignored.

What these types add to Llama's layout, and how the spec says it:

* per-layer MLP kinds (``mlp_layer_types`` lists, ``mlp_only_layers``, a dense first few):
  a ``stack`` of ``dense`` blocks (``moe: false``) and MoE blocks;
* attention sinks (gpt-oss style, one logit per head): ``attention_sinks``;
* DeepSeek's multi-head latent attention and its V3.2 indexer: the ``mla`` group;
* BitNet's sub-layer norms: ``sub_norms``;
* per-layer attention sizes (Gemma 4's ``per_layer_config``): block kinds with their own
  ``d_head`` / ``n_kv_heads``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from archcalc.plugins.transformer_hf import (
    MHA,
    ORDER,
    _core,
    _experts,
    _heads_divide_width,
    _llama_like,
    _stack,
    _tie,
    model_types,
    show,
)

from archcalc import hookimpl
from archcalc.hf_types import HFModelType, Translator

if TYPE_CHECKING:  # archcalc.hf itself only when a config is read (a YAML count skips it)
    from archcalc.hf import ConfigReader


# ------------------------------------------------------------------ per-layer kinds


def _kind_list(
    r: ConfigReader, key: str, allowed: Sequence[str], n_layers: Any
) -> list[str] | None:
    """A per-layer list of kind names (``mlp_layer_types``), checked; None when absent."""
    value = r.value(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        r.error(key, f"'{key}' must be a list of strings, got {show(value)}")
        return None
    wrong = sorted({v for v in value if v not in allowed})
    if wrong:
        r.unsupported(key, f"{key} entry '{show(wrong[0])}'")
        return None
    if isinstance(n_layers, int) and len(value) != n_layers:
        if key not in ("layer_types", "mlp_layer_types"):  # those: reported by _core
            r.error(
                key,
                f"'{key}' lists {len(value)} layers but the config has {n_layers}; "
                "transformers refuses this config",
            )
        return None
    return value


def _write_stack(
    r: ConfigReader, kinds: Sequence[tuple[str, ...]], blocks: dict[str, Any], *source: str
) -> None:
    """Layer i's traits (``("dense",)``, ``("dense", "no_index")``, ``()``...) as a stack.

    A trait set names a block kind (its traits joined by ``_``; none: ``default``); the
    kind's spec keys merge the ``blocks`` entries of its traits.
    """
    names: list[str] = []
    merged: dict[str, Any] = {}
    for traits in kinds:
        name = "_".join(traits) or "default"
        names.append(name)
        if traits and name not in merged:
            spec: dict[str, Any] = {}
            for trait in traits:
                for k, v in blocks[trait].items():
                    if isinstance(v, dict) and isinstance(spec.get(k), dict):
                        spec[k] = {**spec[k], **v}
                    else:
                        spec[k] = v
            merged[name] = spec
    _stack(r, names, merged, *source)
    runs = r.spec.get("stack")
    if runs:
        # the longest segment (the later of equals) takes the rest, so '--set n_layers=...'
        # adds blocks of the kind most layers have
        longest = max(range(len(runs)), key=lambda i: (runs[i]["layers"], i))
        del runs[longest]["layers"]


DENSE = {"dense": {"moe": False}}


def _dense_layers(
    r: ConfigReader,
    *,
    types_key: str | None = "mlp_layer_types",
    first_key: str | None = "first_k_dense_replace",
    first_default: int = 0,
) -> list[bool] | None:
    """Which layers keep a dense MLP: the ``types_key`` list ("dense"/"sparse") when given,
    else the first ``first_key`` layers (as the config classes' ``__post_init__`` build it).
    None when the depth is unknown."""
    n_layers = r.spec.get("n_layers")
    listed = _kind_list(r, types_key, ("dense", "sparse"), n_layers) if types_key else None
    if listed is not None:
        return [kind == "dense" for kind in listed]
    first = r.count(first_key, default=first_default) if first_key else first_default
    if not isinstance(n_layers, int) or not isinstance(first, int):
        return None
    return [i < first for i in range(n_layers)]


def _moe_stack(r: ConfigReader, dense: list[bool] | None, *source: str) -> None:
    if dense is not None:
        _write_stack(r, [("dense",) if d else () for d in dense], DENSE, *source)


# ------------------------------------------------------------------ dense decoders


def _bitnet(r: ConfigReader) -> None:
    """BitNet b1.58: Llama with a norm on the attention output (hidden_size wide) and one on
    the MLP's hidden activations; a gated MLP (ReLU²), bias from attention_bias."""
    _llama_like(r, bias_key="attention_bias", kv_absent=5, kv_null=MHA)
    r.set("sub_norms", True)
    heads, width, head_dim = (r.spec.get(k) for k in ("n_heads", "d_model", "d_head"))
    if isinstance(head_dim, int) and isinstance(heads, int) and heads * head_dim != width:
        # BitNet's attn_sub_norm is hidden_size wide whatever the heads' width.
        r.unsupported("head_dim", "num_attention_heads × head_dim different from hidden_size")


def _granite_swa(r: ConfigReader) -> None:
    """Granite with sliding-window layers (same shapes) and a sink logit per head."""
    _llama_like(
        r,
        tie=True,
        bias_key="attention_bias",
        mlp_bias=r.flag("mlp_bias", False),
        kv_absent=4,
        kv_null=MHA,
    )
    r.set("attention_sinks", True)


def _granitemoe_swa(r: ConfigReader) -> None:
    """Granite MoE (optionally with a shared MLP) with attention sinks."""
    _llama_like(r, bias_key="attention_bias", mlp_bias=False, kv_null=MHA)
    r.set("attention_sinks", True)
    _experts(r, ("num_local_experts",), ("num_experts_per_tok",), (), n_default=8, k_default=2)
    shared = r.count("shared_intermediate_size", default=0)
    if shared:
        r.set("moe.n_shared_experts", 1)
        r.set("moe.d_ff_shared", shared, "shared_intermediate_size")


def _jais2(r: ConfigReader) -> None:
    """Jais 2: LayerNorms, biases everywhere (attention_bias, mlp_bias), a two-matrix MLP."""
    _llama_like(
        r,
        mlp="relu",
        norm="layernorm",
        bias_key="attention_bias",
        bias_default=True,
        mlp_bias=r.flag("mlp_bias", True),
        kv_null=MHA,
    )
    _heads_divide_width(r)


# ------------------------------------------------------------------ mixtures of experts


def _exaone_moe(r: ConfigReader) -> None:
    """EXAONE MoE: per-head q/k norms, dense layers from mlp_layer_types (else the first
    first_k_dense_replace), routed plus shared experts; bias-free."""
    _llama_like(r, kv_absent=32, reads_head_dim=True)
    r.set("qk_norm", True)
    _experts(
        r,
        ("num_experts",),
        ("num_experts_per_tok",),
        ("moe_intermediate_size",),
        n_default=64,
        k_default=8,
        ff_default=1024,
    )
    shared = r.count("num_shared_experts", default=1)
    if shared:
        r.set("moe.n_shared_experts", shared, "num_shared_experts")
    _moe_stack(r, _dense_layers(r, first_default=1), "mlp_layer_types", "first_k_dense_replace")


def _hy_v3(r: ConfigReader) -> None:
    """Hunyuan 3 (HY-V3): per-head q/k norms, the first layer dense (or mlp_layer_types),
    routed experts plus a shared MLP of num_shared_experts × moe_intermediate_size."""
    _llama_like(r, bias_key="attention_bias", head_dim=128, kv_absent=8)
    if r.flag("mlp_bias", False):
        # dense and shared MLPs take mlp_bias, the routed experts never do
        r.unsupported("mlp_bias", "mlp_bias: true (biased shared MLPs beside bias-free experts)")
    r.set("qk_norm", True)
    _experts(
        r,
        ("num_experts", "num_local_experts"),
        ("num_experts_per_tok",),
        ("moe_intermediate_size",),
        n_default=192,
        k_default=8,
        ff_default=1536,
    )
    shared = r.count("num_shared_experts", default=1)
    if shared == 0:
        # HYV3MLP(intermediate_size=0) falls back to intermediate_size ("0 or ...")
        r.set("moe.n_shared_experts", 1, "num_shared_experts")
        r.set("moe.d_ff_shared", r.spec.get("d_ff"), "num_shared_experts")
    elif shared is not None:
        r.set("moe.n_shared_experts", shared, "num_shared_experts")
    n_layers = r.spec.get("n_layers")
    first = 1 if isinstance(n_layers, int) and n_layers > 0 else 0
    _moe_stack(r, _dense_layers(r, first_key=None, first_default=first), "mlp_layer_types")


def _flint(r: ConfigReader) -> None:
    """Flint: per-head q/k norms, a sink logit per head, routed experts plus an ungated
    shared expert; layers in mlp_only_layers (default [0, 1]) or off the
    decoder_sparse_step keep a dense MLP, as do all with num_experts 0."""
    _llama_like(r, bias_key="attention_bias", head_dim=128, kv_absent=4)
    r.set("qk_norm", True)
    r.set("attention_sinks", True)
    experts = r.count("num_experts", default=256)
    n_layers = r.spec.get("n_layers")
    step = r.size("decoder_sparse_step", default=1)
    only = r.value("mlp_only_layers")
    dense_listed = [0, 1] if only is None else only
    if not isinstance(dense_listed, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in dense_listed
    ):
        r.error(
            "mlp_only_layers",
            f"'mlp_only_layers' must be a list of layer indices, got {show(only)}",
        )
        return
    if not experts:
        return
    r.set("moe.n_experts", experts, "num_experts")
    r.set("moe.top_k", r.size("num_experts_per_tok", default=6), "num_experts_per_tok")
    r.set("moe.d_ff_expert", r.size("moe_intermediate_size", default=512), "moe_intermediate_size")
    shared = r.count("shared_expert_intermediate_size", default=1024)
    if shared:
        r.set("moe.n_shared_experts", 1)
        r.set("moe.d_ff_shared", shared, "shared_expert_intermediate_size")
    if isinstance(n_layers, int) and isinstance(step, int):
        dense = [i in dense_listed or (i + 1) % step != 0 for i in range(n_layers)]
        _moe_stack(r, dense, "mlp_only_layers", "decoder_sparse_step")


def _cohere2_moe(r: ConfigReader) -> None:
    """Command A MoE (cohere2_moe): Command R7B's parallel blocks (one weight-only norm),
    routed experts as wide as intermediate_size, optional shared experts of
    num_shared_experts × intermediate_size; dense layers (mlp_layer_types, else the first
    first_k_dense_replace) of prefix_dense_intermediate_size."""
    _llama_like(r, tie=True, bias_key="attention_bias", mlp_bias=False, head_dim=128, kv_null=MHA)
    r.set("parallel_block", True)
    _experts(r, ("num_experts",), ("num_experts_per_tok",), (), n_default=8, k_default=2)
    shared = r.count("num_shared_experts", default=0)
    if shared:
        r.set("moe.n_shared_experts", shared, "num_shared_experts")
    prefix = r.size("prefix_dense_intermediate_size", default=r.spec.get("d_ff"), nullable=True)
    blocks = {"dense": {"moe": False, "d_ff": prefix}}
    dense = _dense_layers(r, first_default=0)
    if dense is not None:
        kinds = [("dense",) if d else () for d in dense]
        _write_stack(r, kinds, blocks, "mlp_layer_types", "first_k_dense_replace")


def _ernie4_5_moe(r: ConfigReader) -> None:
    """ERNIE 4.5 MoE: ERNIE 4.5's attention, experts with a learned score-correction bias
    (one per expert), shared experts of moe_num_shared_experts × moe_intermediate_size, on
    every moe_layer_interval-th layer from moe_layer_start_index to moe_layer_end_index."""
    _llama_like(r, tie=True, kv_absent=4, mlp_bias=None)
    if r.flag("use_bias", False):
        # use_bias covers attention, dense MLPs, shared experts and the LM head, not experts
        r.unsupported("use_bias", "use_bias: true (biased shared MLPs beside bias-free experts)")
    _experts(
        r,
        ("moe_num_experts", "num_experts"),
        ("moe_k", "num_experts_per_tok"),
        ("moe_intermediate_size",),
        n_default=64,
        k_default=6,
        ff_default=1536,
    )
    r.set("moe.router_bias", True)  # Ernie4_5_MoeStatics.e_score_correction_bias: a parameter
    shared = r.count("moe_num_shared_experts", default=2)
    if shared:
        r.set("moe.n_shared_experts", shared, "moe_num_shared_experts")
    n_layers = r.spec.get("n_layers")
    start = r.count("moe_layer_start_index", default=1)
    end = r.value("moe_layer_end_index")
    end = -1 if end is None else end
    if not isinstance(end, int) or isinstance(end, bool) or end < -1:
        r.error("moe_layer_end_index", f"'moe_layer_end_index' must be ≥ -1, got {show(end)}")
        return
    step = r.size("moe_layer_interval", default=1)
    if not (isinstance(n_layers, int) and isinstance(start, int) and isinstance(step, int)):
        return
    last = n_layers - 1 if end == -1 else end
    dense = [not ((i + 1) % step == 0 and start <= i <= last) for i in range(n_layers)]
    _moe_stack(r, dense, "moe_layer_start_index", "moe_layer_end_index", "moe_layer_interval")


def _afmoe(r: ConfigReader) -> None:
    """AFMoE (Arcee Trinity): four norms per block, per-head q/k norms, a sigmoid gate per
    head element on the attention output, the first num_dense_layers dense, then routed
    experts (with a bias per expert) plus shared experts."""
    _llama_like(r, bias_key="attention_bias", head_dim=128, kv_null=MHA)
    r.set("post_norms", True)
    r.set("qk_norm", True)
    r.set("attention_gate", "element")
    _experts(
        r,
        ("num_experts",),
        ("num_experts_per_tok",),
        ("moe_intermediate_size",),
        n_default=64,
        k_default=6,
        ff_default=1408,
    )
    r.set("moe.router_bias", True)  # AfmoeSparseMoeBlock.expert_bias is a parameter
    shared = r.count("num_shared_experts", default=2)
    if shared:
        r.set("moe.n_shared_experts", shared, "num_shared_experts")
    _moe_stack(
        r,
        _dense_layers(r, types_key=None, first_key="num_dense_layers", first_default=1),
        "num_dense_layers",
    )


def _kolibri1(r: ConfigReader) -> None:
    """Kolibri 1: per-head q/k norms, four norms per block, every layer routed experts plus
    an ungated shared expert of shared_expert_intermediate_size; bias-free."""
    _llama_like(r, head_dim=128, kv_absent=4, d_ff=("moe_intermediate_size",))
    r.set("post_norms", True)
    r.set("qk_norm", True)
    _experts(
        r,
        ("num_local_experts", "num_experts"),
        ("num_experts_per_tok",),
        ("moe_intermediate_size",),
        n_default=384,
        k_default=6,
        ff_default=512,
    )
    shared = r.count("shared_expert_intermediate_size", default=512)
    if shared:
        r.set("moe.n_shared_experts", 1)
        r.set("moe.d_ff_shared", shared, "shared_expert_intermediate_size")


def _mellum(r: ConfigReader) -> None:
    """Mellum: Qwen3-MoE's layout (per-head q/k norms, routed experts, no shared one) with
    dense layers of intermediate_size where mlp_layer_types says "dense"."""
    _llama_like(r, bias_key="attention_bias", head_dim=128, kv_absent=4)
    r.set("qk_norm", True)
    _experts(
        r,
        ("num_local_experts", "num_experts"),
        ("num_experts_per_tok",),
        ("moe_intermediate_size",),
        n_default=64,
        k_default=8,
        ff_default=896,
    )
    _moe_stack(r, _dense_layers(r, first_key=None), "mlp_layer_types")


def _minimax_m2(r: ConfigReader) -> None:
    """MiniMax-M2: q/k norms over the whole projections, every layer routed experts of
    width intermediate_size (no shared expert); bias-free."""
    _llama_like(r, head_dim=128, kv_absent=8)
    r.set("qk_norm", True)
    r.set("qk_norm_scope", "projection")
    _experts(
        r,
        ("num_local_experts", "num_experts"),
        ("num_experts_per_tok",),
        (),
        n_default=256,
        k_default=8,
    )


def _minimax_m3(r: ConfigReader) -> None:
    """MiniMax-M3's language model (minimax_m3_vl_text): per-head q/k norms, routed experts
    of width intermediate_size plus one shared MLP of shared_intermediate_size, and a dense
    MLP of dense_intermediate_size where mlp_layer_types (or the legacy moe_layer_freq)
    says "dense"; bias-free. Sparse-attention layers (a lightning indexer) are refused."""
    _llama_like(r, head_dim=128, kv_absent=4, d_ff=("dense_intermediate_size",), ff_default=12288)
    r.set("qk_norm", True)
    _experts(
        r,
        ("num_local_experts", "num_experts"),
        ("num_experts_per_tok",),
        ("intermediate_size",),
        n_default=128,
        k_default=4,
        ff_default=3072,
    )
    shared = r.count("shared_intermediate_size", default=3072)
    if shared:
        r.set("moe.n_shared_experts", 1)
        r.set("moe.d_ff_shared", shared, "shared_intermediate_size")
    n_layers = r.spec.get("n_layers")
    _kind_list(r, "layer_types", ("full_attention",), n_layers)
    sparse = r.value("sparse_attention_config")
    freq = sparse.get("sparse_attention_freq") if isinstance(sparse, dict) else None
    if r.value("layer_types") is None and freq and (not isinstance(freq, list) or any(freq)):
        r.unsupported("sparse_attention_config", "sparse attention (a lightning indexer)")
    legacy = r.value("moe_layer_freq")  # read by __post_init__ only without mlp_layer_types
    if r.value("mlp_layer_types") is not None or legacy is None:
        _moe_stack(r, _dense_layers(r, first_key=None), "mlp_layer_types")
    elif not isinstance(legacy, list) or not all(f in (0, 1) for f in legacy):
        r.error("moe_layer_freq", f"'moe_layer_freq' must be a list of 0/1, got {show(legacy)}")
    elif isinstance(n_layers, int) and len(legacy) != n_layers:
        r.error(
            "moe_layer_freq",
            f"'moe_layer_freq' lists {len(legacy)} layers but the config has {n_layers}; "
            "transformers cannot build this config",
        )
    elif isinstance(n_layers, int):
        _moe_stack(r, [not f for f in legacy], "moe_layer_freq")


# ------------------------------------------------------------------ DeepSeek's latent attention


def _mla(
    r: ConfigReader,
    *,
    q_rank: int,
    kv_rank: int = 512,
    rope: int = 64,
    nope: int = 128,
    v: int = 128,
    q_rank_nullable: bool = True,
) -> None:
    """Multi-head latent attention keys (DeepSeek-V2/V3 names); q_lora_rank null (or a
    ``q_rank`` default of 0): a full-rank query projection where the model allows it."""
    if q_rank_nullable and "q_lora_rank" in r.data and r.data["q_lora_rank"] is None:
        r.set("mla.q_lora_rank", 0, "q_lora_rank")
    elif q_rank == 0 and not r.present("q_lora_rank"):
        r.defaults.setdefault("q_lora_rank", None)
        r.set("mla.q_lora_rank", 0)
    else:
        r.set("mla.q_lora_rank", r.size("q_lora_rank", default=q_rank), "q_lora_rank")
    r.set("mla.kv_lora_rank", r.size("kv_lora_rank", default=kv_rank), "kv_lora_rank")
    rope_dim = r.size("qk_rope_head_dim", default=rope)
    r.set("mla.qk_rope_head_dim", rope_dim, "qk_rope_head_dim")
    if isinstance(rope_dim, int) and rope_dim % 2:
        r.error("qk_rope_head_dim", f"RoPE needs an even qk_rope_head_dim, got {rope_dim}")
    r.set("mla.qk_nope_head_dim", r.size("qk_nope_head_dim", default=nope), "qk_nope_head_dim")
    r.set("mla.v_head_dim", r.size("v_head_dim", default=v), "v_head_dim")


def _mla_decoder(
    r: ConfigReader, *, mlp_bias_applies: bool, tie: bool = False, experts: bool = True
) -> None:
    """The DeepSeek decoder around MLA: depth, width, vocabulary, a gated MLP, RMSNorms,
    attention_bias on q_a/kv_a/o. ``mlp_bias_applies``: the model reads mlp_bias for its
    MLPs (with ``experts``, refused when true: the routed experts never have biases)."""
    r.set("architecture", "decoder")
    d_model, n_heads = _core(r, ("num_hidden_layers",), ("hidden_size",), ("num_attention_heads",))
    if isinstance(d_model, int) and isinstance(n_heads, int) and d_model % n_heads:
        r.set("d_head", d_model // n_heads, "hidden_size")  # unused by MLA's shapes
    r.set("d_ff", r.size("intermediate_size"), "intermediate_size")
    r.set("positional", "rope")
    r.set("mlp", "swiglu")
    r.set("norm", "rmsnorm")
    bias = r.flag("attention_bias", False)
    r.set("bias", bias, "attention_bias")
    mlp_bias = mlp_bias_applies and r.flag("mlp_bias", False)
    if mlp_bias and experts:
        r.unsupported("mlp_bias", "mlp_bias: true (biased dense/shared MLPs, bias-free experts)")
    if mlp_bias != bias:
        r.set("mlp_bias", mlp_bias, "mlp_bias")
    _tie(r, tie)


def _mla_experts(
    r: ConfigReader, *, experts: tuple[str, ...], n: int, k: int | None, ff: int, shared: int
) -> None:
    _experts(
        r,
        experts,
        ("num_experts_per_tok",),
        ("moe_intermediate_size",),
        n_default=n,
        k_default=k,
        ff_default=ff,
    )
    count = r.count("n_shared_experts", default=shared)
    if count:
        r.set("moe.n_shared_experts", count, "n_shared_experts")


def _deepseek_v2(r: ConfigReader) -> None:
    """DeepSeek-V2 (and V2-Lite: q_lora_rank null): MLA, the first first_k_dense_replace
    layers dense, then routed plus shared experts. num_experts_per_tok has no usable
    default (transformers' default config leaves it null and cannot route)."""
    _mla_decoder(r, mlp_bias_applies=True)
    _heads_divide_width(r)
    _mla(r, q_rank=1536)
    _mla_experts(r, experts=("n_routed_experts", "num_experts"), n=64, k=None, ff=1407, shared=2)
    _moe_stack(r, _dense_layers(r, types_key=None, first_default=0), "first_k_dense_replace")


def _indexer(r: ConfigReader, *, heads: int, dim: int) -> None:
    r.set("mla.index_n_heads", r.size("index_n_heads", default=heads), "index_n_heads")
    r.set("mla.index_head_dim", r.size("index_head_dim", default=dim), "index_head_dim")


def _deepseek_v32(r: ConfigReader) -> None:
    """DeepSeek-V3.2: V3's MLA (a low-rank query is required) with a lightning indexer in
    every layer; dense layers from mlp_layer_types, else the first first_k_dense_replace."""
    _mla_decoder(r, mlp_bias_applies=False)
    _mla(r, q_rank=1536, q_rank_nullable=False)
    _indexer(r, heads=64, dim=128)
    _mla_experts(r, experts=("num_experts", "n_routed_experts"), n=256, k=8, ff=2048, shared=1)
    _moe_stack(r, _dense_layers(r, first_default=3), "mlp_layer_types", "first_k_dense_replace")


def _glm_moe_dsa(r: ConfigReader) -> None:
    """GLM-5 (glm_moe_dsa): DeepSeek-V3.2's layout; a layer whose indexer_types entry is
    "shared" reuses the previous layer's indexer (none of its own)."""
    _mla_decoder(r, mlp_bias_applies=False)
    _mla(r, q_rank=2048, rope=64, nope=192, v=256, q_rank_nullable=False)
    _indexer(r, heads=32, dim=128)
    _mla_experts(r, experts=("num_experts", "n_routed_experts"), n=256, k=8, ff=2048, shared=1)
    n_layers = r.spec.get("n_layers")
    dense = _dense_layers(r, first_default=3)
    shared = _indexer_shared(r, n_layers)
    if dense is None or shared is None:
        return
    kinds = [
        tuple(t for t, on in (("dense", d), ("no_index", s)) if on)
        for d, s in zip(dense, shared, strict=True)
    ]
    blocks = {**DENSE, "no_index": {"mla": {"index_n_heads": 0}}}
    _write_stack(r, kinds, blocks, "mlp_layer_types", "indexer_types", "first_k_dense_replace")


def _indexer_shared(r: ConfigReader, n_layers: Any) -> list[bool] | None:
    """GLM-5's per-layer indexer: indexer_types, else index_topk_pattern ("FSSF..."), else
    every index_topk_freq-th layer from index_skip_topk_offset (as its config class)."""
    listed = _kind_list(r, "indexer_types", ("full", "shared"), n_layers)
    if listed is not None:
        return [k == "shared" for k in listed]
    if r.value("indexer_types") is not None or not isinstance(n_layers, int):
        return None
    pattern = r.value("index_topk_pattern")
    if pattern is not None:
        if isinstance(pattern, str) and set(pattern) <= {"F", "S"}:
            kinds = ["shared" if c == "S" else "full" for c in pattern]
        elif isinstance(pattern, list) and all(p in ("full", "shared") for p in pattern):
            kinds = list(pattern)
        else:
            r.error(
                "index_topk_pattern",
                f"'index_topk_pattern' must be 'F'/'S' letters, got {show(pattern)}",
            )
            return None
        if len(kinds) != n_layers:
            r.error(
                "index_topk_pattern",
                f"'index_topk_pattern' covers {len(kinds)} layers but the config has {n_layers}",
            )
            return None
        return [k == "shared" for k in kinds]
    freq = max(r.count("index_topk_freq", default=1) or 1, 1)
    offset = r.count("index_skip_topk_offset", default=2)
    if not isinstance(offset, int):
        return None
    return [max(i - offset + 1, 0) % freq != 0 for i in range(n_layers)]


def _glm4_moe_lite(r: ConfigReader) -> None:
    """GLM-4.7-Flash (glm4_moe_lite): DeepSeek-V3's MLA and experts without an indexer;
    dense layers from mlp_layer_types, else the first first_k_dense_replace (default 1)."""
    _mla_decoder(r, mlp_bias_applies=False)
    _mla(r, q_rank=768, rope=64, nope=192, v=256)
    _mla_experts(r, experts=("n_routed_experts",), n=64, k=4, ff=1536, shared=1)
    _moe_stack(r, _dense_layers(r, first_default=1), "mlp_layer_types", "first_k_dense_replace")


def _sarvam_mla(r: ConfigReader) -> None:
    """Sarvam (sarvam_mla): DeepSeek-V3's modeling code under its own defaults (a full-rank
    query projection unless q_lora_rank is given, 128 experts, one dense layer)."""
    _mla_decoder(r, mlp_bias_applies=False)
    _mla(r, q_rank=0)
    _mla_experts(r, experts=("n_routed_experts",), n=128, k=8, ff=2048, shared=1)
    _moe_stack(r, _dense_layers(r, types_key=None, first_default=1), "first_k_dense_replace")


def _minicpm3(r: ConfigReader) -> None:
    """MiniCPM3: DeepSeek's latent attention in a dense decoder (tied embeddings, mlp_bias);
    v_head_dim null means hidden_size / heads. Its scalings have no parameters."""
    _mla_decoder(r, mlp_bias_applies=True, tie=True, experts=False)
    _heads_divide_width(r)
    width, heads = r.spec.get("d_model"), r.spec.get("n_heads")
    v_default = width // heads if isinstance(width, int) and isinstance(heads, int) else None
    v = r.size("v_head_dim", default=v_default, nullable=True)
    _mla(r, q_rank=768, kv_rank=256, rope=32, nope=64, v=v)


def _youtu(r: ConfigReader) -> None:
    """Youtu-LLM: DeepSeek's latent attention in a dense decoder with tied embeddings."""
    _mla_decoder(r, mlp_bias_applies=False, tie=True, experts=False)
    _mla(r, q_rank=1536)


# ------------------------------------------------------------------ Gemma 4


#: per_layer_config keys Gemma 4's attention reads per layer; any other one is read from
#: the global config somewhere (transformers then refuses it) or not modelled.
_PER_LAYER_KEYS = ("head_dim", "num_key_value_heads")


def _per_layer_config(r: ConfigReader, n_layers: int) -> dict[int, dict[str, Any]] | None:
    """transformers' per_layer_config ({"05": {"head_dim": 512}}): layer index -> the
    attention sizes it overrides, checked as transformers checks them; None on an error."""
    value = r.value("per_layer_config")
    if not isinstance(value, dict):
        r.error("per_layer_config", f"'per_layer_config' must be a mapping, got {show(value)}")
        return None
    layers: dict[int, dict[str, Any]] = {}
    for key, overrides in value.items():
        index = int(key) if isinstance(key, str) and key.isdigit() else -1
        if not 0 <= index < n_layers:
            r.error(
                "per_layer_config",
                f"'per_layer_config' key {show(key)} is not a layer index below {n_layers}; "
                "transformers refuses this config",
            )
            return None
        if not isinstance(overrides, dict):
            r.error(
                "per_layer_config", f"layer {show(key)}: expected a mapping, got {show(overrides)}"
            )
            return None
        for name, size in overrides.items():
            if name == "skip" and size == []:
                continue
            if name not in _PER_LAYER_KEYS:
                r.unsupported("per_layer_config", f"per_layer_config key '{show(name)}'")
                return None
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                r.error(
                    "per_layer_config",
                    f"per_layer_config layer {show(key)}: '{name}' must be an integer ≥ 1, "
                    f"got {show(size)}",
                )
                return None
        layers[index] = {k: v for k, v in overrides.items() if k in _PER_LAYER_KEYS}
    return layers


def _gemma4_unified_text(r: ConfigReader) -> None:
    """Gemma 4 (gemma4_unified_text): Gemma 3's blocks (four norms, per-head q/k norms; the
    v norm has no weights) whose full-attention layers have their own head_dim (and
    key/value heads) from per_layer_config, else global_head_dim. Layers reusing another
    layer's keys and values (num_kv_shared_layers) and keys reused as values are refused."""
    _llama_like(r, mlp="geglu", tie=True, bias_key="attention_bias", head_dim=256, kv_absent=4)
    r.set("post_norms", True)
    r.set("qk_norm", True)
    if r.count("num_kv_shared_layers", default=0):
        r.unsupported("num_kv_shared_layers", "layers reusing another layer's keys and values")
    if r.flag("attention_k_eq_v", False):
        r.unsupported("attention_k_eq_v", "attention_k_eq_v: true (keys reused as values)")
    n_layers = r.spec.get("n_layers")
    if not isinstance(n_layers, int):
        return
    listed = _kind_list(r, "layer_types", ("sliding_attention", "full_attention"), n_layers)
    if listed is None and r.value("layer_types") is not None:
        return
    types = listed or [
        "full_attention" if (i + 1) % 6 == 0 else "sliding_attention" for i in range(n_layers)
    ]
    types = [*types[:-1], "full_attention"]  # __post_init__ forces the last layer to full
    layers: dict[int, dict[str, Any]] = {}
    if "per_layer_config" not in r.data:
        full = {"head_dim": r.size("global_head_dim", default=512)}
        layers = {i: full for i, t in enumerate(types) if t == "full_attention"}
    elif r.value("per_layer_config") is not None:
        parsed = _per_layer_config(r, n_layers)
        if parsed is None:
            return
        layers = parsed
    top = {
        "head_dim": r.spec.get("d_head", None if r.present("head_dim") else 256),
        "num_key_value_heads": r.spec.get("n_kv_heads"),
    }
    if None in top.values():  # reported where it was read
        return
    sizes = [
        tuple(layers.get(i, {}).get(k, top[k]) for k in _PER_LAYER_KEYS) for i in range(n_layers)
    ]
    for kind in set(types):
        if len({s for s, t in zip(sizes, types, strict=True) if t == kind}) > 1:
            # the rotary embedding reads one config per layer type
            r.error(
                "per_layer_config",
                f"per_layer_config gives the {kind} layers different sizes; "
                "transformers cannot build this config",
            )
            return
    blocks: dict[str, Any] = {}
    kinds: list[tuple[str, ...]] = []
    for (head_dim, kv_heads), kind in zip(sizes, types, strict=True):
        spec: dict[str, Any] = {}
        if head_dim != top["head_dim"]:
            spec["d_head"] = head_dim
        if kv_heads != top["num_key_value_heads"]:
            spec["n_kv_heads"] = kv_heads
        name = kind.split("_")[0]
        kinds.append((name,) if spec else ())
        blocks.setdefault(name, spec)
    _write_stack(r, kinds, blocks, "per_layer_config", "layer_types")


# ------------------------------------------------------------------ older decoders


def _ctrl(r: ConfigReader) -> None:
    """CTRL: sinusoidal positions (a buffer), biased attention and ReLU MLP (dff wide),
    LayerNorms, a final one, and an LM head with a bias (tied to the embeddings)."""
    r.set("architecture", "decoder")
    _core(r, ("n_layer",), ("n_embd",), ("n_head",))
    r.set("d_ff", r.size("dff", default=8192), "dff")
    r.set("positional", "sinusoidal")
    r.set("mlp", "relu")
    r.set("norm", "layernorm")
    r.set("bias", True)
    r.set("lm_head_bias", True)
    _tie(r, True)


def _gpt_neox_japanese(r: ConfigReader) -> None:
    """GPT-NeoX-Japanese: bias-free fused q/k/v and MLP (hidden_size ×
    intermediate_multiple_size wide), LayerNorms; only the last layer's attention output
    has a bias."""
    r.set("architecture", "decoder")
    d_model, _ = _core(r, ("num_hidden_layers",), ("hidden_size",), ("num_attention_heads",))
    multiple = r.size("intermediate_multiple_size", default=4)
    if isinstance(d_model, int) and isinstance(multiple, int):
        r.set("d_ff", d_model * multiple, "intermediate_multiple_size")
    r.set("positional", "rope")
    r.set("mlp", "gelu")
    r.set("norm", "layernorm")
    r.set("bias", False)
    _tie(r, True)
    n_layers = r.spec.get("n_layers")
    if isinstance(n_layers, int):
        kinds = [("last",) if i == n_layers - 1 else () for i in range(n_layers)]
        _write_stack(r, kinds, {"last": {"o_bias": True}}, "num_hidden_layers")


#: model_type -> translator; every default checked against transformers 5.24's config
#: class and modeling code (reference/hf_coverage.py --types ...).
TRANSLATORS: dict[str, Translator] = {
    "bitnet": _bitnet,
    "granite_swa": _granite_swa,
    "granitemoe_swa": _granitemoe_swa,
    "jais2": _jais2,
    "exaone_moe": _exaone_moe,
    "hy_v3": _hy_v3,
    "flint": _flint,
    "deepseek_v2": _deepseek_v2,
    "deepseek_v32": _deepseek_v32,
    "glm_moe_dsa": _glm_moe_dsa,
    "glm4_moe_lite": _glm4_moe_lite,
    "cohere2_moe": _cohere2_moe,
    "ernie4_5_moe": _ernie4_5_moe,
    "afmoe": _afmoe,
    "kolibri1": _kolibri1,
    "mellum": _mellum,
    "minimax_m2": _minimax_m2,
    "minimax_m3_vl_text": _minimax_m3,
    "sarvam_mla": _sarvam_mla,
    "minicpm3": _minicpm3,
    "youtu": _youtu,
    "ctrl": _ctrl,
    "gpt_neox_japanese": _gpt_neox_japanese,
    "gemma4_unified_text": _gemma4_unified_text,
}

#: Each config class's attribute_map (alias -> key) in transformers 5.24.
ATTRIBUTE_MAPS: dict[str, dict[str, str]] = {
    "hy_v3": {"num_local_experts": "num_experts"},
    "deepseek_v2": {"num_experts": "n_routed_experts"},
    "deepseek_v32": {"num_local_experts": "n_routed_experts"},
    "glm_moe_dsa": {"num_local_experts": "n_routed_experts"},
    "glm4_moe_lite": {"num_local_experts": "n_routed_experts", "head_dim": "qk_rope_head_dim"},
    "ernie4_5_moe": {"num_experts": "moe_num_experts", "num_experts_per_tok": "moe_k"},
    "kolibri1": {"num_experts": "num_local_experts"},
    "mellum": {"num_experts": "num_local_experts"},
    "minimax_m2": {"num_experts": "num_local_experts"},
    "minimax_m3_vl_text": {"num_experts": "num_local_experts"},
    "sarvam_mla": {
        "num_local_experts": "n_routed_experts",
        "num_mtp_layers": "num_nextn_predict_layers",
        "num_experts": "n_routed_experts",
        "num_shared_experts": "n_shared_experts",
    },
    "ctrl": {
        "max_position_embeddings": "n_positions",
        "hidden_size": "n_embd",
        "num_attention_heads": "n_head",
        "num_hidden_layers": "n_layer",
    },
}


@hookimpl
def archcalc_hf_model_types() -> list[HFModelType]:
    types: list[HFModelType] = model_types(TRANSLATORS, ATTRIBUTE_MAPS, ORDER)
    return types
