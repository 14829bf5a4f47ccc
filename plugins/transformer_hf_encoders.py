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
    _heads_divide_width,
    _llama_like,
    _rope_head_dim,
    _tie,
    model_types,
    show,
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
    """ERNIE: BERT's layout; use_task_id adds a task-type embedding table
    (task_type_vocab_size × hidden_size) beside the token types."""
    _bert(r)
    if r.flag("use_task_id", False):
        rows = r.size("task_type_vocab_size", default=3)
        r.set("task_type_vocab_size", rows, "task_type_vocab_size", "use_task_id")


def _bert_generation(r: ConfigReader) -> None:
    """BertGeneration as AutoModelForCausalLM builds it (BertGenerationDecoder): BERT's
    post-norm blocks without token types or pooler, and an LM head with a bias, its
    weight tied to the token embedding."""
    _no_cross_attention(r)
    _bert_core(r)
    _encoder(r, types=0)
    r.set("architecture", "decoder")
    r.set("lm_head_bias", True)
    # untied, lm_head.decoder keeps a bias besides lm_head.bias: two of vocab_size
    r.only("tie_word_embeddings", True, why="tie_word_embeddings: false (two LM head biases)")
    r.set("tie_embeddings", True)


def _gte(r: ConfigReader) -> None:
    """GTE: post-norm blocks with rotary, biased attention and a gated MLP whose only bias
    is down_proj's; no pooler in GteModel (AutoModel)."""
    d_model, n_heads = _bert_core(r)
    if "head_dim" in r.data and not r.present("head_dim"):
        r.size("head_dim")  # GteAttention reads getattr(config, "head_dim", ...): null fails
    _head_dim(r, d_model, n_heads)
    _encoder(r, types=_types(r, 1), positional="rope", mlp="geglu")
    r.set("mlp_in_bias", False)


def _big_bird(r: ConfigReader) -> None:
    _bert_with(max_len=4096)(r)
    qkv_bias = r.flag("use_bias", True)
    if not qkv_bias:
        r.set("qkv_bias", False, "use_bias")


def _value_conv(r: ConfigReader, key: str, default: int | None) -> None:
    """A depthwise convolution over each head's values, ``key`` taps (null: none)."""
    if default is None and not r.present(key):
        return
    r.set("value_conv", r.size(key, default=default, nullable=True), key)


def _yoso(r: ConfigReader) -> None:
    _bert_with(pooler=False, types=1, cross=False, max_len=4096, offset=2)(r)
    _value_conv(r, "conv_window", None)


def _nystromformer(r: ConfigReader) -> None:
    _bert_with(pooler=False, cross=False, max_len=510, offset=2)(r)
    _value_conv(r, "conv_kernel_size", 65)


def _fnet(r: ConfigReader) -> None:
    """FNet: a parameter-free Fourier mixer in place of attention (its norms kept), an
    embedding projection hidden -> hidden."""
    r.set("architecture", "encoder")
    d_model = r.size("hidden_size", default=768)
    r.set("d_model", d_model, "hidden_size")
    r.set("n_layers", r.size("num_hidden_layers", default=12), "num_hidden_layers")
    r.set("n_heads", 1)  # required by the family; a Fourier mixer has no heads
    r.set("vocab_size", r.size("vocab_size", default=32000), "vocab_size")
    r.set("d_ff", r.size("intermediate_size", default=3072), "intermediate_size")
    r.set("mixer", "fourier")
    _encoder(r, types=_types(r, 4))
    r.set("d_embed", d_model, "hidden_size")
    r.set("pooler", True)


def _attention_window(r: ConfigReader, layers: str) -> None:
    """Longformer's attention_window: one size, or one per layer (transformers refuses a
    list of another length); no parameters either way."""
    window, n_layers = r.value("attention_window"), r.spec.get("n_layers")
    if isinstance(window, list) and isinstance(n_layers, int) and len(window) != n_layers:
        r.error(
            "attention_window",
            f"attention_window lists {len(window)} sizes for {n_layers} layers ({layers})",
            "H403",
        )


def _longformer(r: ConfigReader) -> None:
    """Longformer: RoBERTa's layout (no position offset) with global q, k, v projections."""
    _bert_with(cross=False)(r)
    _attention_window(r, "num_hidden_layers")
    r.set("global_attention", True)


def _led(r: ConfigReader) -> None:
    """LED: BART's layout with Longformer's global q, k, v in the encoder and a position
    table per stack (max_encoder_position_embeddings, max_decoder_position_embeddings)."""
    _bart_with(
        positions_key="max_encoder_position_embeddings",
        max_len=16384,
        decoder_positions=("max_decoder_position_embeddings", 1024),
        embedding_norm=True,
        global_attention=True,
    )(r)
    _attention_window(r, "encoder_layers")


def _modernbert(r: ConfigReader) -> None:
    """ModernBERT: pre-norm with rotary positions and a GeGLU MLP, an embedding norm and a
    final norm, and no norm before the attention of layer 0."""
    r.set("architecture", "encoder")
    _core(r, ("num_hidden_layers",), ("hidden_size",), ("num_attention_heads",))
    r.set("d_ff", r.size("intermediate_size", default=1152), "intermediate_size")
    r.set("positional", "rope")
    r.set("mlp", "geglu")
    # a LayerNorm without bias counts (and is named) as an RMSNorm
    r.set("norm", "layernorm" if r.flag("norm_bias", False) else "rmsnorm", "norm_bias")
    attention_bias = r.flag("attention_bias", False)
    r.set("qkv_bias", attention_bias, "attention_bias")
    r.set("o_bias", attention_bias, "attention_bias")
    r.set("mlp_bias", r.flag("mlp_bias", False), "mlp_bias")
    r.set("embedding_norm", True)
    r.set("final_norm", True)
    r.set("blocks", {"first": {"input_norm": False}})
    r.set("stack", [{"block": "first", "layers": 1}, {"block": "default"}])


def _deberta_v2(r: ConfigReader) -> None:
    """DeBERTa-v2/v3: BERT's post-norm blocks, absolute positions only when
    position_biased_input, relative embeddings (and their norm) once for the encoder, and
    position projections per attention when keys are not shared."""
    d_model, _ = _bert_core(r)
    _hidden_wide_embeddings(r, d_model)
    if r.count("conv_kernel_size", default=0):
        r.unsupported("conv_kernel_size", "conv_kernel_size (a convolution after layer 0)")
    learned = r.flag("position_biased_input", True)
    _encoder(r, types=_types(r, 0), positional="learned" if learned else "none")
    if r.flag("relative_attention", False):
        rows = _signed(r, "position_buckets", -1)
        if rows <= 0:
            rows = _signed(r, "max_relative_positions", -1)
            if rows < 1:
                rows = r.size("max_position_embeddings", default=512)
        r.set("relative_embeddings", 2 * rows, "position_buckets", "max_relative_positions")
        if not r.flag("share_att_key", False):
            kinds = _pos_att_type(r)
            which = {(True, True): "both", (True, False): "key", (False, True): "query"}
            projections = which.get(("c2p" in kinds, "p2c" in kinds))
            if projections:
                r.set("position_projections", projections, "pos_att_type")
    norm = r.text("norm_rel_ebd", "none")
    if "layer_norm" in [x.strip() for x in norm.lower().split("|")]:
        r.set("relative_embeddings_norm", True, "norm_rel_ebd")


def _hidden_wide_embeddings(r: ConfigReader, d_model: int | None) -> None:
    """DeBERTa's embedding_size (absent: hidden_size; null: transformers fails): another
    width adds a bias-free projection with the embedding norm hidden-wide after it, which
    the spec does not model."""
    if not r.present("embedding_size") and "embedding_size" not in r.data:
        return
    embedding = r.size("embedding_size")
    if embedding is not None and d_model is not None and embedding != d_model:
        r.unsupported("embedding_size", "an embedding_size other than hidden_size")


def _deberta(r: ConfigReader) -> None:
    """DeBERTa (v1): DeBERTa-v2's layout with a fused q, k, v projection whose key part
    has no bias, and, with relative attention, relative embeddings for the encoder and
    per attention a bias-free position key projection (c2p) and a biased query one (p2c)."""
    d_model, _ = _bert_core(r)
    _hidden_wide_embeddings(r, d_model)
    if r.flag("talking_head", False):
        r.unsupported("talking_head", "talking_head (head mixing projections)")
    learned = r.flag("position_biased_input", True)
    _encoder(r, types=_types(r, 0), positional="learned" if learned else "none")
    r.set("k_bias", False)
    if r.flag("relative_attention", False):
        rows = _signed(r, "max_relative_positions", -1)
        if rows < 1:
            rows = r.size("max_position_embeddings", default=512)
        r.set("relative_embeddings", 2 * rows, "max_relative_positions")
        kinds = _pos_att_type(r)
        which = {(True, True): "both", (True, False): "key", (False, True): "query"}
        projections = which.get(("c2p" in kinds, "p2c" in kinds))
        if projections:
            r.set("position_projections", projections, "pos_att_type")
        if "c2p" in kinds:
            r.set("position_key_bias", False)


def _signed(r: ConfigReader, key: str, default: int) -> int:
    """An integer of either sign (DeBERTa's -1 means 'not set')."""
    value = r.value(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        r.error(key, f"'{key}' must be an integer, got {show(value)}")
        return default
    return value


def _pos_att_type(r: ConfigReader) -> list[str]:
    """DeBERTa's pos_att_type: 'c2p|p2c' (lower-cased, split) or a list of strings."""
    value = r.value("pos_att_type")
    if value is None:
        return []
    if isinstance(value, str):
        return [x.strip() for x in value.lower().split("|")]
    if isinstance(value, list) and all(isinstance(x, str) for x in value):
        return value
    r.error("pos_att_type", f"'pos_att_type' must be a string or a list, got {show(value)}")
    return []


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
    _rope_head_dim(r)
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
    _heads_divide_width(r)


def _t5_mlp(r: ConfigReader, default: str) -> str:
    """T5's MLP from feed_forward_proj ('relu', 'gated-gelu'...; absent: ``default``, the
    config class's: relu for T5 and LongT5, gated-gelu for mT5 and UMT5).

    Transformers 5 lets an explicit ``is_gated_act`` override what feed_forward_proj
    implies; gated kinds have three matrices whatever the activation, so any gated one
    counts as geglu (swiglu for silu).
    """
    proj = r.text("feed_forward_proj", default)
    parts = proj.split("-")
    if len(parts) > 2 or (len(parts) == 2 and parts[0] != "gated") or not parts[-1]:
        r.unsupported("feed_forward_proj", f"feed_forward_proj '{show(proj)}'")
    gated = r.flag("is_gated_act", parts[0] == "gated" and len(parts) == 2)
    act = parts[-1]
    if gated:
        return "swiglu" if act == "silu" else "geglu"
    return act if act in ("relu", "silu") else "gelu"


def _t5(r: ConfigReader, mlp: str = "relu") -> None:
    r.set("architecture", "encoder-decoder")
    d_model, n_heads = _core(r, ("num_layers", "num_hidden_layers"), ("d_model",), ("num_heads",))
    if r.present("num_decoder_layers"):
        r.set("n_decoder_layers", r.size("num_decoder_layers"), "num_decoder_layers")
    d_kv = r.size("d_kv", default=64)
    if d_kv is not None and (d_model is None or n_heads is None or d_kv * n_heads != d_model):
        r.set("d_head", d_kv, "d_kv")
    r.set("d_ff", r.size("d_ff"), "d_ff")
    r.set("mlp", _t5_mlp(r, mlp), "feed_forward_proj")
    r.set("positional", "none")
    r.set("norm", "rmsnorm")
    r.set("bias", False)
    buckets = r.size("relative_attention_num_buckets", default=32, minimum=0)
    r.set("relative_attention_buckets", buckets, "relative_attention_num_buckets")
    _tie(r, True)


def _mt5(r: ConfigReader) -> None:
    """mT5: T5 with gated-GELU MLPs by default."""
    _t5(r, "gated-gelu")


def _umt5(r: ConfigReader) -> None:
    """UMT5: T5 with a relative position bias in every self-attention, not only the first."""
    _t5(r, "gated-gelu")
    r.set("relative_attention_per_layer", True)


def _longt5(r: ConfigReader) -> None:
    """LongT5 with local attention: T5's parameters exactly (the transient-global kind adds
    a global relative bias and norm per layer, not modelled)."""
    r.only(
        "encoder_attention_type",
        "local",
        why="encoder_attention_type other than 'local' (transient-global attention)",
    )
    _t5(r)


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
    vocab: str = "vocab_size",
    positions_key: str = "max_position_embeddings",
    decoder_positions: tuple[str, int] | None = None,
    global_attention: bool = False,
    tied: bool = True,
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
    ``("use_bias", False)``; None: always biased); ``vocab``: the key of the (source)
    vocabulary; ``positions_key``: the key of the position table's rows (and
    ``decoder_positions``: key and default of the decoder's own, LED); ``global_attention``:
    Longformer's global q, k, v in the encoder's self-attention (LED); ``tied``: the LM
    head is tied to the one shared token embedding (False: the caller reads the
    embeddings and their tie, Marian unshared, FSMT).
    A decoder of another MLP width or head count is a decoder stack of its own kind of
    block (the heads change no shape, but must divide d_model).
    """

    def translate(r: ConfigReader) -> None:
        r.set("architecture", "encoder-decoder")
        if tied:
            # Transformers 5 unties the encoder's and decoder's token embeddings too (four
            # tables), 4.x only the LM head (two): the releases disagree, so archcalc does
            # not guess.
            r.only(
                "tie_word_embeddings",
                True,
                why="tie_word_embeddings: false (transformers 4 and 5 build different models "
                "from it)",
            )
        n_layers = r.size("encoder_layers", "num_hidden_layers", default=layers)
        r.set("n_layers", n_layers, "encoder_layers", "num_hidden_layers")
        d_model = r.size("d_model", "hidden_size")
        r.set("d_model", d_model, "d_model", "hidden_size")
        heads = r.size("encoder_attention_heads", "num_attention_heads", default=n_heads)
        r.set("n_heads", heads, "encoder_attention_heads", "num_attention_heads")
        r.set("vocab_size", r.size(vocab), vocab)
        decoder = r.size("decoder_layers", default=decoder_layers or layers)
        r.set("n_decoder_layers", decoder, "decoder_layers")
        d_ff = r.size("encoder_ffn_dim", default=ffn)
        r.set("d_ff", d_ff, "encoder_ffn_dim")
        # what the decoder's blocks change
        kind: dict[str, Any] = {"global_attention": False} if global_attention else {}
        decoder_ff = r.size("decoder_ffn_dim", default=ffn)
        if decoder_ff is not None and d_ff is not None and decoder_ff != d_ff:
            kind["d_ff"] = decoder_ff
        decoder_heads = r.size("decoder_attention_heads", default=n_heads)
        if decoder_heads is not None and heads is not None and decoder_heads != heads:
            kind["n_heads"] = decoder_heads
        if kind:
            source = ("decoder_ffn_dim",) if "d_ff" in kind else ("decoder_attention_heads",)
            r.set("decoder_stack", [{"block": kind}], *source)
        if global_attention:
            r.set("global_attention", True)
        if positions == "buffer":
            r.set("positional", "sinusoidal")
        else:
            rows = r.size(positions_key, default=max_len)
            r.set("max_seq_len", rows, positions_key)
            if decoder_positions is not None:
                key, default = decoder_positions
                r.set("decoder_max_seq_len", r.size(key, default=default), key)
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
        if tied:
            _tie(r, True)

    return translate


_bart = _bart_with(offset=2, embedding_norm=True)


def _marian(r: ConfigReader) -> None:
    """Marian: post-norm, sinusoidal tables as parameters. With shared embeddings one
    table serves both stacks and the LM head; without, the decoder has its own
    (decoder_vocab_size rows) and the LM head is tied to it or not (tie_word_embeddings)."""
    vocab = r.size("vocab_size")
    decoder_vocab = r.size("decoder_vocab_size", default=vocab, nullable=True)
    if r.flag("share_encoder_decoder_embeddings", True):
        if decoder_vocab is not None and vocab is not None and decoder_vocab != vocab:
            # the decoder's table is replaced by the shared one: transformers ties tables
            # of two shapes
            r.unsupported("decoder_vocab_size", "a decoder_vocab_size other than vocab_size")
        _bart_with(positions="table")(r)
        return
    _bart_with(positions="table", tied=False)(r)
    r.set("decoder_vocab_size", decoder_vocab or vocab, "decoder_vocab_size", "vocab_size")
    _tie(r, True)


def _fsmt(r: ConfigReader) -> None:
    """FSMT: source and target vocabularies, sinusoidal tables of max_position_embeddings +
    pad_token_id + 1 rows (parameters), an output projection of its own unless
    tie_word_embeddings ties it and the source table to the target's."""
    _bart_with(positions="table", vocab="src_vocab_size", tied=False, max_len=1024)(r)
    rows, pad = r.size("max_position_embeddings", default=1024), r.count("pad_token_id", default=1)
    if rows is not None and pad is not None:
        r.set("max_seq_len", rows + pad + 1, "max_position_embeddings", "pad_token_id")
    source, target = r.size("src_vocab_size"), r.size("tgt_vocab_size")
    if r.flag("tie_word_embeddings", False):
        if source != target:
            r.unsupported("tie_word_embeddings", "tie_word_embeddings with two vocabularies")
        r.set("tie_embeddings", True, "tie_word_embeddings")
        return
    r.set("decoder_vocab_size", target, "tgt_vocab_size")
    r.set("tie_embeddings", False, "tie_word_embeddings")


def _roformer(r: ConfigReader) -> None:
    """RoFormer: BERT's post-norm blocks with rotary attention, a sinusoidal table one head
    wide stored as a parameter, embeddings of embedding_size projected when they differ."""
    _no_cross_attention(r)
    d_model, n_heads = _bert_core(r)
    _encoder(r, types=_types(r), positional="sinusoidal")
    r.set("max_seq_len", r.size("max_position_embeddings", default=1536), "max_position_embeddings")
    r.set("sinusoidal_table", True)
    if d_model is not None and n_heads is not None:
        r.set("sinusoidal_table_width", d_model // n_heads, "hidden_size", "num_attention_heads")
    embedding = r.size("embedding_size", default=d_model, nullable=True)
    if embedding is not None and embedding != d_model:
        r.set("d_embed", embedding, "embedding_size")


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
    "gte": _gte,
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
    "nystromformer": _nystromformer,
    "fnet": _fnet,
    "longformer": _longformer,
    "modernbert": _modernbert,
    "deberta": _deberta,
    "deberta-v2": _deberta_v2,
    "roformer": _roformer,
    "eurobert": _llama_encoder,
    "ultrabert": _llama_encoder,
}


def _trocr(r: ConfigReader) -> None:
    """TrOCR's text decoder as AutoModelForCausalLM builds it (TrOCRForCausalLM sets
    is_decoder, so every block has cross-attention): BART's post-norm blocks, learned
    positions (2 rows more) or a sinusoidal table that is no parameter, an optional
    embedding norm, a bias-free output projection tied to the token embedding."""
    r.set("architecture", "decoder")
    r.set("n_layers", r.size("decoder_layers", default=12), "decoder_layers")
    d_model = r.size("d_model", default=1024)
    r.set("d_model", d_model, "d_model")
    r.set("n_heads", r.size("decoder_attention_heads", default=16), "decoder_attention_heads")
    r.set("vocab_size", r.size("vocab_size", default=50265), "vocab_size")
    r.set("d_ff", r.size("decoder_ffn_dim", default=4096), "decoder_ffn_dim")
    cross = r.size("cross_attention_hidden_size", nullable=True, default=d_model)
    if cross is not None and d_model is not None and cross != d_model:
        r.unsupported(
            "cross_attention_hidden_size", "a cross_attention_hidden_size other than d_model"
        )
    r.set("cross_attention", True)
    if r.flag("use_learned_position_embeddings", True):
        rows = r.size("max_position_embeddings", default=512)
        r.set("max_seq_len", rows, "max_position_embeddings")
        r.set("positional", "learned")
        r.set("position_offset", 2)
    else:
        r.set("positional", "sinusoidal")
    r.set("mlp", "gelu")
    r.set("norm", "layernorm")
    r.set("bias", True)
    r.set("final_norm", False)
    r.set("embedding_norm", r.flag("layernorm_embedding", True), "layernorm_embedding")
    _tie(r, True)


#: Decoders of the encoders' layouts: what ``AutoModelForCausalLM`` builds.
DECODERS: dict[str, Translator] = {
    "bert-generation": _bert_generation,
    "trocr": _trocr,
}

#: Encoder-decoders: what ``AutoModelForSeq2SeqLM`` builds.
SEQ2SEQ: dict[str, Translator] = {
    "t5": _t5,
    "mt5": _mt5,
    "umt5": _umt5,
    "longt5": _longt5,
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
    "led": _led,
    "fsmt": _fsmt,
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
            "led",
        ),
        _BART_NAMES,
    ),
    "trocr": {
        "num_attention_heads": "decoder_attention_heads",
        "hidden_size": "d_model",
        "num_hidden_layers": "decoder_layers",
    },
    "fsmt": {
        "num_attention_heads": "encoder_attention_heads",
        "hidden_size": "d_model",
        "vocab_size": "tgt_vocab_size",
        "num_hidden_layers": "encoder_layers",
    },
    "distilbert": {
        "hidden_size": "dim",
        "num_attention_heads": "n_heads",
        "num_hidden_layers": "n_layers",
    },
    **dict.fromkeys(("t5", "mt5", "umt5", "longt5"), _T5_NAMES),
}


@hookimpl
def archcalc_hf_model_types() -> list[HFModelType]:
    return [
        *model_types(ENCODERS, ATTRIBUTE_MAPS, ORDER, auto_class="AutoModel"),
        *model_types(DECODERS, ATTRIBUTE_MAPS, ORDER, auto_class="AutoModelForCausalLM"),
        *model_types(SEQ2SEQ, ATTRIBUTE_MAPS, ORDER, auto_class="AutoModelForSeq2SeqLM"),
    ]
