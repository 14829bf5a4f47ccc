"""``family: cnn`` — layer graphs with static shape inference (ResNet, VGG, MobileNet...).

A spec gives an ``input`` shape and a list of ``layers``; each layer is a bare name
(``relu``) or a one-key mapping of a name to its arguments (``conv2d: {out_channels: 64,
kernel_size: 3}``), the names being the registered layer types (see
:mod:`archcalc.plugins.cnn_layers`; plugins add more). Two compositions nest lists:
``residual`` (``layers`` plus an optional ``shortcut``, outputs added) and ``repeat``
(``times`` and ``layers``).

The walker below follows the shape through every layer with torch's arithmetic, so input
sizes are inferred and impossible graphs are reported at the layer's line with its path
(``layers[4].residual.layers[2]``). It runs in both algebras at once: exact shapes decide
everything structural (errors, whether a repeated block preserves the shape), while the
current algebra (ints, or sympy when printing a formula) carries the parameter counts. A
repeated block that preserves the shape is counted once and multiplied, so ``times: 3000``
costs what ``times: 3`` does; one that changes the shape is followed until it stops
changing, within a fixed budget of layer evaluations.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from archcalc import Breakdown, Family, LayerType, Part, ShapeRow, hookimpl
from archcalc.registry import Registry
from archcalc.schema import EXPRESSION_PATTERN
from archcalc.spec import Resolved

# The walker (cnn_graph) is imported by the functions that walk a cnn spec, not here:
# every run loads this plugin, and a transformer's count should not pay for the walker.
if TYPE_CHECKING:
    from archcalc.plugins.cnn_graph import Walker


def walker(
    spec: Resolved,
    rows: list[ShapeRow] | None = None,
    checks: bool = False,
    tensors: list[Any] | None = None,
    macs: bool = False,
) -> Walker:
    from archcalc.plugins.cnn_graph import Walker

    return Walker(spec, spec.registry.layer_types, rows, checks, tensors, macs)


def count(spec: Resolved) -> Breakdown:
    """One part per top-level item that has parameters; repeats keep their factor."""
    from archcalc.plugins.cnn_graph import label

    walk = walker(spec)
    results = walk.run()
    if spec.sink.errors or any(r.flow is None for _, _, r in results):
        raise RuntimeError("cnn: count called on a spec that does not validate")
    parts = []
    for path, name, result in results:
        if result.exact == 0:
            continue
        title = f"{label(path)} {name}"
        if result.per_block is not None:
            parts.append(
                Part(title, result.params, per_layer=result.per_block, layers=result.times)
            )
        else:
            parts.append(Part(title, result.params))
    return Breakdown(tuple(parts))


def check(spec: Resolved) -> None:
    """Follow the shapes; every problem is reported at its layer, all in one run.

    Structural errors the schema already reported (at their paths) are not repeated: the
    walk runs only when the schema accepted ``input`` and ``layers``.
    """
    from archcalc.plugins.cnn_graph import BudgetExceeded

    walk = walker(spec, checks=True)
    with contextlib.suppress(BudgetExceeded):
        walk.run()
    if not spec.sink.errors:  # a walk cut short by an error has not seen every call
        for name in walk.unused_templates():
            spec.warning(("templates", name), f"template '{name}' is never used", "C611")


def tensors(spec: Resolved) -> list[Any]:
    """Every parameter tensor, named by its torch.nn.Sequential-style module path.

    Each list of layers is a Sequential (item i is module ``i``, or its ``name``), a
    repeat a Sequential of its copies, a table a Sequential of its rows; a residual has
    the children ``layers`` and ``shortcut``, a combinator one child per branch; a template
    call holds its template's layers. Repeated copies are listed one by one.
    """
    from archcalc.errors import SpecError
    from archcalc.tensors import Tensor

    collected: list[tuple[tuple[str, ...], str, tuple[int, ...]]] = []
    before = len(spec.sink.diagnostics)
    walker(spec, tensors=collected).run()
    if len(spec.sink.errors) and len(spec.sink.diagnostics) > before:
        raise SpecError(spec.sink.diagnostics[before:])
    return [
        Tensor(".".join((*module, suffix)) if suffix else ".".join(module), shape)
        for module, suffix, shape in collected
    ]


def macs(spec: Resolved) -> int:
    """Multiply-accumulates of one forward pass over one input."""
    return sum(m for _, m in _macs_by_item(spec)[0])


def _macs_by_item(spec: Resolved) -> tuple[list[tuple[str, int]], set[str]]:
    from archcalc.plugins.cnn_graph import label

    walk = walker(spec, macs=True)
    items = [(f"{label(path)} {name}", result.macs or 0) for path, name, result in walk.run()]
    return items, walk.without_macs


def compute(spec: Resolved, seq_len: int) -> Any:
    """``archcalc size``: the FLOPs of one forward pass over one input (batch 1).

    FLOPs are 2 × the multiply-accumulates of every convolution, linear map and attention
    product, as ``torch.utils.flop_counter.FlopCounterMode`` counts them; norms,
    activations, pooling and elementwise operations are not counted. ``seq_len`` does not
    apply to a layer graph.
    """
    from archcalc.sizes import Compute

    items, without = _macs_by_item(spec)
    components = tuple((name, 2 * m) for name, m in items if m)
    notes = [
        "FLOPs = 2 × multiply-adds of convolutions, linear maps and attention products "
        "(FlopCounterMode's convention; torchinfo and fvcore report the multiply-adds)"
    ]
    if without:
        notes.append(
            "counted as 0 (their layer types give no multiply-adds): " + ", ".join(sorted(without))
        )
    flow = walker(spec).input()
    shape = "×".join(str(x) for x in flow.exact) if flow is not None else "?"
    return Compute.for_input(f"{shape} input", components, tuple(notes))


def shapes(spec: Resolved) -> tuple[ShapeRow, ...]:
    """The output shape after each layer (``archcalc count --shapes``)."""
    rows: list[ShapeRow] = []
    walker(spec, rows).run()
    return tuple(rows)


# --------------------------------------------------------------------------- schema


def _number_schema(minimum: int, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "anyOf": [
            {"type": "number", "minimum": minimum},
            {"type": "string", "pattern": EXPRESSION_PATTERN},
        ],
    }


#: A parameter or column name (templates, for_each), as vars are named.
IDENTIFIER_PATTERN = "^[a-z_][a-z0-9_]{0,63}$"
NAME_SCHEMA = {
    "type": "string",
    "description": "The module's name in tensor names (default: its index in the list).",
}


def layers_schema(types: Mapping[str, LayerType]) -> dict[str, Any]:
    """The JSON Schema of ``layers``: items are names or one-key mappings to arguments.

    Built from the registered layer types, so plugins' layers get completion and checks
    too. ``if``/``then``/``else`` rather than ``anyOf`` keeps validation messages precise
    (an unknown argument is named, with a did-you-mean). Other names are allowed by the
    schema because a spec's templates are called like layers; the walker reports an
    unknown one, with a suggestion.
    """
    from archcalc.plugins.cnn_graph import COMPOSITIONS, NAME_KEY

    names = sorted(types)
    properties: dict[str, Any] = {}
    for name in names:
        args = dict(types[name].args)
        if isinstance(args.get("properties"), Mapping):
            args["properties"] = {**args["properties"], NAME_KEY: NAME_SCHEMA}
        properties[name] = {**args, "description": types[name].description}
    nested = {"$ref": "#cnn-layers"}
    branch = {
        "description": "A branch: a list of layers ([] is the identity), or the name of a "
        "template parameter holding layers.",
        "anyOf": [nested, {"type": "string", "pattern": IDENTIFIER_PATTERN}],
    }

    def composition(description: str, required: list[str], **keys: Any) -> dict[str, Any]:
        return {
            "type": "object",
            "description": description,
            "properties": {**keys, NAME_KEY: NAME_SCHEMA},
            "required": required,
            "additionalProperties": False,
        }

    properties["residual"] = composition(
        "out = layers(x) + shortcut(x); the shapes must match.",
        ["layers"],
        layers={**branch, "description": "The main branch."},
        shortcut={**branch, "description": "The shortcut branch; absent: identity."},
    )
    properties["repeat"] = composition(
        "times copies of layers in sequence (counted once while the shape is unchanged); "
        "first, when given, replaces the first copy.",
        ["times", "layers"],
        times=_number_schema(1, "How many copies (at least 1)."),
        layers={**branch, "description": "The repeated block."},
        first={**branch, "description": "The first copy, when it differs (stride, shortcut)."},
    )
    properties["sequential"] = {
        "description": "A group of layers, e.g. to name it (tensor names).",
        "anyOf": [
            nested,
            composition("A group of layers.", ["layers"], layers={**branch}),
        ],
    }
    properties["if"] = composition(
        "then when condition holds, else else (default: nothing): a block that exists only "
        "for some rows of a table or some calls of a template.",
        ["condition", "then"],
        condition={
            "description": "true/false, a bool parameter, or comparisons of expressions joined "
            "by and/or (stride == 1 and width_in == out); a bare expression holds when not 0.",
            "type": ["boolean", "number", "string"],
        },
        then={**branch, "description": "The layers when the condition holds."},
        **{"else": {**branch, "description": "The layers otherwise (default: none)."}},
    )
    combine = {
        "add": "Sum of the branches' outputs (equal shapes).",
        "concat": "Branches' outputs concatenated along dim (default 1: channels).",
        "mul": "Product of the branches' outputs, broadcast (gating, e.g. squeeze-excitation).",
        "split": "The input split along dim (equal parts, or sizes) into one piece per "
        "branch; the outputs concatenated.",
    }
    for how, description in combine.items():
        extra: dict[str, Any] = {}
        if how in ("concat", "split"):
            extra["dim"] = {
                "type": "integer",
                "description": "torch's dimension (batch 0).",
                "default": 1,
            }
        if how == "split":
            extra["sizes"] = {
                "type": "array",
                "items": _number_schema(1, "A piece's size."),
                "description": "Size of each piece (default: equal).",
            }
        branches = {
            "type": "array",
            "items": branch,
            "minItems": 1,
            "description": "The parallel branches, each a list of layers.",
        }
        properties[how] = {
            "description": description + " Branches: a list of layer lists ([] is the identity).",
            "anyOf": [
                branches,
                composition(description, ["branches"], branches=branches, **extra),
            ],
        }
    properties["for_each"] = composition(
        "layers once per row of a table, each row binding the columns' names (or template: "
        "a template called with each row as its arguments).",
        ["columns", "rows"],
        template={
            "type": "string",
            "pattern": IDENTIFIER_PATTERN,
            "description": "A template called once per row, the columns naming its parameters.",
        },
        columns={
            "type": "array",
            "items": {"type": "string", "pattern": IDENTIFIER_PATTERN},
            "description": "The names of the table's columns.",
        },
        rows={
            "type": "array",
            "items": {"type": "array"},
            "description": "One list of values per row (numbers, expressions, layers).",
        },
        layers={**nested, "description": "The block run for each row."},
    )
    item = {
        "description": "A layer: a name (relu) or a one-key mapping of a name to its "
        "arguments (conv2d: {out_channels: 64, kernel_size: 3}); or a template's name.",
        "type": ["string", "object"],
        "examples": [*names, *COMPOSITIONS],
        "if": {"type": "string"},
        "then": {},
        "else": {"properties": properties},
    }
    return {
        "$anchor": "cnn-layers",
        "type": "array",
        "description": "Layers applied in order; the shape flows from input through each.",
        "items": item,
    }


TEMPLATES_SCHEMA = {
    "type": "object",
    "description": "Blocks defined once with parameters, used in layers like a layer: "
    "- NAME: {PARAM: value, ...}.",
    "additionalProperties": {
        "type": "object",
        "properties": {
            "params": {
                "type": "array",
                "items": {"type": "string", "pattern": IDENTIFIER_PATTERN},
                "description": "The parameters' names; expressions in the layers may use them.",
            },
            "defaults": {
                "type": "object",
                "description": "Values of parameters a call may leave out.",
            },
            "layers": {"$ref": "#cnn-layers"},
        },
        "required": ["layers"],
        "additionalProperties": False,
    },
}


INPUT_SCHEMA = {
    "type": "array",
    "description": "Shape of one input, batch excluded: [channels, height, width] (or "
    "[features], [channels, length], [channels, depth, height, width]).",
    "items": _number_schema(1, "A size."),
    "minItems": 1,
    "maxItems": 4,
}


def schema(registry: Registry) -> dict[str, Any]:
    """``input``, ``templates`` and ``layers``; the layer list allows the registry's layer types."""
    return {
        "input": INPUT_SCHEMA,
        "templates": TEMPLATES_SCHEMA,
        "layers": layers_schema(registry.layer_types),
    }


EXAMPLE = """\
name: tiny-resnet
family: cnn
input: [3, 32, 32]
layers:
  - conv2d: {out_channels: 16, kernel_size: 3, padding: 1, bias: false}
  - batchnorm2d
  - relu
  - repeat:
      times: 3
      layers:
        - residual:
            layers:
              - conv2d: {out_channels: 16, kernel_size: 3, padding: 1, bias: false}
              - batchnorm2d
              - relu
              - conv2d: {out_channels: 16, kernel_size: 3, padding: 1, bias: false}
              - batchnorm2d
        - relu
  - adaptive_avgpool2d: {output_size: 1}
  - flatten
  - linear: {out_features: 10}
"""

FAMILY = Family(
    name="cnn",
    description="Layer graphs of torch.nn layers with static shape inference (ResNet, VGG, "
    "MobileNet...).",
    fields=(),
    count=count,
    check=check,
    schema=schema,
    required=("input", "layers"),
    example=EXAMPLE,
    shapes=shapes,
    tensors=tensors,
    compute=compute,
)


@hookimpl
def archcalc_families() -> list[Family]:
    return [FAMILY]
