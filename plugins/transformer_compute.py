"""Forward FLOPs and KV cache of ``family: transformer`` (``archcalc size``).

Attached to the family through its optional ``compute`` field (as the string
``"archcalc.plugins.transformer_compute:compute"``, so ``archcalc count`` never imports
this module). Conventions, stated again in every output that uses them:

* **FLOPs are matmul FLOPs, 2·m·n·k per matmul** (one multiply and one add per
  multiply-accumulate), the convention of ``torch.utils.flop_counter.FlopCounterMode``,
  Megatron and PaLM. Biases, norms, activations, softmax, residual adds, RoPE rotations
  and embedding lookups are not matmuls and are not counted.
* **Every matmul of a forward pass over a sequence of S tokens**: per block the q, k, v and
  o projections, attention's two S-dependent products (``Q·Kᵀ`` and ``A·V``, each
  ``2·n_heads·d_head·S`` per token), the MLP (two matrices, or three when gated), and
  the LM head (``2·d_model·vocab_size`` per token, tied or not: the matmul still runs).
* **Non-causal and causal.** Dense attention kernels compute the full S×S score matrix
  and mask it: that is the *non-causal* count (and what FlopCounterMode reports). The
  *causal* count keeps only the unmasked pairs: position i attends to i positions, so
  the two attention products cost ``2·2·n_heads·d_head·S(S+1)/2`` per sequence.
* **MoE** counts the router (``2·d_model·n_experts`` per token), ``top_k`` routed experts,
  the shared experts (and their ``d_model × 1`` gate) and the leading dense blocks
  (``first_dense_layers``); never the idle experts.
* **MLA** (DeepSeek): the low-rank query path, the shared latent and its expansion to
  per-head keys and values, scores over ``qk_nope + qk_rope`` wide heads. Blocks shared
  by weight (``n_unique_layers``) all run: FLOPs use ``n_layers``.
* **Encoder-decoder**: S source and S target tokens; the decoder's cross-attention
  projects k and v from every source token once per decoder block.
* **KV cache**: per token, ``2·n_kv_heads·d_head`` elements per self-attention block
  (keys and values; grouped- and multi-query aware; MoE does not change it); with
  multi-head latent attention, the latent ``kv_lora_rank + qk_rope_head_dim``. An
  encoder-decoder also caches cross-attention k/v once per sequence (S source tokens).
  An encoder has no KV cache: it does not generate.
"""

from __future__ import annotations

from typing import Any

from archcalc.sizes import Compute
from archcalc.spec import Resolved

GATED = {"swiglu", "geglu"}


def _mlp(d_model: Any, d_ff: Any, kind: str) -> Any:
    """Per-token FLOPs of one MLP: two or three d_model × d_ff matmuls."""
    return (3 if kind in GATED else 2) * 2 * d_model * d_ff


def _given(spec: Resolved, name: str, value: Any, fallback: Any) -> Any:
    """``value`` when the spec gives field ``name``, else ``fallback`` (the default's meaning)."""
    return value if spec.given(name) else fallback


def _attention(spec: Resolved, s: int) -> tuple[Any, Any, Any, Any, Any]:
    """Per token: projections, the two S-dependent products (full S×S) and their width.

    Returns (projections, scores per token, score width for the causal count, KV-cache
    elements per token per block as cached latent, and as expanded per-head k and v).
    With ``mla`` (DeepSeek): q through an optional low-rank path, one shared latent
    ``d → kv_lora_rank + rope``, its expansion to per-head keys (nope) and values, scores
    over ``qk_nope + qk_rope`` wide heads, values ``v_head_dim`` wide. Its cache is the
    latent (``kv_lora_rank + qk_rope_head_dim`` per token, as Hugging Face transformers
    caches it); implementations that cache per-head k and v hold the expanded figure.
    """
    v = spec.values
    if v.mla is not None:
        m = v.mla
        qk_head = m.qk_nope_head_dim + m.qk_rope_head_dim
        if spec.exact("q_lora_rank"):
            q = 2 * v.d_model * m.q_lora_rank + 2 * m.q_lora_rank * v.n_heads * qk_head
        else:
            q = 2 * v.d_model * v.n_heads * qk_head
        kv = 2 * v.d_model * (m.kv_lora_rank + m.qk_rope_head_dim) + 2 * m.kv_lora_rank * (
            v.n_heads * (m.qk_nope_head_dim + m.v_head_dim)
        )
        o = 2 * v.n_heads * m.v_head_dim * v.d_model
        width = v.n_heads * (qk_head + m.v_head_dim)  # Q·Kᵀ over qk_head, A·V over v_head_dim
        latent = m.kv_lora_rank + m.qk_rope_head_dim
        expanded = v.n_heads * (qk_head + m.v_head_dim)
        return q + kv + o, 2 * width * s, width, latent, expanded
    q_width, kv_width = v.n_heads * v.d_head, v.n_kv_heads * v.d_head
    projections = 2 * v.d_model * q_width + 2 * 2 * v.d_model * kv_width + 2 * q_width * v.d_model
    width = 2 * q_width
    return projections, 2 * width * s, width, 2 * kv_width, 2 * kv_width


def _ffn(spec: Resolved, layers: Any) -> list[tuple[str, Any]]:
    """(component, FLOPs per token over ``layers`` blocks) of the MLP or the experts."""
    v = spec.values
    moe = v.moe
    if moe is None:
        return [("mlp", layers * _mlp(v.d_model, v.d_ff, v.mlp))]
    out: list[tuple[str, Any]] = []
    moe_layers = layers
    if spec.exact("first_dense_layers"):
        moe_layers = layers - moe.first_dense_layers
        out.append(("dense mlp", moe.first_dense_layers * _mlp(v.d_model, v.d_ff, v.mlp)))
    out.append(("router", moe_layers * 2 * v.d_model * moe.n_experts))
    active = moe.top_k * _mlp(v.d_model, moe.d_ff_expert, v.mlp)
    out.append(("experts (top_k active)", moe_layers * active))
    if spec.exact("n_shared_experts") and spec.exact("d_ff_shared"):
        width = _given(spec, "d_ff_shared", moe.d_ff_shared, moe.n_shared_experts * moe.d_ff_expert)
        shared = _mlp(v.d_model, width, v.mlp)
        if _given(spec, "shared_expert_gate", moe.shared_expert_gate, False):
            shared = shared + 2 * v.d_model
        out.append(("shared experts", moe_layers * shared))
    return out


def compute(spec: Resolved, seq_len: int) -> Compute:
    """FLOPs of one forward pass over ``seq_len`` tokens, and the KV cache per token."""
    v = spec.values
    s = seq_len
    projections, scores, width, latent, expanded = _attention(spec, s)
    # Causal: position i attends to i positions; the two products cost width·S(S+1).
    scores_causal_seq = width * s * (s + 1)
    d_embed = v.d_embed if spec.given("d_embed") else None
    components: list[tuple[str, Any]] = []
    stacks = 1
    causal_saving = 0
    kv_fixed = 0
    kv_per_token: Any = None
    kv_expanded: Any = None
    if v.architecture == "encoder-decoder":
        stacks = 2
        enc, dec = v.n_layers, v.n_decoder_layers
        components.append(("encoder attention projections", enc * projections * s))
        components.append(("encoder attention scores", enc * scores * s))
        components += [(f"encoder {name}", flops * s) for name, flops in _ffn(spec, enc)]
        components.append(("decoder attention projections", dec * projections * s))
        components.append(("decoder attention scores", dec * scores * s))
        # Cross-attention: q and o per target token, k and v per source token.
        components.append(("decoder cross-attention projections", dec * projections * s))
        components.append(("decoder cross-attention scores", dec * scores * s))
        components += [(f"decoder {name}", flops * s) for name, flops in _ffn(spec, dec)]
        causal_saving = dec * (scores * s - scores_causal_seq)
        kv_per_token, kv_expanded = dec * latent, dec * expanded
        kv_fixed = dec * latent * s
    else:
        layers = v.n_layers
        components.append(("attention projections", layers * projections * s))
        components.append(("attention scores", layers * scores * s))
        components += [(name, flops * s) for name, flops in _ffn(spec, layers)]
        if v.architecture == "decoder":
            causal_saving = layers * (scores * s - scores_causal_seq)
            kv_per_token, kv_expanded = layers * latent, layers * expanded
    if d_embed is not None:
        components.insert(0, ("embedding projection", stacks * 2 * d_embed * v.d_model * s))
    if v.architecture == "encoder" and spec.given("pooler") and v.pooler:
        components.append(("pooler", 2 * v.d_model * v.d_model))  # first token only
    if v.architecture != "encoder":
        components.append(("lm head", 2 * (d_embed or v.d_model) * v.vocab_size * s))
    total = sum(flops for _, flops in components)
    notes = []
    if v.architecture == "encoder-decoder":
        notes.append(
            "encoder-decoder: S source and S target tokens per sequence; per-token figures "
            "are per target token"
        )
    if v.mla is not None:
        notes.append(
            "mla: the KV cache is the latent (kv_lora_rank + qk_rope_head_dim per token per "
            "block, as transformers caches it); implementations caching per-head k and v "
            f"hold {kv_expanded} elements per token"
        )
    if d_embed is not None and v.architecture != "encoder":
        notes.append("d_embed: the LM head is counted as a d_embed × vocab_size matmul")
    return Compute(
        seq_len=s,
        flops_per_sequence=total,
        flops_per_sequence_causal=total - causal_saving,
        components=tuple(components),
        kv_elements_per_token=kv_per_token,
        kv_elements_per_sequence_fixed=kv_fixed,
        kv_elements_per_token_expanded=kv_expanded,
        notes=tuple(notes),
    )
