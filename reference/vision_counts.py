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
    "layer outputs from a forward pass on a meta tensor with batch 1, batch removed; flops: "
    "torch.utils.flop_counter.FlopCounterMode's total for that forward pass (2 per "
    "multiply-accumulate of convolutions, matmuls and attention)."
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
    # issue 11: the examples under examples/torchvision/ (builder defaults unless named)
    "densenet121": {},
    "efficientnet_b0": {},
    "efficientnet_v2_s": {},
    "mobilenet_v3_small": {},
    "mobilenet_v3_large": {},
    "convnext_tiny": {},
    "regnet_y_400mf": {},
    "shufflenet_v2_x1_0": {},
    "squeezenet1_1": {},
    "googlenet": {"aux_logits": False, "init_weights": False},
    "inception_v3": {"aux_logits": False, "init_weights": False, "input": [3, 299, 299]},
    "mnasnet1_0": {},
    "swin_t": {},
    "maxvit_t": {},
    "vit_b_16": {},
}

#: Held out: specs written from the README alone (tests/data/specs/vision/).
HELD_OUT = (
    "vgg11_bn",
    "regnet_x_400mf",
    "efficientnet_b1",
    "convnext_small",
    "swin_s",
    "densenet169",
    "shufflenet_v2_x0_5",
    "squeezenet1_0",
    "mnasnet0_5",
    "resnext101_32x8d",
)
TORCHVISION.update({name: {} for name in HELD_OUT})

#: Held out too: timm models by their registered names, built with their default config.
#: (A spec for each is in tests/data/specs/vision/ as well.)
TIMM_MODELS = (
    "vit_base_patch16_reg4_gap_256",
    "vit_base_patch16_clip_224",
    "vit_small_patch14_dinov2",
    "vit_medium_patch16_gap_256",
    "vit_base_patch16_siglip_224",
    "deit_tiny_distilled_patch16_224",
)


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
    # issue 11: the variants timm builds (register tokens, CLIP-style pre-norm, pooling...)
    "vit-s-16-reg4": vit(384, 12, 6, reg_tokens=4),
    "vit-b-16-clip-style": vit(768, 12, 12, pre_norm=True, class_token=True),
    "vit-b-16-fc-norm": vit(768, 12, 12, fc_norm=True),
    "vit-b-16-max": vit(768, 12, 12, global_pool="max"),
    "vit-b-16-avgmax-no-fc-norm": vit(768, 12, 12, global_pool="avgmax", fc_norm=False),
    "vit-b-16-map": vit(768, 12, 12, global_pool="map", class_token=False),
    "vit-b-16-no-pool": vit(768, 12, 12, global_pool="", class_token=False),
    "vit-b-16-no-final-norm": vit(768, 12, 12, final_norm=False),
    "vit-b-16-no-embed-class-reg": vit(768, 12, 12, no_embed_class=True, reg_tokens=2),
    "vit-b-16-no-pos-embed": vit(768, 12, 12, pos_embed="none"),
    "vit-b-16-qk-norm-layer-scale": vit(768, 12, 12, qk_norm=True, init_values=1e-5),
    "vit-s-16-no-proj-bias": vit(384, 12, 6, proj_bias=False, qkv_bias=False),
    "vit-tiny-everything": vit(
        96,
        2,
        3,
        ratio=3.0,
        img_size=64,
        patch_size=16,
        num_classes=5,
        reg_tokens=3,
        pre_norm=True,
        qk_norm=True,
        init_values=0.1,
        global_pool="avg",
    ),
}

#: DeiT with its distillation token and head (timm.models.deit.VisionTransformerDistilled).
DISTILLED = {
    "deit_base_distilled_patch16_224": vit(768, 12, 12),
    "deit-tiny-distilled-odd": vit(96, 2, 3, img_size=64, patch_size=16, num_classes=5),
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
    # 1-D and 3-D variants
    (
        "conv3d-basic",
        "conv3d",
        {"out_channels": 8, "kernel_size": [3, 5, 5], "stride": [1, 2, 2], "padding": [1, 2, 2]},
        [3, 8, 32, 32],
    ),
    ("conv3d-grouped", "conv3d", {"out_channels": 6, "kernel_size": 3, "groups": 3}, [6, 5, 7, 9]),
    (
        "conv_transpose1d-basic",
        "conv_transpose1d",
        {"out_channels": 4, "kernel_size": 4, "stride": 2, "padding": 1},
        [8, 15],
    ),
    (
        "conv_transpose3d-basic",
        "conv_transpose3d",
        {"out_channels": 4, "kernel_size": 2, "stride": 2, "bias": False},
        [6, 3, 4, 5],
    ),
    ("batchnorm3d-basic", "batchnorm3d", {}, [16, 4, 8, 8]),
    ("instancenorm1d-affine", "instancenorm1d", {"affine": True}, [8, 20]),
    ("instancenorm3d-basic", "instancenorm3d", {}, [4, 3, 5, 5]),
    ("maxpool1d-basic", "maxpool1d", {"kernel_size": 3, "stride": 2, "padding": 1}, [8, 33]),
    ("maxpool3d-ceil", "maxpool3d", {"kernel_size": 2, "ceil_mode": True}, [4, 5, 7, 9]),
    ("avgpool1d-basic", "avgpool1d", {"kernel_size": 4}, [8, 30]),
    ("avgpool3d-basic", "avgpool3d", {"kernel_size": [1, 2, 2]}, [4, 3, 8, 8]),
    ("adaptive_avgpool1d-basic", "adaptive_avgpool1d", {"output_size": 1}, [16, 50]),
    ("adaptive_maxpool1d-basic", "adaptive_maxpool1d", {"output_size": 5}, [16, 50]),
    ("adaptive_avgpool3d-basic", "adaptive_avgpool3d", {"output_size": [1, 2, 2]}, [8, 4, 9, 9]),
    ("adaptive_maxpool3d-basic", "adaptive_maxpool3d", {"output_size": 1}, [8, 4, 9, 9]),
    # reshapes, channel ops, more activations
    ("unflatten-tokens", "unflatten", {"dim": 1, "unflattened_size": [7, 7]}, [49, 32]),
    ("permute-channels-last", "permute", {"dims": [0, 2, 3, 1]}, [8, 5, 6]),
    ("permute-tokens", "permute", {"dims": [0, 2, 1]}, [32, 49]),
    ("channel_shuffle-basic", "channel_shuffle", {"groups": 2}, [116, 28, 28]),
    ("dropout2d-basic", "dropout2d", {"p": 0.1}, [8, 4, 4]),
    ("mish-basic", "mish", {}, [16]),
    ("elu-basic", "elu", {"alpha": 0.5}, [16]),
    # torchvision / timm building blocks
    ("layernorm2d-basic", "layernorm2d", {}, [96, 56, 56]),
    ("squeeze_excitation-basic", "squeeze_excitation", {"squeeze_channels": 8}, [32, 14, 14]),
    (
        "squeeze_excitation-silu",
        "squeeze_excitation",
        {"squeeze_channels": 64, "activation": "silu"},
        [256, 7, 7],
    ),
    ("layer_scale-tokens", "layer_scale", {"dim": -1}, [49, 192]),
    ("layer_scale-map", "layer_scale", {"dim": 1, "init_values": 1e-6}, [96, 14, 14]),
    ("stochastic_depth-basic", "stochastic_depth", {"p": 0.1, "mode": "row"}, [64, 8, 8]),
    ("patch_merging-basic", "patch_merging", {}, [56, 56, 96]),
    ("patch_merging-odd", "patch_merging", {}, [7, 9, 32]),
    (
        "shifted_window_attention-basic",
        "shifted_window_attention",
        {"window_size": 7, "shift_size": 3, "num_heads": 3},
        [14, 14, 96],
    ),
    (
        "shifted_window_attention-padded",
        "shifted_window_attention",
        {"window_size": [4, 4], "num_heads": 2, "qkv_bias": False},
        [9, 10, 32],
    ),
    (
        "relative_positional_attention-basic",
        "relative_positional_attention",
        {"head_dim": 32, "max_seq_len": 49},
        [64, 49, 128],
    ),
    ("window_partition-basic", "window_partition", {"p": 7}, [64, 56, 56]),
    (
        "window_departition-basic",
        "window_departition",
        {"p": 7, "h_partitions": 8, "w_partitions": 8},
        [64, 49, 64],
    ),
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
    "conv3d": "Conv3d",
    "conv_transpose1d": "ConvTranspose1d",
    "conv_transpose3d": "ConvTranspose3d",
    "batchnorm3d": "BatchNorm3d",
    "instancenorm1d": "InstanceNorm1d",
    "instancenorm3d": "InstanceNorm3d",
    "maxpool1d": "MaxPool1d",
    "maxpool3d": "MaxPool3d",
    "avgpool1d": "AvgPool1d",
    "avgpool3d": "AvgPool3d",
    "adaptive_avgpool1d": "AdaptiveAvgPool1d",
    "adaptive_maxpool1d": "AdaptiveMaxPool1d",
    "adaptive_avgpool3d": "AdaptiveAvgPool3d",
    "adaptive_maxpool3d": "AdaptiveMaxPool3d",
    "unflatten": "Unflatten",
    "channel_shuffle": "ChannelShuffle",
    "dropout2d": "Dropout2d",
    "mish": "Mish",
    "elu": "ELU",
}

#: Layer types that are not torch.nn modules: the module that is their reference, built from
#: archcalc's arguments and the input shape, and how it is called.
BLOCKS: dict[str, str] = {
    "permute": "torchvision.ops.misc.Permute(dims)",
    "layernorm2d": "torchvision.models.convnext.LayerNorm2d(C, **args)",
    "squeeze_excitation": "torchvision.ops.SqueezeExcitation(C, squeeze_channels, activation)",
    "layer_scale": "timm.layers.LayerScale(C) for dim -1, LayerScale2d(C) for dim 1",
    "stochastic_depth": "torchvision.ops.StochasticDepth(p, mode)",
    "patch_merging": "torchvision.models.swin_transformer.PatchMerging(C)",
    "shifted_window_attention": "torchvision.models.swin_transformer.ShiftedWindowAttention",
    "relative_positional_attention": (
        "torchvision.models.maxvit.RelativePositionalMultiHeadAttention(C, head_dim, max_seq_len)"
    ),
    "window_partition": "torchvision.models.maxvit.WindowPartition()(x, p)",
    "window_departition": "torchvision.models.maxvit.WindowDepartition()(x, p, hp, wp)",
}

_ACTIVATIONS = {"relu": "ReLU", "silu": "SiLU", "sigmoid": "Sigmoid", "hardsigmoid": "Hardsigmoid"}


def build_block(layer: str, args: dict[str, Any], shape: list[int]) -> tuple[Any, Any]:
    """The reference module of a non-torch.nn layer type and a function running it on x."""
    import timm.layers
    import torch
    import torchvision
    from torchvision.models import convnext, maxvit, swin_transformer

    channels = shape[0]
    last = shape[-1]
    if layer == "permute":
        module = torchvision.ops.misc.Permute(args["dims"])
    elif layer == "layernorm2d":
        module = convnext.LayerNorm2d(channels, **args)
    elif layer == "squeeze_excitation":
        activation = getattr(torch.nn, _ACTIVATIONS[args.get("activation", "relu")])
        module = torchvision.ops.SqueezeExcitation(
            channels, args["squeeze_channels"], activation=activation
        )
    elif layer == "layer_scale":
        kind = timm.layers.LayerScale if args["dim"] == -1 else timm.layers.LayerScale2d
        size = last if args["dim"] == -1 else channels
        module = kind(size, **{k: v for k, v in args.items() if k != "dim"})
    elif layer == "stochastic_depth":
        module = torchvision.ops.StochasticDepth(args["p"], args["mode"])
    elif layer == "patch_merging":
        module = swin_transformer.PatchMerging(last)
    elif layer == "shifted_window_attention":
        window = args["window_size"]
        window = window if isinstance(window, list) else [window, window]
        shift = args.get("shift_size", 0)
        shift = shift if isinstance(shift, list) else [shift, shift]
        extra = {k: v for k, v in args.items() if k not in ("window_size", "shift_size")}
        module = swin_transformer.ShiftedWindowAttention(last, window, shift, **extra)
    elif layer == "relative_positional_attention":
        module = maxvit.RelativePositionalMultiHeadAttention(
            last, args["head_dim"], args["max_seq_len"]
        )
    elif layer == "window_partition":
        module = maxvit.WindowPartition()
        return module, lambda x: module(x, args["p"])
    elif layer == "window_departition":
        module = maxvit.WindowDepartition()
        return module, lambda x: module(x, args["p"], args["h_partitions"], args["w_partitions"])
    else:
        raise ValueError(f"no reference module for {layer}")
    return module, module


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
    "conv3d": ("in_channels", 0),
    "conv_transpose1d": ("in_channels", 0),
    "conv_transpose3d": ("in_channels", 0),
    "batchnorm3d": ("num_features", 0),
    "instancenorm1d": ("num_features", 0),
    "instancenorm3d": ("num_features", 0),
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
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        if layer in BLOCKS:
            kwargs = dict(args)
            module, run = build_block(layer, args, shape)
            source = BLOCKS[layer]
        else:
            kwargs = torch_args(layer, args, shape)
            module = getattr(torch.nn, TORCH_NAMES[layer])(**kwargs)
            run = module
            source = f"torch.nn.{TORCH_NAMES[layer]}"
        module.eval()  # batch-norm statistics of a single sample need eval mode
        if layer == "embedding":
            x = torch.zeros([1, *shape], dtype=torch.long)
        else:
            x = torch.empty([1, *shape])
        with FlopCounterMode(display=False) as counter:
            if layer == "multihead_attention":
                out = module(x, x, x)[0]
            elif layer == "bilinear":
                out = module(x, x)
            elif layer in ("lstm", "gru"):
                out = module(x)[0]
            else:
                out = run(x)
    return {
        "layer": layer,
        "args": args,
        "input": shape,
        "torch": source,
        "torch_args": kwargs,
        "params": sum(p.numel() for p in module.parameters()),
        "tensors": [[name, list(p.shape)] for name, p in module.named_parameters()],
        "flops": counter.get_total_flops(),
        "output": list(out.shape)[1:],
    }


def measure_torchvision(case_id: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A torchvision model's count, output shape and forward FLOPs for one image."""
    import torch
    import torchvision
    from torch.utils.flop_counter import FlopCounterMode

    kwargs = {k: v for k, v in spec.items() if k not in ("builder", "input")}
    builder = spec.get("builder", case_id)
    shape = spec.get("input", [3, 224, 224])
    # RegNet builders compute their stage widths with tensor arithmetic, which the meta
    # device cannot do: those few models are built on the CPU (same parameters).
    device = "cpu" if builder.startswith("regnet") else "meta"
    with torch.device(device), torch.no_grad():
        model = getattr(torchvision.models, builder)(weights=None, **kwargs).eval()
        with FlopCounterMode(display=False) as counter:
            out = model(torch.zeros(1, *shape))
    return {
        "source": f"torchvision.models.{builder}(weights=None, **kwargs)",
        "device": device,
        "kwargs": kwargs,
        "input": shape,
        "output": list(out.shape)[1:],
        "total_params": sum(p.numel() for p in model.parameters()),
        "flops": counter.get_total_flops(),
    }


def measure_vit(
    kwargs: dict[str, Any], distilled: bool = False, builder: str | None = None
) -> dict[str, Any]:
    """A timm ViT built from keyword arguments, or by its registered name (``builder``,
    checked to be the class and arguments the keyword arguments describe)."""
    import timm
    import torch
    from timm.models.deit import VisionTransformerDistilled
    from timm.models.vision_transformer import VisionTransformer
    from torch.utils.flop_counter import FlopCounterMode

    kind = VisionTransformerDistilled if distilled else VisionTransformer
    with torch.device("meta"):
        model = kind(**kwargs).eval()
        if builder is not None:
            named = timm.create_model(builder, pretrained=False)
            shapes = [list(p.shape) for p in model.parameters()]
            if type(named) is not kind or shapes != [list(p.shape) for p in named.parameters()]:
                raise ValueError(f"timm's {builder} is not {kind.__name__}(**{kwargs})")
        with FlopCounterMode(display=False) as counter:
            model(torch.empty(1, kwargs["in_chans"], kwargs["img_size"], kwargs["img_size"]))
    names = dict(model.named_parameters())
    small = sum(p.numel() for p in model.parameters()) < 5_000_000
    source = f"timm.models.{kind.__module__.split('.')[-1]}.{kind.__name__}(**kwargs)"
    return {
        "source": source if builder is None else f"timm.create_model('{builder}') = {source}",
        "kwargs": kwargs,
        "distilled": distilled,
        "total_params": sum(p.numel() for p in model.parameters()),
        "flops": counter.get_total_flops(),
        "pos_embed_shape": list(model.pos_embed.shape) if model.pos_embed is not None else None,
        "has_cls_token": "cls_token" in names,
        "norm_is_layernorm": isinstance(model.norm, torch.nn.LayerNorm),
        "fc_norm_is_layernorm": isinstance(model.fc_norm, torch.nn.LayerNorm),
        "mlp_hidden": model.blocks[0].mlp.fc1.out_features,
        # every tensor's state-dict name and shape, for the smaller models
        **({"tensors": [[n, list(p.shape)] for n, p in names.items()]} if small else {}),
    }


def measure_timm(name: str) -> dict[str, Any]:
    """A timm model by its registered name (default configuration, nothing downloaded)."""
    import timm
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        model = timm.create_model(name, pretrained=False).eval()
        size = model.patch_embed.img_size
        with FlopCounterMode(display=False) as counter:
            model(torch.empty(1, 3, *size))
    return {
        "source": f"timm.create_model('{name}', pretrained=False)",
        "img_size": list(size),
        "num_classes": model.num_classes,
        "total_params": sum(p.numel() for p in model.parameters()),
        "flops": counter.get_total_flops(),
    }


def build_document() -> dict[str, Any]:
    layers = {}
    for layer_id, layer, args, shape in LAYERS:
        if layer_id in layers:
            raise ValueError(f"duplicate layer id {layer_id}")
        layers[layer_id] = measure_layer(layer, args, shape)
    cases: dict[str, Any] = {}
    for case_id, spec in TORCHVISION.items():
        cases[case_id] = measure_torchvision(case_id, spec)
    for case_id, kwargs in VITS.items():
        cases[case_id] = measure_vit(kwargs)
    for name in TIMM_MODELS:
        cases[name] = measure_timm(name)
    for name in (*HELD_OUT, *TIMM_MODELS):
        cases[name]["held_out"] = True
    for case_id, kwargs in DISTILLED.items():
        builder = case_id if "_" in case_id else None  # a timm model name
        cases[case_id] = measure_vit(kwargs, distilled=True, builder=builder)
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
        f"wrote {args.output} "
        f"({len(TORCHVISION) + len(VITS) + len(DISTILLED) + len(TIMM_MODELS)} models, "
        f"{len(LAYERS)} layers, {elapsed:.1f}s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
