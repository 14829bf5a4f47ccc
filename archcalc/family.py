"""What a plugin registers: families of models, their fields, and the counts they return.

These are frozen dataclasses (the conda style of plugin registration): a plugin hands
archcalc plain values, and archcalc stays in charge of loading specs, evaluating
expressions, locating errors and rendering results. A family's formula is written once
and called twice: with exact integers to count, with sympy symbols to print the formula.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from archcalc.spec import Resolved

#: The kinds of field a spec can hold.
#: ``size`` a positive integer; ``count`` an integer >= 0; ``number`` any finite rational;
#: ``bool`` true/false; ``choice`` one of ``choices``.
FieldKind = Literal["size", "count", "number", "bool", "choice"]
NUMERIC_KINDS = frozenset({"size", "count", "number"})


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


def _sum(values: Any) -> Any:
    total: Any = 0
    for value in values:
        total = total + value
    return total


CountFn = Callable[["Resolved"], Breakdown]
CheckFn = Callable[["Resolved"], None]


def _no_checks(spec: Resolved) -> None:
    return None


@dataclass(frozen=True)
class Family:
    """A family of architectures (``family: transformer`` in a spec).

    ``count`` maps resolved values to a :class:`Breakdown` using only ``+ - * /`` on
    numbers and ``if`` on bools and choices, so that it works for ints and symbols alike.
    ``check`` reports semantic problems through ``spec.error(path, message)``; it is
    called with exact values only. ``schema`` describes keys that are not plain fields
    (for example a CNN's ``layers``) as JSON Schema properties.
    """

    name: str
    description: str
    fields: tuple[Field | Group, ...]
    count: CountFn
    check: CheckFn = _no_checks
    schema: Mapping[str, Any] = field(default_factory=dict)
    #: Keys of ``schema`` the spec must give.
    required: tuple[str, ...] = ()
    #: Example spec shown by ``archcalc schema`` and the docs.
    example: str = ""

    def all_fields(self) -> Iterator[Field]:
        """Fields in declaration order, group members included."""
        for item in self.fields:
            if isinstance(item, Group):
                yield from item.fields
            else:
                yield item

    def groups(self) -> Iterator[Group]:
        return (item for item in self.fields if isinstance(item, Group))
