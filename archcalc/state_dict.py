"""Hugging Face transformers' state-dict names for the transformer family's tensors.

The transformer family names its tensors once, Llama-style and without a prefix
(``embed_tokens.weight``, ``layers.0.self_attn.q_proj.weight``, routed experts stacked on a
leading axis as ``layers.0.mlp.experts.gate_proj.weight`` of shape ``(E, ff, d)``;
encoder-decoders prefix each stack's tensors with ``encoder.`` / ``decoder.``). Each model
type of transformers saves the same parameters under its own names and layouts, which
this module reproduces as they were measured on checkpoints that transformers 5.24's
``save_pretrained`` writes (``reference/checkpoint_headers.py``):

* renamed modules (GPT-2's ``transformer.h.0.attn.c_proj``, BERT's
  ``encoder.layer.0.attention.self.query``, T5's ``encoder.block.0.layer.1.DenseReluDense.wo``);
* fused projections, concatenated along the output axis (GPT-2's ``c_attn`` and Falcon's or
  GPT-NeoX's ``query_key_value`` from q, k and v; Phi-3's ``qkv_proj`` and ``gate_up_proj``);
* transposed weights (GPT-2's ``Conv1D`` stores ``(in, out)``);
* split tensors, cut along the first axis (OLMo-Hybrid's one DeltaNet convolution saved
  as ``q_conv1d``, ``k_conv1d``, ``v_conv1d``);
* routed experts split into one tensor per expert, as every checkpoint stores them
  (Mixtral's ``block_sparse_moe.experts.3.w1.weight``) even where transformers 5 fuses
  them in memory.

A :class:`Naming` also knows what a checkpoint may hold besides the parameters: buffers
that are saved (BART's ``final_logits_bias``, DeepSeek-V3's ``e_score_correction_bias``),
stored copies of tied embeddings (older saves keep ``lm_head.weight``), and the prefixes
of the base model (``model.``, ``transformer.``, ``bert.``) that a checkpoint saved from
another head class adds or drops, and the other layouts a model type's checkpoints are
found in (:attr:`Naming.variants`). Renaming never changes the elements: the renamed list
sums to the same count.
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from archcalc.tensors import Tensor

__all__ = [
    "NAMINGS",
    "Expected",
    "Naming",
    "UnnamedTensor",
    "fused_experts",
    "naming_for",
    "state_dict",
]


@dataclass(frozen=True)
class Rule:
    """Canonical names matching ``pattern`` (whole name) are saved as ``target`` (re.sub)."""

    pattern: str
    target: str
    #: Stored transposed, the last two axes swapped (GPT-2's Conv1D keeps weights as
    #: (in, out); GPT-OSS's stacked experts as (E, in, out)).
    transpose: bool = False
    #: Other names a checkpoint may use for the same tensor (first is what `tensors` shows).
    alternatives: tuple[str, ...] = ()
    #: Stored with this many leading axes of size 1 (ERNIE 4.5 MoE's score correction
    #: bias is (1, E)).
    leading: int = 0
    #: The rule applies only when no canonical tensor has this name (re expand template):
    #: T5 calls its one input projection ``wi``, but ``wi_1`` beside a gate ``wi_0``.
    unless: str | None = None


@dataclass(frozen=True)
class Fuse:
    """Projections ``parts`` of one module saved as one tensor ``into``, along the out axis
    (``axis`` 1 for experts kept stacked as (E, out, in))."""

    parts: tuple[str, ...]
    into: str
    axis: int = 0


@dataclass(frozen=True)
class Split:
    """A tensor ``source`` of one module saved as several, ``into``, cut along its first axis.

    Cut where the module's projections ``at`` end (OLMo-Hybrid's released checkpoints
    store its DeltaNet's one q/k/v convolution as ``q_conv1d``, ``k_conv1d``, ``v_conv1d``
    of the widths of ``q_proj``, ``k_proj``, ``v_proj``), or, without ``at``, in chunks as
    ``torch.chunk`` cuts (transformers 5.24's save_pretrained of OLMo-Hybrid: chunks of
    ceil(n / 3) rows, the last one shorter, fewer chunks when they run out).
    """

    source: str
    into: tuple[str, ...]
    at: tuple[str, ...] = ()


@dataclass(frozen=True)
class Naming:
    """How one model type of transformers saves the transformer family's tensors."""

    model_type: str
    rules: tuple[Rule, ...]
    fuse: tuple[Fuse, ...] = ()
    #: Checkpoint tensors that are buffers, not parameters (regular expressions).
    buffers: tuple[str, ...] = ()
    #: Tensors transformers does not load for this model type (its
    #: ``_keys_to_ignore_on_load_unexpected``, searched in the saved names): DeepSeek-V3's
    #: multi-token-prediction layer ``model.layers.61``, after the 61 decoder layers.
    ignored: tuple[str, ...] = ()
    #: Parameters save_pretrained leaves out (``_keys_to_ignore_on_save``: Marian's
    #: sinusoidal tables, rebuilt when loading), by their saved names (regular expressions).
    unsaved: tuple[str, ...] = ()
    #: Names under which the shared embedding may be stored a second time: modules that
    #: are always the very same parameter in transformers (T5's ``encoder.embed_tokens``).
    #: A tied LM head is not among them: safetensors files never store shared tensors
    #: twice, so a stored ``lm_head.weight`` is a separate head.
    tied_copies: tuple[str, ...] = ()
    #: The LM head's name, for the hint when a spec ties it but the checkpoint has one.
    head: str = "lm_head.weight"
    #: Prefixes a checkpoint of the base model (or of another head) adds or drops.
    prefixes: tuple[str, ...] = ()
    #: Routed experts saved one tensor per expert (most types); False: stacked as
    #: (E, out, in), as Granite's MoE types and GPT-OSS (transposed) save them.
    split_experts: bool = True
    #: The prefix the reference class's names carry, stripped to compare (e.g. "model.").
    base: str = ""
    split: tuple[Split, ...] = ()
    #: Other layouts this model type's checkpoints are found in, each a naming of its own
    #: (``check`` compares with the one that fits; ``tensors`` shows this one).
    variants: tuple[Naming, ...] = ()
    #: What a variant is, for check's note ("as the released checkpoints store them").
    layout: str = ""
    _compiled: list[tuple[re.Pattern[str], Rule]] = field(
        default_factory=list, init=False, compare=False, repr=False
    )

    def compiled(self) -> list[tuple[re.Pattern[str], Rule]]:
        if not self._compiled:
            self._compiled.extend((re.compile(r.pattern), r) for r in self.rules)
        return self._compiled

    def is_buffer(self, name: str) -> bool:
        return any(re.fullmatch(p, name) for p in self.buffers)

    def is_ignored(self, name: str) -> bool:
        return any(re.search(p, name) for p in self.ignored)

    def is_unsaved(self, name: str) -> bool:
        return any(re.fullmatch(p, name) for p in self.unsaved)


@dataclass(frozen=True)
class Expected:
    """A tensor as the reference library saves it, and what it was made from."""

    tensor: Tensor
    #: The family's canonical names it holds (several when fused).
    canonical: tuple[str, ...]
    alternatives: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return (self.tensor.name, *self.alternatives)


class UnnamedTensor(ValueError):
    """A canonical tensor the model type's naming has no rule for (archcalc does not model it)."""

    def __init__(self, model_type: str, name: str) -> None:
        super().__init__(
            f"archcalc does not know the name transformers' {model_type} gives tensor '{name}'"
        )
        self.model_type = model_type
        self.name = name


_EXPERT = re.compile(r"(?P<head>.*\.experts)\.(?P<proj>[^.]+)\.(?P<kind>weight|bias)")


def _split_experts(tensors: Iterable[Tensor]) -> list[tuple[Tensor, tuple[str, ...]]]:
    """Stacked routed experts (E, …) as one tensor per expert (…)."""
    out: list[tuple[Tensor, tuple[str, ...]]] = []
    for tensor in tensors:
        match = _EXPERT.fullmatch(tensor.name)
        if match is None or not tensor.shape:
            out.append((tensor, (tensor.name,)))
            continue
        head, proj, kind = match["head"], match["proj"], match["kind"]
        for e in range(tensor.shape[0]):
            out.append((Tensor(f"{head}.{e}.{proj}.{kind}", tensor.shape[1:]), (tensor.name,)))
    return out


def _fuse(
    tensors: list[tuple[Tensor, tuple[str, ...]]], fuses: Sequence[Fuse]
) -> list[tuple[Tensor, tuple[str, ...]]]:
    """Concatenate each complete group of ``Fuse.parts`` along its out axis."""
    if not fuses:
        return tensors
    by_name = {t.name: (t, src) for t, src in tensors}
    replaced: dict[str, tuple[Tensor, tuple[str, ...]] | None] = {}
    for tensor, _ in tensors:
        for fuse in fuses:
            first = f".{fuse.parts[0]}."
            if first not in f".{tensor.name}":
                continue
            head, _, kind = f".{tensor.name}".rpartition(first)
            names = [f"{head}.{p}.{kind}".lstrip(".") for p in fuse.parts]
            if not all(n in by_name for n in names):
                continue
            members = [by_name[n][0] for n in names]
            shape = list(members[0].shape)
            shape[fuse.axis] = sum(m.shape[fuse.axis] for m in members)
            fused = Tensor(f"{head}.{fuse.into}.{kind}".lstrip("."), tuple(shape))
            replaced[names[0]] = (fused, tuple(names))
            for other in names[1:]:
                replaced[other] = None
    out = []
    for tensor, src in tensors:
        if tensor.name not in replaced:
            out.append((tensor, src))
        elif (entry := replaced[tensor.name]) is not None:
            out.append(entry)
    return out


def _cuts(size: int, pieces: int) -> list[int]:
    """The sizes ``torch.chunk(tensor, pieces)`` cuts ``size`` rows into."""
    step = -(-size // pieces)
    return [min(step, size - start) for start in range(0, size, step)] if step else []


def _split(
    tensors: list[tuple[Tensor, tuple[str, ...]]], splits: Sequence[Split]
) -> list[tuple[Tensor, tuple[str, ...]]]:
    """Cut each tensor a :class:`Split` names into its pieces (the elements are kept)."""
    if not splits:
        return tensors
    shapes = {t.name: t.shape for t, _ in tensors}
    out: list[tuple[Tensor, tuple[str, ...]]] = []
    for tensor, canonical in tensors:
        for cut in splits:
            head, dot, kind = f".{tensor.name}".rpartition(f".{cut.source}.")
            if not dot or not tensor.shape or not isinstance(tensor.shape[0], int):
                continue
            head = head[1:] + "." if head else ""
            sizes = _cuts(tensor.shape[0], len(cut.into))
            if cut.at:
                widths = [shapes.get(f"{head}{p}.weight", (None,))[0] for p in cut.at]
                sizes = [w for w in widths if isinstance(w, int)]
                if len(sizes) != len(cut.at) or sum(sizes) != tensor.shape[0]:
                    continue  # not the module the split knows: left unnamed, refused
            rest = tuple(tensor.shape[1:])
            out.extend(
                (Tensor(f"{head}{name}.{kind}", (size, *rest)), canonical)
                for name, size in zip(cut.into, sizes, strict=False)
            )
            break
        else:
            out.append((tensor, canonical))
    return out


def _transposed(shape: tuple[Any, ...]) -> tuple[Any, ...]:
    return (*shape[:-2], shape[-1], shape[-2]) if len(shape) >= 2 else shape


def state_dict(tensors: Iterable[Tensor], naming: Naming) -> list[Expected]:
    """The family's tensors as ``naming``'s model type saves them; raises UnnamedTensor."""
    tensors = list(tensors)
    split: list[tuple[Tensor, tuple[str, ...]]] = (
        _split_experts(tensors) if naming.split_experts else [(t, (t.name,)) for t in tensors]
    )
    listed = _split(_fuse(split, naming.fuse), naming.split)
    present = {t.name for t, _ in listed}
    out = []
    for tensor, canonical in listed:
        for pattern, rule in naming.compiled():
            match = pattern.fullmatch(tensor.name)
            if match is None:
                continue
            if rule.unless is not None and pattern.sub(rule.unless, tensor.name, 1) in present:
                continue
            shape = _transposed(tensor.shape) if rule.transpose else tensor.shape
            shape = (1,) * rule.leading + tuple(shape)
            # pattern.sub caches its compiled template; match.expand re-parses it every call
            name = pattern.sub(rule.target, tensor.name, count=1)
            alternatives = tuple(pattern.sub(a, tensor.name, count=1) for a in rule.alternatives)
            out.append(Expected(Tensor(name, shape), canonical, alternatives))
            break
        else:
            raise UnnamedTensor(naming.model_type, tensor.name)
    return out


#: A routed expert's projection as the family lists it, stacked (E, out, in).
_STACKED = re.compile(r"(?P<layer>(?:.+\.)?layers\.\d+)\.mlp\.experts\.(?P<proj>\w+_proj)\.weight")


def fused_experts(
    expected: Sequence[Expected], stored: Container[str], naming: Naming
) -> tuple[list[Expected], int]:
    """Layers whose checkpoint holds the routed experts fused, as transformers 5 does in memory.

    transformers 5 keeps a layer's experts as ``mlp.experts.gate_up_proj`` (E, 2F, d) and
    ``mlp.experts.down_proj`` (E, d, F), and its router as ``mlp.gate`` (``mlp.router`` for
    PhiMoE); save_pretrained converts them back to one tensor per expert, but a checkpoint
    written from the state dict directly keeps them fused. For every layer whose fused
    ``gate_up_proj`` is in ``stored`` (names without the naming's prefixes), its per-expert
    entries become the two fused ones and its router gains the in-memory names. Returns
    the entries and how many layers were fused.
    """
    if not naming.split_experts:
        return list(expected), 0
    by_layer: dict[str, dict[str, list[Expected]]] = {}
    for entry in expected:
        match = _STACKED.fullmatch(entry.canonical[0])
        if match is not None and len(entry.canonical) == 1:
            by_layer.setdefault(match["layer"], {}).setdefault(match["proj"], []).append(entry)
    fused: dict[int, list[Expected]] = {}  # id of an entry replaced -> what takes its place
    routers: set[str] = set()
    for layer, projs in by_layer.items():
        gate, up, down = (projs.get(p, []) for p in ("gate_proj", "up_proj", "down_proj"))
        if f"{layer}.mlp.experts.gate_up_proj" not in stored or not (gate and up and down):
            continue
        (f, d), experts = gate[0].tensor.shape, len(gate)
        head = f"{naming.base}{layer}.mlp.experts"
        fused[id(gate[0])] = [
            Expected(
                Tensor(f"{head}.gate_up_proj", (experts, 2 * f, d)),
                (gate[0].canonical[0], up[0].canonical[0]),
            ),
            Expected(Tensor(f"{head}.down_proj", (experts, d, f)), down[0].canonical),
        ]
        for entry in (*gate[1:], *up, *down):
            fused[id(entry)] = []
        routers.add(f"{layer}.mlp.gate.weight")
    out: list[Expected] = []
    for entry in expected:
        name = entry.canonical[0]
        if id(entry) in fused:
            out.extend(fused[id(entry)])
        elif name not in routers:
            out.append(entry)
        else:  # the router of a fused layer: its in-memory names too
            layer = name.removesuffix(".mlp.gate.weight")
            memory = tuple(f"{naming.base}{layer}.mlp.{m}.weight" for m in ("gate", "router"))
            out.append(Expected(entry.tensor, entry.canonical, (*entry.alternatives, *memory)))
    return out, len(routers)


# --------------------------------------------------------------------------- the tables

_N = r"(\d+)"  # a block index
_WB = r"(weight|bias)"


def _rules(*pairs: tuple[str, str] | Rule) -> tuple[Rule, ...]:
    return tuple(p if isinstance(p, Rule) else Rule(*p) for p in pairs)


def _llama(
    model_type: str,
    *extra: tuple[str, str] | Rule,
    fuse: tuple[Fuse, ...] = (),
    buffers: tuple[str, ...] = (),
    split_experts: bool = True,
) -> Naming:
    """``model.`` + the family's own names (Llama, Mistral, Qwen, Gemma...), plus ``extra``."""
    return Naming(
        model_type,
        _rules(
            *extra,
            (r"embed_tokens\.weight", r"model.embed_tokens.weight"),
            (r"layers\.(.+)", r"model.layers.\1"),
            (rf"norm\.{_WB}", r"model.norm.\1"),
            (rf"lm_head\.{_WB}", r"lm_head.\1"),
        ),
        fuse=fuse,
        buffers=buffers,
        split_experts=split_experts,
        prefixes=("model.",),
        base="model.",
    )


def _norms(names: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """A block's norms renamed (canonical -> transformers') under ``model.layers``."""
    return tuple(
        (rf"layers\.{_N}\.{ours}\.{_WB}", rf"model.layers.\1.{theirs}.\2")
        for ours, theirs in names.items()
    )


def _mlp(names: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """A block's MLP projections renamed under ``model.layers.N.mlp``."""
    return tuple(
        (rf"layers\.{_N}\.mlp\.{ours}\.{_WB}", rf"model.layers.\1.mlp.{theirs}.\2")
        for ours, theirs in names.items()
    )


def _experts(layer: str, names: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """Per-expert projections renamed (``gate_proj`` -> ``w1``...) under ``layer``."""
    return tuple(
        (rf"layers\.{_N}\.mlp\.experts\.{_N}\.{ours}\.{_WB}", rf"{layer}.experts.\2.{theirs}.\3")
        for ours, theirs in names.items()
    )


_QKV = Fuse(("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"), "self_attn.qkv")


MIXTRAL = _llama(
    "mixtral",
    (rf"layers\.{_N}\.mlp\.gate\.{_WB}", r"model.layers.\1.block_sparse_moe.gate.\2"),
    *_experts(
        r"model.layers.\1.block_sparse_moe", {"gate_proj": "w1", "up_proj": "w3", "down_proj": "w2"}
    ),
)

QWEN2_MOE = _llama(
    "qwen2_moe",
    (rf"layers\.{_N}\.mlp\.shared_experts\.(.+)", r"model.layers.\1.mlp.shared_expert.\2"),
)

PHI3 = _llama(
    "phi3",
    fuse=(
        Fuse(("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"), "self_attn.qkv_proj"),
        Fuse(("mlp.gate_proj", "mlp.up_proj"), "mlp.gate_up_proj"),
    ),
)

STARCODER2 = _llama(
    "starcoder2",
    (rf"layers\.{_N}\.mlp\.up_proj\.{_WB}", r"model.layers.\1.mlp.c_fc.\2"),
    (rf"layers\.{_N}\.mlp\.down_proj\.{_WB}", r"model.layers.\1.mlp.c_proj.\2"),
)

#: DeepSeek-V3's router keeps its load-balancing bias as a saved buffer.
_SCORE_BIAS = (r"(model\.)?layers\.\d+\.mlp\.gate\.e_score_correction_bias",)
DEEPSEEK_V3 = _llama("deepseek_v3", buffers=_SCORE_BIAS)

#: Post-norm blocks (OLMo 2): the two norms follow attention and the MLP.
_POST_NORMS = _norms(
    {
        "input_layernorm": "post_attention_layernorm",
        "post_attention_layernorm": "post_feedforward_layernorm",
    }
)
#: Sandwich norms in GLM-4's names: the family's Gemma-2 names one step shifted.
_GLM4_NORMS = {
    "post_attention_layernorm": "post_self_attn_layernorm",
    "pre_feedforward_layernorm": "post_attention_layernorm",
    "post_feedforward_layernorm": "post_mlp_layernorm",
}
_GATE_UP = Fuse(("mlp.gate_proj", "mlp.up_proj"), "mlp.gate_up_proj")

GPT_OSS = _llama(
    "gpt_oss",
    # stacked experts, gate and up fused, stored (E, in, out); the router is mlp.router
    Rule(
        rf"layers\.{_N}\.mlp\.experts\.(gate_up_proj|down_proj)\.weight",
        r"model.layers.\1.mlp.experts.\2",
        transpose=True,
    ),
    (
        rf"layers\.{_N}\.mlp\.experts\.(gate_up_proj|down_proj)\.bias",
        r"model.layers.\1.mlp.experts.\2_bias",
    ),
    (rf"layers\.{_N}\.mlp\.gate\.{_WB}", r"model.layers.\1.mlp.router.\2"),
    fuse=(Fuse(("mlp.experts.gate_proj", "mlp.experts.up_proj"), "mlp.experts.gate_up_proj", 1),),
    split_experts=False,
)


def _granitemoe(model_type: str) -> Naming:
    """Stacked experts with gate and up fused as ``input_linear`` (E, 2F, d)."""
    moe = r"model.layers.\1.block_sparse_moe"
    return _llama(
        model_type,
        (rf"layers\.{_N}\.mlp\.experts\.gate_up_proj\.weight", rf"{moe}.input_linear.weight"),
        (rf"layers\.{_N}\.mlp\.experts\.down_proj\.weight", rf"{moe}.output_linear.weight"),
        (rf"layers\.{_N}\.mlp\.gate\.weight", rf"{moe}.router.layer.weight"),
        (
            rf"layers\.{_N}\.mlp\.shared_experts\.gate_up_proj\.weight",
            r"model.layers.\1.shared_mlp.input_linear.weight",
        ),
        (
            rf"layers\.{_N}\.mlp\.shared_experts\.down_proj\.weight",
            r"model.layers.\1.shared_mlp.output_linear.weight",
        ),
        fuse=(
            Fuse(("mlp.experts.gate_proj", "mlp.experts.up_proj"), "mlp.experts.gate_up_proj", 1),
            Fuse(
                ("mlp.shared_experts.gate_proj", "mlp.shared_experts.up_proj"),
                "mlp.shared_experts.gate_up_proj",
            ),
        ),
        split_experts=False,
    )


PERSIMMON = _llama(
    "persimmon",
    (rf"layers\.{_N}\.self_attn\.qkv\.{_WB}", r"model.layers.\1.self_attn.query_key_value.\2"),
    (rf"layers\.{_N}\.self_attn\.o_proj\.{_WB}", r"model.layers.\1.self_attn.dense.\2"),
    (rf"layers\.{_N}\.self_attn\.(q|k)_norm\.{_WB}", r"model.layers.\1.self_attn.\2_layernorm.\3"),
    *_mlp({"up_proj": "dense_h_to_4h", "down_proj": "dense_4h_to_h"}),
    (rf"norm\.{_WB}", r"model.final_layernorm.\1"),
    fuse=(_QKV,),
)

PHI = _llama(
    "phi",
    (rf"layers\.{_N}\.self_attn\.o_proj\.{_WB}", r"model.layers.\1.self_attn.dense.\2"),
    (rf"layers\.{_N}\.self_attn\.(q|k)_norm\.{_WB}", r"model.layers.\1.self_attn.\2_layernorm.\3"),
    *_mlp({"up_proj": "fc1", "down_proj": "fc2"}),
    (rf"norm\.{_WB}", r"model.final_layernorm.\1"),
)

SARVAM_MOE = _llama(
    "sarvam_moe",
    (r"embed_tokens\.weight", r"model.word_embeddings.weight"),
    (rf"layers\.{_N}\.self_attn\.qkv\.{_WB}", r"model.layers.\1.attention.query_key_value.\2"),
    (rf"layers\.{_N}\.self_attn\.o_proj\.{_WB}", r"model.layers.\1.attention.dense.\2"),
    (rf"layers\.{_N}\.self_attn\.q_norm\.{_WB}", r"model.layers.\1.attention.query_layernorm.\2"),
    (rf"layers\.{_N}\.self_attn\.k_norm\.{_WB}", r"model.layers.\1.attention.key_layernorm.\2"),
    fuse=(_QKV,),
    buffers=(r"(model\.)?layers\.\d+\.mlp\.gate\.expert_bias",),
)


def _gpt2(
    model_type: str,
    *,
    conv1d: bool = True,
    tokens: str = "wte",
    positions: str = "wpe",
    buffers: tuple[str, ...] = (),
) -> Naming:
    """GPT-2's names: ``transformer.h.N.attn.c_attn`` (fused q, k, v), ``mlp.c_fc``...

    ``conv1d``: weights stored (in, out) by GPT-2's Conv1D; GPTBigCode uses nn.Linear.
    """
    h = r"transformer.h.\1"
    return Naming(
        model_type,
        _rules(
            (r"embed_tokens\.weight", f"transformer.{tokens}.weight"),
            (r"embed_positions\.weight", f"transformer.{positions}.weight"),
            (rf"layers\.{_N}\.input_layernorm\.{_WB}", rf"{h}.ln_1.\2"),
            (rf"layers\.{_N}\.post_attention_layernorm\.{_WB}", rf"{h}.ln_2.\2"),
            Rule(rf"layers\.{_N}\.self_attn\.qkv\.weight", rf"{h}.attn.c_attn.weight", conv1d),
            (rf"layers\.{_N}\.self_attn\.qkv\.bias", rf"{h}.attn.c_attn.bias"),
            Rule(rf"layers\.{_N}\.self_attn\.o_proj\.weight", rf"{h}.attn.c_proj.weight", conv1d),
            (rf"layers\.{_N}\.self_attn\.o_proj\.bias", rf"{h}.attn.c_proj.bias"),
            Rule(rf"layers\.{_N}\.mlp\.up_proj\.weight", rf"{h}.mlp.c_fc.weight", conv1d),
            (rf"layers\.{_N}\.mlp\.up_proj\.bias", rf"{h}.mlp.c_fc.bias"),
            Rule(rf"layers\.{_N}\.mlp\.down_proj\.weight", rf"{h}.mlp.c_proj.weight", conv1d),
            (rf"layers\.{_N}\.mlp\.down_proj\.bias", rf"{h}.mlp.c_proj.bias"),
            (rf"norm\.{_WB}", r"transformer.ln_f.\1"),
            (r"lm_head\.weight", "lm_head.weight"),
        ),
        fuse=(_QKV,),
        buffers=buffers,
        prefixes=("transformer.",),
        base="transformer.",
    )


#: Checkpoints saved by transformers 4 keep the causal-mask buffers.
_GPT2_MASKS = (r"(transformer\.)?h\.\d+\.attn\.(bias|masked_bias)",)
GPT2 = _gpt2("gpt2", buffers=_GPT2_MASKS)


def _gptj(model_type: str, fuse: tuple[Fuse, ...] = ()) -> Naming:
    """GPT-J's names (``transformer.h.N.attn.q_proj``, ``mlp.fc_in``); CodeGen fuses q, k, v."""
    return Naming(
        model_type,
        _rules(
            (r"embed_tokens\.weight", "transformer.wte.weight"),
            (rf"layers\.{_N}\.input_layernorm\.{_WB}", r"transformer.h.\1.ln_1.\2"),
            (rf"layers\.{_N}\.self_attn\.o_proj\.{_WB}", r"transformer.h.\1.attn.out_proj.\2"),
            (rf"layers\.{_N}\.self_attn\.(.+)", r"transformer.h.\1.attn.\2"),
            (rf"layers\.{_N}\.mlp\.up_proj\.{_WB}", r"transformer.h.\1.mlp.fc_in.\2"),
            (rf"layers\.{_N}\.mlp\.down_proj\.{_WB}", r"transformer.h.\1.mlp.fc_out.\2"),
            (rf"norm\.{_WB}", r"transformer.ln_f.\1"),
            (rf"lm_head\.{_WB}", r"lm_head.\1"),
        ),
        fuse=fuse,
        buffers=(r"(transformer\.)?h\.\d+\.attn\.(bias|masked_bias|causal_mask)",),
        prefixes=("transformer.",),
        base="transformer.",
    )


GPTJ = _gptj("gptj")
CODEGEN = _gptj(
    "codegen",
    (Fuse(("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"), "self_attn.qkv_proj"),),
)

EXAONE = Naming(
    "exaone",
    _rules(
        (r"embed_tokens\.weight", "transformer.wte.weight"),
        (rf"layers\.{_N}\.input_layernorm\.{_WB}", r"transformer.h.\1.ln_1.\2"),
        (rf"layers\.{_N}\.post_attention_layernorm\.{_WB}", r"transformer.h.\1.ln_2.\2"),
        (
            rf"layers\.{_N}\.self_attn\.o_proj\.{_WB}",
            r"transformer.h.\1.attn.attention.out_proj.\2",
        ),
        (rf"layers\.{_N}\.self_attn\.(.+)", r"transformer.h.\1.attn.attention.\2"),
        (rf"layers\.{_N}\.mlp\.gate_proj\.{_WB}", r"transformer.h.\1.mlp.c_fc_0.\2"),
        (rf"layers\.{_N}\.mlp\.up_proj\.{_WB}", r"transformer.h.\1.mlp.c_fc_1.\2"),
        (rf"layers\.{_N}\.mlp\.down_proj\.{_WB}", r"transformer.h.\1.mlp.c_proj.\2"),
        (rf"norm\.{_WB}", r"transformer.ln_f.\1"),
        (rf"lm_head\.{_WB}", r"lm_head.\1"),
    ),
    prefixes=("transformer.",),
    base="transformer.",
)

GPT_NEO = Naming(
    "gpt_neo",
    _rules(
        (r"embed_tokens\.weight", "transformer.wte.weight"),
        (r"embed_positions\.weight", "transformer.wpe.weight"),
        (rf"layers\.{_N}\.input_layernorm\.{_WB}", r"transformer.h.\1.ln_1.\2"),
        (rf"layers\.{_N}\.post_attention_layernorm\.{_WB}", r"transformer.h.\1.ln_2.\2"),
        (
            rf"layers\.{_N}\.self_attn\.o_proj\.{_WB}",
            r"transformer.h.\1.attn.attention.out_proj.\2",
        ),
        (rf"layers\.{_N}\.self_attn\.(.+)", r"transformer.h.\1.attn.attention.\2"),
        (rf"layers\.{_N}\.mlp\.up_proj\.{_WB}", r"transformer.h.\1.mlp.c_fc.\2"),
        (rf"layers\.{_N}\.mlp\.down_proj\.{_WB}", r"transformer.h.\1.mlp.c_proj.\2"),
        (rf"norm\.{_WB}", r"transformer.ln_f.\1"),
        (rf"lm_head\.{_WB}", r"lm_head.\1"),
    ),
    buffers=(r"(transformer\.)?h\.\d+\.attn\.attention\.(bias|masked_bias)",),
    prefixes=("transformer.",),
    base="transformer.",
)

MPT = Naming(
    "mpt",
    _rules(
        (r"embed_tokens\.weight", "transformer.wte.weight"),
        (rf"layers\.{_N}\.input_layernorm\.{_WB}", r"transformer.blocks.\1.norm_1.\2"),
        (rf"layers\.{_N}\.post_attention_layernorm\.{_WB}", r"transformer.blocks.\1.norm_2.\2"),
        (rf"layers\.{_N}\.self_attn\.qkv\.{_WB}", r"transformer.blocks.\1.attn.Wqkv.\2"),
        (rf"layers\.{_N}\.self_attn\.o_proj\.{_WB}", r"transformer.blocks.\1.attn.out_proj.\2"),
        (rf"layers\.{_N}\.mlp\.(up_proj|down_proj)\.{_WB}", r"transformer.blocks.\1.ffn.\2.\3"),
        (rf"norm\.{_WB}", r"transformer.norm_f.\1"),
        (rf"lm_head\.{_WB}", r"lm_head.\1"),
    ),
    fuse=(_QKV,),
    prefixes=("transformer.",),
    base="transformer.",
)

GPT_NEOX = Naming(
    "gpt_neox",
    _rules(
        (r"embed_tokens\.weight", "gpt_neox.embed_in.weight"),
        (
            rf"layers\.{_N}\.self_attn\.qkv\.{_WB}",
            r"gpt_neox.layers.\1.attention.query_key_value.\2",
        ),
        (rf"layers\.{_N}\.self_attn\.o_proj\.{_WB}", r"gpt_neox.layers.\1.attention.dense.\2"),
        (rf"layers\.{_N}\.mlp\.up_proj\.{_WB}", r"gpt_neox.layers.\1.mlp.dense_h_to_4h.\2"),
        (rf"layers\.{_N}\.mlp\.down_proj\.{_WB}", r"gpt_neox.layers.\1.mlp.dense_4h_to_h.\2"),
        (
            rf"layers\.{_N}\.(input_layernorm|post_attention_layernorm)\.{_WB}",
            r"gpt_neox.layers.\1.\2.\3",
        ),
        (rf"norm\.{_WB}", r"gpt_neox.final_layer_norm.\1"),
        (r"lm_head\.weight", "embed_out.weight"),
    ),
    fuse=(_QKV,),
    buffers=(r"(gpt_neox\.)?layers\.\d+\.attention\.(bias|masked_bias|rotary_emb\.inv_freq)",),
    head="embed_out.weight",
    prefixes=("gpt_neox.",),
    base="gpt_neox.",
)

FALCON = Naming(
    "falcon",
    _rules(
        (r"embed_tokens\.weight", "transformer.word_embeddings.weight"),
        # Falcon's new architecture names its two parallel norms ln_attn and ln_mlp.
        Rule(
            rf"layers\.{_N}\.input_layernorm\.{_WB}",
            r"transformer.h.\1.input_layernorm.\2",
            alternatives=(r"transformer.h.\1.ln_attn.\2",),
        ),
        Rule(
            rf"layers\.{_N}\.post_attention_layernorm\.{_WB}",
            r"transformer.h.\1.post_attention_layernorm.\2",
            alternatives=(r"transformer.h.\1.ln_mlp.\2",),
        ),
        (
            rf"layers\.{_N}\.self_attn\.qkv\.{_WB}",
            r"transformer.h.\1.self_attention.query_key_value.\2",
        ),
        (rf"layers\.{_N}\.self_attn\.o_proj\.{_WB}", r"transformer.h.\1.self_attention.dense.\2"),
        (rf"layers\.{_N}\.mlp\.up_proj\.{_WB}", r"transformer.h.\1.mlp.dense_h_to_4h.\2"),
        (rf"layers\.{_N}\.mlp\.down_proj\.{_WB}", r"transformer.h.\1.mlp.dense_4h_to_h.\2"),
        (rf"norm\.{_WB}", r"transformer.ln_f.\1"),
        (r"lm_head\.weight", "lm_head.weight"),
    ),
    fuse=(_QKV,),
    prefixes=("transformer.",),
    base="transformer.",
)

BLOOM = Naming(
    "bloom",
    _rules(
        (r"embed_tokens\.weight", "transformer.word_embeddings.weight"),
        (rf"embed_norm\.{_WB}", r"transformer.word_embeddings_layernorm.\1"),
        (
            rf"layers\.{_N}\.(input_layernorm|post_attention_layernorm)\.{_WB}",
            r"transformer.h.\1.\2.\3",
        ),
        (
            rf"layers\.{_N}\.self_attn\.qkv\.{_WB}",
            r"transformer.h.\1.self_attention.query_key_value.\2",
        ),
        (rf"layers\.{_N}\.self_attn\.o_proj\.{_WB}", r"transformer.h.\1.self_attention.dense.\2"),
        (rf"layers\.{_N}\.mlp\.up_proj\.{_WB}", r"transformer.h.\1.mlp.dense_h_to_4h.\2"),
        (rf"layers\.{_N}\.mlp\.down_proj\.{_WB}", r"transformer.h.\1.mlp.dense_4h_to_h.\2"),
        (rf"norm\.{_WB}", r"transformer.ln_f.\1"),
        (r"lm_head\.weight", "lm_head.weight"),
    ),
    fuse=(_QKV,),
    prefixes=("transformer.",),
    base="transformer.",
)


def _opt(model_type: str, base: str, norm: str, head: str = "lm_head.weight") -> Naming:
    """OPT's names (``self_attn.out_proj``, ``self_attn_layer_norm``, ``fc1``) under ``base``."""
    layer = rf"{base}layers.\1"
    return Naming(
        model_type,
        _rules(
            (r"embed_tokens\.weight", f"{base}embed_tokens.weight"),
            (r"embed_positions\.weight", f"{base}embed_positions.weight"),
            (rf"layers\.{_N}\.self_attn\.o_proj\.{_WB}", rf"{layer}.self_attn.out_proj.\2"),
            (rf"layers\.{_N}\.self_attn\.(.+)", rf"{layer}.self_attn.\2"),
            (rf"layers\.{_N}\.input_layernorm\.{_WB}", rf"{layer}.self_attn_layer_norm.\2"),
            (rf"layers\.{_N}\.post_attention_layernorm\.{_WB}", rf"{layer}.final_layer_norm.\2"),
            (rf"layers\.{_N}\.mlp\.up_proj\.{_WB}", rf"{layer}.fc1.\2"),
            (rf"layers\.{_N}\.mlp\.down_proj\.{_WB}", rf"{layer}.fc2.\2"),
            (rf"norm\.{_WB}", rf"{base}{norm}.\1"),
            (r"lm_head\.weight", head),
        ),
        head=head,
        prefixes=(base.split(".")[0] + ".",),
        base=base.split(".")[0] + ".",
    )


OPT = _opt("opt", "model.decoder.", "final_layer_norm")
XGLM = _opt("xglm", "model.", "layer_norm")
BIOGPT = _opt("biogpt", "biogpt.", "layer_norm", head="output_projection.weight")


def _bert(
    model_type: str,
    *extra: tuple[str, str] | Rule,
    prefix: str | None = None,
    buffers: tuple[str, ...] = (),
    fuse: tuple[Fuse, ...] = (),
) -> Naming:
    """BERT's module names (``encoder.layer.0.attention.self.query``), ``extra`` rules
    first; ``prefix``: the base model's name in checkpoints of its heads (``bert.``)."""
    layer = r"encoder.layer.\1"
    prefix = prefix or model_type
    return Naming(
        model_type,
        _rules(
            *extra,
            (r"embed_tokens\.weight", "embeddings.word_embeddings.weight"),
            (r"embed_positions\.weight", "embeddings.position_embeddings.weight"),
            (r"token_type_embeddings\.weight", "embeddings.token_type_embeddings.weight"),
            (rf"embed_norm\.{_WB}", r"embeddings.LayerNorm.\1"),
            (rf"layers\.{_N}\.self_attn\.q_proj\.{_WB}", rf"{layer}.attention.self.query.\2"),
            (rf"layers\.{_N}\.self_attn\.k_proj\.{_WB}", rf"{layer}.attention.self.key.\2"),
            (rf"layers\.{_N}\.self_attn\.v_proj\.{_WB}", rf"{layer}.attention.self.value.\2"),
            (rf"layers\.{_N}\.self_attn\.o_proj\.{_WB}", rf"{layer}.attention.output.dense.\2"),
            (rf"layers\.{_N}\.input_layernorm\.{_WB}", rf"{layer}.attention.output.LayerNorm.\2"),
            (rf"layers\.{_N}\.mlp\.up_proj\.{_WB}", rf"{layer}.intermediate.dense.\2"),
            (rf"layers\.{_N}\.mlp\.down_proj\.{_WB}", rf"{layer}.output.dense.\2"),
            (rf"layers\.{_N}\.post_attention_layernorm\.{_WB}", rf"{layer}.output.LayerNorm.\2"),
            (rf"pooler\.dense\.{_WB}", r"pooler.dense.\1"),
        ),
        buffers=(r"(\w+\.)?embeddings\.(position_ids|token_type_ids)", *buffers),
        prefixes=(f"{prefix}.",),
        fuse=fuse,
    )


DISTILBERT = Naming(
    "distilbert",
    _rules(
        (r"embed_tokens\.weight", "embeddings.word_embeddings.weight"),
        (r"embed_positions\.weight", "embeddings.position_embeddings.weight"),
        (rf"embed_norm\.{_WB}", r"embeddings.LayerNorm.\1"),
        (
            rf"layers\.{_N}\.self_attn\.(q|k|v)_proj\.{_WB}",
            r"transformer.layer.\1.attention.\2_lin.\3",
        ),
        (rf"layers\.{_N}\.self_attn\.o_proj\.{_WB}", r"transformer.layer.\1.attention.out_lin.\2"),
        (rf"layers\.{_N}\.input_layernorm\.{_WB}", r"transformer.layer.\1.sa_layer_norm.\2"),
        (rf"layers\.{_N}\.mlp\.up_proj\.{_WB}", r"transformer.layer.\1.ffn.lin1.\2"),
        (rf"layers\.{_N}\.mlp\.down_proj\.{_WB}", r"transformer.layer.\1.ffn.lin2.\2"),
        (
            rf"layers\.{_N}\.post_attention_layernorm\.{_WB}",
            r"transformer.layer.\1.output_layer_norm.\2",
        ),
    ),
    buffers=(r"(distilbert\.)?embeddings\.position_ids",),
    prefixes=("distilbert.",),
)

# ALBERT shares layers: distinct layer u sits in group u (one layer per group) or, with one
# group of several layers, at position u of group 0; a checkpoint may use either layout.
_ALBERT_LAYER = r"encoder.albert_layer_groups.\1.albert_layers.0"
_ALBERT_INNER = r"encoder.albert_layer_groups.0.albert_layers.\1"


def _albert_rule(ours: str, theirs: str) -> Rule:
    return Rule(
        rf"layers\.{_N}\.{ours}\.{_WB}",
        rf"{_ALBERT_LAYER}.{theirs}.\2",
        alternatives=(rf"{_ALBERT_INNER}.{theirs}.\2",),
    )


ALBERT = Naming(
    "albert",
    _rules(
        (r"embed_tokens\.weight", "embeddings.word_embeddings.weight"),
        (r"embed_positions\.weight", "embeddings.position_embeddings.weight"),
        (r"token_type_embeddings\.weight", "embeddings.token_type_embeddings.weight"),
        (rf"embed_norm\.{_WB}", r"embeddings.LayerNorm.\1"),
        (rf"embed_proj\.{_WB}", r"encoder.embedding_hidden_mapping_in.\1"),
        _albert_rule(r"self_attn\.q_proj", "attention.query"),
        _albert_rule(r"self_attn\.k_proj", "attention.key"),
        _albert_rule(r"self_attn\.v_proj", "attention.value"),
        _albert_rule(r"self_attn\.o_proj", "attention.dense"),
        _albert_rule(r"input_layernorm", "attention.LayerNorm"),
        _albert_rule(r"mlp\.up_proj", "ffn"),
        _albert_rule(r"mlp\.down_proj", "ffn_output"),
        _albert_rule(r"post_attention_layernorm", "full_layer_layer_norm"),
        (rf"pooler\.dense\.{_WB}", r"pooler.\1"),
    ),
    buffers=(r"(albert\.)?embeddings\.(position_ids|token_type_ids)",),
    prefixes=("albert.",),
)


def _t5_stack(stack: str, attention: str = "SelfAttention") -> tuple[Rule, ...]:
    """T5's blocks: layer.0 self-attention (``attention``: LongT5's encoder has
    LocalSelfAttention), (decoder) layer.1 cross-attention, then the MLP."""
    ff = "2" if stack == "decoder" else "1"
    b = rf"{stack}.block.\1.layer"
    return _rules(
        (
            rf"{stack}\.layers\.{_N}\.self_attn\.(q|k|v|o)_proj\.weight",
            rf"{b}.0.{attention}.\2.weight",
        ),
        (  # UMT5: every block's own bias
            rf"{stack}\.layers\.{_N}\.self_attn\.relative_attention_bias\.weight",
            rf"{b}.0.{attention}.relative_attention_bias.weight",
        ),
        (
            rf"{stack}\.relative_attention_bias\.weight",
            rf"{stack}.block.0.layer.0.{attention}.relative_attention_bias.weight",
        ),
        (rf"{stack}\.layers\.{_N}\.input_layernorm\.weight", rf"{b}.0.layer_norm.weight"),
        (
            rf"{stack}\.layers\.{_N}\.cross_attn\.(q|k|v|o)_proj\.weight",
            rf"{b}.1.EncDecAttention.\2.weight",
        ),
        (rf"{stack}\.layers\.{_N}\.cross_attn_layernorm\.weight", rf"{b}.1.layer_norm.weight"),
        (
            rf"{stack}\.layers\.{_N}\.mlp\.gate_proj\.weight",
            rf"{b}.{ff}.DenseReluDense.wi_0.weight",
        ),
        Rule(
            rf"{stack}\.layers\.{_N}\.mlp\.up_proj\.weight",
            rf"{b}.{ff}.DenseReluDense.wi.weight",
            unless=rf"{stack}.layers.\1.mlp.gate_proj.weight",
        ),
        (rf"{stack}\.layers\.{_N}\.mlp\.up_proj\.weight", rf"{b}.{ff}.DenseReluDense.wi_1.weight"),
        (rf"{stack}\.layers\.{_N}\.mlp\.down_proj\.weight", rf"{b}.{ff}.DenseReluDense.wo.weight"),
        (
            rf"{stack}\.layers\.{_N}\.post_attention_layernorm\.weight",
            rf"{b}.{ff}.layer_norm.weight",
        ),
        (rf"{stack}\.norm\.weight", rf"{stack}.final_layer_norm.weight"),
    )


def _t5(model_type: str, encoder_attention: str = "SelfAttention") -> Naming:
    return Naming(
        model_type,
        (
            Rule(r"embed_tokens\.weight", "shared.weight"),
            *_t5_stack("encoder", encoder_attention),
            *_t5_stack("decoder"),
            Rule(r"lm_head\.weight", "lm_head.weight"),
        ),
        tied_copies=("encoder.embed_tokens.weight", "decoder.embed_tokens.weight"),
    )


T5 = _t5("t5")


def _bart_stack(stack: str, root: str = "model") -> tuple[Rule, ...]:
    s = rf"{root}.{stack}"
    return _rules(
        (rf"{stack}\.embed_positions\.weight", rf"{s}.embed_positions.weight"),
        (rf"{stack}\.embed_norm\.{_WB}", rf"{s}.layernorm_embedding.\1"),
        (
            rf"{stack}\.layers\.{_N}\.self_attn\.o_proj\.{_WB}",
            rf"{s}.layers.\1.self_attn.out_proj.\2",
        ),
        (rf"{stack}\.layers\.{_N}\.self_attn\.(.+)", rf"{s}.layers.\1.self_attn.\2"),
        (
            rf"{stack}\.layers\.{_N}\.cross_attn\.o_proj\.{_WB}",
            rf"{s}.layers.\1.encoder_attn.out_proj.\2",
        ),
        (rf"{stack}\.layers\.{_N}\.cross_attn\.(.+)", rf"{s}.layers.\1.encoder_attn.\2"),
        (
            rf"{stack}\.layers\.{_N}\.input_layernorm\.{_WB}",
            rf"{s}.layers.\1.self_attn_layer_norm.\2",
        ),
        (
            rf"{stack}\.layers\.{_N}\.cross_attn_layernorm\.{_WB}",
            rf"{s}.layers.\1.encoder_attn_layer_norm.\2",
        ),
        (
            rf"{stack}\.layers\.{_N}\.post_attention_layernorm\.{_WB}",
            rf"{s}.layers.\1.final_layer_norm.\2",
        ),
        (rf"{stack}\.layers\.{_N}\.mlp\.up_proj\.{_WB}", rf"{s}.layers.\1.fc1.\2"),
        (rf"{stack}\.layers\.{_N}\.mlp\.down_proj\.{_WB}", rf"{s}.layers.\1.fc2.\2"),
        (rf"{stack}\.norm\.{_WB}", rf"{s}.layer_norm.\1"),
    )


def _bart(
    model_type: str,
    *extra: tuple[str, str] | Rule,
    buffers: tuple[str, ...] = (),
    unsaved: tuple[str, ...] = (),
    root: str = "model",
    head: str = "lm_head.weight",
) -> Naming:
    """BART's names (``model.encoder.layers.0.fc1``; ``root``: LED's ``led``), ``extra``
    rules first; ``head``: the LM head's name."""
    return Naming(
        model_type,
        (
            *_rules(*extra),
            Rule(r"embed_tokens\.weight", f"{root}.shared.weight"),
            *_bart_stack("encoder", root),
            *_bart_stack("decoder", root),
            Rule(r"lm_head\.weight", head),
        ),
        buffers=(r"final_logits_bias", *buffers),
        unsaved=unsaved,
        tied_copies=tuple(f"{root}.{s}.embed_tokens.weight" for s in ("encoder", "decoder")),
        head=head,
        prefixes=(f"{root}.",),
        base=f"{root}.",
    )


#: Two token tables (Marian unshared, FSMT): the source's is the encoder's own, the
#: decoder has its own (canonical ``decoder.embed_tokens``).
_TWO_VOCABULARIES = (
    (r"decoder\.embed_tokens\.weight", "model.decoder.embed_tokens.weight"),
    (r"embed_tokens\.weight", "model.encoder.embed_tokens.weight"),
)


BART = _bart("bart")

#: TrOCR's decoder alone (TrOCRForCausalLM): BART's decoder names under ``model.decoder``,
#: the LM head ``output_projection``.
TROCR = Naming(
    "trocr",
    (
        Rule(r"embed_tokens\.weight", "model.decoder.embed_tokens.weight"),
        *(Rule(r.pattern.removeprefix(r"decoder\."), r.target) for r in _bart_stack("decoder")),
        Rule(r"lm_head\.weight", "output_projection.weight"),
    ),
    head="output_projection.weight",
    prefixes=("model.",),
    base="model.",
)

# --------------------------------------------------------------------------- encoders and
# encoder-decoders of plugins/transformer_hf_encoders.py (each checked on a checkpoint
# saved by transformers: reference/checkpoint_headers.py)


def _bert_norms(first: str, second: str, final: str) -> tuple[tuple[str, str], ...]:
    """A BERT relative's block norms (before/after attention, then the MLP's) and final norm."""
    return (
        (rf"layers\.{_N}\.input_layernorm\.{_WB}", rf"encoder.layer.\1.{first}.\2"),
        (rf"layers\.{_N}\.post_attention_layernorm\.{_WB}", rf"encoder.layer.\1.{second}.\2"),
        (rf"norm\.{_WB}", rf"{final}.\1"),
    )


_XLM = Naming(
    "xlm",
    _rules(
        (r"embed_tokens\.weight", "embeddings.weight"),
        (r"embed_positions\.weight", "position_embeddings.weight"),
        (r"token_type_embeddings\.weight", "lang_embeddings.weight"),
        (rf"embed_norm\.{_WB}", r"layer_norm_emb.\1"),
        (rf"layers\.{_N}\.self_attn\.(q|k|v)_proj\.{_WB}", r"attentions.\1.\2_lin.\3"),
        (rf"layers\.{_N}\.self_attn\.o_proj\.{_WB}", r"attentions.\1.out_lin.\2"),
        (rf"layers\.{_N}\.input_layernorm\.{_WB}", r"layer_norm1.\1.\2"),
        (rf"layers\.{_N}\.mlp\.up_proj\.{_WB}", r"ffns.\1.lin1.\2"),
        (rf"layers\.{_N}\.mlp\.down_proj\.{_WB}", r"ffns.\1.lin2.\2"),
        (rf"layers\.{_N}\.post_attention_layernorm\.{_WB}", r"layer_norm2.\1.\2"),
    ),
    buffers=(r"(transformer\.)?position_ids",),
    prefixes=("transformer.",),
)


def _post_norm_rope(model_type: str, attention: str, mlp: dict[str, str], *, prefix: str) -> Naming:
    """Nomic BERT / Jina v3 as transformers 5 saves them: under their original repositories'
    names (``encoder.layers.0.attn.Wqkv``, ``emb_ln``), q, k and v fused, ``norm1`` after
    attention and ``norm2`` after the MLP; ``mlp`` renames the MLP's projections."""
    layer = r"encoder.layers.\1"
    return Naming(
        model_type,
        _rules(
            (r"embed_tokens\.weight", "embeddings.word_embeddings.weight"),
            (r"token_type_embeddings\.weight", "embeddings.token_type_embeddings.weight"),
            (rf"embed_norm\.{_WB}", r"emb_ln.\1"),
            (rf"layers\.{_N}\.self_attn\.Wqkv\.{_WB}", rf"{layer}.{attention}.Wqkv.\2"),
            (rf"layers\.{_N}\.self_attn\.o_proj\.{_WB}", rf"{layer}.{attention}.out_proj.\2"),
            *(
                (rf"layers\.{_N}\.mlp\.{ours}\.{_WB}", rf"{layer}.mlp.{theirs}.\2")
                for ours, theirs in mlp.items()
            ),
            (rf"layers\.{_N}\.input_layernorm\.{_WB}", rf"{layer}.norm1.\2"),
            (rf"layers\.{_N}\.post_attention_layernorm\.{_WB}", rf"{layer}.norm2.\2"),
            (rf"pooler\.dense\.{_WB}", r"pooler.dense.\1"),
        ),
        fuse=(Fuse(_QKV.parts, "self_attn.Wqkv"),),
        buffers=(rf"({prefix}\.)?embeddings\.(position_ids|token_type_ids)",),
        prefixes=(f"{prefix}.",),
    )


def _llama_encoder(model_type: str) -> Naming:
    """EuroBERT / UltraBERT: the family's own names; ``model.`` in their heads' checkpoints."""
    return Naming(
        model_type,
        _rules(
            (r"embed_tokens\.weight", "embed_tokens.weight"),
            (r"layers\.(.+)", r"layers.\1"),
            (rf"norm\.{_WB}", r"norm.\1"),
        ),
        prefixes=("model.",),
    )


def _bigbird_pegasus_encoder() -> tuple[tuple[str, str], ...]:
    s = r"model.encoder.layers.\1.self_attn"
    return (
        (rf"encoder\.layers\.{_N}\.self_attn\.q_proj\.{_WB}", rf"{s}.self.query.\2"),
        (rf"encoder\.layers\.{_N}\.self_attn\.k_proj\.{_WB}", rf"{s}.self.key.\2"),
        (rf"encoder\.layers\.{_N}\.self_attn\.v_proj\.{_WB}", rf"{s}.self.value.\2"),
        (rf"encoder\.layers\.{_N}\.self_attn\.o_proj\.{_WB}", rf"{s}.output.\2"),
    )


def _qkv(ours: str, theirs: str) -> tuple[tuple[str, str], ...]:
    """The q, k, v projections ``self_attn.<ours>`` saved as BERT-style
    ``encoder.layer.N.<theirs>`` (``{}``: q/k/v in ours, query/key/value in theirs)."""
    return tuple(
        (
            rf"layers\.{_N}\.self_attn\.{ours.format(short)}\.{_WB}",
            rf"encoder.layer.\1.{theirs.format(long)}.\2",
        )
        for short, long in (("q", "query"), ("k", "key"), ("v", "value"))
    )


#: YOSO's and Nystromformer's convolution over each head's values.
_VALUE_CONV = (
    (
        rf"layers\.{_N}\.self_attn\.value_conv\.weight",
        r"encoder.layer.\1.attention.self.conv.weight",
    ),
)

MODERNBERT = Naming(
    "modernbert",
    _rules(
        (r"embed_tokens\.weight", "embeddings.tok_embeddings.weight"),
        (rf"embed_norm\.{_WB}", r"embeddings.norm.\1"),
        (rf"layers\.{_N}\.self_attn\.Wqkv\.{_WB}", r"layers.\1.attn.Wqkv.\2"),
        (rf"layers\.{_N}\.self_attn\.o_proj\.{_WB}", r"layers.\1.attn.Wo.\2"),
        (rf"layers\.{_N}\.mlp\.Wi\.{_WB}", r"layers.\1.mlp.Wi.\2"),
        (rf"layers\.{_N}\.mlp\.down_proj\.{_WB}", r"layers.\1.mlp.Wo.\2"),
        (rf"layers\.{_N}\.input_layernorm\.{_WB}", r"layers.\1.attn_norm.\2"),
        (rf"layers\.{_N}\.post_attention_layernorm\.{_WB}", r"layers.\1.mlp_norm.\2"),
        (rf"norm\.{_WB}", r"final_norm.\1"),
    ),
    # Wi's first half is the input, its second the gate (``input, gate = Wi(x).chunk(2)``)
    fuse=(Fuse(_QKV.parts, "self_attn.Wqkv"), Fuse(("mlp.up_proj", "mlp.gate_proj"), "mlp.Wi")),
    prefixes=("model.",),
)


def _bert_decoder(model_type: str) -> Naming:
    """BertGeneration's decoder: BERT's names under ``bert.``, the LM head's bias
    ``lm_head.bias`` (``lm_head.decoder.bias`` is the same parameter), its weight
    ``lm_head.decoder.weight`` (tied to the token embedding, so not saved)."""
    encoder = _bert(model_type)
    return Naming(
        model_type,
        (
            *(Rule(r.pattern, f"bert.{r.target}") for r in encoder.rules),
            Rule(r"lm_head\.weight", "lm_head.decoder.weight"),
            Rule(r"lm_head\.bias", "lm_head.bias"),
        ),
        buffers=encoder.buffers,
        head="lm_head.decoder.weight",
        prefixes=("bert.",),
        base="bert.",
    )


#: GTE as transformers 5 saves it: under the original repositories' names (``new.``
#: prefix, ``encoder.layer.0.attention.qkv_proj``, ``attn_ln`` after attention, ``mlp_ln``
#: after the MLP), q, k, v fused and the MLP's up and gate fused, up first.
GTE = Naming(
    "gte",
    _rules(
        (r"embed_tokens\.weight", "embeddings.word_embeddings.weight"),
        (r"token_type_embeddings\.weight", "embeddings.token_type_embeddings.weight"),
        (rf"embed_norm\.{_WB}", r"embeddings.LayerNorm.\1"),
        (
            rf"layers\.{_N}\.self_attn\.(qkv_proj|o_proj)\.{_WB}",
            r"encoder.layer.\1.attention.\2.\3",
        ),
        (rf"layers\.{_N}\.mlp\.(up_gate_proj|down_proj)\.{_WB}", r"encoder.layer.\1.mlp.\2.\3"),
        (rf"layers\.{_N}\.input_layernorm\.{_WB}", r"encoder.layer.\1.attn_ln.\2"),
        (rf"layers\.{_N}\.post_attention_layernorm\.{_WB}", r"encoder.layer.\1.mlp_ln.\2"),
    ),
    fuse=(
        Fuse(_QKV.parts, "self_attn.qkv_proj"),
        Fuse(("mlp.up_proj", "mlp.gate_proj"), "mlp.up_gate_proj"),
    ),
    prefixes=("new.", "gte."),
)

ENCODER_NAMINGS = (
    _bert("electra", (rf"embed_proj\.{_WB}", r"embeddings_project.\1")),
    _bert(
        "ibert",
        buffers=(
            r"(ibert\.)?.*\.(weight_scaling_factor|weight_integer|bias_integer|"
            r"fc_scaling_factor|x_min|x_max|act_scaling_factor|shift)",
        ),
    ),
    _bert("ernie", (r"task_type_embeddings\.weight", "embeddings.task_type_embeddings.weight")),
    _bert(
        "deberta",
        (
            rf"layers\.{_N}\.self_attn\.in_proj\.weight",
            r"encoder.layer.\1.attention.self.in_proj.weight",
        ),
        (rf"layers\.{_N}\.self_attn\.(q|v)_proj\.bias", r"encoder.layer.\1.attention.self.\2_bias"),
        (
            rf"layers\.{_N}\.self_attn\.pos_key_proj\.weight",
            r"encoder.layer.\1.attention.self.pos_proj.weight",
        ),
        (
            rf"layers\.{_N}\.self_attn\.pos_query_proj\.{_WB}",
            r"encoder.layer.\1.attention.self.pos_q_proj.\2",
        ),
        (r"rel_embeddings\.weight", "encoder.rel_embeddings.weight"),
        # one bias-free in_proj holds q, k and v; only q and v have biases (q_bias, v_bias)
        fuse=(Fuse(_QKV.parts, "self_attn.in_proj"),),
    ),
    GTE,
    _bert_decoder("bert-generation"),
    TROCR,
    _bert("rembert", (rf"embed_proj\.{_WB}", r"encoder.embedding_hidden_mapping_in.\1")),
    _bert("big_bird", (rf"pooler\.dense\.{_WB}", r"pooler.\1"), prefix="bert"),
    _bert("megatron-bert", *_bert_norms("attention.ln", "ln", "encoder.ln"), prefix="bert"),
    _bert(
        "roberta-prelayernorm",
        *_bert_norms("attention.LayerNorm", "intermediate.LayerNorm", "LayerNorm"),
        prefix="roberta_prelayernorm",
    ),
    _bert(
        "xlm-roberta-xl",
        *_bert_norms("attention.self_attn_layer_norm", "LayerNorm", "encoder.LayerNorm"),
        prefix="roberta",
    ),
    _bert("yoso", *_VALUE_CONV),
    _bert("nystromformer", *_VALUE_CONV),
    _bert(
        "fnet",
        (rf"embed_proj\.{_WB}", r"embeddings.projection.\1"),
        (rf"layers\.{_N}\.input_layernorm\.{_WB}", r"encoder.layer.\1.fourier.output.LayerNorm.\2"),
    ),
    _bert("longformer", *_qkv("{}_global_proj", "attention.self.{}_global")),
    _bert(
        "deberta-v2",
        *_qkv("{}_proj", "attention.self.{}_proj"),
        (
            rf"layers\.{_N}\.self_attn\.pos_(key|query)_proj\.{_WB}",
            r"encoder.layer.\1.attention.self.pos_\2_proj.\3",
        ),
        (r"rel_embeddings\.weight", "encoder.rel_embeddings.weight"),
        (rf"rel_embeddings_norm\.{_WB}", r"encoder.LayerNorm.\1"),
        prefix="deberta",
    ),
    MODERNBERT,
    _bert(
        "roformer",
        (rf"embed_proj\.{_WB}", r"embeddings_project.\1"),
        (r"embed_positions\.weight", "encoder.embed_positions.weight"),
    ),
    _bert("mra"),
    _bert(
        "mpnet",
        (
            rf"layers\.{_N}\.self_attn\.(q|k|v|o)_proj\.{_WB}",
            r"encoder.layer.\1.attention.attn.\2.\3",
        ),
        (rf"layers\.{_N}\.input_layernorm\.{_WB}", r"encoder.layer.\1.attention.LayerNorm.\2"),
        (r"relative_attention_bias\.weight", "encoder.relative_attention_bias.weight"),
    ),
    _XLM,
    Naming("flaubert", _XLM.rules, buffers=_XLM.buffers, prefixes=_XLM.prefixes),
    _post_norm_rope(
        "nomic_bert",
        "attn",
        {"up_proj": "fc11", "gate_proj": "fc12", "down_proj": "fc2"},
        prefix="nomic_bert",
    ),
    _post_norm_rope(
        "jina_embeddings_v3", "mixer", {"up_proj": "fc1", "down_proj": "fc2"}, prefix="roberta"
    ),
    _llama_encoder("eurobert"),
    _llama_encoder("ultrabert"),
    _t5("mt5"),
    _t5("umt5"),
    _t5("longt5", "LocalSelfAttention"),
    *(
        _bart(t)
        for t in (
            "mbart",
            "plbart",
            "mvp",
            "pegasus",
            "blenderbot",
            "blenderbot-small",
        )
    ),
    _bart(
        "marian",
        # one shared table unless the decoder has its own (share_encoder_decoder_embeddings)
        Rule(r"embed_tokens\.weight", "model.shared.weight", unless="decoder.embed_tokens.weight"),
        *_TWO_VOCABULARIES,
        unsaved=(r"model\.(encoder|decoder)\.embed_positions\.weight",),
    ),
    _bart(
        "fsmt",
        Rule(r"decoder\.embed_tokens\.weight", "model.decoder.embed_tokens.weight"),
        # tie_word_embeddings: one table for both stacks and the output projection
        Rule(
            r"embed_tokens\.weight",
            "model.encoder.embed_tokens.weight",
            alternatives=("model.decoder.embed_tokens.weight",),
        ),
        head="model.decoder.output_projection.weight",
    ),
    _bart(
        "led",
        *(
            (
                rf"encoder\.layers\.{_N}\.self_attn\.{short}_{kind}proj\.{_WB}",
                rf"led.encoder.layers.\1.self_attn.longformer_self_attn.{long}{suffix}.\2",
            )
            for short, long in (("q", "query"), ("k", "key"), ("v", "value"))
            for kind, suffix in (("", ""), ("global_", "_global"))
        ),
        (
            rf"encoder\.layers\.{_N}\.self_attn\.o_proj\.{_WB}",
            r"led.encoder.layers.\1.self_attn.output.\2",
        ),
        root="led",
    ),
    _bart("m2m_100", buffers=(r"model\.(encoder|decoder)\.embed_positions\.weights",)),
    _bart("bigbird_pegasus", *_bigbird_pegasus_encoder()),
)

# ------------------------------------------------------------------ hybrid decoders
# (plugins/transformer_hf_hybrid.py; checked on reference/checkpoint_headers.py's cases)

_L = rf"layers\.{_N}"
#: Jamba and Bamba: the MLP is "feed_forward", its norm "pre_ff_layernorm", the last
#: norm "final_layernorm".
_FEED_FORWARD = (
    (rf"{_L}\.mlp\.gate\.{_WB}", r"model.layers.\1.feed_forward.router.\2"),
    (rf"{_L}\.mlp\.(.+)", r"model.layers.\1.feed_forward.\2"),
    (rf"{_L}\.post_attention_layernorm\.{_WB}", r"model.layers.\1.pre_ff_layernorm.\2"),
    (rf"norm\.{_WB}", r"model.final_layernorm.\1"),
)
#: Qwen3-Next and Qwen3.5: the attention's output gate is fused into q_proj.
_GATED_Q = Fuse(("self_attn.q_proj", "self_attn.g_proj"), "self_attn.q_proj")
_SHARED_EXPERT = (rf"{_L}\.mlp\.shared_experts\.(.+)", r"model.layers.\1.mlp.shared_expert.\2")


#: LFM2 and LFM3: the MLP is "feed_forward" with w1/w3/w2, the block's input norm
#: "operator_norm", the MLP's "ffn_norm" (LFM3 with sandwich norms names its norm after the
#: operator apart), the last norm "embedding_norm".
_LFM = (
    (rf"{_L}\.mlp\.gate_proj\.weight", r"model.layers.\1.feed_forward.w1.weight"),
    (rf"{_L}\.mlp\.up_proj\.weight", r"model.layers.\1.feed_forward.w3.weight"),
    (rf"{_L}\.mlp\.down_proj\.weight", r"model.layers.\1.feed_forward.w2.weight"),
    (rf"{_L}\.input_layernorm\.weight", r"model.layers.\1.operator_norm.weight"),
    Rule(
        rf"{_L}\.post_attention_layernorm\.weight",
        r"model.layers.\1.ffn_norm.weight",
        unless=r"layers.\1.pre_feedforward_layernorm.weight",
    ),
    (r"norm\.weight", "model.embedding_norm.weight"),
)


def _backbone(model_type: str, *extra: tuple[str, str], buffers: tuple[str, ...] = ()) -> Naming:
    """Mamba-style names: ``backbone.``, every sub-layer is the block's ``mixer``, one
    ``norm`` per block, ``norm_f`` last (Falcon-Mamba, Nemotron-H)."""
    return Naming(
        model_type,
        _rules(
            *extra,
            (r"embed_tokens\.weight", "backbone.embeddings.weight"),
            (rf"{_L}\.(?:mamba|self_attn|mlp)\.(.+)", r"backbone.layers.\1.mixer.\2"),
            (rf"{_L}\.input_layernorm\.{_WB}", r"backbone.layers.\1.norm.\2"),
            (rf"norm\.{_WB}", r"backbone.norm_f.\1"),
            (rf"lm_head\.{_WB}", r"lm_head.\1"),
        ),
        buffers=buffers,
        prefixes=("backbone.",),
        base="backbone.",
    )


#: RWKV-4 (``mixer: rwkv``, ``mlp: rwkv``): ``rwkv.blocks``, the two block norms ``ln1`` and
#: ``ln2``, the embedding norm kept in block 0 as ``pre_ln``, ``ln_out`` last, ``head``.
RWKV = Naming(
    "rwkv",
    _rules(
        (r"embed_tokens\.weight", "rwkv.embeddings.weight"),
        (rf"embed_norm\.{_WB}", r"rwkv.blocks.0.pre_ln.\1"),
        (rf"{_L}\.input_layernorm\.{_WB}", r"rwkv.blocks.\1.ln1.\2"),
        (rf"{_L}\.post_attention_layernorm\.{_WB}", r"rwkv.blocks.\1.ln2.\2"),
        (rf"{_L}\.((?:attention|feed_forward)\..+)", r"rwkv.blocks.\1.\2"),
        (rf"norm\.{_WB}", r"rwkv.ln_out.\1"),
        (r"lm_head\.weight", "head.weight"),
    ),
    head="head.weight",
    prefixes=("rwkv.",),
    base="rwkv.",
)


_CONVS = ("linear_attn.q_conv1d", "linear_attn.k_conv1d", "linear_attn.v_conv1d")
#: OLMo-Hybrid as its released checkpoints store it: the modules' own names (so
#: post_attention_layernorm is the norm before the MLP in DeltaNet layers, the norm after
#: attention in attention layers), the DeltaNet's convolution cut at the q/k/v widths.
OLMO_HYBRID_RELEASED = replace(
    _llama(
        "olmo_hybrid",
        *_norms(
            {
                "mixer_output_norm": "post_attention_layernorm",
                "mlp_output_norm": "post_feedforward_layernorm",
            }
        ),
    ),
    split=(
        Split(
            "linear_attn.conv1d",
            _CONVS,
            at=("linear_attn.q_proj", "linear_attn.k_proj", "linear_attn.v_proj"),
        ),
    ),
    layout="as the released OLMo-Hybrid checkpoints store it (convolutions cut at the "
    "q/k/v widths, norms under their module names)",
)
#: OLMo-Hybrid as transformers 5.24's save_pretrained writes it, through the reverse of
#: its loading conversion: the DeltaNet layers' norms renamed attention_layer_norm and
#: feedforward_layer_norm (and so the attention layers' post_attention_layernorm too), the
#: convolution cut in three torch.chunk pieces whatever the q/k/v widths.
OLMO_HYBRID = replace(
    _llama(
        "olmo_hybrid",
        *_norms(
            {
                "input_layernorm": "attention_layer_norm",
                "post_attention_layernorm": "feedforward_layer_norm",
                "mixer_output_norm": "feedforward_layer_norm",
                "mlp_output_norm": "post_feedforward_layernorm",
            }
        ),
    ),
    split=(Split("linear_attn.conv1d", _CONVS),),
    variants=(OLMO_HYBRID_RELEASED,),
)

HYBRID = (
    _llama("jamba", *_FEED_FORWARD),
    _llama("bamba", *_FEED_FORWARD),
    _llama(
        "granitemoehybrid",
        (rf"{_L}\.mlp\.gate\.weight", r"model.layers.\1.block_sparse_moe.router.layer.weight"),
        (
            rf"{_L}\.mlp\.experts\.gate_up_proj\.weight",
            r"model.layers.\1.block_sparse_moe.input_linear.weight",
        ),
        (
            rf"{_L}\.mlp\.experts\.down_proj\.weight",
            r"model.layers.\1.block_sparse_moe.output_linear.weight",
        ),
        # the always-active shared MLP (the dense MLP when there are no experts)
        (
            rf"{_L}\.mlp\.(?:shared_experts\.)?gate_up_proj\.weight",
            r"model.layers.\1.shared_mlp.input_linear.weight",
        ),
        (
            rf"{_L}\.mlp\.(?:shared_experts\.)?down_proj\.weight",
            r"model.layers.\1.shared_mlp.output_linear.weight",
        ),
        fuse=(
            Fuse(("mlp.experts.gate_proj", "mlp.experts.up_proj"), "mlp.experts.gate_up_proj", 1),
            Fuse(
                ("mlp.shared_experts.gate_proj", "mlp.shared_experts.up_proj"),
                "mlp.shared_experts.gate_up_proj",
            ),
            Fuse(("mlp.gate_proj", "mlp.up_proj"), "mlp.gate_up_proj"),
        ),
        split_experts=False,
    ),
    _backbone("falcon_mamba"),
    _backbone(
        "nemotron_h", buffers=(r"(backbone\.)?layers\.\d+\.mixer\.gate\.e_score_correction_bias",)
    ),
    _llama(
        "qwen3_next",
        _SHARED_EXPERT,
        fuse=(
            _GATED_Q,
            Fuse(("linear_attn.in_proj_qkv", "linear_attn.in_proj_z"), "linear_attn.in_proj_qkvz"),
            Fuse(("linear_attn.in_proj_b", "linear_attn.in_proj_a"), "linear_attn.in_proj_ba"),
        ),
    ),
    OLMO_HYBRID,
    _llama("qwen3_5_text", fuse=(_GATED_Q,)),
    _llama("qwen3_5_moe_text", _SHARED_EXPERT, fuse=(_GATED_Q,)),
    _llama(
        "llama4_text",
        Rule(
            rf"{_L}\.mlp\.experts\.(gate_up_proj|down_proj)\.weight",
            r"model.layers.\1.feed_forward.experts.\2",
            transpose=True,
        ),
        (rf"{_L}\.mlp\.gate\.weight", r"model.layers.\1.feed_forward.router.weight"),
        (rf"{_L}\.mlp\.shared_experts\.(.+)", r"model.layers.\1.feed_forward.shared_expert.\2"),
        (rf"{_L}\.mlp\.(.+)", r"model.layers.\1.feed_forward.\2"),
        fuse=(
            Fuse(("mlp.experts.gate_proj", "mlp.experts.up_proj"), "mlp.experts.gate_up_proj", 1),
        ),
        split_experts=False,
    ),
    _llama(
        "laguna",
        # its score-correction bias is a parameter, saved beside the experts
        (rf"{_L}\.mlp\.gate\.bias", r"model.layers.\1.mlp.experts.e_score_correction_bias"),
        _SHARED_EXPERT,
    ),
    _llama(
        "minimax",
        *MIXTRAL.rules[:4],
        # the lightning attention's decay tables are saved buffers
        buffers=(
            r"(model\.)?layers\.\d+\.self_attn\.(diagonal_decay|key_decay|query_decay|slope_rate)",
        ),
    ),
    _llama(
        "falcon_h1",
        (rf"{_L}\.mlp\.(.+)", r"model.layers.\1.feed_forward.\2"),
        (rf"{_L}\.post_attention_layernorm\.weight", r"model.layers.\1.pre_ff_layernorm.weight"),
        (r"norm\.weight", "model.final_layernorm.weight"),
    ),
    _llama(
        "recurrent_gemma",
        (rf"{_L}\.self_attn\.(.+)", r"model.layers.\1.temporal_block.\2"),
        (rf"{_L}\.mlp\.(.+)", r"model.layers.\1.mlp_block.\2"),
        (rf"{_L}\.input_layernorm\.weight", r"model.layers.\1.temporal_pre_norm.weight"),
        (rf"{_L}\.post_attention_layernorm\.weight", r"model.layers.\1.channel_pre_norm.weight"),
        (r"norm\.weight", "model.final_norm.weight"),
    ),
    _llama(
        "lara_mini",
        _SHARED_EXPERT,
        (rf"{_L}\.linear_attn\.norm\.weight", r"model.layers.\1.linear_attn.out_norm.weight"),
        # stacked experts are saved as bare parameters (no ".weight")
        (
            rf"{_L}\.mlp\.experts\.(gate_up_proj|down_proj)\.weight",
            r"model.layers.\1.mlp.experts.\2",
        ),
        fuse=(
            # the checkpoints keep the DeltaNet's input projections in one in_proj
            Fuse(
                (
                    "linear_attn.in_proj_qkv",
                    "linear_attn.in_proj_z",
                    "linear_attn.in_proj_b",
                    "linear_attn.in_proj_a",
                ),
                "linear_attn.in_proj",
            ),
            Fuse(("mlp.experts.gate_proj", "mlp.experts.up_proj"), "mlp.experts.gate_up_proj", 1),
        ),
        split_experts=False,
    ),
    _llama(
        "lfm2",
        (rf"{_L}\.self_attn\.o_proj\.weight", r"model.layers.\1.self_attn.out_proj.weight"),
        (rf"{_L}\.self_attn\.(q|k)_norm\.weight", r"model.layers.\1.self_attn.\2_layernorm.weight"),
        *_LFM,
    ),
    _llama(
        "lfm3",
        (rf"{_L}\.self_attn\.g_proj\.weight", r"model.layers.\1.self_attn.gate_proj.weight"),
        *_LFM,
        # sandwich norms: the spec's second norm follows the operator
        (rf"{_L}\.post_attention_layernorm\.weight", r"model.layers.\1.post_operator_norm.weight"),
        (rf"{_L}\.pre_feedforward_layernorm\.weight", r"model.layers.\1.ffn_norm.weight"),
        (rf"{_L}\.post_feedforward_layernorm\.weight", r"model.layers.\1.post_ffn_norm.weight"),
    ),
    _llama(
        "bailing_hybrid",
        # Ling's checkpoints: "attention" for both mixers, o_proj as "dense", the delta
        # attention's gate tensors flat, the router's score correction as "expert_bias"
        (r"embed_tokens\.weight", "model.word_embeddings.weight"),
        (rf"{_L}\.self_attn\.forget_gate\.(.+)", r"model.layers.\1.attention.\2"),
        (rf"{_L}\.self_attn\.o_proj\.{_WB}", r"model.layers.\1.attention.dense.\2"),
        (rf"{_L}\.self_attn\.(.+)", r"model.layers.\1.attention.\2"),
        buffers=(r"(model\.)?layers\.\d+\.mlp\.gate\.expert_bias",),
    ),
    _llama(
        "kimi_linear",
        # Kimi's checkpoints keep the delta attention's gate flat and its experts as
        # block_sparse_moe with Mixtral's names; the dense MLP is "mlp" in the published
        # checkpoints, "block_sparse_moe" in what transformers 5.24 saves
        (rf"{_L}\.self_attn\.forget_gate\.(.+)", r"model.layers.\1.self_attn.\2"),
        *_experts(
            r"model.layers.\1.block_sparse_moe",
            {"gate_proj": "w1", "up_proj": "w3", "down_proj": "w2"},
        ),
        Rule(
            rf"{_L}\.mlp\.((?:gate|up|down)_proj)\.weight",
            r"model.layers.\1.block_sparse_moe.\2.weight",
            alternatives=(r"model.layers.\1.mlp.\2.weight",),
        ),
        (rf"{_L}\.mlp\.(.+)", r"model.layers.\1.block_sparse_moe.\2"),
        buffers=(r"(model\.)?layers\.\d+\.block_sparse_moe\.gate\.e_score_correction_bias",),
    ),
)

#: Model types saved under the family's own names with ``model.`` (Llama's convention).
_LLAMA_TYPES = (
    "llama",
    "mistral",
    "qwen2",
    "qwen3",
    "gemma",
    "gemma2",
    "olmo",
    "arcee",
    "cohere",
    "cohere2",
    "cwm",
    "ernie4_5",
    "gemma3_text",
    "granite",
    "helium",
    "internlm3",
    "iquestcoder",
    "ministral3",
    "olmoe",
    "qwen3_moe",
    "seed_oss",
    "smollm3",
    "stablelm",
)

# ------------------------------------------------ decoders of plugins/transformer_hf_decoders.py

_DEEPSEEK_BUFFERS = (r"(model\.)?layers\.\d+\.mlp\.gate\.e_score_correction_bias",)

HY_V3 = _llama(
    "hy_v3",
    (rf"layers\.{_N}\.mlp\.gate\.weight", r"model.layers.\1.mlp.router.gate.weight"),
    (rf"layers\.{_N}\.mlp\.shared_experts\.(.+)", r"model.layers.\1.mlp.shared_mlp.\2"),
    buffers=(r"(model\.)?layers\.\d+\.mlp\.expert_bias",),
)

FLINT = _llama(
    "flint",
    (rf"layers\.{_N}\.self_attn\.sinks", r"model.layers.\1.self_attn.softmax_offset"),
    (rf"layers\.{_N}\.mlp\.shared_experts\.(.+)", r"model.layers.\1.mlp.shared_expert.\2"),
)

_GRANITE_MOE = r"model.layers.\1.block_sparse_moe"
GRANITEMOE_SWA = _llama(
    "granitemoe_swa",
    (rf"layers\.{_N}\.mlp\.gate\.weight", rf"{_GRANITE_MOE}.router.weight"),
    (
        rf"layers\.{_N}\.mlp\.experts\.(gate_up|down)_proj\.weight",
        rf"{_GRANITE_MOE}.experts.\2_proj",
    ),
    (
        rf"layers\.{_N}\.mlp\.shared_experts\.input_linear\.weight",
        r"model.layers.\1.shared_mlp.input_linear.weight",
    ),
    (
        rf"layers\.{_N}\.mlp\.shared_experts\.down_proj\.weight",
        r"model.layers.\1.shared_mlp.output_linear.weight",
    ),
    fuse=(
        Fuse(("mlp.experts.gate_proj", "mlp.experts.up_proj"), "mlp.experts.gate_up_proj", axis=1),
        Fuse(
            ("mlp.shared_experts.gate_proj", "mlp.shared_experts.up_proj"),
            "mlp.shared_experts.input_linear",
        ),
    ),
    split_experts=False,
)

AFMOE = _llama(
    "afmoe",
    *_norms(
        {
            "pre_feedforward_layernorm": "pre_mlp_layernorm",
            "post_feedforward_layernorm": "post_mlp_layernorm",
        }
    ),
    (rf"layers\.{_N}\.self_attn\.g_proj\.weight", r"model.layers.\1.self_attn.gate_proj.weight"),
    (rf"layers\.{_N}\.mlp\.gate\.weight", r"model.layers.\1.mlp.router.gate.weight"),
    # the per-expert bias is a parameter (archcalc's router bias)
    (rf"layers\.{_N}\.mlp\.gate\.bias", r"model.layers.\1.mlp.expert_bias"),
)

#: Kolibri 1 saves GLM-4-style sandwich norms as post_attn_norm / post_ffn_norm.
KOLIBRI1 = _llama(
    "kolibri1",
    *_norms(
        {
            "post_attention_layernorm": "post_attn_norm",
            "pre_feedforward_layernorm": "post_attention_layernorm",
            "post_feedforward_layernorm": "post_ffn_norm",
        }
    ),
    buffers=(r"(model\.)?layers\.\d+\.(moe|mlp)\.router\.expert_bias",),
)

ERNIE4_5_MOE = _llama(
    "ernie4_5_moe",
    Rule(
        rf"layers\.{_N}\.mlp\.gate\.bias",
        r"model.layers.\1.mlp.moe_statics.e_score_correction_bias",
        leading=1,
    ),
)

MINIMAX_M2 = _llama(
    "minimax_m2",
    *MIXTRAL.rules[:4],
    buffers=(r"(model\.)?layers\.\d+\.block_sparse_moe\.e_score_correction_bias",),
)

#: MiniMax-M3's text model: experts stacked (E, 2F, d) with gate and up fused, as are the
#: dense and shared MLPs' gate and up projections; the router's score bias is a buffer.
MINIMAX_M3 = _llama(
    "minimax_m3_vl_text",
    (
        rf"layers\.{_N}\.mlp\.experts\.(gate_up_proj|down_proj)\.weight",
        r"model.layers.\1.mlp.experts.\2",
    ),
    fuse=(
        Fuse(("mlp.experts.gate_proj", "mlp.experts.up_proj"), "mlp.experts.gate_up_proj", 1),
        Fuse(
            ("mlp.shared_experts.gate_proj", "mlp.shared_experts.up_proj"),
            "mlp.shared_experts.gate_up_proj",
        ),
        _GATE_UP,
    ),
    buffers=_SCORE_BIAS,
    split_experts=False,
)

CTRL = Naming(
    "ctrl",
    _rules(
        (r"embed_tokens\.weight", "transformer.w.weight"),
        *(
            (
                rf"layers\.{_N}\.self_attn\.{ours}_proj\.{_WB}",
                rf"transformer.h.\1.multi_head_attention.{theirs}.\2",
            )
            for ours, theirs in (("q", "Wq"), ("k", "Wk"), ("v", "Wv"), ("o", "dense"))
        ),
        (rf"layers\.{_N}\.mlp\.up_proj\.{_WB}", r"transformer.h.\1.ffn.0.\2"),
        (rf"layers\.{_N}\.mlp\.down_proj\.{_WB}", r"transformer.h.\1.ffn.2.\2"),
        (rf"layers\.{_N}\.input_layernorm\.{_WB}", r"transformer.h.\1.layernorm1.\2"),
        (rf"layers\.{_N}\.post_attention_layernorm\.{_WB}", r"transformer.h.\1.layernorm2.\2"),
        (rf"norm\.{_WB}", r"transformer.layernorm.\1"),
        (rf"lm_head\.{_WB}", r"lm_head.\1"),
    ),
    prefixes=("transformer.",),
    base="transformer.",
)

#: GPT-NeoX's names under gpt_neox_japanese.; the last layer's attention output bias is a
#: separate ``dense_bias``.
GPT_NEOX_JAPANESE = Naming(
    "gpt_neox_japanese",
    _rules(
        (
            rf"layers\.{_N}\.self_attn\.o_proj\.bias",
            r"gpt_neox_japanese.layers.\1.attention.dense_bias",
        ),
        *(
            Rule(r.pattern, r.target.replace("gpt_neox.", "gpt_neox_japanese."))
            for r in GPT_NEOX.rules
        ),
    ),
    fuse=(_QKV,),
    head="embed_out.weight",
    prefixes=("gpt_neox_japanese.",),
    base="gpt_neox_japanese.",
)

_DECODERS = (
    *(
        _llama(t)
        for t in (
            "bitnet",
            "granite_swa",
            "jais2",
            "deepseek_v2",
            "cohere2_moe",
            "mellum",
            "minicpm3",
            "youtu",
        )
    ),
    _llama("sarvam_mla", buffers=_DEEPSEEK_BUFFERS),
    # Gemma 4 keeps a per-layer output scale as a saved buffer
    _llama("gemma4_unified_text", buffers=(r"(model\.)?layers\.\d+\.layer_scalar",)),
    AFMOE,
    KOLIBRI1,
    ERNIE4_5_MOE,
    MINIMAX_M2,
    MINIMAX_M3,
    CTRL,
    GPT_NEOX_JAPANESE,
    _llama("exaone_moe", buffers=(r"(model\.)?layers\.\d+\.mlp\.e_score_correction_bias",)),
    *(
        _llama(t, buffers=_DEEPSEEK_BUFFERS)
        for t in ("deepseek_v32", "glm_moe_dsa", "glm4_moe_lite")
    ),
    HY_V3,
    FLINT,
    GRANITEMOE_SWA,
)

NAMINGS: dict[str, Naming] = {
    n.model_type: n
    for n in (
        *(_llama(t) for t in _LLAMA_TYPES),
        MIXTRAL,
        QWEN2_MOE,
        PHI3,
        STARCODER2,
        DEEPSEEK_V3,
        GPT2,
        GPTJ,
        GPT_NEOX,
        FALCON,
        OPT,
        _bert("bert"),
        _bert("roberta"),
        DISTILBERT,
        ALBERT,
        RWKV,
        T5,
        BART,
        *HYBRID,
        # measured with transformers 5.24 as well (reference/checkpoint_headers.py)
        *(_llama(t, *_POST_NORMS) for t in ("olmo2", "olmo3", "flex_olmo", "exaone4")),
        *(_llama(t, buffers=_SCORE_BIAS) for t in ("glm4_moe", "solar_open")),
        _llama("vaultgemma", *_norms({"post_attention_layernorm": "pre_feedforward_layernorm"})),
        _llama("glm", fuse=(_GATE_UP,)),
        _llama("glm4", *_norms(_GLM4_NORMS), fuse=(_GATE_UP,)),
        _llama(
            "hyperclovax",
            *_norms(
                {
                    **_GLM4_NORMS,
                    "post_attention_layernorm": "post_norm1",
                    "post_feedforward_layernorm": "post_norm2",
                }
            ),
        ),
        _llama("nanochat", *_mlp({"up_proj": "fc1", "down_proj": "fc2"})),
        _llama("phimoe", *MIXTRAL.rules[:4]),
        GPT_OSS,
        _granitemoe("granitemoe"),
        _granitemoe("granitemoeshared"),
        PERSIMMON,
        PHI,
        SARVAM_MOE,
        _gpt2("gpt-sw3", buffers=_GPT2_MASKS),
        _gpt2("openai-gpt", tokens="tokens_embed", positions="positions_embed"),
        _gpt2("gpt_bigcode", conv1d=False, buffers=_GPT2_MASKS),
        CODEGEN,
        EXAONE,
        GPT_NEO,
        MPT,
        BLOOM,
        XGLM,
        BIOGPT,
        _bert("xlm-roberta", prefix="roberta"),
        _bert("camembert", prefix="roberta"),
        _bert("data2vec-text", prefix="data2vec_text"),
        *ENCODER_NAMINGS,
        *_DECODERS,
    )
}


#: Multi-token-prediction layers stored after the decoder layers, which transformers
#: leaves unloaded (``_keys_to_ignore_on_load_unexpected`` of transformers 5.24).
IGNORED_ON_LOAD = {
    "deepseek_v3": (r"model\.layers\.61.*",),
    "deepseek_v32": (r"model\.layers\.61.*",),
    "glm4_moe": (r"model\.layers\.92.*", r"model\.layers\.46.*"),
    "glm4_moe_lite": (r"model\.layers\.47.*",),
    "glm_moe_dsa": (r"model\.layers\.78.*",),
    "hy_v3": (r"model\.layers\.80.*",),
}
NAMINGS.update({t: replace(NAMINGS[t], ignored=p) for t, p in IGNORED_ON_LOAD.items()})


def naming_for(model_type: str) -> Naming | None:
    return NAMINGS.get(model_type)
