"""Hugging Face RWKV-4 configs (``model_type: rwkv``) as ``family: transformer`` specs.

RWKV-4 is counted by the transformer family's block parts, written once in
:mod:`archcalc.plugins.transformer_parts`: ``mixer: rwkv`` (the time mixing: per-channel
decay and bonus, three token-shift mixes, bias-free key, value and receptance
``d_model → n_heads·d_head`` and output back) and ``mlp: rwkv`` (the channel mixing: two
token-shift mixes, key ``d_model → d_ff``, receptance ``d_model → d_model``, value
``d_ff → d_model``). A config therefore gets everything a transformer spec gets: ``count``,
``formula``, ``tensors`` and ``check`` (under transformers' names, :mod:`archcalc.state_dict`)
and ``size`` (FLOPs, no KV cache).

``RwkvForCausalLM`` maps onto the spec as: one "head" as wide as the time mixing
(``n_heads: 1``, ``d_head: attention_hidden_size``), LayerNorms (``ln1``, ``ln2`` are the
block's two norms, ``ln_out`` the final one), block 0's ``pre_ln`` on the embeddings
(``embedding_norm: true``), no position table, an untied head unless the config ties it.
Checked with ``reference/hf_coverage.py`` (the default config and every key changed one at
a time) and a saved checkpoint (``reference/checkpoint_headers.py``, case ``rwkv``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from archcalc.plugins.transformer_hf import ORDER, model_types

from archcalc import hookimpl
from archcalc.hf_types import HFModelType

if TYPE_CHECKING:  # archcalc.hf itself only when a config is read (a YAML count skips it)
    from archcalc.hf import ConfigReader


def translate(r: ConfigReader) -> None:
    """``RwkvConfig`` → the transformer spec. attention_hidden_size and intermediate_size
    default (also when null) to hidden_size and 4 × hidden_size; context_length,
    rescale_every and the epsilons shape nothing."""
    r.set("n_layers", r.size("num_hidden_layers"), "num_hidden_layers")
    d_model = r.size("hidden_size")
    r.set("d_model", d_model, "hidden_size")
    r.set("n_heads", 1)
    # absent, d_head is the spec's default d_model / n_heads: hidden_size, as in transformers
    if r.value("attention_hidden_size") is not None:
        r.set("d_head", r.size("attention_hidden_size"), "attention_hidden_size")
    if r.value("intermediate_size") is not None:
        r.set("d_ff", r.size("intermediate_size"), "intermediate_size")
    elif isinstance(d_model, int):
        r.set("d_ff", 4 * d_model, "hidden_size")
    r.set("vocab_size", r.size("vocab_size"), "vocab_size")
    r.set("positional", "none")
    r.set("mixer", "rwkv")
    r.set("mlp", "rwkv")
    r.set("norm", "layernorm")
    r.set("embedding_norm", True)
    r.set("tie_embeddings", r.flag("tie_word_embeddings", False), "tie_word_embeddings")


@hookimpl
def archcalc_hf_model_types() -> list[HFModelType]:
    types: list[HFModelType] = model_types(
        {"rwkv": translate},
        {"rwkv": {"max_position_embeddings": "context_length"}},
        (*ORDER, "mixer"),
    )
    return types
