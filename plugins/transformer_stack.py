"""A transformer's stack as a sequence of blocks: kinds of block, segments and patterns.

The flat keys of ``family: transformer`` describe one block, and a stack of ``n_layers``
copies of it. A stack whose blocks differ names its kinds of block and lays them out::

    blocks:                      # each kind: the top-level spec with these keys replaced
      dense: {moe: false}        # no experts: a dense MLP of width d_ff
    stack:                       # first layer first; the layers add up to n_layers
      - {block: dense, layers: 3}        # three dense blocks
      - {pattern: [dense, default]}      # then alternating, to the last layer

``default`` is the block the top-level keys describe. A segment holds one kind
(``block``, a name or an inline mapping of replaced keys) or a ``pattern`` of kinds
repeated in order (the last pass may stop part-way); ``layers`` says how many blocks it
holds, and the one segment without ``layers`` takes the rest of ``n_layers``.

Nothing is unrolled: each segment contributes ``⌈(L - j) / P⌉`` blocks to the kind at
position ``j`` of its pattern of length ``P``, so a count over 200,000 layers costs what
8 do, and in a formula the layers stay symbols (``floor(n_layers/2)`` MoE blocks).
Only :meth:`Stack.kind_at` (for listing tensors, which are one per block) walks layers.
"""

from __future__ import annotations

import contextlib
import operator
from collections.abc import Callable, Iterator, Mapping
from fractions import Fraction
from typing import Any, NamedTuple

from archcalc.plugins.transformer_parts import add_all

from archcalc import expr as exprs
from archcalc.errors import DiagnosticSink, SpecError
from archcalc.family import REQUIRED, Field, Group
from archcalc.schema import EXPRESSION_PATTERN, field_schema
from archcalc.spec import Resolved, did_you_mean

Path = tuple[str | int, ...]
DEFAULT = "default"
#: Spec keys that hold a stack: the encoder's (or only) one, and an encoder-decoder's decoder.
STACK_KEYS = {"stack": "n_layers", "decoder_stack": "n_decoder_layers"}
#: Keys a kind of block may replace: those that shape one block. The others (the
#: residual width, the vocabulary, positions, the head) are the model's, shared by all.
BLOCK_KEYS = (
    "n_heads",
    "n_kv_heads",
    "d_head",
    "d_ff",
    "mlp",
    "mixer",
    "norm",
    "bias",
    "qkv_bias",
    "o_bias",
    "mlp_bias",
    "k_bias",
    "mlp_in_bias",
    "position_key_bias",
    "parallel_block",
    "post_norms",
    "qk_norm",
    "qk_norm_scope",
    "sub_norms",
    "attention_sinks",
    "attention_gate",
    "cross_attention",
    "input_norm",
    "norm_position",
    "global_attention",
    "position_projections",
    "value_conv",
)
BLOCK_GROUPS = ("moe", "mla", "mamba", "deltanet", "short_conv", "rglru", "kda")
#: Kinds a stack may name in all its segments and patterns together: each is resolved, so
#: this bounds the work a spec can ask for (a model written block by block is far below).
MAX_ENTRIES = 512
#: Pattern positions a formula may hold. Repeating a pattern of P kinds a symbolic number
#: of times gives P floor terms in every component (each kind's ⌈(L - j) / P⌉); beyond this
#: the formula is refused, located, before sympy builds and prints a page of floors.
MAX_FORMULA_POSITIONS = 128
#: Group keys that describe the stack rather than one block.
STACK_ONLY = frozenset({"moe.first_dense_layers"})


class Kind(NamedTuple):
    """One kind of block and its resolved spec (the top-level one for ``default``)."""

    name: str
    spec: Resolved
    path: Path


class Segment(NamedTuple):
    """Consecutive blocks: one kind, or a pattern of kinds repeated in order."""

    pattern: tuple[str, ...]
    #: Blocks in the segment, in the current algebra (a symbol in a formula) and exactly.
    layers: Any
    exact_layers: int
    start: int

    def counts(self, floordiv: Callable[[Any, Any], Any]) -> Iterator[tuple[str, Any]]:
        """(kind, blocks) for each position of the pattern: ⌈(L - j) / P⌉, never unrolled."""
        period = len(self.pattern)
        for j, name in enumerate(self.pattern):
            yield (
                name,
                self.layers if period == 1 else floordiv(self.layers - j + period - 1, period),
            )


class Stack(NamedTuple):
    """A resolved stack: its kinds of block, its segments, and how often each kind occurs."""

    section: str
    kinds: Mapping[str, Kind]
    segments: tuple[Segment, ...]
    #: Blocks whose weights are distinct; with layer sharing (ALBERT) fewer than run.
    distinct: Any
    layers: Any
    #: Floor division in the spec's algebra (sympy's floor left unevaluated: cheap to build).
    floordiv: Callable[[Any, Any], Any] = operator.floordiv

    def counts(self) -> dict[str, Any]:
        """Distinct blocks of each kind (what the parameters multiply)."""
        terms: dict[str, list[Any]] = {}
        for segment in self.segments:
            for name, n in segment.counts(self.floordiv):
                terms.setdefault(name, []).append(n)
        return {name: add_all(ns) for name, ns in terms.items()}

    def runs(self) -> dict[str, Any]:
        """Blocks of each kind a forward pass runs (what the FLOPs multiply).

        With layer sharing (ALBERT, a flat stack) the last distinct block runs again
        until all ``n_layers`` have run.
        """
        out = self.counts()
        if self.layers is not self.distinct:
            last = self.segments[-1].pattern[-1]
            out[last] = out[last] + self.layers - self.distinct
        return out

    def kind_at(self, index: int) -> Kind:
        """The kind of distinct block ``index`` (exact; for listing tensors block by block)."""
        for segment in self.segments:
            if index < segment.start + segment.exact_layers:
                offset = index - segment.start
                return self.kinds[segment.pattern[offset % len(segment.pattern)]]
        raise IndexError(index)

    @property
    def exact_distinct(self) -> int:
        return sum(s.exact_layers for s in self.segments)


class _Invalid(Exception):
    """The stack cannot be resolved (already reported, or the schema reported it)."""


class StackError(ValueError):
    """A stack with located problems (reported); ``kinds`` holds those that resolved."""

    def __init__(self, kinds: Mapping[str, Kind]) -> None:
        super().__init__("invalid stack")
        self.kinds = kinds


def stacks(spec: Resolved) -> list[Stack]:
    """Every stack of the model: one, or an encoder-decoder's encoder and decoder."""
    if spec.values.architecture == "encoder-decoder":
        return [resolve(spec, "stack", "encoder"), resolve(spec, "decoder_stack", "decoder")]
    return [resolve(spec, "stack", "")]


def resolve(spec: Resolved, key: str, section: str) -> Stack:
    """The stack at ``key``, or the flat shorthand (``n_layers`` copies of one block).

    Reports located problems and raises :class:`StackError` when there are any, so a
    family's ``check`` (which runs first) is where they surface.
    """
    try:
        return _resolve(spec, key, section)
    except _Invalid:
        raise StackError({}) from None


def _resolve(spec: Resolved, key: str, section: str) -> Stack:
    n_name = STACK_KEYS[key]
    total = getattr(spec.values, n_name)
    exact_total = spec.exact(n_name)
    layout = spec.doc.data.get(key)
    kinds: dict[str, Kind | None] = {DEFAULT: Kind(DEFAULT, spec, ())}
    if layout is None:
        return _flat(spec, {DEFAULT: Kind(DEFAULT, spec, ())}, total, n_name, section)
    if not isinstance(layout, list) or not all(isinstance(i, Mapping) for i in layout):
        raise _Invalid  # the schema reported it
    entries = sum(len(i["pattern"]) if isinstance(i.get("pattern"), list) else 1 for i in layout)
    if entries > MAX_ENTRIES:
        spec.error(
            key,
            f"{key} names {entries:,} blocks in its segments and patterns; at most "
            f"{MAX_ENTRIES:,} (repeat a pattern with 'layers' instead of writing it out)",
            code="T520",
        )
        raise _Invalid
    declared = _declared_kinds(spec)
    segments: list[Segment] = []
    rest: int | None = None
    failed = False
    for i, item in enumerate(layout):
        path: Path = (key, i)
        if ("block" in item) == ("pattern" in item):
            spec.error(
                path,
                f"{key}[{i}] needs exactly one of 'block' (one kind) or 'pattern'",
                code="T520",
            )
            raise StackError({})
        names = _segment_kinds(spec, item, path, declared, kinds)
        failed = failed or names is None
        if "layers" in item:
            exact, current = _number(spec, (*path, "layers"))
        elif rest is not None:
            spec.error(
                path,
                f"{key}[{i}] has no 'layers', and neither has {key}[{rest}]: only one "
                "segment may take the rest of the layers",
                code="T520",
            )
            raise StackError({})
        else:
            rest, exact, current = i, 0, 0
        segments.append(Segment(names or (DEFAULT,), current, exact, 0))
    known = sum(s.exact_layers for s in segments)
    resolved = {name: kind for name, kind in kinds.items() if kind is not None}
    if rest is not None:
        left = exact_total - known
        if left < 1:
            spec.error(
                (key, rest),
                f"the other segments of {key} hold {known} layers, leaving {left} for "
                f"{key}[{rest}] ({n_name} is {exact_total}); raise {n_name} or give fewer "
                "layers to the others",
                code="T520",
            )
            raise StackError(resolved)
        segments[rest] = Segment(segments[rest].pattern, 0, left, 0)
    elif known != exact_total:
        spec.error(
            key,
            f"the segments of {key} hold {known} layers but {n_name} is {exact_total}; make "
            "them agree (a segment without 'layers' takes whatever the others leave)",
            code="T520",
        )
        raise StackError(resolved)
    if failed:
        raise StackError(resolved)
    if rest is not None:
        layers = total - add_all(s.layers for s in segments)
        segments[rest] = Segment(segments[rest].pattern, layers, segments[rest].exact_layers, 0)
    start = 0
    placed = []
    for segment in segments:
        placed.append(Segment(segment.pattern, segment.layers, segment.exact_layers, start))
        start += segment.exact_layers
    if spec.symbolic:
        _refuse_huge_formula(spec, key, placed)
    floordiv = spec.namespace.algebra.floordiv if spec.symbolic else operator.floordiv
    return Stack(section, resolved, tuple(placed), total, total, floordiv)


def _refuse_huge_formula(spec: Resolved, key: str, segments: list[Segment]) -> None:
    """Refuse (X309, at the first long pattern) a formula of more floor terms than
    :data:`MAX_FORMULA_POSITIONS`; with the layers exact (``--keep`` without them) the
    floors are numbers and nothing is refused."""
    symbolic = [
        i
        for i, s in enumerate(segments)
        if len(s.pattern) > 1 and getattr(s.layers, "free_symbols", None)
    ]
    positions = sum(len(segments[i].pattern) for i in symbolic)
    if positions <= MAX_FORMULA_POSITIONS:
        return
    sink = DiagnosticSink(spec.sink.file)
    sink.error(
        spec.mark((key, symbolic[0], "pattern")),
        f"the formula would hold {positions:,} floor terms per component (one per position "
        f"of a pattern repeated a symbolic number of times; at most "
        f"{MAX_FORMULA_POSITIONS}); keep the layer counts exact with --keep, or use count",
        "X309",
    )
    raise SpecError(sink.diagnostics)  # the symbolic pass: the spec is valid, its formula too big


def _flat(spec: Resolved, kinds: dict[str, Kind], total: Any, n_name: str, section: str) -> Stack:
    """``n_layers`` blocks of the top-level kind; with ``first_dense_layers``, dense ones first."""
    v = spec.values
    distinct = v.n_unique_layers if spec.given("n_unique_layers") else total
    exact = spec.exact("n_unique_layers" if spec.given("n_unique_layers") else n_name)
    if v.moe is not None and spec.exact("first_dense_layers"):
        dense_path: Path = ("moe", "first_dense_layers")
        kinds["dense"] = Kind("dense", spec.variant({"moe": False}, at=dense_path), dense_path)
        k, k_exact = v.moe.first_dense_layers, spec.exact("first_dense_layers")
        segments = (
            Segment(("dense",), k, k_exact, 0),
            Segment((DEFAULT,), distinct - k, exact - k_exact, k_exact),
        )
        return Stack(section, kinds, segments, distinct, total)
    return Stack(section, kinds, (Segment((DEFAULT,), distinct, exact, 0),), distinct, total)


def _declared_kinds(spec: Resolved) -> Mapping[str, Any]:
    blocks = spec.doc.data.get("blocks")
    return blocks if isinstance(blocks, Mapping) else {}


def _segment_kinds(
    spec: Resolved,
    item: Mapping[str, Any],
    path: Path,
    declared: Mapping[str, Any],
    kinds: dict[str, Kind | None],
) -> tuple[str, ...] | None:
    """The kinds a segment names, each resolved the first time it is used; None if invalid."""
    if "block" in item and isinstance(item["block"], Mapping):
        name = f"{path[0]}[{path[1]}]"
        kinds[name] = _kind(spec, name, item["block"], (*path, "block"))
        return (name,) if kinds[name] is not None else None
    if "block" in item:
        entries, where = [item["block"]], [(*path, "block")]
    else:
        entries = item["pattern"] if isinstance(item["pattern"], list) else []
        where = [(*path, "pattern", j) for j in range(len(entries))]
    names = []
    for name, at in zip(entries, where, strict=True):
        if not isinstance(name, str):
            return None  # the schema reported it
        if name not in kinds:
            if name not in declared:
                options = [DEFAULT, *declared]
                spec.error(
                    at,
                    f"unknown kind of block '{name}' (blocks: {', '.join(options)})"
                    + did_you_mean(name, options),
                    code="T521",
                )
                kinds[name] = None
            else:
                kinds[name] = _kind(spec, name, declared[name], ("blocks", name))
        names.append(name)
    return tuple(names) if names and all(kinds[n] is not None for n in names) else None


def _kind(spec: Resolved, name: str, replace: Any, at: Path) -> Kind | None:
    """A kind of block resolved as a variant of the spec; None (reported) when it fails."""
    if not isinstance(replace, Mapping):
        return None  # the schema reported it
    before = len(spec.sink.errors)
    variant = spec.variant(replace, at=at)
    complete = groups_complete(variant, f" of block '{name}'", at)
    if not complete or len(spec.sink.errors) > before:
        return None
    if variant.namespace.failed - spec.namespace.failed:
        return None
    return Kind(name, variant, at)


def groups_complete(spec: Resolved, whose: str = "", at: Path = ()) -> bool:
    """Whether every group present has its required keys; reports those it lacks.

    A group can come into being without them: from a kind of block (``moe: {top_k: 2}``
    when the spec has no moe) or from ``--set moe.n_experts=8`` on a dense spec.
    """
    complete = True
    for group in spec.family.groups():
        fields = getattr(spec.values, group.name, None)
        if fields is None:
            continue
        missing = [
            f.leaf
            for f in group.fields
            if f.default is REQUIRED and getattr(fields, f.leaf) is None
        ]
        for leaf in missing:
            given = [f.leaf for f in group.fields if spec.given(f.leaf)]
            spec.error(
                (*at, group.name) if at else (group.name,),
                f"{group.name}{whose} needs {leaf} (given: {', '.join(given) or 'nothing'}; "
                f"the spec has no {group.name} to take it from)",
                code="T523",
            )
            complete = False
    return complete


def _number(spec: Resolved, path: Path) -> tuple[int, Any]:
    """A segment's ``layers``: exact (for structure) and in the current algebra."""
    current = spec.number(path, "size")
    if current is None:
        raise _Invalid
    if not spec.symbolic:
        return int(current), current
    raw: Any = spec.doc.data
    for part in path:
        raw = raw[part]
    if isinstance(raw, (int, Fraction)) and not isinstance(raw, bool):
        return int(raw), current
    values = spec.exact_values
    exact = exprs.evaluate(exprs.parse(raw), lambda n: values[n], exprs.EXACT)
    return int(exact), current


# --------------------------------------------------------------------------- schema


def schema(fields: tuple[Field | Group, ...]) -> dict[str, Any]:
    """JSON Schema of ``blocks``, ``stack`` and ``decoder_stack``, from the family's fields."""
    by_name = {f.name: f for f in fields if isinstance(f, Field)}
    groups = {g.name: g for g in fields if isinstance(g, Group)}
    properties: dict[str, Any] = {k: _block_field(by_name[k]) for k in BLOCK_KEYS}
    for name in BLOCK_GROUPS:
        group = groups[name]
        members = {f.leaf: _block_field(f) for f in group.fields if f.name not in STACK_ONLY}
        stack_only = {
            f.leaf: f"{f.leaf} describes the whole stack; lay the blocks out in stack instead"
            for f in group.fields
            if f.name in STACK_ONLY
        }
        properties[name] = {
            "description": f"{group.description} Merged into the spec's {name}; false: none.",
            "anyOf": [
                {
                    "type": "object",
                    "properties": members,
                    "additionalProperties": False,
                    "x-misplaced": stack_only,
                },
                {"const": False},
            ],
        }
    misplaced = {
        name: f"{name} is the model's, the same for every block; set it at the top level"
        for name in by_name
        if name not in BLOCK_KEYS
    }
    overrides = {
        "type": "object",
        "description": "A kind of block: the top-level spec with these keys replaced.",
        "properties": properties,
        "additionalProperties": False,
        "x-misplaced": misplaced,
    }
    kind_name = {
        "type": "string",
        "description": f"A kind of block from 'blocks', or '{DEFAULT}'.",
    }
    layers = {
        "description": "Blocks in this segment; without it, the segment takes the rest.",
        "anyOf": [
            {"type": "integer", "minimum": 1},
            {"type": "string", "pattern": EXPRESSION_PATTERN},
        ],
    }
    segment = {
        "type": "object",
        "description": "Consecutive blocks: one kind (block) or kinds repeated in order (pattern).",
        "properties": {
            "block": {"description": "The kind of every block.", "anyOf": [kind_name, overrides]},
            "pattern": {
                "description": "Kinds of block repeated in this order (the last pass may stop "
                "part-way).",
                "type": "array",
                "items": kind_name,
                "minItems": 1,
            },
            "layers": layers,
        },
        "additionalProperties": False,
    }
    stack = {
        "type": "array",
        "description": "The blocks in order, as segments whose layers add up to n_layers "
        "(absent: n_layers blocks of the top-level kind).",
        "items": segment,
        "minItems": 1,
    }
    return {
        "blocks": {
            "type": "object",
            "description": "Named kinds of block, each the top-level spec with some keys "
            f"replaced; '{DEFAULT}' is the top-level block.",
            "patternProperties": {"^[A-Za-z_][A-Za-z0-9_-]{0,63}$": overrides},
            "additionalProperties": False,
        },
        "stack": stack,
        "decoder_stack": {
            **stack,
            "description": "The decoder's blocks of an encoder-decoder, as stack is the "
            "encoder's (adding up to n_decoder_layers).",
        },
    }


def _block_field(fld: Field) -> dict[str, Any]:
    out = field_schema(fld)
    out.pop("default", None)  # a kind inherits the spec's value, not the field's default
    return out


def unused_kinds(spec: Resolved, used: set[str]) -> None:
    """Warn about declared kinds no stack uses: likely a misspelt pattern."""
    for name in _declared_kinds(spec):
        if name not in used:
            with contextlib.suppress(Exception):
                spec.warning(
                    ("blocks", name),
                    f"kind of block '{name}' is not used by any stack",
                    code="T511",
                )
