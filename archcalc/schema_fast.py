"""A yes/no check of a document against a JSON Schema, compiled to plain Python closures.

jsonschema is archcalc's validator of record, and it stays so: every message a user reads
comes from it. But importing it (and its ``referencing`` stack) and building a validator
costs more than loading, resolving and counting a spec, and nearly every spec checked in
pre-commit or counted on the command line is valid. So :func:`compile_schema` turns the
schema into a predicate that answers "valid?" exactly as jsonschema would, for the
keywords archcalc's schemas use; jsonschema runs only when the answer is "no".

A schema using anything else (``format``, ``$id``, ``dependentRequired``...) does not
compile (:func:`compile_schema` returns None), and a value that is not plain JSON data
(a non-string key, a date, a tuple) makes the predicate answer None: in both cases the
caller asks jsonschema. ``tests/test_schema_fast.py`` generates documents with
hypothesis and checks that the predicate and jsonschema agree on every one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

Check = Callable[[Any], bool]

#: Keywords that never affect validity (annotations), and the ``x-`` extensions.
_ANNOTATIONS = frozenset(
    ("description", "default", "examples", "title", "$comment", "$anchor", "$defs", "$schema")
) | {"deprecated", "readOnly", "writeOnly"}
#: archcalc's loader reads decimals as exact Fractions; jsonschema counts them as numbers
#: (``numbers.Number``) but not as integers, and so does this module.
_NUMBERS = (int, float, Fraction)
_TYPES: dict[str, Check] = {
    "object": lambda x: type(x) is dict,
    "array": lambda x: type(x) is list,
    "string": lambda x: type(x) is str,
    "boolean": lambda x: type(x) is bool,
    "null": lambda x: x is None,
    "number": lambda x: type(x) in _NUMBERS,
    "integer": lambda x: type(x) is int or (type(x) is float and x.is_integer()),
}


class Unsupported(Exception):
    """The schema uses a keyword (or a form of one) this compiler does not implement."""


def is_plain_json(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` is JSON data as archcalc loads it: dicts with str keys, lists, str,
    int, float, Fraction, bool, None."""
    kind = type(value)
    if kind in (str, int, float, Fraction, bool) or value is None:
        return True
    if depth > 200:
        return False
    if kind is list:
        return all(is_plain_json(v, depth + 1) for v in value)
    if kind is dict:
        return all(type(k) is str and is_plain_json(v, depth + 1) for k, v in value.items())
    return False


def compile_schema(schema: Any, lazy: bool = True) -> Callable[[Any], bool | None] | None:
    """A predicate ``doc -> valid?`` (None: not plain JSON, or it needs something this
    compiler does not implement: ask jsonschema), or None when ``lazy`` is false and the
    schema uses something this compiler does not implement anywhere.

    Lazily (the default), a property's subschema is compiled the first time a document
    has that property: a family's schema has a hundred keys and a spec uses ten, and one
    process usually checks one spec, so compiling all of it up front would cost more than
    the check. A part using an unimplemented keyword makes the answer None only for the
    documents that reach it; the other parts answer as jsonschema would either way.
    """
    try:
        check = _Compiler(schema, lazy).compile(schema)
    except Unsupported:
        return None

    def valid(doc: Any) -> bool | None:
        if not is_plain_json(doc):
            return None
        try:
            return check(doc)
        except Unsupported:
            return None

    return valid


def equal(one: Any, two: Any) -> bool:
    """JSON equality as jsonschema defines it: ``True`` is not ``1``; ``1`` is ``1.0``."""
    if type(one) is bool or type(two) is bool:
        return type(one) is type(two) and one == two
    if type(one) is str or type(two) is str:
        return bool(one == two)
    if type(one) is list and type(two) is list:
        return len(one) == len(two) and all(equal(a, b) for a, b in zip(one, two, strict=True))
    if type(one) is dict and type(two) is dict:
        return one.keys() == two.keys() and all(equal(one[k], two[k]) for k in one)
    if type(one) in (list, dict) or type(two) in (list, dict):
        return False
    return bool(one == two)


def _unique(items: list[Any]) -> bool:
    seen: list[Any] = []
    for item in items:
        if any(equal(item, other) for other in seen):
            return False
        seen.append(item)
    return True


class _Compiler:
    def __init__(self, root: Any, lazy: bool) -> None:
        self.root = root
        self.lazy = lazy
        #: ``$anchor`` name -> its schema; found on the first reference to an anchor
        #: (at once when compiling eagerly: a nested ``$id`` anywhere is then refused).
        self.anchors: dict[str, Any] | None = None
        if not lazy:
            self._anchors()
        #: id(schema) -> its compiled check, filled in before compiling the body so that a
        #: recursive ``$ref`` (a layer list inside a residual block) refers to it.
        self.done: dict[int, list[Check]] = {}

    def _anchors(self) -> dict[str, Any]:
        if self.anchors is None:
            found: dict[str, Any] = {}
            self._find_anchors(self.root, found, top=True)
            self.anchors = found
        return self.anchors

    def _find_anchors(self, schema: Any, found: dict[str, Any], top: bool = False) -> None:
        if isinstance(schema, list):
            for item in schema:
                self._find_anchors(item, found)
            return
        if not isinstance(schema, Mapping):
            return
        if "$id" in schema and not top:
            raise Unsupported("$id inside a schema")  # a new base URI: leave it to jsonschema
        anchor = schema.get("$anchor")
        if isinstance(anchor, str):
            found[anchor] = schema
        for value in schema.values():
            self._find_anchors(value, found)

    def _resolve(self, ref: Any) -> Any:
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise Unsupported(f"$ref {ref!r}")
        if ref == "#":
            return self.root
        if not ref.startswith("#/"):
            anchors = self._anchors()
            if ref[1:] not in anchors:
                raise Unsupported(f"$ref {ref!r}")
            return anchors[ref[1:]]
        target = self.root
        for token in ref[2:].split("/"):
            token = token.replace("~1", "/").replace("~0", "~")
            if "%" in token:
                raise Unsupported(f"$ref {ref!r}")
            if isinstance(target, Mapping) and token in target:
                target = target[token]
            elif isinstance(target, list) and token.isdigit() and int(token) < len(target):
                target = target[int(token)]
            else:
                raise Unsupported(f"$ref {ref!r}")
        return target

    def compile(self, schema: Any) -> Check:
        if schema is True or (isinstance(schema, Mapping) and not schema):
            return lambda x: True
        if schema is False:
            return lambda x: False
        if not isinstance(schema, Mapping):
            raise Unsupported(f"schema {type(schema).__name__}")
        if "$id" in schema and schema is not self.root:
            raise Unsupported("$id inside a schema")  # a new base URI: leave it to jsonschema
        key = id(schema)
        if key in self.done:
            known = self.done[key]
            return lambda x: known[0](x)
        cell: list[Check] = []
        self.done[key] = cell
        checks = [self._keyword(schema, k, v) for k, v in schema.items() if not _ignored(k)]
        kept = [c for c in checks if c is not None]
        if not kept:
            check: Check = lambda x: True  # noqa: E731
        elif len(kept) == 1:
            check = kept[0]
        else:
            check = lambda x: all(c(x) for c in kept)  # noqa: E731
        cell.append(check)
        return check

    def _keyword(self, schema: Mapping[str, Any], key: str, value: Any) -> Check | None:
        method = getattr(self, "_k_" + key.replace("$", "dollar_"), None)
        if method is None:
            raise Unsupported(f"keyword {key!r}")
        result: Check | None = method(value, schema)
        return result

    # ---- keywords (one method each, named _k_<keyword>)

    def _k_type(self, value: Any, schema: Mapping[str, Any]) -> Check:
        names = value if isinstance(value, list) else [value]
        if not names or not all(isinstance(n, str) and n in _TYPES for n in names):
            raise Unsupported(f"type {value!r}")
        tests = [_TYPES[n] for n in names]
        if len(tests) == 1:
            return tests[0]
        return lambda x: any(t(x) for t in tests)

    def _k_enum(self, value: Any, schema: Mapping[str, Any]) -> Check:
        if not isinstance(value, list):
            raise Unsupported("enum")
        options = list(value)
        if all(type(o) is str for o in options):
            strings = frozenset(options)
            return lambda x: type(x) is str and x in strings
        return lambda x: any(equal(x, o) for o in options)

    def _k_const(self, value: Any, schema: Mapping[str, Any]) -> Check:
        return lambda x: equal(x, value)

    def _k_properties(self, value: Any, schema: Mapping[str, Any]) -> Check:
        if not isinstance(value, Mapping):
            raise Unsupported("properties")
        if not self.lazy:
            checks = {name: self.compile(sub) for name, sub in value.items()}

            def properties(x: Any) -> bool:
                if type(x) is not dict:
                    return True
                return all(checks[k](v) for k, v in x.items() if k in checks)

            return properties
        subschemas = dict(value)
        compiled: dict[str, Check] = {}

        def lazy_properties(x: Any) -> bool:
            if type(x) is not dict:
                return True
            for k, v in x.items():
                if k in subschemas:
                    check = compiled.get(k)
                    if check is None:
                        check = compiled[k] = self.compile(subschemas[k])
                    if not check(v):
                        return False
            return True

        return lazy_properties

    def _k_patternProperties(self, value: Any, schema: Mapping[str, Any]) -> Check:
        if not isinstance(value, Mapping):
            raise Unsupported("patternProperties")
        checks = [(re.compile(p), self.compile(sub)) for p, sub in value.items()]

        def pattern_properties(x: Any) -> bool:
            if type(x) is not dict:
                return True
            return all(check(v) for k, v in x.items() for regex, check in checks if regex.search(k))

        return pattern_properties

    def _k_additionalProperties(self, value: Any, schema: Mapping[str, Any]) -> Check:
        known = frozenset(schema.get("properties", {}))
        patterns = "|".join(schema.get("patternProperties", {}))
        regex = re.compile(patterns) if patterns else None
        extra_ok = self.compile(value)

        def additional(x: Any) -> bool:
            if type(x) is not dict:
                return True
            return all(
                extra_ok(v)
                for k, v in x.items()
                if k not in known and not (regex is not None and regex.search(k))
            )

        return additional

    def _k_required(self, value: Any, schema: Mapping[str, Any]) -> Check:
        if not isinstance(value, list):
            raise Unsupported("required")
        names = tuple(value)
        return lambda x: type(x) is not dict or all(n in x for n in names)

    def _k_anyOf(self, value: Any, schema: Mapping[str, Any]) -> Check:
        checks = self._many(value)
        return lambda x: any(c(x) for c in checks)

    def _k_allOf(self, value: Any, schema: Mapping[str, Any]) -> Check:
        checks = self._many(value)
        return lambda x: all(c(x) for c in checks)

    def _k_oneOf(self, value: Any, schema: Mapping[str, Any]) -> Check:
        checks = self._many(value)
        return lambda x: sum(1 for c in checks if c(x)) == 1

    def _k_not(self, value: Any, schema: Mapping[str, Any]) -> Check:
        check = self.compile(value)
        return lambda x: not check(x)

    def _k_if(self, value: Any, schema: Mapping[str, Any]) -> Check:
        test = self.compile(value)
        then = self.compile(schema.get("then", True))
        otherwise = self.compile(schema.get("else", True))
        return lambda x: then(x) if test(x) else otherwise(x)

    def _k_then(self, value: Any, schema: Mapping[str, Any]) -> None:
        self.compile(value)  # applied by "if" (and ignored without one), but must compile
        return None

    _k_else = _k_then

    def _k_dollar_ref(self, value: Any, schema: Mapping[str, Any]) -> Check:
        return self.compile(self._resolve(value))

    def _k_items(self, value: Any, schema: Mapping[str, Any]) -> Check:
        if "prefixItems" in schema:
            raise Unsupported("prefixItems")
        check = self.compile(value)
        return lambda x: type(x) is not list or all(check(v) for v in x)

    def _k_minItems(self, value: Any, schema: Mapping[str, Any]) -> Check:
        bound = _count(value)
        return lambda x: type(x) is not list or len(x) >= bound

    def _k_maxItems(self, value: Any, schema: Mapping[str, Any]) -> Check:
        bound = _count(value)
        return lambda x: type(x) is not list or len(x) <= bound

    def _k_uniqueItems(self, value: Any, schema: Mapping[str, Any]) -> Check | None:
        if value is not True:
            return None if value is False else _raise("uniqueItems")
        return lambda x: type(x) is not list or _unique(x)

    def _k_minLength(self, value: Any, schema: Mapping[str, Any]) -> Check:
        bound = _count(value)
        return lambda x: type(x) is not str or len(x) >= bound

    def _k_maxLength(self, value: Any, schema: Mapping[str, Any]) -> Check:
        bound = _count(value)
        return lambda x: type(x) is not str or len(x) <= bound

    def _k_pattern(self, value: Any, schema: Mapping[str, Any]) -> Check:
        if not isinstance(value, str):
            raise Unsupported("pattern")
        regex = re.compile(value)
        return lambda x: type(x) is not str or regex.search(x) is not None

    def _k_minimum(self, value: Any, schema: Mapping[str, Any]) -> Check:
        bound = _number(value)
        return lambda x: type(x) not in _NUMBERS or not x < bound

    def _k_maximum(self, value: Any, schema: Mapping[str, Any]) -> Check:
        bound = _number(value)
        return lambda x: type(x) not in _NUMBERS or not x > bound

    def _k_exclusiveMinimum(self, value: Any, schema: Mapping[str, Any]) -> Check:
        bound = _number(value)
        return lambda x: type(x) not in _NUMBERS or not x <= bound

    def _k_exclusiveMaximum(self, value: Any, schema: Mapping[str, Any]) -> Check:
        bound = _number(value)
        return lambda x: type(x) not in _NUMBERS or not x >= bound

    def _many(self, value: Any) -> list[Check]:
        if not isinstance(value, list) or not value:
            raise Unsupported("an empty or malformed list of schemas")
        return [self.compile(sub) for sub in value]


def _ignored(key: str) -> bool:
    return key in _ANNOTATIONS or key.startswith("x-")


def _count(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise Unsupported(f"bound {value!r}")
    return value


def _number(value: Any) -> int | float | Fraction:
    if type(value) not in _NUMBERS:
        raise Unsupported(f"bound {value!r}")
    return value  # type: ignore[no-any-return]


def _raise(what: str) -> Any:
    raise Unsupported(what)
