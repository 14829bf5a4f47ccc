"""Reference parameter counts and shapes for vision models and layers, as PyTorch reports them.

The source of truth behind ``tests/data/reference/vision.json``. Every number in that file
comes from a model or module built on PyTorch's ``meta`` device (no weights allocated,
nothing downloaded: torchvision models with ``weights=None``, timm's
``VisionTransformer`` from keyword arguments written out below). The count is
``sum(p.numel() for p in model.parameters())``; output shapes come from running the module
on a meta tensor of the given input shape (with a batch of 2, removed in the JSON).

It needs torch, torchvision and timm, which archcalc does not depend on, so it is not part
of the default test run. From the repository root::

    /work/refenv/bin/python reference/vision_counts.py          # (re)write the JSON
    /work/refenv/bin/python reference/vision_counts.py --check  # recompute, compare

Sections of the JSON:

* ``cases``: whole models by id — ``total_params``, the builder and its arguments, and for
  ViTs the facts the archcalc formula relies on (position-table rows, which final norm is
  a LayerNorm);
* ``layers``: one entry per (layer type, argument set) — archcalc's layer name and
  arguments, the input shape, the torch module and its arguments, ``params`` and the
  ``output`` shape.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
OUTPUT = REPO_ROOT / "tests" / "data" / "reference" / "vision.json"
FORMAT_VERSION = 1
CONVENTION = (
    "total_params = sum(p.numel() for p in model.parameters()) of the model built under "
    "torch.device('meta') (torchvision with weights=None; timm VisionTransformer(**kwargs)); "
    "layer outputs from a forward pass on a meta tensor with batch 2, batch removed."
)

TORCHVISION = {
    "resnet18": {},
    "resnet34": {},
    "resnet50": {},
    "resnet101": {},
    "resnet18-10-classes": {"builder": "resnet18", "num_classes": 10},
    "resnet50-100-classes": {"builder": "resnet50", "num_classes": 100},
    "resnext50_32x4d": {},
    "wide_resnet50_2": {},
    "vgg11": {},
    "vgg16": {},
    "vgg16_bn": {},
    "vgg19_bn": {},
    "vgg16-10-classes": {"builder": "vgg16", "num_classes": 10},
    "alexnet": {},
    "mobilenet_v2": {},
    "mobilenet_v2-width-0.5": {"builder": "mobilenet_v2", "width_mult": 0.5},
}


def vit(dim: int, depth: int, heads: int, ratio: float = 4.0, **extra: Any) -> dict[str, Any]:
    return {
        "img_size": 224,
        "patch_size": 16,
        "in_chans": 3,
        "num_classes": 1000,
        "embed_dim": dim,
        "depth": depth,
        "num_heads": heads,
        "mlp_ratio": ratio,
        "qkv_bias": True,
        "class_token": True,
        "global_pool": "token",
        **extra,
    }


VITS = {
    "vit-b-16": vit(768, 12, 12),
    "vit-l-16": vit(1024, 24, 16),
    "vit-s-16": vit(384, 12, 6),
    "vit-10b": vit(6144, 24, 48),
    "vit-b-16-10-classes": vit(768, 12, 12, num_classes=10),
    "vit-b-16-no-head": vit(768, 12, 12, num_classes=0),
    "vit-b-16-in-chans-1": vit(768, 12, 12, in_chans=1),
    "vit-b-16-no-class-token-avg": vit(768, 12, 12, class_token=False, global_pool="avg"),
    "vit-b-16-avg": vit(768, 12, 12, global_pool="avg"),
    "vit-b-16-no-qkv-bias": vit(768, 12, 12, qkv_bias=False),
    "vit-b-32-384": vit(768, 12, 12, img_size=384, patch_size=32),
    "vit-tiny-odd": vit(192, 3, 3, ratio=2.5, img_size=96, patch_size=8, num_classes=7),
}

# (id, archcalc layer, archcalc args, input shape without batch)
LAYERS: list[tuple[str, str, dict[str, Any], list[int]]] = [
    ("conv1d-basic", "conv1d", {"out_channels": 8, "kernel_size": 3}, [4, 32]),
    (
        "conv1d-grouped",
        "conv1d",
        {"out_channels": 12, "kernel_size": 5, "stride": 2, "padding": 2, "groups": 4},
        [8, 33],
    ),
    (
        "conv1d-nobias-dilated",
        "conv1d",
        {"out_channels": 6, "kernel_size": 3, "dilation": 3, "bias": False},
        [3, 20],
    ),
    ("conv1d-same", "conv1d", {"out_channels": 5, "kernel_size": 4, "padding": "same"}, [2, 17]),
    (
        "conv2d-basic",
        "conv2d",
        {"out_channels": 64, "kernel_size": 7, "stride": 2, "padding": 3, "bias": False},
        [3, 224, 224],
    ),
    (
        "conv2d-rect",
        "conv2d",
        {
            "out_channels": 16,
            "kernel_size": [3, 5],
            "stride": [1, 2],
            "padding": [1, 0],
            "dilation": [2, 1],
        },
        [8, 31, 29],
    ),
    (
        "conv2d-depthwise",
        "conv2d",
        {"out_channels": 32, "kernel_size": 3, "padding": 1, "groups": 32, "bias": False},
        [32, 56, 56],
    ),
    (
        "conv2d-grouped",
        "conv2d",
        {"out_channels": 128, "kernel_size": 3, "stride": 2, "padding": 1, "groups": 32},
        [128, 15, 15],
    ),
    (
        "conv2d-valid",
        "conv2d",
        {"out_channels": 4, "kernel_size": 2, "padding": "valid"},
        [3, 9, 9],
    ),
    (
        "conv_transpose2d-basic",
        "conv_transpose2d",
        {"out_channels": 16, "kernel_size": 4, "stride": 2, "padding": 1},
        [32, 14, 14],
    ),
    (
        "conv_transpose2d-grouped",
        "conv_transpose2d",
        {
            "out_channels": 12,
            "kernel_size": [3, 2],
            "stride": [2, 3],
            "padding": [1, 0],
            "output_padding": [1, 2],
            "groups": 2,
            "bias": False,
            "dilation": 1,
        },
        [8, 7, 5],
    ),
    ("linear-basic", "linear", {"out_features": 1000}, [2048]),
    ("linear-nobias-seq", "linear", {"out_features": 64, "bias": False}, [10, 128]),
    ("bilinear-basic", "bilinear", {"out_features": 7}, [12]),
    ("bilinear-nobias", "bilinear", {"out_features": 3, "bias": False}, [5, 9]),
    ("embedding-basic", "embedding", {"num_embeddings": 1000, "embedding_dim": 64}, [16]),
    ("batchnorm1d-basic", "batchnorm1d", {}, [64]),
    ("batchnorm1d-seq-noaffine", "batchnorm1d", {"affine": False}, [32, 10]),
    ("batchnorm2d-basic", "batchnorm2d", {}, [64, 56, 56]),
    ("batchnorm2d-nostats", "batchnorm2d", {"track_running_stats": False}, [3, 8, 8]),
    ("groupnorm-basic", "groupnorm", {"num_groups": 32}, [256, 14, 14]),
    ("groupnorm-noaffine", "groupnorm", {"num_groups": 4, "affine": False}, [16, 7, 7]),
    ("layernorm-basic", "layernorm", {}, [10, 768]),
    ("layernorm-2d", "layernorm", {"normalized_shape": [14, 14]}, [8, 14, 14]),
    ("layernorm-nobias", "layernorm", {"bias": False}, [512]),
    ("layernorm-noaffine", "layernorm", {"elementwise_affine": False}, [6, 20]),
    ("instancenorm2d-basic", "instancenorm2d", {}, [64, 32, 32]),
    ("instancenorm2d-affine", "instancenorm2d", {"affine": True}, [64, 32, 32]),
    ("lstm-basic", "lstm", {"hidden_size": 128}, [20, 64]),
    (
        "lstm-deep-bidirectional",
        "lstm",
        {"hidden_size": 64, "num_layers": 3, "bidirectional": True},
        [15, 32],
    ),
    ("lstm-proj", "lstm", {"hidden_size": 96, "num_layers": 2, "proj_size": 40}, [9, 17]),
    (
        "lstm-proj-bidirectional-nobias",
        "lstm",
        {"hidden_size": 50, "num_layers": 2, "proj_size": 20, "bidirectional": True, "bias": False},
        [7, 11],
    ),
    ("gru-basic", "gru", {"hidden_size": 128}, [20, 64]),
    (
        "gru-deep-bidirectional-nobias",
        "gru",
        {"hidden_size": 32, "num_layers": 2, "bidirectional": True, "bias": False},
        [5, 24],
    ),
    ("multihead_attention-basic", "multihead_attention", {"num_heads": 8}, [10, 512]),
    (
        "multihead_attention-nobias-biaskv",
        "multihead_attention",
        {"num_heads": 4, "bias": False, "add_bias_kv": True},
        [6, 64],
    ),
    (
        "maxpool2d-resnet",
        "maxpool2d",
        {"kernel_size": 3, "stride": 2, "padding": 1},
        [64, 112, 112],
    ),
    (
        "maxpool2d-ceil",
        "maxpool2d",
        {"kernel_size": 3, "stride": 2, "ceil_mode": True},
        [8, 56, 56],
    ),
    (
        "maxpool2d-ceil-drop",
        "maxpool2d",
        {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True},
        [4, 5, 5],
    ),
    (
        "maxpool2d-dilated",
        "maxpool2d",
        {"kernel_size": [2, 3], "stride": [1, 2], "dilation": [2, 1]},
        [4, 17, 19],
    ),
    ("avgpool2d-basic", "avgpool2d", {"kernel_size": 2}, [16, 33, 33]),
    (
        "avgpool2d-ceil",
        "avgpool2d",
        {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
        [16, 12, 12],
    ),
    ("adaptive_avgpool2d-1", "adaptive_avgpool2d", {"output_size": 1}, [512, 7, 7]),
    ("adaptive_avgpool2d-7", "adaptive_avgpool2d", {"output_size": [7, 6]}, [512, 14, 13]),
    ("adaptive_maxpool2d-basic", "adaptive_maxpool2d", {"output_size": 2}, [8, 9, 9]),
    ("flatten-basic", "flatten", {}, [512, 7, 7]),
    ("flatten-partial", "flatten", {"start_dim": 2}, [4, 5, 6]),
    ("dropout-basic", "dropout", {"p": 0.2}, [100]),
    ("identity-basic", "identity", {}, [3, 4, 5]),
    ("upsample-scale", "upsample", {"scale_factor": 2}, [8, 7, 9]),
    ("upsample-fraction", "upsample", {"scale_factor": 1.5, "mode": "nearest"}, [8, 7, 9]),
    ("upsample-size", "upsample", {"size": [20, 30], "mode": "bilinear"}, [3, 10, 10]),
    ("relu-basic", "relu", {}, [3, 8, 8]),
    ("relu6-basic", "relu6", {"inplace": True}, [3, 8, 8]),
    ("gelu-basic", "gelu", {"approximate": "tanh"}, [10, 16]),
    ("silu-basic", "silu", {}, [16]),
    ("sigmoid-basic", "sigmoid", {}, [16]),
    ("tanh-basic", "tanh", {}, [16]),
    ("hardswish-basic", "hardswish", {}, [16, 4, 4]),
    ("hardsigmoid-basic", "hardsigmoid", {}, [16, 4, 4]),
    ("leaky_relu-basic", "leaky_relu", {"negative_slope": 0.2}, [16]),
    ("softmax-basic", "softmax", {"dim": -1}, [10, 5]),
]

TORCH_NAMES = {
    "conv1d": "Conv1d",
    "conv2d": "Conv2d",
    "conv_transpose2d": "ConvTranspose2d",
    "linear": "Linear",
    "bilinear": "Bilinear",
    "embedding": "Embedding",
    "batchnorm1d": "BatchNorm1d",
    "batchnorm2d": "BatchNorm2d",
    "groupnorm": "GroupNorm",
    "layernorm": "LayerNorm",
    "instancenorm2d": "InstanceNorm2d",
    "lstm": "LSTM",
    "gru": "GRU",
    "multihead_attention": "MultiheadAttention",
    "maxpool2d": "MaxPool2d",
    "avgpool2d": "AvgPool2d",
    "adaptive_avgpool2d": "AdaptiveAvgPool2d",
    "adaptive_maxpool2d": "AdaptiveMaxPool2d",
    "flatten": "Flatten",
    "dropout": "Dropout",
    "identity": "Identity",
    "upsample": "Upsample",
    "relu": "ReLU",
    "relu6": "ReLU6",
    "gelu": "GELU",
    "silu": "SiLU",
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "hardswish": "Hardswish",
    "hardsigmoid": "Hardsigmoid",
    "leaky_relu": "LeakyReLU",
    "softmax": "Softmax",
}

#: The argument torch needs for the size archcalc infers from the input.
INFERRED = {
    "conv1d": ("in_channels", 0),
    "conv2d": ("in_channels", 0),
    "conv_transpose2d": ("in_channels", 0),
    "linear": ("in_features", -1),
    "bilinear": ("in1_features", -1),
    "batchnorm1d": ("num_features", 0),
    "batchnorm2d": ("num_features", 0),
    "groupnorm": ("num_channels", 0),
    "instancenorm2d": ("num_features", 0),
    "lstm": ("input_size", -1),
    "gru": ("input_size", -1),
    "multihead_attention": ("embed_dim", -1),
}


def torch_args(layer: str, args: dict[str, Any], shape: list[int]) -> dict[str, Any]:
    """The torch module's keyword arguments for an archcalc layer on an input shape."""
    kwargs = dict(args)
    if layer in INFERRED:
        name, dim = INFERRED[layer]
        kwargs[name] = shape[dim]
    if layer == "bilinear":
        kwargs["in2_features"] = shape[-1]
    if layer == "layernorm":
        kwargs["normalized_shape"] = args.get("normalized_shape", shape[-1])
    if layer == "multihead_attention":
        kwargs["batch_first"] = True
    if layer in ("lstm", "gru"):
        kwargs["batch_first"] = True
    return kwargs


def measure_layer(layer: str, args: dict[str, Any], shape: list[int]) -> dict[str, Any]:
    import torch

    kwargs = torch_args(layer, args, shape)
    with torch.device("meta"):
        module = getattr(torch.nn, TORCH_NAMES[layer])(**kwargs)
        if layer == "embedding":
            x = torch.zeros([2, *shape], dtype=torch.long)
        else:
            x = torch.empty([2, *shape])
        if layer == "multihead_attention":
            out = module(x, x, x)[0]
        elif layer == "bilinear":
            out = module(x, x)
        elif layer in ("lstm", "gru"):
            out = module(x)[0]
        else:
            out = module(x)
    return {
        "layer": layer,
        "args": args,
        "input": shape,
        "torch": f"torch.nn.{TORCH_NAMES[layer]}",
        "torch_args": kwargs,
        "params": sum(p.numel() for p in module.parameters()),
        "output": list(out.shape)[1:],
    }


def measure_torchvision(case_id: str, spec: dict[str, Any]) -> dict[str, Any]:
    import torch
    import torchvision

    kwargs = {k: v for k, v in spec.items() if k != "builder"}
    builder = spec.get("builder", case_id)
    with torch.device("meta"):
        model = getattr(torchvision.models, builder)(weights=None, **kwargs)
        out = model(torch.empty(2, 3, 224, 224))
    return {
        "source": f"torchvision.models.{builder}(weights=None, **kwargs)",
        "kwargs": kwargs,
        "input": [3, 224, 224],
        "output": list(out.shape)[1:],
        "total_params": sum(p.numel() for p in model.parameters()),
    }


def measure_vit(kwargs: dict[str, Any]) -> dict[str, Any]:
    import torch
    from timm.models.vision_transformer import VisionTransformer

    with torch.device("meta"):
        model = VisionTransformer(**kwargs)
    names = dict(model.named_parameters())
    return {
        "source": "timm.models.vision_transformer.VisionTransformer(**kwargs)",
        "kwargs": kwargs,
        "total_params": sum(p.numel() for p in model.parameters()),
        "pos_embed_shape": list(model.pos_embed.shape),
        "has_cls_token": "cls_token" in names,
        "norm_is_layernorm": isinstance(model.norm, torch.nn.LayerNorm),
        "fc_norm_is_layernorm": isinstance(model.fc_norm, torch.nn.LayerNorm),
        "mlp_hidden": model.blocks[0].mlp.fc1.out_features,
    }


def build_document() -> dict[str, Any]:
    cases: dict[str, Any] = {}
    for case_id, spec in TORCHVISION.items():
        cases[case_id] = measure_torchvision(case_id, spec)
    for case_id, kwargs in VITS.items():
        cases[case_id] = measure_vit(kwargs)
    layers = {}
    for layer_id, layer, args, shape in LAYERS:
        if layer_id in layers:
            raise ValueError(f"duplicate layer id {layer_id}")
        layers[layer_id] = measure_layer(layer, args, shape)
    versions = {name: metadata.version(name) for name in ("torch", "torchvision", "timm")}
    return {
        "format_version": FORMAT_VERSION,
        "generated_by": "reference/vision_counts.py",
        "convention": CONVENTION,
        "versions": versions,
        "cases": dict(sorted(cases.items())),
        "layers": dict(sorted(layers.items())),
    }


INT_LIST_RE = re.compile(r"\[\s*(-?\d+(?:,\s*-?\d+)*)\s*\]")


def render(document: dict[str, Any]) -> str:
    """Serialise deterministically: two-space indent, integer lists (shapes) on one line."""
    text = json.dumps(document, indent=2, ensure_ascii=False)
    text = INT_LIST_RE.sub(lambda m: "[" + ", ".join(re.split(r",\s*", m[1])) + "]", text)
    return text + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed file")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="JSON file to write/check")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    text = render(build_document())
    elapsed = time.perf_counter() - start
    if args.check:
        committed = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if committed == text:
            print(f"OK: {args.output} matches ({elapsed:.1f}s)")
            return 0
        print(f"MISMATCH: {args.output} differs from the recomputed document", file=sys.stderr)
        return 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(
        f"wrote {args.output} ({len(TORCHVISION) + len(VITS)} models, {len(LAYERS)} layers, "
        f"{elapsed:.1f}s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
