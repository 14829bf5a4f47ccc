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


#: A template parameter's name, which a bool argument may give instead of true/false.
_PARAMETER = "^[a-z_][a-z0-9_]{0,63}$"
_MINIMUM = {"size": 1, "count": 0, "padding": 0, "number": None, "int": None}


def arg(
    kind: str,
    description: str,
    default: Any = None,
    exact: bool = False,
    minimum: Any = None,
    maximum: Any = None,
) -> dict[str, Any]:
    """The schema of one argument; ``x-kind`` tells the CNN walker how to evaluate it.

    A kind ending in a digit n (``size2``, ``count3``) takes an int or a list of n of them.
    ``exact`` marks a structural argument (it decides which tensors exist): formulas use
    its exact value rather than a symbol. ``minimum``/``maximum`` bound the value, whether
    written as a number or as an expression (``dropout: {p: 2}`` is refused).
    """
    schema: dict[str, Any]
    if kind == "bool":  # true/false, or (in a template) the name of a bool parameter
        schema = {"anyOf": [{"type": "boolean"}, {"type": "string", "pattern": _PARAMETER}]}
    elif kind in ("choice", "any"):
        schema = {}
    elif kind == "sizes":
        item = _number(1)
        schema = {
            "if": {"type": "array"},
            "then": {"type": "array", "items": item, "minItems": 1, "maxItems": 8},
            "else": item,
        }
    elif kind[-1].isdigit():
        n = int(kind[-1])
        item = _number(_MINIMUM[kind[:-1]])
        schema = {
            "if": {"type": "array"},
            "then": {"type": "array", "items": item, "minItems": n, "maxItems": n},
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
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return schema


def choice(description: str, options: tuple[str, ...], default: str) -> dict[str, Any]:
    return {
        "enum": list(options),
        "description": description,
        "x-kind": "choice",
        "default": default,
    }


def args_schema(required: tuple[str, ...] = (), /, **properties: Any) -> dict[str, Any]:
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
    """An int-or-tuple argument as an n-tuple (``3`` -> ``(3, 3)``)."""
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


def numel(shape: Shape) -> Any:
    return prod(shape)


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


def _show(shape: Shape) -> str:
    return "(" + ", ".join(str(x) for x in shape) + ("," if len(shape) == 1 else "") + ")"


def _biased(name: str, weight: Shape, bias: Any, out: Any) -> list[tuple[str, Shape]]:
    """``name.weight`` and, when ``bias``, ``name.bias`` of length ``out`` (name may be '')."""
    prefix = f"{name}." if name else ""
    tensors = [(f"{prefix}weight", weight)]
    if bias:
        tensors.append((f"{prefix}bias", (out,)))
    return tensors


def no_macs(a: Args, s: Shape, out: Shape) -> Any:
    """Norms, embeddings and scales multiply no matrices (FlopCounterMode counts 0)."""
    return 0


def _linear_macs(in_features: Any, out: Shape) -> Any:
    """A linear map to every position of ``out`` (its last dim is out_features)."""
    return numel(out) * in_features


# --------------------------------------------------------------------------- convolutions

_DIMS = {1: "L", 2: "H, W", 3: "D, H, W"}


def _conv(nd: int, transposed: bool) -> LayerType:
    size = "size" if nd == 1 else f"size{nd}"
    count = "count" if nd == 1 else f"count{nd}"
    padding_kind = count if transposed else ("padding" if nd == 1 else f"padding{nd}")
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
    what = "an int or a list of " + ("one" if nd == 1 else str(nd))
    schema = args_schema(
        ("out_channels", "kernel_size"),
        in_channels=arg("size", "Input channels; inferred from the input, must agree if given."),
        out_channels=arg("size", "Output channels (filters)."),
        kernel_size=arg(size, f"Kernel size: {what}."),
        stride=arg(size, "Stride.", 1),
        padding=arg(padding_kind, padding_help, 0),
        dilation=arg(size, "Spacing between kernel elements.", 1),
        groups=arg("size", "Blocked connections: in and out channels split into groups.", 1),
        bias=arg("bool", "Add a learnable bias per output channel.", True),
        **extra,
    )

    def tensors(a: Args, s: Shape) -> list[tuple[str, Shape]]:
        cin, cout, groups = s[0], a["out_channels"], a["groups"]
        kernel = ntuple(a["kernel_size"], nd)
        weight = (
            (cin, div(cout, groups), *kernel) if transposed else (cout, div(cin, groups), *kernel)
        )
        return _biased("", weight, a["bias"], cout)

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

    def macs(a: Args, s: Shape, out: Shape) -> Any:
        weight = numel(tensors(a, s)[0][1])
        return weight * numel(s[1:] if transposed else out[1:])

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
        f"convolution over (C, {_DIMS[nd]}) inputs.",
        args=schema,
        tensors=tensors,
        shape=shape,
        check=check,
        ranks=(nd + 1,),
        macs=macs,
    )


# --------------------------------------------------------------------------- dense layers


def _linear_tensors(a: Args, s: Shape) -> list[tuple[str, Shape]]:
    return _biased("", (a["out_features"], s[-1]), a["bias"], a["out_features"])


def _linear_shape(a: Args, s: Shape) -> Shape:
    return (*s[:-1], a["out_features"])


def _linear_check(a: Args, s: Shape, report: Report) -> None:
    _given_matches(a, "in_features", s[-1], report, "last dimension")
    # (C, H, W) maps are usually square; channels-last (H, W, C) tokens are not: only the
    # first is a likely mistake.
    if len(s) >= 3 and s[-1] == s[-2]:
        report(
            f"linear acts on the last dimension ({s[-1]}) of a {len(s)}-D input {_show(s)}; "
            "a flatten is probably missing before it (or a permute to channels-last)",
            warning=True,
            code="C610",
        )


def _bilinear_tensors(a: Args, s: Shape) -> list[tuple[str, Shape]]:
    in2 = s[-1] if a["in2_features"] is None else a["in2_features"]
    return _biased("", (a["out_features"], s[-1], in2), a["bias"], a["out_features"])


def _bilinear_check(a: Args, s: Shape, report: Report) -> None:
    _given_matches(a, "in1_features", s[-1], report, "last dimension")
    _given_matches(a, "in2_features", s[-1], report, "last dimension (both inputs are x)")


def _embedding_tensors(a: Args, s: Shape) -> list[tuple[str, Shape]]:
    return [("weight", (a["num_embeddings"], a["embedding_dim"]))]


def _embedding_shape(a: Args, s: Shape) -> Shape:
    return (*s, a["embedding_dim"])


# --------------------------------------------------------------------------- norms


def _channel_tensors(a: Args, s: Shape) -> list[tuple[str, Shape]]:
    return [("weight", (s[0],)), ("bias", (s[0],))] if a["affine"] else []


def _channel_check(a: Args, s: Shape, report: Report) -> None:
    _given_matches(a, "num_features", s[0], report, "number of channels")


def _groupnorm_check(a: Args, s: Shape, report: Report) -> None:
    _given_matches(a, "num_channels", s[0], report, "number of channels")
    _divides(a, report, "num_groups", num_channels=s[0])


def _normalized(a: Args, s: Shape) -> tuple[Any, ...]:
    given = a["normalized_shape"]
    return (s[-1],) if given is None else ntuple(given, 1)


def _layernorm_tensors(a: Args, s: Shape) -> list[tuple[str, Shape]]:
    if not a["elementwise_affine"]:
        return []
    shape = _normalized(a, s)
    return [("weight", shape), ("bias", shape)] if a["bias"] else [("weight", shape)]


def _layernorm_check(a: Args, s: Shape, report: Report) -> None:
    shape = _normalized(a, s)
    if len(shape) > len(s) or tuple(s[len(s) - len(shape) :]) != tuple(shape):
        report(
            f"normalized_shape {_show(shape)} is not the trailing part of the input {_show(s)}",
            code="C605",
        )


def _layernorm2d_tensors(a: Args, s: Shape) -> list[tuple[str, Shape]]:
    if not a["elementwise_affine"]:
        return []
    return [("weight", (s[0],)), ("bias", (s[0],))] if a["bias"] else [("weight", (s[0],))]


def _layernorm2d_check(a: Args, s: Shape, report: Report) -> None:
    _given_matches(a, "normalized_shape", s[0], report, "number of channels")


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
        num_layers=arg("size", "Stacked recurrent layers.", 1, exact=True),
        bias=arg("bool", "Use the b_ih and b_hh biases.", True),
        batch_first=arg("bool", "Batch dimension first (no effect on parameters).", False),
        dropout=arg(
            "number", "Dropout between layers (no effect on parameters).", 0, minimum=0, maximum=1
        ),
        bidirectional=arg("bool", "Run a second, reversed direction.", False),
        **extra,
    )

    def out_width(a: Args) -> Any:
        proj = a.get("proj_size", 0)
        return proj if proj else a["hidden_size"]

    def tensors(a: Args, s: Shape) -> list[tuple[str, Shape]]:
        hidden, width = a["hidden_size"], out_width(a)
        directions = ("", "_reverse") if a["bidirectional"] else ("",)
        listed: list[tuple[str, Shape]] = []
        for k in range(int(a["num_layers"])):
            n_in = s[-1] if k == 0 else len(directions) * width
            for sfx in directions:
                listed.append((f"weight_ih_l{k}{sfx}", (gates * hidden, n_in)))
                listed.append((f"weight_hh_l{k}{sfx}", (gates * hidden, width)))
                if a["bias"]:
                    listed.append((f"bias_ih_l{k}{sfx}", (gates * hidden,)))
                    listed.append((f"bias_hh_l{k}{sfx}", (gates * hidden,)))
                if a.get("proj_size", 0):
                    listed.append((f"weight_hr_l{k}{sfx}", (width, hidden)))
        return listed

    def shape(a: Args, s: Shape) -> Shape:
        return (*s[:-1], (2 if a["bidirectional"] else 1) * out_width(a))

    def macs(a: Args, s: Shape, out: Shape) -> Any:
        weights = sum(numel(t) for n, t in tensors(a, s) if n.startswith("weight"))
        return weights * prod(s[:-1])

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
        tensors=tensors,
        shape=shape,
        check=check,
        ranks=(2,),
        macs=macs,
    )


def _mha_tensors(a: Args, s: Shape) -> list[tuple[str, Shape]]:
    embed = s[-1]
    kdim = embed if a["kdim"] is None else a["kdim"]
    vdim = embed if a["vdim"] is None else a["vdim"]
    listed: list[tuple[str, Shape]]
    if a["kdim"] is None and a["vdim"] is None:
        listed = [("in_proj_weight", (3 * embed, embed))]
    else:
        listed = [
            ("q_proj_weight", (embed, embed)),
            ("k_proj_weight", (embed, kdim)),
            ("v_proj_weight", (embed, vdim)),
        ]
    if a["bias"]:
        listed.append(("in_proj_bias", (3 * embed,)))
    if a["add_bias_kv"]:
        listed += [("bias_k", (1, 1, embed)), ("bias_v", (1, 1, embed))]
    return listed + _biased("out_proj", (embed, embed), a["bias"], embed)


def _mha_macs(a: Args, s: Shape, out: Shape) -> Any:
    """Projections of every token, and the two attention products (L × L × E each)."""
    length, embed = s[0], s[-1]
    kdim = embed if a["kdim"] is None else a["kdim"]
    vdim = embed if a["vdim"] is None else a["vdim"]
    keys = length + 1 if a["add_bias_kv"] else length  # bias_k/bias_v add one key and value
    return length * embed * (embed + kdim + vdim + embed) + 2 * length * keys * embed


def _mha_check(a: Args, s: Shape, report: Report) -> None:
    _given_matches(a, "embed_dim", s[-1], report, "last dimension")
    if s[-1] % a["num_heads"]:
        report(f"num_heads ({a['num_heads']}) must divide embed_dim ({s[-1]})", code="C605")


# --------------------------------------------------------------------------- pooling


def _pool(kind: str, nd: int) -> LayerType:
    is_max = kind == "max"
    pair = "size" if nd == 1 else f"size{nd}"
    counts = "count" if nd == 1 else f"count{nd}"
    extra: dict[str, Any] = (
        {
            "dilation": arg(pair, "Spacing between window elements.", 1),
            "return_indices": arg("bool", "Also return the argmax indices.", False),
        }
        if is_max
        else {
            "count_include_pad": arg("bool", "Average over padding too.", True),
            **(
                {"divisor_override": arg("size", "Divide by this instead of the window size.")}
                if nd > 1
                else {}
            ),
        }
    )
    schema = args_schema(
        ("kernel_size",),
        kernel_size=arg(pair, "Window size: an int or one size per dimension."),
        stride=arg(pair, "Stride; defaults to kernel_size."),
        padding=arg(counts, "Implicit padding on each side.", 0),
        ceil_mode=arg("bool", "Round the output size up instead of down.", False, exact=True),
        **extra,
    )

    def parts(a: Args) -> tuple[Any, ...]:
        kernel = ntuple(a["kernel_size"], nd)
        stride = kernel if a["stride"] is None else ntuple(a["stride"], nd)
        dilation = ntuple(a.get("dilation", 1), nd)
        return kernel, stride, ntuple(a["padding"], nd), dilation

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
        name=f"{kind}pool{nd}d",
        description=f"torch.nn.{kind.capitalize()}Pool{nd}d over (C, {_DIMS[nd]}); no parameters.",
        args=schema,
        shape=shape,
        check=check,
        ranks=(nd + 1,),
    )


def _adaptive(kind: str, nd: int) -> LayerType:
    def shape(a: Args, s: Shape) -> Shape:
        return (s[0], *ntuple(a["output_size"], nd))

    extra = (
        {"return_indices": arg("bool", "Also return the argmax indices.", False)}
        if kind == "max"
        else {}
    )
    return LayerType(
        name=f"adaptive_{kind}pool{nd}d",
        description=f"torch.nn.Adaptive{kind.capitalize()}Pool{nd}d: (C, {_DIMS[nd]}) to a "
        "fixed size; no parameters.",
        args=args_schema(
            ("output_size",),
            output_size=arg(
                "size" if nd == 1 else f"size{nd}", "Output size: an int or one per dimension."
            ),
            **extra,
        ),
        shape=shape,
        ranks=(nd + 1,),
    )


# --------------------------------------------------------------------------- reshaping


def _dims(a: Args, s: Shape, *names: str) -> list[int]:
    """torch's dims count the batch: index 0 is the batch, our shape starts at 1."""
    n = len(s) + 1
    return [int(a[name]) + n if int(a[name]) < 0 else int(a[name]) for name in names]


def _flatten_shape(a: Args, s: Shape) -> Shape:
    start, end = _dims(a, s, "start_dim", "end_dim")
    full = ("batch", *s)
    merged = prod(full[start : end + 1])
    return (*full[:start], merged, *full[end + 1 :])[1:]


def _flatten_check(a: Args, s: Shape, report: Report) -> None:
    start, end = _dims(a, s, "start_dim", "end_dim")
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


def _unflatten_shape(a: Args, s: Shape) -> Shape:
    (dim,) = _dims(a, s, "dim")
    sizes = ntuple(a["unflattened_size"], 1)
    return (*s[: dim - 1], *sizes, *s[dim:])


def _unflatten_check(a: Args, s: Shape, report: Report) -> None:
    (dim,) = _dims(a, s, "dim")
    if not 1 <= dim <= len(s):
        report(
            f"dim ({a['dim']}) is not a dimension of the {len(s) + 1}-D input (batch is 0)",
            code="C605",
        )
        return
    sizes = ntuple(a["unflattened_size"], 1)
    if prod(sizes) != s[dim - 1]:
        report(
            f"unflattened_size {_show(sizes)} has {prod(sizes)} elements but dim {a['dim']} of "
            f"the input {_show(s)} has {s[dim - 1]}",
            code="C605",
        )


def _permute_order(a: Args, s: Shape) -> list[int]:
    n = len(s) + 1
    return [int(d) + n if int(d) < 0 else int(d) for d in a["dims"]]


def _permute_shape(a: Args, s: Shape) -> Shape:
    full = ("batch", *s)
    return tuple(full[d] for d in _permute_order(a, s))[1:]


def _permute_check(a: Args, s: Shape, report: Report) -> None:
    dims = a["dims"]
    n = len(s) + 1
    if not isinstance(dims, (list, tuple)) or not all(
        isinstance(d, int) and not isinstance(d, bool) for d in dims
    ):
        report(
            "dims must be a list of dimension indices (batch is 0), e.g. [0, 2, 3, 1]", code="C605"
        )
        return
    if sorted(_permute_order(a, s)) != list(range(n)) or len(dims) != n:
        report(
            f"dims {list(dims)} must order all {n} dimensions of the input (batch 0 included) "
            "exactly once, e.g. " + str([0, *range(2, n), 1]),
            code="C605",
        )
    elif _permute_order(a, s)[0] != 0:
        report("dims must keep the batch dimension first (0)", code="C605")


def _shuffle_check(a: Args, s: Shape, report: Report) -> None:
    _divides(a, report, "groups", channels=s[0])


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


# --------------------------------------------------------------------------- registration


def _free(name: str, torch_name: str, **properties: dict[str, Any]) -> LayerType:
    """A parameter-free, shape-preserving layer (activations, dropout, identity)."""
    return LayerType(
        name=name,
        description=f"torch.nn.{torch_name}; no parameters, shape unchanged.",
        args=args_schema((), **properties),
    )


def layer_types() -> list[LayerType]:
    """Every built-in torch.nn layer type."""
    affine = arg("bool", "Learnable per-channel weight and bias.", True)
    stats = arg("bool", "Keep running mean and variance (buffers, not parameters).", True)
    eps = arg("number", "Added to the variance for stability.", minimum=0)
    momentum = arg("number", "Running-statistics momentum.", minimum=0, maximum=1)
    probability = arg("number", "Drop probability.", 0.5, minimum=0, maximum=1)

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
            tensors=_channel_tensors,
            check=_channel_check,
            ranks=ranks,
            macs=no_macs,
        )

    def instancenorm(nd: int) -> LayerType:
        return LayerType(
            name=f"instancenorm{nd}d",
            description=f"torch.nn.InstanceNorm{nd}d: no parameters unless affine.",
            args=args_schema(
                num_features=arg("size", "Channels; inferred, must agree if given."),
                eps=eps,
                momentum=momentum,
                affine=arg("bool", "Learnable per-channel weight and bias.", False),
                track_running_stats=arg("bool", "Keep running statistics (buffers).", False),
            ),
            tensors=_channel_tensors,
            check=_channel_check,
            ranks=(nd + 1,),
            macs=no_macs,
        )

    layernorm_args: dict[str, Any] = {
        "eps": eps,
        "elementwise_affine": arg("bool", "Learnable weight (and bias).", True),
        "bias": arg("bool", "Learnable bias (with elementwise_affine).", True),
    }
    return [
        *(_conv(nd, transposed) for transposed in (False, True) for nd in (1, 2, 3)),
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
            tensors=_linear_tensors,
            shape=_linear_shape,
            check=_linear_check,
            macs=lambda a, s, out: _linear_macs(s[-1], out),
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
            tensors=_bilinear_tensors,
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
                max_norm=arg("number", "Renormalise rows above this norm.", minimum=0),
            ),
            tensors=_embedding_tensors,
            shape=_embedding_shape,
            macs=no_macs,
        ),
        batchnorm(1, (1, 2)),
        batchnorm(2, (3,)),
        batchnorm(3, (4,)),
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
            tensors=_channel_tensors,
            check=_groupnorm_check,
            macs=no_macs,
        ),
        LayerType(
            name="layernorm",
            description="torch.nn.LayerNorm over the trailing dimensions: a weight and a bias "
            "per normalised element.",
            args=args_schema(
                normalized_shape=arg(
                    "sizes", "Trailing shape to normalise; defaults to the last dimension."
                ),
                **layernorm_args,
            ),
            tensors=_layernorm_tensors,
            check=_layernorm_check,
            macs=no_macs,
        ),
        LayerType(
            name="layernorm2d",
            description="LayerNorm over the channels of a (C, H, W) map (torchvision's "
            "convnext.LayerNorm2d; timm's LayerNorm2d): a weight and a bias per channel.",
            args=args_schema(
                normalized_shape=arg("size", "Channels; inferred, must agree if given."),
                **layernorm_args,
            ),
            tensors=_layernorm2d_tensors,
            check=_layernorm2d_check,
            macs=no_macs,
            ranks=(3,),
        ),
        instancenorm(1),
        instancenorm(2),
        instancenorm(3),
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
                dropout=arg(
                    "number", "Attention dropout (no parameters).", 0, minimum=0, maximum=1
                ),
                batch_first=arg("bool", "Batch dimension first (no effect).", False),
            ),
            tensors=_mha_tensors,
            check=_mha_check,
            ranks=(2,),
            macs=_mha_macs,
        ),
        *(_pool(kind, nd) for kind in ("max", "avg") for nd in (1, 2, 3)),
        *(_adaptive(kind, nd) for kind in ("avg", "max") for nd in (1, 2, 3)),
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
            name="unflatten",
            description="torch.nn.Unflatten: dim (torch's index, batch = 0) becomes "
            "unflattened_size, e.g. tokens (H·W, C) back to a map.",
            args=args_schema(
                ("dim", "unflattened_size"),
                dim=arg("int", "The dimension to expand (batch is 0).", exact=True),
                unflattened_size=arg("sizes", "The sizes it becomes; their product is its size."),
            ),
            shape=_unflatten_shape,
            check=_unflatten_check,
        ),
        LayerType(
            name="permute",
            description="torch.permute / torchvision.ops.Permute: reorders the dimensions "
            "(torch's indices, batch = 0), e.g. [0, 2, 3, 1] makes (C, H, W) channels-last.",
            args=args_schema(
                ("dims",),
                dims={
                    "type": "array",
                    "items": {"type": "integer"},
                    "description": "The new order of the dimensions, batch (0) first.",
                    "x-kind": "any",
                },
            ),
            shape=_permute_shape,
            check=_permute_check,
        ),
        LayerType(
            name="channel_shuffle",
            description="torch.nn.ChannelShuffle (ShuffleNet): interleaves the channels of "
            "groups; no parameters.",
            args=args_schema(("groups",), groups=arg("size", "Groups; must divide the channels.")),
            check=_shuffle_check,
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
        _free("dropout", "Dropout", p=probability, inplace=INPLACE),
        _free("dropout2d", "Dropout2d", p=probability, inplace=INPLACE),
        _free("identity", "Identity"),
        _free("relu", "ReLU", inplace=INPLACE),
        _free("relu6", "ReLU6", inplace=INPLACE),
        _free(
            "gelu",
            "GELU",
            approximate=choice("'none' or the 'tanh' approximation.", ("none", "tanh"), "none"),
        ),
        _free("silu", "SiLU", inplace=INPLACE),
        _free("mish", "Mish", inplace=INPLACE),
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
        _free("elu", "ELU", alpha=arg("number", "Scale for x < 0.", 1), inplace=INPLACE),
        _free("softmax", "Softmax", dim=arg("int", "Dimension to normalise (torch's index).")),
    ]


@hookimpl
def archcalc_layer_types() -> list[LayerType]:
    from archcalc.plugins import cnn_blocks

    return [*layer_types(), *cnn_blocks.layer_types()]
