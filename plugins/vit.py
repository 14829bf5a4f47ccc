"""``family: vit`` — Vision Transformers, counted as timm's ``VisionTransformer`` builds them.

The model is described once, as timm's list of parameter tensors (names as in a timm
state dict: ``patch_embed.proj.weight``, ``blocks.0.attn.qkv.weight``, ``cls_token``...),
and everything else follows from that list: ``count`` sums it by component (one block
counted and multiplied by ``n_layers``), ``tensors`` lists it block by block, and
``compute`` gives the multiply-accumulates of a forward pass. Per tensor (timm 1.0):

* a patch embedding, a ``patch_size``-strided conv2d from ``in_channels`` to ``d_model``
  (no bias with ``pre_norm``, as timm builds CLIP-style models), then ``norm_pre``;
* prefix tokens: the class token, DeiT's distillation token (``distilled``), register
  tokens (``reg_tokens``); a learned position table with a row per patch and per prefix
  token (patches only with ``no_embed_class``; none with ``pos_embed: none``);
* ``n_layers`` pre-norm blocks: LayerNorm, attention with a fused qkv projection (biased
  when ``qkv_bias``), optional q/k LayerNorms over each head (``qk_norm``), an output
  projection, LayerNorm, a two-layer GELU MLP (biases unless ``proj_bias: false``), and
  layer scales ``ls1``/``ls2`` when ``init_values`` is given;
* the final norm, ``norm`` (token pooling) or ``fc_norm`` (avg, max, avgmax pooling; or
  as ``fc_norm`` says), absent without ``final_norm``; ``pool: map`` adds timm's attention
  pooling (a latent query, q and kv projections, an output projection, a norm and an MLP);
* the head (``n_classes`` outputs, none for 0) and, when ``distilled``, ``head_dist``.

Every formula is plain arithmetic, so it counts with ints and prints with sympy symbols.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from archcalc import Breakdown, Family, Field, Part, div, hookimpl
from archcalc.family import numel
from archcalc.spec import Resolved

POOLS = ("token", "avg", "max", "avgmax", "map", "none")
#: Blocks ``archcalc tensors`` lists one by one (each is 12 to 18 tensors).
MAX_LISTED_BLOCKS = 50_000

FIELDS = (
    Field("image_size", "size", "Height and width of the (square) input image."),
    Field("patch_size", "size", "Side of each square patch; must divide image_size."),
    Field("in_channels", "size", "Channels of the input image (in_chans).", default=3),
    Field("n_layers", "size", "Transformer blocks (depth)."),
    Field("d_model", "size", "Token width (embed_dim)."),
    Field("n_heads", "size", "Attention heads; must divide d_model."),
    Field(
        "d_ff",
        "size",
        "Hidden width of the MLP (embed_dim · mlp_ratio).",
        default="4 * d_model",
    ),
    Field("n_classes", "count", "Classes of the linear head; 0 for no head.", default=1000),
    Field("class_token", "bool", "Prepend a learned class token.", default=True),
    Field(
        "pool",
        "choice",
        "global_pool: token (the class token), avg / max / avgmax (over the patch tokens), "
        "map (attention pooling), none (the head sees every token).",
        default="token",
        choices=POOLS,
    ),
    Field("qkv_bias", "bool", "Whether the fused qkv projection has a bias.", default=True),
    Field("reg_tokens", "count", "Register tokens prepended after the class token.", default=0),
    Field(
        "distilled",
        "bool",
        "DeiT: a distillation token and a second head, head_dist (pool: token).",
        default=False,
    ),
    Field(
        "pre_norm",
        "bool",
        "A LayerNorm (norm_pre) before the blocks and no patch-embedding bias, as CLIP.",
        default=False,
    ),
    Field(
        "fc_norm",
        "bool",
        "The final norm after pooling (fc_norm) rather than before (norm); default: true for "
        "avg, max and avgmax pooling.",
        default=None,
    ),
    Field("final_norm", "bool", "A final norm at all (norm or fc_norm).", default=True),
    Field(
        "no_embed_class",
        "bool",
        "Position rows for the patches only, not for the prefix tokens.",
        default=False,
    ),
    Field(
        "pos_embed",
        "choice",
        "learn: a learned position table; none: no position embedding.",
        default="learn",
        choices=("learn", "none"),
    ),
    Field("qk_norm", "bool", "LayerNorms on q and k over each head.", default=False),
    Field(
        "proj_bias",
        "bool",
        "Biases on the attention output projection and the MLP.",
        default=True,
    ),
    Field(
        "init_values",
        "number",
        "Layer scale: when given, each block scales its attention and MLP outputs by a "
        "learned vector (ls1.gamma, ls2.gamma) initialised to this.",
        default=None,
    ),
)

Tensors = list[tuple[str, tuple[Any, ...]]]


def _linear(name: str, d_in: Any, d_out: Any, bias: bool = True) -> Tensors:
    weight = [(f"{name}.weight", (d_out, d_in))]
    return weight + ([(f"{name}.bias", (d_out,))] if bias else [])


def _norm(name: str, d: Any) -> Tensors:
    return [(f"{name}.weight", (d,)), (f"{name}.bias", (d,))]


def _mlp(name: str, d: Any, hidden: Any, bias: bool) -> Tensors:
    return _linear(f"{name}.fc1", d, hidden, bias) + _linear(f"{name}.fc2", hidden, d, bias)


def total(tensors: Tensors) -> Any:
    result: Any = 0
    for _, shape in tensors:
        result = result + numel(shape)
    return result


def uses_fc_norm(v: Any) -> bool:
    return bool(v.fc_norm) if v.fc_norm is not None else v.pool in ("avg", "max", "avgmax")


def prefix_tokens(v: Any) -> Any:
    return (1 if v.class_token else 0) + (1 if v.distilled else 0) + v.reg_tokens


def layer_scaled(spec: Resolved) -> bool:
    """timm adds LayerScale when ``init_values`` is given and not 0."""
    return spec.exact("init_values") not in (None, 0)


def block(spec: Resolved, i: int | str) -> Tensors:
    """One block, ``blocks.{i}``: timm's Block with its Attention and Mlp."""
    v = spec.values
    d, p = v.d_model, f"blocks.{i}"
    head = div(d, v.n_heads)
    attention = _linear(f"{p}.attn.qkv", d, 3 * d, v.qkv_bias)
    if v.qk_norm:
        attention += _norm(f"{p}.attn.q_norm", head) + _norm(f"{p}.attn.k_norm", head)
    attention += _linear(f"{p}.attn.proj", d, d, v.proj_bias)
    scale1 = [(f"{p}.ls1.gamma", (d,))] if layer_scaled(spec) else []
    scale2 = [(f"{p}.ls2.gamma", (d,))] if layer_scaled(spec) else []
    mlp = _mlp(f"{p}.mlp", d, v.d_ff, v.proj_bias)
    return _norm(f"{p}.norm1", d) + attention + scale1 + _norm(f"{p}.norm2", d) + mlp + scale2


def groups(spec: Resolved) -> Iterator[tuple[str, Tensors]]:
    """The model's tensors by component before the blocks."""
    v = spec.values
    d = v.d_model
    patches = div(v.image_size, v.patch_size) ** 2
    tokens: Tensors = []
    if v.class_token:
        tokens.append(("cls_token", (1, 1, d)))
    if spec.exact("reg_tokens"):
        tokens.append(("reg_token", (1, v.reg_tokens, d)))
    if v.distilled:
        tokens.append(("dist_token", (1, 1, d)))
    yield "prefix tokens", tokens
    if v.pos_embed == "learn":
        rows = patches if v.no_embed_class else patches + prefix_tokens(v)
        yield "position embedding", [("pos_embed", (1, rows, d))]
    kernel = (d, v.in_channels, v.patch_size, v.patch_size)
    patch: Tensors = [("patch_embed.proj.weight", kernel)]
    if not v.pre_norm:
        patch.append(("patch_embed.proj.bias", (d,)))
    yield "patch embedding", patch
    if v.pre_norm:
        yield "norm_pre", _norm("norm_pre", d)


def head_groups(spec: Resolved) -> Iterator[tuple[str, Tensors]]:
    """The model's tensors by component after the blocks."""
    v = spec.values
    d = v.d_model
    if v.final_norm and not uses_fc_norm(v):
        yield "final norm", _norm("norm", d)
    if v.pool == "map":
        pool = [("attn_pool.latent", (1, 1, d))]
        pool += _linear("attn_pool.q", d, d) + _linear("attn_pool.kv", d, 2 * d)
        pool += _linear("attn_pool.proj", d, d) + _norm("attn_pool.norm", d)
        pool += _mlp("attn_pool.mlp", d, v.d_ff, True)
        yield "attention pool", pool
    if v.final_norm and uses_fc_norm(v):
        yield "final norm", _norm("fc_norm", d)
    if spec.exact("n_classes"):
        yield "head", _linear("head", d, v.n_classes)
        if v.distilled:
            yield "distillation head", _linear("head_dist", d, v.n_classes)


def count(spec: Resolved) -> Breakdown:
    """timm's tensors summed by component; one block counted, times ``n_layers``."""
    v = spec.values
    parts = [Part(name, total(t)) for name, t in groups(spec) if t]
    per_block = total(block(spec, 0))
    parts.append(Part("blocks", v.n_layers * per_block, per_layer=per_block, layers=v.n_layers))
    parts += [Part(name, total(t)) for name, t in head_groups(spec)]
    return Breakdown(tuple(parts))


def tensors(spec: Resolved) -> list[Any]:
    """Every tensor under timm's state-dict names, block by block."""
    from archcalc.tensors import Tensor

    n_layers = int(spec.exact("n_layers"))
    if n_layers > MAX_LISTED_BLOCKS:
        from archcalc.errors import SpecError

        spec.error(
            "n_layers",
            f"listing every tensor of {n_layers:,} blocks is too much (limit "
            f"{MAX_LISTED_BLOCKS:,}); count and formula still work (they multiply)",
            code="V704",
        )
        raise SpecError(spec.sink.diagnostics[-1:])
    listed: Tensors = [t for _, group in groups(spec) for t in group]
    for i in range(n_layers):
        listed += block(spec, i)
    listed += [t for _, group in head_groups(spec) for t in group]
    return [Tensor(name, shape) for name, shape in listed]


def macs_by_component(spec: Resolved) -> list[tuple[str, int]]:
    """Multiply-accumulates of one forward pass over one image, as FlopCounterMode counts
    matmuls (projections, the two attention products, the MLP, heads; not norms)."""
    v = spec.values
    d, ff = v.d_model, v.d_ff
    patches = div(v.image_size, v.patch_size) ** 2
    n = patches + prefix_tokens(v)
    per_block = n * d * 3 * d + 2 * n * n * d + n * d * d + 2 * n * d * ff
    parts = [
        ("patch embedding", patches * d * v.in_channels * v.patch_size**2),
        ("blocks", v.n_layers * per_block),
    ]
    if v.pool == "map":  # one latent query over the n tokens
        parts.append(("attention pool", d * d + n * 2 * d * d + 2 * n * d + d * d + 2 * d * ff))
    if v.n_classes:
        pooled = n if v.pool == "none" else 1
        parts.append(("head", pooled * d * v.n_classes))
        if v.distilled:
            parts.append(("distillation head", d * v.n_classes))
    return [(name, int(m)) for name, m in parts]


def macs(spec: Resolved) -> int:
    return sum(m for _, m in macs_by_component(spec))


def compute(spec: Resolved, seq_len: int) -> Any:
    """``archcalc size``: FLOPs of one forward pass over one image (batch 1)."""
    from archcalc.sizes import Compute

    v = spec.values
    components = tuple((name, 2 * m) for name, m in macs_by_component(spec))
    notes = (
        "FLOPs = 2 × multiply-adds of the patch embedding, every projection, both attention "
        "products (full attention over all tokens) and the heads (FlopCounterMode's "
        "convention; torchinfo and fvcore report the multiply-adds)",
    )
    return Compute.for_input(
        f"{v.in_channels}×{v.image_size}×{v.image_size} image", components, notes
    )


def check(spec: Resolved) -> None:
    """What timm would refuse to build."""
    v = spec.values
    if v.image_size % v.patch_size:
        spec.error(
            "patch_size",
            f"patch_size ({v.patch_size}) must divide image_size ({v.image_size}): the image "
            "is cut into whole patches",
            code="V701",
        )
    if v.d_model % v.n_heads:
        spec.error(
            "n_heads", f"n_heads ({v.n_heads}) must divide d_model ({v.d_model})", code="V701"
        )
    if v.pool == "token" and not v.class_token:
        spec.error(
            "pool",
            "pool: token needs class_token: true (there is no class token to classify); "
            "use pool: avg",
            code="V702",
        )
    if v.distilled and (v.pool != "token" or not v.class_token):
        spec.error(
            "distilled",
            "distilled (DeiT) reads the class and distillation tokens: it needs pool: token "
            "and class_token: true",
            code="V703",
        )


EXAMPLE = """\
name: vit-b-16
family: vit
image_size: 224
patch_size: 16
n_layers: 12
d_model: 768
n_heads: 12
d_ff: 3072
n_classes: 1000
"""

FAMILY = Family(
    name="vit",
    description="Vision Transformers as timm's VisionTransformer (ViT, DeiT, CLIP-style, "
    "register tokens...).",
    fields=FIELDS,
    count=count,
    check=check,
    example=EXAMPLE,
    tensors=tensors,
    compute=compute,
)


@hookimpl
def archcalc_families() -> list[Family]:
    return [FAMILY]
