"""Tests for archcalc.yamlsafe: every hostile-input rule, on both PyYAML loaders.

Specs come from untrusted pull requests, so each rule is pinned with a concrete input,
the exact line and column reported, and a fragment of the message. Property tests then
check the contract for arbitrary input: a Document or a located SpecError, nothing else.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archcalc import yamlsafe
from archcalc.errors import Mark, SpecError
from tests.helpers import python_calls

LOADERS = [yaml.SafeLoader] + ([yaml.CSafeLoader] if yaml.__with_libyaml__ else [])
PURE, LIBYAML = "SafeLoader", "CSafeLoader"


@pytest.fixture(params=LOADERS, ids=lambda cls: cls.__name__)
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> type[Any]:
    """Run the test once per loader: the module hook is what CI switches too."""
    monkeypatch.setattr(yamlsafe, "LOADER", request.param)
    return request.param


@contextmanager
def using(loader_cls: type[Any]) -> Iterator[None]:
    """Switch the loader inside a hypothesis example (function fixtures don't reset there)."""
    saved = yamlsafe.LOADER
    yamlsafe.LOADER = loader_cls
    try:
        yield
    finally:
        yamlsafe.LOADER = saved


def load(source: str | bytes) -> yamlsafe.Document:
    if isinstance(source, bytes):
        return yamlsafe.load_bytes(source, "spec.yaml")
    return yamlsafe.load_text(source, "spec.yaml")


def problems(source: str | bytes) -> list[tuple[int, int, str]]:
    with pytest.raises(SpecError) as info:
        load(source)
    found = [(d.line, d.column, d.message) for d in info.value.diagnostics]
    assert all(d.file == "spec.yaml" for d in info.value.diagnostics)
    assert found, "a SpecError must carry at least one diagnostic"
    return found


def assert_error(source: str | bytes, line: int, column: int, fragment: str) -> str:
    """Exactly one diagnostic, at line:column, whose message contains ``fragment``."""
    found = problems(source)
    assert len(found) == 1, found
    assert found[0][:2] == (line, column), found
    assert fragment in found[0][2], found
    return found[0][2]


def at(line: int, column: int) -> Mark:
    return Mark(line, column)


# --------------------------------------------------------------------------- valid specs

VALID = """\
name: tiny
family: transformer
vars:
  width: 512
layers:
  - conv2d: {out_channels: 64, kernel_size: 7}
  - relu
lr: 0.001
note: "yes"
empty:
"""


def test_valid_spec_data_and_marks(loader: type[Any]) -> None:
    doc = load(VALID)
    assert doc.file == "spec.yaml"
    assert doc.data == {
        "name": "tiny",
        "family": "transformer",
        "vars": {"width": 512},
        "layers": [{"conv2d": {"out_channels": 64, "kernel_size": 7}}, "relu"],
        "lr": Fraction(1, 1000),
        "note": "yes",
        "empty": None,
    }
    assert list(doc.data) == ["name", "family", "vars", "layers", "lr", "note", "empty"]
    assert doc.mark(()) == at(1, 1)
    assert doc.mark(("name",)) == at(1, 7)
    assert doc.mark(("vars", "width")) == at(4, 10)
    assert doc.key_mark(("vars", "width")) == at(4, 3)
    assert doc.mark(("layers",)) == at(6, 3)
    assert doc.mark(("layers", 0, "conv2d")) == at(6, 13)
    assert doc.mark(("layers", 0, "conv2d", "kernel_size")) == at(6, 45)
    assert doc.key_mark(("layers", 0, "conv2d", "kernel_size")) == at(6, 32)
    assert doc.mark(("layers", 1)) == at(7, 5)
    assert doc.mark(("empty",)) == at(10, 6)  # a missing value points just after its key
    assert doc.key_mark(("empty",)) == at(10, 1)


def test_mark_falls_back_to_nearest_ancestor(loader: type[Any]) -> None:
    doc = load(VALID)
    assert doc.mark(["layers", 0, "conv2d", "bias"]) == at(6, 13)
    assert doc.mark(("nope", "deeper")) == at(1, 1)
    assert doc.key_mark(("layers", 1)) == at(7, 5)  # list items have no key: value mark
    assert doc.key_mark(("nope",)) == at(1, 1)


def test_data_holds_only_plain_types(loader: type[Any]) -> None:
    doc = load("a: [1, 1.5, x, true, ~, {b: 'c'}]\nd: |\n  text\n")
    assert_plain(doc.data)
    assert doc.data["a"][1] == Fraction(3, 2) and type(doc.data["a"][1]) is Fraction
    assert doc.data["d"] == "text\n"


def test_crlf_and_lone_cr_line_ends(loader: type[Any]) -> None:
    doc = load("a: 1\r\nb:\r\n  - p\r\n  - q\r\n")
    assert doc.data == {"a": 1, "b": ["p", "q"]}
    assert doc.mark(("b", 1)) == at(4, 5)
    assert load("a: 1\rb: 2").mark(("b",)) == at(2, 4)
    assert_error("a: 1\r\nb: yes\r\n", 2, 4, "'yes' is read as a boolean")


def test_no_final_newline(loader: type[Any]) -> None:
    assert load("a: 1").data == {"a": 1}
    assert load("? a").mark(("a",)) == at(1, 4)  # missing value at the very end


def test_utf8_bom_is_stripped_without_shifting_columns(loader: type[Any]) -> None:
    doc = load(b"\xef\xbb\xbfa: 1\nb: caf\xc3\xa9\n")
    assert doc.data == {"a": 1, "b": "café"}
    assert doc.mark(("a",)) == at(1, 4)


def test_quoted_and_block_scalars_are_always_strings(loader: type[Any]) -> None:
    doc = load("a: 'yes'\nb: \"010\"\nc: |\n  1:30\nd: >-\n  1e3\ne: '~'\nf: ''\n")
    assert doc.data == {"a": "yes", "b": "010", "c": "1:30\n", "d": "1e3", "e": "~", "f": ""}


def test_load_text_and_load_bytes_agree(loader: type[Any]) -> None:
    assert load(VALID.encode()).data == load(VALID).data
    assert yamlsafe.load_bytes(bytearray(b"a: 1"), "x").data == {"a": 1}


def test_document_is_frozen() -> None:
    doc = load("a: 1\n")
    with pytest.raises(AttributeError):
        doc.data = {}  # type: ignore[misc]


# --------------------------------------------------------------------------- anchors and merges

MERGE = """\
defaults: &defaults
  bias: false
  dropout: 0.1
extra: &extra
  dropout: 0.2
  act: gelu
block:
  <<: [*defaults, *extra]
  bias: true
  width: 64
ref: *extra
single:
  <<: *defaults
"""


def test_anchors_and_merge_keys(loader: type[Any]) -> None:
    doc = load(MERGE)
    block = doc.data["block"]
    # explicit keys win, then earlier merge sources over later ones
    assert block == {"dropout": Fraction(1, 10), "act": "gelu", "bias": True, "width": 64}
    assert list(block) == ["dropout", "act", "bias", "width"]
    assert doc.data["single"] == {"bias": False, "dropout": Fraction(1, 10)}
    assert doc.data["ref"] == {"dropout": Fraction(1, 5), "act": "gelu"}
    assert doc.data["ref"] is not doc.data["extra"]  # a tree: aliases are copied
    # merged and aliased values point at where they were written
    assert doc.mark(("block", "dropout")) == at(3, 12)
    assert doc.key_mark(("block", "dropout")) == at(3, 3)
    assert doc.mark(("block", "bias")) == at(9, 9)
    assert doc.mark(("ref",)) == at(4, 8)
    assert doc.mark(("ref", "act")) == at(6, 8)
    assert doc.key_mark(("ref",)) == at(11, 1)


def test_scalar_aliases(loader: type[Any]) -> None:
    assert load("a: &a x\nb: [*a, *a]\n").data == {"a": "x", "b": ["x", "x"]}


def test_nested_merges(loader: type[Any]) -> None:
    doc = load("a: &a {p: 1}\nb: &b {<<: *a, q: 2}\nc: {<<: *b, r: 3}\n")
    assert doc.data["c"] == {"p": 1, "q": 2, "r": 3}
    assert doc.mark(("c", "p")) == at(1, 11)


@pytest.mark.parametrize(
    ("source", "line", "column", "fragment"),
    [
        ("a: &a 1\nb:\n  <<: *a\n", 1, 4, "found an integer"),
        ("b:\n  <<: [{x: 1}, 2]\n", 2, 16, "must be a mapping or a list of mappings"),
        ("b:\n  <<:\n", 2, 5, "found null"),
        ("b:\n  <<: {x: 1}\n  <<: {y: 1}\n", 3, 3, "duplicate key '<<' (first defined on line 2)"),
    ],
)
def test_bad_merge_values(
    loader: type[Any], source: str, line: int, column: int, fragment: str
) -> None:
    assert_error(source, line, column, fragment)


def billion_laughs(levels: int = 9) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        name, prev = chr(ord("a") + i), chr(ord("a") + i - 1)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_rejected_fast(loader: type[Any]) -> None:
    assert_error(billion_laughs(), 2, 8, "YAML aliases expand to more than 10000 nodes")
    # Refused before expanding: 9**9 nodes would take hundreds of millions of calls.
    assert python_calls(lambda: load(billion_laughs())) < 100_000


def test_alias_expansion_budget_boundary(loader: type[Any]) -> None:
    base = "a: &a [" + ", ".join(["x"] * 100) + "]\n"
    # 99 copies of a 101-node list add 9999 nodes: allowed; 100 copies add 10100
    assert len(load(base + "b: [" + ", ".join(["*a"] * 99) + "]\n").data["b"]) == 99
    assert_error(base + "b: [" + ", ".join(["*a"] * 100) + "]\n", 2, 5, "more than 10000")


def test_recursive_alias_rejected(loader: type[Any]) -> None:
    assert_error("a: &x [*x]\n", 1, 4, "refers to a collection that contains it")
    assert_error("a: &x {b: *x}\n", 1, 4, "recursive structure")


def test_undefined_alias(loader: type[Any]) -> None:
    assert_error("a: *nope\n", 1, 4, "alias *nope refers to an anchor that is not defined")


def test_alias_chain_deeper_than_limit(loader: type[Any]) -> None:
    lines = ["a0: &a0 [x]"] + [f"a{i}: &a{i} [*a{i - 1}]" for i in range(1, 70)]
    message = assert_error("\n".join(lines) + "\n", 65, 6, "nesting deeper than 64 levels")
    assert "aliases" in message


# --------------------------------------------------------------------------- structure limits


@pytest.mark.parametrize("opener", ["[", "{a: "])
def test_depth_100k_flow_nesting_rejected(loader: type[Any], opener: str) -> None:
    """The segfault case: CSafeLoader's composer dies on this without the event pre-scan."""
    found = problems("a: " + opener * 100_000)
    assert len(found) == 1 and found[0][0] == 1
    assert found[0][2] == "nesting deeper than 64 levels"
    # The scan stops at the 65th level: 100,000 openers cost what 1,000 do.
    work = python_calls(lambda: load("a: " + opener * 100_000))
    assert work <= 1.2 * python_calls(lambda: load("a: " + opener * 1_000))
    assert work < 50_000


@pytest.mark.parametrize(
    "source",
    [
        "a: " + "[" * 100_000,
        "a: " + "{b: " * 200,
        "".join("  " * i + f"k{i}:\n" for i in range(70)) + "  " * 70 + "v: 1\n",
    ],
    ids=["flow list", "flow map", "block"],
)
def test_every_kind_of_deep_nesting_has_one_code(loader: type[Any], source: str) -> None:
    with pytest.raises(SpecError) as info:
        load(source)
    assert [(d.code, d.message) for d in info.value.diagnostics] == [
        ("Y105", "nesting deeper than 64 levels")
    ]


def test_depth_flow_location(loader: type[Any]) -> None:
    # libyaml scans ahead to its own limit of 1000 levels before any event is emitted
    column = 1003 if loader.__name__ == LIBYAML else 68
    assert_error("a: " + "[" * 100_000, 1, column, "nesting deeper than 64 levels")
    assert_error("a: " + "[" * 64 + "]" * 64, 1, 67, "nesting deeper than 64 levels")
    assert load("a: " + "[" * 63 + "]" * 63).data["a"] is not None


def test_depth_crash_case_in_subprocess() -> None:
    """Run the crash input in a child: a regression must fail this test, not kill pytest."""
    code = textwrap.dedent(
        """
        import yaml
        from archcalc import yamlsafe
        from archcalc.errors import SpecError
        for loader in (yaml.SafeLoader, getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            yamlsafe.LOADER = loader
            for text in ("[" * 100_000, "a: " + "{a: " * 50_000, "- " * 100_000 + "x"):
                try:
                    yamlsafe.load_text(text, "deep.yaml")
                except SpecError as exc:
                    print(exc.diagnostics[0].message)
        """
    )
    root = Path(__file__).resolve().parents[1]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert done.stdout.splitlines() == ["nesting deeper than 64 levels"] * 6


def test_deep_block_nesting(loader: type[Any]) -> None:
    deep = "".join("  " * i + f"k{i}:\n" for i in range(70))
    assert_error(deep, 65, 129, "nesting deeper than 64 levels")
    ok = "".join("  " * i + f"k{i}:\n" for i in range(64))
    assert load(ok).data["k0"] is not None


def test_too_many_nodes(loader: type[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlsafe, "MAX_EVENTS", 50)
    assert_error("a: [" + "1, " * 60 + "]\n", 1, 140, "too many YAML nodes (more than 50)")


def test_too_many_nodes_real_limit() -> None:
    assert_error("a: [" + "1, " * 100_001 + "]\n", 1, 299_990, "too many YAML nodes")
    # Work stops at the limit: three times the nodes cost no more.
    work = python_calls(lambda: load("a: [" + "1, " * 100_001 + "]\n"))
    assert python_calls(lambda: load("a: [" + "1, " * 300_000 + "]\n")) <= work * 1.01
    assert work < 200 * yamlsafe.MAX_EVENTS


def test_two_documents(loader: type[Any]) -> None:
    assert_error("a: 1\n---\nb: 2\n", 2, 1, "multiple YAML documents are not allowed")
    assert_error("---\na: 1\n--- \nb: 2\n", 3, 1, "multiple YAML documents")
    assert load("---\na: 1\n...\n").data == {"a": 1}


def test_huge_input_rejected_before_parsing() -> None:
    assert_error(b"a: 1\n" + b"#" * yamlsafe.MAX_BYTES, 1, 1, "file is larger than 1 MiB")
    assert python_calls(lambda: load(b"a: 1\n" + b"#" * yamlsafe.MAX_BYTES)) < 1_000
    exactly = b"a: 1\n#" + b"x" * (yamlsafe.MAX_BYTES - 6)
    assert len(exactly) == yamlsafe.MAX_BYTES and load(exactly).data == {"a": 1}


def test_long_scalar(loader: type[Any]) -> None:
    assert_error("a: " + "x" * 100_000 + "\n", 1, 4, "scalar value too long (100000 characters")
    assert_error("a: '" + "x" * 10_001 + "'\n", 1, 4, "scalar value too long")
    assert len(load("a: " + "x" * 10_000).data["a"]) == 10_000


# --------------------------------------------------------------------------- tags


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        (
            "x: !!python/object/apply:os.system ['touch CANARY']\n",
            "'!!python/object/apply:os.system'",
        ),
        ("x: !!python/name:os.system\n", "'!!python/name:os.system'"),
        ("x: !!python/object/new:subprocess.Popen [[touch, CANARY]]\n", "'!!python/object/new"),
        ("x: !!binary aGVsbG8=\n", "'!!binary'"),
        ("x: !!float ''\n", "'!!float'"),
        ("x: !!bool maybe\n", "'!!bool'"),
        ("x: !!int abc\n", "'!!int'"),
        ("x: !!str 1\n", "'!!str'"),
        ("x: !!set {a, b}\n", "'!!set'"),
        ("x: !!timestamp 2024-13-45T25:00:00\n", "'!!timestamp'"),
        ("x: !expr 4 * d\n", "'!expr'"),
        ("x: ! 1\n", "'!'"),
        ("x: !<tag:yaml.org,2002:str> 1\n", "'!!str'"),
    ],
)
def test_explicit_tags_rejected(
    loader: type[Any],
    source: str,
    shown: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    message = assert_error(source, 1, 4, "explicit YAML tags are not allowed (found " + shown)
    assert "remove the tag" in message
    assert not (tmp_path / "CANARY").exists()


def test_python_tag_payload_never_runs(loader: type[Any], tmp_path: Path) -> None:
    canary = tmp_path / "CANARY"
    payload = f"x: !!python/object/apply:os.system ['touch {canary}']\n"
    assert_error(payload, 1, 4, "'!!python/object/apply:os.system'")
    assert_error(f"!!python/object/apply:os.system ['touch {canary}']\n", 1, 1, "explicit")
    assert not canary.exists()


def test_tags_on_collections_and_via_tag_directive(loader: type[Any]) -> None:
    assert_error("!!map {a: 1}\n", 1, 1, "(found '!!map')")
    source = "%TAG ! tag:yaml.org,2002:python/\n---\nx: !object:os.system 1\n"
    assert_error(source, 3, 4, "(found '!!python/object:os.system')")


def test_all_tags_reported_together(loader: type[Any]) -> None:
    found = problems("a: !!str 1\nb: !x 2\n")
    assert [(line, col) for line, col, _ in found] == [(1, 4), (2, 4)]


# --------------------------------------------------------------------------- scalars


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("~", None),
        ("null", None),
        ("Null", None),
        ("NULL", None),
        ("", None),
        ("true", True),
        ("True", True),
        ("TRUE", True),
        ("false", False),
        ("FALSE", False),
        ("0", 0),
        ("-0", 0),
        ("+12", 12),
        ("4096", 4096),
        ("9" * 30, int("9" * 30)),
        ("0x1F", 31),
        ("0o17", 15),
        ("1.3", Fraction(13, 10)),
        ("0.1", Fraction(1, 10)),
        ("1e3", Fraction(1000)),
        ("1E+3", Fraction(1000)),
        ("1.5e-3", Fraction(3, 2000)),
        ("6.02e23", Fraction(602 * 10**21)),
        (".5", Fraction(1, 2)),
        ("-.5", Fraction(-1, 2)),
        ("+.5", Fraction(1, 2)),
        ("5.", Fraction(5)),
        ("1.0", Fraction(1)),
        ("1e100", Fraction(10**100)),
        ("1e-100", Fraction(1, 10**100)),
        ("1e0100", Fraction(10**100)),
        ("0." + "1" * 39, Fraction(int("1" * 39), 10**39)),
        ("2024-01-01", "2024-01-01"),
        ("2024-13-45", "2024-13-45"),
        ("inf", "inf"),
        ("nan", "nan"),
        ("0x", "0x"),
        ("1.2.3", "1.2.3"),
        ("yes please", "yes please"),
        ("nope", "nope"),
        ("4 * d_model", "4 * d_model"),
        ("1e", "1e"),
        ("e3", "e3"),
        ("=", "="),
        ("<<", "<<"),
    ],
)
def test_plain_scalar_resolution(loader: type[Any], written: str, value: object) -> None:
    got = load(f"x: {written}\n").data["x"]
    assert got == value
    assert type(got) is type(value)


@pytest.mark.parametrize(
    ("written", "fragment"),
    [
        ("yes", "'yes' is read as a boolean by some YAML tools and a string by others"),
        ("No", "write true or false, or quote it"),
        ("ON", "read as a boolean"),
        ("off", "read as a boolean"),
        ("y", "read as a boolean"),
        ("N", "read as a boolean"),
        ("010", "has a leading zero, which YAML tools read differently"),
        ("010", "write 10, or quote it"),
        ("-010", "write -10, or quote it"),
        ("0010", "write 10"),
        ("08", "write 8"),
        ("00", "write 0"),
        ("1:30", "'1:30' is read as a base-60 number"),
        ("190:20:30", "base-60"),
        ("1_000", "underscores in numbers"),
        ("1_000", "write 1000"),
        ("1_000.5", "write 1000.5"),
        ("0x_ff", "write 0xff"),
        ("0b101", "write 5, or quote it"),
        ("-0b11", "write -3"),
        ("-0x10", "write -16, or quote it"),
        (".inf", "non-finite number '.inf'"),
        ("-.Inf", "non-finite number"),
        ("+.INF", "non-finite number"),
        (".nan", "non-finite number"),
        (".NaN", "non-finite number"),
        ("9" * 31, "integer literal too long (31 digits; at most 30)"),
        ("9" * 5000, "integer literal too long (5000 digits; at most 30)"),
        ("0x" + "f" * 31, "integer literal too long"),
        ("0o" + "7" * 31, "integer literal too long"),
        ("1e101", "exponent of '1e101' is too large"),
        ("1e-101", "too large"),
        ("1e" + "9" * 5000, "too large"),
        ("1." + "1" * 40, "has too many digits (41; at most 40)"),
    ],
)
def test_ambiguous_or_oversized_scalars(loader: type[Any], written: str, fragment: str) -> None:
    assert_error(f"x: {written}\n", 1, 4, fragment)


def test_ambiguous_scalar_in_list_and_flow(loader: type[Any]) -> None:
    found = problems("a:\n  - on\nb: [1, 010]\n")
    assert [(line, col) for line, col, _ in found] == [(2, 5), (3, 8)]


def test_huge_hex_is_refused_before_int(loader: type[Any]) -> None:
    assert_error("x: 0x" + "f" * 9_000 + "\n", 1, 4, "integer literal too long")


# --------------------------------------------------------------------------- keys


def test_duplicate_keys(loader: type[Any]) -> None:
    source = "n_layers: 2\nd_model: 512\nd_model: 1024\n"
    assert_error(source, 3, 1, "duplicate key 'd_model' (first defined on line 2)")
    assert_error("{a: 1, a: 2}\n", 1, 8, "duplicate key 'a' (first defined on line 1)")
    assert_error("a: 1\n'a': 2\n", 2, 1, "duplicate key 'a'")
    found = problems("l:\n  - {p: 1, p: 2}\n  - {q: 1, q: 2}\n")
    assert [(line, col) for line, col, _ in found] == [(2, 12), (3, 12)]


@pytest.mark.parametrize(
    ("source", "line", "column", "fragment"),
    [
        ("1: a\n", 1, 1, "mapping keys must be strings, but '1' is read as an integer"),
        ("? [a]\n: b\n", 1, 3, "mapping keys must be strings, found a list"),
        ("? {a: 1}\n: b\n", 1, 3, "mapping keys must be strings, found a mapping"),
        ("null: x\n", 1, 1, "'null' is read as null"),
        ("~: x\n", 1, 1, "read as null"),
        ("? \n: x\n", 1, 2, "the empty key is read as null"),
        ("true: x\n", 1, 1, "'true' is read as a boolean"),
        ("1.5: x\n", 1, 1, "'1.5' is read as a number"),
        ("a: 1\non: push\n", 2, 1, "'on' is read as a boolean by some YAML tools"),
        ("\uff44_model: 1\n", 1, 1, "key 'ｄ_model' must be ASCII"),
        ("\u043eptimizer: adam\n", 1, 1, "U+043E CYRILLIC SMALL LETTER O"),
    ],
)
def test_bad_keys(loader: type[Any], source: str, line: int, column: int, fragment: str) -> None:
    assert_error(source, line, column, fragment)


def test_quoted_keys_are_strings(loader: type[Any]) -> None:
    assert load("'1': a\n\"on\": b\n'': c\n").data == {"1": "a", "on": "b", "": "c"}


def test_non_ascii_values_are_fine(loader: type[Any]) -> None:
    assert load("name: café 模型\n").data == {"name": "café 模型"}


def test_invisible_characters_in_quoted_keys_are_escaped_in_messages(loader: type[Any]) -> None:
    message = assert_error('"a\\nb": 1\n"a\\nb": 2\n', 2, 1, "duplicate key 'a\\nb'")
    assert "\n" not in message


# --------------------------------------------------------------------------- top level


@pytest.mark.parametrize(
    ("source", "line", "column"),
    [
        ("", 1, 1),
        ("   \n\n", 1, 1),
        ("# only a comment\n", 1, 1),
        ("---\n", 2, 1),
        ("---\n...\n", 2, 1),
        ("~\n", 1, 1),
        ("null", 1, 1),
        ("\ufeff", 1, 1),
    ],
)
def test_empty_spec(loader: type[Any], source: str, line: int, column: int) -> None:
    assert_error(source, line, column, "spec is empty")


@pytest.mark.parametrize(
    ("source", "line", "column", "found"),
    [
        ("- a\n- b\n", 1, 1, "found a list"),
        ("# c\n[1, 2]\n", 2, 1, "found a list"),
        ("hello\n", 1, 1, "found a string"),
        ("'x'\n", 1, 1, "found a string"),
        ("42\n", 1, 1, "found an integer"),
        ("1.5\n", 1, 1, "found a number"),
        ("true\n", 1, 1, "found a boolean"),
    ],
)
def test_top_level_must_be_a_mapping(
    loader: type[Any], source: str, line: int, column: int, found: str
) -> None:
    message = assert_error(source, line, column, "the top level of a spec must be a mapping")
    assert message.endswith("(key: value pairs), " + found)


# --------------------------------------------------------------------------- encoding


def test_invalid_utf8_located(loader: type[Any]) -> None:
    assert_error(b"a: 1\nname: caf\xe9\n", 2, 10, "byte 0xe9 is not valid UTF-8")
    assert_error(b"a: \xc3\xa9\xff\n", 1, 5, "byte 0xff is not valid UTF-8")
    assert_error(b"a: 1\r\nb: \xc3", 2, 4, "byte 0xc3")
    assert_error(b"\x89PNG\r\n\x1a\n", 1, 1, "byte 0x89")


def test_lone_surrogate_in_text(loader: type[Any]) -> None:
    assert_error("a: \ud800\n", 1, 4, "byte 0xed is not valid UTF-8")


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32", "utf-32-be"])
def test_utf16_and_utf32_boms(loader: type[Any], codec: str) -> None:
    raw = "a: 1\n".encode(codec)
    if codec.endswith("-be"):
        raw = ("\ufeff" + "a: 1\n").encode(codec)
    assert_error(raw, 1, 1, "must be UTF-8")


def test_utf16_without_bom_is_caught_as_nul() -> None:
    found = problems("a: 1\n".encode("utf-16-le"))
    assert len(found) == 5 and found[0][:2] == (1, 2) and "U+0000" in found[0][2]


@pytest.mark.parametrize(
    ("source", "line", "column", "fragment"),
    [
        ("a: 1\nb: x\x00y\n", 2, 5, "NUL character (U+0000)"),
        ("a:\t1\n", 1, 3, "tab character: YAML specs are indented with spaces"),
        ("a:\n\tb: 1\n", 2, 1, "tab character"),
        ("a: '\t'\n", 1, 5, "tab character"),
        ("a: 1 #\tcomment\n", 1, 7, "tab character"),
        ("a: \u202eabc\n", 1, 4, "bidirectional control character U+202E"),
        ("a: x\u2066y\n", 1, 5, "U+2066"),
        ("a: 1\r\nb: \x85\n", 2, 4, "control character U+0085"),
        ("a: \x7f\n", 1, 4, "control character U+007F"),
        ("a: \x1b[31m\n", 1, 4, "control character U+001B"),
        ("a: b\u2028c: d\n", 1, 5, "line separator U+2028"),
        ("a: x\ufeffy\n", 1, 5, "byte order mark (U+FEFF)"),
        ("a: \uffff\n", 1, 4, "non-character U+FFFF"),
    ],
)
def test_forbidden_characters(
    loader: type[Any], source: str, line: int, column: int, fragment: str
) -> None:
    assert_error(source, line, column, fragment)


def test_many_bad_characters_are_capped() -> None:
    found = problems("a: " + "\x00" * 500 + "\n")
    assert len(found) == yamlsafe.MAX_DIAGNOSTICS + 1
    assert any("more problems not shown" in message for _, _, message in found)


def test_several_problems_reported_at_once(loader: type[Any]) -> None:
    found = problems("a: yes\nb: 010\nc: 1\nc: 2\n")
    assert [(line, col) for line, col, _ in found] == [(1, 4), (2, 4), (4, 1)]


# --------------------------------------------------------------------------- syntax errors


def test_flow_colon_before_indicator_is_an_error_with_both_loaders(loader: type[Any]) -> None:
    """libyaml refuses ``{a:}``; the pure scanner would accept it, so it is made to refuse."""
    assert_error("x: {a:}\n", 1, 6, "found unexpected ':'")
    assert_error("x: [a:, b]\n", 1, 6, "found unexpected ':'")
    assert load('x: {"a":}\nz: [a: ]\n').data == {"x": {"a": None}, "z": [{"a": None}]}


@pytest.mark.parametrize(
    ("source", "line", "column"),
    [
        ("a: [1,\n", 2, 1),
        ("a: 'unclosed\n", 2, 1),
        ("a: b: c\n", 1, 5),
        ("a:\n  - b\n c: 1\n", 3, 2),
        ("a: 1\n...\nb: 2\n", 3, 1),
        (": x\n", 1, 1),
    ],
)
def test_syntax_errors_are_located(loader: type[Any], source: str, line: int, column: int) -> None:
    assert_error(source, line, column, "YAML syntax error: ")


# --------------------------------------------------------------------------- files


def test_load_path_reads_a_regular_file(tmp_path: Path) -> None:
    spec = tmp_path / "model.yaml"
    spec.write_bytes(VALID.encode())
    doc = yamlsafe.load_path(spec)
    assert doc.file == str(spec) and doc.data["name"] == "tiny"
    assert yamlsafe.load_path(str(spec), "shown.yaml").file == "shown.yaml"


def path_error(path: Path, fragment: str, display: str | None = None) -> None:
    with pytest.raises(SpecError) as info:
        yamlsafe.load_path(path, display)
    [diagnostic] = info.value.diagnostics
    assert (diagnostic.line, diagnostic.column) == (1, 1)
    assert diagnostic.file == (display or str(path))
    assert fragment in diagnostic.message, diagnostic.message


def test_load_path_refuses_symlinks(tmp_path: Path) -> None:
    secret = tmp_path / "secret.env"
    secret.write_text("a: AWS_SECRET_ACCESS_KEY\n")
    link = tmp_path / "model.yaml"
    link.symlink_to(secret)
    path_error(link, "is a symbolic link; archcalc only reads regular files")
    dangling = tmp_path / "dangling.yaml"
    dangling.symlink_to(tmp_path / "missing")
    path_error(dangling, "is a symbolic link")
    to_dir = tmp_path / "dir.yaml"
    to_dir.symlink_to(tmp_path)
    path_error(to_dir, "is a symbolic link", display="shown.yaml")


def test_load_path_refuses_directories(tmp_path: Path) -> None:
    path_error(tmp_path, "is a directory, not a regular file")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_load_path_refuses_fifo_without_hanging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fifo = tmp_path / "model.yaml"
    os.mkfifo(fifo)
    opened: list[object] = []
    real_open = os.open
    monkeypatch.setattr(
        yamlsafe.os, "open", lambda path, *a, **k: opened.append(path) or real_open(path, *a, **k)
    )
    path_error(fifo, "is a named pipe (FIFO), not a regular file")
    assert opened == []  # refused from its lstat: opening a FIFO for reading would block


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="needs /dev/null")
def test_load_path_refuses_devices() -> None:
    path_error(Path("/dev/null"), "is a character device")


def test_load_path_missing_file(tmp_path: Path) -> None:
    path_error(tmp_path / "nope.yaml", "file not found")


def test_load_path_invalid_path() -> None:
    with pytest.raises(SpecError) as info:
        yamlsafe.load_path("bad\0name.yaml")
    assert "invalid path" in info.value.diagnostics[0].message


def test_load_path_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Simulated with a refusing ``os.open``: CI runs as root, who can read a mode-000 file."""
    spec = tmp_path / "model.yaml"
    spec.write_text("a: 1\n")

    def refuse(*args: object, **kwargs: object) -> int:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(yamlsafe.os, "open", refuse)
    path_error(spec, "permission denied")


def test_load_path_huge_file(tmp_path: Path) -> None:
    spec = tmp_path / "model.yaml"
    spec.write_bytes(b"a: 1\n" + b"#" * (3 * yamlsafe.MAX_BYTES))
    path_error(spec, "file is larger than 1 MiB")


def test_load_path_errors_in_content_name_the_display(tmp_path: Path) -> None:
    spec = tmp_path / "model.yaml"
    spec.write_text("a: yes\n")
    with pytest.raises(SpecError) as info:
        yamlsafe.load_path(spec, "specs/model.yaml")
    assert info.value.diagnostics[0].format().startswith("specs/model.yaml:1:4: error: 'yes'")


# --------------------------------------------------------------------------- contract


def test_no_unsafe_loader_in_source() -> None:
    source = Path(yamlsafe.__file__).read_text()
    for forbidden in ("yaml.load(", "full_load", "unsafe_load", "UnsafeLoader", "FullLoader"):
        assert forbidden not in source
    # values are built by our resolver, never by PyYAML's constructors
    assert "Constructor" not in source and "construct_" not in source


def test_libyaml_is_the_default_when_available() -> None:
    expected = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
    assert yamlsafe.LOADER is expected


def test_unexpected_internal_errors_become_located_diagnostics(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise IndexError("string index out of range")

    monkeypatch.setattr(yamlsafe, "_compose", broken)
    assert_error("a: 1\n", 1, 1, "could not read YAML: IndexError: string index out of range")


def test_wrong_argument_types_still_raise_spec_error() -> None:
    with pytest.raises(SpecError):
        yamlsafe.load_text(None, "x.yaml")  # type: ignore[arg-type]
    with pytest.raises(SpecError):
        yamlsafe.load_bytes("a: 1", "x.yaml")  # type: ignore[arg-type]


def test_typical_spec_loads_fast() -> None:
    spec = VALID + "".join(
        f"block{i}: {{type: attn, d: {i * 64}, act: silu, eps: 1.0e-5}}\n" for i in range(28)
    )
    assert 1500 < len(spec) < 3000
    load(spec)
    # About 70,000 calls with the pure-Python loader, 4,000 with the C one.
    assert python_calls(lambda: load(spec)) < 200_000


# --------------------------------------------------------------------------- properties


def assert_plain(value: object) -> None:
    """Only the types the interface promises, and a tree (no shared containers)."""
    seen: set[int] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            assert id(item) not in seen
            seen.add(id(item))
            assert all(type(key) is str for key in item)
            stack.extend(item.values())
        elif isinstance(item, list):
            assert id(item) not in seen
            seen.add(id(item))
            stack.extend(item)
        else:
            assert item is None or type(item) in (str, int, bool, Fraction), repr(item)


def paths(value: object, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from paths(child, (*prefix, index))


def outcome(source: str | bytes) -> tuple[str, Any]:
    """Load with the contract checked; returns what happened, for comparing loaders."""
    try:
        doc = load(source)
    except SpecError as exc:
        assert exc.diagnostics
        for diagnostic in exc.diagnostics:
            assert diagnostic.line >= 1 and diagnostic.column >= 1
            assert "\n" not in diagnostic.message and "\r" not in diagnostic.message
            # a catch-all diagnostic means a check is missing: it is a bug here
            assert not diagnostic.message.startswith("could not read YAML"), diagnostic
        return "error", None
    assert isinstance(doc.data, dict)
    assert_plain(doc.data)
    for path in paths(doc.data):
        assert path in doc.marks
        if path and isinstance(path[-1], str):
            assert path in doc.key_marks
    return "ok", (doc.data, doc.marks, doc.key_marks)


YAMLISH = "-:[]{},&*!|>'\"#\n \t?~.%@`<_=01289abexyzn\r\u00e9\u202e\x00"
PROPERTY_SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(st.binary(max_size=200))
def test_arbitrary_bytes_give_a_document_or_a_located_error(raw: bytes) -> None:
    for loader_cls in LOADERS:
        with using(loader_cls):
            outcome(raw)


@PROPERTY_SETTINGS
@given(st.text(alphabet=YAMLISH, max_size=200))
def test_yamlish_text_gives_a_document_or_a_located_error(text: str) -> None:
    for loader_cls in LOADERS:
        with using(loader_cls):
            outcome(text.encode())


@PROPERTY_SETTINGS
@given(st.text(max_size=100))
def test_arbitrary_unicode_gives_a_document_or_a_located_error(text: str) -> None:
    for loader_cls in LOADERS:
        with using(loader_cls):
            outcome(text)


GOOD_SCALARS = [
    "a",
    "d_model",
    "4096",
    "1.5",
    "1e3",
    "~",
    "",
    "'q'",
    '"x y"',
    "2024-01-01",
    "0x1F",
    "-1",
    "&a v",
    "*a",
    "true",
    "|\n  block",
    ">-\n  folded",
    "4 * d",
]
BAD_SCALARS = ["yes", "010", "!!str s", "1:30", ".inf", "*undefined"]
SCALARS = st.sampled_from(GOOD_SCALARS * 4 + BAD_SCALARS)
GOOD_KEYS = ["a", "b", "c", "d_model", "'a'", '"k 2"', "<<"]
KEYS = st.sampled_from(GOOD_KEYS * 4 + ["1", "on", "? [k]\n", "n", "ｄ"])


def render(node: Any, indent: int) -> list[str]:
    """Render a generated tree as block YAML, with flow collections at random leaves."""
    pad = " " * indent
    kind, body = node
    if kind == "map":
        lines = []
        for key, child in body:
            if child[0] == "scalar" or child[0] == "flow":
                lines.append(f"{pad}{key}: {render_inline(child)}")
            else:
                lines.append(f"{pad}{key}:")
                lines.extend(render(child, indent + 2))
        return lines or [f"{pad}{{}}"]
    if kind == "seq":
        lines = []
        for child in body:
            if child[0] in ("scalar", "flow"):
                lines.append(f"{pad}- {render_inline(child)}")
            else:
                lines.append(f"{pad}-")
                lines.extend(render(child, indent + 2))
        return lines or [f"{pad}[]"]
    return [pad + render_inline(node)]


def render_inline(node: Any) -> str:
    kind, body = node
    if kind == "flow":
        return "[" + ", ".join(body) + "]" if isinstance(body, list) else "{" + body + "}"
    return body


LEAVES = st.one_of(
    SCALARS.map(lambda s: ("scalar", s)),
    st.lists(SCALARS.filter(lambda s: "\n" not in s), max_size=3).map(lambda xs: ("flow", xs)),
    st.tuples(KEYS.filter(lambda k: "\n" not in k), SCALARS.filter(lambda s: "\n" not in s)).map(
        lambda kv: ("flow", f"{kv[0]}: {kv[1]}")
    ),
)
TREES = st.recursive(
    LEAVES,
    lambda children: st.one_of(
        st.lists(st.tuples(KEYS, children), min_size=1, max_size=4).map(lambda b: ("map", b)),
        st.lists(children, min_size=1, max_size=4).map(lambda b: ("seq", b)),
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(KEYS, TREES), min_size=1, max_size=5),
    st.sampled_from(["\n", "\r\n"]),
)
def test_both_loaders_agree_on_generated_specs(
    entries: list[tuple[str, Any]], newline: str
) -> None:
    """The same bytes mean the same data and marks with libyaml and without it."""
    text = newline.join(render(("map", entries), 0)) + newline
    results = []
    for loader_cls in LOADERS:
        with using(loader_cls):
            results.append(outcome(text))
    assert all(result[0] == results[0][0] for result in results), text
    if results[0][0] == "ok":
        assert all(result == results[0] for result in results), text
