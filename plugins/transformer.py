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

Every formula below is plain arithmetic on its arguments, so it returns an exact int
for ints and a sympy expression for symbols.
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
        "layernorm (weight and bias) or rmsnorm (weight): one before attention, one before "
        "the MLP, one final.",
        default="rmsnorm",
        choices=("layernorm", "rmsnorm"),
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
        ),
    ),
)


def norm_params(d_model: Any, kind: str) -> Any:
    """LayerNorm has a weight and a bias, RMSNorm only a weight."""
    return 2 * d_model if kind == "layernorm" else d_model


def linear(d_in: Any, d_out: Any, bias: bool) -> Any:
    """A d_in × d_out weight, plus d_out biases when ``bias``."""
    return d_in * d_out + (d_out if bias else 0)


def attention_params(v: Any) -> Any:
    """q and o are d_model × n_heads·d_head; k and v are d_model × n_kv_heads·d_head."""
    q_width = v.n_heads * v.d_head
    kv_width = v.n_kv_heads * v.d_head
    qkv = linear(v.d_model, q_width, v.qkv_bias) + 2 * linear(v.d_model, kv_width, v.qkv_bias)
    return qkv + linear(q_width, v.d_model, v.bias)


def mlp_params(d_model: Any, d_ff: Any, kind: str, bias: bool) -> Any:
    """Up (and gate, for gated kinds) d_model × d_ff, then down d_ff × d_model."""
    n_in = 2 if kind in GATED else 1
    return n_in * linear(d_model, d_ff, bias) + linear(d_ff, d_model, bias)


def _block_parts(spec: Resolved, layers: Any, section: str, cross: bool) -> list[Part]:
    """Attention, MLP (or experts) and norms of ``layers`` identical blocks."""
    v = spec.values
    attn = attention_params(v)
    parts = [Part("attention", layers * attn, per_layer=attn, layers=layers, section=section)]
    if cross:
        parts.append(
            Part("cross-attention", layers * attn, per_layer=attn, layers=layers, section=section)
        )
    moe = v.moe
    if moe is None:
        mlp = mlp_params(v.d_model, v.d_ff, v.mlp, v.bias)
        parts.append(Part("mlp", layers * mlp, per_layer=mlp, layers=layers, section=section))
    else:
        expert = mlp_params(v.d_model, moe.d_ff_expert, v.mlp, v.bias)
        router = v.d_model * moe.n_experts
        experts = moe.n_experts * expert
        parts.append(
            Part("router", layers * router, per_layer=router, layers=layers, section=section)
        )
        parts.append(
            Part(
                "experts",
                layers * experts,
                active=layers * moe.top_k * expert,
                per_layer=experts,
                layers=layers,
                section=section,
            )
        )
        if spec.exact("n_shared_experts"):
            width = moe.n_shared_experts * moe.d_ff_expert
            shared = mlp_params(v.d_model, width, v.mlp, v.bias)
            parts.append(
                Part(
                    "shared experts",
                    layers * shared,
                    per_layer=shared,
                    layers=layers,
                    section=section,
                )
            )
    n_norms = 3 if cross else 2
    norms = n_norms * norm_params(v.d_model, v.norm)
    parts.append(Part("norms", layers * norms, per_layer=norms, layers=layers, section=section))
    return parts


def count(spec: Resolved) -> Breakdown:
    """The transformer's parameters, component by component."""
    v = spec.values
    learned = v.positional == "learned"
    parts = [Part("embeddings", v.vocab_size * v.d_model)]
    final_norm = norm_params(v.d_model, v.norm)
    if v.architecture == "encoder-decoder":
        for section, layers, cross in (
            ("encoder", v.n_layers, False),
            ("decoder", v.n_decoder_layers, True),
        ):
            if learned:
                parts.append(Part("positions", v.max_seq_len * v.d_model, section=section))
            parts += _block_parts(spec, layers, section, cross)
            parts.append(Part("final norm", final_norm, section=section))
    else:
        if learned:
            parts.append(Part("positions", v.max_seq_len * v.d_model))
        parts += _block_parts(spec, v.n_layers, "", cross=False)
        parts.append(Part("final norm", final_norm))
    if v.architecture != "encoder" and not v.tie_embeddings:
        parts.append(Part("lm head", v.vocab_size * v.d_model))
    return Breakdown(tuple(parts))


def check(spec: Resolved) -> None:
    """Semantic checks: what makes a transformer impossible to build."""
    v = spec.values
    if v.n_heads % v.n_kv_heads:
        spec.error(
            "n_kv_heads",
            f"n_kv_heads ({v.n_kv_heads}) must divide n_heads ({v.n_heads}): each key/value "
            "head serves a whole group of query heads",
        )
    if v.positional == "learned" and v.max_seq_len is None:
        spec.error(
            "positional", "positional: learned needs max_seq_len (rows of the position table)"
        )
    elif v.positional != "learned" and spec.given("max_seq_len"):
        spec.warning(
            "max_seq_len",
            f"max_seq_len has no parameters with positional: {v.positional}; it is ignored",
        )
    moe = v.moe
    if moe is not None and moe.top_k > moe.n_experts:
        spec.error(
            "top_k",
            f"top_k ({moe.top_k}) cannot exceed n_experts ({moe.n_experts})",
        )
    if v.architecture == "encoder" and spec.given("tie_embeddings") and v.tie_embeddings:
        spec.warning("tie_embeddings", "an encoder has no LM head; tie_embeddings has no effect")
    if v.architecture != "encoder-decoder" and spec.given("n_decoder_layers"):
        spec.warning(
            "n_decoder_layers",
            f"n_decoder_layers only applies to encoder-decoder, not {v.architecture}; ignored",
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
)


@hookimpl
def archcalc_families() -> list[Family]:
    return [FAMILY]
