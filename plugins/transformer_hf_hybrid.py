"""Hugging Face configs of hybrid and recurrent decoders for ``family: transformer``.

Decoders whose blocks are not all alike: state-space mixers (Mamba in Jamba and
Falcon-Mamba, Mamba-2 in Bamba, Nemotron-H and Granite 4), gated DeltaNet linear
attention (Qwen3-Next, Qwen3.5, LARA mini), blocks of one sub-layer (Nemotron-H),
experts interleaved with dense layers (Llama 4, Laguna, whose layers also differ in
their number of query heads), and other mixers (MiniMax's lightning attention,
Falcon-H1's attention beside Mamba-2, RecurrentGemma's RG-LRU, Kimi Linear's and Ling 3's
delta attention beside DeepSeek's latent attention, LFM's gated short convolutions). Each
translator reads
the config keys that place the mixers and experts layer by layer (periods and offsets,
index lists, per-layer type lists, pattern strings) and writes the transformer spec's
``blocks`` + ``stack``: a repeating ``pattern`` when the layers repeat, runs of blocks
otherwise.

Registered through the ``archcalc_hf_model_types`` hook like any third-party plugin's;
every translator was checked with ``reference/hf_coverage.py`` (default config and every
key changed one at a time) against transformers 5.24's ``AutoModelForCausalLM`` on the
meta device. Keys that change shapes in a way the spec cannot express are refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from archcalc.plugins.transformer_hf import (
    MHA,
    ORDER,
    Translator,
    _core,
    _experts,
    _head_dim,
    _int_list,
    _kv_heads,
    _llama_like,
    _rope_head_dim,
    _stack,
    _tie,
    model_types,
    show,
)

from archcalc import hookimpl
from archcalc.hf_types import HFModelType

if TYPE_CHECKING:  # archcalc.hf itself only when a config is read (a YAML count skips it)
    from archcalc.hf import ConfigReader


#: Layer types transformers' config validation accepts in ``layer_types``
#: (``ALLOWED_ATTN_LAYER_TYPES`` of transformers 5.24).
ALLOWED_LAYER_TYPES = frozenset(
    {
        "full_attention",
        "sliding_attention",
        "chunked_attention",
        "window_attention",
        "indexed_attention",
        "compressed_sparse_attention",
        "heavily_compressed_attention",
        "minimax_m3_sparse",
        "conv",
        "moe",
        "hybrid",
        "hybrid_sliding",
        "reference_sliding_attention",
        "linear_attention",
    }
)
#: Old names transformers still reads in ``layer_types`` (``_LEGACY_LAYER_TYPE_REMAP``).
LEGACY_LAYER_TYPES = {"mamba": "linear_attention", "attention": "full_attention"}


# ------------------------------------------------------------------ layouts


def _layout(r: ConfigReader, kinds: Sequence[str], blocks: dict[str, Any], *source: str) -> None:
    """Layer ``i`` is of kind ``kinds[i]`` (``default``: the top-level block; the others are
    defined in ``blocks``). Written as one ``pattern`` when the kinds repeat with a period
    of at most half the depth (so a count never unrolls the layers), after runs of the
    first few layers when only those break the period, else as runs."""
    if all(k == "default" for k in kinds):
        return
    for head in range(min(MAX_HEAD, len(kinds)) + 1):
        period = _period(kinds[head:])
        if period is not None:
            break
    else:
        _stack(r, list(kinds), blocks, *source)
        return
    runs: list[dict[str, Any]] = []
    for kind in kinds[:head]:
        if runs and runs[-1]["block"] == kind:
            runs[-1]["layers"] += 1
        else:
            runs.append({"block": kind, "layers": 1})
    pattern = list(kinds[head : head + period])
    runs.append({"block": pattern[0]} if period == 1 else {"pattern": pattern})
    used = set(kinds) - {"default"}
    r.set("blocks", {k: v for k, v in blocks.items() if k in used}, *source)
    r.set("stack", runs, *source)


#: Layers before a repeating pattern that ``_layout`` writes apart (Kimi Linear's dense
#: first layer before its period of four).
MAX_HEAD = 4


def _period(kinds: Sequence[str]) -> int | None:
    """The shortest period of ``kinds`` of at most half their number, None without one."""
    n = len(kinds)
    return next(
        (p for p in range(1, n // 2 + 1) if all(kinds[i] == kinds[i % p] for i in range(n))),
        None,
    )


def _layer_type_list(
    r: ConfigReader, key: str, n_layers: Any, allowed: frozenset[str] = ALLOWED_LAYER_TYPES
) -> list[str] | None:
    """A ``layer_types``-style list as transformers reads it (legacy names remapped);
    None when absent. A list transformers refuses is reported at the key."""
    value = r.value(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        r.error(key, f"'{key}' must be a list of layer type names, got {show(value)}")
        return None
    kinds = [LEGACY_LAYER_TYPES.get(str(v), str(v)) for v in value]
    wrong = sorted({v for v in kinds if v not in allowed})
    if wrong:
        r.error(
            key,
            f"'{key}' has layer types transformers does not accept: "
            f"{', '.join(show(w) for w in wrong)}",
        )
        return None
    if isinstance(n_layers, int) and len(kinds) != n_layers:
        r.error(
            key,
            f"'{key}' lists {len(kinds)} layers but the config has {n_layers}; "
            "transformers refuses this config",
        )
        return None
    return kinds


def _decoder(r: ConfigReader, *, positional: str, tie: bool = False) -> tuple[Any, Any, Any]:
    """Depth, width, heads, vocabulary, RMSNorm and a gated MLP; returns (L, d, heads)."""
    r.set("architecture", "decoder")
    d_model, n_heads = _core(r, ("num_hidden_layers",), ("hidden_size",), ("num_attention_heads",))
    r.set("positional", positional)
    r.set("mlp", "swiglu")
    r.set("norm", "rmsnorm")
    _tie(r, tie)
    return r.spec.get("n_layers"), d_model, n_heads


def _biases(r: ConfigReader, attention: str | None, mlp: str | None) -> None:
    """Attention biases (q, k, v and o) from one flag, the MLP's from another."""
    bias = r.flag(attention, False) if attention else False
    r.set("bias", bias, *(attention,) if attention else ())
    mlp_bias = r.flag(mlp, False) if mlp else False
    if mlp_bias != bias:
        r.set("mlp_bias", mlp_bias, *(mlp,) if mlp else ())


def _mamba2(
    r: ConfigReader,
    d_model: Any,
    *,
    heads: str,
    head_dim: str,
    groups: str,
    state: str,
    conv: str,
    expand: str,
    conv_bias: str,
    proj_bias: str,
    heads_default: int,
    groups_default: int,
    state_default: int,
) -> None:
    """A Mamba-2 mixer whose inner width is ``expand × hidden_size`` and whose heads are
    given (``head_dim`` "auto": inner width / heads), checked as the config classes of
    Bamba and Granite 4 check it."""
    expansion = r.size(expand, default=2)
    n_heads = r.size(heads, default=heads_default)
    r.set("mamba.d_state", r.size(state, default=state_default), state)
    r.set("mamba.d_conv", r.size(conv, default=4), conv)
    r.set("mamba.expansion", expansion, expand)
    r.set("mamba.ssm_heads", n_heads, heads)
    r.set("mamba.n_groups", r.size(groups, default=groups_default), groups)
    r.set("mamba.conv_bias", r.flag(conv_bias, True), conv_bias)
    r.set("mamba.proj_bias", r.flag(proj_bias, False), proj_bias)
    if not all(isinstance(v, int) for v in (d_model, expansion, n_heads)):
        return
    inner = expansion * d_model
    if inner % n_heads:
        r.error(heads, f"'{heads}' ({n_heads}) must divide {expand} × hidden_size ({inner})")
        return
    dim = r.value(head_dim)
    if dim in (None, "auto"):
        r.set("mamba.head_dim", inner // n_heads)
        return
    dim = r.size(head_dim)
    if isinstance(dim, int) and dim * n_heads != inner:
        r.error(
            head_dim,
            f"'{head_dim}' × '{heads}' ({dim} × {n_heads}) must equal {expand} × hidden_size "
            f"({inner}); transformers refuses this config",
        )
    r.set("mamba.head_dim", dim, head_dim)


# ------------------------------------------------------------------ Mamba hybrids


def _jamba(r: ConfigReader) -> None:
    """Jamba: Mamba mixers (with dt/B/C RMSNorms), attention every ``attn_layer_period``
    layers from ``attn_layer_offset``, experts likewise (``expert_layer_*``); no RoPE."""
    n_layers, d_model, n_heads = _decoder(r, positional="none")
    _kv_heads(r, "num_key_value_heads", 8)
    _head_dim(r, d_model, n_heads)
    r.set("d_ff", r.size("intermediate_size", default=14336), "intermediate_size")
    r.set("bias", False)
    r.set("mixer", "mamba")
    r.set("mamba.d_state", r.size("mamba_d_state", default=16), "mamba_d_state")
    r.set("mamba.d_conv", r.size("mamba_d_conv", default=4), "mamba_d_conv")
    r.set("mamba.expansion", r.size("mamba_expand", default=2), "mamba_expand")
    if r.value("mamba_dt_rank") not in (None, "auto"):
        r.set("mamba.dt_rank", r.size("mamba_dt_rank"), "mamba_dt_rank")
    r.set("mamba.conv_bias", r.flag("mamba_conv_bias", True), "mamba_conv_bias")
    r.set("mamba.proj_bias", r.flag("mamba_proj_bias", False), "mamba_proj_bias")
    r.set("mamba.inner_norms", True)
    # JambaConfig.layers_num_experts: a layer has experts when it is on the expert period
    # and num_experts > 1 (otherwise a dense MLP).
    experts = r.count("num_experts", default=16)
    periods = {}
    for what, period_default, offset_default in (("attn", 8, 4), ("expert", 2, 1)):
        period = r.size(f"{what}_layer_period", default=period_default)
        offset = r.count(f"{what}_layer_offset", default=offset_default)
        if isinstance(period, int) and isinstance(offset, int) and offset >= period:
            r.error(
                f"{what}_layer_offset",
                f"'{what}_layer_offset' ({offset}) must be smaller than '{what}_layer_period' "
                f"({period}); transformers refuses this config",
            )
            period = None
        periods[what] = (period, offset)
    moe = isinstance(experts, int) and experts > 1
    if moe:
        r.set("moe.n_experts", experts, "num_experts")
        r.set("moe.top_k", r.size("num_experts_per_tok", default=2), "num_experts_per_tok")
    if not isinstance(n_layers, int) or None in (*periods["attn"], *periods["expert"]):
        return
    (ap, ao), (ep, eo) = periods["attn"], periods["expert"]
    # The top-level block is a Mamba layer with experts (dense without experts at all).
    kinds = []
    for i in range(n_layers):
        experts_here = moe and i % ep == eo
        if i % ap == ao:
            kinds.append("attention_moe" if experts_here else "attention")
        else:
            kinds.append("default" if experts_here or not moe else "ssm")
    blocks = {
        "attention": {"mixer": "attention", **({"moe": False} if moe else {})},
        "attention_moe": {"mixer": "attention"},
        "ssm": {"moe": False},
    }
    _layout(r, kinds, blocks, "attn_layer_period", "attn_layer_offset", "expert_layer_period")


def _bamba(r: ConfigReader) -> None:
    """Bamba: Mamba-2 mixers, attention in the layers of ``attn_layer_indices``."""
    n_layers, d_model, n_heads = _decoder(r, positional="rope")
    _kv_heads(r, "num_key_value_heads", 8, MHA)
    _head_dim(r, d_model, n_heads)
    r.set("d_ff", r.size("intermediate_size", default=14336), "intermediate_size")
    _biases(r, "attention_bias", "mlp_bias")
    r.set("mixer", "mamba2")
    _mamba2(
        r,
        d_model,
        heads="mamba_n_heads",
        head_dim="mamba_d_head",
        groups="mamba_n_groups",
        state="mamba_d_state",
        conv="mamba_d_conv",
        expand="mamba_expand",
        conv_bias="mamba_conv_bias",
        proj_bias="mamba_proj_bias",
        heads_default=128,
        groups_default=1,
        state_default=256,
    )
    attention = set(_int_list(r, "attn_layer_indices"))
    if isinstance(n_layers, int):
        kinds = ["attention" if i in attention else "default" for i in range(n_layers)]
        _layout(r, kinds, {"attention": {"mixer": "attention"}}, "attn_layer_indices")


def _granitemoehybrid(r: ConfigReader) -> None:
    """Granite 4 (granitemoehybrid): Granite MoE's blocks (routed experts of width
    ``intermediate_size`` plus an always-active shared MLP of ``shared_intermediate_size``;
    only the shared MLP when ``num_local_experts`` is 0) with Mamba-2 mixers in the layers
    ``layer_types`` marks ``linear_attention`` (all of them by default)."""
    n_layers, d_model, n_heads = _decoder(r, positional="rope")
    _kv_heads(r, "num_key_value_heads", MHA, MHA)
    _head_dim(r, d_model, n_heads)
    _biases(r, "attention_bias", None)
    shared = r.size("shared_intermediate_size", default=1024)
    experts = r.count("num_local_experts", default=8)
    if experts:
        r.set("d_ff", r.size("intermediate_size", default=11008), "intermediate_size")
        r.set("moe.n_experts", experts, "num_local_experts")
        r.set("moe.top_k", r.size("num_experts_per_tok", default=2), "num_experts_per_tok")
        r.set("moe.n_shared_experts", 1)
        r.set("moe.d_ff_shared", shared, "shared_intermediate_size")
    else:
        r.set("d_ff", shared, "shared_intermediate_size")
    r.set("mixer", "mamba2")
    _mamba2(
        r,
        d_model,
        heads="mamba_n_heads",
        head_dim="mamba_d_head",
        groups="mamba_n_groups",
        state="mamba_d_state",
        conv="mamba_d_conv",
        expand="mamba_expand",
        conv_bias="mamba_conv_bias",
        proj_bias="mamba_proj_bias",
        heads_default=128,
        groups_default=1,
        state_default=256,
    )
    kinds = _layer_type_list(r, "layer_types", n_layers)
    if kinds is not None:
        names = ["default" if k == "linear_attention" else "attention" for k in kinds]
        _layout(r, names, {"attention": {"mixer": "attention"}}, "layer_types")


def _nemotron_h(r: ConfigReader) -> None:
    """Nemotron-H: every block one sub-layer after one RMSNorm, by ``layers_block_type``
    (or the older ``hybrid_override_pattern`` string, M E * -): a Mamba-2 mixer
    (inner width mamba_num_heads × mamba_head_dim), routed ReLU² experts plus one shared
    expert, attention without RoPE, or a ReLU² MLP. The depth is the list's length."""
    r.set("architecture", "decoder")
    kinds = _layer_type_list(
        r,
        "layers_block_type",
        None,
        frozenset({"full_attention", "linear_attention", "moe", "mlp"}),
    )
    if kinds is None and not r.present("layers_block_type"):
        pattern = r.value("hybrid_override_pattern")
        codes = {"M": "linear_attention", "E": "moe", "*": "full_attention", "-": "mlp"}
        if pattern is None:
            kinds = ["linear_attention", "moe", "full_attention", "mlp"]
            r.defaults.setdefault("layers_block_type", kinds)
        elif isinstance(pattern, str) and pattern and all(c in codes for c in pattern):
            kinds = [codes[c] for c in pattern]
        else:
            r.error(
                "hybrid_override_pattern",
                f"'hybrid_override_pattern' must be a string of M, E, * and -, got {show(pattern)}",
            )
    if not kinds:
        if kinds == []:
            r.error("layers_block_type", "'layers_block_type' lists no layers")
        return
    r.set("n_layers", len(kinds), "layers_block_type", "hybrid_override_pattern")
    d_model = r.size("hidden_size")
    r.set("d_model", d_model, "hidden_size")
    n_heads = r.size("num_attention_heads", default=32)
    r.set("n_heads", n_heads, "num_attention_heads")
    r.set("vocab_size", r.size("vocab_size"), "vocab_size")
    _kv_heads(r, "num_key_value_heads", 8)
    r.set("d_head", r.size("head_dim", default=128), "head_dim")
    r.set("d_ff", r.size("intermediate_size", default=21504), "intermediate_size")
    r.set("positional", "none")
    r.set("mlp", "relu")  # ReLU²: up and down projections
    r.set("norm", "rmsnorm")
    r.set("bias", False)
    mlp_bias = r.flag("mlp_bias", False)
    if mlp_bias:
        r.set("mlp_bias", True, "mlp_bias")
    # NemotronHForCausalLM ties nothing (_tied_weights_keys is empty in transformers 5).
    r.only(
        "tie_word_embeddings",
        False,
        why="tie_word_embeddings: true (transformers 5 builds Nemotron-H's head untied anyway)",
    )
    r.set("tie_embeddings", False)
    # The backward-compatible names win over the current ones, as in __post_init__.
    groups = "mamba_n_groups" if "mamba_n_groups" in r.data else "n_groups"
    conv = "mamba_d_conv" if "mamba_d_conv" in r.data else "conv_kernel"
    conv_bias = "mamba_conv_bias" if "mamba_conv_bias" in r.data else "use_conv_bias"
    heads = r.size("mamba_num_heads", default=128)
    head_dim = r.size("mamba_head_dim", default=64)
    r.set("mamba.d_state", r.size("ssm_state_size", default=128), "ssm_state_size")
    r.set("mamba.d_conv", r.size(conv, default=4), conv)
    if isinstance(heads, int) and isinstance(head_dim, int):
        r.set("mamba.d_inner", heads * head_dim, "mamba_num_heads", "mamba_head_dim")
    r.set("mamba.head_dim", head_dim, "mamba_head_dim")
    r.set("mamba.ssm_heads", heads, "mamba_num_heads")
    r.set("mamba.n_groups", r.size(groups, default=8), groups)
    r.set("mamba.conv_bias", r.flag(conv_bias, True), conv_bias)
    r.set("mamba.proj_bias", r.flag("use_bias", False), "use_bias")
    blocks: dict[str, Any] = {
        "ssm": {"mixer": "mamba2", "mlp": "none"},
        "attention": {"mlp": "none"},
        "mlp": {"mixer": "none"},
    }
    if "moe" in kinds:
        if r.present("moe_latent_size"):
            r.unsupported("moe_latent_size", "moe_latent_size (latent expert projections)")
        if mlp_bias:
            r.unsupported("mlp_bias", "mlp_bias with experts (the routed experts have none)")
        blocks["experts"] = {
            "mixer": "none",
            "moe": {
                "n_experts": r.size("n_routed_experts", default=8),
                "top_k": r.size("num_experts_per_tok", default=2),
                "d_ff_expert": r.size("moe_intermediate_size", default=7688),
                # NemotronHMoE always builds one shared expert, whatever n_shared_experts says.
                "n_shared_experts": 1,
                "d_ff_shared": r.size("moe_shared_expert_intermediate_size", default=7688),
            },
        }
        if None in blocks["experts"]["moe"].values():
            return
    names = {"linear_attention": "ssm", "moe": "experts", "full_attention": "attention"}
    _layout(
        r, [names.get(k, k) for k in kinds], blocks, "layers_block_type", "hybrid_override_pattern"
    )


def _falcon_mamba(r: ConfigReader) -> None:
    """Falcon-Mamba: Mamba blocks only (one RMSNorm and a mixer each, no MLP); its dt, B
    and C norms have no weights. The inner width is intermediate_size when the config
    gives it, else expand × hidden_size."""
    r.set("architecture", "decoder")
    r.set("n_layers", r.size("num_hidden_layers"), "num_hidden_layers")
    r.set("d_model", r.size("hidden_size"), "hidden_size")
    r.set("vocab_size", r.size("vocab_size"), "vocab_size")
    # No attention and no MLP: the spec still asks for a head count and an MLP width, which
    # shape nothing here (mlp: none).
    r.set("n_heads", 1)
    r.set("d_ff", 1)
    r.set("positional", "none")
    r.set("mixer", "mamba")
    r.set("mlp", "none")
    r.set("norm", "rmsnorm")
    r.set("mamba.d_state", r.size("state_size", default=16), "state_size")
    r.set("mamba.d_conv", r.size("conv_kernel", default=4), "conv_kernel")
    # __post_init__ derives intermediate_size from expand, but a config's own
    # intermediate_size is set after it and wins.
    if r.present("intermediate_size"):
        r.set("mamba.d_inner", r.size("intermediate_size"), "intermediate_size")
    else:
        r.set("mamba.expansion", r.size("expand", default=2), "expand")
    if r.value("time_step_rank") not in (None, "auto"):
        r.set("mamba.dt_rank", r.size("time_step_rank"), "time_step_rank")
    r.set("mamba.conv_bias", r.flag("use_conv_bias", True), "use_conv_bias")
    r.set("mamba.proj_bias", r.flag("use_bias", False), "use_bias")
    _tie(r, True)


# ------------------------------------------------------------------ gated DeltaNet hybrids


def _deltanet_group(r: ConfigReader, *, key_heads: int, value_heads: int) -> None:
    """Qwen3.5's gated DeltaNet mixer from the ``linear_*`` keys (head widths 128, conv 4)."""
    r.set("mixer", "gated_deltanet")
    r.set(
        "deltanet.key_heads",
        r.size("linear_num_key_heads", default=key_heads),
        "linear_num_key_heads",
    )
    r.set(
        "deltanet.value_heads",
        r.size("linear_num_value_heads", default=value_heads),
        "linear_num_value_heads",
    )
    r.set(
        "deltanet.key_head_dim", r.size("linear_key_head_dim", default=128), "linear_key_head_dim"
    )
    r.set(
        "deltanet.value_head_dim",
        r.size("linear_value_head_dim", default=128),
        "linear_value_head_dim",
    )
    r.set(
        "deltanet.conv_size", r.size("linear_conv_kernel_dim", default=4), "linear_conv_kernel_dim"
    )


def _deltanet(r: ConfigReader, *, kv_heads: int, others: str) -> list[str] | None:
    """Qwen3-Next / Qwen3.5: gated DeltaNet in ``linear_attention`` layers, gated full
    attention (q_proj doubled for the output gate, per-head q/k norms) in
    ``full_attention`` ones; ``others`` says what the remaining layer types build
    ("full": attention too; "nomixer": no mixer, refused). Returns each layer's mixer."""
    n_layers, _, _ = _decoder(r, positional="rope")
    _kv_heads(r, "num_key_value_heads", kv_heads)
    r.set("d_head", r.size("head_dim", default=256), "head_dim")
    if r.flag("attention_bias", False):
        # The fused gate shares q_proj's bias (2 × heads × head_dim); the spec's gate has none.
        r.unsupported("attention_bias", "attention_bias (the gated q_proj's bias)")
    r.set("bias", False)
    _deltanet_group(r, key_heads=16, value_heads=32)
    types = _layer_type_list(r, "layer_types", n_layers)
    if types is None and not r.present("layer_types") and isinstance(n_layers, int):
        interval = r.size("full_attention_interval", default=4)
        if not isinstance(interval, int):
            return None
        types = [
            "linear_attention" if (i + 1) % interval else "full_attention" for i in range(n_layers)
        ]
    if types is None:
        return None
    mixers = {"linear_attention": "", "full_attention": "full"}
    if others == "nomixer" and set(types) - set(mixers):
        # transformers builds such a layer without a mixer but keeps both of its norms,
        # which the spec's mixer: none (one norm) cannot express.
        other = sorted(set(types) - set(mixers))[0]
        r.unsupported("layer_types", f"layer type '{show(other)}' (a block without a mixer)")
        return None
    return [mixers.get(t, others) for t in types]


def _deltanet_layout(r: ConfigReader, mixers: list[str], dense: Sequence[bool] = ()) -> None:
    """The stack of a DeltaNet hybrid: each layer's mixer, and whether its MLP is dense
    where the top-level block has experts."""
    kinds = []
    for i, mixer in enumerate(mixers):
        name = f"{mixer}_dense" if dense and dense[i] else mixer
        kinds.append(name.strip("_") or "default")
    attention = {"mixer": "attention", "attention_gate": "element", "qk_norm": True}
    blocks: dict[str, Any] = {
        "full": attention,
        "dense": {"moe": False},
        "full_dense": {**attention, "moe": False},
    }
    _layout(r, kinds, blocks, "layer_types", "full_attention_interval", "mlp_only_layers")


def _qwen_experts(r: ConfigReader, experts: Any, top_k_default: int) -> None:
    """Routed experts plus a gated shared expert (Qwen3-Next, Qwen3.5-MoE)."""
    r.set("moe.n_experts", experts, "num_experts")
    r.set("moe.top_k", r.size("num_experts_per_tok", default=top_k_default), "num_experts_per_tok")
    r.set("moe.d_ff_expert", r.size("moe_intermediate_size", default=512), "moe_intermediate_size")
    r.set("moe.n_shared_experts", 1)
    r.set(
        "moe.d_ff_shared",
        r.size("shared_expert_intermediate_size", default=512),
        "shared_expert_intermediate_size",
    )
    r.set("moe.shared_expert_gate", True)


def _qwen3_next(r: ConfigReader) -> None:
    """Qwen3-Next: gated DeltaNet with gated full attention every fourth layer, routed
    experts with a gated shared expert; layers in ``mlp_only_layers`` or off the
    ``decoder_sparse_step`` keep a dense MLP of ``intermediate_size`` (every layer does
    with ``num_experts: 0``)."""
    mixers = _deltanet(r, kv_heads=2, others="nomixer")
    r.set("d_ff", r.size("intermediate_size", default=5632), "intermediate_size")
    experts = r.count("num_experts", default=512)
    if not experts:
        if mixers is not None:
            _deltanet_layout(r, mixers)
        return
    _qwen_experts(r, experts, 10)
    step = r.size("decoder_sparse_step", default=1)
    only = set(_int_list(r, "mlp_only_layers"))
    if mixers is not None and isinstance(step, int):
        dense = [i in only or bool((i + 1) % step) for i in range(len(mixers))]
        _deltanet_layout(r, mixers, dense)


def _qwen3_5_text(r: ConfigReader) -> None:
    """Qwen3.5 (dense): gated DeltaNet, gated full attention in every other layer type,
    a dense gated MLP."""
    mixers = _deltanet(r, kv_heads=4, others="full")
    r.set("d_ff", r.size("intermediate_size", default=12288), "intermediate_size")
    if mixers is not None:
        _deltanet_layout(r, mixers)


def _qwen3_5_moe_text(r: ConfigReader) -> None:
    """Qwen3.5-MoE: gated DeltaNet and gated full attention, experts with a gated shared
    expert in every layer; no dense MLP, so d_ff is the experts' width."""
    mixers = _deltanet(r, kv_heads=2, others="nomixer")
    _qwen_experts(r, r.size("num_experts", default=256), 8)
    r.set("d_ff", r.spec.get("moe", {}).get("d_ff_expert"), "moe_intermediate_size")
    if mixers is not None:
        _deltanet_layout(r, mixers)


#: LaraMiniConfig's layer types when it gives none: this pattern, repeated.
LARA_PATTERN = (
    "linear_attention",
    "sliding_attention",
    "linear_attention",
    "full_attention",
    "sliding_attention",
)


def _lara_mini(r: ConfigReader) -> None:
    """LARA mini: Qwen3.5's gated DeltaNet in ``linear_attention`` layers, Qwen3's attention
    (per-head q/k norms, no output gate; ``attention_bias`` on q, k, v and o) in every
    other layer type; in every layer routed experts plus a shared expert added without a
    gate, and no dense MLP (d_ff is the experts' width)."""
    n_layers, _, _ = _decoder(r, positional="rope", tie=True)
    _kv_heads(r, "num_key_value_heads", 4)
    r.set("d_head", r.size("head_dim", default=128), "head_dim")
    _rope_head_dim(r)
    _deltanet_group(r, key_heads=8, value_heads=16)
    keys, values = (r.spec["deltanet"].get(k) for k in ("key_heads", "value_heads"))
    if isinstance(keys, int) and isinstance(values, int) and values % keys:
        r.error(
            "linear_num_value_heads",
            f"'linear_num_value_heads' ({values}) must be a multiple of 'linear_num_key_heads' "
            f"({keys}); transformers refuses this config",
        )
    r.set("moe.n_experts", r.size("num_experts", default=128), "num_experts")
    r.set("moe.top_k", r.size("num_experts_per_tok", default=4), "num_experts_per_tok")
    width = r.size("moe_intermediate_size", default=512)
    r.set("moe.d_ff_expert", width, "moe_intermediate_size")
    r.set("d_ff", width, "moe_intermediate_size")
    r.set("moe.n_shared_experts", 1)
    r.set(
        "moe.d_ff_shared",
        r.size("shared_expert_intermediate_size", default=512),
        "shared_expert_intermediate_size",
    )
    types = _layer_type_list(r, "layer_types", n_layers)
    if types is None and not r.present("layer_types") and isinstance(n_layers, int):
        types = [LARA_PATTERN[i % len(LARA_PATTERN)] for i in range(n_layers)]
    if types is None:
        return
    attention: dict[str, Any] = {"mixer": "attention", "qk_norm": True}
    if r.flag("attention_bias", False):
        attention["bias"] = True
        attention["mlp_bias"] = False
    kinds = ["default" if t == "linear_attention" else "attention" for t in types]
    _layout(r, kinds, {"attention": attention}, "layer_types", "attention_bias")


def _olmo_hybrid(r: ConfigReader) -> None:
    """OLMo-Hybrid: gated DeltaNet layers (pre-norm; q, k, v, a, b, g projections stored
    apart, count-equal to Qwen3.5's) and, for every other layer type, OLMo 2's attention
    (q/k norms over whole projections, norms after attention and MLP: two per block)."""
    n_layers, d_model, n_heads = _decoder(r, positional="rope")
    _kv_heads(r, "num_key_value_heads", MHA, MHA)
    _head_dim(r, d_model, n_heads)
    _biases(r, "attention_bias", None)
    r.set("d_ff", r.size("intermediate_size", default=11008), "intermediate_size")
    r.set("mixer", "gated_deltanet")
    # Count-equal to Qwen3.5's fused projections, but named one per projection, as saved.
    r.set("deltanet.fused_projections", False)
    # __post_init__ derives the DeltaNet's shapes from the attention's when left out (null).
    keys = r.size("linear_num_key_heads", default=n_heads, nullable=True)
    values = r.size("linear_num_value_heads", default=n_heads, nullable=True)
    if r.present("linear_key_head_dim"):
        key_dim = r.size("linear_key_head_dim")
    elif isinstance(d_model, int) and isinstance(keys, int):
        key_dim = int(0.75 * d_model / keys)
        if key_dim < 1:
            r.error("hidden_size", "the derived linear_key_head_dim is 0; give it")
            key_dim = None
    else:
        key_dim = None
    if r.present("linear_value_head_dim"):
        value_dim = r.size("linear_value_head_dim")
    else:
        value_dim = 2 * key_dim if key_dim else None
    r.set("deltanet.key_heads", keys, "linear_num_key_heads", "num_attention_heads")
    r.set("deltanet.value_heads", values, "linear_num_value_heads", "num_attention_heads")
    r.set("deltanet.key_head_dim", key_dim, "linear_key_head_dim", "hidden_size")
    r.set("deltanet.value_head_dim", value_dim, "linear_value_head_dim", "linear_key_head_dim")
    r.set(
        "deltanet.conv_size", r.size("linear_conv_kernel_dim", default=4), "linear_conv_kernel_dim"
    )
    types = _layer_type_list(r, "layer_types", n_layers)
    if types is None and not r.present("layer_types") and isinstance(n_layers, int):
        types = ["full_attention" if i % 4 == 3 else "linear_attention" for i in range(n_layers)]
        if "full_attention" not in types:
            types[-1] = "full_attention"
    if types is None:
        return
    if "linear_attention" not in types or all(t == "linear_attention" for t in types):
        r.error(
            "layer_types",
            "OLMo-Hybrid needs both linear_attention and attention layers; transformers "
            "refuses this config",
        )
        return
    attention = {
        "mixer": "attention",
        "qk_norm": True,
        "qk_norm_scope": "projection",
        "norm_position": "post",
    }
    kinds = ["default" if t == "linear_attention" else "attention" for t in types]
    _layout(r, kinds, {"attention": attention}, "layer_types")


def _lfm2_ff(r: ConfigReader) -> Any:
    """Lfm2MLP's width: 2/3 of intermediate_size (``block_ff_dim`` wins), scaled by
    block_ffn_dim_multiplier and rounded up to block_multiple_of, when auto-adjusted."""
    key = "block_ff_dim" if "block_ff_dim" in r.data else "intermediate_size"
    width = r.size(key, default=12288)
    if not isinstance(width, int) or not r.flag("block_auto_adjust_ff_dim", True):
        return width
    width = int(2 * width / 3)
    multiplier = r.value("block_ffn_dim_multiplier")
    if "block_ffn_dim_multiplier" not in r.data:
        multiplier = 1.0
    elif isinstance(multiplier, bool) or not isinstance(multiplier, (int, float)):
        r.error(
            "block_ffn_dim_multiplier",
            f"'block_ffn_dim_multiplier' must be a number, got {show(multiplier)}",
        )
        return None
    step = r.size("block_multiple_of", default=256)
    if not isinstance(step, int):
        return None
    width = int(multiplier * width)
    return step * ((width + step - 1) // step)


def _lfm2(r: ConfigReader) -> None:
    """LFM2: attention layers (per-head q/k RMSNorms) and, where ``layer_types`` says
    ``conv`` (or off ``full_attn_idxs``), gated short convolutions; a SwiGLU MLP whose
    width LFM2 derives from intermediate_size; the final RMSNorm is called embedding_norm."""
    n_layers, d_model, n_heads = _decoder(r, positional="rope")
    key = "tie_embedding" if "tie_embedding" in r.data else "tie_word_embeddings"
    r.set("tie_embeddings", r.flag(key, True), key)
    _kv_heads(r, "num_key_value_heads", 8)
    _head_dim(r, d_model, n_heads)
    r.set("bias", False)
    r.set("qk_norm", True)
    r.set("d_ff", _lfm2_ff(r), "intermediate_size", "block_ff_dim")
    _short_conv(r, kernel_default=3)
    types = _layer_type_list(r, "layer_types", n_layers)
    if types is None and not r.present("layer_types") and isinstance(n_layers, int):
        full = r.value("full_attn_idxs")
        if full is not None:
            full = set(_int_list(r, "full_attn_idxs"))
        types = ["full_attention" if full is None or i in full else "conv" for i in range(n_layers)]
    if types is not None:
        kinds = ["conv" if t == "conv" else "default" for t in types]
        _layout(r, kinds, {"conv": {"mixer": "short_conv"}}, "layer_types", "full_attn_idxs")


def _short_conv(r: ConfigReader, *, kernel_default: int) -> None:
    """LFM's gated short convolution: ``conv_L_cache`` taps, ``conv_bias`` on all three."""
    r.set(
        "short_conv.kernel_size",
        r.size("conv_L_cache", default=kernel_default),
        "conv_L_cache",
    )
    if r.flag("conv_bias", False):
        r.set("short_conv.biases", True, "conv_bias")


def _lfm3(r: ConfigReader) -> None:
    """LFM3: LFM2's gated short convolutions in the ``conv`` layers, attention in the
    others (per-head q/k RMSNorms, a sigmoid gate per head from ``use_attention_gate``,
    ``attention_bias`` on q, k, v and o; sliding or full, alike in shape); every block
    norms its operator's and MLP's outputs too (``use_sandwich_norm``); a SwiGLU MLP of
    intermediate_size; the final RMSNorm is called embedding_norm."""
    n_layers, d_model, n_heads = _decoder(r, positional="rope", tie=True)
    _kv_heads(r, "num_key_value_heads", 4)
    _head_dim(r, d_model, n_heads, default=128)
    _rope_head_dim(r)  # its sliding layers rotate the whole head
    if r.flag("attention_bias", False):
        r.set("bias", True, "attention_bias")
        r.set("mlp_bias", False)
    r.set("qk_norm", True)
    if r.flag("use_attention_gate", True):
        r.set("attention_gate", "head", "use_attention_gate")
    if r.flag("use_sandwich_norm", True):
        r.set("post_norms", True, "use_sandwich_norm")
    r.set("d_ff", r.size("intermediate_size", default=7680), "intermediate_size")
    r.set("mixer", "short_conv")
    _short_conv(r, kernel_default=7)
    types = _layer_type_list(r, "layer_types", n_layers)
    if types is None and not r.present("layer_types") and isinstance(n_layers, int):
        types = [
            "full_attention" if i % 4 == 2 else "sliding_attention" if i % 4 == 0 and i else "conv"
            for i in range(n_layers)
        ]
    if types is not None:
        kinds = ["default" if t == "conv" else "attention" for t in types]
        _layout(r, kinds, {"attention": {"mixer": "attention"}}, "layer_types")


# ------------------------------------------------------------------ interleaved experts


def _llama4_text(r: ConfigReader) -> None:
    """Llama 4 (text): Llama attention (``use_qk_norm`` is a weightless L2 norm;
    ``attention_bias`` on q, k, v and o); in the layers of ``moe_layers`` (by default every
    ``interleave_moe_layer_step``-th) routed experts of width ``intermediate_size`` plus a
    shared expert as wide, a dense MLP of ``intermediate_size_mlp`` elsewhere."""
    _llama_like(
        r,
        bias_key="attention_bias",
        mlp_bias=False,
        head_dim=128,
        kv_absent=8,
        d_ff=("intermediate_size_mlp",),
    )
    n_layers = r.spec.get("n_layers")
    width = r.size("intermediate_size", default=8192)
    _experts(
        r,
        ("num_local_experts",),
        ("num_experts_per_tok",),
        (),
        n_default=16,
        k_default=1,
    )
    r.set("moe.d_ff_expert", width, "intermediate_size")
    r.set("moe.n_shared_experts", 1)
    r.set("moe.d_ff_shared", width, "intermediate_size")
    if not isinstance(n_layers, int):
        return
    if r.value("moe_layers") is not None:
        sparse = set(_int_list(r, "moe_layers"))
    else:
        step = r.size("interleave_moe_layer_step", default=1)
        if not isinstance(step, int):
            return
        sparse = set(range(step - 1, n_layers, step))
    kinds = ["default" if i in sparse else "dense" for i in range(n_layers)]
    _layout(r, kinds, {"dense": {"moe": False}}, "moe_layers", "interleave_moe_layer_step")


def _per_layer_sizes(r: ConfigReader, key: str, n_layers: int) -> list[int] | None:
    """A per-layer list of sizes (``num_attention_heads_per_layer``) of ``n_layers``
    entries; None when absent or malformed (a located error)."""
    value = r.value(key)
    if value is None:
        return None
    sizes: list[int] = []
    for v in value if isinstance(value, list) else [None]:
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            r.error(key, f"'{key}' must be a list of integers ≥ 1, got {show(value)}")
            return None
        sizes.append(v)
    if len(sizes) != n_layers:
        r.error(
            key,
            f"'{key}' lists {len(sizes)} layers but the config has {n_layers}; "
            "transformers refuses this config",
        )
        return None
    return sizes


def _laguna(r: ConfigReader) -> None:
    """Laguna: per-head q/k norms and an output gate (per head when ``gating`` is true or
    "per-head", per element otherwise), a number of query heads per layer
    (``num_attention_heads_per_layer``); in the layers ``mlp_layer_types`` marks
    "sparse" (all but the first by default) routed experts with a learned
    score-correction bias plus an ungated shared expert, a dense MLP elsewhere."""
    _llama_like(r, bias_key="attention_bias", mlp_bias=False, head_dim=128, kv_absent=8)
    r.set("qk_norm", True)
    gating = r.value("gating")
    if gating is not None and not isinstance(gating, (bool, str)):
        r.error("gating", f"'gating' must be true, false or a string, got {show(gating)}")
    per_head = gating is None or gating is True or gating == "per-head"
    r.set("attention_gate", "head" if per_head else "element", "gating")
    _experts(
        r,
        ("num_experts",),
        ("num_experts_per_tok",),
        ("moe_intermediate_size",),
        n_default=256,
        k_default=8,
        ff_default=512,
    )
    r.set("moe.n_shared_experts", 1)
    r.set(
        "moe.d_ff_shared",
        r.size("shared_expert_intermediate_size", default=512),
        "shared_expert_intermediate_size",
    )
    r.set("moe.router_bias", True)  # e_score_correction_bias is a parameter here
    if r.value("moe_apply_router_weight_on_input") is True:
        r.error(
            "moe_apply_router_weight_on_input",
            "moe_apply_router_weight_on_input: true is refused by transformers' Laguna",
        )
    n_layers, n_heads = r.spec.get("n_layers"), r.spec.get("n_heads")
    if not isinstance(n_layers, int) or not isinstance(n_heads, int):
        return
    heads = _per_layer_sizes(r, "num_attention_heads_per_layer", n_layers)
    if heads is None and r.value("num_attention_heads_per_layer") is not None:
        return
    types = r.value("mlp_layer_types")
    if types is not None and not (
        isinstance(types, list) and all(isinstance(t, str) for t in types)
    ):
        r.error("mlp_layer_types", f"'mlp_layer_types' must be a list of names, got {show(types)}")
        return
    if types is None:
        types = ["dense"] + ["sparse"] * (n_layers - 1)
    elif len(types) != n_layers:
        return  # reported by _llama_like
    kinds, blocks = [], {}
    for i in range(n_layers):
        h = heads[i] if heads else n_heads
        dense = types[i] != "sparse"
        if h == n_heads and not dense:
            kinds.append("default")
            continue
        name = f"heads_{h}" + ("_dense" if dense else "")
        blocks[name] = {"n_heads": h, **({"moe": False} if dense else {})}
        kinds.append(name)
    _layout(r, kinds, blocks, "num_attention_heads_per_layer", "mlp_layer_types")


# ------------------------------------------------------------------ other mixers


def _kimi_linear(r: ConfigReader) -> None:
    """Kimi Linear: Kimi Delta Attention in the ``linear_attention`` layers, DeepSeek's
    latent attention (full-rank queries unless q_lora_rank) in the others (every fourth
    from layer 4 by default); routed experts (a router without bias: the score correction
    is a buffer) plus a shared MLP of n_shared_experts × moe_intermediate_size where
    ``mlp_layer_types`` says "sparse" (all but the first first_k_dense_replace layers by
    default), a dense MLP elsewhere. Published checkpoints keep the delta attention's
    sizes and layers in ``linear_attn_config``, which wins, as in __post_init__."""
    n_layers, bias = _latent_hybrid(r, d_ff=9216, even_rope=False)
    sub = r.value("linear_attn_config")
    if sub is not None and not isinstance(sub, dict):
        r.error("linear_attn_config", f"'linear_attn_config' must be a mapping, got {show(sub)}")
        sub = None
    sub = sub or {}
    _kimi_k3_keys(r, sub)
    for group_key, key, inner, default in (
        ("kda.heads", "linear_num_heads", "num_heads", 32),
        ("kda.head_width", "linear_head_dim", "head_dim", 128),
        ("kda.conv_taps", "linear_conv_kernel_dim", "short_conv_kernel_size", 4),
    ):
        if inner in sub:
            value = sub[inner]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                r.error(
                    "linear_attn_config",
                    f"'linear_attn_config.{inner}' must be an integer ≥ 1, got {show(value)}",
                )
                continue
            r.set(group_key, value, "linear_attn_config")
        else:
            r.set(group_key, r.size(key, default=default), key)
    _latent_experts(r, experts=256, d_ff=1024)
    if not isinstance(n_layers, int):
        return
    mixers = _kimi_layer_types(r, n_layers, sub)
    _latent_layout(r, mixers, _dense_layers(r, n_layers, first=1), {}, bias, "linear_attn_config")


def _bailing_hybrid(r: ConfigReader) -> None:
    """Ling 3 (BailingHybrid): Kimi Linear's layout with its own delta attention (full-rank
    forget and output gates; ``linear_num_heads`` heads of ``linear_head_dim`` convolving
    ``linear_conv_kernel_dim`` taps, which default to num_attention_heads, head_dim and
    short_conv_kernel_size) and a head-wise sigmoid gate on the latent attention, which
    sits in every ``layer_group_size``-th layer; the first first_k_dense_replace layers
    dense."""
    n_layers, bias = _latent_hybrid(r, d_ff=6144, even_rope=True)
    # __post_init__ derives the linear_* keys from these, but a config's own linear_* keys
    # are set after it (they are not fields of the class) and win
    for group_key, own, derived in (
        ("kda.heads", "linear_num_heads", "num_attention_heads"),
        ("kda.head_width", "linear_head_dim", "head_dim"),
        ("kda.conv_taps", "linear_conv_kernel_dim", "short_conv_kernel_size"),
    ):
        key = own if r.present(own) or own in r.data else derived  # null: refused
        default = {"head_dim": 128, "short_conv_kernel_size": 4}.get(key)
        r.set(group_key, r.size(key, default=default), key)
    r.set("kda.full_rank_gates", True)
    _latent_experts(r, experts=512, d_ff=768)
    if not isinstance(n_layers, int):
        return
    types = _layer_type_list(r, "layer_types", n_layers)
    if types is None and not r.present("layer_types"):
        group = r.size("layer_group_size", default=6)
        if not isinstance(group, int):
            return
        types = [
            "linear_attention" if (i + 1) % group else "full_attention" for i in range(n_layers)
        ]
    mixers = None if types is None else [t == "full_attention" for t in types]
    dense = _dense_layers(r, n_layers, first=2)
    gate = {"attention_gate": "head"}
    _latent_layout(r, mixers, dense, gate, bias, "layer_group_size", "first_k_dense_replace")


def _latent_hybrid(r: ConfigReader, *, d_ff: int, even_rope: bool) -> tuple[Any, bool]:
    """The decoder of Kimi Linear and Ling 3: delta-attention blocks by default, RMSNorms,
    a SwiGLU dense MLP, DeepSeek's latent attention keys; returns (depth, attention_bias)."""
    n_layers, d_model, n_heads = _decoder(r, positional="rope")
    # the causal-LM class ties nothing (_tied_weights_keys is empty), whatever the flag says
    r.set("tie_embeddings", False)
    if isinstance(d_model, int) and isinstance(n_heads, int) and d_model % n_heads:
        r.set("d_head", d_model // n_heads, "hidden_size")  # unused by MLA's shapes
    r.set("d_ff", r.size("intermediate_size", default=d_ff), "intermediate_size")
    r.set("mixer", "kda")
    _kimi_mla(r, even_rope=even_rope)
    return n_layers, r.flag("attention_bias", False)


def _latent_experts(r: ConfigReader, *, experts: int, d_ff: int) -> None:
    """Routed experts (a router without bias: the score correction is a buffer) plus one
    shared MLP of num_shared_experts × moe_intermediate_size."""
    r.set("moe.n_experts", r.size("num_experts", default=experts), "num_experts")
    r.set("moe.top_k", r.size("num_experts_per_token", default=8), "num_experts_per_token")
    r.set("moe.d_ff_expert", r.size("moe_intermediate_size", default=d_ff), "moe_intermediate_size")
    shared = r.count("num_shared_experts", default=1)
    if shared:
        r.set("moe.n_shared_experts", shared, "num_shared_experts")


def _latent_layout(
    r: ConfigReader,
    full: list[bool] | None,
    dense: list[bool] | None,
    attention: dict[str, Any],
    bias: bool,
    *source: str,
) -> None:
    """Each layer's kind from whether it has latent attention and whether its MLP is dense;
    ``attention`` adds keys to the latent-attention kinds (attention_bias biases only them:
    the delta attention has none)."""
    if full is None or dense is None:
        return
    kind = {"mixer": "attention", **attention}
    if bias:
        kind |= {"bias": True, "mlp_bias": False}
    blocks = {"dense": {"moe": False}, "full": kind, "full_dense": {**kind, "moe": False}}
    kinds = [
        ("full" if m else "") + ("_dense" if d else "") for m, d in zip(full, dense, strict=True)
    ]
    names = [k.strip("_") or "default" for k in kinds]
    _layout(r, names, blocks, "layer_types", "mlp_layer_types", *source)


#: Keys of Kimi-K3 configs (model_type kimi_linear too) that change its shapes there but
#: that transformers 5.24's Kimi Linear does not build: refused rather than ignored.
KIMI_K3_KEYS = {
    "routed_expert_hidden_size": "routed_expert_hidden_size (latent expert projections)",
    "latent_moe_use_norm": "latent_moe_use_norm (a norm in the latent experts)",
    "mla_use_output_gate": "mla_use_output_gate (an output gate on the latent attention)",
    "attn_res_block_size": "attn_res_block_size (attention residual blocks)",
}


def _kimi_k3_keys(r: ConfigReader, sub: dict[str, Any]) -> None:
    # Kimi's own code places experts every moe_layer_freq layers; transformers in all of them
    r.only("moe_layer_freq", 1, why="moe_layer_freq other than 1 (experts every few layers)")
    for key, why in KIMI_K3_KEYS.items():
        if r.present(key) and r.data[key] is not False:
            r.unsupported(key, why)
    if sub.get("use_full_rank_gate") not in (None, False):
        r.unsupported(
            "linear_attn_config", "linear_attn_config.use_full_rank_gate (a full-rank output gate)"
        )


def _kimi_mla(r: ConfigReader, *, even_rope: bool) -> None:
    """Kimi Linear's latent attention keys (q_lora_rank null by default: a full-rank q_proj);
    ``even_rope``: the model rotates qk_rope_head_dim (Ling 3; Kimi's latent attention
    uses no RoPE)."""
    if r.present("q_lora_rank"):
        r.set("mla.q_lora_rank", r.size("q_lora_rank"), "q_lora_rank")
    else:
        r.defaults.setdefault("q_lora_rank", None)
        r.set("mla.q_lora_rank", 0)
    r.set("mla.kv_lora_rank", r.size("kv_lora_rank", default=512), "kv_lora_rank")
    rope = r.size("qk_rope_head_dim", default=64)
    r.set("mla.qk_rope_head_dim", rope, "qk_rope_head_dim")
    if even_rope and isinstance(rope, int) and rope % 2:
        r.error("qk_rope_head_dim", f"RoPE needs an even qk_rope_head_dim, got {rope}")
    r.set("mla.qk_nope_head_dim", r.size("qk_nope_head_dim", default=128), "qk_nope_head_dim")
    r.set("mla.v_head_dim", r.size("v_head_dim", default=128), "v_head_dim")


def _kimi_layer_types(r: ConfigReader, n_layers: int, sub: dict[str, Any]) -> list[bool] | None:
    """Whether each layer has full (latent) attention: ``layer_types``, else the 1-based
    ``full_attn_layers`` / ``kda_layers`` of linear_attn_config, else every fourth from 4."""
    types = _layer_type_list(r, "layer_types", n_layers)
    if types is not None:
        return [t == "full_attention" for t in types]
    if r.present("layer_types"):
        return None  # reported
    if "full_attn_layers" in sub and "kda_layers" in sub:
        full, linear = sub["full_attn_layers"], sub["kda_layers"]
        listed: dict[int, bool] = {}
        for indices, is_full in ((full, True), (linear, False)):
            if not isinstance(indices, list) or not all(
                isinstance(i, int) and not isinstance(i, bool) and 1 <= i <= n_layers
                for i in indices
            ):
                r.error(
                    "linear_attn_config",
                    "'linear_attn_config' full_attn_layers and kda_layers must list layer "
                    f"numbers from 1 to {n_layers}",
                )
                return None
            listed.update((i - 1, is_full) for i in indices)
        if len(listed) != n_layers:
            r.error(
                "linear_attn_config",
                "'linear_attn_config' full_attn_layers and kda_layers together must name "
                f"every layer from 1 to {n_layers}",
            )
            return None
        return [listed[i] for i in range(n_layers)]
    return [bool(i) and i % 4 == 0 for i in range(n_layers)]


def _dense_layers(r: ConfigReader, n_layers: int, *, first: int) -> list[bool] | None:
    """Whether each layer keeps a dense MLP: ``mlp_layer_types`` (anything but "sparse"),
    else the first ``first_k_dense_replace`` (``first``) layers."""
    value = r.value("mlp_layer_types")
    if value is not None:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            r.error(
                "mlp_layer_types",
                f"'mlp_layer_types' must be a list of 'dense' or 'sparse', got {show(value)}",
            )
            return None
        if len(value) != n_layers:
            return None  # reported by _core
        return [v != "sparse" for v in value]
    count = r.count("first_k_dense_replace", default=first)
    if not isinstance(count, int):
        return None
    return [i < count for i in range(n_layers)]


def _minimax(r: ConfigReader) -> None:
    """MiniMax-Text-01: Mixtral's experts in every layer; lightning attention (fused qkv,
    an output gate, an RMSNorm, out_proj) in the ``linear_attention`` layers, full
    attention in the others (by default every other layer, the first full)."""
    _llama_like(r, kv_absent=8)
    _experts(
        r,
        ("num_local_experts",),
        ("num_experts_per_tok",),
        (),
        n_default=8,
        k_default=2,
    )
    r.set("mixer", "lightning")
    n_layers = r.spec.get("n_layers")
    types = _layer_type_list(r, "layer_types", n_layers)
    if types is None and not r.present("layer_types") and isinstance(n_layers, int):
        types = ["full_attention" if (i + 1) % 2 else "linear_attention" for i in range(n_layers)]
    if types is not None:
        kinds = ["default" if t == "linear_attention" else "full" for t in types]
        _layout(r, kinds, {"full": {"mixer": "attention"}}, "layer_types")


def _falcon_h1(r: ConfigReader) -> None:
    """Falcon-H1: attention and a Mamba-2 mixer side by side in every block (one input
    norm, outputs summed), then a gated MLP; the mixer's width is ``mamba_d_ssm`` (else
    mamba_expand × hidden_size), its heads ``mamba_n_heads`` of ``mamba_d_head``."""
    _llama_like(r, bias_key="attention_bias", kv_absent=8, kv_null=MHA)
    mlp_bias = r.flag("mlp_bias", False)
    r.set("mlp_bias", mlp_bias, "mlp_bias")
    d_model = r.spec.get("d_model")
    r.set("mixer", "attention+mamba2")
    heads = r.size("mamba_n_heads", default=128)
    r.set("mamba.ssm_heads", heads, "mamba_n_heads")
    r.set("mamba.d_state", r.size("mamba_d_state", default=256), "mamba_d_state")
    r.set("mamba.d_conv", r.size("mamba_d_conv", default=4), "mamba_d_conv")
    r.set("mamba.n_groups", r.size("mamba_n_groups", default=1), "mamba_n_groups")
    r.set("mamba.conv_bias", r.flag("mamba_conv_bias", True), "mamba_conv_bias")
    proj_bias = r.flag("mamba_proj_bias", False)
    if r.flag("projectors_bias", False) != proj_bias:
        # the spec's proj_bias covers in_proj and out_proj; Falcon-H1 flags them apart
        r.unsupported("projectors_bias", "projectors_bias different from mamba_proj_bias")
    r.set("mamba.proj_bias", proj_bias, "mamba_proj_bias")
    r.set("mamba.gated_norm", r.flag("mamba_rms_norm", False), "mamba_rms_norm")
    expand = r.size("mamba_expand", default=2)
    if r.present("mamba_d_ssm"):
        inner = r.size("mamba_d_ssm")
        r.set("mamba.d_inner", inner, "mamba_d_ssm")
    else:
        inner = expand * d_model if isinstance(expand, int) and isinstance(d_model, int) else None
        r.set("mamba.expansion", expand, "mamba_expand")
    if not isinstance(inner, int) or not isinstance(heads, int):
        return
    if inner % heads:
        r.error(
            "mamba_n_heads", f"'mamba_n_heads' ({heads}) must divide the mixer's width ({inner})"
        )
        return
    dim = r.value("mamba_d_head")
    dim = inner // heads if dim in (None, "auto") else r.size("mamba_d_head")
    if isinstance(dim, int) and dim * heads != inner:
        r.error(
            "mamba_d_head",
            f"'mamba_d_head' × 'mamba_n_heads' ({dim} × {heads}) must equal the mixer's width "
            f"({inner}); transformers refuses this config",
        )
    r.set("mamba.head_dim", dim, "mamba_d_head")


def _recurrent_gemma(r: ConfigReader) -> None:
    """RecurrentGemma (Griffin): RG-LRU recurrent blocks and local attention blocks
    cycling through ``block_types``; attention with a biased o_proj (q/k/v biased only
    with attention_bias; head_dim hidden_size // heads unless given), biased GeGLU MLPs of
    intermediate_size // 2, a tied head."""
    r.set("architecture", "decoder")
    d_model, n_heads = _core(r, ("num_hidden_layers",), ("hidden_size",), ("num_attention_heads",))
    n_layers = r.spec.get("n_layers")
    _kv_heads(r, "num_key_value_heads", MHA, MHA)
    # __post_init__ derives head_dim from the width, but a head_dim the config gives wins
    _head_dim(r, d_model, n_heads)
    width = r.size("intermediate_size", default=3 * 2560)
    r.set("d_ff", width // 2 if isinstance(width, int) else None, "intermediate_size")
    r.set("positional", "rope")
    r.set("mlp", "geglu")
    r.set("norm", "rmsnorm")
    bias = r.flag("attention_bias", False)
    r.set("bias", bias, "attention_bias")
    r.set("mlp_bias", True)
    _tie(r, True)
    r.set("mixer", "rglru")
    lru = r.size("lru_width", nullable=True) if r.present("lru_width") else d_model
    r.set("rglru.lru_width", lru, "lru_width", "hidden_size")
    r.set("rglru.conv_width", r.size("conv1d_width", default=4), "conv1d_width")
    blocks = r.value("block_types")
    if blocks is None and "block_types" not in r.data:
        blocks = ["recurrent", "recurrent", "attention"]
    if not isinstance(blocks, list) or not blocks or not all(isinstance(b, str) for b in blocks):
        r.error("block_types", f"'block_types' must be a list of block names, got {show(blocks)}")
        return
    if not isinstance(n_layers, int):
        return
    cycle = (blocks * (n_layers // len(blocks) + 1))[:n_layers]
    kinds = ["default" if b == "recurrent" else "attention" for b in cycle]
    attention = {"mixer": "attention", "o_bias": True}
    _layout(r, kinds, {"attention": attention}, "block_types")


#: model_type -> translator.
TRANSLATORS: dict[str, Translator] = {
    "jamba": _jamba,
    "bamba": _bamba,
    "granitemoehybrid": _granitemoehybrid,
    "nemotron_h": _nemotron_h,
    "falcon_mamba": _falcon_mamba,
    "lfm2": _lfm2,
    "lfm3": _lfm3,
    "olmo_hybrid": _olmo_hybrid,
    "lara_mini": _lara_mini,
    "llama4_text": _llama4_text,
    "laguna": _laguna,
    "minimax": _minimax,
    "kimi_linear": _kimi_linear,
    "bailing_hybrid": _bailing_hybrid,
    "falcon_h1": _falcon_h1,
    "recurrent_gemma": _recurrent_gemma,
    "qwen3_next": _qwen3_next,
    "qwen3_5_text": _qwen3_5_text,
    "qwen3_5_moe_text": _qwen3_5_moe_text,
}

#: The attribute_map Kimi Linear and Ling 3 share.
LATENT_HYBRID_ALIASES = {
    "num_local_experts": "num_experts",
    "num_experts_per_tok": "num_experts_per_token",
    "n_shared_experts": "num_shared_experts",
    "max_position_embeddings": "model_max_length",
    "norm_topk_prob": "moe_renormalize",
    "n_group": "num_expert_group",
}

#: Each config class's ``attribute_map`` (alias -> key) in transformers 5.24.
ATTRIBUTE_MAPS: dict[str, dict[str, str]] = {
    "jamba": {"num_local_experts": "num_experts"},
    "bamba": {"layer_types": "layers_block_type"},
    "granitemoehybrid": {"layers_block_type": "layer_types"},
    "nemotron_h": {"layer_types": "layers_block_type", "num_local_experts": "n_routed_experts"},
    "minimax": {"num_experts": "num_local_experts"},
    "kimi_linear": LATENT_HYBRID_ALIASES,
    "bailing_hybrid": {**LATENT_HYBRID_ALIASES, "num_mtp_layers": "num_nextn_predict_layers"},
    "recurrent_gemma": {"sliding_window": "attention_window_size"},
    "lfm3": {"rms_norm_eps": "norm_eps"},
}

KEY_ORDER = (*ORDER, "mixer", "mamba", "deltanet", "kda", "short_conv", "blocks", "stack")


@hookimpl
def archcalc_hf_model_types() -> list[HFModelType]:
    types: list[HFModelType] = model_types(TRANSLATORS, ATTRIBUTE_MAPS, KEY_ORDER)
    return types
