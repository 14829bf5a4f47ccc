"""``family: rwkv`` — RWKV-4 language models, counted as transformers' ``RwkvForCausalLM``.

RWKV has no attention and no MLP in the transformer sense: each block mixes time (a
linear-attention recurrence with learned decay) and channels, so it is a family of its
own rather than a mixer of the transformer's. The model is described once, as the list
of its parameter tensors under transformers' state-dict names, and ``count`` (one block
counted and multiplied by ``n_layers``), ``formula`` and ``tensors`` all follow from it:

* ``rwkv.embeddings`` (``vocab_size × d_model``) and, in block 0 only, a LayerNorm
  ``pre_ln`` on the embeddings;
* per block two LayerNorms (``ln1``, ``ln2``, with biases), the time mixing
  (``attention.*``: ``time_decay`` and ``time_first`` over ``d_attention`` channels, three
  ``time_mix_*`` vectors over ``d_model``, bias-free ``key``, ``value``, ``receptance``
  (``d_model → d_attention``) and ``output`` (``d_attention → d_model``)) and the channel
  mixing (``feed_forward.*``: two ``time_mix_*`` vectors, ``key`` (``d_model → d_ff``),
  ``receptance`` (``d_model → d_model``), ``value`` (``d_ff → d_model``));
* the final LayerNorm ``rwkv.ln_out`` and the LM head ``head`` unless it is tied.

Every formula is plain arithmetic, so it counts with ints and prints with sympy symbols.
Hugging Face configs (``model_type: rwkv``) are read through the
``archcalc_hf_model_types`` hook; the translator was checked with
``reference/hf_coverage.py`` (default config and every key changed one at a time).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archcalc import Breakdown, Family, Field, Part, hookimpl
from archcalc.family import numel
from archcalc.hf_types import HFModelType
from archcalc.spec import Resolved

if TYPE_CHECKING:  # archcalc.hf itself only when a config is read (a YAML count skips it)
    from archcalc.hf import ConfigReader

#: Blocks ``archcalc tensors`` lists one by one (17 tensors each).
MAX_LISTED_BLOCKS = 50_000

FIELDS = (
    Field("n_layers", "size", "RWKV blocks (num_hidden_layers)."),
    Field("d_model", "size", "Width of the residual stream (hidden_size)."),
    Field("vocab_size", "size", "Number of token embeddings."),
    Field(
        "d_attention",
        "size",
        "Channels of the time mixing: key, value and receptance width (attention_hidden_size).",
        default="d_model",
    ),
    Field(
        "d_ff",
        "size",
        "Hidden width of the channel mixing (intermediate_size).",
        default="4 * d_model",
    ),
    Field(
        "tie_embeddings",
        "bool",
        "Whether the LM head shares the token embedding matrix (tie_word_embeddings).",
        default=False,
    ),
)

Tensors = list[tuple[str, tuple[Any, ...]]]


def _norm(name: str, d: Any) -> Tensors:
    return [(f"{name}.weight", (d,)), (f"{name}.bias", (d,))]


def _linear(name: str, d_in: Any, d_out: Any) -> Tensors:
    return [(f"{name}.weight", (d_out, d_in))]


def _mix(name: str, d: Any, *which: str) -> Tensors:
    return [(f"{name}.time_mix_{w}", (1, 1, d)) for w in which]


def block(spec: Resolved, i: int | str) -> Tensors:
    """Block ``i`` without block 0's ``pre_ln`` (RwkvBlock: ln1, attention, ln2, feed_forward)."""
    v = spec.values
    d, a, p = v.d_model, v.d_attention, f"rwkv.blocks.{i}"
    attention = [(f"{p}.attention.time_decay", (a,)), (f"{p}.attention.time_first", (a,))]
    attention += _mix(f"{p}.attention", d, "key", "value", "receptance")
    for name in ("key", "value", "receptance"):
        attention += _linear(f"{p}.attention.{name}", d, a)
    attention += _linear(f"{p}.attention.output", a, d)
    channels = _mix(f"{p}.feed_forward", d, "key", "receptance")
    channels += _linear(f"{p}.feed_forward.key", d, v.d_ff)
    channels += _linear(f"{p}.feed_forward.receptance", d, d)
    channels += _linear(f"{p}.feed_forward.value", v.d_ff, d)
    return _norm(f"{p}.ln1", d) + _norm(f"{p}.ln2", d) + attention + channels


def _total(tensors: Tensors) -> Any:
    result: Any = 0
    for _, shape in tensors:
        result = result + numel(shape)
    return result


def _head(spec: Resolved) -> Tensors:
    v = spec.values
    return [] if v.tie_embeddings else _linear("head", v.d_model, v.vocab_size)


def count(spec: Resolved) -> Breakdown:
    """The tensors summed by component; one block counted, times ``n_layers``."""
    v = spec.values
    per_block = _total(block(spec, 0))
    parts = [
        Part("embeddings", v.vocab_size * v.d_model),
        Part("embedding norm", _total(_norm("pre_ln", v.d_model))),
        Part("blocks", v.n_layers * per_block, per_layer=per_block, layers=v.n_layers),
        Part("final norm", _total(_norm("ln_out", v.d_model))),
    ]
    if not v.tie_embeddings:
        parts.append(Part("lm head", _total(_head(spec))))
    return Breakdown(tuple(parts))


def tensors(spec: Resolved) -> list[Any]:
    """Every tensor under RwkvForCausalLM's state-dict names, block by block."""
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
    listed: Tensors = [("rwkv.embeddings.weight", (v.vocab_size, v.d_model))]
    for i in range(n_layers):
        pre_ln = _norm("rwkv.blocks.0.pre_ln", v.d_model) if i == 0 else []
        listed += pre_ln + block(spec, i)
    listed += _norm("rwkv.ln_out", v.d_model) + _head(spec)
    return [Tensor(name, shape) for name, shape in listed]


EXAMPLE = """\
name: rwkv-4-169m
family: rwkv
n_layers: 12
d_model: 768
vocab_size: 50277
"""

FAMILY = Family(
    name="rwkv",
    description="RWKV-4 recurrent language models, as transformers' RwkvForCausalLM.",
    fields=FIELDS,
    count=count,
    example=EXAMPLE,
    tensors=tensors,
)


@hookimpl
def archcalc_families() -> list[Family]:
    return [FAMILY]


def translate(r: ConfigReader) -> None:
    """``RwkvConfig`` → ``family: rwkv``: attention_hidden_size and intermediate_size
    default (also when null) to hidden_size and 4 × hidden_size; context_length,
    rescale_every and the epsilons shape nothing."""
    r.set("n_layers", r.size("num_hidden_layers"), "num_hidden_layers")
    r.set("d_model", r.size("hidden_size"), "hidden_size")
    r.set("vocab_size", r.size("vocab_size"), "vocab_size")
    for key, field in (("attention_hidden_size", "d_attention"), ("intermediate_size", "d_ff")):
        if r.value(key) is not None:
            r.set(field, r.size(key), key)
    r.set("tie_embeddings", r.flag("tie_word_embeddings", False), "tie_word_embeddings")


@hookimpl
def archcalc_hf_model_types() -> list[HFModelType]:
    return [
        HFModelType(
            "rwkv",
            family="rwkv",
            translate=translate,
            description="RWKV-4 (RwkvForCausalLM)",
            aliases={"max_position_embeddings": "context_length"},
        )
    ]
