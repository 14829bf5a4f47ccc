"""``archcalc validate``: every independent problem in one run, codes, --strict, formats."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from archcalc.cli import app
from tests.helpers import OTHER_FILES, ROOT, realistic_repo

runner = CliRunner()
THREE = ROOT / "examples" / "lint" / "three-mistakes.yaml"
BASE = """family: transformer
n_layers: 2
d_model: 64
n_heads: 4
d_ff: 128
vocab_size: 100
"""


def _validate(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["validate", *args])
    return result.exit_code, result.stdout, result.stderr


def _write(tmp_path: Path, text: str, name: str = "spec.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


LINE = re.compile(r"^.+?:(\d+):\d+: (?:error|warning): .* \[([A-Z0-9]+)\]$", re.M)


def _located(stdout: str) -> list[tuple[int, str]]:
    return [(int(m.group(1)), m.group(2)) for m in LINE.finditer(stdout)]


def test_three_independent_mistakes_in_one_run() -> None:
    """The issue's spec: a YAML 1.1 boolean, a misspelt choice and GQA heads that do not divide."""
    code, out, _ = _validate(str(THREE))
    assert code == 1
    assert _located(out) == [(7, "T501"), (10, "S204"), (11, "Y110")]
    assert "did you mean 'rmsnorm'?" in out


def test_a_misspelt_required_key_gives_no_consequential_errors(tmp_path: Path) -> None:
    text = BASE.replace("d_model: 64", "d_modle: 64") + "d_embed: d_model\nd_head: 'd_model / 4'\n"
    code, out, _ = _validate(_write(tmp_path, text))
    assert code == 1
    assert _located(out) == [(1, "S202"), (3, "S201")], out
    assert "unknown name" not in out


def test_a_bad_vars_block_does_not_make_every_reference_unknown(tmp_path: Path) -> None:
    text = "vars: 5\n" + BASE.replace("d_model: 64", "d_model: width")
    code, out, _ = _validate(_write(tmp_path, text))
    assert code == 1
    assert [c for _, c in _located(out)] == ["S203"], out


def test_problems_in_different_stages_of_one_file(tmp_path: Path) -> None:
    """YAML, schema, expression and semantic problems, each at its line."""
    text = (
        BASE.replace("d_ff: 128", "d_ff: 4 * widht")
        + "n_kv_heads: 3\nbias: off\nmlp: swiglu\nmlp_bias: true\nmoe: {n_experts: 4, top_k: 9}\n"
        + "x-ok: 1\nunknown_key: 1\n"
    )
    code, out, _ = _validate(_write(tmp_path, text))
    assert code == 1
    found = _located(out)
    assert (5, "X302") in found and (7, "T501") in found and (8, "Y110") in found
    assert (11, "T503") in found and (13, "S201") in found


def test_a_check_still_runs_beside_an_unknown_cnn_key(tmp_path: Path) -> None:
    text = (
        "family: cnn\ninput: [3, 8, 8]\nlayers:\n  - conv2d: {out_channels: 4, kernel_size: 9}\n"
        "extra: 1\n"
    )
    code, out, _ = _validate(_write(tmp_path, text))
    assert code == 1
    assert sorted(c for _, c in _located(out)) == ["C603", "S201"], out


def test_json_carries_the_code_of_every_diagnostic() -> None:
    code, out, _ = _validate(str(THREE), "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert [d["code"] for d in data["diagnostics"]] == ["T501", "S204", "Y110"]
    assert data["valid"] is False


def test_strict_fails_on_a_warning(tmp_path: Path) -> None:
    path = _write(tmp_path, BASE + "max_seq_len: 2048\n")
    code, out, _ = _validate(path)
    assert code == 0 and "warning:" in out and "[T510]" in out
    code, out, _ = _validate(path, "--strict")
    assert code == 1 and "[T510]" in out


def test_strict_passes_once_the_warning_is_silenced(tmp_path: Path) -> None:
    path = _write(tmp_path, BASE + "max_seq_len: 2048  # archcalc: ignore[T510]\n")
    code, out, _ = _validate(path, "--strict")
    assert code == 0 and out == ""


def test_github_annotations_name_the_rule() -> None:
    code, out, _ = _validate(str(THREE), "--format", "github")
    assert code == 1
    assert out.splitlines()[0].startswith("::error file=")
    assert "title=archcalc T501::n_kv_heads (6) must divide" in out


def test_readme_validate_sample_is_real_output() -> None:
    """The README's validate example is what the command prints (stdout, then stderr)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```console\n\$ archcalc (validate [^\n]*)\n(.*?)```", readme, re.S)
    assert blocks, "the README shows a validate run"
    for command, shown in blocks:
        result = runner.invoke(app, command.split())
        assert result.stdout + result.stderr == shown, command


CRASHING_PLUGIN = """
from archcalc import Breakdown, Family, Field, Part, hookimpl


def count(spec):
    if spec.values.width > 3:
        raise ZeroDivisionError("the plugin's own bug")
    return Breakdown((Part("w", spec.values.width),))


@hookimpl
def archcalc_families():
    width = Field("width", "size", "w")
    return [Family("crashy", "Counts width, crashes past 3.", (width,), count)]
"""


def test_a_folder_is_searched_for_specs(tmp_path: Path) -> None:
    realistic_repo(tmp_path)
    code, out, err = _validate(str(tmp_path))
    assert code == 0, out + err
    assert "3 specs checked, all valid (5 other YAML files left alone)" in err


def test_a_folder_with_a_broken_spec_reports_it_located(tmp_path: Path) -> None:
    specs = realistic_repo(tmp_path)
    tiny = tmp_path / "models" / "tiny.yaml"
    tiny.write_text(specs["models/tiny.yaml"].replace("family: transformer\n", ""), "utf-8")
    code, out, _ = _validate(str(tmp_path / "models"))
    assert code == 1
    assert f"{tiny}:2:1: error: missing required key 'family'" in out
    assert "add family: transformer [S206]" in out


def test_only_specs_leaves_other_yaml_alone(tmp_path: Path) -> None:
    realistic_repo(tmp_path)
    names = [str(tmp_path / n) for n in OTHER_FILES if n.endswith((".yml", ".yaml"))]
    code, out, err = _validate("--only-specs", *names)
    assert code == 0 and out == "", out
    assert "0 specs checked" in err
    code, out, _ = _validate(*names[:1])  # named without --only-specs: checked as a spec
    assert code == 1


def test_validate_runs_the_count_and_a_plugin_crash_is_exit_3(tmp_path: Path) -> None:
    plugin = _write(tmp_path, CRASHING_PLUGIN, "crashy.py")
    good = _write(tmp_path, "family: crashy\nwidth: 2\n", "good.yaml")
    bad = _write(tmp_path, "family: crashy\nwidth: 5\n", "bad.yaml")
    code, _, err = _validate(good, "--plugin", plugin)
    assert code == 0, err
    code, _, err = _validate(good, bad, "--plugin", plugin)
    assert code == 3
    assert "archcalc: plugin error: plugin '" in err and "crashy.py' failed" in err
    assert "bad.yaml" in err and err.count("\n") == 1  # one line, no summary
    assert "ZeroDivisionError" in err and "Traceback" not in err
    data = json.loads(_validate(good, bad, "--plugin", plugin, "--format", "json")[1])
    assert [f["valid"] for f in data["files"]] == [True, False]
    assert "ZeroDivisionError" in data["files"][1]["plugin_error"]


def test_json_records_version_overrides_and_files(tmp_path: Path) -> None:
    from archcalc import __version__

    path = _write(tmp_path, BASE + "max_seq_len: 2048\n")
    code, out, _ = _validate(path, "--json", "--set", "n_layers=4", "--set", "bias=true")
    assert code == 0
    data = json.loads(out)
    assert data["archcalc_version"] == __version__
    assert data["overrides"] == {"n_layers": 4, "bias": True}
    assert data["files"] == [
        {
            "file": path,
            "valid": True,
            "family": "transformer",
            "name": "spec",
            "errors": 0,
            "warnings": 1,
        }
    ]
    assert data["diagnostics"][0]["code"] == "T510"


def test_sarif_has_what_code_scanning_reads(tmp_path: Path, monkeypatch: object) -> None:
    """SARIF 2.1.0: a run of archcalc, a rule per code, a located result per diagnostic.

    (Checked against the official SARIF 2.1.0 JSON Schema during development; the schema
    is not vendored here.)
    """
    code, out, _ = _validate("examples/lint/three-mistakes.yaml", "--format", "sarif")
    assert code == 1
    log = json.loads(out)
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "archcalc"
    assert [r["id"] for r in driver["rules"]] == ["S204", "T501", "Y110"]
    assert all(r["shortDescription"]["text"] and r["helpUri"] for r in driver["rules"])
    results = run["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [
        ("T501", "error"),
        ("S204", "error"),
        ("Y110", "error"),
    ]
    for result in results:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"] == {
            "uri": "examples/lint/three-mistakes.yaml",
            "uriBaseId": "%SRCROOT%",
        }
        assert physical["region"]["startLine"] >= 1 and result["message"]["text"]
    assert run["invocations"] == [{"executionSuccessful": True}]


def test_sarif_uris_are_escaped(tmp_path: Path) -> None:
    path = _write(tmp_path, "family: transformer\n", "my spec #1.yaml")
    log = json.loads(_validate(path, "--format", "sarif")[1])
    uri = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert uri["uri"].startswith("file:///") and uri["uri"].endswith("my%20spec%20%231.yaml")


def test_unknown_format_is_a_usage_error() -> None:
    code, _, err = _validate(str(THREE), "--format", "xml")
    assert code == 2 and "text, json, github, sarif" in err
