"""The layer-graph engine of ``family: cnn``: follows shapes through layers, branches and templates.

A spec's ``layers`` is a list whose items are layers (``relu``, ``conv2d: {...}``), template
calls (``mbconv: {...}``, a block the spec defines under ``templates``) or compositions:

* ``residual`` (``layers`` + ``shortcut``, added), ``add``, ``concat``, ``mul`` and ``split``
  combine parallel branches; ``sequential`` groups layers under one name;
* ``repeat`` runs a block ``times`` times (``first`` may replace the first copy);
* ``for_each`` runs a block once per row of a table of settings.

The walker follows the shape through every item with torch's arithmetic, so input sizes
are inferred and impossible graphs are reported where they are written, with the path a
user reads (``layers[4].residual.layers[2]``, ``layers[3].mbconv.layers[1]``). It runs in
both algebras at once: exact shapes decide everything structural (errors, whether a
repeated block preserves the shape), while the current algebra (ints, or sympy when
printing a formula) carries the parameter counts.

Work is bounded by the size of the spec: argument values are evaluated once per place and
scope (not once per repeat iteration), a repeated block whose input shape recurs is
counted once and multiplied (``times: 3000`` costs what ``times: 3`` does, a block that
alternates between two shapes too), and the number of layer evaluations is capped in
proportion to the spec's size, with a located error beyond it. A problem in one layer is
reported and the walk goes on with the next (an unknown shape silences the layers after
it), so one run reports every independent problem.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, NoReturn, TypeVar

from archcalc import LayerType, ShapeRow
from archcalc import expr as exprs
from archcalc.contract import layer_call
from archcalc.errors import shorten
from archcalc.spec import (
    Resolved,
    did_you_mean,
    expression_code,
    expression_message,
    kind_code,
    kind_problem,
)

Path = tuple[str | int, ...]

#: Compositions of layers, with the keys their mapping form takes.
COMBINATORS = ("add", "concat", "mul", "split")
COMPOSITIONS = ("residual", "repeat", "sequential", "if", "for_each", *COMBINATORS)
#: The key any layer or composition may carry to name its module (tensor names).
NAME_KEY = "name"
#: Layer evaluations allowed: a base plus this many per node of the spec (linear in its size).
BASE_STEPS = 20_000
STEPS_PER_NODE = 200
#: Largest size of any dimension: beyond it a shape is surely a mistake (and stays cheap).
MAX_DIM = 10**18
#: Largest parameter count (or multiply-accumulate count) a graph may reach.
MAX_TOTAL = 10**100
#: Tensors ``archcalc tensors`` may list (a repeat of 10**15 copies is counted, not listed).
MAX_TENSORS = 1_000_000
#: Nesting of compositions and template calls (each level is a few Python frames).
MAX_NESTING = 100
#: Ranks of the ``input`` shape: (F,), (C, L), (C, H, W) or (C, D, H, W).
INPUT_RANKS = (1, 2, 3, 4)


T = TypeVar("T")
#: What :meth:`Walker.once` remembers for a computation that failed (and was reported).
_FAILED = object()


class Reported(Exception):
    """A problem was reported where it is written; the walk treats the result as unknown."""


class BudgetExceeded(Exception):
    """Too many layer evaluations (reported once); the whole walk stops."""


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class Flow:
    """The shape flowing between layers, exact and in the current algebra.

    ``source`` says where the rank was last set (``input`` or a layer's label), so that a
    layer refusing the rank can name the cause.
    """

    exact: tuple[int, ...]
    current: tuple[Any, ...]
    source: str = "input"


@dataclass(frozen=True)
class Result:
    """What an item did: its output (None when unknown) and what it costs."""

    flow: Flow | None
    params: Any = 0
    exact: int = 0
    #: Multiply-accumulates of one forward pass (exact; None when a layer cannot say).
    macs: int | None = 0
    #: For a repeated block counted once and multiplied: the block's params and the factor.
    per_block: Any = None
    times: Any = None

    def plus(self, other: Result) -> Result:
        macs = None if self.macs is None or other.macs is None else self.macs + other.macs
        return Result(other.flow, self.params + other.params, self.exact + other.exact, macs)


@dataclass(frozen=True)
class Copy:
    """One copy of a repeated block: its result, its index, and where its rows and tensors
    start (``depth`` is the position of the copy index in their module paths)."""

    result: Result
    index: int
    rows: int
    tensors: int
    depth: int


def _scaled(result: Result, current: Any, exact: int) -> tuple[Any, int, int | None]:
    macs = None if result.macs is None else result.macs * exact
    return result.params * current, result.exact * exact, macs


@dataclass(frozen=True)
class Value:
    """A name bound by a template call or a table row.

    ``kind`` is ``number`` (``exact``/``current``), ``bool`` (``exact``) or ``layers``
    (``exact`` holds the raw YAML, ``scope`` where it was written, ``doc`` its path).
    """

    kind: str
    exact: Any
    current: Any = None
    scope: Scope | None = None
    doc: Path = ()


@dataclass(eq=False)
class Scope:
    """The names visible inside a template body or a table row (vars are always visible)."""

    names: Mapping[str, Value] = field(default_factory=dict)
    #: Template names being instantiated, outermost first (a template may not call itself).
    calls: tuple[str, ...] = ()


ROOT = Scope()


@dataclass(frozen=True)
class Site:
    """Where an item is: its path in the document (for marks), the label a user reads, and
    its module path (the torch.nn.Sequential-style prefix of its tensors' names)."""

    doc: Path
    label: str
    module: tuple[str, ...] = ()

    def child(self, *parts: str | int) -> Site:
        text = self.label
        for part in parts:
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
        return Site((*self.doc, *parts), text, self.module)

    def moved(self, doc: Path, *labels: str | int) -> Site:
        """The same label extended by ``labels``, written at another place ``doc``."""
        return dataclasses.replace(self.child(*labels), doc=doc)

    def sub(self, segment: str | int) -> Site:
        """The same place, one module deeper (``4`` then ``0`` makes ``4.0``)."""
        return dataclasses.replace(self, module=(*self.module, str(segment)))


def label(path: Path) -> str:
    """``("layers", 4, "residual", "layers", 2)`` -> ``layers[4].residual.layers[2]``."""
    return Site((), "").child(*path).label


def show(shape: Sequence[Any]) -> str:
    return "(" + ", ".join(str(x) for x in shape) + ("," if len(shape) == 1 else "") + ")"


def count_nodes(data: Any) -> int:
    """How many values the document holds (without recursion): the spec's size."""
    seen, stack = 0, [data]
    while stack:
        item = stack.pop()
        seen += 1
        if isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return seen


def _get(data: Any, path: Path) -> Any:
    for part in path:
        data = data[part]
    return data


def _is_number(raw: Any) -> bool:
    return isinstance(raw, (int, Fraction)) and not isinstance(raw, bool)


# --------------------------------------------------------------------------- the walker


class Walker:
    """Follows shapes through a spec's layers, reporting problems where they are written."""

    def __init__(
        self,
        spec: Resolved,
        types: Mapping[str, LayerType],
        rows: list[ShapeRow] | None = None,
        checks: bool = False,
        tensors: list[tuple[tuple[str, ...], str, tuple[int, ...]]] | None = None,
        macs: bool = False,
    ) -> None:
        self.spec = spec
        self.tensors = tensors
        #: Whether to ask each layer its multiply-accumulates (``archcalc size`` only), and
        #: the layer types with parameters that have no rule for them.
        self.count_macs = macs
        self.without_macs: set[str] = set()
        self.types = types
        self.rows = rows
        self.checks = checks and not spec.symbolic
        self.symbolic = spec.symbolic
        self.algebra = spec.namespace.algebra
        data = spec.doc.data
        templates = data.get("templates")
        self.templates: Mapping[str, Any] = templates if isinstance(templates, Mapping) else {}
        self.used: set[str] = set()
        self.steps = 0
        self.max_steps = BASE_STEPS + STEPS_PER_NODE * count_nodes(data)
        self.depth = 0
        #: The (copy, of) of every repeat being followed, outermost first, for messages.
        self.iterations: list[tuple[int, int]] = []
        #: Results computed once per place and scope (values, arguments, scopes...), a
        #: failure (already reported) as :data:`_FAILED`.
        self._once: dict[tuple[Any, ...], Any] = {}
        self._reported: set[tuple[Path, str]] = set()

    # ----------------------------------------------------------------- reporting

    @property
    def context(self) -> str:
        """`` (repeat iteration 2 of 5)``: which copy of which repeat a problem is in."""
        if not self.iterations:
            return ""
        if len(self.iterations) == 1:
            copy, of = self.iterations[0]
            return f" (repeat iteration {copy} of {of:,})"
        shown = ", ".join(f"{copy} of {of:,}" for copy, of in self.iterations[-3:])
        more = "…, " if len(self.iterations) > 3 else ""
        return f" (repeat iterations {more}{shown})"

    def once(self, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """``compute()`` the first time ``key`` is asked for; a failure is remembered too."""
        if key not in self._once:
            try:
                self._once[key] = compute()
            except Reported:
                self._once[key] = _FAILED
        result = self._once[key]
        if result is _FAILED:
            raise Reported
        return result  # type: ignore[no-any-return]

    def error(self, doc: Path, message: str, *, code: str, key: bool = False) -> None:
        """Report once per place and message (a template body runs once per call).

        What the YAML reader or the schema already reported is not said again.
        """
        if (doc, message) in self._reported or self.spec.reported(doc):
            return
        head, sep, rest = message.partition(": ")
        if sep and len(head) > 160:  # a path dozens of levels deep: keep both ends
            message = f"{head[:70]} … {head[-80:]}: {rest}"
        self._reported.add((doc, message))
        mark = self.spec.doc.key_mark(doc) if key else self.spec.doc.mark(doc)
        self.spec.sink.error(mark, message, code)

    def fail(self, doc: Path, message: str, *, code: str, key: bool = False) -> NoReturn:
        self.error(doc, message, code=code, key=key)
        raise Reported

    def warning(self, doc: Path, message: str, code: str) -> None:
        if (doc, message) not in self._reported:
            self._reported.add((doc, message))
            self.spec.sink.warning(self.spec.doc.mark(doc), message, code)

    def _bug(self, message: str) -> None:
        if self.symbolic:  # the exact pass accepted this spec: the formula pass must too
            raise RuntimeError(f"cnn formula pass: {message}")

    # ----------------------------------------------------------------- values

    def _lookup(self, scope: Scope, exact: bool) -> Callable[[str], Any]:
        def lookup(name: str) -> Any:
            bound = scope.names.get(name)
            if bound is not None:
                if bound.kind != "number":
                    raise KeyError(f"'{name}' is {bound.kind}, not a number")
                return bound.exact if exact else bound.current
            if exact and self.symbolic:
                if name in self.spec.exact_values:
                    return self.spec.exact_values[name]
                raise KeyError(name, [*scope.names, *self.spec.exact_values])
            try:
                return self.spec.namespace.value(name)
            except KeyError as error:
                known = error.args[1] if len(error.args) > 1 else ()
                raise KeyError(error.args[0], [*scope.names, *known]) from None

        return lookup

    def number(
        self, doc: Path, raw: Any, kind: str, scope: Scope, bounds: Mapping[str, Any] | None = None
    ) -> tuple[Any, Any]:
        """One numeric value as (exact, current), evaluated once per place and scope."""
        exact, current = self.once(
            ("value", id(scope), doc), lambda: self._evaluate(doc, raw, scope)
        )
        if not self.symbolic:
            self._check_value(doc, raw, kind, exact, bounds or {})
        return exact, current

    def _check_value(
        self, doc: Path, raw: Any, kind: str, exact: Any, bounds: Mapping[str, Any]
    ) -> None:
        """The kind (``size``: a positive int...) and the schema's bounds, on the exact value."""
        subject = label(doc)
        if isinstance(raw, str):
            subject += f" = '{shorten(raw)}' evaluates to {_show(exact)},"
        else:
            subject += f" is {_show(exact)},"
        problem = kind_problem("number" if kind == "int" else kind, exact)
        if kind == "int" and exprs.exact_int(exact) is None:
            problem = "but it must be an integer"
        if problem:
            self.fail(doc, f"{subject} {problem}", code=kind_code(problem))
        for bound, word in (
            ("minimum", "at least"),
            ("maximum", "at most"),
            ("exclusiveMinimum", "more than"),
            ("exclusiveMaximum", "less than"),
        ):
            limit = bounds.get(bound)
            if limit is None or isinstance(limit, bool):
                continue
            limit = Fraction(limit)
            outside = {
                "minimum": exact < limit,
                "maximum": exact > limit,
                "exclusiveMinimum": exact <= limit,
                "exclusiveMaximum": exact >= limit,
            }[bound]
            if outside:
                self.fail(doc, f"{subject} but it must be {word} {_show(limit)}", code="C602")

    def _evaluate(self, doc: Path, raw: Any, scope: Scope) -> tuple[Any, Any]:
        where = label(doc)
        if isinstance(raw, bool) or raw is None or not (_is_number(raw) or isinstance(raw, str)):
            kind = "nothing" if raw is None else type(raw).__name__
            self.fail(doc, f"{where} must be a number or an expression, got {kind}", code="C602")
        if _is_number(raw):
            if abs(raw) > MAX_TOTAL:
                self.fail(doc, f"{where}: value {shorten(raw)} is too large", code="C606")
            current = self.algebra.number(raw) if self.symbolic else raw
            return raw, current
        try:
            parsed = exprs.parse(raw)
            exact = exprs.evaluate(parsed, self._lookup(scope, True), exprs.EXACT)
            current = (
                exprs.evaluate(parsed, self._lookup(scope, False), self.algebra)
                if self.symbolic
                else exact
            )
        except exprs.ExprError as exc:
            self.fail(
                doc, f"{where}: {expression_message(raw, exc)}", code=expression_code(raw, exc)
            )
        return exact, current

    def argument(
        self, doc: Path, schema: Mapping[str, Any], raw: Any, scope: Scope
    ) -> tuple[Any, Any]:
        """An argument evaluated as its schema's ``x-kind`` says."""
        kind = schema.get("x-kind", "any")
        where = label(doc)
        if kind == "bool":
            if isinstance(raw, str) and raw in scope.names:
                bound = scope.names[raw]
                if bound.kind != "bool":
                    self.fail(
                        doc, f"{where}: '{raw}' is {bound.kind}, not true or false", code="C602"
                    )
                return bound.exact, bound.exact
            if not isinstance(raw, bool):
                self.fail(
                    doc, f"{where} must be true or false (or a bool parameter's name)", code="C602"
                )
            return raw, raw
        if kind == "choice":
            options = [str(o) for o in schema.get("enum", ())]
            if raw not in options:
                self.fail(
                    doc,
                    f"{where}: '{shorten(raw)}' is not one of {', '.join(options)}"
                    + did_you_mean(str(raw), options),
                    code="C602",
                )
            return raw, raw
        if kind == "any":
            return raw, raw
        structural = bool(schema.get("x-exact"))
        named = scope.names.get(raw) if isinstance(raw, str) else None
        if named is not None and named.kind == "sizes":
            raw = list(named.exact)  # checked below like a list written here
            pairs_bound = named
        else:
            pairs_bound = None
        # A kind ending in a digit n takes an int or a list of n (``size2``: an int or [h, w]).
        n = int(kind[-1]) if kind[-1].isdigit() else None
        base = kind[:-1] if n is not None else kind
        if base == "padding" and isinstance(raw, str) and raw in ("same", "valid"):
            return raw, raw
        number_kind = {"padding": "count", "sizes": "size"}.get(base, base)
        if isinstance(raw, list):
            if n is None and kind != "sizes":
                self.fail(doc, f"{where} must be a number, not a list", code="C602")
            if n is not None and len(raw) != n:
                what = "a pair [h, w]" if n == 2 else f"a list of {n}"
                self.fail(
                    doc, f"{where} must be a number or {what}, got {len(raw)} items", code="C602"
                )
            if not 1 <= len(raw) <= 8:
                self.fail(doc, f"{where} must list 1 to 8 sizes", code="C602")
            if pairs_bound is not None:
                for value in pairs_bound.exact:
                    self._check_value(doc, value, number_kind, value, schema)
                exact, current = pairs_bound.exact, pairs_bound.current
            else:
                pairs = [
                    self.number((*doc, i), item, number_kind, scope, schema)
                    for i, item in enumerate(raw)
                ]
                exact, current = tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)
            return exact, exact if structural else current
        exact, current = self.number(doc, raw, number_kind, scope, schema)
        return exact, exact if structural else current

    def arguments(
        self, doc: Path, layer: LayerType, raw: Any, scope: Scope
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """A layer's arguments, defaults filled in, as (exact, current) dicts; once per scope."""
        return self.once(
            ("args", id(scope), doc, layer.name),
            lambda: self._arguments(doc, layer, raw, scope),
        )

    def _arguments(
        self, doc: Path, layer: LayerType, raw: Any, scope: Scope
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        properties: Mapping[str, Any] = layer.args.get("properties", {})
        where = label(doc[:-1]) if doc else layer.name
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            self.fail(doc, f"{where}: the arguments of {layer.name} must be a mapping", code="C602")
        failed = False
        for key in raw:
            if key not in properties and key != NAME_KEY:
                self.error(
                    (*doc, key),
                    f"{where}: {layer.name} has no argument '{shorten(key)}'"
                    + did_you_mean(str(key), properties),
                    key=True,
                    code="C602",
                )
                failed = True
        for key in layer.args.get("required", ()):
            if key not in raw:
                self.error(doc, f"{where}: {layer.name} needs {key}", code="C602")
                failed = True
        exact: dict[str, Any] = {}
        current: dict[str, Any] = {}
        for key, schema in properties.items():
            if key in raw:
                try:
                    exact[key], current[key] = self.argument((*doc, key), schema, raw[key], scope)
                except Reported:
                    failed = True
            else:
                exact[key] = current[key] = schema.get("default")
        if failed:
            raise Reported
        return exact, current

    # ----------------------------------------------------------------- items

    def step(self, site: Site) -> None:
        self.steps += 1
        if self.steps > self.max_steps:
            self.error(
                site.doc,
                f"{site.label}: following the shapes takes more than {self.max_steps:,} layer "
                "evaluations for a spec of this size (a repeated block that keeps changing the "
                "shape, or templates calling templates many times?); simplify it",
                code="C606",
            )
            raise BudgetExceeded

    def entry(self, site: Site, item: Any, flow: Flow | None, scope: Scope) -> Result:
        """One item of a layers list: a layer, a template call or a composition."""
        self.step(site)
        try:
            name, raw = self._split_item(site, item)
            if name in scope.names:
                return self.spliced(site, name, raw, flow, scope)
            if name in COMPOSITIONS:
                self.depth += 1
                try:
                    if self.depth > MAX_NESTING:
                        self.fail(
                            site.doc,
                            f"{site.label}: nested more than {MAX_NESTING} deep",
                            code="C606",
                        )
                    run = self.if_ if name == "if" else getattr(self, name)
                    return run(site.child(name), raw, flow, scope)
                finally:
                    self.depth -= 1
            if name in self.templates:
                return self.call(site, name, raw, flow, scope)
            layer = self.types.get(name)
            if layer is None:
                missing = self.spec.registry.missing("layer type", name)
                if missing is not None:  # a broken plugin may be the one that provides it
                    raise missing
                known = [*self.types, *COMPOSITIONS, *self.templates, *scope.names]
                self.fail(
                    site.doc,
                    f"{site.label}: unknown layer '{shorten(name)}'" + did_you_mean(name, known),
                    code="C601",
                )
            return self.layer(site, layer, raw, flow, scope)
        except Reported:
            return Result(None, macs=None)

    def _split_item(self, site: Site, item: Any) -> tuple[str, Any]:
        if isinstance(item, str):
            return item, None
        if isinstance(item, Mapping) and len(item) == 1:
            name, raw = next(iter(item.items()))
            if isinstance(name, str):
                return name, raw
        if isinstance(item, Mapping) and len(item) > 1:
            keys = ", ".join(shorten(str(k), 30) for k in list(item)[:4])
            self.fail(
                site.doc,
                f"{site.label}: a layer is one name mapped to its arguments, got "
                f"{len(item)} keys ({keys}); give each layer its own list item",
                code="C601",
            )
        self.fail(
            site.doc,
            f"{site.label}: a layer is a name (relu) or a mapping name: {{arguments}} "
            f"(conv2d: {{out_channels: 64, kernel_size: 3}}), got {type(item).__name__}",
            code="C601",
        )
        raise AssertionError("unreachable")

    def items(self, site: Site, items: Any, flow: Flow | None, scope: Scope) -> Result:
        """A list of items applied in order (a branch, a block, a template body)."""
        if isinstance(items, str) and items in scope.names:
            return self.spliced(site, items, None, flow, scope)
        if not isinstance(items, list):
            self.fail(site.doc, f"{site.label} must be a list of layers", code="C601")
        result = Result(flow)
        for i, item in enumerate(items):
            child = site.child(i).sub(_module_name(item, i))
            result = result.plus(self.entry(child, item, result.flow, scope))
        return result

    def spliced(self, site: Site, name: str, raw: Any, flow: Flow | None, scope: Scope) -> Result:
        """A bare parameter name standing for the layers passed as that argument."""
        bound = scope.names[name]
        if bound.kind != "layers":
            self.fail(site.doc, f"{site.label}: '{name}' is {bound.kind}, not layers", code="C607")
        if raw is not None:
            self.fail(
                site.doc,
                f"{site.label}: '{name}' stands for layers; it takes no arguments",
                code="C607",
            )
        inner = Site(bound.doc, site.label, site.module)
        if not isinstance(bound.exact, list):  # one layer: keep its own place, under this label
            return self.entry(inner, bound.exact, flow, bound.scope or ROOT)
        return self.items(inner, bound.exact, flow, bound.scope or ROOT)

    # ----------------------------------------------------------------- one layer

    def layer(
        self, site: Site, layer: LayerType, raw: Any, flow: Flow | None, scope: Scope
    ) -> Result:
        where = f"{site.label} ({layer.name}){self.context}"
        exact_args, current_args = self.arguments(site.child(layer.name).doc, layer, raw, scope)
        if flow is None:
            return Result(None, macs=None)
        if layer.ranks and len(flow.exact) not in layer.ranks:
            ranks = " or ".join(f"{r}-D" for r in layer.ranks)
            self.error(
                site.doc,
                f"{where}: expects a {ranks} input (batch excluded), got {show(flow.exact)} "
                f"from {flow.source}",
                code="C603",
            )
            if flow.source == "input":
                self.error(
                    ("input",),
                    f"input {show(flow.exact)} is {len(flow.exact)}-D but {site.label} "
                    f"({layer.name}) expects a {ranks} input",
                    key=True,
                    code="C603",
                )
            raise Reported
        problems = False
        if self.checks and layer.check is not None:
            messages: list[tuple[str, str]] = []

            def report(message: str, warning: bool = False, code: str | None = None) -> None:
                if warning:
                    self.warning(site.doc, f"{where}: {message}", code or "P912")
                else:
                    messages.append((message, code or "P911"))

            self.invoke(site, layer, "check", exact_args, flow.exact, report)
            for message, code in dict.fromkeys(messages):
                self.error(site.doc, f"{where}: {message}", code=code)
            problems = bool(messages)
        if problems:
            # The layer is wrong, but its output shape may still be known: the layers after
            # it are then checked too (all problems in one run).
            try:
                out = tuple(layer.shape(exact_args, flow.exact))
            except Exception:
                raise Reported from None
            self._check_shape(site, where, flow.exact, out, quiet=True)
            return Result(Flow(out, out, flow.source), macs=None)
        if self.symbolic:
            # The exact pass decided every structural question (its results are repeated
            # here plainly); the layer's rules run on the current algebra through the
            # contract, which records them for the formula probe (no fallback: they must
            # be symbolic).
            out = tuple(layer.shape(exact_args, flow.exact))
            exact_params = layer.params(exact_args, flow.exact)
            out_current = self.invoke(site, layer, "shape", current_args, flow.current)
            params = self.invoke(site, layer, "params", current_args, flow.current)
        else:
            out = self.invoke(site, layer, "shape", exact_args, flow.exact)
            self._check_shape(site, where, flow.exact, out)
            exact_params = self.invoke(site, layer, "params", exact_args, flow.exact)
            out_current, params = out, exact_params
        macs: int | None = 0
        if self.count_macs and layer.macs is not None:
            macs = exprs.exact_int(self.invoke(site, layer, "macs", exact_args, flow.exact, out))
        elif self.count_macs and exact_params:
            self.without_macs.add(layer.name)  # has weights but no rule: said in the output
        source = flow.source if len(out) == len(flow.exact) else f"{site.label} ({layer.name})"
        if self.rows is not None:
            self.rows.append(ShapeRow(site.label, layer.name, out, int(exact_params)))
        if self.tensors is not None:
            self._layer_tensors(site, layer, exact_args, flow.exact, int(exact_params))
        return Result(Flow(out, out_current, source), params, int(exact_params), macs)

    def invoke(self, site: Site, layer: LayerType, what: str, *args: Any) -> Any:
        """One of a layer type's functions, through the plugin contract (its failures are
        its plugin's, named with the layer's path and line)."""
        return layer_call(self.spec, site.doc, layer, what, *args)

    def _layer_tensors(
        self, site: Site, layer: LayerType, args: Any, shape: tuple[int, ...], params: int
    ) -> None:
        """A layer's tensors under its module path; one flat tensor if it lists none."""
        assert self.tensors is not None
        if layer.tensors is None:
            if params:
                self.tensors.append((site.module, "params", (params,)))
            return
        for suffix, dims in self.invoke(site, layer, "tensors", args, shape):
            self.tensors.append((site.module, str(suffix), tuple(int(d) for d in dims)))
        if len(self.tensors) > MAX_TENSORS:
            self.fail(site.doc, f"{site.label}: more than {MAX_TENSORS:,} tensors", code="C606")

    def _check_shape(
        self, site: Site, where: str, before: tuple[Any, ...], out: Any, quiet: bool = False
    ) -> None:
        for size in out:
            value = exprs.exact_int(size) if not isinstance(size, bool) else None
            if value is None:
                problem = f"{where}: output shape {show(out)} is not whole numbers"
            elif value < 1:
                problem = (
                    f"{where}: the input {show(before)} becomes {show(out)}: a size reaches "
                    f"{value}; the input is too small for this layer (or kernel, stride or "
                    "padding too large)"
                )
            elif value > MAX_DIM:
                problem = f"{where}: output shape {show(out)} is too large"
            else:
                continue
            if quiet:
                raise Reported
            self.fail(site.doc, problem, code="C603")

    # ----------------------------------------------------------------- compositions

    def _mapping(
        self, site: Site, raw: Any, allowed: Sequence[str], required: Sequence[str]
    ) -> Mapping[str, Any]:
        name = site.label.rsplit(".", 1)[-1]
        if not isinstance(raw, Mapping):
            self.fail(
                site.doc,
                f"{site.label} must be a mapping with {' and '.join(required)}",
                code="C601",
            )
        bad = False
        for key in raw:
            if key not in allowed and key != NAME_KEY:
                self.error(
                    (*site.doc, key),
                    f"{site.label}: unknown key '{shorten(str(key))}' in {name}"
                    + did_you_mean(str(key), allowed),
                    key=True,
                    code="C601",
                )
                bad = True
        for key in required:
            if key not in raw:
                self.error(site.doc, f"{site.label} needs {key}", code="C601")
                bad = True
        if bad:
            raise Reported
        return raw

    def sequential(self, site: Site, raw: Any, flow: Flow | None, scope: Scope) -> Result:
        """A group of layers (``sequential: [...]`` or ``{layers: [...], name: ...}``)."""
        if isinstance(raw, list):
            return self.items(site, raw, flow, scope)
        raw = self._mapping(site, raw, ("layers",), ("layers",))
        return self.items(site.child("layers"), raw["layers"], flow, scope)

    def if_(self, site: Site, raw: Any, flow: Flow | None, scope: Scope) -> Result:
        """``then`` when ``condition`` holds, else ``else`` (default: nothing)."""
        raw = self._mapping(site, raw, ("condition", "then", "else"), ("condition", "then"))
        doc = (*site.doc, "condition")
        present = self.condition(doc, raw["condition"], scope)
        branch = "then" if present else "else"
        return self.items(site.child(branch), raw.get(branch, []), flow, scope)

    def condition(self, doc: Path, raw: Any, scope: Scope) -> bool:
        """A condition: true/false, a bool parameter, or comparisons of expressions joined by
        ``and``/``or`` (``stride == 1 and width_in == out``); a bare expression holds when it
        is not 0. Evaluated exactly (it decides the structure), once per scope."""
        return self.once(("condition", id(scope), doc), lambda: self._condition(doc, raw, scope))

    def _condition(self, doc: Path, raw: Any, scope: Scope) -> bool:
        if isinstance(raw, bool):
            return raw
        if _is_number(raw):
            return bool(raw != 0)
        if not isinstance(raw, str) or len(raw) > 1000:
            self.fail(doc, f"{label(doc)} must be true, false or a condition", code="C602")
        text = " ".join(raw.split())
        return any(
            all(self._clause(doc, clause, scope) for clause in part.split(" and "))
            for part in text.split(" or ")
        )

    def _clause(self, doc: Path, clause: str, scope: Scope) -> bool:
        negate = clause.startswith("not ")
        clause = clause[4:] if negate else clause
        bound = scope.names.get(clause.strip())
        if bound is not None and bound.kind == "bool":
            return bool(bound.exact) != negate
        match = _COMPARISON.fullmatch(clause)
        if match is None:
            value = self._evaluate(doc, clause, scope)[0]
            return bool(value != 0) != negate
        left = self._evaluate(doc, match["left"], scope)[0]
        right = self._evaluate(doc, match["right"], scope)[0]
        return _COMPARE[match["op"]](left, right) != negate

    def residual(self, site: Site, raw: Any, flow: Flow | None, scope: Scope) -> Result:
        """``out = layers(x) + shortcut(x)``; the two outputs must have the same shape."""
        raw = self._mapping(site, raw, ("layers", "shortcut"), ("layers",))
        main = site.child("layers").sub("layers")
        branches: list[tuple[Site, Any, str]] = [(main, raw["layers"], "layers")]
        shortcut = raw.get("shortcut")
        short = site.child("shortcut").sub("shortcut")
        if shortcut is not None:
            branches.append((short, shortcut, "the shortcut"))
        else:
            branches.append((short, [], "the identity shortcut (none given)"))
        return self._combine(site, "add", branches, flow, scope, {})

    def _branches(
        self, site: Site, raw: Any, options: Sequence[str]
    ) -> tuple[list[tuple[Site, Any, str]], Mapping[str, Any]]:
        if isinstance(raw, list):
            settings: Mapping[str, Any] = {}
            branch_site, items = site, raw
        else:
            settings = self._mapping(site, raw, ("branches", *options), ("branches",))
            branch_site, items = site.child("branches"), settings["branches"]
        if not isinstance(items, list) or not items:
            self.fail(
                branch_site.doc, f"{branch_site.label} must be a list of branches", code="C601"
            )
        branches = [
            (branch_site.child(i).sub(i), branch, f"branch {i + 1}")
            for i, branch in enumerate(items)
        ]
        return branches, settings

    def add(self, site: Site, raw: Any, flow: Flow | None, scope: Scope) -> Result:
        """The sum of parallel branches (``[]`` is the identity); shapes must be equal."""
        branches, settings = self._branches(site, raw, ())
        return self._combine(site, "add", branches, flow, scope, settings)

    def concat(self, site: Site, raw: Any, flow: Flow | None, scope: Scope) -> Result:
        """Branches concatenated along ``dim`` (torch's index, 1: channels)."""
        branches, settings = self._branches(site, raw, ("dim",))
        return self._combine(site, "concat", branches, flow, scope, settings)

    def mul(self, site: Site, raw: Any, flow: Flow | None, scope: Scope) -> Result:
        """Branches multiplied elementwise with broadcasting (gating: ``x * sigmoid(...)``)."""
        branches, settings = self._branches(site, raw, ())
        return self._combine(site, "mul", branches, flow, scope, settings)

    def split(self, site: Site, raw: Any, flow: Flow | None, scope: Scope) -> Result:
        """The input split along ``dim`` into one piece per branch, results concatenated."""
        branches, settings = self._branches(site, raw, ("dim", "sizes"))
        pieces: list[Flow | None] = [None] * len(branches)
        if flow is not None:
            dim = self._dim(site, settings, flow)
            total_exact, total_current = flow.exact[dim], flow.current[dim]
            if "sizes" in settings:
                sizes_raw = settings["sizes"]
                doc = (*site.doc, "sizes")
                if not isinstance(sizes_raw, list) or len(sizes_raw) != len(branches):
                    self.fail(
                        doc,
                        f"{site.label}.sizes must list one size per branch ({len(branches)})",
                        code="C602",
                    )
                sizes = [self.number((*doc, i), s, "size", scope) for i, s in enumerate(sizes_raw)]
                if sum(s[0] for s in sizes) != total_exact:
                    self.fail(
                        doc,
                        f"{site.label}{self.context}: sizes add up to "
                        f"{sum(s[0] for s in sizes)} but the input {show(flow.exact)} has "
                        f"{total_exact} along dim {dim + 1}",
                        code="C604",
                    )
            else:
                n = len(branches)
                if total_exact % n:
                    self.fail(
                        site.doc,
                        f"{site.label}{self.context}: {total_exact} channels of the input "
                        f"{show(flow.exact)} do not split into {n} equal parts; give sizes",
                        code="C604",
                    )
                share = total_current // n if not self.symbolic else total_current / n
                sizes = [(total_exact // n, share)] * n
            pieces = []
            for exact, current in sizes:
                shape = list(flow.exact)
                shape[dim] = int(exact)
                cur = list(flow.current)
                cur[dim] = current
                pieces.append(Flow(tuple(shape), tuple(cur), flow.source))
        return self._combine(site, "split", branches, flow, scope, settings, pieces)

    def _dim(self, site: Site, settings: Mapping[str, Any], flow: Flow) -> int:
        """A torch dimension index (batch = 0) as an index into the batch-free shape."""
        raw = settings.get("dim", 1)
        rank = len(flow.exact)
        if (
            isinstance(raw, bool)
            or not isinstance(raw, int)
            or not (-rank <= raw <= rank)
            or raw == 0
        ):
            self.fail(
                (*site.doc, "dim"),
                f"{site.label}.dim must be a dimension of the {rank + 1}-D input (batch is 0, "
                f"so 1 to {rank}, or -1 to -{rank}), got {shorten(raw)}",
                code="C602",
            )
        return raw - 1 if raw > 0 else rank + raw

    def _combine(
        self,
        site: Site,
        how: str,
        branches: list[tuple[Site, Any, str]],
        flow: Flow | None,
        scope: Scope,
        settings: Mapping[str, Any],
        inputs: Sequence[Flow | None] | None = None,
    ) -> Result:
        """Run every branch on the input (or its piece), then combine the outputs."""
        results = [
            self.items(branch_site, items, flow if inputs is None else inputs[i], scope)
            for i, (branch_site, items, _) in enumerate(branches)
        ]
        total = Result(None)
        for result in results:
            total = total.plus(result)
        outputs = [r.flow for r in results]
        if flow is None or any(o is None for o in outputs):
            return Result(None, total.params, total.exact, None)
        known = [o for o in outputs if o is not None]
        first = known[0]
        mark = site.doc[:-1]
        out_exact: tuple[int, ...]
        out_current: tuple[Any, ...]
        if how == "add":
            for (_, _, name), out in zip(branches[1:], known[1:], strict=True):
                if out.exact != first.exact:
                    verb = "give" if branches[0][2] == "layers" else "gives"
                    self.fail(
                        mark,
                        f"{site.label}{self.context}: the branches disagree: "
                        f"{branches[0][2]} {verb} {show(first.exact)} but {name} gives "
                        f"{show(out.exact)}; their outputs are added, so the shapes must match",
                        code="C604",
                    )
            out_exact, out_current = first.exact, first.current
        elif how in ("concat", "split"):
            dim = self._dim(site, settings, first)
            for (branch_site, _, name), out in zip(branches, known, strict=True):
                others = [x for i, x in enumerate(out.exact) if i != dim]
                if len(out.exact) != len(first.exact) or others != [
                    x for i, x in enumerate(first.exact) if i != dim
                ]:
                    self.fail(
                        branch_site.doc,
                        f"{branch_site.label}{self.context}: {name} gives {show(out.exact)} but "
                        f"branch 1 gives {show(first.exact)}; branches are concatenated along "
                        f"dim {dim + 1}, so every other size must match",
                        code="C604",
                    )
            shape = list(first.exact)
            shape[dim] = sum(o.exact[dim] for o in known)
            cur = list(first.current)
            summed: Any = 0
            for o in known:
                summed = summed + o.current[dim]
            cur[dim] = summed
            out_exact, out_current = tuple(shape), tuple(cur)
        else:  # mul: numpy-style broadcasting of the batch-free shapes
            out_exact, out_current = first.exact, first.current
            for (branch_site, _, name), out in zip(branches[1:], known[1:], strict=True):
                combined = _broadcast(out_exact, out_current, out.exact, out.current)
                if combined is None:
                    self.fail(
                        branch_site.doc,
                        f"{branch_site.label}{self.context}: {name} gives {show(out.exact)}, "
                        f"which does not broadcast with {show(out_exact)}; sizes must be equal "
                        "or 1, aligned from the right",
                        code="C604",
                    )
                out_exact, out_current = combined
        source = first.source if len(out_exact) == len(flow.exact) else site.label
        result = Result(Flow(out_exact, out_current, source), total.params, total.exact, total.macs)
        if self.rows is not None:  # after its branches' rows: the shape it outputs
            self.rows.append(ShapeRow(site.label, f"{how} of {len(branches)}", out_exact, 0))
        return result

    def repeat(self, site: Site, raw: Any, flow: Flow | None, scope: Scope) -> Result:
        """``times`` copies of a block, counted once and multiplied once the shape recurs."""
        raw = self._mapping(site, raw, ("times", "layers", "first"), ("times", "layers"))
        times_doc = (*site.doc, "times")
        times_exact, times = self.number(times_doc, raw["times"], "count", scope)
        times_exact = int(times_exact)
        if times_exact == 0:
            self.fail(
                times_doc,
                f"{site.label}.times is 0: a repeat needs at least one copy; remove the repeat "
                "if the block is not wanted",
                code="C602",
            )
        self.iterations.append((1, times_exact))
        try:
            return self._repeat(site, raw, flow, scope, times_exact, times)
        finally:
            self.iterations.pop()

    def _repeat(
        self,
        site: Site,
        raw: Mapping[str, Any],
        flow: Flow | None,
        scope: Scope,
        times_exact: int,
        times: Any,
    ) -> Result:
        body = site.child("layers")
        total = Result(flow)
        done = 0
        if "first" in raw:
            first = self.items(site.child("first").sub(0), raw["first"], flow, scope)
            total = total.plus(first)
            done = 1
        # The block's result depends only on its input shape: when a shape comes back, the
        # copies from then on cycle, and the remaining ones are counted by multiplication.
        seen: dict[tuple[int, ...], int] = {}
        history: list[Copy] = []
        while done < times_exact:
            current_flow = total.flow
            if current_flow is None:
                # Unknown shape: check the block once (names, arguments) and stop.
                self.items(body.sub(done), raw["layers"], None, scope)
                return Result(None, total.params, total.exact, None)
            if current_flow.exact in seen:
                start = seen[current_flow.exact]
                left = times_exact - done
                total = self._cycle(site, history[start:], done, left, times - done, total)
                if len(history) == 1 and "first" not in raw:  # one block, `times` copies
                    return dataclasses.replace(
                        total, per_block=history[0].result.params, times=times
                    )
                return total
            seen[current_flow.exact] = len(history)
            self.iterations[-1] = (done + 1, times_exact)
            rows = len(self.rows) if self.rows is not None else 0
            tensors = len(self.tensors) if self.tensors is not None else 0
            block = self.items(body.sub(done), raw["layers"], current_flow, scope)
            history.append(Copy(block, done, rows, tensors, len(site.module)))
            total = total.plus(block)
            done += 1
        self._bound(site, total)
        return total

    def _cycle(
        self,
        site: Site,
        period: list[Copy],
        done: int,
        left: int,
        left_current: Any,
        total: Result,
    ) -> Result:
        """``left`` more copies that run through ``period`` over and over.

        A period of one block (a block that keeps its shape) is multiplied by
        ``left_current``, so ``times`` stays a symbol in formulas; a longer one uses exact
        copy counts.
        """
        p = len(period)
        full, rest = divmod(left, p)
        factors = [full + (1 if i < rest else 0) for i in range(p)]
        params: Any = 0
        exact = 0
        macs: int | None = 0
        for copy, n in zip(period, factors, strict=True):
            p_, e_, m_ = _scaled(copy.result, left_current if p == 1 else n, n)
            params, exact = params + p_, exact + e_
            macs = None if macs is None or m_ is None else macs + m_
        if self.rows is not None:
            ends = [copy.rows for copy in period[1:]] + [len(self.rows)]
            for copy, end, n in zip(period, ends, factors, strict=True):
                self.rows[copy.rows : end] = [
                    dataclasses.replace(r, times=r.times * (n + 1))
                    for r in self.rows[copy.rows : end]
                ]
        if self.tensors is not None:
            self._copy_tensors(site, period, done, left)
        flow = period[rest - 1].result.flow if rest else period[-1].result.flow
        tmacs = None if total.macs is None or macs is None else total.macs + macs
        result = Result(flow, total.params + params, total.exact + exact, tmacs)
        self._bound(site, result)
        return result

    def _copy_tensors(self, site: Site, period: list[Copy], done: int, left: int) -> None:
        """The tensors of copies ``done .. done + left - 1``: the period's, renumbered."""
        assert self.tensors is not None
        ends = [copy.tensors for copy in period[1:]] + [len(self.tensors)]
        spans = [self.tensors[copy.tensors : end] for copy, end in zip(period, ends, strict=True)]
        per_period = sum(len(span) for span in spans)
        if len(self.tensors) + per_period * left // max(len(period), 1) > MAX_TENSORS:
            self.fail(
                site.doc[:-1],
                f"{site.label}: listing every tensor of {done + left:,} copies would exceed "
                f"{MAX_TENSORS:,} tensors; count and formula still work (they multiply)",
                code="C606",
            )
        for j in range(left):
            copy = period[j % len(period)]
            for module, suffix, shape in spans[j % len(period)]:
                renamed = (*module[: copy.depth], str(done + j), *module[copy.depth + 1 :])
                self.tensors.append((renamed, suffix, shape))

    def _bound(self, site: Site, result: Result) -> None:
        if result.exact > MAX_TOTAL or (result.macs or 0) > MAX_TOTAL:
            self.fail(
                site.doc[:-1],
                f"{site.label}{self.context}: the parameters or multiply-accumulates exceed "
                f"{MAX_TOTAL:.0e}; such a model cannot exist (check the repeat counts)",
                code="C606",
            )

    def for_each(self, site: Site, raw: Any, flow: Flow | None, scope: Scope) -> Result:
        """``layers`` once per row of ``rows``, each row binding the ``columns`` names."""
        raw = self._mapping(
            site, raw, ("columns", "rows", "layers", "template"), ("columns", "rows")
        )
        if ("layers" in raw) == ("template" in raw):
            self.fail(
                site.doc,
                f"{site.label} needs layers (run for each row) or template (called with each "
                "row's values as its arguments), not both",
                code="C607",
            )
        columns = raw["columns"]
        columns_doc = (*site.doc, "columns")
        if not isinstance(columns, list) or not columns:
            self.fail(columns_doc, f"{site.label}.columns must be a list of names", code="C607")
        for i, column in enumerate(columns):
            self._check_param_name((*columns_doc, i), column, f"{site.label}.columns")
        if len(set(columns)) != len(columns):
            self.fail(columns_doc, f"{site.label}.columns names a column twice", code="C607")
        rows = raw["rows"]
        rows_doc = (*site.doc, "rows")
        if not isinstance(rows, list) or not rows:
            self.fail(rows_doc, f"{site.label}.rows must be a list of rows", code="C607")
        total = Result(flow)
        for r, row in enumerate(rows):
            row_doc = (*rows_doc, r)
            if not isinstance(row, list) or len(row) != len(columns):
                self.error(
                    row_doc,
                    f"{site.label}.rows[{r}] must be a list of {len(columns)} values "
                    f"({', '.join(columns)})",
                    code="C607",
                )
                total = Result(None, total.params, total.exact, None)
                continue
            try:
                row_scope = self.once(
                    ("row", id(scope), row_doc),
                    functools.partial(self._row_scope, columns, row, row_doc, scope),
                )
            except Reported:
                total = Result(None, total.params, total.exact, None)
                continue
            if "template" in raw:
                # One call of the template, each column passed as the parameter it names.
                body = site.moved((*site.doc, "template"), "rows", r).sub(r)
                call = {raw["template"]: {column: column for column in columns}}
                result = self.entry(body, call, total.flow, row_scope)
            else:
                body = site.moved((*site.doc, "layers"), "rows", r, "layers").sub(r)
                result = self.items(body, raw["layers"], total.flow, row_scope)
            total = total.plus(result)
        return total

    # ----------------------------------------------------------------- templates

    def _check_param_name(self, doc: Path, name: Any, where: str) -> None:
        if not isinstance(name, str) or not exprs_identifier(name):
            self.fail(
                doc,
                f"{where}: '{shorten(name)}' is not a name (lowercase letters, digits, _)",
                code="C607",
            )
        if name in self.types or name in COMPOSITIONS or name == NAME_KEY:
            self.fail(
                doc, f"{where}: '{name}' is the name of a layer; choose another name", code="C607"
            )

    def _row_scope(self, columns: list[str], row: list[Any], row_doc: Path, scope: Scope) -> Scope:
        names = dict(scope.names)
        for c, (column, value) in enumerate(zip(columns, row, strict=True)):
            names[column] = self.bind((*row_doc, c), value, scope)
        return Scope(names, scope.calls)

    def bind(self, doc: Path, raw: Any, scope: Scope) -> Value:
        """An argument or a table cell: a number, a bool, or layers written in ``scope``."""
        if isinstance(raw, bool):
            return Value("bool", raw)
        if isinstance(raw, str) and raw in scope.names:
            return scope.names[raw]
        if isinstance(raw, list) and raw and any(_is_number(x) for x in raw):
            # A list with numbers is a size per dimension ([1, 7]), not layers.
            pairs = [self.number((*doc, i), x, "number", scope) for i, x in enumerate(raw)]
            return Value("sizes", tuple(p[0] for p in pairs), tuple(p[1] for p in pairs))
        if isinstance(raw, (list, Mapping)) or (
            isinstance(raw, str) and (raw in self.types or raw in self.templates)
        ):
            return Value("layers", raw, scope=scope, doc=doc)
        exact, current = self.number(doc, raw, "number", scope)
        return Value("number", exact, current)

    def call(self, site: Site, name: str, raw: Any, flow: Flow | None, scope: Scope) -> Result:
        """A template called with arguments: its layers, with its parameters bound."""
        self.used.add(name)
        doc = (*site.doc, name)
        if name in scope.calls:
            chain = " → ".join([*scope.calls[scope.calls.index(name) :], name])
            self.fail(
                site.doc, f"{site.label}: template '{name}' calls itself ({chain})", code="C607"
            )
        template = self.templates[name]
        tdoc: Path = ("templates", name)
        if not isinstance(template, Mapping):
            self.fail(
                tdoc, f"templates.{name} must be a mapping with layers (and params)", code="C607"
            )
        callee = self.once(
            ("call", id(scope), doc),
            lambda: self._instantiate(site, name, template, raw, scope),
        )
        self.depth += 1
        try:
            if self.depth > MAX_NESTING:
                self.fail(
                    site.doc, f"{site.label}: nested more than {MAX_NESTING} deep", code="C606"
                )
            body = site.moved((*tdoc, "layers"), name, "layers")
            return self.items(body, template.get("layers"), flow, callee)
        finally:
            self.depth -= 1

    def _instantiate(
        self, site: Site, name: str, template: Mapping[str, Any], raw: Any, scope: Scope
    ) -> Scope:
        tdoc: Path = ("templates", name)
        params, defaults = self.signature(name, template)
        doc = (*site.doc, name)
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            self.fail(
                doc,
                f"{site.label}: the arguments of template '{name}' must be a mapping",
                code="C607",
            )
        bad = False
        for key in raw:
            if key not in params and key != NAME_KEY:
                self.error(
                    (*doc, key),
                    f"{site.label}: template '{name}' has no parameter '{shorten(str(key))}'"
                    + (
                        did_you_mean(str(key), params)
                        or f" (its parameters: {', '.join(params) or 'none'})"
                    ),
                    key=True,
                    code="C607",
                )
                bad = True
        missing = [p for p in params if p not in raw and p not in defaults]
        if missing:
            self.error(
                doc if raw else site.doc,
                f"{site.label}: template '{name}' needs "
                + ", ".join(f"'{m}'" for m in missing)
                + f" (its parameters: {', '.join(params)})",
                code="C607",
            )
            bad = True
        if bad:
            raise Reported
        names: dict[str, Value] = {}
        for key in params:
            if key in raw:
                names[key] = self.bind((*doc, key), raw[key], scope)
        callee = Scope(names, (*scope.calls, name))
        for key in params:
            if key not in raw:
                names[key] = self.bind((*tdoc, "defaults", key), defaults[key], callee)
        return callee

    def signature(
        self, name: str, template: Mapping[str, Any]
    ) -> tuple[list[str], Mapping[str, Any]]:
        """A template's parameter names and defaults, checked once."""
        return self.once(("signature", name), lambda: self._signature(name, template))

    def _signature(
        self, name: str, template: Mapping[str, Any]
    ) -> tuple[list[str], Mapping[str, Any]]:
        tdoc: Path = ("templates", name)
        for key in template:
            if key not in ("params", "defaults", "layers"):
                self.fail(
                    (*tdoc, key),
                    f"templates.{name}: unknown key '{shorten(str(key))}'"
                    + did_you_mean(str(key), ("params", "defaults", "layers")),
                    key=True,
                    code="C607",
                )
        if "layers" not in template:
            self.fail(tdoc, f"templates.{name} needs layers", code="C607")
        params = template.get("params", [])
        if not isinstance(params, list):
            self.fail(
                (*tdoc, "params"), f"templates.{name}.params must be a list of names", code="C607"
            )
        for i, param in enumerate(params):
            self._check_param_name((*tdoc, "params", i), param, f"templates.{name}.params")
        if len(set(params)) != len(params):
            self.fail(
                (*tdoc, "params"), f"templates.{name}.params names a parameter twice", code="C607"
            )
        defaults = template.get("defaults", {})
        if not isinstance(defaults, Mapping):
            self.fail(
                (*tdoc, "defaults"), f"templates.{name}.defaults must be a mapping", code="C607"
            )
        for key in defaults:
            if key not in params:
                self.fail(
                    (*tdoc, "defaults", key),
                    f"templates.{name}.defaults: '{shorten(str(key))}' is not a parameter"
                    + did_you_mean(str(key), params),
                    key=True,
                    code="C607",
                )
        return list(params), defaults

    # ----------------------------------------------------------------- the whole spec

    def input(self) -> Flow | None:
        raw = self.spec.doc.data.get("input")
        if not isinstance(raw, list) or len(raw) not in INPUT_RANKS:
            self.error(
                ("input",),
                "input must be a list of 1 to 4 sizes: [channels, height, width] "
                "(or [features], [channels, length], [channels, depth, height, width])",
                code="C603",
            )
            return None
        try:
            pairs = [self.number(("input", i), x, "size", ROOT) for i, x in enumerate(raw)]
        except Reported:
            return None
        return Flow(tuple(int(p[0]) for p in pairs), tuple(p[1] for p in pairs))

    def run(self) -> list[tuple[Path, str, Result]]:
        """Walk the whole spec; one (path, name, result) per top-level item."""
        flow = self.input()
        if self.rows is not None and flow is not None:
            self.rows.append(ShapeRow("input", "", flow.exact, 0))
        items = self.spec.doc.data.get("layers")
        if not isinstance(items, list):
            self.error(("layers",), "layers must be a list of layers", code="C601")
            return []
        results: list[tuple[Path, str, Result]] = []
        top = Site(("layers",), "layers")
        try:
            for i, item in enumerate(items):
                result = self.entry(top.child(i).sub(_module_name(item, i)), item, flow, ROOT)
                name = (
                    item
                    if isinstance(item, str)
                    else str(next(iter(item), ""))
                    if isinstance(item, Mapping)
                    else "?"
                )
                results.append((("layers", i), name, result))
                flow = result.flow
        except BudgetExceeded:
            pass
        return results

    def unused_templates(self) -> Iterator[str]:
        return (name for name in self.templates if name not in self.used)


_COMPARISON = re.compile(r"(?P<left>[^<>=!]+?)\s*(?P<op>==|!=|<=|>=|<|>)\s*(?P<right>[^<>=!]+)")
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _module_name(item: Any, index: int) -> str:
    """An item's segment in tensor names: its ``name`` when given, else its index."""
    if isinstance(item, Mapping) and len(item) == 1:
        raw = next(iter(item.values()))
        if isinstance(raw, Mapping) and isinstance(raw.get(NAME_KEY), (str, int)):
            return str(raw[NAME_KEY])
    return str(index)


def exprs_identifier(name: str) -> bool:
    from archcalc.spec import IDENTIFIER

    return bool(IDENTIFIER.match(name))


def _broadcast(
    a: tuple[int, ...], a_cur: tuple[Any, ...], b: tuple[int, ...], b_cur: tuple[Any, ...]
) -> tuple[tuple[int, ...], tuple[Any, ...]] | None:
    """numpy's broadcasting of two shapes (right-aligned, equal or 1), in both algebras."""
    n = max(len(a), len(b))
    a, a_cur = (1,) * (n - len(a)) + a, (1,) * (n - len(a_cur)) + a_cur
    b, b_cur = (1,) * (n - len(b)) + b, (1,) * (n - len(b_cur)) + b_cur
    exact, current = [], []
    for x, xc, y, yc in zip(a, a_cur, b, b_cur, strict=True):
        if x == y or y == 1:
            exact.append(x)
            current.append(xc)
        elif x == 1:
            exact.append(y)
            current.append(yc)
        else:
            return None
    return tuple(exact), tuple(current)


def _show(value: Any) -> str:
    if isinstance(value, Fraction) and value.denominator != 1:
        return f"{value.numerator}/{value.denominator} (≈ {float(value):.6g})"
    return shorten(value)
