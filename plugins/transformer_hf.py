"""Hugging Face configs for ``family: transformer``: one translator per decoder ``model_type``.

Registered through the ``archcalc_hf_model_types`` hook like any third-party plugin's.
Each translator reads a ``config.json`` through :class:`archcalc.ConfigReader` and writes
the transformer spec that counts exactly what ``AutoModelForCausalLM`` builds for it.
Encoders and encoder-decoders live in :mod:`archcalc.plugins.transformer_hf_encoders`;
the reader helpers here (``_core``, ``_tie``, ``ORDER``...) are shared with it.

Absent fields take the default of that model type's config class in transformers (e.g.
``tie_word_embeddings`` is true for gpt2, gemma, starcoder2, opt and falcon, false for
llama, mistral, qwen2...). The sizes every count needs (width, depth, heads, vocabulary)
must be given: a config without them is broken, and guessing would hide it. Fields a
model type ignores are ignored, as transformers ignores them; fields that change shapes
in a way the spec cannot express are refused, never ignored.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from archcalc import hookimpl
from archcalc.hf_types import HFModelType, Translator

if TYPE_CHECKING:  # archcalc.hf itself only when a config is read (a YAML count skips it)
    from archcalc.hf import ConfigReader


def show(value: Any) -> str:
    """:func:`archcalc.hf.show`, imported when a message needs it (the translator modules
    share this one, so none of them imports archcalc.hf at start-up)."""
    from archcalc.hf import show as shown

    return shown(value)


def _tie(r: ConfigReader, default: bool) -> None:
    r.set("tie_embeddings", r.flag("tie_word_embeddings", default), "tie_word_embeddings")


def _core(
    r: ConfigReader, layers: tuple[str, ...], width: tuple[str, ...], heads: tuple[str, ...]
) -> tuple[Any, Any]:
    """Depth, width, heads and vocabulary, which every count needs."""
    n_layers = r.size(*layers)
    r.set("n_layers", n_layers, *layers)
    _layer_types(r, n_layers)
    d_model = r.size(*width)
    r.set("d_model", d_model, *width)
    n_heads = r.size(*heads)
    r.set("n_heads", n_heads, *heads)
    r.set("vocab_size", r.size("vocab_size"), "vocab_size")
    return d_model, n_heads


def _rope_head_dim(r: ConfigReader) -> None:
    """transformers refuses a fully rotated odd head_dim above 4 (RoPE rotates pairs)."""
    head_dim = r.value("head_dim")
    rope = r.value("rope_parameters")
    factor = rope.get("partial_rotary_factor", 1.0) if isinstance(rope, dict) else 1.0
    if (
        isinstance(head_dim, int)
        and head_dim > 4
        and head_dim % 2
        and isinstance(factor, (int, float))
        and math.isfinite(factor)  # json.dump writes Infinity/NaN for float fields
        and int(head_dim * factor) == head_dim
    ):
        r.error("head_dim", f"RoPE needs an even head_dim, got {head_dim}; transformers refuses it")


def _layer_types(r: ConfigReader, n_layers: Any) -> None:
    """transformers refuses a ``layer_types`` list whose length is not the depth."""
    for key in ("layer_types", "mlp_layer_types"):
        kinds = r.value(key)
        if isinstance(kinds, list) and n_layers is not None and len(kinds) != n_layers:
            r.error(
                key,
                f"'{key}' lists {len(kinds)} layers but the config has {n_layers}; "
                "transformers refuses this config",
            )


def _head_dim(r: ConfigReader, d_model: int | None, n_heads: int | None, default: int = 0) -> None:
    """A head_dim the config gives is d_head (so it stays fixed under ``--set d_model=...``,
    as in transformers); absent, the config class's fixed default (Gemma 256, Qwen3 128) or,
    with none, hidden_size // num_attention_heads as the modeling code computes it (floor
    division: GLM-4.5's 4096 over 96 heads is 42). ``head_dim: 0`` is refused, never read
    as "unset"."""
    if r.present("head_dim"):
        r.set("d_head", r.size("head_dim"), "head_dim")
    elif "head_dim" in r.data and default:  # the class has a fixed default: null is refused
        r.size("head_dim")
    elif default:
        r.defaults.setdefault("head_dim", default)
        if d_model is None or n_heads is None or default * n_heads != d_model:
            r.set("d_head", default)
    elif d_model is not None and n_heads is not None and d_model % n_heads:
        r.set("d_head", d_model // n_heads, "hidden_size")


def _heads_divide_width(r: ConfigReader) -> None:
    """Config classes whose validate_architecture wants hidden_size % heads == 0 (whatever
    head_dim says): transformers refuses the config, so archcalc does too."""
    width, heads = r.spec.get("d_model"), r.spec.get("n_heads")
    if isinstance(width, int) and isinstance(heads, int) and width % heads:
        r.error(
            "hidden_size",
            f"hidden_size ({width}) is not a multiple of num_attention_heads ({heads}); "
            "transformers refuses this config",
        )


#: What a config class makes of an absent or null num_key_value_heads: as many as the
#: query heads (None), a fixed number, or (for null) a refusal (REFUSE).
MHA = None
REFUSE = -1


def _kv_heads(
    r: ConfigReader, key: str, absent: int | None = MHA, null: int | None = REFUSE
) -> None:
    """Key/value heads: the config's, else the class default (``absent``); ``null`` says
    what an explicit null means (MHA: as many as the query heads, as ``__post_init__``
    of Llama-like configs does; REFUSE: the class refuses null)."""
    if r.present(key):
        r.set("n_kv_heads", r.size(key), key)
    elif key in r.data:  # null
        if null == REFUSE:
            r.size(key)  # reports the null
        elif null is not MHA:
            r.set("n_kv_heads", null, key)
    elif absent is not MHA:
        r.defaults.setdefault(key, absent)
        r.set("n_kv_heads", absent)


def _llama_like(
    r: ConfigReader,
    *,
    mlp: str = "swiglu",
    norm: str = "rmsnorm",
    tie: bool = False,
    bias_key: str | None = None,
    bias_default: bool = False,
    mlp_bias: bool | None = False,
    qkv_bias: bool | None = None,
    head_dim: int = 0,
    kv_absent: int | None = MHA,
    kv_null: int | None = REFUSE,
    o_bias_key: str | None = None,
    o_bias_default: bool = False,
    o_bias: bool | None = None,
    d_ff: tuple[str, ...] = ("intermediate_size",),
    ff_default: int | None = None,
    reads_head_dim: bool = True,
) -> None:
    """The Llama layout most decoder-only types share: RoPE, gated MLP, RMSNorm.

    ``head_dim`` is the config class's fixed default (Gemma 256, Qwen3 128; 0: derived).
    ``kv_absent`` / ``kv_null``: what the config class makes of an absent / null
    ``num_key_value_heads`` (see :func:`_kv_heads`).
    ``bias_key`` names the config flag for the attention biases (absent: the modeling
    code hard-codes ``bias_default``); ``mlp_bias`` None means the MLP follows it;
    ``o_bias_key`` names a separate flag for the output projection's bias (``o_bias``: a
    fixed one). ``d_ff`` names the MLP width's keys (an all-MoE type: the experts'), and
    ``ff_default`` the config class's default for it (None: the key is required).
    ``reads_head_dim``: False for types whose attention ignores a head_dim key.
    """
    r.set("architecture", "decoder")
    d_model, n_heads = _core(r, ("num_hidden_layers",), ("hidden_size",), ("num_attention_heads",))
    _kv_heads(r, "num_key_value_heads", kv_absent, kv_null)
    if reads_head_dim:
        _head_dim(r, d_model, n_heads, head_dim)
        _rope_head_dim(r)
    elif isinstance(d_model, int) and isinstance(n_heads, int) and d_model % n_heads:
        r.set("d_head", d_model // n_heads, "hidden_size")
    r.set("d_ff", r.size(*d_ff, default=ff_default), *d_ff)
    r.set("positional", "rope")
    r.set("mlp", mlp)
    r.set("norm", norm)
    bias = r.flag(bias_key, bias_default) if bias_key else bias_default
    r.set("bias", bias, *(bias_key,) if bias_key else ())
    mlp_b = bias if mlp_bias is None else mlp_bias
    if mlp_b != bias:
        r.set("mlp_bias", mlp_b, "mlp_bias")
    if qkv_bias is not None and qkv_bias != bias:
        r.set("qkv_bias", qkv_bias, "qkv_bias")
    if o_bias_key is not None:
        o_bias = r.flag(o_bias_key, o_bias_default)
    if o_bias is not None and o_bias != bias:
        r.set("o_bias", o_bias, *(o_bias_key,) if o_bias_key else ())
    _tie(r, tie)


def _llama(r: ConfigReader) -> None:
    _llama_like(r, bias_key="attention_bias", mlp_bias=r.flag("mlp_bias", False), kv_null=MHA)


def _mistral(r: ConfigReader) -> None:
    _llama_like(r, kv_absent=8)


def _qwen2(r: ConfigReader) -> None:
    # Qwen2Attention hard-codes bias=True on q, k, v and bias=False on o.
    _llama_like(r, qkv_bias=True, kv_absent=32, kv_null=MHA)


def _qwen3(r: ConfigReader) -> None:
    _llama_like(r, bias_key="attention_bias", head_dim=128, kv_absent=32, kv_null=MHA)
    r.set("qk_norm", True)


def _qwen2_moe(r: ConfigReader) -> None:
    _llama_like(r, qkv_bias=r.flag("qkv_bias", True), kv_absent=16, kv_null=MHA)
    if r.size("decoder_sparse_step", default=1) != 1:
        r.unsupported("decoder_sparse_step", "decoder_sparse_step other than 1")
    if r.data.get("mlp_only_layers"):
        r.unsupported("mlp_only_layers", "dense mlp_only_layers")
    r.set("moe.n_experts", r.size("num_experts", default=60), "num_experts")
    r.set("moe.top_k", r.size("num_experts_per_tok", default=4), "num_experts_per_tok")
    r.set("moe.d_ff_expert", r.size("moe_intermediate_size", default=1408), "moe_intermediate_size")
    # Qwen2MoeSparseMoeBlock always builds the shared expert and its gate (0: an empty
    # expert whose gate remains, which the spec cannot express: refused by minimum=1).
    shared = r.size("shared_expert_intermediate_size", default=5632)
    r.set("moe.n_shared_experts", 1)
    r.set("moe.d_ff_shared", shared, "shared_expert_intermediate_size")
    r.set("moe.shared_expert_gate", True)


def _gemma(r: ConfigReader) -> None:
    _llama_like(r, mlp="geglu", tie=True, bias_key="attention_bias", head_dim=256, kv_absent=16)


def _gemma2(r: ConfigReader) -> None:
    _llama_like(r, mlp="geglu", tie=True, bias_key="attention_bias", head_dim=256, kv_absent=4)
    r.set("post_norms", True)


def _phi3(r: ConfigReader) -> None:
    _llama_like(r, kv_null=MHA)


def _olmo(r: ConfigReader) -> None:
    _llama_like(r, norm="nonparametric", bias_key="attention_bias", kv_null=MHA)


def _starcoder2(r: ConfigReader) -> None:
    _llama_like(
        r,
        mlp="gelu",
        norm="layernorm",
        tie=True,
        bias_key="use_bias",
        bias_default=True,
        mlp_bias=None,
        kv_absent=2,
    )


def _deepseek_v3(r: ConfigReader) -> None:
    r.set("architecture", "decoder")
    _core(r, ("num_hidden_layers",), ("hidden_size",), ("num_attention_heads",))
    r.set("d_ff", r.size("intermediate_size"), "intermediate_size")
    r.set("positional", "rope")
    r.set("mlp", "swiglu")
    r.set("norm", "rmsnorm")
    bias = r.flag("attention_bias", False)
    r.set("bias", bias, "attention_bias")
    if bias:
        r.set("mlp_bias", False)
    # q_lora_rank: null in a config means a full-rank query projection.
    explicit_none = "q_lora_rank" in r.data and r.data["q_lora_rank"] is None
    q_rank = 0 if explicit_none else r.size("q_lora_rank", default=1536)
    r.set("mla.q_lora_rank", q_rank, "q_lora_rank")
    r.set("mla.kv_lora_rank", r.size("kv_lora_rank", default=512), "kv_lora_rank")
    r.set("mla.qk_rope_head_dim", r.size("qk_rope_head_dim", default=64), "qk_rope_head_dim")
    r.set("mla.qk_nope_head_dim", r.size("qk_nope_head_dim", default=128), "qk_nope_head_dim")
    r.set("mla.v_head_dim", r.size("v_head_dim", default=128), "v_head_dim")
    experts = r.size("n_routed_experts", default=256)
    if experts:
        r.set("moe.n_experts", experts, "n_routed_experts")
        r.set("moe.top_k", r.size("num_experts_per_tok", default=8), "num_experts_per_tok")
        r.set(
            "moe.d_ff_expert",
            r.size("moe_intermediate_size", default=2048),
            "moe_intermediate_size",
        )
        shared = r.size("n_shared_experts", default=1, minimum=0)
        r.set("moe.n_shared_experts", shared, "n_shared_experts")
        _first_dense(r, r.size("first_k_dense_replace", default=3, minimum=0))
    _tie(r, False)


#: The MLP width GPT-2, GPT-J and Falcon use when the config leaves it out.
FOUR_D = "4 * d_model"


def _gpt2(r: ConfigReader) -> None:
    r.set("architecture", "decoder")
    r.only("add_cross_attention", False, why="add_cross_attention (cross-attention blocks)")
    _core(r, ("n_layer", "num_hidden_layers"), ("n_embd", "hidden_size"), ("n_head",))
    # n_inner: null means 4 × width; kept as an expression so formulas show 4·d_model.
    r.set("d_ff", r.size("n_inner", default=FOUR_D, nullable=True), "n_inner", "n_embd")
    r.set("max_seq_len", r.size("n_positions", default=1024), "n_positions")
    r.set("positional", "learned")
    r.set("mlp", "gelu")
    r.set("norm", "layernorm")
    r.set("bias", True)
    _tie(r, True)


def _gpt_neox(r: ConfigReader) -> None:
    r.set("architecture", "decoder")
    _core(r, ("num_hidden_layers",), ("hidden_size",), ("num_attention_heads",))
    r.set("d_ff", r.size("intermediate_size"), "intermediate_size")
    r.set("positional", "rope")
    r.set("mlp", "gelu")
    r.set("norm", "layernorm")
    bias = r.flag("attention_bias", True)
    r.set("bias", bias, "attention_bias")
    if not bias:
        r.set("mlp_bias", True)  # GPTNeoXMLP always has biases
    _tie(r, False)


def _gptj(r: ConfigReader) -> None:
    r.set("architecture", "decoder")
    _core(r, ("n_layer",), ("n_embd",), ("n_head",))
    # n_inner: null means 4 × width; kept as an expression so formulas show 4·d_model.
    r.set("d_ff", r.size("n_inner", default=FOUR_D, nullable=True), "n_inner", "n_embd")
    r.set("positional", "rope")
    r.set("mlp", "gelu")
    r.set("norm", "layernorm")
    r.set("bias", True)
    r.set("qkv_bias", False)
    r.set("o_bias", False)
    r.set("lm_head_bias", True)
    r.set("parallel_block", True)
    _tie(r, False)


def _falcon(r: ConfigReader) -> None:
    r.set("architecture", "decoder")
    _core(r, ("num_hidden_layers", "n_layer"), ("hidden_size",), ("num_attention_heads", "n_head"))
    new_arch = r.flag("new_decoder_architecture", False)
    if new_arch:
        _kv_heads(r, "num_kv_heads")
    elif r.flag("multi_query", True):
        r.set("n_kv_heads", 1, "multi_query")
    ffn = r.size("ffn_hidden_size", default=FOUR_D, nullable=True)
    r.set("d_ff", ffn, "ffn_hidden_size", "hidden_size")
    r.set("positional", "alibi" if r.flag("alibi", False) else "rope")
    r.set("mlp", "gelu")
    r.set("norm", "layernorm")
    r.set("bias", r.flag("bias", False), "bias")
    if r.flag("parallel_attn", True):
        # FalconDecoderLayer: two norms when num_ln_in_parallel_attn is 2 (its default with
        # the new decoder architecture), one for any other value.
        n_ln = r.size("num_ln_in_parallel_attn", default=2 if new_arch else 1, nullable=True)
        if n_ln != 2:
            r.set("parallel_block", True, "parallel_attn")
    _tie(r, True)


def _opt(r: ConfigReader) -> None:
    r.set("architecture", "decoder")
    d_model, _ = _core(r, ("num_hidden_layers",), ("hidden_size",), ("num_attention_heads",))
    proj = r.size("word_embed_proj_dim", default=d_model or 1)
    if d_model is not None and proj != d_model:
        r.unsupported("word_embed_proj_dim", "word_embed_proj_dim different from hidden_size")
    if not r.flag("do_layer_norm_before", True):
        r.unsupported("do_layer_norm_before", "do_layer_norm_before: false (post-norm OPT-350m)")
    if r.flag("_remove_final_layer_norm", False):
        r.set("final_norm", False, "_remove_final_layer_norm")
    r.set("d_ff", r.size("ffn_dim"), "ffn_dim")
    r.set("max_seq_len", r.size("max_position_embeddings", default=2048), "max_position_embeddings")
    r.set("position_offset", 2)
    r.set("positional", "learned")
    r.set("mlp", "relu")
    affine = r.flag("layer_norm_elementwise_affine", True)
    r.set("norm", "layernorm" if affine else "nonparametric", "layer_norm_elementwise_affine")
    r.set("bias", r.flag("enable_bias", True), "enable_bias")
    _tie(r, True)


# ------------------------------------------------------------------ Llama's close relatives


def _llama_with(**options: Any) -> Translator:
    """A translator for a Llama-layout type with its own config-class defaults.

    The layer code of these types is Llama's (q/k/v/o, a gated MLP, two RMSNorms); what
    differs is the defaults of their config classes (tied embeddings, a fixed head_dim,
    a fixed number of key/value heads), which a config.json that leaves a key out relies
    on. Every entry below was checked with ``reference/hf_coverage.py`` (default config
    and every key changed).
    """

    def translate(r: ConfigReader) -> None:
        _llama_like(r, **options)

    return translate


def _mlp_bias_flag(default: bool = False) -> Callable[[ConfigReader], bool]:
    return lambda r: r.flag("mlp_bias", default)


def _granite(r: ConfigReader) -> None:
    """Granite: Llama plus scalar multipliers (embedding, residual, attention, logits),
    which scale activations and have no parameters."""
    _llama_like(r, bias_key="attention_bias", mlp_bias=r.flag("mlp_bias", False), kv_null=MHA)


def _hyperclovax(r: ConfigReader) -> None:
    """HyperCLOVA X: Llama with an optional norm after each sub-layer (use_post_norm)."""
    _llama_like(r, bias_key="attention_bias", mlp_bias=r.flag("mlp_bias", False), kv_null=MHA)
    if r.flag("use_post_norm", True):
        r.set("post_norms", True, "use_post_norm")


def _arcee(r: ConfigReader) -> None:
    """Arcee (AFM): Llama with a two-matrix MLP (up, down; ReLU²)."""
    _llama_like(
        r, mlp="relu", bias_key="attention_bias", mlp_bias=r.flag("mlp_bias", False), kv_null=MHA
    )


def _seed_oss(r: ConfigReader) -> None:
    """Seed-OSS: q/k/v biases (attention_bias, default true), o bias (attention_out_bias)."""
    _llama_like(
        r,
        bias_key="attention_bias",
        bias_default=True,
        mlp_bias=r.flag("mlp_bias", False),
        head_dim=128,
        kv_absent=8,
        kv_null=MHA,
        o_bias_key="attention_out_bias",
    )


def _ernie4_5(r: ConfigReader) -> None:
    """ERNIE 4.5 (dense): Llama with one use_bias flag for every linear layer."""
    _llama_like(
        r,
        tie=True,
        bias_key="use_bias",
        mlp_bias=None,
        head_dim=128,
        kv_absent=2,
        kv_null=MHA,
    )


def _cwm(r: ConfigReader) -> None:
    """CWM: Llama with bias-free attention and an mlp_bias flag."""
    _llama_like(r, mlp_bias=r.flag("mlp_bias", False), head_dim=128, kv_absent=8)


def _helium(r: ConfigReader) -> None:
    """Helium: q/k/v biases from attention_bias, but a bias-free o_proj of hidden × hidden
    (so heads × head_dim must equal the width for the spec's o shape to be Helium's)."""
    _llama_like(
        r,
        bias_key="attention_bias",
        mlp_bias=r.flag("mlp_bias", False),
        head_dim=128,
        kv_absent=20,
        o_bias=False,
    )
    heads, width = r.spec.get("n_heads"), r.spec.get("d_model")
    head_dim = r.spec.get("d_head", 128)
    known = all(isinstance(v, int) for v in (heads, width, head_dim))
    if known and heads * head_dim != width:
        r.unsupported(
            "head_dim",
            f"num_attention_heads × head_dim ({heads} × {head_dim}) different from "
            f"hidden_size ({width}) (Helium's o_proj is hidden_size × hidden_size)",
        )


def _llama_attention_bias(**options: Any) -> Translator:
    """Llama-layout types whose attention_bias covers q, k, v and o and mlp_bias the MLP."""

    def translate(r: ConfigReader) -> None:
        _llama_like(r, bias_key="attention_bias", mlp_bias=r.flag("mlp_bias", False), **options)

    return translate


# ------------------------------------------------------------------ heterogeneous stacks


def _stack(r: ConfigReader, kinds: list[str], blocks: dict[str, Any], *source: str) -> None:
    """A per-layer list of block kinds as the spec's ``stack`` (run-length segments).

    ``kinds[i]`` names layer i's kind (``default`` is the top-level block); ``blocks``
    defines the others. All-default stacks write nothing: the flat keys say it all.
    """
    if all(k == "default" for k in kinds):
        return
    runs: list[dict[str, Any]] = []
    for kind in kinds:
        if runs and runs[-1]["block"] == kind:
            runs[-1]["layers"] += 1
        else:
            runs.append({"block": kind, "layers": 1})
    used = {k for k in kinds if k != "default"}
    r.set("blocks", {k: v for k, v in blocks.items() if k in used}, *source)
    r.set("stack", runs, *source)


def _moe_layers(
    r: ConfigReader,
    n_layers: Any,
    *,
    dense_first: Any = 0,
    step: Any = 1,
    dense_layers: Any = (),
    offset: int = 0,
    source: tuple[str, ...] = (),
) -> None:
    """Which layers have experts, from the keys that say so (a dense first few, a step,
    a list of dense layers); the dense ones keep an MLP of width d_ff."""
    if not isinstance(n_layers, int) or not isinstance(step, int) or step < 1:
        return
    if not isinstance(dense_first, int):
        return
    dense = set(dense_layers) if isinstance(dense_layers, (list, tuple)) else set()
    kinds = [
        "dense" if i < dense_first or i in dense or (i + 1 - offset) % step else "default"
        for i in range(n_layers)
    ]
    _stack(r, kinds, {"dense": {"moe": False}}, *source)


def _int_list(r: ConfigReader, key: str) -> list[int]:
    """A list of layer indices (``mlp_only_layers``); anything else is an error."""
    value = r.value(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value
    ):
        r.error(key, f"'{key}' must be a list of layer indices, got {show(value)}")
        return []
    return value


def _experts(
    r: ConfigReader,
    experts: tuple[str, ...],
    top_k: tuple[str, ...],
    d_ff: tuple[str, ...],
    *,
    n_default: Any = None,
    k_default: Any = None,
    ff_default: Any = None,
) -> None:
    """Routed experts: how many, how many per token, how wide (aliases as transformers)."""
    r.set("moe.n_experts", r.size(*experts, default=n_default), *experts)
    r.set("moe.top_k", r.size(*top_k, default=k_default), *top_k)
    if d_ff:
        r.set("moe.d_ff_expert", r.size(*d_ff, default=ff_default), *d_ff)


def _qwen3_moe(r: ConfigReader) -> None:
    """Qwen3-MoE: Qwen3's attention (per-head q/k norms), routed experts (no shared one);
    layers listed in mlp_only_layers, or off the decoder_sparse_step, keep a dense MLP."""
    _llama_like(r, bias_key="attention_bias", kv_absent=4)
    r.set("qk_norm", True)
    _experts(
        r,
        ("num_experts", "num_local_experts"),
        ("num_experts_per_tok",),
        ("moe_intermediate_size",),
        n_default=128,
        k_default=8,
        ff_default=768,
    )
    step = r.size("decoder_sparse_step", default=1)
    dense = _int_list(r, "mlp_only_layers")
    _moe_layers(
        r,
        r.spec.get("n_layers"),
        step=step,
        dense_layers=dense,
        source=("mlp_only_layers", "decoder_sparse_step"),
    )


def _gemma3_text(r: ConfigReader) -> None:
    """Gemma 3 (text): Gemma 2's four norms per block plus per-head q/k norms."""
    _llama_like(r, mlp="geglu", tie=True, bias_key="attention_bias", head_dim=256, kv_absent=4)
    r.set("post_norms", True)
    r.set("qk_norm", True)


def _vaultgemma(r: ConfigReader) -> None:
    """VaultGemma: Gemma's layout (two norms per block), Gemma 2's defaults."""
    _llama_like(r, mlp="geglu", tie=True, bias_key="attention_bias", head_dim=256, kv_absent=4)


def _exaone4(r: ConfigReader) -> None:
    """EXAONE 4: per-head q/k norms and two norms per block (after each sub-layer)."""
    _llama_like(r, kv_absent=32)
    r.set("qk_norm", True)


def _olmo2(r: ConfigReader) -> None:
    """OLMo 2 / 3: q/k norms over the whole projections, a norm after each sub-layer."""
    _llama_like(r, bias_key="attention_bias", kv_null=MHA)
    r.set("qk_norm", True)
    r.set("qk_norm_scope", "projection")


def _olmoe(r: ConfigReader) -> None:
    """OLMoE: OLMo 2's q/k norms, experts of width intermediate_size, no shared expert.

    Its q/k norms are as wide as hidden_size and (hidden_size / heads) · kv heads whatever
    head_dim says, so a head_dim other than hidden_size / heads is refused.
    """
    _llama_like(r, bias_key="attention_bias", kv_null=MHA)
    heads, width, head_dim = (r.spec.get(k) for k in ("n_heads", "d_model", "d_head"))
    if isinstance(head_dim, int) and isinstance(heads, int) and head_dim * heads != width:
        r.unsupported("head_dim", "a head_dim other than hidden_size / num_attention_heads")
    r.set("qk_norm", True)
    r.set("qk_norm_scope", "projection")
    _experts(
        r,
        ("num_experts", "num_local_experts"),
        ("num_experts_per_tok",),
        (),
        n_default=64,
        k_default=8,
    )


def _flex_olmo(r: ConfigReader) -> None:
    """FlexOlmo: OLMo 2's blocks with OLMoE's experts."""
    _olmo2(r)
    _experts(
        r,
        ("num_experts", "num_local_experts"),
        ("num_experts_per_tok",),
        (),
        n_default=7,
        k_default=5,
    )


def _mixtral(r: ConfigReader) -> None:
    _llama_like(r, kv_absent=8)
    _experts(
        r,
        ("num_local_experts", "num_experts"),
        ("num_experts_per_tok",),
        (),
        n_default=8,
        k_default=2,
    )


def _granitemoe(r: ConfigReader) -> None:
    """Granite MoE: Granite's attention, routed experts of width intermediate_size."""
    _llama_like(r, bias_key="attention_bias", mlp_bias=False, kv_null=MHA)
    _experts(r, ("num_local_experts",), ("num_experts_per_tok",), (), n_default=8, k_default=2)


def _granitemoeshared(r: ConfigReader) -> None:
    """Granite MoE with a shared (always active, gated) MLP of shared_intermediate_size."""
    _granitemoe(r)
    shared = r.count("shared_intermediate_size", default=0)
    if shared:
        r.set("moe.n_shared_experts", 1)
        r.set("moe.d_ff_shared", shared, "shared_intermediate_size")


def _phimoe(r: ConfigReader) -> None:
    """Phi-3.5-MoE: LayerNorm (weight and bias) everywhere, q/k/v/o biases from
    attention_bias, routed experts of width intermediate_size; lm_head_bias."""
    _llama_like(r, norm="layernorm", bias_key="attention_bias", mlp_bias=False, kv_absent=8)
    _experts(r, ("num_local_experts",), ("num_experts_per_tok",), (), n_default=16, k_default=2)
    if r.flag("lm_head_bias", False):
        r.set("lm_head_bias", True, "lm_head_bias")


def _gpt_oss(r: ConfigReader) -> None:
    """gpt-oss: biased q/k/v/o (attention_bias), a sink logit per head, a biased router and
    biased experts of width intermediate_size; sliding/full layers share shapes."""
    # attention_bias covers q, k, v and o only: the experts always have biases.
    _llama_like(
        r, bias_key="attention_bias", bias_default=True, mlp_bias=True, head_dim=64, kv_absent=8
    )
    r.set("attention_sinks", True)
    _experts(
        r,
        ("num_local_experts", "num_experts"),
        ("num_experts_per_tok",),
        (),
        n_default=128,
        k_default=4,
    )
    r.set("moe.router_bias", True)


def _first_dense(r: ConfigReader, dense: Any) -> None:
    """The first ``first_k_dense_replace`` layers are dense. transformers tests
    ``layer_idx >= first_k_dense_replace`` per layer, so a value beyond
    num_hidden_layers (tiny test configs keep the default 3) makes every layer dense."""
    layers = r.size("num_hidden_layers")
    if isinstance(layers, int) and isinstance(dense, int):  # else: already reported
        dense = min(dense, layers)
    if dense:
        r.set("moe.first_dense_layers", dense, "first_k_dense_replace")


def _shared_experts(r: ConfigReader, default: Any) -> None:
    shared = r.count("n_shared_experts", default=default)
    if shared:
        r.set("moe.n_shared_experts", shared, "n_shared_experts")


def _glm4_moe_like(*, kv: int, head_dim: int, ff: int, top_k: int, qk_norm: bool) -> Translator:
    """GLM-4.5 (MoE) and its relatives: Llama attention with optional per-head q/k norms
    (use_qk_norm) and q/k/v biases (attention_bias), the first first_k_dense_replace
    layers dense, then routed plus shared experts (DeepSeek's layout)."""

    def translate(r: ConfigReader) -> None:
        _llama_like(r, kv_absent=kv, head_dim=head_dim, qkv_bias=r.flag("attention_bias", False))
        if r.flag("use_qk_norm", qk_norm):
            r.set("qk_norm", True, "use_qk_norm")
        _experts(
            r,
            ("n_routed_experts",),
            ("num_experts_per_tok",),
            ("moe_intermediate_size",),
            n_default=128,
            k_default=top_k,
            ff_default=ff,
        )
        _shared_experts(r, 1)
        _first_dense(r, r.count("first_k_dense_replace", default=1))

    return translate


def _solar_open(r: ConfigReader) -> None:
    """Solar Open: Llama attention (attention_bias on q, k, v only), every layer routed
    plus shared experts."""
    _llama_like(
        r,
        qkv_bias=r.flag("attention_bias", False),
        head_dim=128,
        kv_absent=8,
        d_ff=("moe_intermediate_size",),
    )
    _experts(
        r,
        ("n_routed_experts",),
        ("num_experts_per_tok",),
        ("moe_intermediate_size",),
        n_default=128,
        k_default=8,
        ff_default=1280,
    )
    _shared_experts(r, 1)


# ------------------------------------------------------------------ the GPT-2 lineage


def _learned_decoder(
    r: ConfigReader,
    *,
    layers: tuple[str, ...],
    width: tuple[str, ...],
    heads: tuple[str, ...],
    positions: tuple[str, ...],
    positions_default: int,
) -> None:
    """A decoder with learned absolute positions, LayerNorm and biased GELU MLP."""
    r.set("architecture", "decoder")
    _core(r, layers, width, heads)
    r.set("max_seq_len", r.size(*positions, default=positions_default), *positions)
    r.set("positional", "learned")
    r.set("mlp", "gelu")
    r.set("norm", "layernorm")
    r.set("bias", True)


def _gpt_neo(r: ConfigReader) -> None:
    """GPT-Neo: GPT-2's layout with bias-free q/k/v (out_proj keeps its bias); local and
    global attention layers share shapes."""
    r.only("add_cross_attention", False, why="add_cross_attention (cross-attention blocks)")
    _learned_decoder(
        r,
        layers=("num_layers",),
        width=("hidden_size",),
        heads=("num_heads",),
        positions=("max_position_embeddings",),
        positions_default=2048,
    )
    r.set("d_ff", r.size("intermediate_size", default=FOUR_D, nullable=True), "intermediate_size")
    r.set("qkv_bias", False)
    _tie(r, True)
    kinds = r.value("attention_types")
    n_layers = r.spec.get("n_layers")
    if isinstance(kinds, list) and isinstance(n_layers, int):
        try:
            total = sum(len(names) * times for names, times in kinds)
        except (TypeError, ValueError):
            r.error("attention_types", "'attention_types' must be [[[kinds...], times], ...]")
            return
        if total != n_layers:
            r.error(
                "attention_types",
                f"'attention_types' spans {total} layers but the config has {n_layers}; "
                "transformers refuses this config",
            )


def _gpt_bigcode(r: ConfigReader) -> None:
    """GPT-BigCode (StarCoder, SantaCoder): GPT-2 with multi-query attention (one k/v head)
    unless multi_query is false."""
    r.only("add_cross_attention", False, why="add_cross_attention (cross-attention blocks)")
    _learned_decoder(
        r,
        layers=("n_layer", "num_hidden_layers"),
        width=("n_embd", "hidden_size"),
        heads=("n_head", "num_attention_heads"),
        positions=("n_positions", "max_position_embeddings"),
        positions_default=1024,
    )
    r.set("d_ff", r.size("n_inner", default=FOUR_D, nullable=True), "n_inner", "n_embd")
    if r.flag("multi_query", True):
        r.set("n_kv_heads", 1, "multi_query")
    _tie(r, True)


def _openai_gpt(r: ConfigReader) -> None:
    """GPT-1: post-norm blocks (a norm after attention and after the MLP, none final),
    learned positions, an MLP of 4 × width."""
    _learned_decoder(
        r,
        layers=("n_layer", "num_hidden_layers"),
        width=("n_embd", "hidden_size"),
        heads=("n_head", "num_attention_heads"),
        positions=("n_positions", "max_position_embeddings"),
        positions_default=512,
    )
    r.set("d_ff", FOUR_D)
    r.set("final_norm", False)
    _tie(r, True)


def _bloom(r: ConfigReader) -> None:
    """BLOOM: ALiBi, a LayerNorm after the word embeddings, biased fused q/k/v and an MLP of
    4 × width (older configs name the width n_embed)."""
    r.set("architecture", "decoder")
    _core(
        r,
        ("n_layer", "num_hidden_layers"),
        ("hidden_size", "n_embed"),
        ("n_head", "num_attention_heads"),
    )
    r.set("d_ff", FOUR_D)
    r.set("positional", "alibi")
    r.set("mlp", "gelu")
    r.set("norm", "layernorm")
    r.set("bias", True)
    r.set("embedding_norm", True)
    _tie(r, True)


def _mpt(r: ConfigReader) -> None:
    """MPT: ALiBi, bias-free LayerNorms (weight only: counted as one vector like RMSNorm),
    fused q/k/v and no biases. transformers' MptMLP is 4 × width and bias-free whatever
    ``expansion_ratio`` and ``no_bias`` say, so those keys are not read. Its Wqkv is full
    multi-head for both attention types it accepts; any other ``attn_type`` (MPT's own
    code also has grouped-query attention, with fewer key/value heads) is refused."""
    attn = r.value("attn_config")
    kind = attn.get("attn_type") if isinstance(attn, dict) else None
    if kind is not None and kind not in ("multihead_attention", "multiquery_attention"):
        r.unsupported("attn_config", f"attn_config.attn_type {show(kind)}")
    r.set("architecture", "decoder")
    _core(r, ("n_layers",), ("d_model",), ("n_heads",))
    r.set("d_ff", FOUR_D)
    r.set("positional", "alibi")
    r.set("mlp", "gelu")
    r.set("norm", "rmsnorm")
    r.set("bias", False)
    _tie(r, True)


def _xglm(r: ConfigReader) -> None:
    """XGLM: pre-norm with a final LayerNorm, sinusoidal positions (a buffer, no
    parameters), biased attention and GELU MLP."""
    r.only("add_cross_attention", False, why="add_cross_attention (cross-attention blocks)")
    r.set("architecture", "decoder")
    _core(r, ("num_layers",), ("d_model",), ("attention_heads",))
    r.set("d_ff", r.size("ffn_dim", default=4096), "ffn_dim")
    r.set("positional", "sinusoidal")
    r.set("mlp", "gelu")
    r.set("norm", "layernorm")
    r.set("bias", True)
    _tie(r, True)


def _biogpt(r: ConfigReader) -> None:
    """BioGPT: OPT's layout (learned positions with 2 extra rows), GELU MLP."""
    r.set("architecture", "decoder")
    _core(r, ("num_hidden_layers",), ("hidden_size",), ("num_attention_heads",))
    r.set("d_ff", r.size("intermediate_size", default=4096), "intermediate_size")
    r.set("max_seq_len", r.size("max_position_embeddings", default=1024), "max_position_embeddings")
    r.set("position_offset", 2)
    r.set("positional", "learned")
    r.set("mlp", "gelu")
    r.set("norm", "layernorm")
    r.set("bias", True)
    _tie(r, True)


def _phi(r: ConfigReader) -> None:
    """Phi-1/1.5/2: one LayerNorm per block (attention and MLP in parallel), biases on
    every linear layer and on the LM head, optional per-head q/k LayerNorms."""
    r.set("architecture", "decoder")
    d_model, n_heads = _core(r, ("num_hidden_layers",), ("hidden_size",), ("num_attention_heads",))
    _kv_heads(r, "num_key_value_heads", MHA, MHA)
    _head_dim(r, d_model, n_heads)
    r.set("d_ff", r.size("intermediate_size", default=8192), "intermediate_size")
    r.set("positional", "rope")
    r.set("mlp", "gelu")
    r.set("norm", "layernorm")
    r.set("bias", True)
    r.set("parallel_block", True)
    r.set("lm_head_bias", True)
    if r.flag("qk_layernorm", False):
        r.set("qk_norm", True, "qk_layernorm")
    _tie(r, False)


def _persimmon(r: ConfigReader) -> None:
    """Persimmon: biased fused q/k/v and dense, per-head q/k LayerNorms (qk_layernorm),
    a two-matrix MLP with biases, LayerNorms; multi-head only."""
    r.set("architecture", "decoder")
    d_model, n_heads = _core(r, ("num_hidden_layers",), ("hidden_size",), ("num_attention_heads",))
    if isinstance(d_model, int) and isinstance(n_heads, int) and d_model % n_heads:
        r.set("d_head", d_model // n_heads, "hidden_size")  # head_dim keys are not read
    r.set("d_ff", r.size("intermediate_size", default=16384), "intermediate_size")
    r.set("positional", "rope")
    r.set("mlp", "relu")
    r.set("norm", "layernorm")
    r.set("bias", True)
    if r.flag("qk_layernorm", True):
        r.set("qk_norm", True, "qk_layernorm")
    _tie(r, False)


def _stablelm(r: ConfigReader) -> None:
    """StableLM: Llama's gated MLP with LayerNorms (weight and bias), q/k/v biases from
    use_qkv_bias, one norm per block with use_parallel_residual."""
    _llama_like(
        r,
        norm="layernorm",
        kv_absent=32,
        qkv_bias=r.flag("use_qkv_bias", False),
        reads_head_dim=False,
    )
    r.only("qk_layernorm", False, why="qk_layernorm (bias-free per-head LayerNorms)")
    if r.flag("use_parallel_residual", False):
        r.set("parallel_block", True, "use_parallel_residual")


def _cohere(r: ConfigReader) -> None:
    """Command R: one bias-free LayerNorm per block (attention and MLP in parallel; weight
    only, counted like RMSNorm), q/k/v/o biases from attention_bias, tied embeddings,
    optional q/k norms over each head (use_qk_norm)."""
    _llama_like(r, tie=True, bias_key="attention_bias", mlp_bias=False, kv_null=MHA)
    r.set("parallel_block", True)
    if r.flag("use_qk_norm", False, nullable=True):
        r.set("qk_norm", True, "use_qk_norm")
        r.set("qk_norm_scope", "projection")


def _cohere2(r: ConfigReader) -> None:
    """Command R7B / A: Command R's blocks without q/k norms; sliding layers share shapes."""
    _llama_like(r, tie=True, bias_key="attention_bias", mlp_bias=False, kv_null=MHA)
    r.set("parallel_block", True)


def _glm(r: ConfigReader) -> None:
    """GLM-4 (glm): biased q/k/v (attention_bias), bias-free o, a fused gated MLP."""
    _llama_like(r, qkv_bias=r.flag("attention_bias", True), head_dim=128, kv_absent=2, kv_null=MHA)


def _glm4(r: ConfigReader) -> None:
    """GLM-4-0414 (glm4): glm's blocks plus a norm after each sub-layer (four per block)."""
    _llama_like(r, qkv_bias=r.flag("attention_bias", True), head_dim=128, kv_absent=2)
    r.set("post_norms", True)


def _nanochat(r: ConfigReader) -> None:
    """nanochat: weightless RMSNorms, a two-matrix MLP (ReLU²), no biases."""
    _llama_like(r, mlp="relu", norm="nonparametric", bias_key="attention_bias", kv_null=MHA)


#: model_type -> translator; every default inside was checked against the config class
#: and modeling code of transformers 5.
TRANSLATORS: dict[str, Translator] = {
    "gpt2": _gpt2,
    "gpt_neox": _gpt_neox,
    "gptj": _gptj,
    "llama": _llama,
    "mistral": _mistral,
    "mixtral": _mixtral,
    "qwen2": _qwen2,
    "qwen2_moe": _qwen2_moe,
    "qwen3": _qwen3,
    "gemma": _gemma,
    "gemma2": _gemma2,
    "phi3": _phi3,
    "falcon": _falcon,
    "opt": _opt,
    "olmo": _olmo,
    "starcoder2": _starcoder2,
    "deepseek_v3": _deepseek_v3,
    # Llama's relatives: the same layer code, their own config-class defaults.
    "exaone": _llama_attention_bias(head_dim=0, kv_absent=8, kv_null=MHA),
    "internlm3": _llama_attention_bias(head_dim=128, kv_absent=2, kv_null=MHA),
    "iquestcoder": _llama_attention_bias(head_dim=128, kv_absent=8, kv_null=MHA),
    "helium": _helium,
    "smollm3": _llama_attention_bias(tie=True, kv_absent=4, kv_null=MHA),
    "cwm": _cwm,
    "ministral3": _llama_with(head_dim=128, kv_absent=8),
    "granite": _granite,
    "hyperclovax": _hyperclovax,
    "arcee": _arcee,
    "seed_oss": _seed_oss,
    "ernie4_5": _ernie4_5,
    "qwen3_moe": _qwen3_moe,
    "gemma3_text": _gemma3_text,
    "vaultgemma": _vaultgemma,
    "exaone4": _exaone4,
    "olmo2": _olmo2,
    "olmo3": _olmo2,
    "olmoe": _olmoe,
    "flex_olmo": _flex_olmo,
    "granitemoe": _granitemoe,
    "granitemoeshared": _granitemoeshared,
    "phimoe": _phimoe,
    "gpt_oss": _gpt_oss,
    "glm4_moe": _glm4_moe_like(kv=8, head_dim=0, ff=1408, top_k=8, qk_norm=False),
    "sarvam_moe": _glm4_moe_like(kv=4, head_dim=64, ff=1024, top_k=6, qk_norm=True),
    "solar_open": _solar_open,
    "gpt-sw3": _gpt2,
    "gpt_neo": _gpt_neo,
    "gpt_bigcode": _gpt_bigcode,
    "openai-gpt": _openai_gpt,
    "codegen": _gptj,
    "bloom": _bloom,
    "mpt": _mpt,
    "xglm": _xglm,
    "biogpt": _biogpt,
    "phi": _phi,
    "persimmon": _persimmon,
    "stablelm": _stablelm,
    "cohere": _cohere,
    "cohere2": _cohere2,
    "glm": _glm,
    "glm4": _glm4,
    "nanochat": _nanochat,
}

#: Key order of an imported spec: the pinned keys first, as in the README.
ORDER = (
    "architecture",
    "n_layers",
    "n_decoder_layers",
    "d_model",
    "n_heads",
    "n_kv_heads",
    "d_head",
    "d_ff",
    "d_embed",
    "vocab_size",
    "type_vocab_size",
    "max_seq_len",
    "position_offset",
    "positional",
    "mlp",
    "norm",
    "bias",
    "qkv_bias",
    "o_bias",
    "mlp_bias",
    "lm_head_bias",
    "tie_embeddings",
    "parallel_block",
    "post_norms",
    "qk_norm",
    "embedding_norm",
    "final_norm",
    "relative_attention_buckets",
    "n_unique_layers",
    "pooler",
    "moe",
    "mla",
)


#: Each config class's ``attribute_map`` (alias -> key) in transformers 5, for the types
#: above: a config.json may use either name. Copied from transformers (the coverage run
#: changes every key through its alias to check this table).
ATTRIBUTE_MAPS: dict[str, dict[str, str]] = {
    "bloom": {"num_hidden_layers": "n_layer", "num_attention_heads": "n_head"},
    "deepseek_v3": {"num_local_experts": "n_routed_experts"},
    "exaone": {"num_layers": "num_hidden_layers"},
    "flex_olmo": {"num_local_experts": "num_experts"},
    "glm4_moe": {"num_local_experts": "n_routed_experts"},
    "gpt_neo": {"num_attention_heads": "num_heads", "num_hidden_layers": "num_layers"},
    "gpt_oss": {"num_experts": "num_local_experts"},
    "internlm3": {"qkv_bias": "attention_bias", "bias": "mlp_bias"},
    "mixtral": {"num_experts": "num_local_experts"},
    "mpt": {
        "num_attention_heads": "n_heads",
        "hidden_size": "d_model",
        "num_hidden_layers": "n_layers",
    },
    "olmoe": {"num_local_experts": "num_experts"},
    "qwen3_moe": {"num_experts": "num_local_experts"},
    "sarvam_moe": {
        "num_local_experts": "n_routed_experts",
        "num_experts": "n_routed_experts",
        "num_shared_experts": "n_shared_experts",
        "use_qkv_bias": "attention_bias",
    },
    "solar_open": {"num_local_experts": "n_routed_experts"},
    "xglm": {
        "num_attention_heads": "attention_heads",
        "hidden_size": "d_model",
        "num_hidden_layers": "num_layers",
    },
}
#: GPT-2's names, shared by the types built on GPT2Config-style keys.
_GPT2_NAMES = {
    "hidden_size": "n_embd",
    "max_position_embeddings": "n_positions",
    "num_attention_heads": "n_head",
    "num_hidden_layers": "n_layer",
}
for _type in ("gpt2", "gpt-sw3", "gpt_bigcode", "gptj", "codegen", "openai-gpt"):
    ATTRIBUTE_MAPS[_type] = _GPT2_NAMES


def model_types(
    translators: Mapping[str, Translator],
    attribute_maps: Mapping[str, Mapping[str, str]],
    key_order: tuple[str, ...],
    auto_class: str = "AutoModelForCausalLM",
) -> list[HFModelType]:
    """What a translator module's ``archcalc_hf_model_types`` returns: an :class:`HFModelType`
    of ``family: transformer`` for each entry of its ``translators`` table, in model-type
    order, with the aliases of its ``attribute_maps`` table and the keys of the specs
    ``archcalc import-hf`` writes in ``key_order``. Every translator module ends with this
    one call, so a new model type needs only its table entries."""
    return [
        HFModelType(
            model_type,
            family="transformer",
            translate=translator,
            auto_class=auto_class,
            key_order=key_order,
            aliases=attribute_maps.get(model_type, {}),
        )
        for model_type, translator in sorted(translators.items())
    ]


@hookimpl
def archcalc_hf_model_types() -> list[HFModelType]:
    return model_types(TRANSLATORS, ATTRIBUTE_MAPS, ORDER)
