"""archcalc import-hf: a config.json in, an equivalent, valid spec out."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from archcalc.cli import app
from tests.helpers import DATA

runner = CliRunner()
HF = DATA / "hf"


def _reference(name: str) -> int:
    document = json.loads((DATA / "reference" / "hf.json").read_text(encoding="utf-8"))
    return document["configs"][name]["total_params"]


def test_stdout_spec_has_the_modeline_and_names_its_source() -> None:
    result = runner.invoke(app, ["import-hf", str(HF / "gemma-2-9b.json")])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("# yaml-language-server: $schema=")
    assert "gemma-2-9b.json" in lines[1] and "model_type 'gemma2'" in lines[2]
    assert "family: transformer" in lines
    assert "post_norms: true" in lines  # Gemma 2's four norms per block, first-class


def test_written_spec_counts_validates_and_has_a_formula(tmp_path: Path) -> None:
    spec = tmp_path / "olmo.yaml"
    result = runner.invoke(
        app, ["import-hf", str(HF / "olmo-1b-hf.json"), "-o", str(spec), "--schema", "s.json"]
    )
    assert result.exit_code == 0, result.output
    assert spec.read_text().startswith("# yaml-language-server: $schema=s.json\n")
    counted = runner.invoke(app, ["count", str(spec), "--json"])
    assert json.loads(counted.stdout)["total_params"] == _reference("olmo-1b-hf")
    assert json.loads(counted.stdout)["hf_model_type"] == "olmo"
    assert runner.invoke(app, ["validate", str(spec)]).exit_code == 0
    formula = runner.invoke(app, ["formula", str(spec), "--format", "json"])
    assert formula.exit_code == 0, formula.output
    assert json.loads(formula.stdout)["total_params"] == _reference("olmo-1b-hf")


def test_a_broken_config_is_a_located_error_and_exit_1(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text('{\n  "model_type": "llama",\n  "hidden_size": 4096,\n}')
    result = runner.invoke(app, ["import-hf", str(config)])
    assert result.exit_code == 1
    assert f"{config}:4:1: error: invalid JSON" in result.stderr
    assert "Traceback" not in result.output


def test_unknown_model_type_exit_1_says_where_the_list_is(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text('{"model_type": "toyrnn"}')
    result = runner.invoke(app, ["import-hf", str(config)])
    assert result.exit_code == 1
    assert "unsupported model_type 'toyrnn': no installed plugin reads it" in result.stderr
    assert "`archcalc plugins` lists them" in result.stderr


def test_output_to_a_directory_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["import-hf", str(HF / "gpt2.json"), "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert "not a regular file" in result.stderr


def test_missing_config_file_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    result = runner.invoke(app, ["import-hf", str(tmp_path / "nope.json")])
    assert result.exit_code == 1
    assert "nope.json" in result.stderr and "Traceback" not in result.output
