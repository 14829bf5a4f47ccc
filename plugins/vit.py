"""``family: vit`` — Vision Transformers, counted as timm's ``VisionTransformer`` builds them.

Per tensor (timm 1.0): a patch embedding (a ``patch_size``-strided conv2d with bias from
``in_channels`` to ``d_model``), a class token when ``class_token``, a learned position
table with one row per patch plus one for the class token, ``n_layers`` pre-norm blocks
(LayerNorm, attention with a fused qkv projection — biased when ``qkv_bias`` — and a
biased output projection, LayerNorm, a two-layer GELU MLP with biases), one final
LayerNorm (timm calls it ``norm`` for token pooling and ``fc_norm`` for average pooling:
the same parameters either way) and a linear head unless ``n_classes`` is 0.

Every formula is plain arithmetic, so it counts with ints and prints with sympy symbols.
"""

from __future__ import annotations

from typing import Any

from archcalc import Breakdown, Family, Field, Part, div, hookimpl
from archcalc.spec import Resolved

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
        "token: classify the class token; avg: average the patch tokens.",
        default="token",
        choices=("token", "avg"),
    ),
    Field("qkv_bias", "bool", "Whether the fused qkv projection has a bias.", default=True),
)


def linear(d_in: Any, d_out: Any, bias: bool = True) -> Any:
    return d_in * d_out + (d_out if bias else 0)


def block_params(v: Any) -> Any:
    """Two LayerNorms, qkv and output projections, and the MLP of one block."""
    d = v.d_model
    attention = linear(d, 3 * d, v.qkv_bias) + linear(d, d)
    mlp = linear(d, v.d_ff) + linear(v.d_ff, d)
    return 2 * (2 * d) + attention + mlp


def count(spec: Resolved) -> Breakdown:
    """timm's VisionTransformer, tensor by tensor."""
    v = spec.values
    d = v.d_model
    patches = div(v.image_size, v.patch_size) ** 2
    prefix = 1 if v.class_token else 0
    parts = [Part("patch embedding", linear(v.in_channels * v.patch_size**2, d))]
    if v.class_token:
        parts.append(Part("class token", d))
    parts.append(Part("position embedding", (patches + prefix) * d))
    block = block_params(v)
    parts.append(Part("blocks", v.n_layers * block, per_layer=block, layers=v.n_layers))
    parts.append(Part("final norm", 2 * d))
    if spec.exact("n_classes"):
        parts.append(Part("head", linear(d, v.n_classes)))
    return Breakdown(tuple(parts))


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
    description="Vision Transformers as timm's VisionTransformer (ViT-B/16, ViT-L/16...).",
    fields=FIELDS,
    count=count,
    check=check,
    example=EXAMPLE,
)


@hookimpl
def archcalc_families() -> list[Family]:
    return [FAMILY]
