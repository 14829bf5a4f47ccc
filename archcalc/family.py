"""What a plugin registers: families of models, their fields, and the counts they return.

These are frozen dataclasses (the conda style of plugin registration): a plugin hands
archcalc plain values, and archcalc stays in charge of loading specs, evaluating
expressions, locating errors and rendering results. A family's formula is written once
and called twice: with exact integers to count, with sympy symbols to print the formula.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal

from archcalc.errors import Unavailable

if TYPE_CHECKING:
    from archcalc.registry import Registry
    from archcalc.spec import Resolved

#: The kinds of field a spec can hold.
#: ``size`` a positive integer; ``count`` an integer >= 0; ``number`` any finite rational;
#: ``bool`` true/false; ``choice`` one of ``choices``.
FieldKind = Literal["size", "count", "number", "bool", "choice"]
NUMERIC_KINDS = frozenset({"size", "count", "number"})

_SCALAR_ARG_KINDS = ("size", "count", "number", "int", "padding")
#: The ``x-kind`` values a layer type's argument schema may carry (see :class:`LayerType`).
#: A scalar kind with a digit n (``size2``, ``count3``) takes one value or a list of n.
LAYER_ARG_KINDS = frozenset(
    {
        *_SCALAR_ARG_KINDS,
        *(k + n for k in _SCALAR_ARG_KINDS for n in "23"),
        "sizes",
        "bool",
        "choice",
        "any",
    }
)


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


#: Default of a field the spec must give.
REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Field:
    """One key of a family's spec.

    ``default`` is a literal, :data:`REQUIRED`, ``None`` (optional and absent), or for a
    numeric field an expression string over other fields (``"d_model / n_heads"``); for a
    bool or choice field a string naming another field of the same kind copies its value
    (``qkv_bias`` defaults to ``bias``).
    """

    name: str
    kind: FieldKind
    description: str
    default: Any = REQUIRED
    choices: tuple[str, ...] = ()
    #: For ``number`` fields, a lower bound the value must exceed or equal.
    minimum: int | None = None
    #: What to tell the user when a computed default does not fit the kind.
    default_hint: str = ""

    @property
    def leaf(self) -> str:
        """The name used in expressions and formulas (``moe.top_k`` -> ``top_k``)."""
        return self.name.rsplit(".", 1)[-1]

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS


@dataclass(frozen=True)
class Group:
    """An optional nested mapping of fields (``moe:``); absent means the feature is off."""

    name: str
    description: str
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Part:
    """One component of a breakdown: a named group of parameters.

    ``per_layer`` and ``layers`` are set for components repeated in every block, so the
    breakdown can show both the per-layer figure and the total without unrolling anything.
    """

    name: str
    params: Any
    active: Any = None
    per_layer: Any = None
    layers: Any = None
    #: Free-form grouping for display, e.g. "encoder", "decoder" or "" for the model itself.
    section: str = ""

    def __post_init__(self) -> None:
        if self.active is None:
            object.__setattr__(self, "active", self.params)


@dataclass(frozen=True)
class Breakdown:
    """A model's parameters by component; totals are sums of the parts."""

    parts: tuple[Part, ...]
    #: Extra figures a family wants to report (e.g. ``trainable_params``), same algebra.
    extras: Mapping[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> Any:
        return _sum(p.params for p in self.parts)

    @property
    def active(self) -> Any:
        return _sum(p.active for p in self.parts)

    def __iter__(self) -> Iterator[Part]:
        return iter(self.parts)


def div(a: Any, b: Any) -> Any:
    """``a / b`` exactly, in both algebras: an int when ``b`` divides ``a``, else a Fraction;
    a sympy ratio when either is symbolic.

    Python's ``/`` on two ints makes a float, which loses digits beyond 2**53 and which
    archcalc therefore refuses in a count. ``//`` floors (what torch does for sizes); use
    this where the mathematics divides exactly (``(image_size / patch_size) ** 2``).
    """
    if isinstance(a, (int, Fraction)) and isinstance(b, (int, Fraction)):
        if isinstance(a, bool) or isinstance(b, bool):
            raise TypeError("div() of a bool")
        quotient = Fraction(a) / Fraction(b)
        return int(quotient) if quotient.denominator == 1 else quotient
    return a / b


def _sum(values: Any) -> Any:
    total: Any = 0
    for value in values:
        total = total + value
    return total


CountFn = Callable[["Resolved"], Breakdown]
CheckFn = Callable[["Resolved"], None]
ShapesFn = Callable[["Resolved"], "tuple[ShapeRow, ...]"]


def _no_checks(spec: Resolved) -> None:
    return None


def independent(*rules: CheckFn) -> CheckFn:
    """One check made of independent rules, each run even when another could not be.

    A rule that reads a value already reported wrong (a misspelt choice, a bad
    expression) stops there, since anything it said would restate that error; the other
    rules still run, so ``validate`` lists every independent problem in one run::

        check = independent(check_heads, check_positions, check_experts)
    """

    def check(spec: Resolved) -> None:
        for rule in rules:
            try:
                rule(spec)
            except Unavailable:
                continue

    check.__doc__ = "Independent rules: " + ", ".join(r.__name__ for r in rules)
    return check


@dataclass(frozen=True)
class Family:
    """A family of architectures (``family: transformer`` in a spec).

    ``count`` maps resolved values to a :class:`Breakdown` using only ``+ - * /`` on
    numbers and ``if`` on bools and choices, so that it works for ints and symbols alike.
    ``check`` reports semantic problems through ``spec.error(path, message, code=...)``
    (``spec.warning`` likewise); it is called with exact values only, also when other
    problems were found: reading a value already reported wrong stops the check quietly
    (write it with :func:`independent` so the other rules still run). ``schema``
    describes keys that are not plain fields (for example a CNN's ``layers``) as JSON
    Schema properties; it may be a function of the :class:`~archcalc.registry.Registry`
    when it depends on what other plugins registered (the CNN family lists the
    registry's layer types).
    """

    name: str
    description: str
    fields: tuple[Field | Group, ...]
    count: CountFn
    check: CheckFn = _no_checks
    schema: Mapping[str, Any] | Callable[[Registry], Mapping[str, Any]] = field(
        default_factory=dict
    )
    #: Keys of ``schema`` the spec must give.
    required: tuple[str, ...] = ()
    #: Example spec shown by ``archcalc schema`` and the docs.
    example: str = ""
    #: Output shape after each layer, for ``archcalc count --shapes`` (layer-graph families).
    shapes: ShapesFn | None = None
    #: FLOPs and KV cache for ``archcalc size``: ``compute(resolved, seq_len)`` returning an
    #: :class:`archcalc.sizes.Compute`, or a lazy ``"module:function"`` string naming it.
    compute: Callable[..., Any] | str | None = None
    #: Every parameter tensor, for ``archcalc tensors`` and ``archcalc check``:
    #: ``tensors(resolved) -> Iterable[archcalc.Tensor]`` on exact values, block by block,
    #: summing to the count (see :mod:`archcalc.tensors`), or a lazy ``"module:function"``.
    tensors: Callable[..., Any] | str | None = None

    def all_fields(self) -> Iterator[Field]:
        """Fields in declaration order, group members included."""
        for item in self.fields:
            if isinstance(item, Group):
                yield from item.fields
            else:
                yield item

    def groups(self) -> Iterator[Group]:
        return (item for item in self.fields if isinstance(item, Group))


@dataclass(frozen=True)
class ShapeRow:
    """One line of a model summary: a layer, the shape it outputs and its parameters.

    Shapes leave out the batch dimension (``(64, 112, 112)`` for a conv2d output).
    ``times`` says how often the layer runs: a shape-preserving repeated block is listed
    once, with its repeat count, rather than unrolled.
    """

    path: str
    layer: str
    shape: tuple[int, ...]
    params: int
    times: int = 1


#: Shapes exclude the batch dimension: ``(C, H, W)`` images, ``(L, F)`` sequences.
Shape = tuple[Any, ...]
LayerParamsFn = Callable[[Mapping[str, Any], Shape], Any]
LayerShapeFn = Callable[[Mapping[str, Any], Shape], Shape]
LayerCheckFn = Callable[[Mapping[str, Any], Shape, Callable[[str], None]], None]
#: ``tensors(args, shape)``: the layer's parameter tensors as (name suffix, shape) pairs.
LayerTensorsFn = Callable[[Mapping[str, Any], Shape], Iterable[tuple[str, Shape]]]
#: ``macs(args, in_shape, out_shape)``: multiply-accumulates of one forward pass.
LayerMacsFn = Callable[[Mapping[str, Any], Shape, Shape], Any]


def _no_params(args: Mapping[str, Any], shape: Shape) -> Any:
    return 0


def _same_shape(args: Mapping[str, Any], shape: Shape) -> Shape:
    return shape


@dataclass(frozen=True)
class LayerType:
    """A layer a graph family (``family: cnn``) can use: ``- conv2d: {out_channels: 64}``.

    ``args`` is the JSON Schema of the layer's argument mapping (``properties`` with
    descriptions and defaults, ``required``, ``additionalProperties: false``); each property
    may carry ``"x-kind"`` saying how its value is evaluated: ``size`` (positive int),
    ``count`` (int >= 0), ``number``, ``size2``/``count2`` (an int or ``[h, w]``, handed
    to the functions as a pair), ``bool``, ``choice`` or ``any`` (kept as written).

    ``params(args, shape)`` and ``shape(args, shape)`` get the evaluated arguments (defaults
    filled in) and the input shape (batch excluded) and are written once as plain
    arithmetic, so they return ints for ints and sympy expressions for symbols; use ``//``
    for torch's floor division. ``check(args, shape, report)`` runs on exact values only
    and calls ``report(message, code=...)`` for each semantic problem (``report(message,
    warning=True, code=...)`` for a likely mistake that still builds); without a code,
    ``P911`` (errors) and ``P912`` (warnings). ``ranks`` lists the input
    ranks the layer accepts (empty: any).

    ``tensors(args, shape)``, when given, lists the layer's parameter tensors as (name
    suffix, shape) pairs in torch's state-dict order (``("weight", (64, 3, 7, 7))``); the
    layer's parameter count is then the sum of their sizes, so tensors and counts always
    agree, and ``params`` is not needed. ``macs(args, in_shape, out_shape)``, when given,
    is the multiply-accumulates of one forward pass (batch 1) for ``archcalc size``.
    """

    name: str
    description: str
    args: Mapping[str, Any] = field(default_factory=dict)
    params: LayerParamsFn = _no_params
    shape: LayerShapeFn = _same_shape
    check: LayerCheckFn | None = None
    ranks: tuple[int, ...] = ()
    tensors: LayerTensorsFn | None = None
    macs: LayerMacsFn | None = None

    def __post_init__(self) -> None:
        if self.tensors is not None and self.params is _no_params:
            object.__setattr__(self, "params", _params_from(self.tensors))


def numel(shape: Shape) -> Any:
    """Elements of a tensor of ``shape`` (ints or symbols)."""
    size: Any = 1
    for dim in shape:
        size = size * dim
    return size


def _params_from(tensors: LayerTensorsFn) -> LayerParamsFn:
    def params(args: Mapping[str, Any], shape: Shape) -> Any:
        total: Any = 0
        for _, dims in tensors(args, shape):
            total = total + numel(dims)
        return total

    return params
