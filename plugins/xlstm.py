"""``family: xlstm`` — xLSTM (mLSTM) language models, counted as transformers' ``xLSTMForCausalLM``.

An xLSTM block is a pre-norm mLSTM layer (matrix-memory LSTM: q, k, v and output-gate
projections, per-head input and forget gates, a per-head norm, an output projection)
followed by a pre-norm gated feed-forward, so it is a family of its own rather than a
mixer of the transformer's. The model is described once, as the list of its parameter
tensors under transformers' state-dict names (``weight_mode: single``), and ``count``
(one block counted and multiplied by ``n_layers``), ``formula`` and ``tensors`` follow:

* ``backbone.embeddings`` (``vocab_size × d_embed``);
* per block the RMSNorms ``norm_mlstm`` and ``norm_ffn`` (``d_model``, biased with
  ``bias``); the mLSTM layer ``mlstm_layer.*``: ``q`` and ``k`` (``d_model → d_qk``),
  ``v`` and ``ogate_preact`` (``d_model → d_v``), ``igate_preact`` and ``fgate_preact``
  (``d_model → mlstm_heads``, always biased), ``multihead_norm``
  (``mlstm_heads · ⌊d_v / mlstm_heads⌋`` wide) and ``out_proj`` (``d_v → d_model``); the
  feed-forward ``ffn.*``: ``proj_up_gate`` and ``proj_up`` (``d_model → d_up``) and
  ``proj_down`` (``d_up → d_model``); every projection but the gates biased only with
  ``bias``;
* the final RMSNorm ``backbone.out_norm`` (weight only) and the LM head ``lm_head``.

``weight_mode: fused`` stores the same parameters in fewer tensors (``qkv_opreact``,
``ifgate_preact``, ``proj_up_gate_z``); the count is the same and ``archcalc tensors``
lists the fused names. Every formula is plain arithmetic, so it counts with ints and
prints with sympy symbols. Hugging Face configs (``model_type: xlstm``) are read through
the ``archcalc_hf_model_types`` hook, with the widths transformers derives from its
factors (``d_qk = int(hidden_size · qk_dim_factor)``, ``d_up`` = hidden_size ·
ffn_proj_factor rounded up to ffn_round_up_to_multiple_of), as transformers' own mLSTM
code builds them (not the optional ``xlstm`` package's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archcalc import Breakdown, Family, Field, Part, hookimpl
from archcalc.family import numel
from archcalc.hf_types import HFModelType
from archcalc.spec import Resolved

if TYPE_CHECKING:  # archcalc.hf itself only when a config is read (a YAML count skips it)
    from archcalc.hf import ConfigReader


def show(value: Any) -> str:
    """:func:`archcalc.hf.show`, imported when a message needs it."""
    from archcalc.hf import show as shown

    return shown(value)


#: Blocks ``archcalc tensors`` lists one by one (at most 24 tensors each).
MAX_LISTED_BLOCKS = 50_000

FIELDS = (
    Field("n_layers", "size", "xLSTM blocks (num_blocks, num_hidden_layers)."),
    Field("d_model", "size", "Width of the residual stream (hidden_size)."),
    Field("vocab_size", "size", "Number of token embeddings."),
    Field("mlstm_heads", "size", "mLSTM heads (num_heads)."),
    Field("d_embed", "size", "Width of the token embeddings (embedding_dim).", default="d_model"),
    Field("d_qk", "size", "Width of the query and key projections.", default="d_model / 2"),
    Field("d_v", "size", "Width of the value and output-gate projections.", default="d_model"),
    Field("d_up", "size", "Hidden width of the gated feed-forward (up_proj_dim)."),
    Field(
        "bias",
        "bool",
        "Biases on the projections and norms (use_bias); the gates always have one.",
        default=False,
    ),
    Field(
        "fused",
        "bool",
        "Projections stored fused (weight_mode: fused); same parameters, fewer tensors.",
        default=False,
    ),
)

Tensors = list[tuple[str, tuple[Any, ...]]]


def _linear(name: str, d_in: Any, d_out: Any, bias: bool) -> Tensors:
    weight = [(f"{name}.weight", (d_out, d_in))]
    return weight + ([(f"{name}.bias", (d_out,))] if bias else [])


def _norm(name: str, d: Any, bias: bool) -> Tensors:
    return [(f"{name}.weight", (d,))] + ([(f"{name}.bias", (d,))] if bias else [])


def block(spec: Resolved, i: int | str) -> Tensors:
    """Block ``i`` (xLSTMBlock: norm_mlstm, mlstm_layer, norm_ffn, ffn)."""
    v = spec.values
    d, b, p = v.d_model, v.bias, f"backbone.blocks.{i}"
    layer = f"{p}.mlstm_layer"
    if v.fused:
        mlstm = _linear(f"{layer}.qkv_opreact", d, 2 * v.d_qk + 2 * v.d_v, b)
        mlstm += _linear(f"{layer}.ifgate_preact", d, 2 * v.mlstm_heads, True)
    else:
        mlstm = _linear(f"{layer}.q", d, v.d_qk, b) + _linear(f"{layer}.k", d, v.d_qk, b)
        mlstm += _linear(f"{layer}.v", d, v.d_v, b)
        mlstm += _linear(f"{layer}.ogate_preact", d, v.d_v, b)
        mlstm += _linear(f"{layer}.igate_preact", d, v.mlstm_heads, True)
        mlstm += _linear(f"{layer}.fgate_preact", d, v.mlstm_heads, True)
    mlstm += _norm(f"{layer}.multihead_norm", v.mlstm_heads * (v.d_v // v.mlstm_heads), b)
    mlstm += _linear(f"{layer}.out_proj", v.d_v, d, b)
    if v.fused:
        ffn = _linear(f"{p}.ffn.proj_up_gate_z", d, 2 * v.d_up, b)
    else:
        ffn = _linear(f"{p}.ffn.proj_up_gate", d, v.d_up, b)
        ffn += _linear(f"{p}.ffn.proj_up", d, v.d_up, b)
    ffn += _linear(f"{p}.ffn.proj_down", v.d_up, d, b)
    return _norm(f"{p}.norm_mlstm", d, b) + mlstm + _norm(f"{p}.norm_ffn", d, b) + ffn


def _total(tensors: Tensors) -> Any:
    result: Any = 0
    for _, shape in tensors:
        result = result + numel(shape)
    return result


def count(spec: Resolved) -> Breakdown:
    """The tensors summed by component; one block counted, times ``n_layers``."""
    v = spec.values
    per_block = _total(block(spec, 0))
    return Breakdown(
        (
            Part("embeddings", v.vocab_size * v.d_embed),
            Part("blocks", v.n_layers * per_block, per_layer=per_block, layers=v.n_layers),
            Part("final norm", v.d_model),
            Part("lm head", v.vocab_size * v.d_model),
        )
    )


def tensors(spec: Resolved) -> list[Any]:
    """Every tensor under xLSTMForCausalLM's state-dict names, block by block."""
    from archcalc.errors import SpecError
    from archcalc.tensors import Tensor

    v = spec.values
    n_layers = int(spec.exact("n_layers"))
    if n_layers > MAX_LISTED_BLOCKS:
        spec.error(
            "n_layers",
            f"listing every tensor of {n_layers:,} blocks is too much (limit "
            f"{MAX_LISTED_BLOCKS:,}); count and formula still work (they multiply)",
        )
        raise SpecError(spec.sink.diagnostics[-1:])
    listed: Tensors = [("backbone.embeddings.weight", (v.vocab_size, v.d_embed))]
    for i in range(n_layers):
        listed += block(spec, i)
    listed += [("backbone.out_norm.weight", (v.d_model,))]
    listed += _linear("lm_head", v.d_model, v.vocab_size, False)
    return [Tensor(name, shape) for name, shape in listed]


def check(spec: Resolved) -> None:
    """transformers builds any widths, but the mLSTM cell splits q, k and v into heads: a
    width the heads do not divide builds a model whose forward pass fails."""
    v = spec.values
    for key in ("d_qk", "d_v"):
        width = getattr(v, key)
        if width % v.mlstm_heads:
            spec.warning(
                key,
                f"mlstm_heads ({v.mlstm_heads}) does not divide {key} ({width}): transformers "
                "builds this model, but its forward pass cannot split the heads",
            )


EXAMPLE = """\
name: xlstm-7b
family: xlstm
n_layers: 32
d_model: 4096
vocab_size: 50304
mlstm_heads: 8
d_up: 10944
"""

FAMILY = Family(
    name="xlstm",
    description="xLSTM (mLSTM blocks) language models, as transformers' xLSTMForCausalLM.",
    fields=FIELDS,
    count=count,
    check=check,
    example=EXAMPLE,
    tensors=tensors,
)


@hookimpl
def archcalc_families() -> list[Family]:
    return [FAMILY]


def _factor(r: ConfigReader, key: str, default: float) -> float | None:
    """A positive width factor (qk_dim_factor...), else a located error."""
    value = r.value(key)
    if value is None and key not in r.data:
        r.defaults.setdefault(key, default)
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1e6:
        r.error(key, f"'{key}' must be a positive number, got {show(value)}")
        return None
    return float(value)


def _width(r: ConfigReader, value: float, what: str, key: str) -> int | None:
    """A derived width as transformers computes it (int() of a float); ≥ 1 or an error."""
    if int(value) < 1:
        r.error(key, f"the derived {what} ({show(value)}) is not a positive width")
        return None
    return int(value)


def _either(r: ConfigReader, key: str, other: str) -> tuple[Any, str]:
    """``key``, else ``other`` (xLSTMConfig's __post_init__ fills each from the other)."""
    if r.present(key) or not r.present(other):
        return r.size(key, nullable=True), key
    return r.size(other), other


def translate(r: ConfigReader) -> None:
    """``xLSTMConfig`` → ``family: xlstm``. hidden_size and embedding_dim stand in for each
    other when one is absent (the embeddings are embedding_dim wide, the blocks
    hidden_size), as num_hidden_layers and num_blocks do (the blocks built are
    num_blocks); add_out_norm, the kernels and the soft caps shape nothing."""
    hidden, hidden_key = _either(r, "hidden_size", "embedding_dim")
    embed, _ = _either(r, "embedding_dim", "hidden_size")
    layers, layers_key = _either(r, "num_blocks", "num_hidden_layers")
    r.set("n_layers", layers, layers_key)
    r.set("d_model", hidden, hidden_key)
    if embed != hidden:
        r.set("d_embed", embed, "embedding_dim")
    r.set("vocab_size", r.size("vocab_size"), "vocab_size")
    r.set("mlstm_heads", r.size("num_heads", default=8), "num_heads")
    r.set("bias", r.flag("use_bias", False), "use_bias")
    mode = r.text("weight_mode", "single")
    if mode not in ("single", "fused"):
        r.error("weight_mode", f"'weight_mode' must be 'single' or 'fused', got {show(mode)}")
    r.set("fused", mode == "fused", "weight_mode")
    qk = _factor(r, "qk_dim_factor", 0.5)
    v = _factor(r, "v_dim_factor", 1.0)
    ffn = _factor(r, "ffn_proj_factor", 2.667)
    multiple = r.size("ffn_round_up_to_multiple_of", default=64)
    if not isinstance(hidden, int):
        return
    if qk is not None:
        r.set("d_qk", _width(r, hidden * qk, "query/key width", "qk_dim_factor"), "qk_dim_factor")
    if v is not None:
        r.set("d_v", _width(r, hidden * v, "value width", "v_dim_factor"), "v_dim_factor")
    if ffn is not None and isinstance(multiple, int):
        # configuration_xlstm.round_up_to_next_multiple_of, on the float product
        up = ((hidden * ffn + multiple - 1) // multiple) * multiple
        r.set(
            "d_up",
            _width(r, up, "feed-forward width", "ffn_proj_factor"),
            "ffn_proj_factor",
            "ffn_round_up_to_multiple_of",
        )


@hookimpl
def archcalc_hf_model_types() -> list[HFModelType]:
    return [
        HFModelType(
            "xlstm",
            family="xlstm",
            translate=translate,
            description="xLSTM (xLSTMForCausalLM)",
        )
    ]
