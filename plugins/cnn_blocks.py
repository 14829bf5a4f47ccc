"""Building blocks of torchvision and timm models that torch.nn has no module for.

Registered beside the torch.nn layer types (:mod:`archcalc.plugins.cnn_layers`), with the
arguments the reference library gives them: torchvision's ``SqueezeExcitation``,
``StochasticDepth`` and Swin's ``PatchMerging`` and ``ShiftedWindowAttention``; MaxViT's
``RelativePositionalMultiHeadAttention``, ``WindowPartition`` and ``WindowDepartition``;
timm's ``LayerScale``. Each lists its tensors in state-dict order (names as the reference
module has them), so its parameter count is their sum, and its multiply-accumulates.

Shapes leave out the batch: Swin works channels-last, ``(H, W, C)``; MaxViT's attention
on windows ``(G, P, C)`` (G windows of P tokens).
"""

from __future__ import annotations

import math
from typing import Any

from archcalc.plugins.cnn_layers import (
    Args,
    Report,
    Shape,
    _given_matches,
    _show,
    arg,
    args_schema,
    choice,
    no_macs,
    ntuple,
    numel,
)

from archcalc import LayerType

DROP = arg("number", "Drop probability (no parameters).", 0, minimum=0, maximum=1)


# --------------------------------------------------------------------------- gating and scaling


def _se_tensors(a: Args, s: Shape) -> list[tuple[str, Shape]]:
    c, sq = s[0], a["squeeze_channels"]
    return [
        ("fc1.weight", (sq, c, 1, 1)),
        ("fc1.bias", (sq,)),
        ("fc2.weight", (c, sq, 1, 1)),
        ("fc2.bias", (c,)),
    ]


def _se_check(a: Args, s: Shape, report: Report) -> None:
    _given_matches(a, "input_channels", s[0], report, "number of channels")


ACTIVATIONS = ("relu", "relu6", "silu", "gelu", "hardswish", "hardsigmoid", "sigmoid", "tanh")


def _scale_dim(a: Args, s: Shape) -> int:
    """The scaled dimension as an index into the batch-free shape."""
    n = len(s) + 1
    return (int(a["dim"]) + n if int(a["dim"]) < 0 else int(a["dim"])) - 1


def _scale_check(a: Args, s: Shape, report: Report) -> None:
    n = len(s) + 1
    dim = int(a["dim"]) + n if int(a["dim"]) < 0 else int(a["dim"])
    if not 1 <= dim < n:
        report(f"dim ({a['dim']}) is not a dimension of the {n}-D input (batch is 0)", code="C605")


# --------------------------------------------------------------------------- Swin


def _merging_shape(a: Args, s: Shape) -> Shape:
    return ((s[0] + 1) // 2, (s[1] + 1) // 2, 2 * s[2])


def _merging_tensors(a: Args, s: Shape) -> list[tuple[str, Shape]]:
    c = s[-1]
    return [
        ("reduction.weight", (2 * c, 4 * c)),
        ("norm.weight", (4 * c,)),
        ("norm.bias", (4 * c,)),
    ]


def _merging_macs(a: Args, s: Shape, out: Shape) -> Any:
    return numel(out[:-1]) * 4 * s[-1] * 2 * s[-1]


def _merging_check(a: Args, s: Shape, report: Report) -> None:
    _given_matches(a, "dim", s[-1], report, "number of channels (last dimension)")


def _window(a: Args) -> tuple[Any, Any]:
    wh, ww = ntuple(a["window_size"], 2)
    return wh, ww


def _swin_tensors(a: Args, s: Shape) -> list[tuple[str, Shape]]:
    c = s[-1]
    wh, ww = _window(a)
    table = ("relative_position_bias_table", ((2 * wh - 1) * (2 * ww - 1), a["num_heads"]))
    qkv = [("qkv.weight", (3 * c, c))] + ([("qkv.bias", (3 * c,))] if a["qkv_bias"] else [])
    proj = [("proj.weight", (c, c))] + ([("proj.bias", (c,))] if a["proj_bias"] else [])
    return [table, *qkv, *proj]


def _swin_macs(a: Args, s: Shape, out: Shape) -> Any:
    """On the map padded to whole windows: qkv and proj per token, q·kᵀ and a·v per window."""
    h, w, c = s
    wh, ww = _window(a)
    padded_h = -(-h // wh) * wh
    padded_w = -(-w // ww) * ww
    tokens = padded_h * padded_w
    return tokens * c * 3 * c + 2 * tokens * wh * ww * c + tokens * c * c


def _swin_check(a: Args, s: Shape, report: Report) -> None:
    _given_matches(a, "dim", s[-1], report, "number of channels (last dimension)")
    if s[-1] % a["num_heads"]:
        report(f"num_heads ({a['num_heads']}) must divide the channels ({s[-1]})", code="C605")


# --------------------------------------------------------------------------- MaxViT


def _table_side(max_seq_len: Any) -> int:
    return math.isqrt(int(max_seq_len))


def _relative_tensors(a: Args, s: Shape) -> list[tuple[str, Shape]]:
    d, head = s[-1], a["head_dim"]
    inner = (d // head) * head
    side = _table_side(a["max_seq_len"])
    return [
        ("relative_position_bias_table", ((2 * side - 1) * (2 * side - 1), d // head)),
        ("to_qkv.weight", (3 * inner, d)),
        ("to_qkv.bias", (3 * inner,)),
        ("merge.weight", (d, inner)),
        ("merge.bias", (d,)),
    ]


def _relative_macs(a: Args, s: Shape, out: Shape) -> Any:
    tokens, p, d = numel(s[:-1]), s[-2], s[-1]
    return tokens * d * 3 * d + 2 * tokens * p * d + tokens * d * d


def _relative_check(a: Args, s: Shape, report: Report) -> None:
    if s[-1] % a["head_dim"]:
        report(f"head_dim ({a['head_dim']}) must divide the features ({s[-1]})", code="C605")
    if s[-2] != a["max_seq_len"]:
        report(
            f"max_seq_len ({a['max_seq_len']}) must equal the tokens per window ({s[-2]}) of "
            f"the input {_show(s)}",
            code="C605",
        )
    side = _table_side(a["max_seq_len"])
    if side * side != a["max_seq_len"]:
        report(
            f"max_seq_len ({a['max_seq_len']}) must be a square (tokens of a P×P window)",
            code="C605",
        )


def _partition_shape(a: Args, s: Shape) -> Shape:
    c, h, w = s
    p = a["p"]
    return ((h // p) * (w // p), p * p, c)


def _partition_check(a: Args, s: Shape, report: Report) -> None:
    for size in s[1:]:
        if size % a["p"]:
            report(
                f"p ({a['p']}) must divide the height and width of the input {_show(s)}",
                code="C605",
            )
            return


def _partitions(a: Args, s: Shape) -> tuple[Any, Any]:
    return a["h_partitions"], a["w_partitions"]


def _departition_shape(a: Args, s: Shape) -> Shape:
    hp, wp = _partitions(a, s)
    return (s[2], hp * a["p"], wp * a["p"])


def _departition_check(a: Args, s: Shape, report: Report) -> None:
    hp, wp = _partitions(a, s)
    if hp * wp != s[0]:
        report(
            f"h_partitions × w_partitions ({hp} × {wp}) must equal the windows ({s[0]}) of the "
            f"input {_show(s)}",
            code="C605",
        )
    if a["p"] * a["p"] != s[1]:
        report(
            f"p × p ({a['p']} × {a['p']}) must equal the tokens per window ({s[1]})", code="C605"
        )


# --------------------------------------------------------------------------- registration


def layer_types() -> list[LayerType]:
    """The building blocks of torchvision and timm models."""
    return [
        LayerType(
            name="squeeze_excitation",
            description="torchvision.ops.SqueezeExcitation: x · scale(fc2(act(fc1(pool(x))))) "
            "with 1×1 convolutions fc1 (C → squeeze_channels) and fc2 (back to C).",
            args=args_schema(
                ("squeeze_channels",),
                input_channels=arg("size", "Channels; inferred, must agree if given."),
                squeeze_channels=arg("size", "Channels of the bottleneck."),
                activation=choice("After fc1 (no parameters).", ACTIVATIONS, "relu"),
                scale_activation=choice("After fc2 (no parameters).", ACTIVATIONS, "sigmoid"),
            ),
            tensors=_se_tensors,
            check=_se_check,
            ranks=(3,),
            macs=lambda a, s, out: 2 * s[0] * a["squeeze_channels"],
        ),
        LayerType(
            name="layer_scale",
            description="A learned scale per channel, gamma (timm's LayerScale on channels-last "
            "tokens with dim -1, LayerScale2d on (C, H, W) maps with dim 1).",
            args=args_schema(
                dim=arg(
                    "int",
                    "The scaled dimension (torch's index, batch = 0): 1 for (C, H, W) "
                    "maps, -1 for channels-last tokens.",
                    1,
                    exact=True,
                ),
                init_values=arg("number", "Initial value (no effect on parameters).", 1e-5),
                inplace=arg("bool", "Scale in place (no effect on parameters).", False),
            ),
            tensors=lambda a, s: [("gamma", (s[_scale_dim(a, s)],))],
            check=_scale_check,
            macs=no_macs,
        ),
        LayerType(
            name="stochastic_depth",
            description="torchvision.ops.StochasticDepth (drop path): drops the branch for "
            "whole samples (row) or the whole batch; no parameters.",
            args=args_schema(
                p=DROP,
                mode=choice("Per sample (row) or per batch.", ("row", "batch"), "row"),
            ),
        ),
        LayerType(
            name="patch_merging",
            description="Swin's PatchMerging on channels-last (H, W, C): 2×2 neighbours "
            "concatenated (4C), LayerNorm, then a bias-free linear to 2C; (H/2, W/2, 2C).",
            args=args_schema(dim=arg("size", "Channels; inferred, must agree if given.")),
            tensors=_merging_tensors,
            shape=_merging_shape,
            check=_merging_check,
            ranks=(3,),
            macs=_merging_macs,
        ),
        LayerType(
            name="shifted_window_attention",
            description="Swin's ShiftedWindowAttention on channels-last (H, W, C): attention "
            "within windows, qkv and proj linears and a relative position bias table "
            "((2·Wh − 1)(2·Ww − 1) × num_heads).",
            args=args_schema(
                ("window_size", "num_heads"),
                dim=arg("size", "Channels; inferred, must agree if given."),
                window_size=arg("size2", "Window height and width: an int or [h, w]."),
                shift_size=arg("count2", "Cyclic shift (no effect on parameters).", 0),
                num_heads=arg("size", "Attention heads; must divide the channels."),
                qkv_bias=arg("bool", "Bias on the qkv projection.", True),
                proj_bias=arg("bool", "Bias on the output projection.", True),
                attention_dropout=DROP,
                dropout=DROP,
            ),
            tensors=_swin_tensors,
            check=_swin_check,
            ranks=(3,),
            macs=_swin_macs,
        ),
        LayerType(
            name="relative_positional_attention",
            description="MaxViT's RelativePositionalMultiHeadAttention over windows (G, P, C): "
            "to_qkv and merge linears and a relative position bias table "
            "((2·√max_seq_len − 1)² × heads).",
            args=args_schema(
                ("head_dim", "max_seq_len"),
                head_dim=arg("size", "Features per head; heads = channels / head_dim."),
                max_seq_len=arg("size", "Tokens per window (P·P).", exact=True),
            ),
            tensors=_relative_tensors,
            check=_relative_check,
            ranks=(2, 3),
            macs=_relative_macs,
        ),
        LayerType(
            name="window_partition",
            description="MaxViT's WindowPartition: (C, H, W) into (H/p · W/p, p·p, C) windows "
            "of p × p tokens; no parameters.",
            args=args_schema(("p",), p=arg("size", "Window side (the partition size).")),
            shape=_partition_shape,
            check=_partition_check,
            ranks=(3,),
        ),
        LayerType(
            name="window_departition",
            description="MaxViT's WindowDepartition: windows (G, p·p, C) back to (C, H, W) "
            "with h_partitions × w_partitions = G; no parameters.",
            args=args_schema(
                ("p", "h_partitions", "w_partitions"),
                p=arg("size", "Window side."),
                h_partitions=arg("size", "Windows per column (H / p)."),
                w_partitions=arg("size", "Windows per row (W / p)."),
            ),
            shape=_departition_shape,
            check=_departition_check,
            ranks=(3,),
        ),
    ]
