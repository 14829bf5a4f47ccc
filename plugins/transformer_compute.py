"""Forward FLOPs and KV cache of ``family: transformer`` (``archcalc size``).

Attached to the family through its optional ``compute`` field (as the string
``"archcalc.plugins.transformer_compute:compute"``, so ``archcalc count`` never imports
this module). Every figure comes from the block parts of
:mod:`archcalc.plugins.transformer_parts`, the very tensors ``count`` adds up, multiplied
by the blocks of each kind a stack runs. Conventions, stated again in every output that
uses them:

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
* **DeepSeek-V3.2's indexer** (``mla.index_n_heads``): its projections, its scores over
  every token (``index_n_heads·(index_head_dim + 1)`` per attended position) and its
  cached key (``index_head_dim`` per token per block), read from transformers' modeling
  code (a FlopCounterMode run of a small model fails on CPU in transformers 5.24).
* **State-space and linear-attention mixers** (``mixer: mamba | mamba2 |
  gated_deltanet``): their projections as matmuls; the scan or the delta rule itself is
  not a weight matmul and is not counted, and their fixed-size state is not a KV cache
  (such blocks add none).
* **Heterogeneous stacks** (``blocks``/``stack``): each kind of block's figures times the
  blocks of that kind, never unrolled.
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

from archcalc.plugins import transformer_parts as parts
from archcalc.plugins import transformer_stack

from archcalc.sizes import Compute
from archcalc.spec import Resolved


def _label(piece: parts.Piece) -> str:
    return "experts (top_k active)" if piece.component == "experts" else piece.component


def compute(spec: Resolved, seq_len: int) -> Compute:
    """FLOPs of one forward pass over ``seq_len`` tokens, and the KV cache per token."""
    v = spec.values
    s = seq_len
    generates = v.architecture != "encoder"
    d_embed = v.d_embed if spec.given("d_embed") else None
    components: dict[str, Any] = {}
    causal_saving: Any = 0
    kv_per_token: Any = 0
    kv_expanded: Any = 0
    kv_fixed: Any = 0

    def add(name: str, flops: Any) -> None:
        if flops:
            components[name] = components.get(name, 0) + flops

    stacks = transformer_stack.stacks(spec)
    for stack in stacks:
        where = f"{stack.section} " if stack.section else ""
        causal = generates and stack.section != "encoder"
        for name, n in stack.runs().items():
            for piece in parts.block(stack.kinds[name].spec, cross=stack.section == "decoder"):
                if not piece.scores:
                    add(where + _label(piece), n * piece.flops * s)
                    continue
                # Cross-attention: q and o per target token, k and v per source token (S each).
                add(f"{where}{piece.component} projections", n * piece.flops * s)
                add(f"{where}{piece.component} scores", n * 2 * piece.scores * s * s)
                if piece.cross:
                    kv_fixed += n * piece.kv * s
                elif causal:
                    # Causal: position i attends to i positions: the products cost scores·S(S+1).
                    causal_saving += n * (2 * piece.scores * s * s - piece.scores * s * (s + 1))
                    kv_per_token += n * piece.kv
                    kv_expanded += n * piece.kv_expanded
    rows = list(components.items())
    if d_embed is not None:
        rows.insert(0, ("embedding projection", len(stacks) * 2 * d_embed * v.d_model * s))
    if v.architecture == "encoder" and spec.given("pooler") and v.pooler:
        rows.append(("pooler", 2 * v.d_model * v.d_model))  # first token only
    if generates:
        rows.append(("lm head", 2 * (d_embed or v.d_model) * parts.output_vocab(spec) * s))
    total = sum(flops for _, flops in rows)
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
    if d_embed is not None and generates:
        notes.append("d_embed: the LM head is counted as a d_embed × vocab_size matmul")
    return Compute(
        seq_len=s,
        flops_per_sequence=total,
        flops_per_sequence_causal=total - causal_saving,
        components=tuple(rows),
        kv_elements_per_token=kv_per_token if generates else None,
        kv_elements_per_sequence_fixed=kv_fixed,
        kv_elements_per_token_expanded=kv_expanded if generates else None,
        notes=tuple(notes),
    )
