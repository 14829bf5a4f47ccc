"""``archcalc sweep`` on the command line: pinned JSON rows, CSV, table, --plot."""

from __future__ import annotations

import csv
import io
import json
import sys

import pytest
from typer.testing import CliRunner

from archcalc.cli import app
from tests.helpers import EXAMPLES

runner = CliRunner()
GPT2 = str(EXAMPLES / "gpt2-small.yaml")


def _count(*sets: str) -> dict[str, int]:
    args = [x for s in sets for x in ("--set", s)]
    return json.loads(runner.invoke(app, ["count", GPT2, "--json", *args]).stdout)


def test_json_rows_have_the_varied_keys_and_equal_count_with_set() -> None:
    result = runner.invoke(
        app,
        ["sweep", GPT2, "--vary", "n_layers=6:12:6", "--vary", "d_model=576,768", "-f", "json"],
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["n_layers"], r["d_model"]) for r in rows] == [
        (6, 576),
        (6, 768),
        (12, 576),
        (12, 768),
    ]
    for row in rows:
        truth = _count(f"n_layers={row['n_layers']}", f"d_model={row['d_model']}")
        assert row["total_params"] == truth["total_params"]
        assert row["active_params"] == truth["active_params"]
        assert row["valid"] is True


def test_invalid_rows_say_why_in_json_and_csv() -> None:
    args = ["sweep", GPT2, "--vary", "n_heads=11,12"]
    rows = json.loads(runner.invoke(app, [*args, "-f", "json"]).stdout)
    assert rows[0]["valid"] is False and rows[0]["total_params"] is None
    assert "d_head" in rows[0]["error"]
    table = list(csv.DictReader(io.StringIO(runner.invoke(app, [*args, "-f", "csv"]).stdout)))
    assert [r["valid"] for r in table] == ["false", "true"]
    assert int(table[1]["total_params"]) == _count("n_heads=12")["total_params"]


def test_table_lists_rows_and_a_summary() -> None:
    result = runner.invoke(app, ["sweep", GPT2, "--vary", "n_layers=1:3"])
    assert result.exit_code == 0
    assert "3 rows, 0 invalid" in result.stdout
    assert f"{_count('n_layers=3')['total_params']:,}" in result.stdout


def test_usage_errors_exit_2() -> None:
    for args in (
        ["--vary", "n_layers=5:1"],
        ["--vary", "nope=1"],
        ["--vary", "n_layers=1", "-f", "xml"],
    ):
        result = runner.invoke(app, ["sweep", GPT2, *args])
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output


def test_plot_without_matplotlib_is_a_clear_usage_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    out = tmp_path / "curve.png"
    result = runner.invoke(app, ["sweep", GPT2, "--vary", "n_layers=1:3", "--plot", str(out)])
    assert result.exit_code == 2
    assert "pip install 'archcalc[plot]'" in result.stderr
    assert not out.exists()


def test_progress_is_reported_after_each_chunk_is_written(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bar covers the whole run: computing and writing, chunk by chunk."""
    from archcalc import sweep as sweeper
    from archcalc.cli import sweep as command

    events: list[tuple[str, int]] = []
    monkeypatch.setattr(sweeper, "CHUNK_ROWS", 4)
    monkeypatch.setattr(
        command, "_progress", lambda: lambda done, total: events.append(("bar", done))
    )
    text = command._csv_text
    monkeypatch.setattr(
        command, "_csv_text", lambda chunk: events.append(("rows", len(chunk))) or text(chunk)
    )
    result = runner.invoke(app, ["sweep", GPT2, "--vary", "n_layers=1:10", "-f", "csv"])
    assert result.exit_code == 0, result.output
    assert events == [("rows", 4), ("bar", 4), ("rows", 4), ("bar", 8), ("rows", 2), ("bar", 10)]
    assert len(result.stdout.splitlines()) == 11
