"""archcalc sweep: exact counts over a grid of values (pinned command)."""

from __future__ import annotations

import csv
import io
import itertools
import json
import sys
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any

import typer

from archcalc.cli._app import (
    JsonOpt,
    PluginOpt,
    SetOpt,
    _format,
    _guard,
    _load,
    _overrides,
    _registry,
    _warn,
    app,
)
from archcalc.errors import UsageError, safe, safe_text

FORMATS = ("table", "text", "csv", "json")  # text is the table
#: More rows than this are not written to a terminal: the table shows the first and last
#: ones, csv and json are refused (with how to write them to a file instead).
TERMINAL_ROWS = 1_000
#: Rows of a table shown on a terminal beyond TERMINAL_ROWS: the first ones, then the last.
HEAD_ROWS, TAIL_ROWS = 40, 10
#: Grids at least this large show a progress bar (when stderr is a terminal).
PROGRESS_MIN_ROWS = 200_000
#: Most curves drawn by --plot (one per combination of the keys after the first).
MAX_CURVES = 24


def _value(value: int | Fraction) -> int | str:
    """Ints stay numbers; exact fractions become "3/2" (never floats)."""
    if isinstance(value, Fraction) and value.denominator != 1:
        return f"{value.numerator}/{value.denominator}"
    return int(value)


def _progress() -> Any:
    """A callback drawing a one-line bar on stderr; None when stderr is not a terminal."""
    if not sys.stderr.isatty():
        return None
    state = {"last": -1}

    def update(done: int, total: int) -> None:
        if total < PROGRESS_MIN_ROWS:
            return
        percent = 100 * done // max(total, 1)
        if percent == state["last"]:
            return
        state["last"] = percent
        bar = "#" * (percent // 4)
        end = "\n" if done >= total else ""
        line = f"\rsweep [{bar:<25}] {percent:3d}% of {total:,} rows{end}"
        getattr(sys.stderr, "raw", sys.stderr.write)(line)  # our own carriage return
        sys.stderr.flush()

    return update


def _cell(value: int | Fraction) -> str:
    if isinstance(value, Fraction) and value.denominator != 1:
        return f'"{value.numerator}/{value.denominator}"'
    return str(int(value))


def _json_rows(result: Any, labels: dict[str, str]) -> Iterator[str]:
    """JSON text a chunk at a time (a 10M-row grid never sits in memory as one string)."""
    names = [json.dumps(labels[k]) for k in result.keys]
    first = True
    yield "["
    for chunk in result.chunks():
        yield _json_text(chunk, names, first)
        first = False
    yield "\n]\n"


def _json_text(chunk: Any, names: list[str], first: bool) -> str:
    columns, total, active, codes = _columns(chunk, quote=True)
    head = "\n  {" + ", ".join(f"{n}: %s" for n in names)
    valid = head + ', "total_params": %s, "active_params": %s, "valid": true}'
    if not any(codes):
        text = (("," + valid) * len(codes)) % tuple(_interleave(*columns, total, active))
        return text[1:] if first else text
    invalid = {
        code: ', "total_params": null, "active_params": null, "valid": false, '
        f'"error": {json.dumps(chunk.messages[code])}}}'
        for code in set(codes)
        if code
    }
    rows = [
        (head % tuple(cells) + invalid[code]) if code else (valid % (*cells, t, a))
        for *cells, t, a, code in zip(*columns, total, active, codes, strict=True)
    ]
    return ("" if first else ",") + ",".join(rows)


def _csv_rows(result: Any, labels: dict[str, str]) -> Iterator[str]:
    """CSV text a chunk at a time."""
    yield _csv_line([*labels.values(), "total_params", "active_params", "valid", "error"])
    for chunk in result.chunks():
        yield _csv_text(chunk)


def _csv_text(chunk: Any) -> str:
    columns, total, active, codes = _columns(chunk, quote=False)
    head = ",".join(["%s"] * len(columns))
    valid = head + ",%s,%s,true,\n"
    if not any(codes):
        return (valid * len(codes)) % tuple(_interleave(*columns, total, active))
    invalid = {code: ",,,false," + _csv_line([chunk.messages[code]]) for code in set(codes) if code}
    return "".join(
        (head % tuple(cells) + invalid[code]) if code else (valid % (*cells, t, a))
        for *cells, t, a, code in zip(*columns, total, active, codes, strict=True)
    )


def _csv_line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()


def _columns(chunk: Any, quote: bool) -> tuple[list[list[Any]], list[Any], list[Any], list[int]]:
    """A chunk's columns as Python lists; exact fractions as ``3/2`` (``"3/2"`` in JSON)."""
    from archcalc.sweep import _pylist

    columns = []
    for column in chunk.columns.values():
        values = _pylist(column)
        if any(isinstance(v, Fraction) for v in values):
            values = [_cell(v) if quote else _cell(v).strip('"') for v in values]
        columns.append(values)
    return columns, _pylist(chunk.total), _pylist(chunk.active), _pylist(chunk.codes)


def _interleave(*columns: list[Any]) -> Iterator[Any]:
    return itertools.chain.from_iterable(zip(*columns, strict=True))


def _table_rows(result: Any, labels: dict[str, str], limit: int | None = None) -> Iterator[str]:
    """The table; with ``limit``, only the first and last rows (a terminal's view)."""
    from archcalc.render import human

    header = [*labels.values(), "total_params", "≈ total", "active_params"]
    rows: list[list[str] | None] = []
    cut = limit is not None and result.n_rows > limit
    for i, row in enumerate(result.rows()):
        if cut and i == HEAD_ROWS:
            rows.append(None)  # the rows not shown
        if cut and HEAD_ROWS <= i < result.n_rows - TAIL_ROWS:
            continue
        cells = [
            f"{_value(v):,}" if isinstance(_value(v), int) else str(_value(v))
            for v in row.values.values()
        ]
        if row.valid:
            cells += [f"{row.total_params:,}", human(row.total_params), f"{row.active_params:,}"]
        else:
            cells += ["invalid", "", row.error or ""]
        rows.append(cells)
    present = [r for r in rows if r is not None]
    widths = [max(len(header[i]), *(len(r[i]) for r in present)) for i in range(len(header) - 1)]
    lines = [
        "  ".join(h.rjust(w) for h, w in zip(header, widths, strict=False)) + "  " + header[-1]
    ]
    for shown in rows:
        if shown is None:
            hidden = result.n_rows - HEAD_ROWS - TAIL_ROWS
            lines.append(f"... {hidden:,} rows not shown on a terminal ...")
            continue
        body = "  ".join(c.rjust(w) for c, w in zip(shown, widths, strict=False))
        lines.append(body + "  " + shown[-1])
    invalid = result.invalid or 0
    lines.append("")
    lines.append(f"{result.n_rows:,} rows, {invalid:,} invalid ({result.method})")
    if cut:
        lines.append("all rows: -o FILE, or --format csv > FILE")
    yield "\n".join(lines) + "\n"


def _plot(result: Any, labels: dict[str, str], path: Path, title: str, log: bool) -> None:
    """Parameters against the first varied key, one curve per combination of the others.

    Invalid rows are gaps in their curve (never bridged by a line); an MoE sweep, whose
    active parameters differ from the total, draws both (active dashed). The unit (M, B
    or T parameters) follows the largest count.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("--plot needs matplotlib: pip install 'archcalc[plot]'") from None
    from archcalc.render import UNITS

    keys = list(result.keys)
    curves: dict[tuple[Any, ...], tuple[list[float], list[float], list[float]]] = {}
    largest, moe = 0, False
    for row in result.rows():
        rest = tuple(row.values[k] for k in keys[1:])
        if rest not in curves and len(curves) >= MAX_CURVES:
            continue
        xs, totals, actives = curves.setdefault(rest, ([], [], []))
        xs.append(float(row.values[keys[0]]))
        nan = float("nan")  # matplotlib leaves a gap at NaN
        totals.append(float(row.total_params) if row.valid else nan)
        actives.append(float(row.active_params) if row.valid else nan)
        if row.valid:
            largest = max(largest, row.total_params)
            moe = moe or row.active_params != row.total_params
    scale, unit = next(((s, u) for s, u in UNITS if largest >= s), (1, ""))
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for rest, (xs, totals, actives) in curves.items():
        label = ", ".join(f"{labels[k]}={_value(v)}" for k, v in zip(keys[1:], rest, strict=True))
        line = axes.plot(
            xs, [t / scale for t in totals], marker=".", label=(label + " total" if moe else label)
        )
        if moe:
            axes.plot(
                xs,
                [a / scale for a in actives],
                marker=".",
                linestyle="--",
                color=line[0].get_color(),
                label=(label + " active").strip(),
            )
    axes.set_title(title)
    axes.set_xlabel(labels[keys[0]])
    what = "parameters (total, and active per token dashed)" if moe else "total parameters"
    axes.set_ylabel(f"{what}" + (f" ({unit})" if unit else ""))
    if log:
        axes.set_yscale("log")
    if len(keys) > 1 or moe:
        axes.legend(fontsize="small")
    axes.grid(True, alpha=0.3)
    figure.tight_layout()
    try:
        figure.savefig(path)
    except OSError as exc:
        raise UsageError(f"--plot {path}: {exc.strerror or exc}") from None
    finally:
        plt.close(figure)


@app.command()
def sweep(
    spec: Annotated[Path, typer.Argument(help="Spec file (YAML).", show_default=False)],
    vary: Annotated[
        list[str],
        typer.Option(
            "--vary",
            "-v",
            metavar="KEY=VALUES",
            help="KEY=a,b,c or KEY=START:STOP[:STEP] (STOP included). Repeatable: the grid is "
            "the cartesian product.",
        ),
    ],
    fmt: Annotated[
        str,
        typer.Option("--format", "-f", metavar="FORMAT", help="table (or text), csv or json."),
    ] = "table",
    as_json: JsonOpt = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write the rows to FILE."),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", metavar="FILE", help="Draw the size curves (needs matplotlib)."),
    ] = None,
    log: Annotated[
        bool, typer.Option("--log", help="With --plot: a logarithmic parameter axis.")
    ] = False,
    set_: SetOpt = None,
    plugin: PluginOpt = None,
) -> None:
    """Count every combination of the varied keys, exactly.

    Rows that would be invalid specs (heads not dividing the width...) are reported with
    valid false and the error, never silently counted. The last --vary varies fastest.

    Examples:

      archcalc sweep examples/llama-3-8b.yaml --vary n_layers=16:128:16

      archcalc sweep examples/llama-3-8b.yaml --vary width=2048,4096,8192 --vary n_layers=32,64

      archcalc sweep examples/gpt2-small.yaml --vary n_heads=8:16 --format json

      archcalc sweep examples/llama-3-8b.yaml --vary n_layers=1:4096 --format csv -o grid.csv

    To a terminal, a table past 1,000 rows shows its first and last rows, and csv or json
    past 1,000 rows is refused: write them with -o FILE (or redirect).
    """
    with _guard():
        from archcalc import sweep as sweeper

        fmt = _format(fmt, as_json, FORMATS)
        parsed = [sweeper.parse_vary(item) for item in vary]
        overrides = _overrides(set_)
        _registry(plugin)
        loaded = _load(spec, overrides)
        _warn(loaded.warnings)
        result = sweeper.sweep(loaded, parsed, progress=_progress())
        labels = {v.name: v.key for v in result.varies}
        if plot is not None:
            title = f"{safe(loaded.name)}: parameters against {labels[result.keys[0]]}"
            _plot(result, labels, plot, title, log)
        _write(result, labels, fmt, output)


def _stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def _write(result: Any, labels: dict[str, str], fmt: str, output: Path | None) -> None:
    """Stream the rows to ``output`` or stdout; a terminal gets at most a screenful."""
    terminal = output is None and _stdout_is_terminal()
    limit = TERMINAL_ROWS if terminal else None
    if fmt in ("csv", "json") and terminal and result.n_rows > TERMINAL_ROWS:
        raise UsageError(
            f"{result.n_rows:,} rows of {fmt} would scroll past on the terminal; "
            f"write them to a file: -o rows.{fmt} (or redirect: > rows.{fmt})"
        )
    if fmt in ("table", "text"):
        chunks = _table_rows(result, labels, limit)
    else:
        chunks = {"json": _json_rows, "csv": _csv_rows}[fmt](result, labels)
    if output is None:
        for chunk in chunks:
            sys.stdout.write(safe_text(chunk))
        sys.stdout.flush()
        return
    if output.exists() and not output.is_file():
        raise UsageError(f"--output {output}: not a regular file")
    try:
        with output.open("w", encoding="utf-8", newline="") as handle:
            for chunk in chunks:
                handle.write(chunk)
    except OSError as exc:
        raise UsageError(f"--output {output}: {exc.strerror or exc}") from None
