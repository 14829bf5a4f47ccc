"""``family: transformer`` — decoder, encoder and encoder-decoder transformers.

Counts every tensor the way Hugging Face transformers builds it: token embeddings,
learned position tables, q/k/v/o projections (grouped- and multi-query aware, with an
explicit ``d_head``), two- or three-matrix MLPs, LayerNorm (weight and bias) or RMSNorm
(weight), the final norm, and the LM head unless it is tied to the embeddings. A mixture
of experts replaces the MLP of every block with ``n_experts`` MLPs of width
``d_ff_expert``, a bias-free ``d_model × n_experts`` router and optional always-active
shared experts (one MLP of width ``n_shared_experts · d_ff_expert``, as in DeepSeek).

Encoder: the same blocks with a final norm and no LM head. Encoder-decoder: an encoder
stack of ``n_layers`` and a decoder stack of ``n_decoder_layers`` blocks, each decoder
block adding cross-attention and its norm; one shared token embedding; a learned position
table per stack; the LM head unless tied.

Beyond the pinned keys, everything the architectures of Hugging Face configs need (see
:mod:`archcalc.hf`), each off by default so existing specs keep their counts: separate
output-projection, MLP and LM-head biases; parallel attention/MLP blocks with one norm
(GPT-J, Falcon); norms without parameters (OLMo), after each sub-layer (Gemma 2) or on
queries and keys (Qwen3); post-norm stacks without a final norm but with an embedding
norm, token-type embeddings and a pooler (BERT); learned positions with an offset (OPT,
BART); factorised embeddings and shared layers (ALBERT); a relative attention bias (T5);
multi-head latent attention (DeepSeek); shared experts of their own width with a gate
(Qwen2-MoE) and dense blocks before the MoE blocks (DeepSeek-V3).

Every formula below is plain arithmetic on its arguments, so it returns an exact int
for ints and a sympy expression for symbols. Structural decisions (does a part exist?)
branch on bools, choices or ``spec.exact(name)``, never on a symbol.
"""

from __future__ import annotations

from typing import Any

from archcalc import Breakdown, Family, Field, Group, Part, hookimpl
from archcalc.spec import Resolved

GATED = {"swiglu", "geglu"}

FIELDS = (
    Field(
        "architecture",
        "choice",
        "decoder (GPT, LLaMA), encoder (BERT-like, no LM head) or encoder-decoder (T5-like).",
        default="decoder",
        choices=("decoder", "encoder", "encoder-decoder"),
    ),
    Field("n_layers", "size", "Number of transformer blocks (the encoder's, for encoder-decoder)."),
    Field(
        "n_decoder_layers",
        "size",
        "Decoder blocks of an encoder-decoder.",
        default="n_layers",
    ),
    Field("d_model", "size", "Width of the residual stream (hidden_size)."),
    Field("n_heads", "size", "Query heads per attention layer."),
    Field(
        "n_kv_heads",
        "size",
        "Key/value heads: n_heads for multi-head, 1 for multi-query, between for grouped-query.",
        default="n_heads",
    ),
    Field(
        "d_head",
        "size",
        "Width of one attention head.",
        default="d_model / n_heads",
        default_hint="n_heads must divide d_model, or give d_head explicitly",
    ),
    Field("d_ff", "size", "Hidden width of the MLP (intermediate_size)."),
    Field("vocab_size", "size", "Number of token embeddings."),
    Field(
        "max_seq_len",
        "size",
        "Rows of the learned position table; required with positional: learned.",
        default=None,
    ),
    Field(
        "positional",
        "choice",
        "Position encoding; only 'learned' has parameters.",
        default="rope",
        choices=("learned", "rope", "alibi", "sinusoidal", "none"),
    ),
    Field(
        "mlp",
        "choice",
        "MLP kind: gelu, relu, silu use two matrices; swiglu, geglu use three.",
        default="swiglu",
        choices=("gelu", "relu", "silu", "swiglu", "geglu"),
    ),
    Field(
        "norm",
        "choice",
        "layernorm (weight and bias), rmsnorm (weight) or nonparametric (a norm without "
        "weights, OLMo): one before attention, one before the MLP, one final.",
        default="rmsnorm",
        choices=("layernorm", "rmsnorm", "nonparametric"),
    ),
    Field(
        "bias",
        "bool",
        "Whether the attention and MLP linear layers have biases (the LM head never does).",
        default=False,
    ),
    Field(
        "qkv_bias",
        "bool",
        "Whether the q, k, v projections have biases; overrides bias for them.",
        default="bias",
    ),
    Field(
        "tie_embeddings",
        "bool",
        "Whether the LM head shares the token embedding matrix.",
        default=False,
    ),
    Field(
        "o_bias",
        "bool",
        "Whether the attention output projection has a bias; overrides bias for it (GPT-J: false).",
        default="bias",
    ),
    Field(
        "mlp_bias",
        "bool",
        "Whether the MLP (and expert) linear layers have biases; overrides bias for them "
        "(GPT-J, GPT-NeoX: true with bias-free attention).",
        default="bias",
    ),
    Field(
        "lm_head_bias",
        "bool",
        "Whether the LM head has a bias of vocab_size entries (GPT-J); kept even when tied.",
        default=False,
    ),
    Field(
        "parallel_block",
        "bool",
        "Attention and MLP read the same normalised input: one norm per block instead of two "
        "(GPT-J, Falcon-7B).",
        default=False,
    ),
    Field(
        "post_norms",
        "bool",
        "A second norm after each sub-layer, doubling the norms of a block (Gemma 2: four).",
        default=False,
    ),
    Field(
        "qk_norm",
        "bool",
        "A norm of width d_head on the queries and one on the keys of every attention (Qwen3).",
        default=False,
    ),
    Field(
        "final_norm",
        "bool",
        "Whether each stack ends with a norm (false for post-norm models: BERT, BART).",
        default=True,
    ),
    Field(
        "embedding_norm",
        "bool",
        "A norm right after the embeddings, in every stack (BERT, BART).",
        default=False,
    ),
    Field(
        "position_offset",
        "count",
        "Extra rows of the learned position table beyond max_seq_len (OPT, BART: 2).",
        default=0,
    ),
    Field(
        "type_vocab_size",
        "count",
        "Rows of a token-type (segment) embedding table; 0 for none (BERT: 2).",
        default=0,
    ),
    Field(
        "d_embed",
        "size",
        "Width of the embeddings when factorised (ALBERT embedding_size); when given, a "
        "d_embed × d_model projection with a bias maps them to d_model.",
        default="d_model",
    ),
    Field(
        "n_unique_layers",
        "size",
        "Distinct blocks whose weights the n_layers blocks share (ALBERT: 1).",
        default="n_layers",
    ),
    Field(
        "relative_attention_buckets",
        "count",
        "Buckets of a relative position bias (buckets × n_heads) in the first block of each "
        "stack (T5: 32); 0 for none.",
        default=0,
    ),
    Field(
        "pooler",
        "bool",
        "A d_model × d_model pooler with a bias on top of the encoder (BERT's AutoModel).",
        default=False,
    ),
    Group(
        "moe",
        "Mixture of experts replacing the MLP of every block.",
        (
            Field("moe.n_experts", "size", "Routed experts per block."),
            Field("moe.top_k", "size", "Routed experts active per token."),
            Field(
                "moe.d_ff_expert",
                "size",
                "Hidden width of each expert's MLP.",
                default="d_ff",
            ),
            Field(
                "moe.n_shared_experts",
                "count",
                "Always-active shared experts (one MLP of width n_shared_experts · d_ff_expert).",
                default=0,
            ),
            Field(
                "moe.d_ff_shared",
                "count",
                "Hidden width of the shared experts' MLP (Qwen2-MoE "
                "shared_expert_intermediate_size).",
                default="n_shared_experts * d_ff_expert",
            ),
            Field(
                "moe.shared_expert_gate",
                "bool",
                "A bias-free d_model × 1 gate scaling the shared experts (Qwen2-MoE).",
                default=False,
            ),
            Field(
                "moe.first_dense_layers",
                "count",
                "Leading blocks of each stack that keep a dense MLP of width d_ff (DeepSeek-V3 "
                "first_k_dense_replace).",
                default=0,
            ),
        ),
    ),
    Group(
        "mla",
        "Multi-head latent attention (DeepSeek-V2/V3) replacing q, k, v and o projections.",
        (
            Field(
                "mla.q_lora_rank",
                "count",
                "Rank of the low-rank query projection (with its norm); 0 for a full one.",
                default=0,
            ),
            Field("mla.kv_lora_rank", "size", "Rank of the compressed key/value latent."),
            Field("mla.qk_rope_head_dim", "size", "Per-head query/key width that gets RoPE."),
            Field("mla.qk_nope_head_dim", "size", "Per-head query/key width without RoPE."),
            Field("mla.v_head_dim", "size", "Per-head value width."),
        ),
    ),
)


def norm_params(d_model: Any, kind: str) -> Any:
    """LayerNorm has a weight and a bias, RMSNorm only a weight, a nonparametric norm none."""
    if kind == "nonparametric":
        return 0
    return 2 * d_model if kind == "layernorm" else d_model


def linear(d_in: Any, d_out: Any, bias: bool) -> Any:
    """A d_in × d_out weight, plus d_out biases when ``bias``."""
    return d_in * d_out + (d_out if bias else 0)


def _opt(spec: Resolved, name: str, fallback: Any) -> Any:
    """A field's value when the spec gives it, else ``fallback`` (its default's meaning).

    Reading through here keeps optional features out of the "defaults used" line unless
    the spec uses them: a Llama spec is not told ``qk_norm=false``.
    """
    return getattr(spec.values, name) if spec.given(name) else fallback


def _group_opt(group: Any, spec: Resolved, name: str, fallback: Any) -> Any:
    return getattr(group, name) if spec.given(name) else fallback


def attention_params(v: Any, spec: Resolved | None = None) -> Any:
    """q and o are d_model × n_heads·d_head; k and v are d_model × n_kv_heads·d_head.

    With ``mla`` (DeepSeek): an optional low-rank query path (d → r_q, norm, r_q → heads),
    a shared latent d → kv_lora_rank + rope width with its norm, its expansion to per-head
    keys and values, and the output projection from heads·v_head_dim.
    """
    o_bias = v.bias if spec is None else _opt(spec, "o_bias", v.bias)
    if v.mla is not None and spec is not None:
        m = v.mla
        qk_head = m.qk_nope_head_dim + m.qk_rope_head_dim
        if spec.exact("q_lora_rank"):
            q = (
                linear(v.d_model, m.q_lora_rank, v.qkv_bias)
                + norm_params(m.q_lora_rank, v.norm)
                + linear(m.q_lora_rank, v.n_heads * qk_head, False)
            )
        else:
            q = linear(v.d_model, v.n_heads * qk_head, False)
        kv = (
            linear(v.d_model, m.kv_lora_rank + m.qk_rope_head_dim, v.qkv_bias)
            + norm_params(m.kv_lora_rank, v.norm)
            + linear(m.kv_lora_rank, v.n_heads * (m.qk_nope_head_dim + m.v_head_dim), False)
        )
        return q + kv + linear(v.n_heads * m.v_head_dim, v.d_model, o_bias)
    q_width = v.n_heads * v.d_head
    kv_width = v.n_kv_heads * v.d_head
    qkv = linear(v.d_model, q_width, v.qkv_bias) + 2 * linear(v.d_model, kv_width, v.qkv_bias)
    total = qkv + linear(q_width, v.d_model, o_bias)
    if spec is not None and _opt(spec, "qk_norm", False):
        total = total + 2 * norm_params(v.d_head, v.norm)
    return total


def mlp_params(d_model: Any, d_ff: Any, kind: str, bias: bool) -> Any:
    """Up (and gate, for gated kinds) d_model × d_ff, then down d_ff × d_model."""
    n_in = 2 if kind in GATED else 1
    return n_in * linear(d_model, d_ff, bias) + linear(d_ff, d_model, bias)


def _block_parts(spec: Resolved, layers: Any, section: str, cross: bool) -> list[Part]:
    """Attention, MLP (or experts) and norms of ``layers`` identical blocks.

    ``layers`` counts distinct blocks: with layer sharing (ALBERT) that is n_unique_layers.
    """
    v = spec.values
    mlp_bias = _opt(spec, "mlp_bias", v.bias)
    attn = attention_params(v, spec)
    parts = [Part("attention", layers * attn, per_layer=attn, layers=layers, section=section)]
    if cross:
        parts.append(
            Part("cross-attention", layers * attn, per_layer=attn, layers=layers, section=section)
        )
    moe = v.moe
    if moe is None:
        mlp = mlp_params(v.d_model, v.d_ff, v.mlp, mlp_bias)
        parts.append(Part("mlp", layers * mlp, per_layer=mlp, layers=layers, section=section))
    else:
        moe_layers = layers
        if spec.exact("first_dense_layers"):
            dense = moe.first_dense_layers
            moe_layers = layers - dense
            mlp = mlp_params(v.d_model, v.d_ff, v.mlp, mlp_bias)
            parts.append(
                Part("dense mlp", dense * mlp, per_layer=mlp, layers=dense, section=section)
            )
        expert = mlp_params(v.d_model, moe.d_ff_expert, v.mlp, mlp_bias)
        router = v.d_model * moe.n_experts
        experts = moe.n_experts * expert
        parts.append(
            Part(
                "router", moe_layers * router, per_layer=router, layers=moe_layers, section=section
            )
        )
        parts.append(
            Part(
                "experts",
                moe_layers * experts,
                active=moe_layers * moe.top_k * expert,
                per_layer=experts,
                layers=moe_layers,
                section=section,
            )
        )
        if spec.exact("n_shared_experts") and spec.exact("d_ff_shared"):
            width = _group_opt(moe, spec, "d_ff_shared", moe.n_shared_experts * moe.d_ff_expert)
            shared = mlp_params(v.d_model, width, v.mlp, mlp_bias)
            if _group_opt(moe, spec, "shared_expert_gate", False):
                shared = shared + v.d_model
            parts.append(
                Part(
                    "shared experts",
                    moe_layers * shared,
                    per_layer=shared,
                    layers=moe_layers,
                    section=section,
                )
            )
    n_norms = (1 if _opt(spec, "parallel_block", False) else 2) + (1 if cross else 0)
    if _opt(spec, "post_norms", False):
        n_norms *= 2
    norms = n_norms * norm_params(v.d_model, v.norm)
    if v.norm != "nonparametric":
        parts.append(Part("norms", layers * norms, per_layer=norms, layers=layers, section=section))
    return parts


def _stack_parts(spec: Resolved, layers: Any, section: str, cross: bool) -> list[Part]:
    """One stack: its position table, embedding norm, blocks and final norm."""
    v = spec.values
    d_embed = _opt(spec, "d_embed", v.d_model)
    parts = []
    if v.positional == "learned":
        rows = v.max_seq_len
        if spec.exact("position_offset"):
            rows = rows + v.position_offset
        parts.append(Part("positions", rows * d_embed, section=section))
    if _opt(spec, "embedding_norm", False) and v.norm != "nonparametric":
        parts.append(Part("embedding norm", norm_params(d_embed, v.norm), section=section))
    if spec.exact("relative_attention_buckets"):
        table = v.relative_attention_buckets * v.n_heads
        parts.append(Part("relative position bias", table, section=section))
    if spec.given("n_unique_layers"):
        layers = v.n_unique_layers
    parts += _block_parts(spec, layers, section, cross)
    if _opt(spec, "final_norm", True) and v.norm != "nonparametric":
        parts.append(Part("final norm", norm_params(v.d_model, v.norm), section=section))
    return parts


def count(spec: Resolved) -> Breakdown:
    """The transformer's parameters, component by component."""
    v = spec.values
    d_embed = _opt(spec, "d_embed", v.d_model)
    parts = [Part("embeddings", v.vocab_size * d_embed)]
    if spec.exact("type_vocab_size"):
        parts.append(Part("token types", v.type_vocab_size * d_embed))
    if spec.given("d_embed"):
        parts.append(Part("embedding projection", linear(d_embed, v.d_model, True)))
    if v.architecture == "encoder-decoder":
        parts += _stack_parts(spec, v.n_layers, "encoder", cross=False)
        parts += _stack_parts(spec, v.n_decoder_layers, "decoder", cross=True)
    else:
        parts += _stack_parts(spec, v.n_layers, "", cross=False)
    if _opt(spec, "pooler", False):
        parts.append(Part("pooler", linear(v.d_model, v.d_model, True)))
    if v.architecture != "encoder":
        head_bias = _opt(spec, "lm_head_bias", False)
        if not v.tie_embeddings or head_bias:
            weight = 0 if v.tie_embeddings else v.vocab_size * d_embed
            parts.append(Part("lm head", weight + (v.vocab_size if head_bias else 0)))
    return Breakdown(tuple(parts))


def check(spec: Resolved) -> None:
    """Semantic checks: what makes a transformer impossible to build."""
    v = spec.values
    if v.mla is None and v.n_heads % v.n_kv_heads:
        spec.error(
            "n_kv_heads",
            f"n_kv_heads ({v.n_kv_heads}) must divide n_heads ({v.n_heads}): each key/value "
            "head serves a whole group of query heads",
            code="T501",
        )
    if v.positional == "learned" and v.max_seq_len is None:
        spec.error(
            "positional",
            "positional: learned needs max_seq_len (rows of the position table)",
            code="T502",
        )
    elif v.positional != "learned" and spec.given("max_seq_len"):
        spec.warning(
            "max_seq_len",
            f"max_seq_len has no parameters with positional: {v.positional}; it is ignored",
            code="T510",
        )
    moe = v.moe
    if moe is not None and moe.top_k > moe.n_experts:
        spec.error(
            "top_k",
            f"top_k ({moe.top_k}) cannot exceed n_experts ({moe.n_experts})",
            code="T503",
        )
    if v.architecture == "encoder" and spec.given("tie_embeddings") and v.tie_embeddings:
        spec.warning(
            "tie_embeddings",
            "an encoder has no LM head; tie_embeddings has no effect",
            code="T510",
        )
    _check_extensions(spec)
    if v.architecture != "encoder-decoder" and spec.given("n_decoder_layers"):
        spec.warning(
            "n_decoder_layers",
            f"n_decoder_layers only applies to encoder-decoder, not {v.architecture}; ignored",
            code="T510",
        )


def _check_extensions(spec: Resolved) -> None:
    """Checks of the keys beyond the pinned ones (layer sharing, dense layers, MLA, offsets)."""
    v = spec.values
    stacks = [v.n_layers]
    if v.architecture == "encoder-decoder":
        stacks.append(v.n_decoder_layers)
    blocks = min(stacks)
    if spec.given("n_unique_layers"):
        if v.n_unique_layers > blocks:
            spec.error(
                "n_unique_layers",
                f"n_unique_layers ({v.n_unique_layers}) cannot exceed the blocks of a stack "
                f"({blocks}): it counts the distinct blocks the stack shares",
                code="T503",
            )
        blocks = min(blocks, v.n_unique_layers)
    moe = v.moe
    if moe is not None and spec.given("first_dense_layers") and moe.first_dense_layers > blocks:
        spec.error(
            "first_dense_layers",
            f"first_dense_layers ({moe.first_dense_layers}) cannot exceed the distinct blocks "
            f"of a stack ({blocks})",
            code="T503",
        )
    gated = moe is not None and spec.given("shared_expert_gate") and moe.shared_expert_gate
    if gated and not (spec.exact("n_shared_experts") and spec.exact("d_ff_shared")):
        spec.warning(
            "shared_expert_gate",
            "shared_expert_gate has no effect without shared experts",
            code="T510",
        )
    if v.mla is not None:
        for name in ("n_kv_heads", "d_head", "qk_norm"):
            if spec.given(name):
                spec.warning(
                    name,
                    f"{name} has no effect with mla (multi-head latent attention)",
                    code="T510",
                )
    if v.positional != "learned" and spec.given("position_offset"):
        spec.warning(
            "position_offset",
            f"position_offset has no parameters with positional: {v.positional}; it is ignored",
            code="T510",
        )


EXAMPLE = """\
name: llama-3-8b
family: transformer
n_layers: 32
d_model: 4096
n_heads: 32
n_kv_heads: 8
d_ff: 14336
vocab_size: 128256
positional: rope
mlp: swiglu
norm: rmsnorm
"""

FAMILY = Family(
    name="transformer",
    description="Decoder, encoder and encoder-decoder transformers (GPT, LLaMA, Mixtral, T5...).",
    fields=FIELDS,
    count=count,
    check=check,
    example=EXAMPLE,
    compute="archcalc.plugins.transformer_compute:compute",
)


@hookimpl
def archcalc_families() -> list[Family]:
    return [FAMILY]
