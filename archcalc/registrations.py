"""Checks on what a plugin registers, run once when it is loaded.

A family or layer type that is malformed would otherwise fail much later, on some user's
spec, with a message about the spec (or worse, give a wrong count: a top-level ``width``
silently shadowed by ``moe.width``). Checking each registration when the plugin loads
turns every such mistake into one line naming the plugin and what is wrong with it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from fractions import Fraction
from typing import Any, get_args

from archcalc import expr as exprs
from archcalc.family import LAYER_ARG_KINDS, REQUIRED, Family, Field, FieldKind, Group, LayerType

#: Keys of every spec whatever its family; a field may not take their names.
RESERVED_KEYS = frozenset({"name", "family", "vars"})
_MAX_NAME = 64


def _name_problem(what: str, name: object) -> str:
    if not isinstance(name, str) or not name:
        return f"{what} name {name!r} must be a non-empty string"
    if len(name) > _MAX_NAME or not name.isprintable() or name != name.strip():
        return f"{what} name {name[:_MAX_NAME]!r} must be printable, without surrounding spaces"
    return ""


def family_problems(family: Family) -> Iterator[str]:
    """Why ``family`` cannot be used (each reason one sentence); nothing when it can."""
    problem = _name_problem("family", family.name)
    if problem:
        yield problem
        return
    where = f"family '{family.name}'"
    for attr in ("count", "check"):
        if not callable(getattr(family, attr)):
            yield f"{where}: {attr} must be a function of the resolved spec"
    for attr in ("shapes", "compute"):
        value = getattr(family, attr)
        if value is not None and not callable(value) and not isinstance(value, str):
            yield f"{where}: {attr} must be a function (or, for compute, 'module:function')"
    if not callable(family.schema) and not isinstance(family.schema, Mapping):
        yield f"{where}: schema must map keys to JSON Schemas, or be a function of the registry"
    fields = list(_fields(family))
    for item in family.fields:
        if not isinstance(item, (Field, Group)):
            yield f"{where}: fields holds {type(item).__name__}, expected Field or Group"
    for group, fld in fields:
        if not isinstance(fld, Field):
            yield f"{where}: group '{group}' holds {type(fld).__name__}, expected Field"
    good = [(group, fld) for group, fld in fields if isinstance(fld, Field)]
    yield from (f"{where}: {p}" for p in _field_problems(good))


def _fields(family: Family) -> Iterator[tuple[str | None, Any]]:
    for item in family.fields:
        if isinstance(item, Group):
            for fld in item.fields:
                yield item.name, fld
        elif isinstance(item, Field):
            yield None, item


def _field_problems(fields: list[tuple[str | None, Field]]) -> Iterator[str]:
    kinds = get_args(FieldKind)
    names: dict[str, Field] = {}
    leaves: dict[str, Field] = {}
    groups = {group for group, _ in fields if group is not None}
    for group, fld in fields:
        problem = _name_problem("field", fld.name)
        if problem:
            yield problem
            continue
        if group is None and "." in fld.name:
            head = fld.name.split(".")[0]
            yield f"field '{fld.name}' has a dot but is not in a Group; put it in Group('{head}')"
        if group is not None and (not fld.name.startswith(f"{group}.") or fld.name.count(".") > 1):
            yield f"field '{fld.name}' of group '{group}' must be named '{group}.<leaf>'"
        if fld.name in names:
            yield f"two fields are named '{fld.name}'"
        elif fld.leaf in leaves:
            other = leaves[fld.leaf].name
            yield (
                f"fields '{other}' and '{fld.name}' share the leaf name '{fld.leaf}', which "
                "expressions and formulas use; rename one"
            )
        names.setdefault(fld.name, fld)
        leaves.setdefault(fld.leaf, fld)
        if group is None and fld.name in RESERVED_KEYS:
            reserved = ", ".join(sorted(RESERVED_KEYS))
            yield f"field '{fld.name}' takes a name every spec reserves ({reserved})"
        if group is None and fld.name in groups:
            yield f"field '{fld.name}' has the name of a group"
        if fld.kind not in kinds:
            yield f"field '{fld.name}' has kind {fld.kind!r} (one of {', '.join(kinds)})"
            continue
        if fld.kind == "choice" and not fld.choices:
            yield f"choice field '{fld.name}' lists no choices"
    for _, fld in fields:
        if fld.kind in kinds and fld.name in names and names[fld.name] is fld:
            problem = _default_problem(fld, leaves)
            if problem:
                yield f"field '{fld.name}': {problem}"


def _default_problem(fld: Field, leaves: Mapping[str, Field]) -> str:
    """Why a field's default cannot work: wrong type, or naming fields that do not exist."""
    default = fld.default
    if default is REQUIRED or default is None:
        return ""
    if fld.numeric:
        if isinstance(default, bool) or not isinstance(default, (int, Fraction, str)):
            return f"default {default!r} must be a number or an expression string"
        if isinstance(default, str):
            try:
                parsed = exprs.parse(default)
            except exprs.ExprError as exc:
                return f"default '{default}' is not a valid expression: {exc.message}"
            for name in sorted(parsed.names()):
                other = leaves.get(name)
                if other is None:
                    return (
                        f"default '{default}' names '{name}', which is not a field of this family"
                    )
                if not other.numeric:
                    return f"default '{default}' names '{name}', which is not a numeric field"
        return ""
    if fld.kind == "bool":
        if isinstance(default, bool):
            return ""
        if isinstance(default, str):
            other = leaves.get(default)
            if other is None or other.kind != "bool":
                return f"default '{default}' must name another bool field of this family"
            return ""
        return f"default {default!r} must be true/false or the name of another bool field"
    # choice
    if default in fld.choices:
        return ""
    if isinstance(default, str) and default in leaves and leaves[default].kind == "choice":
        return ""
    return f"default {default!r} is not one of its choices ({', '.join(fld.choices)})"


def layer_type_problems(layer: LayerType) -> Iterator[str]:
    """Why ``layer`` cannot be used; nothing when it can."""
    problem = _name_problem("layer type", layer.name)
    if problem:
        yield problem
        return
    where = f"layer type '{layer.name}'"
    if layer.name in ("residual", "repeat"):
        yield f"{where}: the name is a composition of family cnn"
    for attr in ("params", "shape"):
        if not callable(getattr(layer, attr)):
            yield f"{where}: {attr} must be a function (args, shape)"
    if layer.check is not None and not callable(layer.check):
        yield f"{where}: check must be a function (args, shape, report) or None"
    if not isinstance(layer.ranks, tuple) or not all(
        type(r) is int and 1 <= r <= 8 for r in layer.ranks
    ):
        yield f"{where}: ranks must be a tuple of input ranks from 1 to 8"
    args = layer.args
    if not isinstance(args, Mapping):
        yield f"{where}: args must be a JSON Schema mapping"
        return
    properties = args.get("properties", {})
    if not isinstance(properties, Mapping):
        yield f"{where}: args['properties'] must be a mapping"
        return
    for key, schema in properties.items():
        if not isinstance(key, str) or not isinstance(schema, Mapping):
            yield f"{where}: argument {key!r} must map a name to a JSON Schema mapping"
            continue
        kind = schema.get("x-kind", "any")
        if kind not in LAYER_ARG_KINDS:
            yield (
                f"{where}: argument '{key}' has x-kind {kind!r} "
                f"(one of {', '.join(sorted(LAYER_ARG_KINDS))})"
            )
        if kind == "choice" and not schema.get("enum"):
            yield f"{where}: choice argument '{key}' lists no 'enum'"
    required = args.get("required", ())
    if not isinstance(required, (list, tuple)):
        yield f"{where}: args['required'] must be a list of argument names"
        return
    for key in required:
        if key not in properties:
            yield f"{where}: args['required'] names '{key}', which is not in its properties"


def hf_model_type_problems(hf_type: Any) -> Iterator[str]:
    """Why an :class:`~archcalc.hf.HFModelType` cannot be used; nothing when it can."""
    if not isinstance(hf_type.model_type, str) or not hf_type.model_type:
        yield "an HFModelType without a model_type"
        return
    if not isinstance(hf_type.family, str) or not callable(hf_type.translate):
        yield (
            f"HFModelType '{hf_type.model_type}': family must be a family name and translate "
            "a function of a ConfigReader"
        )
