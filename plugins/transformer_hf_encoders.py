"""Hugging Face configs of encoders and encoder-decoders for ``family: transformer``.

The encoder model types (the BERT family and its relatives) count what ``AutoModel``
builds, pooler included; the encoder-decoders (T5, BART and their relatives) count what
``AutoModelForSeq2SeqLM`` builds. Registered through the ``archcalc_hf_model_types`` hook
like any third-party plugin's; the decoder-only translators and the reader helpers they
share live in :mod:`archcalc.plugins.transformer_hf`.

Absent fields take the default of the model type's config class in transformers; fields
that change shapes in a way the spec cannot express are refused, never ignored.

One deliberate choice: where transformers releases disagree, the config's own statement
wins. Transformers 5 ties T5's LM head even when the config says
``tie_word_embeddings: false`` (flan-t5, T5 v1.1), while 4.x and the published
checkpoints keep it separate; archcalc follows the config.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from archcalc.plugins.transformer_hf import ORDER, Translator, _core, _tie

from archcalc import hookimpl
from archcalc.hf_types import HFModelType

if TYPE_CHECKING:  # archcalc.hf itself only when a config is read (a YAML count skips it)
    from archcalc.hf import ConfigReader


def _encoder(r: ConfigReader, *, types: int) -> None:
    """BERT-style post-norm encoder as AutoModel builds it."""
    r.set("architecture", "encoder")
    r.set("max_seq_len", r.size("max_position_embeddings", default=512), "max_position_embeddings")
    r.set("positional", "learned")
    r.set("mlp", "gelu")
    r.set("norm", "layernorm")
    r.set("bias", True)
    r.set("final_norm", False)
    r.set("embedding_norm", True)
    if types:
        r.set("type_vocab_size", types, "type_vocab_size")


def _bert(r: ConfigReader) -> None:
    r.only("add_cross_attention", False, why="add_cross_attention (cross-attention blocks)")
    _core(r, ("num_hidden_layers",), ("hidden_size",), ("num_attention_heads",))
    r.set("d_ff", r.size("intermediate_size"), "intermediate_size")
    _encoder(r, types=r.size("type_vocab_size", default=2, minimum=0) or 0)
    r.set("pooler", True)


def _distilbert(r: ConfigReader) -> None:
    _core(r, ("n_layers",), ("dim",), ("n_heads",))
    r.set("d_ff", r.size("hidden_dim"), "hidden_dim")
    _encoder(r, types=0)


def _albert(r: ConfigReader) -> None:
    _core(r, ("num_hidden_layers",), ("hidden_size",), ("num_attention_heads",))
    r.set("d_ff", r.size("intermediate_size"), "intermediate_size")
    _encoder(r, types=r.size("type_vocab_size", default=2, minimum=0) or 0)
    # AlbertModel always has the embedding_size → hidden_size projection, even when equal.
    r.set("d_embed", r.size("embedding_size", default=128), "embedding_size")
    groups = r.size("num_hidden_groups", default=1)
    inner = r.size("inner_group_num", default=1)
    if groups is not None and inner is not None:
        r.set("n_unique_layers", groups * inner, "num_hidden_groups", "inner_group_num")
    r.set("pooler", True)


def _t5_mlp(r: ConfigReader) -> str:
    """T5's MLP from feed_forward_proj ('relu', 'gated-gelu'...).

    Transformers 5 lets an explicit ``is_gated_act`` override what feed_forward_proj
    implies; gated kinds have three matrices whatever the activation, so any gated one
    counts as geglu (swiglu for silu).
    """
    proj = r.text("feed_forward_proj", "relu")
    parts = proj.split("-")
    if len(parts) > 2 or (len(parts) == 2 and parts[0] != "gated") or not parts[-1]:
        from archcalc.hf import show

        r.unsupported("feed_forward_proj", f"feed_forward_proj '{show(proj)}'")
    gated = r.flag("is_gated_act", parts[0] == "gated" and len(parts) == 2)
    act = parts[-1]
    if gated:
        return "swiglu" if act == "silu" else "geglu"
    return act if act in ("relu", "silu") else "gelu"


def _t5(r: ConfigReader) -> None:
    r.set("architecture", "encoder-decoder")
    d_model, n_heads = _core(r, ("num_layers", "num_hidden_layers"), ("d_model",), ("num_heads",))
    if r.present("num_decoder_layers"):
        r.set("n_decoder_layers", r.size("num_decoder_layers"), "num_decoder_layers")
    d_kv = r.size("d_kv", default=64)
    if d_kv is not None and (d_model is None or n_heads is None or d_kv * n_heads != d_model):
        r.set("d_head", d_kv, "d_kv")
    r.set("d_ff", r.size("d_ff"), "d_ff")
    r.set("mlp", _t5_mlp(r), "feed_forward_proj")
    r.set("positional", "none")
    r.set("norm", "rmsnorm")
    r.set("bias", False)
    buckets = r.size("relative_attention_num_buckets", default=32, minimum=0)
    r.set("relative_attention_buckets", buckets, "relative_attention_num_buckets")
    _tie(r, True)


def _bart(r: ConfigReader) -> None:
    r.set("architecture", "encoder-decoder")
    # Transformers 5 unties the encoder's and decoder's token embeddings too (four tables),
    # 4.x only the LM head (two): the releases disagree, so archcalc does not guess.
    r.only(
        "tie_word_embeddings",
        True,
        why="tie_word_embeddings: false (transformers 4 and 5 build different models from it)",
    )
    _core(
        r,
        ("encoder_layers", "num_hidden_layers"),
        ("d_model", "hidden_size"),
        ("encoder_attention_heads", "num_attention_heads"),
    )
    r.set("n_decoder_layers", r.size("decoder_layers", default=12), "decoder_layers")
    ffn = r.size("encoder_ffn_dim", default=4096)
    if r.size("decoder_ffn_dim", default=4096) != ffn:
        r.unsupported("decoder_ffn_dim", "a decoder_ffn_dim different from encoder_ffn_dim")
    r.set("d_ff", ffn, "encoder_ffn_dim")
    r.set("max_seq_len", r.size("max_position_embeddings", default=1024), "max_position_embeddings")
    r.set("position_offset", 2)
    r.set("positional", "learned")
    r.set("mlp", "gelu")
    r.set("norm", "layernorm")
    r.set("bias", True)
    r.set("final_norm", False)
    r.set("embedding_norm", True)
    _tie(r, True)


#: Encoders: what ``AutoModel`` builds (the bare encoder, pooler included).
ENCODERS: dict[str, Translator] = {
    "bert": _bert,
    "roberta": _bert,
    "distilbert": _distilbert,
    "albert": _albert,
    # RoBERTa's layer code under other names (checked like every entry).
    "xlm-roberta": _bert,
    "camembert": _bert,
    "data2vec-text": _bert,
}

#: Encoder-decoders: what ``AutoModelForSeq2SeqLM`` builds.
SEQ2SEQ: dict[str, Translator] = {
    "t5": _t5,
    "bart": _bart,
}

#: Each config class's ``attribute_map`` (alias -> key) in transformers 5, for the types
#: above: a config.json may use either name. Copied from transformers (the coverage run
#: changes every key through its alias to check this table).
ATTRIBUTE_MAPS: dict[str, dict[str, str]] = {
    "bart": {
        "num_attention_heads": "encoder_attention_heads",
        "hidden_size": "d_model",
        "num_hidden_layers": "encoder_layers",
    },
    "distilbert": {
        "hidden_size": "dim",
        "num_attention_heads": "n_heads",
        "num_hidden_layers": "n_layers",
    },
    "t5": {
        "hidden_size": "d_model",
        "num_attention_heads": "num_heads",
        "num_hidden_layers": "num_layers",
        "head_dim": "d_kv",
    },
}


@hookimpl
def archcalc_hf_model_types() -> list[HFModelType]:
    kinds = [(ENCODERS, "AutoModel"), (SEQ2SEQ, "AutoModelForSeq2SeqLM")]
    return [
        HFModelType(
            model_type,
            family="transformer",
            translate=translator,
            auto_class=auto,
            key_order=ORDER,
            aliases=ATTRIBUTE_MAPS.get(model_type, {}),
        )
        for table, auto in kinds
        for model_type, translator in sorted(table.items())
    ]
