"""archcalc-lora: LoRA adapters over a transformer spec, counted the way peft builds them.

``family: transformer-lora`` takes every key of ``family: transformer`` plus a ``lora``
mapping::

    lora:
      rank: 16                          # r
      alpha: 32                         # lora_alpha: scales the update, adds no parameters
      target_modules: [q_proj, v_proj]  # peft's default for Llama, Mistral, Mixtral
      bias: none                        # none | all | lora_only

For each targeted ``nn.Linear(d_in, d_out)`` of every block, peft adds ``lora_A``
(``d_in × r``) and ``lora_B`` (``r × d_out``), both bias-free: ``r·(d_in + d_out)``
parameters. ``get_peft_model`` then freezes the base model; trainable are the adapters
plus, with ``bias: all``, every bias of the model (LayerNorm biases included) or, with
``bias: lora_only``, the biases of the targeted layers.

The count reports the total (base model + adapters, what
``PeftModel.get_nb_trainable_parameters()`` calls all parameters), the adapters as a
component, and ``trainable_params`` as an extra figure.

In a mixture-of-experts spec the routed experts are fused 3-D parameters in transformers,
not ``nn.Linear`` modules, so ``gate_proj``/``up_proj``/``down_proj`` reach only the
shared experts (if any); targeting them otherwise has no effect and is reported.
"""

from __future__ import annotations

from typing import Any

from archcalc.plugins import transformer  # its public, stable surface only (__all__)

from archcalc import Breakdown, Family, Field, Group, Part, field_schema, hookimpl

__version__ = "0.1.0"

ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")
MLP = ("gate_proj", "up_proj", "down_proj")
TARGETS = ATTENTION + MLP
DEFAULT_TARGETS = ("q_proj", "v_proj")
BIAS_MODES = ("none", "all", "lora_only")

RANK = Field("lora.rank", "size", "Rank r of each adapter: lora_A is d_in × r, lora_B r × d_out.")
ALPHA = Field(
    "lora.alpha",
    "number",
    "lora_alpha: the update is scaled by alpha / rank; it adds no parameters.",
    default=8,
)
LORA = Group("lora", "LoRA adapters (peft's LoraConfig).", (RANK, ALPHA))

#: The ``lora`` mapping's schema: the numeric fields plus the two structural keys.
LORA_SCHEMA = {
    "type": "object",
    "description": LORA.description,
    "properties": {
        "rank": field_schema(RANK),
        "alpha": field_schema(ALPHA),
        "target_modules": {
            "description": "Projections of every block that get an adapter.",
            "type": "array",
            "items": {"enum": list(TARGETS)},
            "minItems": 1,
            "uniqueItems": True,
            "default": list(DEFAULT_TARGETS),
        },
        "bias": {
            "description": "Which biases of the frozen base model become trainable: none, all "
            "(every bias of the model) or lora_only (those of the targeted layers).",
            "enum": list(BIAS_MODES),
            "default": "none",
        },
    },
    "required": ["rank"],
    "additionalProperties": False,
}


def settings(spec: Any) -> tuple[tuple[str, ...], str]:
    """The structural LoRA settings: target modules and bias mode (schema-validated)."""
    lora = spec.doc.data.get("lora") or {}
    targets = tuple(lora.get("target_modules") or DEFAULT_TARGETS)
    return targets, str(lora.get("bias", "none"))


def mlp_width(spec: Any) -> Any:
    """Width of the ``nn.Linear`` MLP a block has: d_ff, the shared experts', or None."""
    v = spec.values
    if v.moe is None:
        return v.d_ff
    if spec.exact("n_shared_experts"):
        return v.moe.n_shared_experts * v.moe.d_ff_expert
    return None


def projections(spec: Any) -> dict[str, tuple[Any, Any, bool]]:
    """Every LoRA-targetable linear layer of one block: name -> (d_in, d_out, has bias)."""
    v = spec.values
    q_width = v.n_heads * v.d_head
    kv_width = v.n_kv_heads * v.d_head
    layers = {
        "q_proj": (v.d_model, q_width, v.qkv_bias),
        "k_proj": (v.d_model, kv_width, v.qkv_bias),
        "v_proj": (v.d_model, kv_width, v.qkv_bias),
        "o_proj": (q_width, v.d_model, v.bias),
    }
    width = mlp_width(spec)
    if width is not None:
        if v.mlp in transformer.GATED:
            layers["gate_proj"] = (v.d_model, width, v.bias)
        layers["up_proj"] = (v.d_model, width, v.bias)
        layers["down_proj"] = (width, v.d_model, v.bias)
    return layers


def all_biases_per_layer(spec: Any) -> Any:
    """Every bias of one block (linear layers and LayerNorms), for ``bias: all``."""
    v = spec.values
    total: Any = 0
    for _, d_out, has_bias in projections(spec).values():
        total = total + (d_out if has_bias else 0)
    if v.moe is not None and v.bias:  # routed experts' biases, as the transformer family has
        total = total + v.moe.n_experts * (
            transformer.mlp_params(v.d_model, v.moe.d_ff_expert, v.mlp, True)
            - transformer.mlp_params(v.d_model, v.moe.d_ff_expert, v.mlp, False)
        )
    if v.norm == "layernorm":
        total = total + 2 * v.d_model
    return total


def count(spec: Any) -> Breakdown:
    """The base transformer's parts, the adapters, and the trainable figure."""
    v = spec.values
    base = transformer.count(spec)
    targets, bias_mode = settings(spec)
    layers = projections(spec)
    rank = v.lora.rank
    adapters: Any = 0
    target_biases: Any = 0
    for name in targets:
        if name in layers:
            d_in, d_out, has_bias = layers[name]
            adapters = adapters + rank * (d_in + d_out)
            target_biases = target_biases + (d_out if has_bias else 0)
    n = v.n_layers
    parts = list(base.parts)
    parts.append(Part("lora adapters", n * adapters, per_layer=adapters, layers=n))
    trainable = n * adapters
    if bias_mode == "all":
        final = v.d_model if v.norm == "layernorm" else 0
        trainable = trainable + n * all_biases_per_layer(spec) + final
    elif bias_mode == "lora_only":
        trainable = trainable + n * target_biases
    return Breakdown(tuple(parts), extras={"trainable_params": trainable})


#: Transformer keys that change which linear layers a block has, or their biases, in ways
#: :func:`projections` does not follow: refused, never miscounted.
UNMODELLED = (
    "o_bias",
    "mlp_bias",
    "k_bias",
    "mlp_in_bias",
    "d_ff_shared",
    "cross_attention",
    "input_norm",
    "global_attention",
    "position_projections",
    "position_key_bias",
)


def unmodelled(spec: Any) -> list[str]:
    """The keys of ``spec`` that LoRA's projections here do not describe."""
    v = spec.values
    keys = [key for key in UNMODELLED if spec.given(key)]
    keys += ["mla"] if v.mla is not None else []
    keys += ["mixer"] if spec.given("mixer") and v.mixer != "attention" else []
    keys += ["mlp"] if v.mlp in ("none", "rwkv") else []
    return keys


def check(spec: Any) -> None:
    """The transformer's own checks, plus what LoRA cannot do with this spec."""
    transformer.check(spec)
    v = spec.values
    if v.architecture != "decoder":
        spec.error(
            "architecture",
            f"transformer-lora counts decoder models (LlamaForCausalLM-style names q_proj, "
            f"..., down_proj); {v.architecture} models name their projections differently",
        )
        return
    for key in unmodelled(spec):
        spec.error(
            key,
            f"transformer-lora does not model '{key}' (its adapters follow the plain q/k/v/o "
            "and MLP linears of one kind of block); remove it, or count the base model with "
            "family: transformer",
        )
    if unmodelled(spec):
        return
    targets, _ = settings(spec)
    layers = projections(spec)
    for i, name in enumerate(targets):
        if name in layers:
            continue
        if name in MLP and v.moe is not None:
            why = (
                "routed experts are fused parameters in transformers, not nn.Linear layers, "
                "and this spec has no shared experts"
            )
        else:
            why = f"a {v.mlp} MLP has no gate projection"
        spec.warning(("lora", "target_modules", i), f"target '{name}' has no effect: {why}")


EXAMPLE = """\
name: llama-3-8b-lora-r16
family: transformer-lora
n_layers: 32
d_model: 4096
n_heads: 32
n_kv_heads: 8
d_ff: 14336
vocab_size: 128256
lora:
  rank: 16
  alpha: 32
  target_modules: [q_proj, k_proj, v_proj, o_proj]
"""

FAMILY = Family(
    name="transformer-lora",
    description="A decoder transformer with LoRA adapters (peft), trainable and total params.",
    fields=(*transformer.FIELDS, LORA),
    count=count,
    check=check,
    schema={"lora": LORA_SCHEMA},
    required=("lora",),
    example=EXAMPLE,
)


@hookimpl
def archcalc_families() -> list[Family]:
    return [FAMILY]
