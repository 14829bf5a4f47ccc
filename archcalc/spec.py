"""From a loaded YAML document to the values a family's formula runs on.

A spec's numeric fields may be numbers or expressions over ``vars`` and other fields.
This module resolves them in dependency order (lazily, with cycle detection), checks
each against its kind (a ``size`` must come out a positive integer), applies ``--set``
overrides, and hands the family a :class:`Resolved` view. The same resolution runs in
two algebras: exact numbers to count and validate, sympy symbols to print formulas.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, NamedTuple

from archcalc import expr as exprs
from archcalc.errors import DiagnosticSink, Mark, Unavailable, UsageError, shorten
from archcalc.family import REQUIRED, Family, Field
from archcalc.suggest import close_matches
from archcalc.yamlsafe import Document

if TYPE_CHECKING:
    from archcalc.registry import Registry

Path_ = tuple[str | int, ...]
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")
RESERVED_KEYS = ("name", "family", "vars")
#: Largest value a single field may take; keeps every later product bounded.
MAX_FIELD_VALUE = 10**18


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """A ``; did you mean 'x'?`` suffix when a close match exists, else ''.

    Compared case-insensitively, so ``RMSNorm`` (as papers spell it) finds ``rmsnorm``.
    Very long words are not compared at all: they are never a typo, and difflib is quadratic.
    """
    match = close_matches(word, options)
    return f"; did you mean '{shorten(match[0])}'?" if match else ""


#: A scalar such as ``2024-01-01``: YAML 1.1 tools read it as a date, ours as text.
_DATE_LIKE = re.compile(r"\s*\d{4}-\d{1,2}-\d{1,2}([ Tt].*)?")


def expression_message(raw: str, exc: exprs.ExprError) -> str:
    """Why an expression string was refused, quoting it (bounded) before the reason.

    The reason comes from the parser ("unknown name 'widht'", "'.' attribute access is
    not allowed"); quoting the text first keeps the sentence readable whatever it says.
    """
    if _DATE_LIKE.fullmatch(raw):
        return (
            f"'{shorten(raw)}' looks like a date, not a number; write a number or an "
            "arithmetic expression"
        )
    return f"expression '{shorten(raw)}': {exc.message}"


def expression_code(raw: str, exc: exprs.ExprError) -> str:
    """The rule code of :func:`expression_message`'s diagnostic."""
    return "X308" if _DATE_LIKE.fullmatch(raw) else exc.code


def kind_code(problem: str) -> str:
    """The rule code of a :func:`kind_problem`: beyond the bound (X305) or the wrong kind."""
    return "X305" if "limit" in problem else "X304"


#: A value the family's check must not see: it was reported wrong (or is missing) already.
UNAVAILABLE: Any = type("_UnavailableValue", (), {"__repr__": lambda self: "UNAVAILABLE"})()


class Override(NamedTuple):
    """One ``--set KEY=EXPR`` from the command line."""

    key: str
    text: str

    @classmethod
    def parse(cls, item: str) -> Override:
        key, sep, text = item.partition("=")
        key, text = key.strip(), text.strip()
        if not sep or not key or not text:
            raise UsageError(f"--set expects KEY=EXPR, got '{shorten(item)}'")
        return cls(key, text)


class _Entry:
    """A name expressions can refer to: a field of the family or a var.

    A plain class (its ``raw`` is replaced while resolving, it is never compared):
    cheaper to create at import than a dataclass, and every count imports this module.
    """

    __slots__ = ("from_cli", "given", "kind", "name", "path", "raw")

    def __init__(
        self, name: str, path: Path_, kind: str, raw: Any, given: bool, from_cli: bool = False
    ) -> None:
        self.name = name
        self.path = path
        self.kind = kind
        self.raw = raw
        self.given = given  # False when the value is the family's default
        self.from_cli = from_cli


class _Failed(Exception):
    """A dependency already failed and was reported; fail quietly."""


class Namespace:
    """Evaluates names on demand in one algebra, in dependency order, detecting cycles."""

    def __init__(
        self,
        entries: Mapping[str, _Entry],
        algebra: Any,
        report: Callable[[_Entry, str, str], None],
        symbol: Callable[[_Entry], Any] | None = None,
    ) -> None:
        self.entries = entries
        self.algebra = algebra
        self.report = report
        self.symbol = symbol
        self.memo: dict[str, Any] = {}
        self.failed: set[str] = set()
        self.stack: list[str] = []
        self.exact = symbol is None
        #: The ``vars`` block itself was reported wrong: an unknown name is no news.
        self.quiet_unknown = False
        self._known: list[str] | None = None

    def known(self) -> list[str]:
        """The numeric names (for did-you-mean), listed once rather than per unknown name."""
        if self._known is None:
            self._known = [
                n for n, e in self.entries.items() if e.kind in ("size", "count", "number")
            ]
        return self._known

    def value(self, name: str) -> Any:
        if name in self.memo:
            return self.memo[name]
        if name in self.failed:
            raise _Failed(name)
        entry = self.entries.get(name)
        if entry is None and self.quiet_unknown:
            raise _Failed(name)
        if entry is None or entry.kind not in ("size", "count", "number"):
            if entry is not None:
                raise KeyError(f"'{name}' is not a number", self.known())
            raise KeyError(name, self.known())
        if not self.stack:
            self._prepare(name)
            if name in self.memo:
                return self.memo[name]
            if name in self.failed:
                raise _Failed(name)
        if name in self.stack:
            self._cycle([*self.stack[self.stack.index(name) :], name])
            raise _Failed(name)
        self.stack.append(name)
        try:
            result = self._evaluate(entry)
        except _Failed:
            self.failed.add(name)
            raise
        finally:
            self.stack.pop()
        self.memo[name] = result
        return result

    def _cycle(self, cycle: list[str]) -> None:
        self.report(
            self.entries[cycle[0]],
            "cycle between fields: "
            + " → ".join(shorten(n, 40) for n in cycle[:12])
            + (" → ..." if len(cycle) > 12 else "")
            + "; give one of them a number instead of an expression",
            "X303",
        )
        self.failed.update(cycle)

    def _prepare(self, name: str) -> None:
        """Evaluate what ``name`` depends on first, deepest first, with an explicit stack.

        Evaluation itself recurses from a name into the names its expression uses; done
        in dependency order, each of those is already known, so a chain of 3,000 vars
        costs no more stack than one, and a cycle of any length is found here.
        """
        done: set[str] = set()
        path: list[str] = []
        on_path: set[str] = set()
        order: list[str] = []
        work: list[tuple[str, bool]] = [(name, False)]
        while work:
            current, leaving = work.pop()
            if leaving:
                path.pop()
                on_path.discard(current)
                done.add(current)
                order.append(current)
                continue
            if current in done or current in self.memo or current in self.failed:
                continue
            if current in on_path:
                self._cycle([*path[path.index(current) :], current])
                continue
            entry = self.entries.get(current)
            if entry is None or entry.kind not in ("size", "count", "number"):
                continue
            path.append(current)
            on_path.add(current)
            work.append((current, True))
            for dependency in sorted(_dependencies(entry), reverse=True):
                work.append((dependency, False))
        for current in order[:-1]:
            with contextlib.suppress(_Failed, KeyError):
                self.value(current)

    def _evaluate(self, entry: _Entry) -> Any:
        symbol = self.symbol(entry) if self.symbol is not None else None
        if symbol is not None:
            return symbol
        value = self.evaluate_raw(
            entry.raw, lambda message, code: self._fail(entry, f"{entry.name}: {message}", code)
        )
        if self.exact:
            problem = kind_problem(entry.kind, value)
            if problem:
                self._fail(entry, describe(entry, value) + problem, kind_code(problem))
        return value

    def evaluate_raw(self, raw: Any, fail: Callable[[str, str], None]) -> Any:
        """Evaluate a literal or an expression; ``fail(message, code)`` reports and raises."""
        if isinstance(raw, bool) or raw is None:
            fail(f"expected a number or an expression, got {shorten(raw)}", "S203")
        if isinstance(raw, (int, Fraction)):
            if abs(Fraction(raw)) > MAX_FIELD_VALUE:
                fail(f"value {shorten(raw)} is too large (limit {MAX_FIELD_VALUE:.0e})", "X305")
            return self.algebra.number(raw)
        if not isinstance(raw, str):
            fail(f"expected a number or an expression, got {type(raw).__name__}", "S203")
        try:
            parsed = exprs.parse(raw)
            return exprs.evaluate(parsed, self._lookup, self.algebra)
        except exprs.ExprError as exc:
            fail(expression_message(raw, exc), expression_code(raw, exc))
        raise AssertionError("unreachable")

    def _lookup(self, name: str) -> Any:
        return self.value(name)

    def _fail(self, entry: _Entry, message: str, code: str) -> None:
        self.report(entry, message, code)
        raise _Failed(entry.name)


def _dependencies(entry: _Entry) -> frozenset[str]:
    """The names an entry's expression uses (none for a literal or a broken expression)."""
    if not isinstance(entry.raw, str):
        return frozenset()
    try:
        return exprs.parse(entry.raw).names()
    except exprs.ExprError:
        return frozenset()


def describe(entry: _Entry, value: Any) -> str:
    """The subject of a kind error: the field, its expression and what it evaluated to."""
    shown = _show(value)
    if not entry.given:
        return f"{entry.name} is not given, and its default '{entry.raw}' is {shown}, "
    if isinstance(entry.raw, str):
        return f"{entry.name} = '{shorten(entry.raw)}' evaluates to {shown}, "
    return f"{entry.name} is {shown}, "


def _show(value: Any) -> str:
    if isinstance(value, Fraction) and value.denominator != 1:
        approx = f"{float(value):.6g}" if abs(value) < 10**30 else "a very large number"
        return f"{value.numerator}/{value.denominator} (≈ {approx})"
    return shorten(value)


def kind_problem(kind: str, value: Any) -> str:
    """Why an exact value does not fit a field kind, or '' when it does."""
    if kind == "number":
        return ""
    integral = exprs.exact_int(value)
    if integral is None:
        return (
            f"but it must be {'a positive' if kind == 'size' else 'a non-negative'} integer; "
            "round it with ceil(), floor() or multiple_of()"
        )
    if kind == "size" and integral < 1:
        return "but it must be a positive integer"
    if kind == "count" and integral < 0:
        return "but it must be a non-negative integer"
    if integral > MAX_FIELD_VALUE:
        return f"which is larger than the limit of {MAX_FIELD_VALUE:.0e}"
    return ""


@dataclass
class Resolved:
    """A spec whose fields are resolved in one algebra, as a family's formula sees it.

    ``values`` holds each field under its leaf name (``values.d_model``, ``values.moe.top_k``;
    an absent group is ``None``). Numeric values are ints in exact mode and sympy
    expressions in symbolic mode. ``registry`` is the set of plugins this spec was loaded
    with: a family finds other registrations there (``spec.registry.layer_types``).
    """

    name: str
    family: Family
    doc: Document
    values: Any
    symbolic: bool
    sink: DiagnosticSink
    namespace: Namespace
    registry: Registry
    field_paths: dict[str, Path_] = field(default_factory=dict)
    exact_values: Mapping[str, Any] = field(default_factory=dict)
    #: Leaf names of the fields the family's code has read so far.
    reads: set[str] = field(default_factory=set)
    #: Document paths whose values were reported wrong before resolution (YAML, schema).
    skipped: frozenset[Path_] = frozenset()
    #: What archcalc is asking of the family right now ("count", "check"...), for messages.
    doing: str = ""
    #: Results of layer-type calls by (layer path, layer name, function), in call order
    #: (see :mod:`archcalc.contract`); the formula probe compares them between two points.
    calls: dict[tuple[Path_, str, str], list[Any]] = field(default_factory=dict)
    #: The ``--set`` overrides the spec was resolved with (a variant applies them too).
    overrides: tuple[Override, ...] = ()

    def exact(self, name: str) -> Any:
        """The exact value of a numeric field, in either mode.

        Formulas use it for structural decisions only (does a part exist at all?), so the
        symbolic formula describes the same structure the exact count does. A value
        already reported wrong raises :class:`~archcalc.errors.Unavailable` (the check
        reading it stops quietly).
        """
        if name in self.namespace.failed and not self.symbolic:
            raise Unavailable(name)
        return self.exact_values.get(name)

    def mark(self, path: str | Sequence[str | int]) -> Mark:
        """Where ``path`` (a field name or a document path) is in the file.

        A field left to its default points at the given field its default was computed
        from, else at the ``family`` line; a name that is neither a field of the family nor
        a key of the document is a mistake in the caller (a plugin), never placed silently.
        """
        if isinstance(path, str):
            entry = self.namespace.entries.get(path)
            if entry is not None and not entry.given:
                return self._default_mark(entry)
            if path in self.field_paths:
                path = self.field_paths[path]
            else:
                path = tuple(path.split("."))
                if not self._known(path):
                    raise ValueError(self._unknown(".".join(str(p) for p in path)))
        key = tuple(path)
        if not self._known(key):
            raise ValueError(self._unknown(".".join(str(p) for p in key)))
        if key not in self.doc.marks and self.doc.mark(key) == self.doc.mark(()):
            return self.doc.mark(("family",))
        return self.doc.mark(key)

    def _known(self, path: Path_) -> bool:
        if not path or path in self.doc.marks:
            return True
        dotted = ".".join(str(p) for p in path)
        fields = {f.name for f in self.family.all_fields()} | {g.name for g in self.family.groups()}
        return dotted in fields or path[0] in self.family_keys()

    def family_keys(self) -> set[str]:
        """Top-level keys this family defines beyond its fields (e.g. a CNN's ``layers``)."""
        from archcalc.schema import family_properties

        return set(family_properties(self.family, self.registry)) | {"name", "family", "vars"}

    def _unknown(self, name: str) -> str:
        options = [f.name for f in self.family.all_fields()] + sorted(self.family_keys())
        return (
            f"spec.error/warning got '{shorten(name)}', which is neither a field of family "
            f"'{self.family.name}' nor a key of the spec" + did_you_mean(name, options)
        )

    def _default_mark(self, entry: _Entry) -> Mark:
        if isinstance(entry.raw, str):
            with contextlib.suppress(exprs.ExprError):
                for name in sorted(exprs.parse(entry.raw).names()):
                    source = self.namespace.entries.get(name)
                    if source is not None and source.given and not source.from_cli:
                        return self.doc.mark(source.path)
        return self.doc.mark(("family",))

    def error(self, path: str | Sequence[str | int], message: str, code: str | None = None) -> None:
        """Report a semantic problem at ``path``; all problems are collected, not just the first.

        ``code`` is the rule code (see :mod:`archcalc.rules`); without it, ``P901``.
        """
        self.sink.error(self.mark(path), message, code)

    def warning(
        self, path: str | Sequence[str | int], message: str, code: str | None = None
    ) -> None:
        """Report a likely mistake that still builds; without ``code``, ``P902``."""
        self.sink.warning(self.mark(path), message, code)

    def reported(self, *paths: Sequence[str | int]) -> bool:
        """Whether a value at or under one of ``paths`` was already reported wrong.

        A check that walks the document itself (a layer graph) uses it to stay quiet
        about what the schema or the YAML reader has already explained.
        """
        return any(
            tuple(bad[: len(path)]) == tuple(path) or tuple(path[: len(bad)]) == tuple(bad)
            for bad in self.skipped
            for path in paths
        )

    def variant(self, replace: Mapping[str, Any], at: Sequence[str | int]) -> Resolved:
        """This spec with the keys of ``replace`` in place of its own, resolved again.

        Families whose parts differ from one place to another (a transformer's kinds of
        block: ``blocks: {dense: {moe: false}}``) resolve each place through here, so a
        replaced key means exactly what it means at the top level. Keys name fields; a
        group given as a mapping is merged into the spec's group and a group given as
        ``false`` is removed. Every value computed from a replaced key (a default such as
        ``d_head: d_model / n_heads``, an expression) is computed again; the rest is
        shared with this spec, symbols included. ``at`` is the document path of
        ``replace``: errors in replaced values point there. ``--set`` does not reach a
        replaced key (the variant's own value wins).
        """
        return _variant(self, replace, tuple(at))

    def given(self, name: str) -> bool:
        """Whether the spec (or ``--set``) gave field ``name``, rather than its default."""
        entry = self.namespace.entries.get(name)
        return bool(entry and entry.given)

    def number(self, path: Sequence[str | int], kind: str = "size") -> Any:
        """Evaluate any numeric leaf of the document (e.g. a CNN layer argument).

        Raises :class:`SpecError`-bound failures through the sink; returns ``None`` when the
        value could not be evaluated (already reported).
        """
        raw = _get(self.doc.data, tuple(path))
        mark = self.doc.mark(tuple(path))
        key = ".".join(str(p) for p in path)

        def fail(message: str, code: str) -> None:
            self.sink.error(mark, f"{key}: {message}", code)
            raise _Failed(key)

        try:
            value = self.namespace.evaluate_raw(raw, fail)
        except _Failed:
            return None
        if not self.symbolic:
            problem = kind_problem(kind, value)
            if problem:
                entry = _Entry(key, tuple(path), kind, raw, True)
                self.sink.error(mark, describe(entry, value) + problem, kind_code(problem))
                return None
        return value


def _variant(base: Resolved, replace: Mapping[str, Any], at: Path_) -> Resolved:
    doc, family = base.doc, base.family
    data = dict(doc.data)
    # Only the fields' own marks: a variant reports at field names, and copying every mark
    # of a large document for each variant would make many variants quadratic.
    paths: list[Path_] = [(), *(slot.path for slot in _slots(family))]
    paths += [(g.name,) for g in family.groups()]
    marks = {p: doc.marks[p] for p in paths if p in doc.marks}
    key_marks = {p: doc.key_marks[p] for p in paths if p in doc.key_marks}
    groups = {g.name for g in family.groups()}
    replaced: set[str] = set()

    def place(path: Path_, value: Any) -> None:
        marks[path] = doc.mark((*at, *path))
        key_marks[path] = doc.key_mark((*at, *path))
        replaced.add(str(path[-1]))

    for key, value in replace.items():
        if key in groups and isinstance(value, Mapping):
            own = data.get(key)
            data[key] = {**(own if isinstance(own, Mapping) else {}), **value}
            marks[(key,)] = doc.mark((*at, key))
            for sub, sub_value in value.items():
                place((key, sub), sub_value)
        elif key in groups and (value is False or value is None):
            data.pop(key, None)
        else:
            data[key] = value
            place((key,), value)
    virtual = Document(doc.file, data, marks, key_marks)
    overrides = [o for o in base.overrides if o.key.rsplit(".", 1)[-1] not in replaced]
    entries = build_entries(virtual, family, overrides, base.sink)
    local = _changed(entries, base.namespace.entries)
    report = _reporter(virtual, family, entries, base.sink)

    def seeded(algebra: Any, memo: Mapping[str, Any], symbolic: bool) -> Namespace:
        namespace = Namespace(entries, algebra, report, (lambda e: None) if symbolic else None)
        namespace.memo.update((n, v) for n, v in memo.items() if n not in local)
        namespace.failed.update(n for n in base.namespace.failed if n not in local)
        for name in local:
            if name in entries and entries[name].kind in ("size", "count", "number"):
                with contextlib.suppress(_Failed, KeyError):
                    namespace.value(name)
        return namespace

    namespace = seeded(base.namespace.algebra, base.namespace.memo, base.symbolic)
    exact = seeded(exprs.EXACT, base.exact_values, False).memo if base.symbolic else None
    return Resolved(
        name=base.name,
        family=family,
        doc=virtual,
        values=make_values(family, entries, namespace, base.reads),
        symbolic=base.symbolic,
        sink=base.sink,
        namespace=namespace,
        registry=base.registry,
        field_paths={e.name: e.path for e in entries.values()},
        exact_values=exact if exact is not None else namespace.memo,
        reads=base.reads,
        skipped=base.skipped,
        doing=base.doing,
        calls=base.calls,
        overrides=base.overrides,
    )


def _changed(entries: Mapping[str, _Entry], base: Mapping[str, _Entry]) -> set[str]:
    """Names whose value may differ from ``base``'s: changed entries and all that use them."""
    changed = {
        name
        for name, entry in entries.items()
        if name not in base or (entry.raw, entry.kind) != (base[name].raw, base[name].kind)
    }
    uses = {
        name: _names(entry.raw)
        for name, entry in entries.items()
        if isinstance(entry.raw, str) and entry.kind in ("size", "count", "number")
    }
    grown = True
    while grown:
        grown = False
        for name, names in uses.items():
            if name not in changed and names & changed:
                changed.add(name)
                grown = True
    return changed


def _names(text: str) -> frozenset[str]:
    """Names an expression uses; none when it does not parse (evaluating it reports why)."""
    try:
        return exprs.parse(text).names()
    except exprs.ExprError:
        return frozenset()


def _get(data: Any, path: Path_) -> Any:
    for part in path:
        in_mapping = isinstance(data, Mapping) and part in data
        in_list = isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)
        if in_mapping or in_list:
            data = data[part]
        else:
            return None
    return data


def spec_name(doc: Document) -> str:
    name = doc.data.get("name")
    return name if isinstance(name, str) and name else _stem(doc.file)


def _stem(file: str) -> str:
    """``pathlib.PurePath(file).stem`` without importing pathlib (a count's start-up)."""
    name = os.path.basename(file.rstrip("/" + os.sep))
    dot = name.rfind(".")
    return name[:dot] if 0 < dot < len(name) - 1 else name


class _Slot(NamedTuple):
    """A family's field as resolution walks it: its path, leaf name and group."""

    field: Field
    path: Path_
    leaf: str
    group: str | None


#: id(family) -> (family, its slots); the family is kept so its id is not reused.
_SLOTS: dict[int, tuple[Family, tuple[_Slot, ...]]] = {}


def _slots(family: Family) -> tuple[_Slot, ...]:
    """The family's fields split into paths once per process, not once per spec: checking a
    thousand specs in one call walks the same hundred fields a thousand times."""
    cached = _SLOTS.get(id(family))
    if cached is not None and cached[0] is family:
        return cached[1]
    paths = [(fld, tuple(fld.name.split("."))) for fld in family.all_fields()]
    slots = tuple(_Slot(f, p, f.leaf, p[0] if len(p) > 1 else None) for f, p in paths)
    _SLOTS[id(family)] = (family, slots)
    return slots


def build_entries(
    doc: Document, family: Family, overrides: Sequence[Override], sink: DiagnosticSink
) -> dict[str, _Entry]:
    """Every name an expression may use: the family's fields (given or default) and vars."""
    entries: dict[str, _Entry] = {}
    data = doc.data
    for fld, path, leaf, group in _slots(family):
        if group is not None and not isinstance(data.get(group), Mapping):
            continue  # the group is absent: its fields do not exist
        raw = _get(data, path)
        # An explicit ``key: null`` counts as given: the schema reports it, and defaults that
        # refer to it then fail quietly instead of as 'unknown name'.
        given = raw is not None or path in doc.marks
        if not given:
            if fld.default is REQUIRED or fld.default is None:
                continue
            raw = fld.default
        entries[leaf] = _Entry(leaf, path, fld.kind, raw, given)
    declared = data.get("vars")
    # Not a mapping (``vars: 1``): the schema reports it; there are no vars to resolve.
    for name, raw in (declared if isinstance(declared, Mapping) else {}).items():
        path = ("vars", name)
        if not IDENTIFIER.match(name):
            fix = name.lower() if IDENTIFIER.match(name.lower()) else "width"
            rule = (
                f"is too long ({len(name)} characters; at most 64)"
                if len(name) > 64
                else "must be lowercase letters, digits and '_', starting with a letter or '_' "
                f"(such as '{shorten(fix)}')"
            )
            sink.error(doc.key_mark(path), f"var name '{shorten(name)}' {rule}", "X306")
            continue
        if name in entries:
            sink.error(
                doc.key_mark(path), f"var '{name}' has the name of a field; rename it", "X306"
            )
            continue
        entries[name] = _Entry(name, path, "number", raw, True)
    for override in overrides:
        _apply_override(override, entries, family, data)
    _copy_defaults(entries, family)
    return entries


def _apply_override(
    override: Override, entries: dict[str, _Entry], family: Family, data: Mapping[str, Any]
) -> None:
    key = override.key.removeprefix("vars.")
    fields = {f.name: f for f in family.all_fields()} | {f.leaf: f for f in family.all_fields()}
    fld = fields.get(key)
    if fld is None and key not in entries:
        known = [f.name for f in family.all_fields()] + [
            n for n, e in entries.items() if e.path[0] == "vars"
        ]
        raise UsageError(
            f"--set {shorten(override.key)}: '{family.name}' has no field or var "
            f"'{shorten(key)}'" + did_you_mean(key, known)
        )
    group = fld.name.split(".")[0] if fld is not None and "." in fld.name else None
    if group is not None and not isinstance(data.get(group), Mapping):
        # Setting one field cannot switch a feature on: the group's other (required)
        # fields would be missing, and the family would see half a group.
        raise UsageError(
            f"--set {shorten(override.key)}: this spec has no '{group}' section, so its "
            f"fields do not exist; add '{group}:' with its keys to the spec to model it"
        )
    text = override.text
    kind = fld.kind if fld is not None else "number"
    raw: Any = text
    if kind == "bool":
        if text.lower() not in ("true", "false"):
            raise UsageError(f"--set {override.key}: expected true or false, got '{shorten(text)}'")
        raw = text.lower() == "true"
    elif kind == "choice" and fld is not None and text not in fld.choices:
        raise UsageError(
            f"--set {override.key}: expected one of {', '.join(fld.choices)}, got '{shorten(text)}'"
            + did_you_mean(text, fld.choices)
        )
    name = fld.leaf if fld is not None else key
    path = tuple(fld.name.split(".")) if fld is not None else ("vars", key)
    entries[name] = _Entry(name, path, kind, raw, True, from_cli=True)


def _copy_defaults(entries: dict[str, _Entry], family: Family) -> None:
    """A bool or choice field whose default names another field takes that field's value."""
    for fld, _, leaf, _ in _slots(family):
        entry = entries.get(leaf)
        if entry is None or entry.given or fld.numeric or not isinstance(fld.default, str):
            continue
        source = entries.get(fld.default)
        if source is not None and source.kind == fld.kind:
            entry.raw = source.raw


class Values(SimpleNamespace):
    """Field values by leaf name; remembers which ones the family read.

    Reads tell ``count`` which defaults actually shaped the result, so the output lists
    only assumptions that matter (``n_decoder_layers`` is never read for a decoder).
    """

    def __init__(self, reads: set[str]) -> None:
        super().__init__()
        object.__setattr__(self, "_reads", reads)

    def __getattribute__(self, name: str) -> Any:
        value = object.__getattribute__(self, name)
        if not name.startswith("_"):
            object.__getattribute__(self, "_reads").add(name)
            if value is UNAVAILABLE:
                raise Unavailable(name)
        return value


def _under(path: Path_, paths: Iterable[Path_]) -> bool:
    """Whether ``path`` is one of ``paths`` or lies inside one of them."""
    return any(path[: len(p)] == p for p in paths)


def make_values(
    family: Family,
    entries: Mapping[str, _Entry],
    namespace: Namespace,
    reads: set[str],
    skipped: frozenset[Path_] = frozenset(),
) -> Any:
    """The attribute namespace a family's formula reads (``values.moe.top_k``).

    A value reported wrong already (by the YAML reader, the schema or its expression) is
    :data:`UNAVAILABLE`: reading it raises :class:`~archcalc.errors.Unavailable`, so a
    check never adds an error that only restates one.
    """
    top = Values(reads)
    groups: dict[str, Any] = {}
    present = {e.path[0] for e in entries.values()}
    for fld, path, leaf, name in _slots(family):
        target = top
        if name is not None:
            if name not in groups:
                group = Values(reads) if name in present else None
                groups[name] = UNAVAILABLE if _under((name,), skipped) else group
                setattr(top, name, groups[name])
            target = groups[name]
            if target is None or target is UNAVAILABLE:
                continue
        entry = entries.get(leaf)
        if leaf in namespace.failed or (skipped and _under(path, skipped)):
            value = UNAVAILABLE
        elif entry is None:
            value = None
        elif fld.numeric:
            try:
                value = namespace.value(leaf)
            except (_Failed, KeyError):
                value = UNAVAILABLE
        else:
            value = entry.raw
        setattr(target, leaf, value)
    for declared in family.groups():
        if declared.name not in top.__dict__:  # (hasattr would read an unavailable group)
            setattr(top, declared.name, None)
    return top


def resolve(
    doc: Document,
    family: Family,
    overrides: Sequence[Override] = (),
    symbolic: bool = False,
    keep: Iterable[str] | None = None,
    exact: Resolved | None = None,
    sink: DiagnosticSink | None = None,
    skip: Iterable[Path_] = (),
    registry: Registry | None = None,
) -> Resolved:
    """Resolve every field of ``doc`` for ``family``.

    In exact mode (the default) all problems are collected and raised together as a
    :class:`SpecError`, the family's semantic checks included. In symbolic mode pass the
    exact resolution as ``exact``: literal fields become symbols (or, with ``keep``, only
    the named fields do and the rest take their exact values).

    ``sink`` may already hold structural errors; values at (or under) the ``skip``
    paths were reported there and are not evaluated again, and neither is anything
    computed from them: a required field the schema reported missing makes its
    dependents fail quietly rather than as 'unknown name'. The family's checks run
    whatever else was found, but never see a malformed value: reading one stops the
    check (:class:`~archcalc.errors.Unavailable`), so every independent problem is
    reported and no consequential one. ``registry`` defaults to the exact resolution's,
    else to an empty one.
    """
    if registry is None:
        if exact is not None:
            registry = exact.registry
        else:
            from archcalc.registry import Registry

            registry = Registry()
    sink = sink if sink is not None else DiagnosticSink(doc.file)
    entries = build_entries(doc, family, overrides, sink)
    skipped = set(skip)
    report = _reporter(doc, family, entries, sink)
    if symbolic:
        if exact is None:
            raise ValueError("symbolic resolution needs the exact resolution first")
        algebra = exprs.symbolic()
        symbol = _symbol_factory(entries, exact, keep)
        namespace = Namespace(entries, algebra, report, symbol)
    else:
        namespace = Namespace(entries, exprs.EXACT, report)
    namespace.quiet_unknown = _under(("vars",), skipped)
    for fld, path, leaf, _ in _slots(family) if skipped else ():
        if fld.default is REQUIRED and leaf not in entries and path in skipped:
            namespace.failed.add(leaf)  # reported missing: its dependents stay quiet
    for name, entry in entries.items():
        if skipped and _under(entry.path, skipped) and not entry.from_cli:
            namespace.failed.add(name)
        elif entry.kind in ("size", "count", "number"):
            with contextlib.suppress(_Failed, KeyError):
                namespace.value(name)
    reads: set[str] = set()
    values = make_values(family, entries, namespace, reads, frozenset(skipped))
    resolved = Resolved(
        name=spec_name(doc),
        family=family,
        doc=doc,
        values=values,
        symbolic=symbolic,
        sink=sink,
        namespace=namespace,
        registry=registry,
        field_paths={e.name: e.path for e in entries.values()},
        exact_values=exact.namespace.memo if exact is not None else namespace.memo,
        reads=reads,
        skipped=frozenset(skipped),
        overrides=tuple(overrides),
    )
    if not symbolic:
        _run_check(family, resolved)
        sink.raise_if_errors()
    return resolved


def _run_check(family: Family, resolved: Resolved) -> None:
    """Run the family's checks beside the problems already found.

    A check that stops on a value reported wrong is skipped. A check that crashes on a
    spec already found invalid is not blamed on its plugin: the spec's own errors come
    first, and once they are fixed a real plugin bug still shows (exit 3).
    """
    from archcalc.contract import family_call
    from archcalc.errors import PluginError

    try:
        family_call(resolved, "check", family.check, resolved)
    except Unavailable:
        pass
    except PluginError:
        if not resolved.sink.errors:
            raise


def _reporter(
    doc: Document, family: Family, entries: Mapping[str, _Entry], sink: DiagnosticSink
) -> Callable[[_Entry, str, str], None]:
    """How a failed field is reported: at its value, or at the given field it was computed from."""
    hints = {leaf: fld.default_hint for fld, _, leaf, _ in _slots(family) if fld.default_hint}

    def report(entry: _Entry, message: str, code: str) -> None:
        origin = " (from --set)" if entry.from_cli else ""
        if entry.given:
            sink.error(
                doc.mark(entry.path) if not entry.from_cli else doc.mark(()),
                message + origin,
                code,
            )
            return
        # A computed default failed: point at the given field it was computed from.
        mark = doc.mark(("family",))
        if isinstance(entry.raw, str):
            for name in sorted(exprs.parse(entry.raw).names()):
                source = entries.get(name)
                if source is not None and source.given and not source.from_cli:
                    mark = doc.mark(source.path)
        if entry.name in hints and "round it" in message:
            message = message.split("; round it")[0] + "; " + hints[entry.name]
        sink.error(mark, message, code)

    return report


def _symbol_factory(
    entries: Mapping[str, _Entry], exact: Resolved, keep: Iterable[str] | None
) -> Callable[[_Entry], Any]:
    """Decide which names stay symbolic: literals by default, exactly ``keep`` when given."""
    import sympy

    keep_set = None if keep is None else set(keep)
    exact_values = exact.namespace.memo

    def symbol(entry: _Entry) -> Any:
        if keep_set is None:
            if not _is_literal_entry(entry):
                return None
        elif entry.name not in keep_set:
            value = exact_values.get(entry.name)
            if value is None or not _is_literal_entry(entry):
                return None
            return sympy.Rational(value.numerator, value.denominator)
        # Plain symbols, fields and vars alike: the user's own sympy.Symbol(name) is this
        # one (assumptions would make it a different symbol, and diff() by it 0).
        return sympy.Symbol(entry.name)

    return symbol


def _is_literal_entry(entry: _Entry) -> bool:
    """A number, or an expression without names: what becomes a symbol in a formula."""
    raw = entry.raw
    return isinstance(raw, (int, Fraction)) or (isinstance(raw, str) and exprs.is_literal(raw))
