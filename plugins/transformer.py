"""``family: transformer`` — decoder, encoder and encoder-decoder transformers.

Counts every tensor the way Hugging Face transformers builds it: token embeddings,
learned position tables, q/k/v/o projections (grouped- and multi-query aware, with an
explicit ``d_head``), two- or three-matrix MLPs, LayerNorm (weight and bias) or RMSNorm
(weight), the final norm, and the LM head unless it is tied to the embeddings. A mixture
of experts replaces the MLP of a block with ``n_experts`` MLPs of width ``d_ff_expert``,
a bias-free ``d_model × n_experts`` router and optional always-active shared experts
(one MLP of width ``n_shared_experts · d_ff_expert``, as in DeepSeek).

Encoder: the same blocks with a final norm and no LM head. Encoder-decoder: an encoder
stack of ``n_layers`` and a decoder stack of ``n_decoder_layers`` blocks, each decoder
block adding cross-attention and its norm; one shared token embedding; a learned position
table per stack; the LM head unless tied.

The flat keys describe one block and ``n_layers`` copies of it; ``blocks`` and ``stack``
lay out stacks whose blocks differ (:mod:`archcalc.plugins.transformer_stack`). Each part
of a block is written once, as its tensors (:mod:`archcalc.plugins.transformer_parts`):
``count``, ``tensors`` and ``archcalc size`` all read the same parts, multiplied by how
many blocks of each kind a stack holds, never unrolled.

Beyond the pinned keys, everything the architectures of Hugging Face configs need (see
:mod:`archcalc.hf`), each off by default so existing specs keep their counts: separate
output-projection, MLP and LM-head biases; parallel attention/MLP blocks with one norm
(GPT-J, Falcon); norms without parameters (OLMo), after each sub-layer (Gemma 2/3) or on
queries and keys (Qwen3); post-norm stacks without a final norm but with an embedding
norm, token-type embeddings and a pooler (BERT); learned positions with an offset (OPT,
BART); factorised embeddings and shared layers (ALBERT); a relative attention bias (T5);
multi-head latent attention (DeepSeek); attention sinks and router biases (gpt-oss);
cross-attention in decoder blocks (``add_cross_attention``); shared experts of their own
width with a gate (Qwen2-MoE) and dense blocks before the MoE blocks (DeepSeek-V3);
encoder attention extras: Longformer's global q/k/v, DeBERTa's position projections and
relative embeddings, a value convolution (Nyströmformer); FNet's Fourier mixer; a block
without its input norm (ModernBERT's first); norms after the sub-layers (OLMo 2); other
mixers: LFM2's short convolution, MiniMax's lightning attention, RecurrentGemma's RG-LRU,
Falcon-H1's attention beside Mamba-2, Kimi Linear's delta attention, RWKV-4's time and
channel mixing; a decoder's own vocabulary (FSMT) and position table length (LED).

Structural decisions (does a part exist?) branch on bools, choices or
``spec.exact(name)``, never on a symbol, so one description gives the exact count and
the formula.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from archcalc.plugins import transformer_parts as parts
from archcalc.plugins import transformer_stack
from archcalc.plugins.transformer_parts import GATED, mlp_params

from archcalc import Breakdown, Family, Field, Group, Part, hookimpl
from archcalc.errors import Unavailable
from archcalc.family import independent
from archcalc.spec import Resolved

if TYPE_CHECKING:
    from archcalc.tensors import Tensor

__all__ = ["FAMILY", "FIELDS", "GATED", "check", "count", "mlp_params", "tensors"]

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
        "MLP kind: gelu, relu, silu use two matrices; swiglu, geglu use three; rwkv: "
        "RWKV's channel mixing (key d → d_ff, value d_ff → d, receptance d → d, two "
        "token-shift mixes); none: the block has no MLP (Nemotron-H's attention and Mamba "
        "layers).",
        default="swiglu",
        choices=("gelu", "relu", "silu", "swiglu", "geglu", "rwkv", "none"),
    ),
    Field(
        "mixer",
        "choice",
        "What mixes tokens in a block: attention; a Mamba (selective scan, as in Jamba) or "
        "Mamba-2 mixer (Bamba, Nemotron-H), shaped by the mamba group; a gated DeltaNet "
        "linear attention (Qwen3-Next, Qwen3.5), shaped by the deltanet group; fourier: "
        "FNet's parameter-free Fourier transform (its norms are attention's); short_conv: "
        "LFM2's gated short convolution (the short_conv group); lightning: MiniMax's "
        "lightning (linear) attention over n_heads × d_head; rglru: RecurrentGemma's "
        "recurrent block (the rglru group); attention+mamba2: Falcon-H1's attention and "
        "Mamba-2 mixer side by side on one norm; kda: Kimi Linear's delta attention (the "
        "kda group); rwkv: RWKV-4's time mixing over n_heads·d_head channels; or none (a "
        "block of only its MLP or experts).",
        default="attention",
        choices=(
            "attention",
            "mamba",
            "mamba2",
            "gated_deltanet",
            "attention+mamba2",
            "short_conv",
            "lightning",
            "rglru",
            "kda",
            "rwkv",
            "fourier",
            "none",
        ),
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
        "k_bias",
        "bool",
        "Whether the k projection has a bias; overrides qkv_bias for it (DeBERTa: q and v "
        "biased, k not).",
        default="qkv_bias",
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
        "mlp_in_bias",
        "bool",
        "Whether the MLP's input projections (up, and gate) have biases; overrides mlp_bias "
        "for them (gte: only down_proj has one).",
        default="mlp_bias",
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
        "sub_norms",
        "bool",
        "Norms inside the sub-layers (BitNet): on the attention output before o_proj "
        "(n_heads·d_head wide) and on the MLP's hidden activations before down_proj (d_ff).",
        default=False,
    ),
    Field(
        "input_norm",
        "bool",
        "The norm before the block's mixer (false: ModernBERT's first layer has none).",
        default=True,
    ),
    Field(
        "norm_position",
        "choice",
        "Where a block's two norms sit: before each sub-layer (pre) or after it, on the "
        "sub-layer's output (post: OLMo 2's post_attention_layernorm and "
        "post_feedforward_layernorm). Counts the same; names the tensors.",
        default="pre",
        choices=("pre", "post"),
    ),
    Field(
        "global_attention",
        "bool",
        "Longformer's and LED's global attention: q, k, v projections of their own "
        "(query_global...) beside the sliding-window ones, biased like q, k, v.",
        default=False,
    ),
    Field(
        "position_projections",
        "choice",
        "DeBERTa's disentangled attention without shared keys (share_att_key false): a "
        "projection of the relative embeddings to keys (c2p), to queries (p2c) or both, "
        "d_model → n_heads·d_head each, biased like q, k, v.",
        default="none",
        choices=("none", "key", "query", "both"),
    ),
    Field(
        "position_key_bias",
        "bool",
        "Whether the position key projection has a bias; overrides qkv_bias for it "
        "(DeBERTa v1's pos_proj: false).",
        default="qkv_bias",
    ),
    Field(
        "value_conv",
        "count",
        "Taps of a depthwise convolution over each head's values, without bias "
        "(Nyströmformer conv_kernel_size, YOSO conv_window): n_heads × value_conv; 0 for none.",
        default=0,
    ),
    Field(
        "qk_norm_scope",
        "choice",
        "What a qk_norm normalises: each head with one shared norm (d_head wide; Qwen3, "
        "Gemma 3), the whole q and k projections (n_heads·d_head and n_kv_heads·d_head "
        "wide; OLMo 2, OLMoE), or each head with its own bias-free norm (per_head: "
        "n_heads × d_head weights; StableLM's qk_layernorm).",
        default="head",
        choices=("head", "projection", "per_head"),
    ),
    Field(
        "attention_sinks",
        "bool",
        "A learned sink logit per query head in every self-attention (gpt-oss): n_heads "
        "parameters.",
        default=False,
    ),
    Field(
        "attention_gate",
        "choice",
        "A sigmoid gate on each self-attention's output from a bias-free projection of the "
        "block's input: one value per head (Laguna) or per head element (Qwen3-Next, where "
        "transformers fuses it into q_proj).",
        default="none",
        choices=("none", "head", "element"),
    ),
    Field(
        "cross_attention",
        "bool",
        "Decoder or encoder blocks also attend to an encoder's output (transformers' "
        "add_cross_attention): q, k, v, o projections and a norm more per block.",
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
        "sinusoidal_table",
        "bool",
        "With positional: sinusoidal, the table is a (frozen) parameter of max_seq_len rows "
        "per stack, as transformers builds Marian and Pegasus.",
        default=False,
    ),
    Field(
        "sinusoidal_table_width",
        "size",
        "Columns of the sinusoidal_table (RoFormer: d_model / n_heads, one head's width).",
        default="d_embed",
    ),
    Field(
        "decoder_max_seq_len",
        "size",
        "Rows of the decoder's position table when they differ from the encoder's "
        "(LED max_decoder_position_embeddings; default max_seq_len); encoder-decoder only.",
        default=None,
    ),
    Field(
        "decoder_vocab_size",
        "size",
        "A decoder vocabulary of its own (FSMT tgt_vocab_size; Marian without shared "
        "embeddings): the decoder gets its own token table and the LM head its rows "
        "(tied to that table with tie_embeddings); encoder-decoder only.",
        default="vocab_size",
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
        "task_type_vocab_size",
        "count",
        "Rows of a task-type embedding table beside the token types; 0 for none (ERNIE "
        "use_task_id).",
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
        "relative_attention_per_layer",
        "bool",
        "With relative_attention_buckets, every block's self-attention has its own relative "
        "position bias (UMT5), not only the first block of each stack (T5).",
        default=False,
    ),
    Field(
        "relative_embeddings",
        "count",
        "Rows of a table of relative position embeddings (rows × d_model) in each stack, "
        "read by every layer (DeBERTa-v2 rel_embeddings: 2·position_buckets); 0 for none.",
        default=0,
    ),
    Field(
        "relative_embeddings_norm",
        "bool",
        "A norm (of the spec's kind) of width d_model on the relative embeddings, in each "
        "stack (DeBERTa-v2 norm_rel_ebd: layer_norm).",
        default=False,
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
                "moe.router_bias",
                "bool",
                "Whether the router has a bias of n_experts entries (gpt-oss).",
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
            Field(
                "mla.index_n_heads",
                "count",
                "Heads of a lightning indexer choosing the tokens each query attends to "
                "(DeepSeek-V3.2 sparse attention); 0 for none.",
                default=0,
            ),
            Field(
                "mla.index_head_dim",
                "size",
                "Width of one indexer head (and of its cached key).",
                default=128,
            ),
        ),
    ),
    Group(
        "deltanet",
        "Gated DeltaNet linear attention of the blocks whose mixer is gated_deltanet.",
        (
            Field("deltanet.key_heads", "size", "Key (and query) heads (linear_num_key_heads)."),
            Field(
                "deltanet.value_heads",
                "size",
                "Value heads (linear_num_value_heads).",
                default="key_heads",
            ),
            Field("deltanet.key_head_dim", "size", "Width of a key head (linear_key_head_dim)."),
            Field(
                "deltanet.value_head_dim",
                "size",
                "Width of a value head (linear_value_head_dim).",
                default="key_head_dim",
            ),
            Field(
                "deltanet.conv_size",
                "size",
                "Taps of the depthwise convolution (linear_conv_kernel_dim).",
                default=4,
            ),
            Field(
                "deltanet.fused_projections",
                "bool",
                "Whether q, k, v (and z, and b, a) are stored fused, as Qwen3-Next does "
                "(in_proj_qkv...); false: separate q_proj ... o_proj as OLMo-Hybrid. Counts "
                "the same; names the tensors.",
                default=True,
            ),
        ),
    ),
    Group(
        "kda",
        "Kimi Delta Attention of the blocks whose mixer is kda (Kimi Linear).",
        (
            Field("kda.heads", "size", "Heads of the delta attention (linear_num_heads)."),
            Field("kda.head_width", "size", "Width of one head (linear_head_dim)."),
            Field(
                "kda.conv_taps",
                "size",
                "Taps of the depthwise convolution over q, k, v (linear_conv_kernel_dim).",
                default=4,
            ),
            Field(
                "kda.full_rank_gates",
                "bool",
                "Whether the forget and output gates are full-rank projections d → "
                "heads·head_width (Ling's BailingHybrid: f_proj, g_proj, A_log per head) "
                "instead of Kimi's low-rank pairs through head_width.",
                default=False,
            ),
        ),
    ),
    Group(
        "short_conv",
        "Gated short convolution of the blocks whose mixer is short_conv (LFM2).",
        (
            Field("short_conv.kernel_size", "size", "Taps of the depthwise conv (conv_L_cache)."),
            Field(
                "short_conv.biases",
                "bool",
                "Biases on the in and out projections and the convolution (conv_bias).",
                default=False,
            ),
        ),
    ),
    Group(
        "rglru",
        "RG-LRU recurrent block of the blocks whose mixer is rglru (RecurrentGemma, Griffin).",
        (
            Field("rglru.lru_width", "size", "Width of the recurrence (lru_width)."),
            Field(
                "rglru.gate_blocks",
                "size",
                "Blocks of the block-diagonal input and recurrence gates (num_attention_heads).",
                default="n_heads",
            ),
            Field(
                "rglru.block_width",
                "size",
                "Width of one gate block.",
                default="lru_width / gate_blocks",
                default_hint="gate_blocks must divide lru_width, or give block_width",
            ),
            Field("rglru.conv_width", "size", "Taps of the convolution (conv1d_width).", default=4),
        ),
    ),
    Group(
        "mamba",
        "State-space mixer of the blocks whose mixer is mamba or mamba2.",
        (
            Field("mamba.d_state", "size", "State size per channel (mamba_d_state)."),
            Field("mamba.d_conv", "size", "Taps of the depthwise convolution.", default=4),
            Field(
                "mamba.expansion",
                "size",
                "Inner width as a multiple of d_model (mamba_expand; named so that formulas "
                "never hold sympy's 'expand').",
                default=2,
            ),
            Field(
                "mamba.d_inner",
                "size",
                "Inner width of the mixer; give it to override expansion.",
                default="expansion * d_model",
            ),
            Field(
                "mamba.dt_rank",
                "size",
                "Rank of the time-step projection (Mamba).",
                default="ceil(d_model / 16)",
            ),
            Field("mamba.head_dim", "size", "Width of one SSM head (Mamba-2).", default=64),
            Field(
                "mamba.ssm_heads",
                "size",
                "SSM heads (Mamba-2 mamba_n_heads); Mamba-1 has none and never reads it.",
                # Rounded up so that a Mamba-1 block, whose d_inner need not be a multiple of
                # head_dim, is not refused over a value it never uses; a Mamba-2 block
                # without ssm_heads must divide evenly (_check_mixer says so).
                default="ceil(d_inner / head_dim)",
            ),
            Field("mamba.n_groups", "size", "Groups sharing B and C (Mamba-2).", default=1),
            Field("mamba.conv_bias", "bool", "The convolution has a bias.", default=True),
            Field(
                "mamba.proj_bias",
                "bool",
                "The in and out projections have biases.",
                default=False,
            ),
            Field(
                "mamba.inner_norms",
                "bool",
                "RMSNorms on the time step, B and C (Jamba's dt/b/c layernorms; Mamba).",
                default=False,
            ),
            Field(
                "mamba.gated_norm",
                "bool",
                "A gated RMSNorm of width d_inner before out_proj (Mamba-2).",
                default=True,
            ),
        ),
    ),
)


#: Components of a block, in the order a breakdown lists them.
COMPONENTS = (
    "attention",
    "mamba",
    "linear attention",
    "time mixing",
    "short conv",
    "recurrence",
    "cross-attention",
    "mlp",
    "router",
    "experts",
    "shared experts",
    "norms",
)


def _part(piece: parts.Piece, section: str = "") -> Part:
    return Part(piece.component, piece.params, active=piece.active, section=section)


def _block_parts(stack: transformer_stack.Stack) -> list[Part]:
    """Each component summed over the kinds of block: multiplied by their counts, not unrolled.

    ``per_layer`` is set when every block holding the component holds the same amount.
    """
    # component -> (blocks, params per block, active per block) of every kind holding it
    terms: dict[str, list[tuple[Any, Any, Any]]] = {}
    for name, n in stack.counts().items():
        if isinstance(n, int) and n == 0:
            continue
        for piece in parts.block(stack.kinds[name].spec, cross=stack.section == "decoder"):
            terms.setdefault(piece.component, []).append((n, piece.params, piece.active))
    out = []
    for component in sorted(terms, key=COMPONENTS.index):
        rows = terms[component]
        per = {params for _, params, _ in rows} if len(rows) < 64 else set()
        out.append(
            Part(
                component,
                parts.add_all(n * params for n, params, _ in rows),
                active=parts.add_all(n * active for n, _, active in rows),
                per_layer=rows[0][1] if len(per) == 1 else None,
                layers=parts.add_all(n for n, _, _ in rows),
                section=stack.section,
            )
        )
    return out


def count(spec: Resolved) -> Breakdown:
    """The transformer's parameters, component by component."""
    out = [_part(p) for p in parts.embeddings(spec)]
    for stack in transformer_stack.stacks(spec):
        out += [_part(p, stack.section) for p in parts.stack_inputs(spec, stack.section)]
        out += _block_parts(stack)
        out += [_part(p, stack.section) for p in parts.stack_outputs(spec)]
    out += [_part(p) for p in parts.heads(spec)]
    return Breakdown(tuple(out))


#: Blocks ``tensors`` lists at most (one by one, unlike the count): a bound on its output.
MAX_LISTED_BLOCKS = 10_000


def tensors(spec: Resolved) -> Iterator[Tensor]:
    """Every parameter tensor, block by block with exact values (tied weights once)."""
    from archcalc.tensors import Tensor  # only here: counting does not need it

    stacks = transformer_stack.stacks(spec)
    blocks = sum(stack.exact_distinct for stack in stacks)
    if blocks > MAX_LISTED_BLOCKS:
        spec.error(
            "n_layers",
            f"listing tensors goes block by block: {blocks:,} blocks is over the limit of "
            f"{MAX_LISTED_BLOCKS:,} (count and formula take any depth)",
            code="T503",
        )
        spec.sink.raise_if_errors()

    def named(pieces: list[parts.Piece], prefix: str = "") -> Iterator[Tensor]:
        for piece in pieces:
            yield from (Tensor(prefix + w.name, w.shape) for w in piece.weights)

    yield from named(parts.embeddings(spec))
    for stack in stacks:
        prefix = f"{stack.section}." if stack.section else ""
        yield from named(parts.stack_inputs(spec, stack.section), prefix)
        for i in range(stack.exact_distinct):
            kind = stack.kind_at(i)
            pieces = parts.block(kind.spec, cross=stack.section == "decoder")
            yield from named(pieces, f"{prefix}layers.{i}.")
        yield from named(parts.stack_outputs(spec), prefix)
    yield from named(parts.heads(spec))


def check_positions(spec: Resolved) -> None:
    """Learned positions need a table size; other position keys have no effect without one."""
    v = spec.values
    if v.positional == "learned" and v.max_seq_len is None:
        spec.error(
            "positional",
            "positional: learned needs max_seq_len (rows of the position table)",
            code="T502",
        )
    elif _opt_on(spec, "sinusoidal_table"):
        if v.positional != "sinusoidal":
            spec.error(
                "sinusoidal_table",
                f"sinusoidal_table needs positional: sinusoidal, not {v.positional}",
                code="T502",
            )
        elif v.max_seq_len is None:
            spec.error(
                "sinusoidal_table",
                "sinusoidal_table needs max_seq_len (rows of the table)",
                code="T502",
            )
    elif v.positional != "learned" and spec.given("max_seq_len"):
        spec.warning(
            "max_seq_len",
            f"max_seq_len has no parameters with positional: {v.positional}; it is ignored",
            code="T510",
        )
    table = v.positional == "learned" or _opt_on(spec, "sinusoidal_table")
    if spec.given("decoder_max_seq_len") and not table:
        spec.warning(
            "decoder_max_seq_len",
            f"decoder_max_seq_len has no parameters with positional: {v.positional}; ignored",
            code="T510",
        )
    if spec.given("sinusoidal_table_width") and not _opt_on(spec, "sinusoidal_table"):
        spec.warning(
            "sinusoidal_table_width",
            "sinusoidal_table_width has no effect without sinusoidal_table",
            code="T510",
        )
    if v.positional != "learned" and spec.given("position_offset"):
        spec.warning(
            "position_offset",
            f"position_offset has no parameters with positional: {v.positional}; it is ignored",
            code="T510",
        )


def check_architecture(spec: Resolved) -> None:
    """Keys that only one architecture uses."""
    v = spec.values
    if v.architecture == "encoder" and spec.given("tie_embeddings") and v.tie_embeddings:
        spec.warning(
            "tie_embeddings",
            "an encoder has no LM head; tie_embeddings has no effect",
            code="T510",
        )
    if v.architecture != "encoder-decoder" and spec.given("n_decoder_layers"):
        spec.warning(
            "n_decoder_layers",
            f"n_decoder_layers only applies to encoder-decoder, not {v.architecture}; ignored",
            code="T510",
        )
    if _opt_on(spec, "relative_attention_per_layer") and not spec.exact(
        "relative_attention_buckets"
    ):
        spec.warning(
            "relative_attention_per_layer",
            "relative_attention_per_layer has no effect without relative_attention_buckets",
            code="T510",
        )
    for name in ("decoder_vocab_size", "decoder_max_seq_len"):
        if v.architecture != "encoder-decoder" and spec.given(name):
            spec.warning(
                name,
                f"{name} only applies to encoder-decoder, not {v.architecture}; ignored",
                code="T510",
            )
    if "decoder_stack" in spec.doc.data and v.architecture != "encoder-decoder":
        spec.error(
            "decoder_stack",
            f"decoder_stack is for encoder-decoder, not {v.architecture}",
            code="T522",
        )


def check_layout(spec: Resolved) -> None:
    """The stacks resolve (segments add up, kinds exist) and every kind of block is sound."""
    if not transformer_stack.groups_complete(spec) or not _layout_keys_agree(spec):
        return
    once = _Once()
    used: set[str] = set()
    resolved = True
    for key, section in _stack_keys(spec):
        try:
            kinds = transformer_stack.resolve(spec, key, section).kinds
        except transformer_stack.StackError as exc:
            resolved = False  # reported where it is wrong; still check the kinds that resolved
            kinds = exc.kinds
        for kind in kinds.values():
            used.add(kind.name)
            _check_block(kind.spec, once, decoder=section == "decoder")
    if resolved:
        transformer_stack.unused_kinds(spec, used)


def _stack_keys(spec: Resolved) -> list[tuple[str, str]]:
    if spec.values.architecture == "encoder-decoder":
        return [("stack", "encoder"), ("decoder_stack", "decoder")]
    return [("stack", "")]


def _layout_keys_agree(spec: Resolved) -> bool:
    """Keys deciding the layout of the stacks agree; False when the stacks cannot be resolved."""
    v = spec.values
    data = spec.doc.data
    ok = True
    given = [key for key in transformer_stack.STACK_KEYS if key in data]
    blocks_given = data.get("blocks")
    if isinstance(blocks_given, dict) and transformer_stack.DEFAULT in blocks_given:
        spec.error(
            ("blocks", transformer_stack.DEFAULT),
            f"'{transformer_stack.DEFAULT}' is the block of the top-level keys; give this "
            "kind another name",
            code="T522",
        )
    for other in ("n_unique_layers", "first_dense_layers"):
        if given and spec.given(other):
            spec.error(
                other,
                f"{other} cannot be combined with {given[0]}: lay the blocks out in "
                f"{given[0]} alone",
                code="T522",
            )
            ok = False
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
            ok = False
        blocks = min(blocks, v.n_unique_layers)
    moe = v.moe
    if moe is not None and spec.given("first_dense_layers") and moe.first_dense_layers > blocks:
        spec.error(
            "first_dense_layers",
            f"first_dense_layers ({moe.first_dense_layers}) cannot exceed the distinct blocks "
            f"of a stack ({blocks})",
            code="T503",
        )
        ok = False
    return ok


class _Once:
    """Reports each problem once: kinds of block share the top-level values they inherit."""

    def __init__(self) -> None:
        self.seen: set[tuple[Any, str]] = set()

    def __call__(
        self, spec: Resolved, path: str, message: str, code: str, warning: bool = False
    ) -> None:
        key = (spec.mark(path), message)
        if key not in self.seen:
            self.seen.add(key)
            (spec.warning if warning else spec.error)(path, message, code=code)


def _check_block(spec: Resolved, report: _Once, decoder: bool) -> None:
    """Checks of one kind of block (the top-level one or a variant from ``blocks``).

    Each rule runs on its own: one that reads a value already reported wrong (a
    misspelt ``mixer``) stops quietly and the others still report.
    """
    for rule in BLOCK_RULES:
        with contextlib.suppress(Unavailable):
            rule(spec, report, decoder)


def _check_mixer(spec: Resolved, report: _Once, decoder: bool) -> None:
    """A mixer has the group that shapes it; a block has something besides norms."""
    v = spec.values
    mixer = v.mixer if spec.given("mixer") else "attention"
    for name, group in (("short_conv", "kernel_size"), ("rglru", "lru_width"), ("kda", "heads")):
        if mixer == name and getattr(v, name) is None:
            report(
                spec,
                "mixer",
                f"mixer: {name} needs the {name} group (at least {group}) to shape the mixer",
                code="T523",
            )
    if mixer in ("mamba", "mamba2", "attention+mamba2") and v.mamba is None:
        report(
            spec,
            "mixer",
            f"mixer: {mixer} needs the mamba group (at least d_state) to shape the mixer",
            code="T523",
        )
    if mixer in ("mamba2", "attention+mamba2") and v.mamba is not None:
        m = v.mamba
        if not spec.given("ssm_heads") and m.d_inner % m.head_dim:
            report(
                spec,
                "mamba",
                f"mixer: {mixer} splits d_inner ({m.d_inner}) into heads of head_dim "
                f"({m.head_dim}), which does not divide it: give mamba.ssm_heads (or a head_dim "
                "that divides d_inner)",
                code="T523",
            )
    if mixer == "gated_deltanet" and v.deltanet is None:
        report(
            spec,
            "mixer",
            "mixer: gated_deltanet needs the deltanet group (key_heads, key_head_dim)",
            code="T523",
        )
    if mixer not in ("attention", "attention+mamba2"):
        for name in ATTENTION_ONLY:
            if _opt_on(spec, name):
                report(
                    spec,
                    name,
                    f"{name} shapes attention; the block's mixer is {mixer}",
                    code="T524",
                )
    if mixer == "none" and v.moe is None and v.mlp == "none":
        report(spec, "mixer", "a block with neither a mixer nor an MLP has nothing", code="T524")


def _check_norms(spec: Resolved, report: _Once, decoder: bool) -> None:
    """Post-placed norms (OLMo 2) are two per block, after the mixer and after the MLP."""
    if _opt_on(spec, "norm_position") and spec.values.norm_position == "post":
        for name in ("post_norms", "parallel_block"):
            if _opt_on(spec, name):
                report(spec, name, f"{name} with norm_position: post is not modelled", code="T524")
        if spec.given("input_norm") and not spec.values.input_norm:
            report(
                spec,
                "input_norm",
                "norm_position: post has no input norm to remove; drop input_norm",
                code="T524",
            )


def _check_channel_mixing(spec: Resolved, report: _Once, decoder: bool) -> None:
    """RWKV's channel mixing is bias-free and has no inner norm."""
    v = spec.values
    if v.mlp != "rwkv" or v.moe is not None:
        return
    if _opt_on(spec, "sub_norms"):
        report(spec, "sub_norms", "sub_norms with mlp: rwkv is not modelled", code="T524")
    if v.mlp_bias or v.mlp_in_bias:
        name = next((n for n in ("mlp_in_bias", "mlp_bias") if spec.given(n)), "bias")
        report(
            spec,
            name,
            f"mlp: rwkv (RWKV's channel mixing) has no biases; set {name}: false",
            code="T524",
        )


def _check_attention_biases(spec: Resolved, report: _Once, decoder: bool) -> None:
    """A bias key of a projection the block does not have says nothing."""
    if spec.given("position_key_bias") and spec.values.position_projections not in (
        "key",
        "both",
    ):
        report(
            spec,
            "position_key_bias",
            "position_key_bias has no effect without position_projections: key or both",
            code="T510",
            warning=True,
        )


def _check_heads(spec: Resolved, report: _Once, decoder: bool) -> None:
    v = spec.values
    if v.mla is None and v.n_heads % v.n_kv_heads:
        report(
            spec,
            "n_kv_heads",
            f"n_kv_heads ({v.n_kv_heads}) must divide n_heads ({v.n_heads}): each key/value "
            "head serves a whole group of query heads",
            code="T501",
        )


def _check_experts(spec: Resolved, report: _Once, decoder: bool) -> None:
    v = spec.values
    moe = v.moe
    if moe is None:
        return
    if moe.top_k > moe.n_experts:
        report(
            spec,
            "top_k",
            f"top_k ({moe.top_k}) cannot exceed n_experts ({moe.n_experts})",
            code="T503",
        )
    gated = spec.given("shared_expert_gate") and moe.shared_expert_gate
    if gated and not (spec.exact("n_shared_experts") and spec.exact("d_ff_shared")):
        report(
            spec,
            "shared_expert_gate",
            "shared_expert_gate has no effect without shared experts",
            code="T510",
            warning=True,
        )
    if _opt_on(spec, "sub_norms"):
        report(spec, "sub_norms", "sub_norms with moe is not modelled", code="T524")
    if v.mlp in ("none", "rwkv"):
        report(
            spec,
            "mlp",
            f"mlp: {v.mlp} with moe: experts are MLPs of the spec's mlp kind; give a dense kind",
            code="T524",
        )


def _check_latent_attention(spec: Resolved, report: _Once, decoder: bool) -> None:
    v = spec.values
    if v.mla is None:
        return
    for name in ("n_kv_heads", "d_head", "qk_norm", "k_bias"):
        if spec.given(name):
            report(
                spec,
                name,
                f"{name} has no effect with mla (multi-head latent attention)",
                code="T510",
                warning=True,
            )
    if spec.exact("index_n_heads") and not spec.exact("q_lora_rank"):
        report(
            spec,
            "index_n_heads",
            "an indexer reads the low-rank query: index_n_heads needs q_lora_rank",
            code="T502",
        )
    for name in ("attention_sinks", *ATTENTION_ONLY):
        if _opt_on(spec, name):
            report(
                spec,
                name,
                f"{name} with mla is not modelled (no such model is known)",
                code="T524",
            )


def _check_cross_attention(spec: Resolved, report: _Once, decoder: bool) -> None:
    if decoder and spec.given("cross_attention"):
        report(
            spec,
            "cross_attention",
            "the decoder blocks of an encoder-decoder always have cross-attention; remove "
            "cross_attention",
            code="T522",
        )


#: Block keys that add tensors to a self-attention (and so need one).
ATTENTION_ONLY = ("global_attention", "position_projections", "value_conv")

BLOCK_RULES = (
    _check_mixer,
    _check_norms,
    _check_channel_mixing,
    _check_attention_biases,
    _check_heads,
    _check_experts,
    _check_latent_attention,
    _check_cross_attention,
)


def _opt_on(spec: Resolved, name: str) -> bool:
    """Whether an optional feature is given and switched on (``true``, or not ``none``)."""
    value = getattr(spec.values, name) if spec.given(name) else None
    return value not in (None, False, 0, "none")


check = independent(check_positions, check_architecture, check_layout)


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
    schema=transformer_stack.schema(FIELDS),
    tensors=tensors,
    example=EXAMPLE,
    compute="archcalc.plugins.transformer_compute:compute",
)


@hookimpl
def archcalc_families() -> list[Family]:
    return [FAMILY]
