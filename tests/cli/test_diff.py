"""``archcalc diff`` on the command line."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from archcalc.cli import app
from tests.helpers import EXAMPLES, reference

runner = CliRunner()


def test_json_totals_match_the_reference_counts() -> None:
    a, b = str(EXAMPLES / "llama-3-8b.yaml"), str(EXAMPLES / "llama-2-7b.yaml")
    result = runner.invoke(app, ["diff", a, b, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    expected = reference()["llama-3-8b"]["total_params"] - reference()["llama-2-7b"]["total_params"]
    assert data["total"]["difference"] == expected
    assert {p["name"] for p in data["parts"]} >= {"attention", "mlp", "embeddings", "lm head"}
    assert data["formula"] is not None


def test_set_applies_to_both_and_text_names_both_specs() -> None:
    path = str(EXAMPLES / "gpt2-small.yaml")
    result = runner.invoke(app, ["diff", path, path, "--set", "n_layers=6"])
    assert result.exit_code == 0
    assert "A − B = +0" in result.stdout


def test_missing_file_is_an_error_without_traceback() -> None:
    result = runner.invoke(app, ["diff", str(EXAMPLES / "gpt2-small.yaml"), "nope.yaml"])
    assert result.exit_code in (1, 2)
    assert "Traceback" not in result.output
