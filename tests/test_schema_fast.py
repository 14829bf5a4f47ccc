"""The compiled schema check agrees with jsonschema, the validator of record, on every document.

``validate_structure`` skips jsonschema when the compiled check says a document is valid,
so the two must agree exactly: a document the check passes but jsonschema rejects would
lose its error messages. Hypothesis mutates real specs (deleting keys, adding known and
misspelt ones, swapping values for values of every JSON type, enum members, numbers at
the minima, valid and invalid expressions) and compares the verdicts on each family's
schema and on a schema using every keyword the compiler implements.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archcalc import yamlsafe
from archcalc.registry import load_registry
from archcalc.schema import family_schema
from archcalc.schema_fast import compile_schema, equal, is_plain_json

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted([*ROOT.glob("examples/*.yaml"), *ROOT.glob("plugins/archcalc-*/examples/*.yaml")])


def walk(schema: Any) -> Iterator[dict[str, Any]]:
    if isinstance(schema, dict):
        yield schema
        for value in schema.values():
            yield from walk(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from walk(value)


def vocabulary(schema: Any) -> tuple[list[str], list[Any]]:
    """Property names and enum/const values found anywhere in ``schema``."""
    names: set[str] = set()
    values: list[Any] = []
    for node in walk(schema):
        for key in ("properties", "patternProperties"):
            if isinstance(node.get(key), dict):
                names |= set(node[key])
        values += node.get("enum", []) if isinstance(node.get("enum"), list) else []
        if "const" in node:
            values.append(node["const"])
    return sorted(names), values


#: Every loaded family with an example spec (installed example plugins included).
REGISTRY = load_registry()
FAMILIES = {name: family_schema(f, REGISTRY) for name, f in REGISTRY.families.items()}
BASES: dict[str, list[Any]] = {}
for path in EXAMPLES:
    doc = yamlsafe.load_path(path).data
    if doc.get("family") in FAMILIES:
        BASES.setdefault(doc["family"], []).append(doc)
FAMILIES = {name: schema for name, schema in FAMILIES.items() if name in BASES}

KITCHEN_SINK: dict[str, Any] = {
    "$defs": {"leaf": {"type": ["integer", "null"], "maximum": 9, "exclusiveMinimum": -2}},
    "type": "object",
    "properties": {
        "a": {"$ref": "#/$defs/leaf"},
        "b": {"enum": [1, "x", True, None, [1, 2], {"k": 1}]},
        "c": {"const": 1},
        "d": {"type": "array", "items": {"$ref": "#node"}, "minItems": 1, "maxItems": 3},
        "e": {"type": "string", "pattern": "^[a-c]+$", "minLength": 1, "maxLength": 3},
        "f": {"oneOf": [{"type": "number", "minimum": 0}, {"type": "integer", "maximum": 5}]},
        "g": {"not": {"type": "boolean"}, "exclusiveMaximum": 10},
        "h": {"type": "array", "uniqueItems": True},
        "i": {"allOf": [{"type": "number"}, {"minimum": 1.5}]},
        "j": {"if": {"type": "string"}, "then": {"minLength": 2}, "else": {"type": "number"}},
        "k": True,
        "l": False,
    },
    "patternProperties": {"^x-": {}, "^n[0-9]$": {"type": "number"}},
    "additionalProperties": {"type": "string"},
    "required": ["a"],
    "$anchor": "root",
    "x-extension": "ignored",
}
KITCHEN_SINK["properties"]["d"]["items"] = {
    "$anchor": "node",
    "anyOf": [{"type": "string"}, {"type": "object", "properties": {"sub": {"$ref": "#root"}}}],
}
FAMILIES["kitchen-sink"] = KITCHEN_SINK
BASES["kitchen-sink"] = [{"a": 1, "d": ["s", {"sub": {"a": None}}], "e": "ab", "n1": 2.5}]


def scalars(names: list[str], values: list[Any]) -> st.SearchStrategy[Any]:
    expressions = ["4 * width", "d_model / n_heads", "ceil(8*d/3)", "", "2 ** 3", "Ω", "a;b"]
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-3, 3),
        st.integers(),
        st.sampled_from([0.0, 0.5, 1.0, 1.5, -1.0, 2.0, math.inf, 1e300]),
        st.floats(allow_nan=False),
        st.fractions(max_denominator=10),
        st.sampled_from(expressions),
        st.text(max_size=6),
        st.sampled_from(names) if names else st.nothing(),
        st.sampled_from(values) if values else st.nothing(),
    )


def json_values(names: list[str], values: list[Any]) -> st.SearchStrategy[Any]:
    keys = st.one_of(st.sampled_from(names) if names else st.nothing(), st.text(max_size=5))
    return st.recursive(
        scalars(names, values),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=3),
        max_leaves=8,
    )


def containers(doc: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(doc, (dict, list)):
        yield path
        items = doc.items() if isinstance(doc, dict) else enumerate(doc)
        for key, value in items:
            yield from containers(value, (*path, key))


def at(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


@st.composite
def documents(draw: st.DrawFn, family: str) -> Any:
    names, values = vocabulary(FAMILIES[family])
    doc = copy.deepcopy(draw(st.sampled_from(BASES[family])))
    for _ in range(draw(st.integers(1, 4))):
        target = at(doc, draw(st.sampled_from(list(containers(doc)))))
        keys = list(target) if isinstance(target, dict) else list(range(len(target)))
        action = draw(st.sampled_from(["replace", "delete", "insert"]))
        if action == "insert" or not keys:
            value = copy.deepcopy(draw(json_values(names, values)))  # never mutate the schema
            if isinstance(target, dict):
                name = draw(st.one_of(st.sampled_from(names or ["k"]), st.text(max_size=4)))
                target[draw(st.sampled_from([name, name[:-1], "x-" + name]))] = value
            else:
                target.append(value)
        elif action == "delete":
            del target[draw(st.sampled_from(keys))]
        else:
            target[draw(st.sampled_from(keys))] = copy.deepcopy(draw(json_values(names, values)))
    return doc


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_schema_compiles(family: str) -> None:
    assert compile_schema(FAMILIES[family], lazy=False) is not None


VALIDATORS = {name: jsonschema.Draft202012Validator(s) for name, s in FAMILIES.items()}
CHECKS = {name: compile_schema(s) for name, s in FAMILIES.items()}
EAGER_CHECKS = {name: compile_schema(s, lazy=False) for name, s in FAMILIES.items()}


@pytest.mark.parametrize("family", sorted(FAMILIES))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_compiled_check_agrees_with_jsonschema(family: str, data: st.DataObject) -> None:
    doc = data.draw(documents(family))
    expected = not any(VALIDATORS[family].iter_errors(doc))
    for check in (CHECKS[family], EAGER_CHECKS[family]):
        assert check is not None
        assert check(doc) is expected


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_the_examples_are_valid_for_both(family: str) -> None:
    check = compile_schema(FAMILIES[family])
    assert check is not None
    for doc in BASES[family]:
        assert check(doc) is True
        assert not any(VALIDATORS[family].iter_errors(doc))


def test_values_that_are_not_json_are_left_to_jsonschema() -> None:
    check = compile_schema({"type": "object"})
    assert check is not None
    assert check({"a": (1, 2)}) is None
    assert check({1: "non-string key"}) is None
    assert not is_plain_json({"deep": [[[[set()]]]]})


@pytest.mark.parametrize(
    "schema",
    [
        {"format": "email"},
        {"$ref": "https://example.com/remote.json"},
        {"properties": {"a": {"$id": "https://example.com/a"}}},
        {"dependentRequired": {"a": ["b"]}},
        {"type": "decimal"},
        {"$ref": "#/$defs/missing"},
    ],
)
def test_schemas_it_does_not_implement_are_left_to_jsonschema(schema: dict[str, Any]) -> None:
    assert compile_schema(schema, lazy=False) is None
    lazily = compile_schema(schema)
    assert lazily is None or lazily({"a": 1}) is None


def test_a_lazy_check_answers_for_the_parts_a_document_reaches() -> None:
    """An unimplemented keyword under one property leaves only the documents having that
    property to jsonschema; its subschema is compiled when first reached."""
    schema = {
        "type": "object",
        "properties": {"a": {"format": "email"}, "b": {"type": "integer"}},
        "additionalProperties": False,
    }
    check = compile_schema(schema)
    assert check is not None
    assert check({"b": 1}) is True
    assert check({"b": "x"}) is False
    assert check({"c": 1}) is False
    assert check({"a": "x@y"}) is None
    assert compile_schema(schema, lazy=False) is None


SCALARS = st.none() | st.booleans() | st.integers(-2, 2) | st.floats(-2, 2) | st.fractions(-2, 2)


@given(a=st.recursive(SCALARS, st.lists))
def test_equal_is_jsonschemas_equality(a: Any) -> None:
    for b in (a, True, 1, 1.0, Fraction(1), 0, False, [a], None):
        assert equal(a, b) is bool(jsonschema._utils.equal(a, b))
