"""The parts of a transformer block, and of the model around the blocks, each written once.

A part is one description: the parameter tensors it holds (a canonical dotted name and a
PyTorch shape, ``(out_features, in_features)`` for a linear weight), which of them every
token is multiplied by, and what attention keeps per token. Its parameter count, its
forward FLOPs and its KV cache all follow from that one list, so ``archcalc count``,
``archcalc size`` and ``archcalc tensors`` cannot disagree:

* parameters: the sum of the tensors' elements;
* FLOPs per token: ``2·numel`` of every matmul weight (2·m·n·k per matmul), only the
  ``top_k`` active experts of a mixture; attention's two sequence-dependent products
  are ``2·scores·S`` per token;
* KV cache: ``kv`` elements per token per block.

Each function reads a block's resolved spec (``spec.values``; for a block of a
heterogeneous stack, the variant of that kind of block) and works for ints and sympy
symbols alike. Names follow Hugging Face's Llama modules (``self_attn.q_proj.weight``),
relative to the block (``layers.{i}.``) or the model; :mod:`archcalc.state_dict` maps
them to each model type's own state-dict names.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, NamedTuple

from archcalc.spec import Resolved

GATED = frozenset({"swiglu", "geglu"})


class Weight(NamedTuple):
    """One parameter tensor of a part, named relative to the part's owner.

    Not an :class:`archcalc.tensors.Tensor` itself, so that counting never imports the
    tensors module; ``transformer.tensors`` turns each into one.
    """

    name: str
    shape: tuple[Any, ...]
    #: Every token passing through is multiplied by it: 2·numel FLOPs per token.
    matmul: bool = False

    @property
    def numel(self) -> Any:
        return _product(self.shape)


class Piece(NamedTuple):
    """A part: its tensors, and what it costs at run time beyond them."""

    component: str
    weights: tuple[Weight, ...]
    #: For routed experts (tensors stacked on a leading expert axis): experts a token uses.
    active_experts: Any = None
    #: Attention: multiply-accumulates per token per attended position (Q·Kᵀ and A·V).
    scores: Any = 0
    #: Attention: KV-cache elements per token, as cached and as per-head k and v.
    kv: Any = 0
    kv_expanded: Any = 0
    #: Cross-attention: keys and values come from the source sequence, unmasked.
    cross: bool = False

    @property
    def params(self) -> Any:
        return add_all(w.numel for w in self.weights)

    def _active(self, weight: Weight) -> Any:
        if self.active_experts is None:
            return weight.numel
        return self.active_experts * _product(weight.shape[1:])

    @property
    def active(self) -> Any:
        return add_all(self._active(w) for w in self.weights)

    @property
    def flops(self) -> Any:
        """Matmul FLOPs per token through this part (attention's S-dependent products aside)."""
        return 2 * add_all(self._active(w) for w in self.weights if w.matmul)


def add_all(values: Any) -> Any:
    """The sum of ints or sympy expressions, built once.

    Adding sympy terms one by one re-sorts the growing sum each time (quadratic in the
    terms: a pattern of 500 kinds took a minute); ``Add`` of them all does it once.
    """
    values = list(values)
    if all(isinstance(value, (int, Fraction)) for value in values):
        return sum(values)
    import sympy

    return sympy.Add(*values)


def _product(values: Any) -> Any:
    total: Any = 1
    for value in values:
        total = total * value
    return total


def _opt(spec: Resolved, name: str, fallback: Any) -> Any:
    """A field's value when the spec gives it, else ``fallback`` (its default's meaning).

    Reading through here keeps optional features out of the "defaults used" line unless
    the spec uses them: a Llama spec is not told ``qk_norm=false``.
    """
    return getattr(spec.values, name) if spec.given(name) else fallback


def _group_opt(group: Any, spec: Resolved, name: str, fallback: Any) -> Any:
    return getattr(group, name) if spec.given(name) else fallback


def linear(name: str, d_in: Any, d_out: Any, bias: bool) -> list[Weight]:
    """``nn.Linear(d_in, d_out)``: a ``(d_out, d_in)`` weight and ``d_out`` biases."""
    weights = [Weight(f"{name}.weight", (d_out, d_in), matmul=True)]
    return weights + ([Weight(f"{name}.bias", (d_out,))] if bias else [])


def norm(name: str, width: Any, kind: str) -> list[Weight]:
    """LayerNorm has a weight and a bias, RMSNorm only a weight, a nonparametric norm none."""
    if kind == "nonparametric":
        return []
    weights = [Weight(f"{name}.weight", (width,))]
    return weights + ([Weight(f"{name}.bias", (width,))] if kind == "layernorm" else [])


# --------------------------------------------------------------------------- attention


def attention(spec: Resolved, cross: bool = False) -> Piece:
    """Self-attention (or, with ``cross``, attention over the encoder's output).

    q and o are d_model × n_heads·d_head; k and v are d_model × n_kv_heads·d_head (MHA,
    GQA, MQA alike). Optional: a norm of width d_head on queries and keys (``qk_norm``),
    a learned sink logit per head (``attention_sinks``, gpt-oss) and a gate projection
    on the output (``attention_gate``: per head, Laguna; per element, Qwen3-Next).
    """
    v = spec.values
    prefix = "cross_attn" if cross else "self_attn"
    o_bias = _opt(spec, "o_bias", v.bias)
    if v.mla is not None:  # cross-attention too, shaped like the self-attention
        return _latent_attention(spec, prefix, o_bias, cross)
    q_width, kv_width = v.n_heads * v.d_head, v.n_kv_heads * v.d_head
    weights = [
        *linear(f"{prefix}.q_proj", v.d_model, q_width, v.qkv_bias),
        *linear(f"{prefix}.k_proj", v.d_model, kv_width, _opt(spec, "k_bias", v.qkv_bias)),
        *linear(f"{prefix}.v_proj", v.d_model, kv_width, v.qkv_bias),
        *linear(f"{prefix}.o_proj", q_width, v.d_model, o_bias),
    ]
    if _opt(spec, "qk_norm", False):
        weights += _qk_norms(spec, prefix)
    if not cross:
        weights += _self_attention_extras(spec, prefix)
    if not cross and _opt(spec, "relative_attention_per_layer", False):
        table = (v.relative_attention_buckets, v.n_heads)
        weights.append(Weight(f"{prefix}.relative_attention_bias.weight", table))
    if _opt(spec, "sub_norms", False) and not cross:
        weights += norm(f"{prefix}.attn_sub_norm", q_width, v.norm)
    if _opt(spec, "attention_sinks", False) and not cross:
        weights.append(Weight(f"{prefix}.sinks", (v.n_heads,)))
    gate = _opt(spec, "attention_gate", "none")
    if gate != "none" and not cross:
        width = v.n_heads if gate == "head" else q_width
        weights += linear(f"{prefix}.g_proj", v.d_model, width, False)
    return Piece(
        "cross-attention" if cross else "attention",
        tuple(weights),
        scores=2 * q_width,
        kv=2 * kv_width,
        kv_expanded=2 * kv_width,
        cross=cross,
    )


def _self_attention_extras(spec: Resolved, prefix: str) -> list[Weight]:
    """Tensors some encoders' self-attention holds beside q, k, v, o.

    None of them multiplies every token, so they add no per-token FLOPs: Longformer's
    global q, k, v serve only the few global tokens (and are skipped without any),
    DeBERTa's position projections map the relative-embedding table once per layer, and
    a value convolution (Nyströmformer) is a depthwise filter, not a matmul.
    """
    v = spec.values
    q_width, kv_width = v.n_heads * v.d_head, v.n_kv_heads * v.d_head
    weights = []
    if _opt(spec, "global_attention", False):
        for name, width in (("q", q_width), ("k", kv_width), ("v", kv_width)):
            layer = linear(f"{prefix}.{name}_global_proj", v.d_model, width, v.qkv_bias)
            weights += _unmultiplied(layer)
    projections = _opt(spec, "position_projections", "none")
    key_bias = _opt(spec, "position_key_bias", v.qkv_bias)
    for name, bias in (("key", key_bias), ("query", v.qkv_bias)):
        if projections in (name, "both"):
            layer = linear(f"{prefix}.pos_{name}_proj", v.d_model, q_width, bias)
            weights += _unmultiplied(layer)
    if spec.exact("value_conv"):
        weights.append(Weight(f"{prefix}.value_conv.weight", (v.n_heads, 1, v.value_conv, 1)))
    return weights


def _unmultiplied(weights: list[Weight]) -> list[Weight]:
    """The same tensors, not multiplied by every token (no per-token FLOPs)."""
    return [Weight(w.name, w.shape) for w in weights]


def _qk_norms(spec: Resolved, prefix: str) -> list[Weight]:
    """Norms on queries and keys: one per head shared by all heads, one over the whole
    projection, or each head its own bias-free one (a (heads, d_head) weight)."""
    v = spec.values
    scope = _opt(spec, "qk_norm_scope", "head")
    if scope == "per_head":
        if v.norm == "nonparametric":
            return []
        return [
            Weight(f"{prefix}.q_norm.weight", (v.n_heads, v.d_head)),
            Weight(f"{prefix}.k_norm.weight", (v.n_kv_heads, v.d_head)),
        ]
    whole = scope == "projection"
    q_width = v.n_heads * v.d_head if whole else v.d_head
    kv_width = v.n_kv_heads * v.d_head if whole else v.d_head
    return [*norm(f"{prefix}.q_norm", q_width, v.norm), *norm(f"{prefix}.k_norm", kv_width, v.norm)]


def _latent_attention(spec: Resolved, prefix: str, o_bias: bool, cross: bool) -> Piece:
    """Multi-head latent attention (DeepSeek-V2/V3).

    An optional low-rank query path (d → q_lora_rank, norm, → heads), a shared latent
    d → kv_lora_rank + rope width with its norm, expanded to per-head keys and values,
    and the output projection from heads·v_head_dim. The cache holds the latent, as
    transformers caches it.
    """
    v = spec.values
    m = v.mla
    qk_head = m.qk_nope_head_dim + m.qk_rope_head_dim
    if spec.exact("q_lora_rank"):
        weights = [
            *linear(f"{prefix}.q_a_proj", v.d_model, m.q_lora_rank, v.qkv_bias),
            *norm(f"{prefix}.q_a_layernorm", m.q_lora_rank, v.norm),
            *linear(f"{prefix}.q_b_proj", m.q_lora_rank, v.n_heads * qk_head, False),
        ]
    else:
        weights = linear(f"{prefix}.q_proj", v.d_model, v.n_heads * qk_head, False)
    weights += [
        *linear(
            f"{prefix}.kv_a_proj_with_mqa",
            v.d_model,
            m.kv_lora_rank + m.qk_rope_head_dim,
            v.qkv_bias,
        ),
        *norm(f"{prefix}.kv_a_layernorm", m.kv_lora_rank, v.norm),
        *linear(
            f"{prefix}.kv_b_proj",
            m.kv_lora_rank,
            v.n_heads * (m.qk_nope_head_dim + m.v_head_dim),
            False,
        ),
        *linear(f"{prefix}.o_proj", v.n_heads * m.v_head_dim, v.d_model, o_bias),
    ]
    gate = _opt(spec, "attention_gate", "none")
    if gate != "none" and not cross:  # Ling 3's head-wise output gate (BailingHybrid)
        width = v.n_heads if gate == "head" else v.n_heads * m.v_head_dim
        weights += linear(f"{prefix}.g_proj", v.d_model, width, False)
    width = v.n_heads * (qk_head + m.v_head_dim)  # Q·Kᵀ over qk_head, A·V over v_head_dim
    scores, cached = width, m.kv_lora_rank + m.qk_rope_head_dim
    if spec.exact("index_n_heads") and not cross:
        # The lightning indexer (DeepSeek-V3.2): its own q from the query latent, one
        # shared key per token (LayerNorm'd, and cached), per-head weights; it scores
        # every token (q·kᵀ per head, then the heads weighted and summed):
        # index_n_heads · (index_head_dim + 1) more per attended position.
        weights += [
            *linear(
                f"{prefix}.indexer.wq_b", m.q_lora_rank, m.index_n_heads * m.index_head_dim, False
            ),
            *linear(f"{prefix}.indexer.wk", v.d_model, m.index_head_dim, False),
            *norm(f"{prefix}.indexer.k_norm", m.index_head_dim, "layernorm"),
            *linear(f"{prefix}.indexer.weights_proj", v.d_model, m.index_n_heads, False),
        ]
        scores = scores + m.index_n_heads * (m.index_head_dim + 1)
        cached = cached + m.index_head_dim
    return Piece(
        "cross-attention" if cross else "attention",
        tuple(weights),
        scores=scores,
        kv=cached,
        kv_expanded=width,
        cross=cross,
    )


# --------------------------------------------------------------------------- other mixers


def mixer(spec: Resolved) -> list[Piece]:
    """What mixes tokens in the block: attention, a state-space mixer, or nothing."""
    kind = _opt(spec, "mixer", "attention")
    if kind == "attention":
        return [attention(spec)]
    if kind == "attention+mamba2":  # Falcon-H1: side by side on one normalised input
        return [attention(spec), _mamba2(spec)]
    if kind in ("none", "fourier"):  # FNet's Fourier transform has no parameters
        return []
    if kind == "gated_deltanet":
        return [_gated_deltanet(spec)]
    if kind == "short_conv":
        return [_short_conv(spec)]
    if kind == "lightning":
        return [_lightning(spec)]
    if kind == "rglru":
        return [_rglru(spec)]
    if kind == "kda":
        return [_kda(spec)]
    if kind == "rwkv":
        return [_rwkv_time_mixing(spec)]
    return [_mamba(spec) if kind == "mamba" else _mamba2(spec)]


def _short_conv(spec: Resolved) -> Piece:
    """LFM2's gated short convolution (``Lfm2ShortConv``).

    in_proj d → 3d (two gates and the input), a depthwise conv of ``kernel_size`` taps over d
    channels, out_proj d → d; ``biases`` gives all three theirs (LFM2 conv_bias).
    """
    v = spec.values
    g = v.short_conv
    bias = _group_opt(g, spec, "biases", False)
    weights = [
        *linear("conv.in_proj", v.d_model, 3 * v.d_model, bias),
        Weight("conv.conv.weight", (v.d_model, 1, g.kernel_size)),
        *([Weight("conv.conv.bias", (v.d_model,))] if bias else []),
        *linear("conv.out_proj", v.d_model, v.d_model, bias),
    ]
    return Piece("short conv", tuple(weights))


def _lightning(spec: Resolved) -> Piece:
    """MiniMax's lightning attention (``MiniMaxLightningAttention``), a linear attention.

    A fused bias-free qkv projection d → 3·n_heads·d_head, an output gate d →
    n_heads·d_head, an RMSNorm over the heads' output and out_proj back to d. It keeps a
    state per head instead of a KV cache, and its cost per token does not grow with the
    sequence: no per-position scores.
    """
    v = spec.values
    width = v.n_heads * v.d_head
    weights = [
        *linear("self_attn.qkv_proj", v.d_model, 3 * width, False),
        *linear("self_attn.output_gate", v.d_model, width, False),
        *norm("self_attn.norm", width, "rmsnorm"),
        *linear("self_attn.out_proj", width, v.d_model, False),
    ]
    return Piece("linear attention", tuple(weights))


def _kda(spec: Resolved) -> Piece:
    """Kimi Delta Attention (``KimiLinearDeltaAttention``), all bias-free.

    q, k, v projections d → heads·head_width, a depthwise conv over each (listed as three
    tensors, as Kimi's checkpoints store them; transformers fuses them in memory); a
    low-rank forget gate (d → head_width → heads·head_width) with per-channel dt_bias and
    a per-head A_log; a beta projection (one per head); a low-rank output gate like the
    forget gate; an RMSNorm of one head's width; o_proj back to d. With
    ``full_rank_gates`` (Ling's BailingHybrid) both gates are one d → heads·head_width
    projection each.
    """
    v = spec.values
    g = v.kda
    width, rank = g.heads * g.head_width, g.head_width
    at = "self_attn"
    if _group_opt(g, spec, "full_rank_gates", False):  # Ling's BailingHybrid
        forget = [
            Weight(f"{at}.forget_gate.A_log", (g.heads,)),
            *linear(f"{at}.forget_gate.f_proj", v.d_model, width, False),
        ]
        output_gate = linear(f"{at}.g_proj", v.d_model, width, False)
    else:
        forget = [
            Weight(f"{at}.forget_gate.A_log", (1, 1, g.heads, 1)),
            *linear(f"{at}.forget_gate.f_a_proj", v.d_model, rank, False),
            *linear(f"{at}.forget_gate.f_b_proj", rank, width, False),
        ]
        output_gate = [
            *linear(f"{at}.g_a_proj", v.d_model, rank, False),
            *linear(f"{at}.g_b_proj", rank, width, False),
        ]
    weights = [
        *linear(f"{at}.q_proj", v.d_model, width, False),
        *linear(f"{at}.k_proj", v.d_model, width, False),
        *linear(f"{at}.v_proj", v.d_model, width, False),
        *(Weight(f"{at}.{x}_conv1d.weight", (width, 1, g.conv_taps)) for x in "qkv"),
        Weight(f"{at}.forget_gate.dt_bias", (width,)),
        *forget,
        *linear(f"{at}.b_proj", v.d_model, g.heads, False),
        *output_gate,
        *norm(f"{at}.o_norm", g.head_width, "rmsnorm"),
        *linear(f"{at}.o_proj", width, v.d_model, False),
    ]
    return Piece("linear attention", tuple(weights))


def _rwkv_time_mixing(spec: Resolved) -> Piece:
    """RWKV-4's time mixing (``RwkvSelfAttention``) over a = n_heads·d_head channels.

    Per-channel decay and bonus (a each), three token-shift mixes (d each), bias-free key,
    value, receptance d → a and output a → d.
    """
    v = spec.values
    width = v.n_heads * v.d_head
    at = "attention"
    weights = [
        Weight(f"{at}.time_decay", (width,)),
        Weight(f"{at}.time_first", (width,)),
        *(Weight(f"{at}.time_mix_{name}", (1, 1, v.d_model)) for name in RWKV_TIME_MIXES),
        *linear(f"{at}.key", v.d_model, width, False),
        *linear(f"{at}.value", v.d_model, width, False),
        *linear(f"{at}.receptance", v.d_model, width, False),
        *linear(f"{at}.output", width, v.d_model, False),
    ]
    return Piece("time mixing", tuple(weights))


RWKV_TIME_MIXES = ("key", "value", "receptance")


def _rglru(spec: Resolved) -> Piece:
    """RecurrentGemma's recurrent block (``RecurrentGemmaRecurrentBlock``).

    Two biased input branches d → width (y, the gate; x, the recurrence), a depthwise
    conv of ``conv_width`` taps with bias over x, the RG-LRU (a per-channel recurrence
    parameter and block-diagonal input and recurrence gates of ``gate_blocks`` blocks of
    ``block_width``, with biases), and a biased out projection lru_width → d.
    """
    v = spec.values
    g = v.rglru
    width, block = g.lru_width, g.block_width
    weights = [
        *linear("temporal_block.linear_y", v.d_model, width, True),
        *linear("temporal_block.linear_x", v.d_model, width, True),
        *linear("temporal_block.linear_out", width, v.d_model, True),
        Weight("temporal_block.conv_1d.weight", (width, 1, g.conv_width)),
        Weight("temporal_block.conv_1d.bias", (width,)),
        Weight("temporal_block.rg_lru.recurrent_param", (width,)),
    ]
    for gate in ("input_gate", "recurrent_gate"):
        shape = (g.gate_blocks, block, block)
        weights += [
            Weight(f"temporal_block.rg_lru.{gate}_weight", shape, matmul=True),
            Weight(f"temporal_block.rg_lru.{gate}_bias", (g.gate_blocks, block)),
        ]
    return Piece("recurrence", tuple(weights))


def _gated_deltanet(spec: Resolved) -> Piece:
    """Gated DeltaNet linear attention as Qwen3-Next and Qwen3.5 build it.

    Projections d → q, k (key_heads·key_head_dim each), v and the output gate z
    (value_heads·value_head_dim each), and b, a (one per value head); a bias-free
    depthwise conv over q, k and v; per-head dt_bias and A_log; a gated RMSNorm of one
    value head's width; out_proj back to d. (Qwen3-Next fuses q, k, v, z and b, a.)
    """
    v = spec.values
    g = v.deltanet
    keys, values = g.key_heads * g.key_head_dim, g.value_heads * g.value_head_dim
    at = "linear_attn"
    if _group_opt(g, spec, "fused_projections", True):
        projections = [
            *linear(f"{at}.in_proj_qkv", v.d_model, 2 * keys + values, False),
            *linear(f"{at}.in_proj_z", v.d_model, values, False),
            *linear(f"{at}.in_proj_b", v.d_model, g.value_heads, False),
            *linear(f"{at}.in_proj_a", v.d_model, g.value_heads, False),
        ]
        out, out_norm = "out_proj", "norm"
    else:  # OLMo-Hybrid: the same tensors, one per projection
        projections = [
            *linear(f"{at}.q_proj", v.d_model, keys, False),
            *linear(f"{at}.k_proj", v.d_model, keys, False),
            *linear(f"{at}.v_proj", v.d_model, values, False),
            *linear(f"{at}.g_proj", v.d_model, values, False),
            *linear(f"{at}.b_proj", v.d_model, g.value_heads, False),
            *linear(f"{at}.a_proj", v.d_model, g.value_heads, False),
        ]
        out, out_norm = "o_proj", "o_norm"
    weights = [
        *projections,
        Weight(f"{at}.conv1d.weight", (2 * keys + values, 1, g.conv_size)),
        Weight(f"{at}.dt_bias", (g.value_heads,)),
        Weight(f"{at}.A_log", (g.value_heads,)),
        *norm(f"{at}.{out_norm}", g.value_head_dim, "rmsnorm"),
        *linear(f"{at}.{out}", values, v.d_model, False),
    ]
    return Piece("linear attention", tuple(weights))


def _mamba(spec: Resolved) -> Piece:
    """A Mamba (selective scan) mixer as Jamba builds it (``JambaMambaMixer``).

    in_proj d → 2·d_inner, a depthwise conv over d_inner channels, x_proj d_inner →
    dt_rank + 2·d_state, dt_proj dt_rank → d_inner (with bias), A_log (d_inner × d_state),
    D, out_proj d_inner → d; with ``inner_norms``, RMSNorms on dt, B and C.
    """
    v = spec.values
    m = v.mamba
    proj_bias = _group_opt(m, spec, "proj_bias", False)
    weights = [
        *linear("mamba.in_proj", v.d_model, 2 * m.d_inner, proj_bias),
        *_conv(spec, m.d_inner),
        *linear("mamba.x_proj", m.d_inner, m.dt_rank + 2 * m.d_state, False),
        *linear("mamba.dt_proj", m.dt_rank, m.d_inner, True),
        Weight("mamba.A_log", (m.d_inner, m.d_state)),
        Weight("mamba.D", (m.d_inner,)),
        *linear("mamba.out_proj", m.d_inner, v.d_model, proj_bias),
    ]
    if _group_opt(m, spec, "inner_norms", False):
        weights += norm("mamba.dt_layernorm", m.dt_rank, "rmsnorm")
        weights += norm("mamba.b_layernorm", m.d_state, "rmsnorm")
        weights += norm("mamba.c_layernorm", m.d_state, "rmsnorm")
    return Piece("mamba", tuple(weights))


def _mamba2(spec: Resolved) -> Piece:
    """A Mamba-2 mixer as Bamba and Nemotron-H build it.

    in_proj d → 2·d_inner + 2·n_groups·d_state + ssm_heads (gate, x, B, C, dt), a
    depthwise conv over d_inner + 2·n_groups·d_state channels, per-head dt_bias, A_log
    and D, a gated RMSNorm over d_inner and out_proj d_inner → d.
    """
    v = spec.values
    m = v.mamba
    proj_bias = _group_opt(m, spec, "proj_bias", False)
    bc = 2 * m.n_groups * m.d_state
    weights = [
        *linear("mamba.in_proj", v.d_model, 2 * m.d_inner + bc + m.ssm_heads, proj_bias),
        *_conv(spec, m.d_inner + bc),
        Weight("mamba.dt_bias", (m.ssm_heads,)),
        Weight("mamba.A_log", (m.ssm_heads,)),
        Weight("mamba.D", (m.ssm_heads,)),
    ]
    if _group_opt(m, spec, "gated_norm", True):
        weights += norm("mamba.norm", m.d_inner, "rmsnorm")
    weights += linear("mamba.out_proj", m.d_inner, v.d_model, proj_bias)
    return Piece("mamba", tuple(weights))


def _conv(spec: Resolved, channels: Any) -> list[Weight]:
    """The depthwise causal convolution of a state-space mixer: (channels, 1, d_conv)."""
    m = spec.values.mamba
    weights = [Weight("mamba.conv1d.weight", (channels, 1, m.d_conv))]
    if _group_opt(m, spec, "conv_bias", True):
        weights.append(Weight("mamba.conv1d.bias", (channels,)))
    return weights


# --------------------------------------------------------------------------- feed-forward


def mlp_weights(spec: Resolved, prefix: str, width: Any, stacked: Any = None) -> list[Weight]:
    """Up (and gate, for gated kinds) d_model → width, then down width → d_model.

    ``stacked`` (a number of experts) puts every tensor on a leading expert axis, as
    transformers stores routed experts.
    """
    v = spec.values
    bias = _opt(spec, "mlp_bias", v.bias)
    in_bias = _opt(spec, "mlp_in_bias", bias)
    lead = () if stacked is None else (stacked,)
    names = ("gate_proj", "up_proj") if v.mlp in GATED else ("up_proj",)
    weights = []
    for name, d_in, d_out, biased in [
        *((n, v.d_model, width, in_bias) for n in names),
        ("down_proj", width, v.d_model, bias),
    ]:
        weights.append(Weight(f"{prefix}.{name}.weight", (*lead, d_out, d_in), matmul=True))
        if biased:
            weights.append(Weight(f"{prefix}.{name}.bias", (*lead, d_out)))
    return weights


def mlp_params(d_model: Any, d_ff: Any, kind: str, bias: bool) -> Any:
    """Parameters of one MLP of ``kind`` (the formula other plugins build on)."""
    n_in = 2 if kind in GATED else 1
    return (
        n_in * (d_model * d_ff + (d_ff if bias else 0)) + d_ff * d_model + (d_model if bias else 0)
    )


def _rwkv_channel_mixing(spec: Resolved) -> Piece:
    """RWKV's channel mixing (``RwkvFeedForward``): two token-shift mixes, bias-free key
    d → d_ff, value d_ff → d and receptance d → d."""
    v = spec.values
    weights = [
        Weight("feed_forward.time_mix_key", (1, 1, v.d_model)),
        Weight("feed_forward.time_mix_receptance", (1, 1, v.d_model)),
        *linear("feed_forward.key", v.d_model, v.d_ff, False),
        *linear("feed_forward.receptance", v.d_model, v.d_model, False),
        *linear("feed_forward.value", v.d_ff, v.d_model, False),
    ]
    return Piece("mlp", tuple(weights))


def feed_forward(spec: Resolved) -> list[Piece]:
    """The dense MLP of width d_ff, or the mixture of experts that replaces it."""
    v = spec.values
    moe = v.moe
    if moe is None:
        if v.mlp == "none":
            return []
        if v.mlp == "rwkv":
            return [_rwkv_channel_mixing(spec)]
        weights = mlp_weights(spec, "mlp", v.d_ff)
        if _opt(spec, "sub_norms", False):
            weights += norm("mlp.ffn_sub_norm", v.d_ff, v.norm)
        return [Piece("mlp", tuple(weights))]
    router = linear(
        "mlp.gate", v.d_model, moe.n_experts, _group_opt(moe, spec, "router_bias", False)
    )
    pieces = [
        Piece("router", tuple(router)),
        Piece(
            "experts",
            tuple(mlp_weights(spec, "mlp.experts", moe.d_ff_expert, stacked=moe.n_experts)),
            active_experts=moe.top_k,
        ),
    ]
    if spec.exact("n_shared_experts") and spec.exact("d_ff_shared"):
        width = _group_opt(moe, spec, "d_ff_shared", moe.n_shared_experts * moe.d_ff_expert)
        shared = mlp_weights(spec, "mlp.shared_experts", width)
        if _group_opt(moe, spec, "shared_expert_gate", False):
            shared += linear("mlp.shared_expert_gate", v.d_model, 1, False)
        pieces.append(Piece("shared experts", tuple(shared)))
    return pieces


# --------------------------------------------------------------------------- blocks


def norm_names(spec: Resolved, cross: bool, mixes: bool = True, feeds: bool = True) -> list[str]:
    """The block's norms, named by where they sit (Llama; Gemma's for sandwich norms).

    One before the mixer and one before the MLP, for the sub-layers the block has
    (``mixes``, ``feeds``); one for both with a parallel block (GPT-J); one before
    cross-attention; ``post_norms`` adds one after each sub-layer (Gemma 2/3);
    ``norm_position: post`` moves each after its sub-layer (OLMo 2).
    """
    parallel = _opt(spec, "parallel_block", False) and mixes and feeds
    if _opt(spec, "norm_position", "pre") == "post":  # OLMo 2: each after its sub-layer
        # Names of their own: the pre-norm names already mean other places (a naming
        # table maps these to post_attention_layernorm and post_feedforward_layernorm).
        return [
            *(["mixer_output_norm"] if mixes else []),
            *(["cross_attn_output_norm"] if cross else []),
            *(["mlp_output_norm"] if feeds else []),
        ]
    if not _opt(spec, "post_norms", False):
        names = ["input_layernorm"] if mixes or feeds else []
        names += ["cross_attn_layernorm"] if cross else []
        return names + (["post_attention_layernorm"] if mixes and feeds and not parallel else [])
    names = []
    if parallel:
        names = ["input_layernorm", "post_layernorm"]
    elif mixes:
        names = ["input_layernorm", "post_attention_layernorm"]
    names += ["pre_cross_attn_layernorm", "post_cross_attn_layernorm"] if cross else []
    if feeds and not parallel:
        names += ["pre_feedforward_layernorm", "post_feedforward_layernorm"]
    return names


def block(spec: Resolved, cross: bool = False) -> list[Piece]:
    """Every part of one block: its mixer, cross-attention, MLP or experts, norms."""
    v = spec.values
    pieces = mixer(spec)
    mixes = _opt(spec, "mixer", "attention") != "none"
    if cross or _opt(spec, "cross_attention", False):
        pieces.append(attention(spec, cross=True))
        cross = True
    ffn = feed_forward(spec)
    pieces += ffn
    names = norm_names(spec, cross, mixes=mixes, feeds=bool(ffn))
    if not _opt(spec, "input_norm", True):
        names = [name for name in names if name != "input_layernorm"]
    norms = [w for name in names for w in norm(name, v.d_model, v.norm)]
    if norms:
        pieces.append(Piece("norms", tuple(norms)))
    return pieces


# --------------------------------------------------------------------------- around the blocks


def embeddings(spec: Resolved) -> list[Piece]:
    """Token embeddings (shared by every stack), token types, the factorising projection."""
    v = spec.values
    d_embed = _opt(spec, "d_embed", v.d_model)
    pieces = [Piece("embeddings", (Weight("embed_tokens.weight", (v.vocab_size, d_embed)),))]
    if spec.exact("type_vocab_size"):
        table = Weight("token_type_embeddings.weight", (v.type_vocab_size, d_embed))
        pieces.append(Piece("token types", (table,)))
    if spec.exact("task_type_vocab_size"):
        table = Weight("task_type_embeddings.weight", (v.task_type_vocab_size, d_embed))
        pieces.append(Piece("task types", (table,)))
    if spec.given("d_embed"):
        pieces.append(
            Piece("embedding projection", tuple(linear("embed_proj", d_embed, v.d_model, True)))
        )
    return pieces


def stack_inputs(spec: Resolved, section: str = "") -> list[Piece]:
    """What each stack has before its blocks: a decoder's own token table, positions,
    the embedding norm, relative positions."""
    v = spec.values
    d_embed = _opt(spec, "d_embed", v.d_model)
    decoder = section == "decoder"
    pieces = []
    if decoder and spec.given("decoder_vocab_size"):
        tokens = Weight("embed_tokens.weight", (v.decoder_vocab_size, d_embed))
        pieces.append(Piece("embeddings", (tokens,)))
    table_width = _opt(spec, "sinusoidal_table_width", d_embed)
    if v.positional == "learned" or _opt(spec, "sinusoidal_table", False):
        rows = v.max_seq_len
        if decoder and spec.given("decoder_max_seq_len"):
            rows = v.decoder_max_seq_len
        width = d_embed if v.positional == "learned" else table_width
        if v.positional == "learned" and spec.exact("position_offset"):
            rows = rows + v.position_offset
        pieces.append(Piece("positions", (Weight("embed_positions.weight", (rows, width)),)))
    if _opt(spec, "embedding_norm", False) and v.norm != "nonparametric":
        pieces.append(Piece("embedding norm", tuple(norm("embed_norm", d_embed, v.norm))))
    if spec.exact("relative_attention_buckets") and not _opt(
        spec, "relative_attention_per_layer", False
    ):
        table = (v.relative_attention_buckets, v.n_heads)
        name = "relative_attention_bias.weight"
        pieces.append(Piece("relative position bias", (Weight(name, table),)))
    if spec.exact("relative_embeddings"):
        relative = Weight("rel_embeddings.weight", (v.relative_embeddings, v.d_model))
        pieces.append(Piece("relative embeddings", (relative,)))
    if _opt(spec, "relative_embeddings_norm", False) and v.norm != "nonparametric":
        weights = norm("rel_embeddings_norm", v.d_model, v.norm)
        pieces.append(Piece("relative embeddings norm", tuple(weights)))
    return pieces


def stack_outputs(spec: Resolved) -> list[Piece]:
    """The final norm of a stack (absent in post-norm models: BERT, BART)."""
    v = spec.values
    if not _opt(spec, "final_norm", True) or v.norm == "nonparametric":
        return []
    return [Piece("final norm", tuple(norm("norm", v.d_model, v.norm)))]


def output_vocab(spec: Resolved) -> Any:
    """Rows of the LM head: the decoder's vocabulary when it has its own (FSMT, Marian)."""
    v = spec.values
    if v.architecture == "encoder-decoder" and spec.given("decoder_vocab_size"):
        return v.decoder_vocab_size
    return v.vocab_size


def heads(spec: Resolved) -> list[Piece]:
    """The pooler (BERT's AutoModel) and the LM head (unless tied, to the decoder's own
    token table when it has one; its bias stays)."""
    v = spec.values
    pieces = []
    if _opt(spec, "pooler", False):
        pieces.append(Piece("pooler", tuple(linear("pooler.dense", v.d_model, v.d_model, True))))
    if v.architecture != "encoder":
        head_bias = _opt(spec, "lm_head_bias", False)
        d_embed = _opt(spec, "d_embed", v.d_model)
        vocab = output_vocab(spec)
        weights = (
            [] if v.tie_embeddings else [Weight("lm_head.weight", (vocab, d_embed), matmul=True)]
        )
        if head_bias:
            weights.append(Weight("lm_head.bias", (vocab,)))
        if weights:
            pieces.append(Piece("lm head", tuple(weights)))
    return pieces
