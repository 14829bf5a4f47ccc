"""Hostile input, round 2: output injection, unbounded output and work, blame and location.

Each test is one category of the second review: whatever the input, archcalc prints no
raw control or bidi character, keeps its output bounded, does work linear in the input,
exits 1 with a located line for a spec problem (2 for a usage error), and never blames
the spec's problems on a plugin (exit 3).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from archcalc.cli import app
from archcalc.errors import SafeWriter, safe, safe_text

runner = CliRunner()
BASE = "family: transformer\nn_layers: 2\nd_model: 64\nn_heads: 4\nd_ff: 256\nvocab_size: 100\n"
#: What must never reach a terminal as itself.
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200b-\u200f]")
CONFIG = {
    "model_type": "llama",
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 128,
    "vocab_size": 100,
}


def run(*args: str | Path) -> Result:
    return runner.invoke(app, [str(a) for a in args])


def assert_clean(result: Result) -> None:
    assert "Traceback" not in result.output
    found = RAW.search(result.output)
    assert found is None, f"raw {found.group()!r} in {result.output[:300]!r}"


# --------------------------------------------------------------------------- injection

NAMES = {
    "osc52 clipboard": "\\e]52;c;aGVsbG8=\\a",
    "window title": "\\e]0;pwned\\a",
    "hidden text": "\\e[8mhidden\\e[0m",
    "forged line": "x\\ntotal params: 1",
    "bidi override": "\\u202eevil\\u202c",
    "bidi isolate": "\\u2066iso\\u2069",
    "carriage return": "\\rover",
    "line separator": "\\u2028sep",
    "zero width": "zero\\u200bwidth",
}


@pytest.mark.parametrize("label", sorted(NAMES))
@pytest.mark.parametrize("command", ["count", "formula", "size", "tensors", "diff", "sweep"])
def test_a_spec_name_is_never_printed_raw(tmp_path: Path, label: str, command: str) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(f'name: "{NAMES[label]}"\n' + BASE, encoding="utf-8")
    extra = {"diff": [spec], "sweep": ["--vary", "n_layers=1,2"]}.get(command, [])
    result = run(command, spec, *extra)
    assert result.exit_code == 0, result.output
    assert_clean(result)
    assert "total params: 1\n" not in result.output  # the forged line stays inside the name


@pytest.mark.parametrize("name", ["a\x1b[31mred.yaml", "new\nline.yaml", "bi\u202edi.yaml"])
def test_a_file_name_is_never_printed_raw(tmp_path: Path, name: str) -> None:
    spec = tmp_path / name
    spec.write_text(BASE + "d_modle: 3\n", encoding="utf-8")
    for args in (["validate", spec], ["count", spec], ["validate", spec, "--format", "github"]):
        result = run(*args)
        assert result.exit_code == 1, result.output
        assert_clean(result)
        assert len(result.output.strip().splitlines()) <= 2


def test_option_values_echoed_by_messages_are_escaped(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(BASE, encoding="utf-8")
    for args in (
        ["count", spec, "--set", "n_laye\x1brs=3"],
        ["formula", spec, "--keep", "d_mo\x1bdel"],
        ["schema", "tra\u202ensformer"],
    ):
        result = run(*args)
        assert result.exit_code == 2, result.output
        assert_clean(result)


def test_safe_escapes_every_dangerous_kind_and_keeps_plain_text() -> None:
    assert safe("a\x1b[31mb\u202ec\u2066d\ud8ffe\n") == "a\\x1b[31mb\\u202ec\\u2066d\\ud8ffe\\n"
    assert safe("llama-3 × 8 ≈ 1.3e9 — d_model") == "llama-3 × 8 ≈ 1.3e9 — d_model"
    assert safe_text("one\ntwo\x07") == "one\ntwo\\x07"


def test_the_safe_writer_survives_a_strict_ascii_stream() -> None:
    import io

    raw = io.TextIOWrapper(io.BytesIO(), encoding="ascii", errors="strict")
    writer = SafeWriter(raw)
    writer.write("≈ 124M \x1b[2J\udcff\n")
    raw.flush()
    assert raw.buffer.getvalue() == b"\\u2248 124M \\x1b[2J\\udcff\n"  # type: ignore[attr-defined]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file names are bytes")
def test_a_non_utf8_file_name_under_a_strict_utf8_stdout(tmp_path: Path) -> None:
    bad = os.path.join(os.fsencode(tmp_path), b"bad\xffname.yaml")
    with open(bad, "wb") as handle:
        handle.write((BASE + "d_modle: 3\n").encode())
    good = tmp_path / "good.yaml"
    good.write_text(BASE + "n_head: 3\n", encoding="utf-8")
    env = dict(os.environ, PYTHONIOENCODING="utf-8:strict", ARCHCALC_DISABLE_PLUGIN_AUTOLOAD="1")
    for command in ("validate", "formula"):
        files = [bad, os.fsencode(good)] if command == "validate" else [bad]
        proc = subprocess.run(
            [sys.executable.encode(), b"-m", b"archcalc", command.encode(), *files],
            capture_output=True,
            env=env,
            timeout=120,
        )
        text = (proc.stdout + proc.stderr).decode("utf-8")
        assert "Traceback" not in text and "internal error" not in text, text
        if command == "validate":
            assert proc.returncode == 1
            assert "bad\\udcffname.yaml:7:1: error: unknown key 'd_modle'" in text
            assert "good.yaml:7:1: error: unknown key 'n_head'" in text  # not lost
        else:
            assert proc.returncode == 1 and "bad\\udcffname.yaml" in text


# --------------------------------------------------------------------------- bounded output


def test_thousands_of_unknown_keys_print_a_bounded_report(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(BASE + "".join(f"k{i}: 1\n" for i in range(30_000)), encoding="utf-8")
    result = run("validate", spec)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 101, len(lines)
    assert lines[-1].endswith("more problems in this file not shown (stopped after 100) [A003]")
    data = json.loads(run("validate", spec, "--format", "json").stdout)
    assert len(data["diagnostics"]) == 101


def test_thousands_of_misspelt_vars_are_linear_and_bounded(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    names = "".join(f"  var_{i}: varr_{i} + 1\n" for i in range(8000))
    spec.write_text("vars:\n" + names + BASE, encoding="utf-8")
    result = run("validate", spec)
    assert result.exit_code == 1
    assert len(result.stdout.splitlines()) == 101
    assert f"{spec}:2:10: error: var_0: expression 'varr_0 + 1': unknown name 'varr_0'" in (
        result.stdout
    )


# --------------------------------------------------------------------------- linear work


def test_a_long_chain_of_vars_resolves_without_recursion(tmp_path: Path) -> None:
    chain = "".join(f"  v{i}: v{i - 1} + 0\n" for i in range(1, 3000))
    spec = tmp_path / "s.yaml"
    spec.write_text("vars:\n  v0: 64\n" + chain + BASE.replace("d_model: 64", "d_model: v2999"))
    for command in ("count", "formula", "validate"):
        result = run(command, spec)
        assert result.exit_code == 0, result.output


def test_a_long_cycle_of_vars_is_one_located_error(tmp_path: Path) -> None:
    cycle = "".join(f"  v{i}: v{(i + 1) % 500}\n" for i in range(500))
    spec = tmp_path / "s.yaml"
    spec.write_text("vars:\n" + cycle + BASE.replace("d_model: 64", "d_model: v0"))
    result = run("validate", spec)
    assert result.exit_code == 1, result.output
    assert f"{spec}:2:7: error: cycle between fields: v0 → v1 → " in result.stdout
    assert "→ ...; give one of them a number" in result.stdout


def test_a_formula_too_large_to_expand_is_refused_before_building(tmp_path: Path) -> None:
    symbols = ", ".join(f"a{i}: 1" for i in range(16))
    product = "*".join(f"(a{i}+a{i + 1}+a{i + 2}+a{i + 3})" for i in range(12))
    spec = tmp_path / "s.yaml"
    spec.write_text(f"vars: {{{symbols}}}\n" + BASE.replace("d_ff: 256", f'd_ff: "{product}"'))
    assert run("validate", spec).exit_code == 0  # counting it is fine
    for args in (["formula", spec], ["diff", spec, spec]):
        result = run(*args)
        assert result.exit_code == 1, result.output
        assert f"{spec}:6:7: error: d_ff would expand to more than 10,000 terms" in result.output


def test_expanded_terms_bounds_what_expand_gives() -> None:
    import sympy

    from archcalc.formulas import expanded_terms

    a, b, c, d = sympy.symbols("a b c d")
    for expression in [(a + b) * (c + d), (a + b + c) ** 3, (a + b) * c + d, sympy.floor(a + b)]:
        expanded = sympy.expand(expression)
        assert expanded_terms(expression) >= len(sympy.Add.make_args(expanded))
    assert (
        expanded_terms(sympy.Mul(*[sum(sympy.symbols(f"x{i}:{i + 4}")) for i in range(12)]))
        > 10_000
    )


# --------------------------------------------------------------------------- blame


@pytest.mark.parametrize("override", ["moe.n_experts=8", "top_k=2"])
def test_setting_a_field_of_an_absent_group_is_a_usage_error(tmp_path: Path, override: str) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(BASE)
    result = run("count", spec, "--set", override)
    assert result.exit_code == 2, result.output
    assert "this spec has no 'moe' section, so its fields do not exist" in result.stderr


# --------------------------------------------------------------------------- import-hf


def test_import_hf_keeps_a_hostile_file_name_inside_its_comment(tmp_path: Path) -> None:
    config = tmp_path / "c\nfamily: cnn\nn_layers: 99\n.json"
    config.write_text(json.dumps(CONFIG))
    out = tmp_path / "out.yaml"
    result = run("import-hf", config, "-o", out)
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "\nfamily: cnn" not in text and "\nn_layers: 99" not in text
    assert "from " in text.splitlines()[1] and "\\nfamily: cnn" in text.splitlines()[1]
    assert run("count", out, "--json").exit_code == 0


def test_import_hf_refuses_to_overwrite_its_input(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(CONFIG))
    before = config.read_bytes()
    for target in (config, tmp_path / "." / "config.json"):
        result = run("import-hf", config, "-o", target)
        assert result.exit_code == 2, result.output
        assert "that is the config being read" in result.stderr
    assert config.read_bytes() == before


def test_import_hf_errors_point_at_the_config_not_the_unwritten_spec(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({**CONFIG, "num_key_value_heads": 3}, indent=1))
    out = tmp_path / "out.yaml"
    result = run("import-hf", config, "-o", out)
    assert result.exit_code == 1, result.output
    assert f"{config}:" in result.output and "out.yaml" not in result.output
    assert not out.exists()
