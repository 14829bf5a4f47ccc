"""Sweep throughput: configurations per second, exact, validity checks included.

Run from the repository root (NumPy installed for the vectorised backend)::

    python benchmarks/sweep_bench.py            # markdown table on stdout
    python benchmarks/sweep_bench.py --repeat 5 --max-rows 10000000

Each figure is the median wall time of ``archcalc.sweep.sweep`` (the library call the
CLI makes: formula compiled once, every row counted exactly, kind checks and the
family's checks applied, a sample cross-checked through the real pipeline) over a
``n_layers × d_model`` grid of the Llama 3 8B example, in one process after a warm-up.
Printing the rows (JSON/CSV) is not included; ``count_bench.py`` times the CLI end to end.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archcalc import api, sweep  # noqa: E402

SPEC = ROOT / "examples" / "llama-3-8b.yaml"


def grid(rows: int) -> list[tuple[str, list[int]]]:
    """An n_layers × d_model grid of about ``rows`` rows (d_model a multiple of 128)."""
    side = max(int(rows**0.5), 1)
    return [
        ("n_layers", list(range(1, side + 1))),
        ("d_model", [128 * i for i in range(1, side + 1)]),
    ]


def measure(rows: int, backend: str, repeat: int) -> tuple[int, float]:
    """(rows, median seconds) of one sweep."""
    spec = api.load_spec(SPEC)
    vary = grid(rows)
    sweep.sweep(spec, grid(16), backend=backend)  # warm-up: imports, sympy caches
    times = []
    n = 0
    for _ in range(repeat):
        start = time.perf_counter()
        result = sweep.sweep(spec, vary, backend=backend)
        times.append(time.perf_counter() - start)
        n = result.n_rows
    return n, statistics.median(times)


def table(max_rows: int, repeat: int) -> str:
    lines = [
        "| backend | grid rows | median time | configurations / s |",
        "|---|---:|---:|---:|",
    ]
    sizes = [10**4, 10**5, 10**6, 10**7]
    for backend in ("numpy", "python"):
        if backend == "numpy" and not sweep._have_numpy():
            lines.append("| numpy | — | not installed | — |")
            continue
        for rows in sizes:
            if rows > max_rows or (backend == "python" and rows > 10**5):
                continue
            n, seconds = measure(rows, backend, repeat)
            lines.append(f"| {backend} | {n:,} | {seconds * 1000:,.1f} ms | {n / seconds:,.0f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--max-rows", type=int, default=10**7)
    args = parser.parse_args()
    print(table(args.max_rows, args.repeat))
    return 0


if __name__ == "__main__":
    sys.exit(main())
