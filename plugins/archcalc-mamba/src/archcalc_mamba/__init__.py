"""archcalc-mamba: Mamba and Mamba-2 state-space language models for archcalc.

Two families, counted tensor by tensor the way Hugging Face transformers builds
``MambaForCausalLM`` and ``Mamba2ForCausalLM``:

* ``family: mamba`` (Mamba-1, selective scan). Per block: an RMSNorm (``d_model``), and a
  mixer with ``in_proj`` (``d_model → 2·d_inner``), a depthwise ``conv1d`` over ``d_inner``
  channels (``d_conv`` taps, optional bias), ``x_proj`` (``d_inner → dt_rank + 2·d_state``,
  no bias), ``dt_proj`` (``dt_rank → d_inner``, with bias), ``A_log`` (``d_inner·d_state``),
  ``D`` (``d_inner``) and ``out_proj`` (``d_inner → d_model``).
* ``family: mamba2`` (Mamba-2, state-space duality). Per block: an RMSNorm and a mixer with
  ``in_proj`` (``d_model → 2·d_inner + 2·n_groups·d_state + n_heads``), a depthwise
  ``conv1d`` over ``d_inner + 2·n_groups·d_state`` channels, per-head ``dt_bias``, ``A_log``
  and ``D``, a gated RMSNorm over ``d_inner`` and ``out_proj``.

Both: token embeddings ``vocab_size·d_model``, a final RMSNorm, and an LM head unless it
is tied to the embeddings (tied by default, as in the published checkpoints). Each mixer
is written once as its tensors' shapes: ``count`` sums them by component, ``archcalc
tensors`` and ``archcalc check`` list them block by block under the names the Hugging Face
checkpoints use (``backbone.layers.0.mixer.in_proj.weight``).

And one layer type for ``family: cnn`` specs over sequences (input ``[L, d_model]``):
``- mamba: {d_state: 16}`` is a Mamba-1 mixer (``MambaMixer``, the same as mamba_ssm's
``Mamba`` module) whose ``d_model`` is the width flowing in; it keeps the shape.
``- mamba2: {head_dim: 64}`` is the Mamba-2 mixer (``Mamba2Mixer``) likewise.

The formulas are plain arithmetic on the resolved values, so the same code gives exact
integers for ``archcalc count`` and sympy expressions for ``archcalc formula``.

Hugging Face configs (``model_type: mamba`` / ``mamba2``, e.g. ``state-spaces/mamba-130m-hf``)
are read through the ``archcalc_hf_model_types`` hook: ``archcalc count config.json``
counts exactly what ``MambaForCausalLM`` / ``Mamba2ForCausalLM`` build from them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archcalc import Breakdown, Family, Field, HFModelType, LayerType, Part, hookimpl

if TYPE_CHECKING:  # only for the hints: importing the config reader costs every run's start-up
    from archcalc import ConfigReader

if TYPE_CHECKING:
    from archcalc import Tensor

__version__ = "0.1.0"

# --- fields shared by both families ---------------------------------------------------------

_COMMON_HEAD = (
    Field("n_layers", "size", "Number of Mamba blocks (num_hidden_layers)."),
    Field("d_model", "size", "Width of the residual stream (hidden_size)."),
    Field("vocab_size", "size", "Number of token embeddings."),
)
_COMMON_TAIL = (
    Field("d_conv", "size", "Taps of the depthwise causal convolution (conv_kernel).", default=4),
    Field("expand", "size", "Inner width as a multiple of d_model.", default=2),
    Field(
        "d_inner",
        "size",
        "Inner width of the mixer (intermediate_size); give it to override expand.",
        default="expand * d_model",
    ),
    Field(
        "conv_bias",
        "bool",
        "Whether the convolution has a bias (use_conv_bias).",
        default=True,
    ),
    Field(
        "bias",
        "bool",
        "Whether in_proj and out_proj have biases (use_bias).",
        default=False,
    ),
    Field(
        "tie_embeddings",
        "bool",
        "Whether the LM head shares the token embedding matrix (tie_word_embeddings).",
        default=True,
    ),
)

MAMBA_FIELDS = (
    *_COMMON_HEAD,
    Field("d_state", "size", "State size N of the SSM per channel (state_size).", default=16),
    *_COMMON_TAIL,
    Field(
        "dt_rank",
        "size",
        "Rank of the time-step projection (time_step_rank).",
        default="ceil(d_model / 16)",
    ),
)

MAMBA2_FIELDS = (
    *_COMMON_HEAD,
    Field("d_state", "size", "State size N of the SSM per group (state_size).", default=128),
    *_COMMON_TAIL,
    Field("head_dim", "size", "Width of one SSM head.", default=64),
    Field(
        "n_heads",
        "size",
        "SSM heads; n_heads · head_dim must equal d_inner.",
        default="d_inner / head_dim",
        default_hint="head_dim must divide d_inner (expand · d_model), or give n_heads",
    ),
    Field(
        "n_groups",
        "size",
        "Groups sharing B and C projections (n_groups); must divide n_heads.",
        default=1,
    ),
)


# --- the formulas, written once for ints and symbols ----------------------------------------


def linear(d_in: Any, d_out: Any, bias: bool) -> Any:
    """A d_in × d_out weight, plus d_out biases when ``bias``."""
    return d_in * d_out + (d_out if bias else 0)


def depthwise_conv(channels: Any, taps: Any, bias: bool) -> Any:
    """A depthwise Conv1d: one filter of ``taps`` weights per channel (groups = channels)."""
    return channels * taps + (channels if bias else 0)


#: A mixer's tensors by name (as MambaMixer / Mamba2Mixer name them), None when absent.
Shapes = dict[str, tuple[Any, ...] | None]


def mamba_shapes(v: Any) -> Shapes:
    """Mamba-1 mixer tensors (MambaMixer): (out, in) weights, a (C, 1, taps) convolution."""
    return {
        "in_proj.weight": (2 * v.d_inner, v.d_model),
        "in_proj.bias": (2 * v.d_inner,) if v.bias else None,
        "conv1d.weight": (v.d_inner, 1, v.d_conv),
        "conv1d.bias": (v.d_inner,) if v.conv_bias else None,
        "x_proj.weight": (v.dt_rank + 2 * v.d_state, v.d_inner),
        "dt_proj.weight": (v.d_inner, v.dt_rank),
        "dt_proj.bias": (v.d_inner,),
        "A_log": (v.d_inner, v.d_state),
        "D": (v.d_inner,),
        "out_proj.weight": (v.d_model, v.d_inner),
        "out_proj.bias": (v.d_model,) if v.bias else None,
    }


def mamba2_shapes(v: Any) -> Shapes:
    """Mamba-2 mixer tensors (Mamba2Mixer): in_proj gives z, x, B, C and dt at once."""
    conv_dim = v.d_inner + 2 * v.n_groups * v.d_state
    return {
        "in_proj.weight": (v.d_inner + conv_dim + v.n_heads, v.d_model),
        "in_proj.bias": (v.d_inner + conv_dim + v.n_heads,) if v.bias else None,
        "conv1d.weight": (conv_dim, 1, v.d_conv),
        "conv1d.bias": (conv_dim,) if v.conv_bias else None,
        "dt_bias": (v.n_heads,),
        "A_log": (v.n_heads,),
        "D": (v.n_heads,),
        "norm.weight": (v.d_inner,),
        "out_proj.weight": (v.d_model, v.d_inner),
        "out_proj.bias": (v.d_model,) if v.bias else None,
    }


def _numel(shape: tuple[Any, ...]) -> Any:
    total: Any = 1
    for dim in shape:
        total = total * dim
    return total


def _grouped(shapes: Shapes, groups: dict[str, str]) -> dict[str, Any]:
    """Parameters by component: each tensor's module (``in_proj``), or ``groups``' label."""
    out: dict[str, Any] = {}
    for name, shape in shapes.items():
        if shape is not None:
            group = groups.get(name, name.split(".")[0])
            out[group] = out.get(group, 0) + _numel(shape)
    return out


def mamba_mixer(v: Any) -> dict[str, Any]:
    """Mamba-1 mixer parameters by tensor group (MambaMixer)."""
    return _grouped(mamba_shapes(v), {"A_log": "A_log, D", "D": "A_log, D"})


def mamba2_mixer(v: Any) -> dict[str, Any]:
    """Mamba-2 mixer parameters by tensor group (Mamba2Mixer)."""
    shared = "dt_bias, A_log, D"
    return _grouped(
        mamba2_shapes(v),
        {"dt_bias": shared, "A_log": shared, "D": shared, "norm.weight": "gated norm"},
    )


def _model(v: Any, mixer: dict[str, Any]) -> Breakdown:
    """Embeddings, ``n_layers`` blocks (norm + mixer), final norm, LM head unless tied."""
    layers = v.n_layers
    parts = [Part("embeddings", v.vocab_size * v.d_model)]
    for name, per_layer in [*mixer.items(), ("norm", v.d_model)]:
        parts.append(Part(name, layers * per_layer, per_layer=per_layer, layers=layers))
    parts.append(Part("final norm", v.d_model))
    if not v.tie_embeddings:
        parts.append(Part("lm head", v.vocab_size * v.d_model))
    return Breakdown(tuple(parts))


def _tensors(v: Any, shapes: Shapes) -> list[Tensor]:
    """The checkpoint's tensors, as MambaForCausalLM / Mamba2ForCausalLM save them."""
    from archcalc import Tensor  # only tensors/check need it: keep it off count's path

    out = [Tensor("backbone.embeddings.weight", (v.vocab_size, v.d_model))]
    for i in range(v.n_layers):
        layer = f"backbone.layers.{i}"
        out.append(Tensor(f"{layer}.norm.weight", (v.d_model,)))
        out.extend(Tensor(f"{layer}.mixer.{n}", s) for n, s in shapes.items() if s is not None)
    out.append(Tensor("backbone.norm_f.weight", (v.d_model,)))
    if not v.tie_embeddings:
        out.append(Tensor("lm_head.weight", (v.vocab_size, v.d_model)))
    return out


def tensors_mamba(spec: Any) -> list[Tensor]:
    """``family: mamba``'s tensors under the names its Hugging Face checkpoints use."""
    return _tensors(spec.values, mamba_shapes(spec.values))


def tensors_mamba2(spec: Any) -> list[Tensor]:
    """``family: mamba2``'s tensors under the names its Hugging Face checkpoints use."""
    return _tensors(spec.values, mamba2_shapes(spec.values))


def count_mamba(spec: Any) -> Breakdown:
    """``MambaForCausalLM``'s parameters, component by component."""
    return _model(spec.values, mamba_mixer(spec.values))


def count_mamba2(spec: Any) -> Breakdown:
    """``Mamba2ForCausalLM``'s parameters, component by component."""
    return _model(spec.values, mamba2_mixer(spec.values))


# --- semantic checks (exact values only) ----------------------------------------------------


def _check_common(spec: Any) -> None:
    if spec.given("d_inner") and spec.given("expand"):
        spec.warning("expand", "expand has no effect when d_inner is given")


def check_mamba(spec: Any) -> None:
    """Mamba-1 has no divisibility constraints; only contradictory keys are reported."""
    _check_common(spec)


def check_mamba2(spec: Any) -> None:
    """Mamba-2's heads must tile the inner width, and groups must tile the heads."""
    _check_common(spec)
    v = spec.values
    if v.n_heads * v.head_dim != v.d_inner:
        spec.error(
            "n_heads" if spec.given("n_heads") else "head_dim",
            f"n_heads · head_dim ({v.n_heads} · {v.head_dim} = {v.n_heads * v.head_dim}) "
            f"must equal d_inner ({v.d_inner})",
        )
    if v.n_heads % v.n_groups:
        spec.error(
            "n_groups",
            f"n_groups ({v.n_groups}) must divide n_heads ({v.n_heads}): "
            "each group's B and C serve a whole number of heads",
        )


MAMBA_EXAMPLE = """\
name: mamba-130m
family: mamba
n_layers: 24
d_model: 768
vocab_size: 50280
d_state: 16
"""

MAMBA2_EXAMPLE = """\
name: mamba2-130m
family: mamba2
n_layers: 24
d_model: 768
vocab_size: 50288
d_state: 128
head_dim: 64
n_groups: 1
"""

MAMBA = Family(
    name="mamba",
    description="Mamba (selective state-space) language models, as MambaForCausalLM.",
    fields=MAMBA_FIELDS,
    count=count_mamba,
    check=check_mamba,
    tensors=tensors_mamba,
    example=MAMBA_EXAMPLE,
)

MAMBA2 = Family(
    name="mamba2",
    description="Mamba-2 (state-space duality) language models, as Mamba2ForCausalLM.",
    fields=MAMBA2_FIELDS,
    count=count_mamba2,
    check=check_mamba2,
    tensors=tensors_mamba2,
    example=MAMBA2_EXAMPLE,
)


@hookimpl
def archcalc_families() -> list[Family]:
    return [MAMBA, MAMBA2]


# --- the layer type ---------------------------------------------------------------------------

_NUMBER = {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string"}]}


def _arg(kind: str, description: str, default: Any = None) -> dict[str, Any]:
    schema: dict[str, Any] = dict(_NUMBER) if kind == "size" else {"type": "boolean"}
    schema.update({"x-kind": kind, "description": description})
    if default is not None:
        schema["default"] = default
    return schema


LAYER_ARGS = {
    "type": "object",
    "properties": {
        "d_state": _arg("size", "State size N per channel.", 16),
        "d_conv": _arg("size", "Taps of the depthwise causal convolution.", 4),
        "expand": _arg("size", "Inner width as a multiple of the input width.", 2),
        "dt_rank": _arg("size", "Rank of the time-step projection; default ceil(width / 16)."),
        "conv_bias": _arg("bool", "Whether the convolution has a bias.", True),
        "bias": _arg("bool", "Whether in_proj and out_proj have biases.", False),
    },
    "additionalProperties": False,
}


class _MixerValues:
    """The layer's arguments and input width, shaped like a family's ``spec.values``."""

    def __init__(self, args: Any, width: Any) -> None:
        self.d_model = width
        self.d_inner = args["expand"] * width
        self.d_state = args["d_state"]
        self.d_conv = args["d_conv"]
        # ceil(width / 16) as floor arithmetic, valid for ints and sympy symbols alike
        self.dt_rank = args["dt_rank"] if args["dt_rank"] is not None else -(-width // 16)
        self.conv_bias = args["conv_bias"]
        self.bias = args["bias"]


def mamba_layer_params(args: Any, shape: Any) -> Any:
    """A Mamba-1 mixer over the last dimension of a ``(L, width)`` input."""
    return sum_values(mamba_mixer(_MixerValues(args, shape[-1])))


def sum_values(parts: dict[str, Any]) -> Any:
    total: Any = 0
    for value in parts.values():
        total = total + value
    return total


class _Mixer2Values(_MixerValues):
    """A Mamba-2 layer's arguments, shaped like ``spec.values`` of ``family: mamba2``."""

    def __init__(self, args: Any, width: Any) -> None:
        super().__init__({**args, "dt_rank": 1}, width)
        self.head_dim = args["head_dim"]
        self.n_groups = args["n_groups"]
        # Exact division for ints (the check guarantees it), a quotient for symbols.
        if isinstance(self.d_inner, int) and isinstance(self.head_dim, int):
            self.n_heads = self.d_inner // self.head_dim
        else:
            self.n_heads = self.d_inner / self.head_dim


def mamba2_layer_params(args: Any, shape: Any) -> Any:
    """A Mamba-2 mixer over the last dimension of a ``(L, width)`` input."""
    return sum_values(mamba2_mixer(_Mixer2Values(args, shape[-1])))


def mamba2_layer_check(args: Any, shape: Any, report: Any) -> None:
    """Heads must tile the inner width, and groups the heads (as Mamba2Config requires)."""
    d_inner = args["expand"] * shape[-1]
    if d_inner % args["head_dim"]:
        report(f"head_dim ({args['head_dim']}) must divide expand · width ({d_inner})")
    elif (d_inner // args["head_dim"]) % args["n_groups"]:
        report(
            f"n_groups ({args['n_groups']}) must divide the number of heads "
            f"({d_inner // args['head_dim']})"
        )


LAYER2_ARGS = {
    "type": "object",
    "properties": {
        "d_state": _arg("size", "State size N per group.", 128),
        "d_conv": _arg("size", "Taps of the depthwise causal convolution.", 4),
        "expand": _arg("size", "Inner width as a multiple of the input width.", 2),
        "head_dim": _arg("size", "Width of one SSM head; must divide expand · width.", 64),
        "n_groups": _arg("size", "Groups sharing B and C; must divide the heads.", 1),
        "conv_bias": _arg("bool", "Whether the convolution has a bias.", True),
        "bias": _arg("bool", "Whether in_proj and out_proj have biases.", False),
    },
    "additionalProperties": False,
}

MAMBA2_LAYER = LayerType(
    name="mamba2",
    description="A Mamba-2 (SSD) mixer over (L, width) sequences; keeps the shape.",
    args=LAYER2_ARGS,
    params=mamba2_layer_params,
    check=mamba2_layer_check,
    ranks=(2,),
)

MAMBA_LAYER = LayerType(
    name="mamba",
    description="A Mamba (selective SSM) mixer over (L, width) sequences; keeps the shape.",
    args=LAYER_ARGS,
    params=mamba_layer_params,
    ranks=(2,),
)


@hookimpl
def archcalc_layer_types() -> list[LayerType]:
    return [MAMBA_LAYER, MAMBA2_LAYER]


# --- Hugging Face configs ---------------------------------------------------------------------


def _hf_common(config: ConfigReader, *, tie: bool) -> None:
    """The keys MambaConfig and Mamba2Config share, with their defaults."""
    config.set("n_layers", config.size("num_hidden_layers"), "num_hidden_layers")
    config.set("d_model", config.size("hidden_size"), "hidden_size")
    config.set("vocab_size", config.size("vocab_size"), "vocab_size")
    config.set("d_conv", config.size("conv_kernel", default=4), "conv_kernel")
    config.set("expand", config.size("expand", default=2), "expand")
    config.set("conv_bias", config.flag("use_conv_bias", True), "use_conv_bias")
    config.set("bias", config.flag("use_bias", False), "use_bias")
    config.set("tie_embeddings", config.flag("tie_word_embeddings", tie), "tie_word_embeddings")


def translate_mamba(config: ConfigReader) -> None:
    """``MambaConfig`` → ``family: mamba`` (``time_step_rank: "auto"`` is ceil(width / 16)).

    MambaMixer's inner width is the config's ``intermediate_size`` when given (even when
    it contradicts ``expand``), else ``expand * hidden_size``.
    """
    _hf_common(config, tie=True)
    if config.present("intermediate_size"):
        config.set("d_inner", config.size("intermediate_size"), "intermediate_size")
    config.set("d_state", config.size("state_size", default=16), "state_size")
    if config.value("time_step_rank") not in (None, "auto"):
        config.set("dt_rank", config.size("time_step_rank"), "time_step_rank")


def translate_mamba2(config: ConfigReader) -> None:
    """``Mamba2Config`` → ``family: mamba2``; its heads are given, not derived.

    Mamba2Mixer computes its inner width as ``expand * hidden_size`` whatever
    ``intermediate_size`` the config states, so that key is not read.
    """
    _hf_common(config, tie=False)
    config.set("d_state", config.size("state_size", default=128), "state_size")
    config.set("n_heads", config.size("num_heads", default=128), "num_heads")
    config.set("head_dim", config.size("head_dim", default=64), "head_dim")
    config.set("n_groups", config.size("n_groups", default=8), "n_groups")


@hookimpl
def archcalc_hf_model_types() -> list[HFModelType]:
    return [
        HFModelType("mamba", family="mamba", translate=translate_mamba),
        HFModelType("mamba2", family="mamba2", translate=translate_mamba2),
    ]
