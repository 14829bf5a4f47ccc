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
    PluginOpt,
    SetOpt,
    _guard,
    _load,
    _overrides,
    _registry,
    _warn,
    app,
)
from archcalc.errors import UsageError

FORMATS = ("table", "csv", "json")
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
        sys.stderr.write(f"\rsweep [{bar:<25}] {percent:3d}% of {total:,} rows{end}")
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


def _table_rows(result: Any, labels: dict[str, str]) -> Iterator[str]:
    from archcalc.render import human

    header = [*labels.values(), "total_params", "", "active_params"]
    rows = []
    for row in result.rows():
        cells = [
            f"{_value(v):,}" if isinstance(_value(v), int) else str(_value(v))
            for v in row.values.values()
        ]
        if row.valid:
            cells += [f"{row.total_params:,}", human(row.total_params), f"{row.active_params:,}"]
        else:
            cells += ["invalid", "", row.error or ""]
        rows.append(cells)
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header) - 1)]
    lines = [
        "  ".join(h.rjust(w) for h, w in zip(header, widths, strict=False)) + "  " + header[-1]
    ]
    for cells in rows:
        body = "  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=False))
        lines.append(body + "  " + cells[-1])
    invalid = result.invalid or 0
    lines.append("")
    lines.append(f"{result.n_rows:,} rows, {invalid:,} invalid ({result.method})")
    yield "\n".join(lines) + "\n"


def _plot(result: Any, labels: dict[str, str], path: Path) -> None:
    """Total parameters against the first varied key, one curve per other combination."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("--plot needs matplotlib: pip install 'archcalc[plot]'") from None
    keys = list(result.keys)
    curves: dict[tuple[Any, ...], tuple[list[float], list[float]]] = {}
    for row in result.rows():
        if not row.valid:
            continue
        rest = tuple(row.values[k] for k in keys[1:])
        if rest not in curves and len(curves) >= MAX_CURVES:
            continue
        xs, ys = curves.setdefault(rest, ([], []))
        xs.append(float(row.values[keys[0]]))
        ys.append(float(row.total_params))
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for rest, (xs, ys) in curves.items():
        label = ", ".join(f"{labels[k]}={_value(v)}" for k, v in zip(keys[1:], rest, strict=True))
        axes.plot(xs, ys, marker=".", label=label or None)
    axes.set_xlabel(labels[keys[0]])
    axes.set_ylabel("total parameters")
    if len(keys) > 1:
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
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json.")] = "table",
    plot: Annotated[
        Path | None,
        typer.Option("--plot", metavar="FILE", help="Draw the size curves (needs matplotlib)."),
    ] = None,
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
    """
    with _guard():
        from archcalc import sweep as sweeper

        if fmt not in FORMATS:
            raise UsageError(f"--format must be one of {', '.join(FORMATS)}, got '{fmt}'")
        parsed = [sweeper.parse_vary(item) for item in vary]
        overrides = _overrides(set_)
        _registry(plugin)
        loaded = _load(spec, overrides)
        _warn(loaded.warnings)
        result = sweeper.sweep(loaded, parsed, progress=_progress())
        labels = {v.name: v.key for v in result.varies}
        if plot is not None:
            _plot(result, labels, plot)
        chunks = {"json": _json_rows, "csv": _csv_rows, "table": _table_rows}[fmt]
        for chunk in chunks(result, labels):
            sys.stdout.write(chunk)
        sys.stdout.flush()
