"""``archcalc solve`` on the command line: pinned JSON, table, exit codes."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from archcalc.cli import app
from tests.helpers import EXAMPLES, reference

runner = CliRunner()
LLAMA2 = str(EXAMPLES / "llama-2-7b.yaml")


def test_json_has_the_pinned_fields_and_brackets_the_target() -> None:
    result = runner.invoke(app, ["solve", LLAMA2, "--for", "n_layers", "--target", "70B", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["for"] == "n_layers" and data["target"] == 70 * 10**9
    assert float(data["root"]) > 0
    totals = [c["total_params"] for c in data["candidates"]]
    assert min(totals) <= 70 * 10**9 <= max(totals)
    for candidate in data["candidates"]:
        counted = runner.invoke(
            app, ["count", LLAMA2, "--json", "--set", f"n_layers={candidate['value']}"]
        )
        assert json.loads(counted.stdout)["total_params"] == candidate["total_params"]


def test_text_is_a_table_with_the_formula() -> None:
    target = str(reference()["llama-2-7b"]["total_params"])
    result = runner.invoke(app, ["solve", LLAMA2, "--for", "d_model", "--target", target])
    assert result.exit_code == 0, result.output
    assert "total_params = " in result.stdout and "4,096" in result.stdout
    assert "+0.00%" in result.stdout


def test_set_applies_before_solving() -> None:
    base = runner.invoke(app, ["solve", LLAMA2, "--for", "n_layers", "--target", "7B", "--json"])
    wide = runner.invoke(
        app,
        ["solve", LLAMA2, "--for", "n_layers", "--target", "7B", "--json", "--set", "d_ff=22016"],
    )
    first = json.loads(base.stdout)["candidates"][-1]["value"]
    second = json.loads(wide.stdout)["candidates"][-1]["value"]
    assert second < first


def test_usage_errors_exit_2_without_traceback() -> None:
    for args in (
        ["--for", "n_layers", "--target", "7 parsecs"],
        ["--for", "n_layrs", "--target", "7B"],
        ["--for", "n_layers", "--target", "1e30"],
    ):
        result = runner.invoke(app, ["solve", LLAMA2, *args])
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output and "error" in result.stderr


def test_invalid_spec_exits_1(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.yaml"
    bad.write_text("family: transformer\nn_layers: 0\n", encoding="utf-8")
    result = runner.invoke(app, ["solve", str(bad), "--for", "n_layers", "--target", "7B"])
    assert result.exit_code == 1
    assert "bad.yaml:" in result.stderr
