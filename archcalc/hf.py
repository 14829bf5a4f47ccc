"""Hugging Face ``config.json`` files: loading them safely, and the translation machinery.

Most published architectures exist only as a Hugging Face ``config.json``. This module
recognises one (a JSON object with ``model_type``), loads it as carefully as
:mod:`archcalc.yamlsafe` loads specs (regular files only, a size cap, strict UTF-8, no
NaN/Infinity, bounded numbers and nesting, located errors), and hands it to the plugin
that reads its ``model_type``.

The core knows no architecture. A plugin declares the model types it reads through the
``archcalc_hf_model_types`` hook: each :class:`HFModelType` names a family and a
translator, which reads the config through a :class:`ConfigReader` (typed values, the
model type's defaults, located errors) and writes that family's spec. The built-in
transformer translators live in :mod:`archcalc.plugins.transformer_hf`; the Mamba plugin
reads Mamba configs the same way.

The translated spec becomes a :class:`~archcalc.yamlsafe.Document` whose marks point
into the JSON file, so a problem found later (heads not dividing the width) is reported
at the line of ``num_attention_heads``, not in a file the user never wrote.
"""

from __future__ import annotations

import bisect
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from archcalc.errors import (
    ArchcalcError,
    DiagnosticSink,
    Mark,
    PluginError,
    SpecError,
    UsageError,
    safe,
    shorten,
)
from archcalc.hf_types import HFModelType
from archcalc.yamlsafe import MAX_BYTES, MAX_DEPTH, Document, _read_regular_file
from archcalc.yamlsafe import _display_name as _yaml_display_name

if TYPE_CHECKING:
    from archcalc.registry import Registry
    from archcalc.spec import Override

__all__ = [
    "ConfigReader",
    "HFConfig",
    "HFModelType",
    "Translation",
    "apply_overrides",
    "config_name",
    "defaults_of",
    "document_of",
    "from_yaml_document",
    "is_hf_config_data",
    "load_config",
    "load_document",
    "model_type_of",
    "parse_config",
    "show",
    "spec_yaml",
    "supported_model_types",
    "translate",
]

#: Longest integer literal accepted in a config (digits); real configs use fewer than 15.
MAX_INT_DIGITS = 30
#: The metadata key (ignored by the schema, as every ``x-`` key) naming the source type.
MODEL_TYPE_KEY = "x-hf-model-type"
#: Config keys a translated spec took from the model type's defaults (for "defaults used").
DEFAULTS_KEY = "x-hf-defaults"

Path_ = tuple[str | int, ...]


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class HFConfig:
    """A parsed config: its data and where each top-level key and value starts."""

    file: str
    data: dict[str, Any]
    key_marks: dict[str, Mark]
    value_marks: dict[str, Mark]

    def mark(self, key: str | None) -> Mark:
        """Where ``key``'s value is; the top of the file for an absent key."""
        if key is None:
            return Mark(1, 1)
        return self.value_marks.get(key, Mark(1, 1))


class _Reject(ValueError):
    """A value json.loads must not accept (NaN, Infinity, huge numbers, duplicate keys)."""


def show(value: Any) -> str:
    """A bounded, printable rendering of a value from the config, for messages.

    JSON strings may hold control characters, bidi overrides or lone surrogates (which
    cannot even be written to stderr); such text is shown escaped, never raw.
    """
    if isinstance(value, str) and value.isascii() and value.isprintable():
        return shorten(value)
    if isinstance(value, str):
        return shorten(json.dumps(value)[1:-1])
    return shorten(json.dumps(value) if isinstance(value, (list, dict, bool)) else value)


def _reject_constant(name: str) -> Any:
    raise _Reject(f"{name} is not a number in JSON (and has no parameter count)")


def _float_constant(name: str) -> float:
    """``NaN``/``Infinity``/``-Infinity`` as the floats json.dump wrote them from."""
    return float(name)


def _non_finite(value: Any) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def _parse_int(text: str) -> int:
    digits = text.lstrip("-")
    if len(digits) > MAX_INT_DIGITS:
        raise _Reject(f"integer with {len(digits)} digits is too large")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Reject(f"number {shorten(text)} is out of range")
    return value


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Reject(f"duplicate key '{show(key)}'")
        out[key] = value
    return out


def _position(text: str, index: int) -> Mark:
    line = text.count("\n", 0, index) + 1
    start = text.rfind("\n", 0, index) + 1
    return Mark(line, index - start + 1)


def _error(file: str, mark: Mark, message: str, code: str = "Y100") -> SpecError:
    sink = DiagnosticSink(file)
    sink.error(mark, message, code)
    return SpecError(sink.diagnostics)


def _decode(raw: bytes, file: str) -> str:
    if len(raw) > MAX_BYTES:
        raise _error(
            file, Mark(1, 1), f"file is larger than {MAX_BYTES} bytes; not a config", "Y101"
        )
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8", "strict")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _error(
            file, Mark(line, column), f"invalid UTF-8 byte 0x{raw[exc.start]:02x}", "Y102"
        ) from None


def _nesting_problem(text: str) -> int | None:
    """Index where brackets nest deeper than MAX_DEPTH (outside strings), else None."""
    depth = 0
    in_string = escaped = False
    for index, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return index
        elif char in "]}":
            depth -= 1
    return None


def _top_level_marks(text: str) -> tuple[dict[str, Mark], dict[str, Mark]]:
    """Marks of the keys and values of the top-level object of valid JSON ``text``.

    json.loads gives no positions, so this scans the (already validated) text once,
    tracking strings and nesting, and records where each top-level key and value start.
    """
    newlines = [i for i, c in enumerate(text) if c == "\n"]

    def mark(index: int) -> Mark:
        line = bisect.bisect_left(newlines, index)
        start = newlines[line - 1] + 1 if line else 0
        return Mark(line + 1, index - start + 1)

    keys: dict[str, Mark] = {}
    values: dict[str, Mark] = {}
    depth = 0
    expect_key = False
    index, end = 0, len(text)
    while index < end:
        char = text[index]
        if char == '"':
            close = index + 1
            while text[close] != '"':
                close += 2 if text[close] == "\\" else 1
            if depth == 1 and expect_key:
                key = json.loads(text[index : close + 1])
                colon = text.index(":", close + 1)
                value = colon + 1
                while text[value] in " \t\r\n":
                    value += 1
                keys.setdefault(key, mark(index))
                values.setdefault(key, mark(value))
                expect_key = False
            index = close + 1
            continue
        if char in "[{":
            depth += 1
            if depth == 1:
                expect_key = char == "{"
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 1:
            expect_key = True
        index += 1
    return keys, values


_NUMBER = re.compile(r"-?(?:Infinity|[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?)")
#: Most problems of one config reported (each at its own line).
MAX_CONFIG_PROBLEMS = 20


def _value_problems(text: str) -> list[tuple[int, str, str]]:
    """Where ``text`` holds what json.loads would accept but a config must not: numbers
    out of range or with too many digits, a key twice in one object.

    The bare constants ``NaN`` and ``Infinity`` are not problems here: json.dump writes
    them for float fields (Mamba-2's ``time_step_limit: [0.0, Infinity]``), so a config
    may hold them where no size is read; :meth:`ConfigReader.size` refuses one as a size.

    One linear scan (strings skipped, a set of keys per open object), so each problem is
    reported at its own line and column rather than at the top of the file; json.loads,
    which gives no positions, then only has to agree.
    """
    problems: list[tuple[int, str, str]] = []
    objects: list[set[str] | None] = []  # one entry per open container; None for a list
    expect_key = False
    index, end = 0, len(text)
    while index < end and len(problems) < MAX_CONFIG_PROBLEMS:
        char = text[index]
        if char == '"':
            close = index + 1
            while close < end and text[close] != '"':
                close += 2 if text[close] == "\\" else 1
            if close >= end:
                break  # unterminated: json.loads says so, with its position
            keys = objects[-1] if objects else None
            if expect_key and keys is not None:
                try:
                    key = json.loads(text[index : close + 1])
                except ValueError:
                    key = text[index + 1 : close]
                if key in keys:
                    problems.append((index, f"duplicate key '{show(key)}' in one object", "Y108"))
                keys.add(key)
                expect_key = False
            index = close + 1
            continue
        if char in "[{":
            objects.append(set() if char == "{" else None)
            expect_key = char == "{"
        elif char in "]}":
            if objects:
                objects.pop()
            expect_key = False
        elif char == ",":
            expect_key = bool(objects) and objects[-1] is not None
        elif char == "N" and text.startswith("NaN", index):
            index += 3
            continue
        elif char in "-0123456789I":
            match = _NUMBER.match(text, index)
            if match is None:
                index += 1
                continue
            token = match.group()
            problem = _number_problem(token)
            if problem:
                problems.append((index, problem, "Y111"))
            index = match.end()
            continue
        index += 1
    return problems


def _number_problem(token: str) -> str:
    if token.lstrip("-") == "Infinity":
        return ""
    mantissa = re.split("[eE]", token.lstrip("-"))[0]
    digits = len(mantissa.replace(".", "").lstrip("0"))
    if "." not in token and "e" not in token.lower():
        if digits > MAX_INT_DIGITS:
            return f"an integer with {digits} digits is too large (at most {MAX_INT_DIGITS})"
        return ""
    if digits > 4 * MAX_INT_DIGITS:
        return f"a number with {digits} digits (at most {MAX_INT_DIGITS} significant ones)"
    if not math.isfinite(float(token)):
        return f"the number {shorten(token)} is out of range"
    return ""


def parse_config(raw: bytes, file: str) -> HFConfig:
    """Parse config bytes; every failure is a located :class:`SpecError`."""
    text = _decode(raw, file)
    deep = _nesting_problem(text)
    if deep is not None:
        raise _error(file, _position(text, deep), f"nesting deeper than {MAX_DEPTH} levels", "Y105")
    problems = _value_problems(text)
    if problems:
        sink = DiagnosticSink(file)
        for index, message, code in problems:
            sink.error(_position(text, index), message, code)
        raise SpecError(sink.diagnostics)
    try:
        data = json.loads(
            text,
            parse_constant=_float_constant,
            parse_int=_parse_int,
            parse_float=_parse_float,
            object_pairs_hook=_pairs,
        )
    except json.JSONDecodeError as exc:
        raise _error(
            file, Mark(exc.lineno, exc.colno), f"invalid JSON: {exc.msg}", "Y104"
        ) from None
    except (_Reject, ValueError, RecursionError) as exc:
        raise _error(file, Mark(1, 1), f"invalid config: {shorten(str(exc), 120)}") from None
    if not isinstance(data, dict):
        raise _error(
            file, Mark(1, 1), "a Hugging Face config is a JSON object with a 'model_type'", "Y106"
        )
    keys, values = _top_level_marks(text)
    return HFConfig(file, data, keys, values)


def load_config(path: str | os.PathLike[str], display: str | None = None) -> HFConfig:
    """Read a config file (a regular file, or a link within its folder or Hugging Face
    cache repo; size-capped) and parse it."""
    name = _yaml_display_name(path, display)
    return parse_config(_read_regular_file(path, name, follow_links=True), name)


def is_hf_config_data(data: Mapping[str, Any]) -> bool:
    """A mapping is a Hugging Face config when it has a model_type and no archcalc family."""
    return "model_type" in data and "family" not in data


# --------------------------------------------------------------------------- translation


# HFModelType and Translator live in archcalc.hf_types (a count of a YAML spec needs
# them to load plugins, not this module); re-exported here.


@dataclass
class Translation:
    """A spec built from a config, and which config key each spec key came from."""

    model_type: str
    family: str
    spec: dict[str, Any]
    origin: dict[Path_, str] = field(default_factory=dict)
    #: Config keys the translator needed but the config left out, with the model type's
    #: default it used (what ``count`` reports as "defaults used").
    defaults: dict[str, Any] = field(default_factory=dict)
    #: Every config key the translator looked at.
    read: frozenset[str] = frozenset()


class ConfigReader:
    """What a translator reads a config through: typed, located, with the type's defaults.

    Every accessor reports a bad value as a located error (``config.json:LINE:COL``) and
    returns ``None`` or the default, so one run reports every problem. An explicit ``null``
    is refused (transformers' config classes refuse it for most fields) unless the
    translator passes ``nullable=True``, where null means "absent"; a translator for which
    null means something else reads :meth:`value`.
    """

    def __init__(self, config: HFConfig, model_type: str, sink: DiagnosticSink) -> None:
        self.config = config
        self.data: Mapping[str, Any] = config.data
        self.model_type = model_type
        self.sink = sink
        self.spec: dict[str, Any] = {}
        self.origin: dict[Path_, str] = {}
        self.defaults: dict[str, Any] = {}
        #: Every config key a translator looked at (``--set`` checks names against these).
        self.read: set[str] = set()

    # -- reading ---------------------------------------------------------------------

    def present(self, key: str) -> bool:
        """Whether the config gives ``key`` a value other than null."""
        self.read.add(key)
        return self.data.get(key) is not None

    def _first(self, keys: tuple[str, ...]) -> str | None:
        return next((k for k in keys if self.present(k)), None)

    def _null(self, keys: tuple[str, ...], nullable: bool, what: str) -> bool:
        """Report an explicit null the type's config class does not allow; True if reported.

        Most fields of transformers' config classes are typed without ``None`` and refuse
        null; where null means "derive it" (Llama's ``head_dim``) a translator says
        ``nullable=True``.
        """
        if nullable or any(self.present(k) for k in keys):
            return False
        key = next((k for k in keys if k in self.data), None)
        if key is None:
            return False
        self.sink.error(
            self.config.mark(key),
            f"'{key}' is null; {self.model_type} needs {what} here (or leave the key out)",
        )
        return True

    def size(
        self, *keys: str, default: Any = None, minimum: int = 1, nullable: bool = False
    ) -> Any:
        """An integer ≥ ``minimum`` (the first of ``keys`` present, which transformers reads
        as one field); absent: ``default``, or an error naming the key when there is none.
        An explicit null is an error unless ``nullable`` (then it reads as absent)."""
        if self._null(keys, nullable, f"an integer ≥ {minimum}"):
            return None
        key = self._first(keys)
        if key is None:
            if default is None:
                also = f" (nor {', '.join(repr(k) for k in keys[1:])})" if keys[1:] else ""
                self.sink.error(
                    Mark(1, 1),
                    f"{self.model_type} config has no '{keys[0]}', which the parameter count "
                    f"needs{also}",
                    "H401",
                )
            else:
                self.defaults.setdefault(keys[0], default)
            return default
        value = self.data[key]
        for other in keys:
            if other != key and self.present(other) and self.data[other] != value:
                self.sink.error(
                    self.config.mark(other),
                    f"'{other}' ({show(self.data[other])}) contradicts '{key}' "
                    f"({show(value)}); transformers reads them as one field",
                    "H403",
                )
        if _non_finite(value):
            self.sink.error(
                self.config.mark(key),
                f"'{key}' is {json.dumps(value)}, which is not a size (an integer ≥ {minimum})",
                "Y111",
            )
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.sink.error(
                self.config.mark(key),
                f"'{key}' must be an integer ≥ {minimum}, got {show(value)}",
                "H401",
            )
            return None
        return value

    def count(self, *keys: str, default: Any = None, nullable: bool = False) -> Any:
        """An integer ≥ 0 (a number of optional things: shared experts, dense layers...)."""
        return self.size(*keys, default=default, minimum=0, nullable=nullable)

    def flag(self, key: str, default: bool, nullable: bool = False) -> bool:
        """A boolean; absent: ``default`` (null too when ``nullable``)."""
        if self._null((key,), nullable, "true or false"):
            return default
        if not self.present(key):
            self.defaults.setdefault(key, default)
            return default
        value = self.data[key]
        if not isinstance(value, bool):
            self.sink.error(
                self.config.mark(key), f"'{key}' must be true or false, got {show(value)}", "H401"
            )
            return default
        return value

    def text(self, key: str, default: str, nullable: bool = False) -> str:
        """A string; absent: ``default`` (null too when ``nullable``)."""
        if self._null((key,), nullable, "a string"):
            return default
        if not self.present(key):
            self.defaults.setdefault(key, default)
            return default
        value = self.data[key]
        if not isinstance(value, str):
            self.sink.error(
                self.config.mark(key), f"'{key}' must be a string, got {show(value)}", "H401"
            )
            return default
        return value

    def value(self, key: str) -> Any:
        """The raw value (None when absent), for structured keys such as lists."""
        self.read.add(key)
        return self.data.get(key)

    # -- writing and refusing -----------------------------------------------------------

    def set(self, spec_key: str, value: Any, *source: str) -> None:
        """Put ``value`` at ``spec_key`` (dotted for groups: ``moe.top_k``); ``source`` names
        the config keys it came from, so later problems are located at them."""
        if value is None:
            return
        path = tuple(spec_key.split("."))
        target = self.spec
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = value
        key = next((k for k in source if k in self.data), None)
        if key is not None:
            self.origin[path] = key

    def error(self, key: str | None, message: str, code: str = "H401") -> None:
        """A located problem with the config (at ``key``'s value; the top for None).

        ``code``: H401 a field missing or wrong, H402 not modelled, H403 a contradiction.
        """
        self.sink.error(self.config.mark(key if key in self.data else None), message, code)

    def unsupported(self, key: str, why: str) -> None:
        """Refuse a construct archcalc cannot count: a located error, never a wrong number."""
        message = f"{self.model_type}: {why} is not supported (it changes parameter shapes)"
        self.error(key, message, "H402")

    def only(self, key: str, *allowed: Any, why: str = "") -> None:
        """Refuse ``key`` unless it is absent, null or one of ``allowed`` (a key that changes
        shapes in a way this translator does not model)."""
        if not self.present(key):
            return
        value = self.data[key]
        if any(value == a and type(value) is type(a) for a in allowed):
            return
        self.unsupported(key, why or f"{key}: {show(value)}")


def _registry(registry: Registry | None) -> Registry:
    if registry is not None:
        return registry
    from archcalc.api import default_registry

    return default_registry()


def supported_model_types(registry: Registry | None = None) -> tuple[str, ...]:
    """Every model_type the loaded plugins read, sorted."""
    return tuple(sorted(_registry(registry).hf_model_types))


def translate(config: HFConfig, registry: Registry | None = None) -> Translation:
    """Translate a parsed config with the plugin that reads its model_type.

    Problems with the config are a located :class:`SpecError`; a translator that raises
    is its plugin's fault (:class:`PluginError`, exit 3).
    """
    registry = _registry(registry)
    sink = DiagnosticSink(config.file)
    model_type = config.data.get("model_type")
    known = len(registry.hf_model_types)
    if not isinstance(model_type, str):
        sink.error(
            config.mark("model_type" if "model_type" in config.data else None),
            f"a Hugging Face config needs a string 'model_type' (archcalc reads {known}; "
            "`archcalc plugins` lists them)",
            "H401",
        )
        sink.raise_if_errors()
    hf_type = registry.hf_model_types.get(model_type)  # type: ignore[arg-type]
    if hf_type is None:
        # No "did you mean": a neighbouring model type (phi3 for phi, olmo for olmoe) is a
        # different architecture, and following the hint would give a confident wrong count.
        sink.error(
            config.mark("model_type"),
            f"unsupported model_type '{show(model_type)}': no installed plugin reads it "
            f"(archcalc reads {known} model types; `archcalc plugins` lists them)",
            "H402",
        )
        sink.raise_if_errors()
        raise AssertionError("unreachable")
    reader = ConfigReader(_unaliased(config, hf_type.aliases, sink), hf_type.model_type, sink)
    reader.read.add("model_type")
    from archcalc.contract import plugin_output

    try:
        with plugin_output():
            hf_type.translate(reader)
    except ArchcalcError:
        raise
    except Exception as exc:
        owner = registry.hf_owners.get(hf_type.model_type, "?")
        raise PluginError(
            f"plugin '{owner}' failed while reading {config.file} (model_type "
            f"{hf_type.model_type}): {type(exc).__name__}: {shorten(str(exc), 200)}"
        ) from None
    sink.raise_if_errors()
    return Translation(
        hf_type.model_type,
        hf_type.family,
        _ordered(reader.spec, hf_type.key_order),
        reader.origin,
        reader.defaults,
        frozenset(reader.read),
    )


def _unaliased(config: HFConfig, aliases: Mapping[str, str], sink: DiagnosticSink) -> HFConfig:
    """The config with each alias key also under the key it stands for (marks included)."""
    data, keys, values = dict(config.data), dict(config.key_marks), dict(config.value_marks)
    for alias, real in aliases.items():
        if alias not in data:
            continue
        if real in data and data[real] != data[alias]:
            sink.error(
                config.mark(alias),
                f"'{alias}' ({show(data[alias])}) contradicts '{real}' ({show(data[real])}); "
                "transformers reads them as one field",
            )
        elif real not in data:
            data[real] = data[alias]
            keys[real] = config.key_marks.get(alias, Mark(1, 1))
            values[real] = config.mark(alias)
    return HFConfig(config.file, data, keys, values)


def _ordered(spec: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    rank = {k: i for i, k in enumerate(order)}
    return dict(sorted(spec.items(), key=lambda kv: rank.get(kv[0], len(rank))))


def config_name(config: HFConfig) -> str:
    """What a config is called in tables, JSON and imported specs.

    Its ``_name_or_path`` when that is a Hub id (``meta-llama/Llama-3.2-1B``) or the last
    component of a local path; otherwise the model folder of a ``config.json``, otherwise
    the file's stem.
    """
    given = config.data.get("_name_or_path")
    if isinstance(given, str) and given.strip().strip("/\\"):
        text = given.strip().rstrip("/\\")
        parts = text.replace("\\", "/").split("/")
        local = text.startswith(("/", ".", "~")) or "\\" in text or ":" in text
        return parts[-1] if local or len(parts) > 2 else text
    path = Path(config.file)
    if path.stem == "config" and path.suffix.lower() == ".json":
        folder = path.resolve().parent.name if path.parent == Path() else path.parent.name
        if folder:
            return folder
    return path.stem or "config"


def to_document(config: HFConfig, translation: Translation) -> Document:
    """The translated spec as a Document whose marks point into the JSON file."""
    data: dict[str, Any] = {
        "name": config_name(config),
        "family": translation.family,
        MODEL_TYPE_KEY: translation.model_type,
        **translation.spec,
    }
    if translation.defaults:
        data[DEFAULTS_KEY] = dict(translation.defaults)
    marks: dict[Path_, Mark] = {(): Mark(1, 1), ("family",): config.mark("model_type")}
    if "_name_or_path" in config.data:
        marks[("name",)] = config.mark("_name_or_path")
    key_marks: dict[Path_, Mark] = {}

    def walk(value: Any, path: Path_) -> None:
        source = translation.origin.get(path)
        if source is not None:
            marks[path] = config.mark(source)
            key_marks[path] = config.key_marks.get(source, config.mark(source))
        if isinstance(value, dict):
            for key, child in value.items():
                walk(child, (*path, key))

    walk(translation.spec, ())
    return Document(config.file, data, marks, key_marks)


def load_document(
    path: str | os.PathLike[str],
    display: str | None = None,
    registry: Registry | None = None,
    overrides: Sequence[Override] = (),
) -> tuple[Document, list[Override]]:
    """Load a config file as a spec Document (for :func:`archcalc.api.load_spec`).

    ``overrides`` that name a config key rather than a spec field
    (``--set num_hidden_layers=48``) are applied to the config before it is translated,
    so the what-if is the config transformers would read; the others are returned for the
    spec. A JSON file holding an archcalc spec (a ``family`` and no ``model_type``) is a
    spec: JSON is YAML, so it goes through the spec loader like any other.
    """
    config = load_config(path, display)
    if "family" in config.data and "model_type" not in config.data:
        from archcalc.yamlsafe import load_path

        return load_path(path, display), list(overrides)
    return document_of(config, registry, overrides)


def document_of(
    config: HFConfig, registry: Registry | None = None, overrides: Sequence[Override] = ()
) -> tuple[Document, list[Override]]:
    """Translate a config, applying the overrides that name its keys; the rest returned."""
    config, rest = apply_overrides(config, registry, overrides)
    return to_document(config, translate(config, registry)), rest


def apply_overrides(
    config: HFConfig, registry: Registry | None, overrides: Sequence[Override]
) -> tuple[HFConfig, list[Override]]:
    """Split ``--set`` overrides: spec fields (and ``vars.``) stay, config keys apply here.

    A config key's value is a JSON value (``48``, ``true``, ``null``, ``"gelu"``) or a
    bare word (``gelu``). A key that is neither a spec field nor a key of the config nor
    one its translator reads is an error, with the close names as a hint.
    """
    if not overrides:
        return config, []
    registry = _registry(registry)
    hf_type = registry.hf_model_types.get(config.data.get("model_type"))  # type: ignore[arg-type]
    family = registry.family(hf_type.family) if hf_type is not None else None
    if hf_type is None or family is None:
        return config, list(overrides)
    fields: set[str] = set()
    for item in family.fields:
        for fld in getattr(item, "fields", (item,)):
            fields.update((fld.name, fld.name.rsplit(".", 1)[-1]))
    mine = [o for o in overrides if o.key not in fields and not o.key.startswith("vars.")]
    if not mine:
        return config, list(overrides)
    reads = translate(config, registry).read | set(config.data) | set(hf_type.aliases)
    data = dict(config.data)
    for override in mine:
        if override.key not in reads:
            from archcalc.spec import did_you_mean

            raise UsageError(
                f"--set {shorten(override.key)}: neither a field of family {family.name} nor "
                f"a key {hf_type.model_type} configs have"
                + did_you_mean(override.key, sorted(reads | fields))
            )
        data[override.key] = _override_value(override)
    rest = [o for o in overrides if o not in mine]
    return HFConfig(config.file, data, config.key_marks, config.value_marks), rest


def _override_value(override: Override) -> Any:
    text = override.text
    try:
        value = parse_config(('{"v": ' + text + "}").encode("utf-8"), "--set").data["v"]
    except SpecError:
        if text.replace("_", "").replace("-", "").replace(".", "").isalnum():
            return text
        raise UsageError(
            f"--set {shorten(override.key)}={shorten(text)}: a config key takes a JSON value "
            '(48, true, null, "gelu") or a bare word'
        ) from None
    return value


def config_of_yaml(doc: Document) -> HFConfig:
    """A config that arrived as YAML (a mapping with ``model_type``), marks and all."""
    key_marks = {str(p[0]): m for p, m in doc.key_marks.items() if len(p) == 1}
    value_marks = {str(p[0]): m for p, m in doc.marks.items() if len(p) == 1}
    return HFConfig(doc.file, dict(doc.data), key_marks, value_marks)


def from_yaml_document(
    doc: Document, registry: Registry | None = None, overrides: Sequence[Override] = ()
) -> tuple[Document, list[Override]]:
    """A config that arrived as YAML, translated into a spec Document (see
    :func:`load_document` for ``overrides``)."""
    return document_of(config_of_yaml(doc), registry, overrides)


def model_type_of(doc: Document) -> str | None:
    """The Hugging Face model_type a Document was translated from, if it was."""
    value = doc.data.get(MODEL_TYPE_KEY)
    return value if isinstance(value, str) else None


def defaults_of(doc: Document) -> dict[str, Any] | None:
    """The config keys a translated Document took from its model type's defaults."""
    value = doc.data.get(DEFAULTS_KEY)
    if model_type_of(doc) is None:
        return None
    return dict(value) if isinstance(value, dict) else {}


def spec_yaml(config: HFConfig, translation: Translation, schema_ref: str) -> str:
    """The spec as YAML text, with the schema modeline and a comment naming the source."""
    body = {
        "name": config_name(config),
        "family": translation.family,
        MODEL_TYPE_KEY: translation.model_type,
        **translation.spec,
    }
    header = (
        # Each comment is one line whatever the file name or model_type holds (safe()
        # escapes a newline): nothing can break out of it into the spec.
        f"# yaml-language-server: $schema={safe(schema_ref)}\n"
        f"# Imported by `archcalc import-hf` from {safe(config.file)}\n"
        f"# (Hugging Face model_type '{safe(translation.model_type)}'): counts what transformers "
        "builds for that config.\n"
    )
    return header + str(yaml.safe_dump(body, sort_keys=False, allow_unicode=False))
