"""The editor schema ``schemas/archcalc.schema.json``: in sync, valid, documented, offline.

The file is generated from the built-in families and checked in so that editors can use
it through ``# yaml-language-server: $schema=...``. When a family changes, regenerate it:

    ARCHCALC_DISABLE_PLUGIN_AUTOLOAD=1 archcalc schema > schemas/archcalc.schema.json

(without the variable, installed third-party plugins would be included too).
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import jsonschema
import pytest
from referencing import Registry
from referencing.exceptions import NoSuchResource
from typer.testing import CliRunner

from archcalc import Breakdown, Family, Field, Part, api, yamlsafe
from archcalc.cli import app
from archcalc.errors import PluginError, SpecError
from archcalc.registry import BUILTIN_PLUGINS, load_registry
from archcalc.registry import Registry as PluginRegistry
from archcalc.schema import DRAFT, SCHEMA_ID, combined_schema

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = ROOT / "schemas" / "archcalc.schema.json"
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
CORPUS = ROOT / "tests" / "corpus"
REGENERATE = "ARCHCALC_DISABLE_PLUGIN_AUTOLOAD=1 archcalc schema > schemas/archcalc.schema.json"


def checked_in() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def generated_text() -> str:
    """What ``archcalc schema`` prints for the built-in families (autoload is off in tests)."""
    registry = load_registry()
    return json.dumps(combined_schema(registry.families.values(), registry), indent=2) + "\n"


def _no_retrieval(uri: str) -> Any:
    raise NoSuchResource(ref=uri)


def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(
        checked_in(),
        registry=Registry(retrieve=_no_retrieval),  # type: ignore[call-arg]
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )


# --------------------------------------------------------------------------- in sync


def test_checked_in_schema_is_the_generated_one() -> None:
    """Drift test: the file equals what the live registry of built-in families generates."""
    assert SCHEMA_FILE.read_text(encoding="utf-8") == generated_text(), (
        f"schemas/archcalc.schema.json is out of date; regenerate it with: {REGENERATE}"
    )


def test_cli_prints_the_same_schema() -> None:
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0, result.output
    assert result.stdout == SCHEMA_FILE.read_text(encoding="utf-8")


def test_every_builtin_family_is_in_the_schema() -> None:
    families = set(load_registry().families)
    assert {"transformer"} <= families
    schema = checked_in()
    assert set(schema["$defs"]) == families
    assert schema["properties"]["family"]["anyOf"][0]["enum"] == sorted(families)
    assert len(BUILTIN_PLUGINS) >= 1


# --------------------------------------------------------------------------- well formed


def test_is_a_valid_2020_12_schema_with_a_stable_id() -> None:
    schema = checked_in()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == DRAFT == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == SCHEMA_ID
    assert SCHEMA_ID.endswith("/schemas/archcalc.schema.json")
    assert SCHEMA_ID.startswith("https://")


def _properties(node: Any, where: str = "#", in_condition: bool = False) -> Iterator[tuple]:
    """Every (pointer, subschema) that defines a key a user writes, at any depth.

    ``if`` clauses only test values (``family: const``), so their properties are skipped.
    """
    if isinstance(node, dict):
        for keyword in ("properties", "patternProperties"):
            children = node.get(keyword)
            if isinstance(children, dict) and not in_condition:
                for key, child in children.items():
                    yield f"{where}/{keyword}/{key}", child
        for key, child in node.items():
            yield from _properties(child, f"{where}/{key}", in_condition or key == "if")
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _properties(child, f"{where}/{index}", in_condition)


def test_every_property_at_every_level_has_a_description() -> None:
    """Editors show ``description`` as hover help and completion detail."""
    found = list(_properties(checked_in()))
    assert len(found) > 50
    missing = [
        pointer
        for pointer, sub in found
        if not (isinstance(sub, dict) and (sub.get("description") or "$ref" in sub))
    ]
    assert missing == [], f"properties without a description: {missing[:20]}"
    empty = [p for p, sub in found if isinstance(sub, dict) and sub.get("description") == ""]
    assert empty == []


def test_description_walk_finds_a_missing_one() -> None:
    """The walk above is not vacuous."""
    broken = {"properties": {"a": {"type": "object", "properties": {"b": {"type": "integer"}}}}}
    found = dict(_properties(broken))
    assert "#/properties/a/properties/b" in found
    assert "description" not in found["#/properties/a/properties/b"]


def test_only_local_references() -> None:
    """No ``$ref`` leaves the file: editors and validators never need the network."""
    text = SCHEMA_FILE.read_text(encoding="utf-8")
    refs = [line.strip() for line in text.splitlines() if '"$ref"' in line]
    assert all('"#' in ref for ref in refs), refs


# --------------------------------------------------------------------------- validates specs


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_validate_against_the_checked_in_schema(path: Path) -> None:
    doc = yamlsafe.load_path(path)
    errors = [e.message for e in validator().iter_errors(doc.data)]
    assert errors == []


@pytest.mark.parametrize("path", sorted((CORPUS / "valid").glob("*.yaml")), ids=lambda p: p.stem)
def test_valid_corpus_validates_against_the_schema(path: Path) -> None:
    doc = yamlsafe.load_path(path)
    assert list(validator().iter_errors(doc.data)) == []


@pytest.mark.parametrize(
    "name",
    ["f54-unknown-key", "f54-unknown-key-moe", "f-bad-enum", "f52-bool-size", "f-missing-family"],
)
def test_schema_rejects_structural_mistakes(name: str) -> None:
    """What an editor flags while typing: typos, bad enum values, wrong types."""
    doc = yamlsafe.load_path(CORPUS / "invalid" / f"{name}.yaml")
    assert list(validator().iter_errors(doc.data)) != []


def test_examples_carry_the_modeline() -> None:
    """Each example points editors at the schema by a path relative to itself."""
    for path in EXAMPLES:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        if first.startswith("# yaml-language-server:"):
            target = first.split("$schema=", 1)[1].strip()
            assert (path.parent / target).resolve() == SCHEMA_FILE, path.name


# --------------------------------------------------------------------------- never fetched


class _Counter(http.server.BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Counter.requests.append(self.path)
        body = b'{"type": "integer"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        """Silence the default request log on stderr."""


@pytest.fixture
def loopback() -> Iterator[str]:
    """A local HTTP server that would serve a schema, counting every request it gets."""
    _Counter.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/x.json"
    finally:
        server.shutdown()
        server.server_close()


def _remote_family(url: str) -> Family:
    return Family(
        name="remote",
        description="A plugin family whose schema refers to a remote document.",
        fields=(Field("width", "size", "A width."),),
        count=lambda spec: Breakdown((Part("all", spec.values.width),)),
        schema={"extra": {"$ref": url, "description": "Defined elsewhere."}},
    )


def test_remote_ref_in_a_plugin_schema_is_never_fetched(loopback: str) -> None:
    """A plugin cannot make validation touch the network; the failure is the plugin's."""
    registry = PluginRegistry(
        families={"remote": _remote_family(loopback)}, owners={"remote": "remote-plugin"}
    )
    doc = yamlsafe.load_text("family: remote\nwidth: 3\nextra: 1\n", "spec.yaml")
    with pytest.raises(PluginError, match="remote-plugin") as caught:
        api.check_document(doc, registry=registry)
    assert "Unresolvable" in str(caught.value)
    assert _Counter.requests == []


def test_the_loopback_server_would_have_answered(loopback: str) -> None:
    """Control for the test above: the server works, so zero requests means zero fetches."""
    from urllib.request import urlopen

    with urlopen(loopback, timeout=5) as response:
        assert json.load(response) == {"type": "integer"}
    assert _Counter.requests == ["/x.json"]


def test_remote_ref_through_the_cli_is_exit_3_not_blamed_on_the_spec(
    loopback: str, tmp_path: Path
) -> None:
    plugin = tmp_path / "remote_plugin.py"
    plugin.write_text(
        "from archcalc import Breakdown, Family, Field, Part, hookimpl\n"
        "@hookimpl\n"
        "def archcalc_families():\n"
        "    return [Family(name='remote', description='d', fields=(Field('width', 'size',"
        " 'w'),), count=lambda s: Breakdown((Part('all', s.values.width),)),"
        f" schema={{'extra': {{'$ref': {loopback!r}, 'description': 'x'}}}})]\n",
        encoding="utf-8",
    )
    spec = tmp_path / "spec.yaml"
    spec.write_text("family: remote\nwidth: 3\nextra: 1\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", "--plugin", str(plugin), str(spec)])
    assert result.exit_code == 3, result.output
    assert "plugin" in result.stderr
    assert "Traceback" not in result.output
    assert _Counter.requests == []


def test_spec_errors_still_come_first_with_a_remote_ref(loopback: str) -> None:
    """The remote part is only reached for a spec that uses it; others validate normally."""
    registry = PluginRegistry(
        families={"remote": _remote_family(loopback)}, owners={"remote": "remote-plugin"}
    )
    doc = yamlsafe.load_text("family: remote\nwidth: 0\n", "spec.yaml")
    with pytest.raises(SpecError, match="width"):
        api.check_document(doc, registry=registry)
    assert _Counter.requests == []
