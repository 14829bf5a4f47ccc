"""The built-in layer types of ``family: cnn``: torch.nn modules, their parameters and shapes.

Each layer is a :class:`~archcalc.LayerType` registered through the same hook a third-party
plugin uses. Names and arguments are torch.nn's in snake_case (``conv2d`` is
``nn.Conv2d``, ``out_channels`` its argument); input sizes (``in_channels``,
``in_features``, ``num_features``, ``embed_dim``...) are inferred from the shape flowing
in and, when given, must agree with it.

Shapes leave out the batch dimension: ``(C, H, W)`` for images, ``(L, F)`` for sequences.
Every ``params`` and ``shape`` function is plain arithmetic on its arguments, with ``//``
where torch floors, so one definition gives exact ints and sympy formulas. The output-size
rules are torch's own (``torch.nn.functional`` / ATen's ``pooling_output_shape``), and
``reference/vision_counts.py`` checks every parameter formula against the torch module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from archcalc import LayerType, hookimpl
from archcalc.schema import EXPRESSION_PATTERN

Args = Mapping[str, Any]
Shape = tuple[Any, ...]
Report = Callable[..., None]


# --------------------------------------------------------------------------- schemas


def _number(minimum: int | None) -> dict[str, Any]:
    number: dict[str, Any] = {"type": "number"}
    if minimum is not None:
        number["minimum"] = minimum
    return {"anyOf": [number, {"type": "string", "pattern": EXPRESSION_PATTERN}]}


_MINIMUM = {"size": 1, "count": 0, "padding": 0, "number": None, "int": None}


def arg(kind: str, description: str, default: Any = None, exact: bool = False) -> dict[str, Any]:
    """The schema of one argument; ``x-kind`` tells the CNN walker how to evaluate it.

    ``exact`` marks a structural argument (it decides which tensors exist): formulas use
    its exact value rather than a symbol.
    """
    base = kind.rstrip("2")
    schema: dict[str, Any]
    if kind in ("bool", "choice", "any"):
        schema = {"type": "boolean"} if kind == "bool" else {}
    elif kind == "sizes":
        item = _number(1)
        schema = {
            "if": {"type": "array"},
            "then": {"type": "array", "items": item, "minItems": 1, "maxItems": 8},
            "else": item,
        }
    elif kind.endswith("2"):
        item = _number(_MINIMUM[base])
        schema = {
            "if": {"type": "array"},
            "then": {"type": "array", "items": item, "minItems": 2, "maxItems": 2},
            "else": item,
        }
    else:
        schema = _number(_MINIMUM[kind])
    schema["description"] = description
    schema["x-kind"] = kind
    if exact:
        schema["x-exact"] = True
    if default is not None:
        schema["default"] = default
    return schema


def choice(description: str, options: tuple[str, ...], default: str) -> dict[str, Any]:
    return {
        "enum": list(options),
        "description": description,
        "x-kind": "choice",
        "default": default,
    }


def args_schema(required: tuple[str, ...] = (), **properties: dict[str, Any]) -> dict[str, Any]:
    """A closed argument mapping: unknown arguments are errors with a did-you-mean."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = list(required)
    return schema


INPLACE = arg("bool", "Operate in place (no effect on parameters).", False)


# --------------------------------------------------------------------------- arithmetic


def div(a: Any, b: Any) -> Any:
    """Exact division: ``//`` on ints (callers check divisibility), ``/`` on symbols."""
    if isinstance(a, int) and isinstance(b, int):
        return a // b
    return a / b


def prod(values: Any) -> Any:
    result: Any = 1
    for value in values:
        result = result * value
    return result


def ntuple(value: Any, n: int) -> tuple[Any, ...]:
    """An int-or-pair argument as an n-tuple (``3`` -> ``(3, 3)``)."""
    return tuple(value) if isinstance(value, tuple) else (value,) * n


def conv_size(size: Any, kernel: Any, stride: Any, padding: Any, dilation: Any) -> Any:
    """torch's convolution output size: floor((x + 2p - d(k-1) - 1) / s) + 1."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def pool_size(size: Any, kernel: Any, stride: Any, padding: Any, dilation: Any, ceil: bool) -> Any:
    """ATen's ``pooling_output_shape``, ceil_mode included.

    With ``ceil_mode`` the last window must start inside the input or its left padding,
    otherwise it is dropped.
    """
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    if not ceil:
        return span // stride + 1
    out = (span + stride - 1) // stride + 1
    dropped = (out - 1) * stride >= size + padding
    try:
        return out - 1 if bool(dropped) else out
    except TypeError:  # a symbolic size: the formula keeps both cases
        import sympy

        return sympy.Piecewise((out - 1, dropped), (out, True))


def _given_matches(args: Args, name: str, inferred: Any, report: Report, what: str) -> None:
    given = args.get(name)
    if given is not None and given != inferred:
        report(
            f"{name} is {given} but the {what} flowing in is {inferred}; drop {name} "
            "(it is inferred) or fix the layer before",
            code="C605",
        )


def _divides(args: Args, report: Report, groups_name: str, **sizes: Any) -> None:
    groups = args[groups_name]
    for name, value in sizes.items():
        if value % groups:
            report(f"{name} ({value}) is not divisible by {groups_name} ({groups})", code="C605")


# --------------------------------------------------------------------------- convolutions


def _conv(nd: int, transposed: bool) -> LayerType:
    size = "size" if nd == 1 else "size2"
    count = "count" if nd == 1 else "count2"
    padding_kind = count if transposed else ("padding" if nd == 1 else "padding2")
    name = f"conv_transpose{nd}d" if transposed else f"conv{nd}d"
    torch_name = f"ConvTranspose{nd}d" if transposed else f"Conv{nd}d"
    extra: dict[str, Any] = {}
    padding_help = "Zero padding on each side."
    if transposed:
        extra["output_padding"] = arg(count, "Extra size added to one side of the output.", 0)
    else:
        padding_help += " Or 'same' (stride 1 only) or 'valid' (no padding)."
        extra["padding_mode"] = choice(
            "How the input is padded (no effect on parameters).",
            ("zeros", "reflect", "replicate", "circular"),
            "zeros",
        )
    schema = args_schema(
        ("out_channels", "kernel_size"),
        in_channels=arg("size", "Input channels; inferred from the input, must agree if given."),
        out_channels=arg("size", "Output channels (filters)."),
        kernel_size=arg(size, "Kernel size: an int or [h, w]."),
        stride=arg(size, "Stride.", 1),
        padding=arg(padding_kind, padding_help, 0),
        dilation=arg(size, "Spacing between kernel elements.", 1),
        groups=arg("size", "Blocked connections: in and out channels split into groups.", 1),
        bias=arg("bool", "Add a learnable bias per output channel.", True),
        **extra,
    )

    def params(a: Args, s: Shape) -> Any:
        cin, cout, groups = s[0], a["out_channels"], a["groups"]
        kernel = prod(ntuple(a["kernel_size"], nd))
        fan = cin * div(cout, groups) if transposed else cout * div(cin, groups)
        return fan * kernel + (cout if a["bias"] else 0)

    def shape(a: Args, s: Shape) -> Shape:
        sizes = s[1:]
        kernel, stride = ntuple(a["kernel_size"], nd), ntuple(a["stride"], nd)
        dilation = ntuple(a["dilation"], nd)
        padding = a["padding"]
        if isinstance(padding, str) and padding == "same":
            return (a["out_channels"], *sizes)
        padding = ntuple(0 if isinstance(padding, str) else padding, nd)
        if transposed:
            extra_pad = ntuple(a["output_padding"], nd)
            out = tuple(
                (x - 1) * st - 2 * p + d * (k - 1) + op + 1
                for x, k, st, p, d, op in zip(
                    sizes, kernel, stride, padding, dilation, extra_pad, strict=True
                )
            )
        else:
            out = tuple(
                conv_size(x, k, st, p, d)
                for x, k, st, p, d in zip(sizes, kernel, stride, padding, dilation, strict=True)
            )
        return (a["out_channels"], *out)

    def check(a: Args, s: Shape, report: Report) -> None:
        _given_matches(a, "in_channels", s[0], report, "number of channels")
        _divides(a, report, "groups", in_channels=s[0], out_channels=a["out_channels"])
        if (
            isinstance(a["padding"], str)
            and a["padding"] == "same"
            and any(x != 1 for x in ntuple(a["stride"], nd))
        ):
            report(
                "padding 'same' needs stride 1 (torch refuses it for strided convolutions)",
                code="C605",
            )
        if transposed:
            stride, dilation = ntuple(a["stride"], nd), ntuple(a["dilation"], nd)
            for op, st, d in zip(ntuple(a["output_padding"], nd), stride, dilation, strict=True):
                if op >= st and op >= d:
                    report(
                        f"output_padding ({op}) must be smaller than stride ({st}) "
                        f"or dilation ({d})",
                        code="C605",
                    )

    return LayerType(
        name=name,
        description=f"torch.nn.{torch_name}: {nd}-D {'transposed ' if transposed else ''}"
        "convolution over (C, " + ("L" if nd == 1 else "H, W") + ") inputs.",
        args=schema,
        params=params,
        shape=shape,
        check=check,
        ranks=(nd + 1,),
    )


# --------------------------------------------------------------------------- dense layers


def _linear_params(a: Args, s: Shape) -> Any:
    return s[-1] * a["out_features"] + (a["out_features"] if a["bias"] else 0)


def _linear_shape(a: Args, s: Shape) -> Shape:
    return (*s[:-1], a["out_features"])


def _linear_check(a: Args, s: Shape, report: Report) -> None:
    _given_matches(a, "in_features", s[-1], report, "last dimension")
    if len(s) >= 3:
        report(
            f"linear acts on the last dimension ({s[-1]}) of a {len(s)}-D input {_show(s)}; "
            "a flatten is probably missing before it",
            warning=True,
            code="C610",
        )


def _bilinear_params(a: Args, s: Shape) -> Any:
    in2 = s[-1] if a["in2_features"] is None else a["in2_features"]
    return a["out_features"] * s[-1] * in2 + (a["out_features"] if a["bias"] else 0)


def _bilinear_check(a: Args, s: Shape, report: Report) -> None:
    _given_matches(a, "in1_features", s[-1], report, "last dimension")
    _given_matches(a, "in2_features", s[-1], report, "last dimension (both inputs are x)")


def _embedding_params(a: Args, s: Shape) -> Any:
    return a["num_embeddings"] * a["embedding_dim"]


def _embedding_shape(a: Args, s: Shape) -> Shape:
    return (*s, a["embedding_dim"])


# --------------------------------------------------------------------------- norms


def _channel_norm(a: Args, s: Shape) -> Any:
    return 2 * s[0] if a["affine"] else 0


def _channel_check(a: Args, s: Shape, report: Report) -> None:
    _given_matches(a, "num_features", s[0], report, "number of channels")


def _groupnorm_params(a: Args, s: Shape) -> Any:
    return 2 * s[0] if a["affine"] else 0


def _groupnorm_check(a: Args, s: Shape, report: Report) -> None:
    _given_matches(a, "num_channels", s[0], report, "number of channels")
    _divides(a, report, "num_groups", num_channels=s[0])


def _normalized(a: Args, s: Shape) -> tuple[Any, ...]:
    given = a["normalized_shape"]
    return (s[-1],) if given is None else ntuple(given, 1)


def _layernorm_params(a: Args, s: Shape) -> Any:
    if not a["elementwise_affine"]:
        return 0
    size = prod(_normalized(a, s))
    return size + (size if a["bias"] else 0)


def _layernorm_check(a: Args, s: Shape, report: Report) -> None:
    shape = _normalized(a, s)
    if len(shape) > len(s) or tuple(s[len(s) - len(shape) :]) != tuple(shape):
        report(
            f"normalized_shape {_show(shape)} is not the trailing part of the input {_show(s)}",
            code="C605",
        )


# --------------------------------------------------------------------------- recurrent


def _rnn(gates: int, name: str, torch_name: str) -> LayerType:
    projection = gates == 4
    extra = (
        {"proj_size": arg("count", "Project h to this size (0: no projection).", 0, exact=True)}
        if projection
        else {}
    )
    schema = args_schema(
        ("hidden_size",),
        input_size=arg("size", "Input features; inferred from the input, must agree if given."),
        hidden_size=arg("size", "Features of the hidden state h."),
        num_layers=arg("size", "Stacked recurrent layers.", 1),
        bias=arg("bool", "Use the b_ih and b_hh biases.", True),
        batch_first=arg("bool", "Batch dimension first (no effect on parameters).", False),
        dropout=arg("number", "Dropout between layers (no effect on parameters).", 0),
        bidirectional=arg("bool", "Run a second, reversed direction.", False),
        **extra,
    )

    def out_width(a: Args) -> Any:
        proj = a.get("proj_size", 0)
        return proj if proj else a["hidden_size"]

    def params(a: Args, s: Shape) -> Any:
        hidden, width = a["hidden_size"], out_width(a)
        directions = 2 if a["bidirectional"] else 1
        bias = 2 * gates * hidden if a["bias"] else 0
        proj = hidden * width if a.get("proj_size", 0) else 0

        def layer(n_in: Any) -> Any:
            return gates * hidden * n_in + gates * hidden * width + bias + proj

        first = layer(s[-1])
        rest = layer(directions * width)
        return directions * (first + (a["num_layers"] - 1) * rest)

    def shape(a: Args, s: Shape) -> Shape:
        return (*s[:-1], (2 if a["bidirectional"] else 1) * out_width(a))

    def check(a: Args, s: Shape, report: Report) -> None:
        _given_matches(a, "input_size", s[-1], report, "last dimension")
        if a.get("proj_size", 0) >= a["hidden_size"]:
            report(
                f"proj_size ({a['proj_size']}) must be smaller than hidden_size "
                f"({a['hidden_size']})",
                code="C605",
            )

    return LayerType(
        name=name,
        description=f"torch.nn.{torch_name} over (L, F) sequences; outputs the sequence of h.",
        args=schema,
        params=params,
        shape=shape,
        check=check,
        ranks=(2,),
    )


def _mha_params(a: Args, s: Shape) -> Any:
    embed = s[-1]
    kdim = embed if a["kdim"] is None else a["kdim"]
    vdim = embed if a["vdim"] is None else a["vdim"]
    bias = a["bias"]
    in_proj = embed * embed + embed * kdim + embed * vdim + (3 * embed if bias else 0)
    out_proj = embed * embed + (embed if bias else 0)
    bias_kv = 2 * embed if a["add_bias_kv"] else 0
    return in_proj + out_proj + bias_kv


def _mha_check(a: Args, s: Shape, report: Report) -> None:
    _given_matches(a, "embed_dim", s[-1], report, "last dimension")
    if s[-1] % a["num_heads"]:
        report(f"num_heads ({a['num_heads']}) must divide embed_dim ({s[-1]})", code="C605")


# --------------------------------------------------------------------------- pooling


def _pool(kind: str) -> LayerType:
    is_max = kind == "max"
    extra: dict[str, Any] = (
        {
            "dilation": arg("size2", "Spacing between window elements.", 1),
            "return_indices": arg("bool", "Also return the argmax indices.", False),
        }
        if is_max
        else {
            "count_include_pad": arg("bool", "Average over padding too.", True),
            "divisor_override": arg("size", "Divide by this instead of the window size."),
        }
    )
    schema = args_schema(
        ("kernel_size",),
        kernel_size=arg("size2", "Window size: an int or [h, w]."),
        stride=arg("size2", "Stride; defaults to kernel_size."),
        padding=arg("count2", "Implicit padding on each side.", 0),
        ceil_mode=arg("bool", "Round the output size up instead of down.", False, exact=True),
        **extra,
    )

    def parts(a: Args) -> tuple[Any, ...]:
        kernel = ntuple(a["kernel_size"], 2)
        stride = kernel if a["stride"] is None else ntuple(a["stride"], 2)
        dilation = ntuple(a.get("dilation", 1), 2)
        return kernel, stride, ntuple(a["padding"], 2), dilation

    def shape(a: Args, s: Shape) -> Shape:
        kernel, stride, padding, dilation = parts(a)
        out = tuple(
            pool_size(x, k, st, p, d, a["ceil_mode"])
            for x, k, st, p, d in zip(s[1:], kernel, stride, padding, dilation, strict=True)
        )
        return (s[0], *out)

    def check(a: Args, s: Shape, report: Report) -> None:
        kernel, _, padding, dilation = parts(a)
        for k, p, d in zip(kernel, padding, dilation, strict=True):
            effective = (k - 1) * d + 1
            if 2 * p > effective:
                report(
                    f"padding ({p}) must be at most half of the window ({effective})", code="C605"
                )

    return LayerType(
        name=f"{kind}pool2d",
        description=f"torch.nn.{kind.capitalize()}Pool2d over (C, H, W); no parameters.",
        args=schema,
        shape=shape,
        check=check,
        ranks=(3,),
    )


def _adaptive(kind: str) -> LayerType:
    def shape(a: Args, s: Shape) -> Shape:
        return (s[0], *ntuple(a["output_size"], 2))

    extra = (
        {"return_indices": arg("bool", "Also return the argmax indices.", False)}
        if kind == "max"
        else {}
    )
    return LayerType(
        name=f"adaptive_{kind}pool2d",
        description=f"torch.nn.Adaptive{kind.capitalize()}Pool2d: (C, H, W) to a fixed "
        "(C, h, w); no parameters.",
        args=args_schema(
            ("output_size",),
            output_size=arg("size2", "Output size: an int or [h, w]."),
            **extra,
        ),
        shape=shape,
        ranks=(3,),
    )


# --------------------------------------------------------------------------- reshaping


def _flatten_dims(a: Args, s: Shape) -> tuple[int, int]:
    """torch's dims count the batch: index 0 is the batch, our shape starts at 1."""
    n = len(s) + 1
    start, end = int(a["start_dim"]), int(a["end_dim"])
    return (start + n if start < 0 else start), (end + n if end < 0 else end)


def _flatten_shape(a: Args, s: Shape) -> Shape:
    start, end = _flatten_dims(a, s)
    full = ("batch", *s)
    merged = prod(full[start : end + 1])
    return (*full[:start], merged, *full[end + 1 :])[1:]


def _flatten_check(a: Args, s: Shape, report: Report) -> None:
    start, end = _flatten_dims(a, s)
    n = len(s) + 1
    if not (0 <= start < n and 0 <= end < n):
        report(f"start_dim/end_dim out of range for a {n}-D input (batch included)", code="C605")
    elif start == 0:
        report(
            "start_dim 0 would fold the batch dimension in; use start_dim 1 (the default)",
            code="C605",
        )
    elif start > end:
        report(f"start_dim ({a['start_dim']}) comes after end_dim ({a['end_dim']})", code="C605")


def _upsample_shape(a: Args, s: Shape) -> Shape:
    if a["size"] is not None:
        return (s[0], *ntuple(a["size"], len(s) - 1))
    factors = ntuple(a["scale_factor"], len(s) - 1)
    return (s[0], *((x * f) // 1 for x, f in zip(s[1:], factors, strict=True)))


def _upsample_check(a: Args, s: Shape, report: Report) -> None:
    given = a["size"] if a["size"] is not None else a["scale_factor"]
    if (a["size"] is None) == (a["scale_factor"] is None):
        report("upsample needs exactly one of size and scale_factor", code="C605")
    elif isinstance(given, tuple) and len(given) != len(s) - 1:
        report(f"a pair [h, w] needs a (C, H, W) input, got {_show(s)}", code="C605")
    elif a["scale_factor"] is not None and any(f <= 0 for f in ntuple(a["scale_factor"], 1)):
        report("scale_factor must be positive", code="C605")


def _show(shape: Shape) -> str:
    return "(" + ", ".join(str(x) for x in shape) + ("," if len(shape) == 1 else "") + ")"


# --------------------------------------------------------------------------- registration


def _free(name: str, torch_name: str, **properties: dict[str, Any]) -> LayerType:
    """A parameter-free, shape-preserving layer (activations, dropout, identity)."""
    return LayerType(
        name=name,
        description=f"torch.nn.{torch_name}; no parameters, shape unchanged.",
        args=args_schema(**properties),
    )


def layer_types() -> list[LayerType]:
    """Every built-in layer type."""
    affine = arg("bool", "Learnable per-channel weight and bias.", True)
    stats = arg("bool", "Keep running mean and variance (buffers, not parameters).", True)
    eps = arg("number", "Added to the variance for stability.")
    momentum = arg("number", "Running-statistics momentum.")

    def batchnorm(nd: int, ranks: tuple[int, ...]) -> LayerType:
        return LayerType(
            name=f"batchnorm{nd}d",
            description=f"torch.nn.BatchNorm{nd}d: a weight and a bias per channel "
            "(running statistics are buffers).",
            args=args_schema(
                num_features=arg("size", "Channels; inferred, must agree if given."),
                eps=eps,
                momentum=momentum,
                affine=affine,
                track_running_stats=stats,
            ),
            params=_channel_norm,
            check=_channel_check,
            ranks=ranks,
        )

    return [
        _conv(1, False),
        _conv(2, False),
        _conv(2, True),
        LayerType(
            name="linear",
            description="torch.nn.Linear on the last dimension: in_features × out_features "
            "weights plus a bias.",
            args=args_schema(
                ("out_features",),
                in_features=arg("size", "Input features; inferred, must agree if given."),
                out_features=arg("size", "Output features."),
                bias=arg("bool", "Add a learnable bias.", True),
            ),
            params=_linear_params,
            shape=_linear_shape,
            check=_linear_check,
        ),
        LayerType(
            name="bilinear",
            description="torch.nn.Bilinear(x, x): out × in1 × in2 weights plus a bias.",
            args=args_schema(
                ("out_features",),
                in1_features=arg("size", "First input's features; inferred."),
                in2_features=arg("size", "Second input's features; inferred (the same x)."),
                out_features=arg("size", "Output features."),
                bias=arg("bool", "Add a learnable bias.", True),
            ),
            params=_bilinear_params,
            shape=_linear_shape,
            check=_bilinear_check,
        ),
        LayerType(
            name="embedding",
            description="torch.nn.Embedding: a table of num_embeddings × embedding_dim; "
            "token ids (L,) become (L, embedding_dim).",
            args=args_schema(
                ("num_embeddings", "embedding_dim"),
                num_embeddings=arg("size", "Rows of the table (vocabulary size)."),
                embedding_dim=arg("size", "Width of each embedding."),
                padding_idx=arg("int", "Row kept at zero (still a parameter)."),
                max_norm=arg("number", "Renormalise rows above this norm."),
            ),
            params=_embedding_params,
            shape=_embedding_shape,
        ),
        batchnorm(1, (1, 2)),
        batchnorm(2, (3,)),
        LayerType(
            name="groupnorm",
            description="torch.nn.GroupNorm: a weight and a bias per channel.",
            args=args_schema(
                ("num_groups",),
                num_groups=arg("size", "Groups the channels are split into."),
                num_channels=arg("size", "Channels; inferred, must agree if given."),
                eps=eps,
                affine=affine,
            ),
            params=_groupnorm_params,
            check=_groupnorm_check,
        ),
        LayerType(
            name="layernorm",
            description="torch.nn.LayerNorm over the trailing dimensions: a weight and a bias "
            "per normalised element.",
            args=args_schema(
                normalized_shape=arg(
                    "sizes", "Trailing shape to normalise; defaults to the last dimension."
                ),
                eps=eps,
                elementwise_affine=arg("bool", "Learnable weight (and bias).", True),
                bias=arg("bool", "Learnable bias (with elementwise_affine).", True),
            ),
            params=_layernorm_params,
            check=_layernorm_check,
        ),
        LayerType(
            name="instancenorm2d",
            description="torch.nn.InstanceNorm2d: no parameters unless affine.",
            args=args_schema(
                num_features=arg("size", "Channels; inferred, must agree if given."),
                eps=eps,
                momentum=momentum,
                affine=arg("bool", "Learnable per-channel weight and bias.", False),
                track_running_stats=arg("bool", "Keep running statistics (buffers).", False),
            ),
            params=_channel_norm,
            check=_channel_check,
            ranks=(3,),
        ),
        _rnn(4, "lstm", "LSTM"),
        _rnn(3, "gru", "GRU"),
        LayerType(
            name="multihead_attention",
            description="torch.nn.MultiheadAttention as self-attention over (L, E): q, k, v "
            "and output projections.",
            args=args_schema(
                ("num_heads",),
                embed_dim=arg("size", "Model width; inferred, must agree if given."),
                num_heads=arg("size", "Attention heads; must divide embed_dim."),
                bias=arg("bool", "Biases on the input and output projections.", True),
                add_bias_kv=arg("bool", "Learned bias rows appended to k and v.", False),
                kdim=arg("size", "Key features; defaults to embed_dim."),
                vdim=arg("size", "Value features; defaults to embed_dim."),
                dropout=arg("number", "Attention dropout (no parameters).", 0),
                batch_first=arg("bool", "Batch dimension first (no effect).", False),
            ),
            params=_mha_params,
            check=_mha_check,
            ranks=(2,),
        ),
        _pool("max"),
        _pool("avg"),
        _adaptive("avg"),
        _adaptive("max"),
        LayerType(
            name="flatten",
            description="torch.nn.Flatten: merges start_dim..end_dim (torch's dims, batch = 0).",
            args=args_schema(
                start_dim=arg("int", "First dimension to merge (batch is 0).", 1, exact=True),
                end_dim=arg("int", "Last dimension to merge.", -1, exact=True),
            ),
            shape=_flatten_shape,
            check=_flatten_check,
        ),
        LayerType(
            name="upsample",
            description="torch.nn.Upsample to a size or by a scale factor (floor(x · f)).",
            args=args_schema(
                size=arg("size2", "Output spatial size: an int or [h, w]."),
                scale_factor=arg("number2", "Multiplier of the spatial size: a number or [h, w]."),
                mode=choice(
                    "Interpolation (no effect on parameters).",
                    ("nearest", "linear", "bilinear", "bicubic", "trilinear", "nearest-exact"),
                    "nearest",
                ),
                align_corners=arg("bool", "Align corner pixels (no effect on parameters)."),
            ),
            shape=_upsample_shape,
            check=_upsample_check,
            ranks=(2, 3),
        ),
        _free("dropout", "Dropout", p=arg("number", "Drop probability.", 0.5), inplace=INPLACE),
        _free("identity", "Identity"),
        _free("relu", "ReLU", inplace=INPLACE),
        _free("relu6", "ReLU6", inplace=INPLACE),
        _free(
            "gelu",
            "GELU",
            approximate=choice("'none' or the 'tanh' approximation.", ("none", "tanh"), "none"),
        ),
        _free("silu", "SiLU", inplace=INPLACE),
        _free("sigmoid", "Sigmoid"),
        _free("tanh", "Tanh"),
        _free("hardswish", "Hardswish", inplace=INPLACE),
        _free("hardsigmoid", "Hardsigmoid", inplace=INPLACE),
        _free(
            "leaky_relu",
            "LeakyReLU",
            negative_slope=arg("number", "Slope for x < 0.", 0.01),
            inplace=INPLACE,
        ),
        _free("softmax", "Softmax", dim=arg("int", "Dimension to normalise (torch's index).")),
    ]


@hookimpl
def archcalc_layer_types() -> list[LayerType]:
    return layer_types()
