"""``archcalc sweep`` on the command line: pinned JSON rows, CSV, table, --plot."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

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


class _Axes:
    """Records what the plot draws (a stand-in for matplotlib's Axes)."""

    def __init__(self) -> None:
        self.lines: list[dict[str, object]] = []
        self.calls: dict[str, object] = {}

    def plot(self, xs: list[float], ys: list[float], **style: object) -> list[object]:
        self.lines.append({"xs": list(xs), "ys": list(ys), **style})

        class Line:
            def get_color(self) -> str:
                return "C0"

        return [Line()]

    def __getattr__(self, name: str) -> object:
        def record(*args: object, **kwargs: object) -> None:
            self.calls[name] = args[0] if args else kwargs

        return record


@pytest.fixture
def plotted(monkeypatch: pytest.MonkeyPatch) -> _Axes:
    """A fake matplotlib: the test sees the lines, labels and scale the plot asked for."""
    import types

    axes = _Axes()
    figure = types.SimpleNamespace(tight_layout=lambda: None, savefig=lambda path: None)
    pyplot = types.ModuleType("matplotlib.pyplot")
    pyplot.subplots = lambda **_: (figure, axes)  # type: ignore[attr-defined]
    pyplot.close = lambda fig: None  # type: ignore[attr-defined]
    matplotlib = types.ModuleType("matplotlib")
    matplotlib.use = lambda backend: None  # type: ignore[attr-defined]
    matplotlib.pyplot = pyplot  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "matplotlib", matplotlib)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", pyplot)
    return axes


def test_plot_has_a_title_units_and_gaps_for_invalid_rows(plotted: _Axes, tmp_path: Path) -> None:
    """n_heads=11 does not divide d_model=768: a gap in the curve, not a bridged line."""
    args = ["sweep", GPT2, "--vary", "n_heads=8,11,12", "--plot", str(tmp_path / "p.png")]
    assert runner.invoke(app, args).exit_code == 0
    (line,) = plotted.lines
    assert line["xs"] == [8.0, 11.0, 12.0]
    ys = line["ys"]
    assert ys[1] != ys[1] and ys[0] == ys[0]  # NaN at the invalid row only
    assert ys[2] == _count("n_heads=12")["total_params"] / 1e6  # in millions
    assert plotted.calls["set_title"] == "gpt2-small: parameters against n_heads"
    assert plotted.calls["set_ylabel"] == "total parameters (M)"
    assert "set_yscale" not in plotted.calls


def test_plot_log_scale_and_active_parameters_of_an_moe(plotted: _Axes, tmp_path: Path) -> None:
    mixtral = str(EXAMPLES / "mixtral-8x7b.yaml")
    args = ["sweep", mixtral, "--vary", "top_k=1:2", "--plot", str(tmp_path / "p.png"), "--log"]
    assert runner.invoke(app, args).exit_code == 0
    total, active = plotted.lines
    assert total["ys"][0] == total["ys"][1]  # routing more experts adds no parameters
    assert active["ys"][0] < active["ys"][1] and active["linestyle"] == "--"
    assert plotted.calls["set_yscale"] == "log"
    assert "(B)" in str(plotted.calls["set_ylabel"])


def test_the_table_labels_every_column() -> None:
    result = runner.invoke(app, ["sweep", GPT2, "--vary", "n_layers=1:2"])
    header = result.stdout.splitlines()[0].split("  ")
    assert all(cell.strip() for cell in header if cell)
    assert "≈ total" in result.stdout.splitlines()[0]


def test_a_terminal_gets_a_screenful_or_a_hint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from archcalc.cli import sweep as sweep_cli

    monkeypatch.setattr(sweep_cli, "_stdout_is_terminal", lambda: True)
    big = ["sweep", GPT2, "--vary", "n_layers=1:3000"]
    result = runner.invoke(app, big)
    assert result.exit_code == 0
    assert "... 2,950 rows not shown on a terminal ..." in result.stdout
    assert len(result.stdout.splitlines()) < 60
    assert "all rows: -o FILE" in result.stdout
    refused = runner.invoke(app, [*big, "--format", "csv"])
    assert refused.exit_code == 2 and "-o rows.csv" in refused.stderr
    out = tmp_path / "rows.csv"
    written = runner.invoke(app, [*big, "--format", "csv", "-o", str(out)])
    assert written.exit_code == 0 and written.stdout == ""
    assert len(out.read_text().splitlines()) == 3001
