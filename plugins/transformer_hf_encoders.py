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

from typing import TYPE_CHECKING, Any

from archcalc.plugins.transformer_hf import (
    MHA,
    ORDER,
    Translator,
    _core,
    _head_dim,
    _llama_like,
    _tie,
)

from archcalc import hookimpl
from archcalc.hf_types import HFModelType

if TYPE_CHECKING:  # archcalc.hf itself only when a config is read (a YAML count skips it)
    from archcalc.hf import ConfigReader


def _encoder(
    r: ConfigReader,
    *,
    types: int,
    max_len: int = 512,
    offset: int = 0,
    positional: str = "learned",
    mlp: str = "gelu",
    embedding_norm: bool = True,
    final_norm: bool = False,
) -> None:
    """BERT-style encoder as AutoModel builds it: post-norm blocks with biases, an
    embedding norm, learned positions (``offset`` rows more: RoBERTa-style padding),
    ``types`` token-type rows. Pre-norm relatives end each stack with a norm instead."""
    r.set("architecture", "encoder")
    if positional == "learned":
        rows = r.size("max_position_embeddings", default=max_len)
        r.set("max_seq_len", rows, "max_position_embeddings")
        if offset:
            r.set("position_offset", offset)
    r.set("positional", positional)
    r.set("mlp", mlp)
    r.set("norm", "layernorm")
    r.set("bias", True)
    r.set("final_norm", final_norm)
    r.set("embedding_norm", embedding_norm)
    if types:
        r.set("type_vocab_size", types, "type_vocab_size")


def _types(r: ConfigReader, default: int = 2) -> int:
    """Rows of the token-type table (``type_vocab_size``; 0: none)."""
    return r.size("type_vocab_size", default=default, minimum=0) or 0


def _no_cross_attention(r: ConfigReader) -> None:
    r.only("add_cross_attention", False, why="add_cross_attention (cross-attention blocks)")


def _bert_core(r: ConfigReader) -> tuple[Any, Any]:
    d_model, n_heads = _core(r, ("num_hidden_layers",), ("hidden_size",), ("num_attention_heads",))
    r.set("d_ff", r.size("intermediate_size"), "intermediate_size")
    return d_model, n_heads


def _bert_with(
    *, pooler: bool = True, types: int = 2, cross: bool = True, **options: Any
) -> Translator:
    """A translator for a BERT-layout type: its config-class defaults and layout options
    (see :func:`_encoder`); ``cross``: the type's config has add_cross_attention."""

    def translate(r: ConfigReader) -> None:
        if cross:
            _no_cross_attention(r)
        _bert_core(r)
        _encoder(r, types=_types(r, types), **options)
        if pooler:
            r.set("pooler", True)

    return translate


_bert = _bert_with()


def _distilbert(r: ConfigReader) -> None:
    _core(r, ("n_layers",), ("dim",), ("n_heads",))
    r.set("d_ff", r.size("hidden_dim"), "hidden_dim")
    _encoder(r, types=0)


def _albert(r: ConfigReader) -> None:
    _bert_core(r)
    _encoder(r, types=_types(r))
    # AlbertModel always has the embedding_size → hidden_size projection, even when equal.
    r.set("d_embed", r.size("embedding_size", default=128), "embedding_size")
    groups = r.size("num_hidden_groups", default=1)
    inner = r.size("inner_group_num", default=1)
    if groups is not None and inner is not None:
        r.set("n_unique_layers", groups * inner, "num_hidden_groups", "inner_group_num")
    r.set("pooler", True)


def _electra(r: ConfigReader) -> None:
    """ELECTRA: embeddings of embedding_size, projected to hidden_size only when they differ."""
    _no_cross_attention(r)
    d_model, _ = _bert_core(r)
    _encoder(r, types=_types(r))
    d_embed = r.size("embedding_size", default=128)
    if d_embed is not None and d_embed != d_model:
        r.set("d_embed", d_embed, "embedding_size")


def _rembert(r: ConfigReader) -> None:
    """RemBERT: input embeddings of input_embedding_size, always projected to hidden_size
    (output_embedding_size shapes the LM head only, which AutoModel lacks)."""
    _no_cross_attention(r)
    _bert_core(r)
    _encoder(r, types=_types(r))
    r.set("d_embed", r.size("input_embedding_size", default=256), "input_embedding_size")
    r.set("pooler", True)


def _ernie(r: ConfigReader) -> None:
    # use_task_id adds a task-type embedding table (task_type_vocab_size × hidden_size).
    r.only("use_task_id", False, why="use_task_id: true (a task-type embedding table)")
    _bert(r)


def _big_bird(r: ConfigReader) -> None:
    _bert_with(max_len=4096)(r)
    qkv_bias = r.flag("use_bias", True)
    if not qkv_bias:
        r.set("qkv_bias", False, "use_bias")


def _yoso(r: ConfigReader) -> None:
    # conv_window adds a depthwise convolution over the values to every attention.
    r.only("conv_window", why="conv_window (a convolution in every attention)")
    _bert_with(pooler=False, types=1, cross=False, max_len=4096, offset=2)(r)


def _mpnet(r: ConfigReader) -> None:
    """MPNet: a relative position bias (buckets × heads) shared by the encoder's layers."""
    _bert_core(r)
    _encoder(r, types=0)
    buckets = r.size("relative_attention_num_buckets", default=32, minimum=0)
    r.set("relative_attention_buckets", buckets, "relative_attention_num_buckets")
    r.set("pooler", True)


def _xlm(r: ConfigReader) -> None:
    """XLM / FlauBERT: post-norm (or pre-norm) blocks with a 4·d MLP, an embedding norm,
    and a language embedding table (n_langs rows) when there are several languages."""
    r.only("is_encoder", True, why="is_encoder: false (transformers refuses XLM decoders)")
    _core(r, ("n_layers",), ("emb_dim",), ("n_heads",))
    r.set("d_ff", "4 * d_model")
    langs = r.size("n_langs", default=1)
    use = r.flag("use_lang_emb", True)
    _encoder(r, types=0)
    if langs is not None and langs > 1 and use:
        r.set("type_vocab_size", langs, "n_langs")


def _nomic_bert(r: ConfigReader) -> None:
    """Nomic BERT: rotary, bias-free attention and SwiGLU MLP, post-norm LayerNorms."""
    d_model, n_heads = _bert_core(r)
    _head_dim(r, d_model, n_heads)
    _encoder(r, types=_types(r), positional="rope", mlp="swiglu")
    r.set("bias", False)


def _jina_embeddings_v3(r: ConfigReader) -> None:
    """Jina embeddings v3: XLM-RoBERTa's layout with rotary positions."""
    _bert_core(r)
    _encoder(r, types=_types(r, 1), positional="rope")
    r.set("pooler", True)


def _llama_encoder(r: ConfigReader) -> None:
    """EuroBERT / UltraBERT: Llama's layers without the causal mask, a final RMSNorm and
    no LM head (AutoModel)."""
    _llama_like(r, bias_key="attention_bias", mlp_bias=r.flag("mlp_bias", False), kv_null=MHA)
    r.set("architecture", "encoder")
    r.spec.pop("tie_embeddings", None)  # an encoder has no LM head to tie


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


def _bart_with(
    *,
    layers: int = 12,
    decoder_layers: int | None = None,
    ffn: int = 4096,
    n_heads: int = 16,
    max_len: int = 1024,
    offset: int = 0,
    positions: str = "learned",
    embedding_norm: bool = False,
    final_norm: bool = False,
    attention_bias: tuple[str, bool] | None = None,
) -> Translator:
    """A translator for a BART-layout encoder-decoder (one shared token embedding, a
    LayerNorm'd block of attention and a two-matrix MLP with biases, cross-attention in the
    decoder, the LM head tied), with the type's config-class defaults and layout:

    ``positions``: ``learned`` (``offset`` rows more), ``table`` (a sinusoidal table held
    as a frozen parameter, max_position_embeddings rows per stack: Marian, Pegasus) or
    ``buffer`` (sinusoidal, not a parameter: M2M-100); ``embedding_norm``: a norm after
    the embeddings of each stack (``layernorm_embedding``); ``final_norm``: a norm ending
    each stack (the pre-norm types' ``layer_norm``); ``attention_bias``: the config flag
    for the attention projections' biases and its class default (BigBird-Pegasus
    ``("use_bias", False)``; None: always biased).
    A decoder of another MLP width or head count is a decoder stack of its own kind of
    block (the heads change no shape, but must divide d_model).
    """

    def translate(r: ConfigReader) -> None:
        r.set("architecture", "encoder-decoder")
        # Transformers 5 unties the encoder's and decoder's token embeddings too (four
        # tables), 4.x only the LM head (two): the releases disagree, so archcalc does not
        # guess.
        r.only(
            "tie_word_embeddings",
            True,
            why="tie_word_embeddings: false (transformers 4 and 5 build different models from it)",
        )
        n_layers = r.size("encoder_layers", "num_hidden_layers", default=layers)
        r.set("n_layers", n_layers, "encoder_layers", "num_hidden_layers")
        d_model = r.size("d_model", "hidden_size")
        r.set("d_model", d_model, "d_model", "hidden_size")
        heads = r.size("encoder_attention_heads", "num_attention_heads", default=n_heads)
        r.set("n_heads", heads, "encoder_attention_heads", "num_attention_heads")
        r.set("vocab_size", r.size("vocab_size"), "vocab_size")
        decoder = r.size("decoder_layers", default=decoder_layers or layers)
        r.set("n_decoder_layers", decoder, "decoder_layers")
        d_ff = r.size("encoder_ffn_dim", default=ffn)
        r.set("d_ff", d_ff, "encoder_ffn_dim")
        kind = {}  # what the decoder's blocks change
        decoder_ff = r.size("decoder_ffn_dim", default=ffn)
        if decoder_ff is not None and d_ff is not None and decoder_ff != d_ff:
            kind["d_ff"] = decoder_ff
        decoder_heads = r.size("decoder_attention_heads", default=n_heads)
        if decoder_heads is not None and heads is not None and decoder_heads != heads:
            kind["n_heads"] = decoder_heads
        if kind:
            source = ("decoder_ffn_dim",) if "d_ff" in kind else ("decoder_attention_heads",)
            r.set("decoder_stack", [{"block": kind}], *source)
        if positions == "buffer":
            r.set("positional", "sinusoidal")
        else:
            rows = r.size("max_position_embeddings", default=max_len)
            r.set("max_seq_len", rows, "max_position_embeddings")
            r.set("positional", "learned" if positions == "learned" else "sinusoidal")
            if positions == "table":
                r.set("sinusoidal_table", True)
            elif offset:
                r.set("position_offset", offset)
        r.set("mlp", "gelu")
        r.set("norm", "layernorm")
        r.set("bias", True)
        if attention_bias is not None and not r.flag(*attention_bias):
            r.set("qkv_bias", False, attention_bias[0])
            r.set("o_bias", False, attention_bias[0])
        r.set("final_norm", final_norm)
        r.set("embedding_norm", embedding_norm)
        _tie(r, True)

    return translate


_bart = _bart_with(offset=2, embedding_norm=True)


def _marian(r: ConfigReader) -> None:
    """Marian: post-norm, sinusoidal tables as parameters, the source and target sharing
    one vocabulary (separate decoder embeddings are refused)."""
    r.only(
        "share_encoder_decoder_embeddings",
        True,
        why="share_encoder_decoder_embeddings: false (separate decoder embeddings)",
    )
    vocab, decoder_vocab = r.size("vocab_size"), r.size("decoder_vocab_size", nullable=True)
    if decoder_vocab is not None and vocab is not None and decoder_vocab != vocab:
        r.unsupported("decoder_vocab_size", "a decoder_vocab_size other than vocab_size")
    _bart_with(positions="table")(r)


def _mvp(r: ConfigReader) -> None:
    # use_prompt adds prompt encoders (an embedding table and an MLP) to each stack.
    r.only("use_prompt", False, why="use_prompt: true (prompt encoders)")
    _bart(r)


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
    "ibert": _bert_with(cross=False),
    "ernie": _ernie,
    "electra": _electra,
    "rembert": _rembert,
    "big_bird": _big_bird,
    "megatron-bert": _bert_with(embedding_norm=False, final_norm=True),
    "roberta-prelayernorm": _bert_with(final_norm=True),
    "xlm-roberta-xl": _bert_with(types=1, max_len=514, embedding_norm=False, final_norm=True),
    "yoso": _yoso,
    "mra": _bert_with(pooler=False, types=1, cross=False, offset=2),
    "mpnet": _mpnet,
    "xlm": _xlm,
    "flaubert": _xlm,
    "nomic_bert": _nomic_bert,
    "jina_embeddings_v3": _jina_embeddings_v3,
    "eurobert": _llama_encoder,
    "ultrabert": _llama_encoder,
}

#: Encoder-decoders: what ``AutoModelForSeq2SeqLM`` builds.
SEQ2SEQ: dict[str, Translator] = {
    "t5": _t5,
    "mt5": _t5,
    "bart": _bart,
    "mbart": _bart_with(offset=2, embedding_norm=True, final_norm=True),
    "plbart": _bart_with(layers=6, ffn=3072, n_heads=12, offset=2, embedding_norm=True),
    "mvp": _mvp,
    "marian": _marian,
    "pegasus": _bart_with(positions="table", final_norm=True),
    "m2m_100": _bart_with(positions="buffer", final_norm=True),
    "blenderbot": _bart_with(
        layers=2, decoder_layers=24, ffn=10240, n_heads=32, max_len=128, final_norm=True
    ),
    "blenderbot-small": _bart_with(layers=8, ffn=2048, max_len=512, embedding_norm=True),
    "bigbird_pegasus": _bart_with(
        layers=16, max_len=4096, embedding_norm=True, attention_bias=("use_bias", False)
    ),
}

#: Each config class's ``attribute_map`` (alias -> key) in transformers 5, for the types
#: above: a config.json may use either name. Copied from transformers (the coverage run
#: changes every key through its alias to check this table).
_XLM_NAMES = {
    "hidden_size": "emb_dim",
    "num_attention_heads": "n_heads",
    "num_hidden_layers": "n_layers",
    "n_words": "vocab_size",
    "bos_index": "bos_token_id",
    "eos_index": "eos_token_id",
    "pad_index": "pad_token_id",
}
_BART_NAMES = {
    "num_attention_heads": "encoder_attention_heads",
    "hidden_size": "d_model",
    "num_hidden_layers": "encoder_layers",
}
_T5_NAMES = {
    "hidden_size": "d_model",
    "num_attention_heads": "num_heads",
    "num_hidden_layers": "num_layers",
    "head_dim": "d_kv",
}
ATTRIBUTE_MAPS: dict[str, dict[str, str]] = {
    "xlm": _XLM_NAMES,
    "flaubert": _XLM_NAMES,
    **dict.fromkeys(
        (
            "bart",
            "mbart",
            "plbart",
            "mvp",
            "marian",
            "pegasus",
            "m2m_100",
            "blenderbot",
            "blenderbot-small",
            "bigbird_pegasus",
        ),
        _BART_NAMES,
    ),
    "distilbert": {
        "hidden_size": "dim",
        "num_attention_heads": "n_heads",
        "num_hidden_layers": "n_layers",
    },
    "t5": _T5_NAMES,
    "mt5": _T5_NAMES,
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
