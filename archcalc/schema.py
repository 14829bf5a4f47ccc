"""JSON Schema for specs, generated from the loaded families, and validation against it.

One source of truth: a family's :class:`~archcalc.family.Field` declarations produce the
schema that editors use (via the ``# yaml-language-server: $schema=`` modeline) and the
schema that ``validate`` enforces. jsonschema's raw messages are rewritten into located,
actionable ones ("unknown key 'd_modle'; did you mean 'd_model'?").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from archcalc.errors import DiagnosticSink, shorten
from archcalc.expr import ExprError
from archcalc.expr import parse as parse_expression
from archcalc.family import REQUIRED, Family, Field, Group
from archcalc.spec import did_you_mean, expression_code, expression_message
from archcalc.yamlsafe import Document

if TYPE_CHECKING:
    from archcalc.registry import Registry

SCHEMA_ID = "https://raw.githubusercontent.com/archcalc/archcalc/main/schemas/archcalc.schema.json"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
#: Expression strings: the characters the expression language can use (a linear pattern).
EXPRESSION_PATTERN = r"^[-+*/%()., 0-9a-z_]*$"
MAX_REPORTED = 50

NAME_SCHEMA = {"type": "string", "description": "Model name; defaults to the file's stem."}
VARS_SCHEMA = {
    "type": "object",
    "description": "Free variables that expressions in numeric fields may use.",
    "patternProperties": {
        "^[a-z_][a-z0-9_]*$": {
            "description": "A number or an arithmetic expression.",
            "type": ["number", "string"],
        }
    },
    "additionalProperties": False,
}


def field_schema(fld: Field) -> dict[str, Any]:
    """The JSON Schema of one field, with a description editors can show."""
    schema: dict[str, Any] = {"description": fld.description}
    if fld.numeric:
        minimum = {"size": 1, "count": 0}.get(fld.kind, fld.minimum)
        schema["anyOf"] = [
            {"type": "number", **({"minimum": minimum} if minimum is not None else {})},
            {"type": "string", "pattern": EXPRESSION_PATTERN},
        ]
    elif fld.kind == "bool":
        schema["type"] = "boolean"
    else:
        schema["enum"] = list(fld.choices)
    default = fld.default
    if default is not REQUIRED and default is not None:
        if isinstance(default, (bool, int)) or (fld.kind == "choice" and default in fld.choices):
            schema["default"] = default
        else:
            schema["description"] += f" Default: {default}."
    return schema


def family_properties(family: Family, registry: Registry | None = None) -> Mapping[str, Any]:
    """The family's own schema properties; a callable schema is built from ``registry``."""
    if callable(family.schema):
        from archcalc.registry import Registry

        return family.schema(registry if registry is not None else Registry())
    return family.schema


def family_schema(family: Family, registry: Registry | None = None) -> dict[str, Any]:
    """The schema of one family's spec (closed: unknown keys are errors, ``x-*`` excepted)."""
    properties: dict[str, Any] = {
        "name": NAME_SCHEMA,
        "family": {"const": family.name, "description": family.description},
        "vars": VARS_SCHEMA,
    }
    required = ["family", *family.required]
    for item in family.fields:
        if isinstance(item, Group):
            properties[item.name] = _group_schema(item)
        else:
            properties[item.name] = field_schema(item)
            if item.default is REQUIRED:
                required.append(item.name)
    properties.update(family_properties(family, registry))
    return {
        "type": "object",
        "description": family.description,
        "properties": properties,
        "required": required,
        "patternProperties": {"^x-": {"description": "Your own metadata; ignored."}},
        "additionalProperties": False,
    }


def _group_schema(group: Group) -> dict[str, Any]:
    properties = {f.leaf: field_schema(f) for f in group.fields}
    return {
        "type": "object",
        "description": group.description,
        "properties": properties,
        "required": [f.leaf for f in group.fields if f.default is REQUIRED],
        "additionalProperties": False,
    }


def combined_schema(families: Iterable[Family], registry: Registry | None = None) -> dict[str, Any]:
    """The root schema for every loaded family, selected by the ``family`` key."""
    families = sorted(families, key=lambda f: f.name)
    names = [f.name for f in families]
    return {
        "$schema": DRAFT,
        "$id": SCHEMA_ID,
        "title": "archcalc spec",
        "description": (
            "A neural-network architecture for archcalc: exact parameter counts, formulas "
            "and validation.\nhttps://github.com/archcalc/archcalc#spec-reference"
        ),
        "type": "object",
        "properties": {
            "name": NAME_SCHEMA,
            "family": {
                "description": "The family of architecture: one of the installed families.",
                "anyOf": [{"enum": names}, {"type": "string"}],
            },
            "vars": VARS_SCHEMA,
        },
        "required": ["family"],
        "$defs": {f.name: family_schema(f, registry) for f in families},
        "allOf": [
            {
                "if": {"required": ["family"], "properties": {"family": {"const": f.name}}},
                "then": {"$ref": f"#/$defs/{f.name}"},
            }
            for f in families
        ],
    }


def _refuse_retrieval(uri: str) -> Any:
    from referencing.exceptions import NoSuchResource

    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]  # referencing's attrs init


#: One validator per family object (kept alive here, so its id is not reused): building the
#: schema and the validator costs more than checking a spec, and one ``validate`` call may
#: check a thousand specs. Only for a static schema (a plain dict): a family may compute its
#: schema when read (the CNN family lists the layer types of the current plugins).
_VALIDATORS: dict[int, tuple[Family, Any]] = {}
#: The same for the fast yes/no check (:mod:`archcalc.schema_fast`); None: not compilable.
_FAST: dict[tuple[int, int], tuple[Family, Registry | None, Any]] = {}


def _validator(family: Family, registry: Registry | None) -> Any:
    static = type(family.schema) is dict
    cached = _VALIDATORS.get(id(family)) if static else None
    if cached is not None and cached[0] is family:
        return cached[1]
    import jsonschema
    from referencing import Registry as References

    validator = jsonschema.Draft202012Validator(
        family_schema(family, registry),
        registry=References(retrieve=_refuse_retrieval),  # type: ignore[call-arg]
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )
    if static:
        _VALIDATORS[id(family)] = (family, validator)
    return validator


def _fast_check(family: Family, registry: Registry | None) -> Any:
    """The compiled yes/no check of the family's schema, or None.

    Cached per family and, for a schema computed from the registry (the CNN family's
    layer types), per registry too; both are kept alive here so their ids are not reused.
    """
    from archcalc.schema_fast import compile_schema

    static = type(family.schema) is dict
    key = (id(family), 0 if static else id(registry))
    cached = _FAST.get(key)
    if cached is not None and cached[0] is family and (static or cached[1] is registry):
        return cached[2]
    check = compile_schema(family_schema(family, registry))
    _FAST[key] = (family, registry, check)
    return check


def fast_valid(doc: Document, family: Family, registry: Registry | None = None) -> bool | None:
    """Whether the document is valid for the family's schema without asking jsonschema
    (True/False), or None when only jsonschema can tell."""
    check = _fast_check(family, registry)
    return None if check is None else check(doc.data)


def validate_structure(
    doc: Document,
    family: Family,
    sink: DiagnosticSink,
    skip: Iterable[tuple[Any, ...]] = (),
    registry: Registry | None = None,
) -> set[tuple[Any, ...]]:
    """Check ``doc`` against the family's schema, reporting every problem at its key.

    Returns the paths of the values found wrong (a missing key's own path included), so
    later stages do not report them twice. Values at the ``skip`` paths were reported
    already (the YAML reader refused them): nothing is said about them here.
    A valid document is recognised by the compiled check alone; jsonschema, the validator of
    record, is imported and run only for a document that has a problem, and says what it is.
    """
    if fast_valid(doc, family, registry):
        return set()
    validator = _validator(family, registry)
    skipped = tuple(skip)
    errors = sorted(validator.iter_errors(doc.data), key=lambda e: [str(p) for p in e.path])
    bad: set[tuple[Any, ...]] = set()
    for error in errors[:MAX_REPORTED]:
        for path, key_level, message, code in _explain(error):
            if any(path[: len(s)] == s for s in skipped):
                continue
            mark = doc.key_mark(path) if key_level else doc.mark(path)
            sink.error(mark, message, code)
            if error.validator == "required" and "'" in error.message:
                bad.add((*path, error.message.split("'")[1]))  # the mapping itself is fine
            else:
                bad.add(path)
    return bad


def _key_name(path: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in path) or "the spec"


def _explain(error: Any) -> Iterable[tuple[tuple[Any, ...], bool, str, str]]:
    """Turn a jsonschema error into (path, point-at-key, message, rule code) tuples."""
    path = tuple(error.absolute_path)
    where = _key_name(path)
    kind = error.validator
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    if kind == "additionalProperties":
        allowed = list(schema.get("properties", {}))
        if not allowed and schema.get("patternProperties"):
            return  # a names-only mapping (vars): spec.py explains each bad name with a fix
        for key in error.instance:
            if key not in schema.get("properties", {}) and not str(key).startswith("x-"):
                patterns = schema.get("patternProperties", {})
                if any(re.match(p, str(key)) for p in patterns):
                    continue
                # A family may say why a known key does not belong here (x-misplaced).
                misplaced = schema.get("x-misplaced", {}).get(key)
                hint = f": {misplaced}" if isinstance(misplaced, str) else ""
                hint = (
                    hint
                    or did_you_mean(str(key), allowed)
                    or "; remove it"
                    + (
                        ", or rename it x-... to keep it as your own metadata"
                        if "^x-" in patterns
                        else ""
                    )
                )
                yield (
                    (*path, key),
                    True,
                    f"unknown key '{shorten(key)}'" + (f" in {where}" if path else "") + hint,
                    "S201",
                )
        return
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        field = schema.get("properties", {}).get(missing, {})
        about = field.get("description", "") if isinstance(field, Mapping) else ""
        yield (
            path,
            bool(path),
            f"missing required key '{missing}'"
            + (f" in {where}" if path else "")
            + (f" ({shorten(about.rstrip('.'), 80)}); add it" if about else "; add it"),
            "S206" if missing == "family" else "S202",
        )
        return
    if kind == "enum":
        options = [str(o) for o in error.validator_value]
        yield (
            path,
            False,
            (
                f"{where}: {shorten(error.instance)} is not one of {', '.join(options)}"
                + did_you_mean(str(error.instance), options)
            ),
            "S204",
        )
        return
    if kind == "const":
        yield path, False, f"{where} must be {shorten(error.validator_value)}", "S200"
        return
    if kind == "anyOf" and path and "pattern" in str(error.schema):
        instance = error.instance
        if isinstance(instance, str):
            # The expression parser says precisely what is wrong with it.
            try:
                parse_expression(instance)
            except ExprError as exc:
                message = f"{where}: {expression_message(instance, exc)}"
                yield path, False, message, expression_code(instance, exc)
        elif isinstance(instance, bool) or not isinstance(instance, (int, float)):
            got = _type(instance)
            yield path, False, f"{where} must be a number or an expression, got {got}", "S203"
        else:
            sub = [e for e in error.context if e.validator == "minimum"]
            bound = sub[0].validator_value if sub else "?"
            yield path, False, f"{where} must be at least {bound}, got {shorten(instance)}", "S205"
        return
    if kind == "type":
        expected = error.validator_value
        names = expected if isinstance(expected, list) else [expected]
        wanted = " or ".join(_article(_JSON_TYPES.get(str(n), str(n))) for n in names)
        hint = ""
        if names == ["boolean"] and str(error.instance).lower() in ("true", "false"):
            hint = f"; write {str(error.instance).lower()} without quotes"
        yield path, False, f"{where} must be {wanted}, got {_type(error.instance)}{hint}", "S203"
        return
    yield path, False, f"{where}: {shorten(error.message)}", "S200"


#: JSON Schema's type names as a YAML user knows them.
_JSON_TYPES = {"object": "mapping (key: value pairs)", "array": "list", "null": "null"}


def _article(word: str) -> str:
    return ("an " if word[:1] in "aeiou" else "a ") + word


def _type(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, str):
        return f"the string '{shorten(value)}'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, int):
        return f"the integer {shorten(value)}"
    return f"the number {shorten(value)}"
