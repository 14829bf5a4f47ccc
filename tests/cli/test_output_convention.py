"""One output convention: --format json on every command, --json an alias, typed values,
the version and the --set overrides recorded, failures present in count's arrays."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from archcalc import __version__
from archcalc.cli import COMMANDS, app
from tests.helpers import DATA, EXAMPLES

runner = CliRunner()
LLAMA = str(EXAMPLES / "llama-3-8b.yaml")
GPT2 = str(EXAMPLES / "gpt2-small.yaml")
HF_CONFIG = str(DATA / "hf" / "llama-2-7b.json")

#: One invocation per command, without the output option.
INVOCATIONS = {
    "count": ["count", LLAMA],
    "formula": ["formula", GPT2],
    "validate": ["validate", LLAMA],
    "schema": ["schema", "vit"],
    "plugins": ["plugins"],
    "solve": ["solve", LLAMA, "--for", "n_layers", "--target", "70B"],
    "sweep": ["sweep", GPT2, "--vary", "n_layers=2,4"],
    "size": ["size", LLAMA],
    "diff": ["diff", GPT2, LLAMA],
    "import-hf": ["import-hf", HF_CONFIG, "--schema", "x.json"],
    "tensors": ["tensors", GPT2],
    "check": None,  # needs a checkpoint: h15's tests cover its formats
}


def _json(args: list[str]) -> object:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_every_command_is_listed_here() -> None:
    assert set(INVOCATIONS) == set(COMMANDS)


@pytest.mark.parametrize("command", [c for c, args in INVOCATIONS.items() if args])
def test_every_command_answers_format_json_and_json(command: str) -> None:
    args = INVOCATIONS[command]
    assert args is not None
    by_format = _json([*args, "--format", "json"])
    assert _json([*args, "--json"]) == by_format


@pytest.mark.parametrize("command", ["count", "formula", "solve", "size", "diff", "validate"])
def test_json_records_the_version_and_the_overrides(command: str) -> None:
    args = INVOCATIONS[command]
    assert args is not None
    data = _json([*args, "--json", "--set", "n_layers=24", "--set", "tie_embeddings=true"])
    assert isinstance(data, dict)
    assert data["archcalc_version"] == __version__
    assert data["overrides"] == {"n_layers": 24, "tie_embeddings": True}


def test_a_contradicting_json_and_format_is_a_usage_error() -> None:
    result = runner.invoke(app, ["count", LLAMA, "--json", "--format", "latex"])
    assert result.exit_code == 2


def test_count_text_header_shows_the_overrides() -> None:
    result = runner.invoke(app, ["count", GPT2, "--set", "n_layers=24"])
    assert result.stdout.splitlines()[0].endswith(", --set n_layers=24)")


def test_defaults_used_are_typed() -> None:
    data = _json(["count", LLAMA, "--json"])
    assert isinstance(data, dict)
    assert data["defaults_used"]["d_head"] == 128
    assert data["defaults_used"]["qkv_bias"] is False
    assert data["defaults_used"]["architecture"] == "decoder"


def test_count_arrays_hold_failures_with_their_diagnostics(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("family: transformer\nn_layers: 2\n", encoding="utf-8")
    result = runner.invoke(app, ["count", GPT2, str(bad), LLAMA, "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert [d["valid"] for d in data] == [True, False, True]
    failed = data[1]
    assert failed["file"] == str(bad) and failed["total_params"] is None
    assert {d["code"] for d in failed["diagnostics"]} == {"S202"}
    assert all(d["diagnostics"] == [] for d in (data[0], data[2]))


def test_one_failing_spec_is_one_failure_object(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("family: transformer\n", encoding="utf-8")
    result = runner.invoke(app, ["count", str(bad), "--format", "json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["valid"] is False


def test_count_warnings_are_in_the_json(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text((EXAMPLES / "llama-3-8b.yaml").read_text() + "max_seq_len: 8192\n", "utf-8")
    data = _json(["count", str(spec), "--json"])
    assert isinstance(data, dict)
    assert [d["code"] for d in data["diagnostics"]] == ["T510"]


def test_schema_output_file(tmp_path: Path) -> None:
    target = tmp_path / ".archcalc.schema.json"
    result = runner.invoke(app, ["schema", "-o", str(target)])
    assert result.exit_code == 0
    assert json.loads(target.read_text())["title"] == "archcalc spec"


def test_import_hf_modeline_resolves_offline(tmp_path: Path) -> None:
    """A schema file near the spec is referred to by a relative path; else a pinned URL."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "models" / "llama").mkdir(parents=True)
    out = repo / "models" / "llama" / "llama.yaml"
    result = runner.invoke(app, ["import-hf", HF_CONFIG, "-o", str(out)])
    assert result.exit_code == 0, result.output
    first = out.read_text().splitlines()[0]
    assert first.endswith(f"/v{__version__}/schemas/archcalc.schema.json")
    assert "offline editor cannot load" in result.stderr
    assert runner.invoke(app, ["schema", "-o", str(repo / ".archcalc.schema.json")]).exit_code == 0
    result = runner.invoke(app, ["import-hf", HF_CONFIG, "-o", str(out)])
    assert out.read_text().splitlines()[0] == (
        "# yaml-language-server: $schema=../../.archcalc.schema.json"
    )
    assert "offline" not in result.stderr
    assert runner.invoke(app, ["validate", str(out)]).exit_code == 0


def test_import_hf_json_has_the_spec_and_its_text() -> None:
    data = _json(["import-hf", HF_CONFIG, "--schema", "x.json", "--json"])
    assert isinstance(data, dict)
    assert data["model_type"] == "llama" and data["spec"]["family"] == "transformer"
    assert data["yaml"].startswith("# yaml-language-server: $schema=x.json")
