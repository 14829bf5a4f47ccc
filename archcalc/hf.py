"""Hugging Face ``config.json`` files, read exactly as transformers builds the model.

Most published architectures exist only as a Hugging Face ``config.json``. This module
recognises one (a JSON object with ``model_type``), loads it as carefully as
:mod:`archcalc.yamlsafe` loads specs (regular files only, a size cap, strict UTF-8, no
NaN/Infinity, bounded numbers and nesting, located errors), and translates it into an
archcalc ``family: transformer`` spec that counts exactly what transformers reports:
``AutoModelForCausalLM`` for decoder-only types, ``AutoModel`` for encoders (the BERT
family, pooler included) and ``AutoModelForSeq2SeqLM`` for encoder-decoders.

Absent fields take the default of that model type's config class in transformers (e.g.
``tie_word_embeddings`` is true for gpt2, gemma, starcoder2, opt, falcon and the BERT
family, false for llama, mistral, qwen2...). The sizes every count needs (width, depth,
heads, vocabulary) must be given: a config without them is broken, and guessing would
hide it. Fields a model type ignores are ignored, as transformers ignores them.

One deliberate choice: where transformers releases disagree, the config's own statement
wins. Transformers 5 ties T5's LM head even when the config says
``tie_word_embeddings: false`` (flan-t5, T5 v1.1), while 4.x and the published
checkpoints keep it separate; archcalc follows the config.

The translated spec becomes a :class:`~archcalc.yamlsafe.Document` whose marks point
into the JSON file, so a problem found later (heads not dividing the width) is reported
at the line of ``num_attention_heads``, not in a file the user never wrote.
"""

from __future__ import annotations

import bisect
import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from archcalc.errors import DiagnosticSink, Mark, SpecError, shorten
from archcalc.yamlsafe import MAX_BYTES, MAX_DEPTH, Document, _read_regular_file
from archcalc.yamlsafe import _display_name as _yaml_display_name

__all__ = [
    "SUPPORTED_MODEL_TYPES",
    "HFConfig",
    "Translation",
    "from_yaml_document",
    "is_hf_config_data",
    "load_config",
    "load_document",
    "model_type_of",
    "parse_config",
    "spec_yaml",
    "translate",
]

#: Longest integer literal accepted in a config (digits); real configs use fewer than 15.
MAX_INT_DIGITS = 30
#: The metadata key (ignored by the schema, as every ``x-`` key) naming the source type.
MODEL_TYPE_KEY = "x-hf-model-type"
SOURCE_KEY = "x-hf-source"

Path_ = tuple[str | int, ...]


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class HFConfig:
    """A parsed config: its data and where each top-level key and value starts."""

    file: str
    data: dict[str, Any]
    key_marks: dict[str, Mark]
    value_marks: dict[str, Mark]

    def mark(self, key: str | None) -> Mark:
        """Where ``key``'s value is; the top of the file for an absent key."""
        if key is None:
            return Mark(1, 1)
        return self.value_marks.get(key, Mark(1, 1))


class _Reject(ValueError):
    """A value json.loads must not accept (NaN, Infinity, huge numbers, duplicate keys)."""


def _show(value: Any) -> str:
    """A bounded, printable rendering of a value from the config, for messages.

    JSON strings may hold control characters, bidi overrides or lone surrogates (which
    cannot even be written to stderr); such text is shown escaped, never raw.
    """
    if isinstance(value, str) and value.isascii() and value.isprintable():
        return shorten(value)
    if isinstance(value, str):
        return shorten(json.dumps(value)[1:-1])
    return shorten(json.dumps(value) if isinstance(value, (list, dict, bool)) else value)


def _reject_constant(name: str) -> Any:
    raise _Reject(f"{name} is not a number in JSON (and has no parameter count)")


def _parse_int(text: str) -> int:
    digits = text.lstrip("-")
    if len(digits) > MAX_INT_DIGITS:
        raise _Reject(f"integer with {len(digits)} digits is too large")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Reject(f"number {shorten(text)} is out of range")
    return value


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Reject(f"duplicate key '{_show(key)}'")
        out[key] = value
    return out


def _position(text: str, index: int) -> Mark:
    line = text.count("\n", 0, index) + 1
    start = text.rfind("\n", 0, index) + 1
    return Mark(line, index - start + 1)


def _error(file: str, mark: Mark, message: str) -> SpecError:
    sink = DiagnosticSink(file)
    sink.error(mark, message)
    return SpecError(sink.diagnostics)


def _decode(raw: bytes, file: str) -> str:
    if len(raw) > MAX_BYTES:
        raise _error(file, Mark(1, 1), f"file is larger than {MAX_BYTES} bytes; not a config")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8", "strict")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _error(
            file, Mark(line, column), f"invalid UTF-8 byte 0x{raw[exc.start]:02x}"
        ) from None


def _nesting_problem(text: str) -> int | None:
    """Index where brackets nest deeper than MAX_DEPTH (outside strings), else None."""
    depth = 0
    in_string = escaped = False
    for index, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return index
        elif char in "]}":
            depth -= 1
    return None


def _top_level_marks(text: str) -> tuple[dict[str, Mark], dict[str, Mark]]:
    """Marks of the keys and values of the top-level object of valid JSON ``text``.

    json.loads gives no positions, so this scans the (already validated) text once,
    tracking strings and nesting, and records where each top-level key and value start.
    """
    newlines = [i for i, c in enumerate(text) if c == "\n"]

    def mark(index: int) -> Mark:
        line = bisect.bisect_left(newlines, index)
        start = newlines[line - 1] + 1 if line else 0
        return Mark(line + 1, index - start + 1)

    keys: dict[str, Mark] = {}
    values: dict[str, Mark] = {}
    depth = 0
    expect_key = False
    index, end = 0, len(text)
    while index < end:
        char = text[index]
        if char == '"':
            close = index + 1
            while text[close] != '"':
                close += 2 if text[close] == "\\" else 1
            if depth == 1 and expect_key:
                key = json.loads(text[index : close + 1])
                colon = text.index(":", close + 1)
                value = colon + 1
                while text[value] in " \t\r\n":
                    value += 1
                keys.setdefault(key, mark(index))
                values.setdefault(key, mark(value))
                expect_key = False
            index = close + 1
            continue
        if char in "[{":
            depth += 1
            if depth == 1:
                expect_key = char == "{"
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 1:
            expect_key = True
        index += 1
    return keys, values


def parse_config(raw: bytes, file: str) -> HFConfig:
    """Parse config bytes; every failure is a located :class:`SpecError`."""
    text = _decode(raw, file)
    deep = _nesting_problem(text)
    if deep is not None:
        raise _error(file, _position(text, deep), f"nesting deeper than {MAX_DEPTH} levels")
    try:
        data = json.loads(
            text,
            parse_constant=_reject_constant,
            parse_int=_parse_int,
            parse_float=_parse_float,
            object_pairs_hook=_pairs,
        )
    except json.JSONDecodeError as exc:
        raise _error(file, Mark(exc.lineno, exc.colno), f"invalid JSON: {exc.msg}") from None
    except (_Reject, ValueError, RecursionError) as exc:
        raise _error(file, Mark(1, 1), f"invalid config: {shorten(str(exc), 120)}") from None
    if not isinstance(data, dict):
        raise _error(file, Mark(1, 1), "a Hugging Face config is a JSON object with a 'model_type'")
    keys, values = _top_level_marks(text)
    return HFConfig(file, data, keys, values)


def load_config(path: str | os.PathLike[str], display: str | None = None) -> HFConfig:
    """Read a config file (regular files only, size-capped) and parse it."""
    name = _yaml_display_name(path, display)
    return parse_config(_read_regular_file(path, name), name)


def is_hf_config_data(data: Mapping[str, Any]) -> bool:
    """A mapping is a Hugging Face config when it has a model_type and no archcalc family."""
    return "model_type" in data and "family" not in data


# --------------------------------------------------------------------------- translation


@dataclass
class Translation:
    """An archcalc spec built from a config, and which config key each spec key came from."""

    model_type: str
    spec: dict[str, Any]
    origin: dict[Path_, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class _Reader:
    """Reads config fields with the model type's defaults, reporting located problems."""

    def __init__(self, config: HFConfig, model_type: str, sink: DiagnosticSink) -> None:
        self.config = config
        self.data = config.data
        self.model_type = model_type
        self.sink = sink
        self.spec: dict[str, Any] = {}
        self.origin: dict[Path_, str] = {}

    def present(self, key: str) -> bool:
        return self.data.get(key) is not None

    def _first(self, keys: tuple[str, ...]) -> str | None:
        return next((k for k in keys if self.present(k)), None)

    def size(self, *keys: str, default: Any = None, minimum: int = 1) -> int | None:
        """An integer field (first of ``keys`` present); missing and no default: an error."""
        key = self._first(keys)
        if key is None:
            if default is None:
                self.sink.error(
                    Mark(1, 1),
                    f"{self.model_type} config has no '{keys[0]}', which the parameter count "
                    "needs"
                    + (f" (nor {', '.join(repr(k) for k in keys[1:])})" if keys[1:] else ""),
                )
            return default
        value = self.data[key]
        for other in keys:
            if other != key and self.present(other) and self.data[other] != value:
                self.sink.error(
                    self.config.mark(other),
                    f"'{other}' ({_show(self.data[other])}) contradicts '{key}' "
                    f"({_show(value)}); transformers reads them as one field",
                )
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.sink.error(
                self.config.mark(key),
                f"'{key}' must be an integer ≥ {minimum}, got {_show(value)}",
            )
            return None
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.sink.error(
                self.config.mark(key), f"'{key}' must be true or false, got {_show(value)}"
            )
            return default
        return value

    def text(self, key: str, default: str) -> str:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, str):
            self.sink.error(self.config.mark(key), f"'{key}' must be a string")
            return default
        return value

    def set(self, spec_key: str, value: Any, *source: str) -> None:
        """Put ``value`` at ``spec_key`` (dotted for groups), remembering its config key."""
        if value is None:
            return
        path = tuple(spec_key.split("."))
        target = self.spec
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = value
        key = self._first(source) if source else None
        if key is not None:
            self.origin[path] = key

    def unsupported(self, key: str, why: str) -> None:
        self.sink.error(self.config.mark(key), f"{self.model_type}: {why} is not supported yet")


def _tie(r: _Reader, default: bool) -> None:
    r.set("tie_embeddings", r.flag("tie_word_embeddings", default), "tie_word_embeddings")


def _core(r: _Reader, layers: tuple[str, ...], width: tuple[str, ...], heads: tuple[str, ...]):
    r.set("n_layers", r.size(*layers), *layers)
    d_model = r.size(*width)
    r.set("d_model", d_model, *width)
    n_heads = r.size(*heads)
    r.set("n_heads", n_heads, *heads)
    r.set("vocab_size", r.size("vocab_size"), "vocab_size")
    return d_model, n_heads


def _head_dim(r: _Reader, d_model: int | None, n_heads: int | None, default: int = 0) -> None:
    """A head_dim (given, or the config class's fixed default) unlike width/heads is d_head."""
    head_dim = r.size("head_dim", default=0, minimum=0) if r.present("head_dim") else default
    if head_dim and (d_model is None or n_heads is None or head_dim * n_heads != d_model):
        r.set("d_head", head_dim, "head_dim")


def _kv_heads(r: _Reader, *keys: str) -> None:
    if r._first(keys) is not None:
        r.set("n_kv_heads", r.size(*keys), *keys)


def _llama_like(
    r: _Reader,
    *,
    mlp: str = "swiglu",
    norm: str = "rmsnorm",
    tie: bool = False,
    bias_key: str | None = None,
    bias_default: bool = False,
    mlp_bias: bool | None = False,
    qkv_bias: bool | None = None,
    head_dim: int = 0,
) -> None:
    """The Llama layout most decoder-only types share: RoPE, gated MLP, RMSNorm.

    ``head_dim`` is the config class's fixed default (Gemma 256, Qwen3 128; 0: derived).
    ``bias_key`` names the config flag for the attention biases (absent: the modeling
    code hard-codes ``bias_default``); ``mlp_bias`` None means the MLP follows it.
    """
    r.set("architecture", "decoder")
    d_model, n_heads = _core(r, ("num_hidden_layers",), ("hidden_size",), ("num_attention_heads",))
    _kv_heads(r, "num_key_value_heads")
    _head_dim(r, d_model, n_heads, head_dim)
    r.set("d_ff", r.size("intermediate_size"), "intermediate_size")
    r.set("positional", "rope")
    r.set("mlp", mlp)
    r.set("norm", norm)
    bias = r.flag(bias_key, bias_default) if bias_key else bias_default
    r.set("bias", bias, *(bias_key,) if bias_key else ())
    mlp_b = bias if mlp_bias is None else mlp_bias
    if mlp_b != bias:
        r.set("mlp_bias", mlp_b, "mlp_bias")
    if qkv_bias is not None and qkv_bias != bias:
        r.set("qkv_bias", qkv_bias, "qkv_bias")
    _tie(r, tie)


def _llama(r: _Reader) -> None:
    _llama_like(r, bias_key="attention_bias", mlp_bias=r.flag("mlp_bias", False))


def _mistral(r: _Reader) -> None:
    _llama_like(r)


def _mixtral(r: _Reader) -> None:
    _llama_like(r)
    experts = r.size("num_local_experts", default=8)
    r.set("moe.n_experts", experts, "num_local_experts")
    r.set("moe.top_k", r.size("num_experts_per_tok", default=2), "num_experts_per_tok")


def _qwen2(r: _Reader) -> None:
    # Qwen2Attention hard-codes bias=True on q, k, v and bias=False on o.
    _llama_like(r, qkv_bias=True)


def _qwen3(r: _Reader) -> None:
    _llama_like(r, bias_key="attention_bias", head_dim=128)
    r.set("qk_norm", True)


def _qwen2_moe(r: _Reader) -> None:
    _llama_like(r, qkv_bias=r.flag("qkv_bias", True))
    if r.size("decoder_sparse_step", default=1) != 1:
        r.unsupported("decoder_sparse_step", "decoder_sparse_step other than 1")
    if r.data.get("mlp_only_layers"):
        r.unsupported("mlp_only_layers", "dense mlp_only_layers")
    r.set("moe.n_experts", r.size("num_experts", default=60), "num_experts")
    r.set("moe.top_k", r.size("num_experts_per_tok", default=4), "num_experts_per_tok")
    r.set("moe.d_ff_expert", r.size("moe_intermediate_size", default=1408), "moe_intermediate_size")
    shared = r.size("shared_expert_intermediate_size", default=5632, minimum=0)
    if shared:
        r.set("moe.n_shared_experts", 1)
        r.set("moe.d_ff_shared", shared, "shared_expert_intermediate_size")
        r.set("moe.shared_expert_gate", True)


def _gemma(r: _Reader) -> None:
    _llama_like(r, mlp="geglu", tie=True, bias_key="attention_bias", head_dim=256)


def _gemma2(r: _Reader) -> None:
    _llama_like(r, mlp="geglu", tie=True, bias_key="attention_bias", head_dim=256)
    r.set("post_norms", True)


def _phi3(r: _Reader) -> None:
    _llama_like(r)


def _olmo(r: _Reader) -> None:
    _llama_like(r, norm="nonparametric", bias_key="attention_bias")


def _starcoder2(r: _Reader) -> None:
    _llama_like(
        r,
        mlp="gelu",
        norm="layernorm",
        tie=True,
        bias_key="use_bias",
        bias_default=True,
        mlp_bias=None,
    )


def _deepseek_v3(r: _Reader) -> None:
    r.set("architecture", "decoder")
    _core(r, ("num_hidden_layers",), ("hidden_size",), ("num_attention_heads",))
    r.set("d_ff", r.size("intermediate_size"), "intermediate_size")
    r.set("positional", "rope")
    r.set("mlp", "swiglu")
    r.set("norm", "rmsnorm")
    bias = r.flag("attention_bias", False)
    r.set("bias", bias, "attention_bias")
    if bias:
        r.set("mlp_bias", False)
    # q_lora_rank: null in a config means a full-rank query projection.
    explicit_none = "q_lora_rank" in r.data and r.data["q_lora_rank"] is None
    q_rank = 0 if explicit_none else r.size("q_lora_rank", default=1536)
    r.set("mla.q_lora_rank", q_rank, "q_lora_rank")
    r.set("mla.kv_lora_rank", r.size("kv_lora_rank", default=512), "kv_lora_rank")
    r.set("mla.qk_rope_head_dim", r.size("qk_rope_head_dim", default=64), "qk_rope_head_dim")
    r.set("mla.qk_nope_head_dim", r.size("qk_nope_head_dim", default=128), "qk_nope_head_dim")
    r.set("mla.v_head_dim", r.size("v_head_dim", default=128), "v_head_dim")
    experts = r.size("n_routed_experts", default=256)
    if experts:
        r.set("moe.n_experts", experts, "n_routed_experts")
        r.set("moe.top_k", r.size("num_experts_per_tok", default=8), "num_experts_per_tok")
        r.set(
            "moe.d_ff_expert",
            r.size("moe_intermediate_size", default=2048),
            "moe_intermediate_size",
        )
        shared = r.size("n_shared_experts", default=1, minimum=0)
        r.set("moe.n_shared_experts", shared, "n_shared_experts")
        dense = r.size("first_k_dense_replace", default=3, minimum=0)
        if dense:
            r.set("moe.first_dense_layers", dense, "first_k_dense_replace")
    _tie(r, False)


#: The MLP width GPT-2, GPT-J and Falcon use when the config leaves it out.
FOUR_D = "4 * d_model"


def _gpt2(r: _Reader) -> None:
    r.set("architecture", "decoder")
    _core(r, ("n_layer", "num_hidden_layers"), ("n_embd", "hidden_size"), ("n_head",))
    # n_inner: null means 4 × width; kept as an expression so formulas show 4·d_model.
    r.set("d_ff", r.size("n_inner") if r.present("n_inner") else FOUR_D, "n_inner", "n_embd")
    r.set("max_seq_len", r.size("n_positions", default=1024), "n_positions")
    r.set("positional", "learned")
    r.set("mlp", "gelu")
    r.set("norm", "layernorm")
    r.set("bias", True)
    _tie(r, True)


def _gpt_neox(r: _Reader) -> None:
    r.set("architecture", "decoder")
    _core(r, ("num_hidden_layers",), ("hidden_size",), ("num_attention_heads",))
    r.set("d_ff", r.size("intermediate_size"), "intermediate_size")
    r.set("positional", "rope")
    r.set("mlp", "gelu")
    r.set("norm", "layernorm")
    bias = r.flag("attention_bias", True)
    r.set("bias", bias, "attention_bias")
    if not bias:
        r.set("mlp_bias", True)  # GPTNeoXMLP always has biases
    _tie(r, False)


def _gptj(r: _Reader) -> None:
    r.set("architecture", "decoder")
    _core(r, ("n_layer",), ("n_embd",), ("n_head",))
    # n_inner: null means 4 × width; kept as an expression so formulas show 4·d_model.
    r.set("d_ff", r.size("n_inner") if r.present("n_inner") else FOUR_D, "n_inner", "n_embd")
    r.set("positional", "rope")
    r.set("mlp", "gelu")
    r.set("norm", "layernorm")
    r.set("bias", True)
    r.set("qkv_bias", False)
    r.set("o_bias", False)
    r.set("lm_head_bias", True)
    r.set("parallel_block", True)
    _tie(r, False)


def _falcon(r: _Reader) -> None:
    r.set("architecture", "decoder")
    d_model, n_heads = _core(
        r, ("num_hidden_layers", "n_layer"), ("hidden_size",), ("num_attention_heads", "n_head")
    )
    new_arch = r.flag("new_decoder_architecture", False)
    if new_arch:
        _kv_heads(r, "num_kv_heads")
    elif r.flag("multi_query", True):
        r.set("n_kv_heads", 1, "multi_query")
    _head_dim(r, d_model, n_heads)
    ffn = r.size("ffn_hidden_size") if r.present("ffn_hidden_size") else None
    r.set("d_ff", ffn or FOUR_D, "ffn_hidden_size", "hidden_size")
    r.set("positional", "alibi" if r.flag("alibi", False) else "rope")
    r.set("mlp", "gelu")
    r.set("norm", "layernorm")
    r.set("bias", r.flag("bias", False), "bias")
    if r.flag("parallel_attn", True):
        n_ln = r.size("num_ln_in_parallel_attn") if r.present("num_ln_in_parallel_attn") else None
        if (n_ln or (2 if new_arch else 1)) == 1:
            r.set("parallel_block", True, "parallel_attn")
    _tie(r, True)


def _opt(r: _Reader) -> None:
    r.set("architecture", "decoder")
    d_model, _ = _core(r, ("num_hidden_layers",), ("hidden_size",), ("num_attention_heads",))
    proj = r.size("word_embed_proj_dim", default=d_model or 1)
    if d_model is not None and proj != d_model:
        r.unsupported("word_embed_proj_dim", "word_embed_proj_dim different from hidden_size")
    if not r.flag("do_layer_norm_before", True):
        r.unsupported("do_layer_norm_before", "do_layer_norm_before: false (post-norm OPT-350m)")
    r.set("d_ff", r.size("ffn_dim"), "ffn_dim")
    r.set("max_seq_len", r.size("max_position_embeddings", default=2048), "max_position_embeddings")
    r.set("position_offset", 2)
    r.set("positional", "learned")
    r.set("mlp", "relu")
    affine = r.flag("layer_norm_elementwise_affine", True)
    r.set("norm", "layernorm" if affine else "nonparametric", "layer_norm_elementwise_affine")
    r.set("bias", r.flag("enable_bias", True), "enable_bias")
    _tie(r, True)


def _encoder(r: _Reader, *, types: int) -> None:
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


def _bert(r: _Reader) -> None:
    if r.text("position_embedding_type", "absolute") != "absolute":
        r.unsupported("position_embedding_type", "relative position embeddings")
    _core(r, ("num_hidden_layers",), ("hidden_size",), ("num_attention_heads",))
    r.set("d_ff", r.size("intermediate_size"), "intermediate_size")
    _encoder(r, types=r.size("type_vocab_size", default=2, minimum=0) or 0)
    r.set("pooler", True)


def _distilbert(r: _Reader) -> None:
    _core(r, ("n_layers",), ("dim",), ("n_heads",))
    r.set("d_ff", r.size("hidden_dim"), "hidden_dim")
    _encoder(r, types=0)


def _albert(r: _Reader) -> None:
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


def _t5_mlp(r: _Reader) -> str:
    """T5's MLP from feed_forward_proj ('relu', 'gated-gelu'...).

    Transformers 5 lets an explicit ``is_gated_act`` override what feed_forward_proj
    implies; gated kinds have three matrices whatever the activation, so any gated one
    counts as geglu (swiglu for silu).
    """
    proj = r.text("feed_forward_proj", "relu")
    parts = proj.split("-")
    if len(parts) > 2 or (len(parts) == 2 and parts[0] != "gated") or not parts[-1]:
        r.unsupported("feed_forward_proj", f"feed_forward_proj '{_show(proj)}'")
    gated = r.flag("is_gated_act", parts[0] == "gated" and len(parts) == 2)
    act = parts[-1]
    if gated:
        return "swiglu" if act == "silu" else "geglu"
    return act if act in ("relu", "silu") else "gelu"


def _t5(r: _Reader) -> None:
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


def _bart(r: _Reader) -> None:
    r.set("architecture", "encoder-decoder")
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


Translator = Callable[[_Reader], None]

#: model_type -> translator; every default inside was checked against the config class
#: and modeling code of transformers 5.
TRANSLATORS: dict[str, Translator] = {
    "gpt2": _gpt2,
    "gpt_neox": _gpt_neox,
    "gptj": _gptj,
    "llama": _llama,
    "mistral": _mistral,
    "mixtral": _mixtral,
    "qwen2": _qwen2,
    "qwen2_moe": _qwen2_moe,
    "qwen3": _qwen3,
    "gemma": _gemma,
    "gemma2": _gemma2,
    "phi3": _phi3,
    "falcon": _falcon,
    "opt": _opt,
    "olmo": _olmo,
    "starcoder2": _starcoder2,
    "deepseek_v3": _deepseek_v3,
    "bert": _bert,
    "roberta": _bert,
    "distilbert": _distilbert,
    "albert": _albert,
    "t5": _t5,
    "bart": _bart,
}
SUPPORTED_MODEL_TYPES = tuple(sorted(TRANSLATORS))


def translate(config: HFConfig) -> Translation:
    """Translate a parsed config into a transformer spec; problems are a located SpecError."""
    sink = DiagnosticSink(config.file)
    model_type = config.data.get("model_type")
    if not isinstance(model_type, str):
        sink.error(
            config.mark("model_type" if "model_type" in config.data else None),
            "a Hugging Face config needs a string 'model_type' (supported: "
            + ", ".join(SUPPORTED_MODEL_TYPES)
            + ")",
        )
        sink.raise_if_errors()
    translator = TRANSLATORS.get(model_type)
    if translator is None:
        from archcalc.spec import did_you_mean

        sink.error(
            config.mark("model_type"),
            f"unsupported model_type '{_show(model_type)}' (supported: "
            + ", ".join(SUPPORTED_MODEL_TYPES)
            + ")"
            + did_you_mean(model_type, SUPPORTED_MODEL_TYPES),
        )
        sink.raise_if_errors()
    reader = _Reader(config, model_type, sink)
    reader.origin[("architecture",)] = "model_type"
    translator(reader)  # type: ignore[misc]
    sink.raise_if_errors()
    return Translation(model_type, _ordered(reader.spec), reader.origin)


#: Key order of an imported spec: the pinned keys first, as in the README.
ORDER = [
    "architecture",
    "n_layers",
    "n_decoder_layers",
    "d_model",
    "n_heads",
    "n_kv_heads",
    "d_head",
    "d_ff",
    "d_embed",
    "vocab_size",
    "type_vocab_size",
    "max_seq_len",
    "position_offset",
    "positional",
    "mlp",
    "norm",
    "bias",
    "qkv_bias",
    "o_bias",
    "mlp_bias",
    "lm_head_bias",
    "tie_embeddings",
    "parallel_block",
    "post_norms",
    "qk_norm",
    "embedding_norm",
    "final_norm",
    "relative_attention_buckets",
    "n_unique_layers",
    "pooler",
    "moe",
    "mla",
]


def _ordered(spec: dict[str, Any]) -> dict[str, Any]:
    rank = {k: i for i, k in enumerate(ORDER)}
    return dict(sorted(spec.items(), key=lambda kv: rank.get(kv[0], len(rank))))


def to_document(config: HFConfig, translation: Translation) -> Document:
    """The translated spec as a Document whose marks point into the JSON file."""
    data: dict[str, Any] = {
        "name": Path(config.file).stem or "config",
        "family": "transformer",
        MODEL_TYPE_KEY: translation.model_type,
        **translation.spec,
    }
    marks: dict[Path_, Mark] = {(): Mark(1, 1), ("family",): config.mark("model_type")}
    key_marks: dict[Path_, Mark] = {}

    def walk(value: Any, path: Path_) -> None:
        source = translation.origin.get(path)
        if source is not None:
            marks[path] = config.mark(source)
            key_marks[path] = config.key_marks.get(source, config.mark(source))
        if isinstance(value, dict):
            for key, child in value.items():
                walk(child, (*path, key))

    walk(translation.spec, ())
    return Document(config.file, data, marks, key_marks)


def load_document(path: str | os.PathLike[str], display: str | None = None) -> Document:
    """Load a config file as a spec Document (for :func:`archcalc.api.load_spec`).

    A JSON file holding an archcalc spec (a ``family`` and no ``model_type``) is a spec:
    JSON is YAML, so it goes through the spec loader like any other.
    """
    config = load_config(path, display)
    if "family" in config.data and "model_type" not in config.data:
        from archcalc.yamlsafe import load_path

        return load_path(path, display)
    return to_document(config, translate(config))


def from_yaml_document(doc: Document) -> Document:
    """A config that arrived as YAML (a mapping with ``model_type``), marks and all."""
    key_marks = {str(p[0]): m for p, m in doc.key_marks.items() if len(p) == 1}
    value_marks = {str(p[0]): m for p, m in doc.marks.items() if len(p) == 1}
    config = HFConfig(doc.file, dict(doc.data), key_marks, value_marks)
    return to_document(config, translate(config))


def model_type_of(doc: Document) -> str | None:
    """The Hugging Face model_type a Document was translated from, if it was."""
    value = doc.data.get(MODEL_TYPE_KEY)
    return value if isinstance(value, str) else None


def spec_yaml(config: HFConfig, translation: Translation, schema_ref: str) -> str:
    """The spec as YAML text, with the schema modeline and a comment naming the source."""
    body = {
        "name": Path(config.file).stem or "config",
        "family": "transformer",
        MODEL_TYPE_KEY: translation.model_type,
        **translation.spec,
    }
    header = (
        f"# yaml-language-server: $schema={schema_ref}\n"
        f"# Imported by `archcalc import-hf` from {config.file}\n"
        f"# (Hugging Face model_type '{translation.model_type}'): counts what transformers "
        "builds for that config.\n"
    )
    return header + yaml.safe_dump(body, sort_keys=False, allow_unicode=False)
