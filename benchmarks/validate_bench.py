"""Benchmark ``archcalc validate`` as pre-commit runs it: whole, fresh processes.

Two questions, answered side by side in one run and printed as a markdown table:

1. One spec: ``archcalc validate SPEC`` against ``check-jsonschema --schemafile
   schemas/archcalc.schema.json SPEC`` (structural validation only, the baseline an
   editor-schema user would reach for). archcalc does more (safe loading, expressions,
   semantics) and should still be no slower. Reported as the ratio of medians.
2. Many specs: ``archcalc validate`` on N generated spec files in one call (target for
   1,000 files: under 3 s on a 2-core machine).

Public tools only: ``subprocess`` and ``time.perf_counter``; the median of ``--runs``
runs after one warm-up run (so the OS file cache is warm for every tool alike). A tool
that is not installed is reported as "not installed" rather than failing the run::

    python benchmarks/validate_bench.py                 # defaults: 10 runs, 1,000 files
    python benchmarks/validate_bench.py --runs 20 --files 2000
    python benchmarks/validate_bench.py --archcalc /tmp/venv/bin/archcalc

Measure a regular install (``pip install .``): an editable install adds about 0.1 s to
every start (setuptools' import finder), and so do installed third-party plugins.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "examples" / "llama-3-8b.yaml"
SCHEMA = ROOT / "schemas" / "archcalc.schema.json"

TEMPLATE = """\
# yaml-language-server: $schema=../schemas/archcalc.schema.json
name: generated-{index}
family: transformer
vars:
  width: {width}
n_layers: {layers}
d_model: width
n_heads: {heads}
n_kv_heads: {kv_heads}
d_ff: multiple_of(ceil(8 * d_model / 3), 256)
vocab_size: {vocab}
positional: rope
mlp: swiglu
norm: rmsnorm
"""


def find_tool(name: str) -> str | None:
    """The tool next to this interpreter (a venv's bin/) first, then on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


def time_command(command: Sequence[str], runs: int, expect: int = 0) -> float:
    """Median wall time of ``command`` in seconds; the first (warm-up) run is not counted."""
    times = []
    for attempt in range(runs + 1):
        start = time.perf_counter()
        proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        elapsed = time.perf_counter() - start
        if proc.returncode != expect:
            raise SystemExit(
                f"{' '.join(command[:3])}... exited {proc.returncode}, expected {expect}:\n"
                + (proc.stdout + proc.stderr)[-2000:]
            )
        if attempt:
            times.append(elapsed)
    return statistics.median(times)


def write_specs(directory: Path, count: int) -> list[str]:
    """``count`` valid, distinct transformer specs (dense, GQA, a range of sizes)."""
    paths = []
    for index in range(count):
        heads = (8, 16, 32, 64)[index % 4]
        path = directory / f"spec-{index:05d}.yaml"
        path.write_text(
            TEMPLATE.format(
                index=index,
                width=128 * heads,
                layers=12 + index % 100,
                heads=heads,
                kv_heads=heads // (1, 2, 4, 8)[index % 4],
                vocab=32000 + index,
            ),
            encoding="utf-8",
        )
        paths.append(str(path))
    return paths


def fmt(seconds: float | None) -> str:
    return "not installed" if seconds is None else f"{seconds * 1000:,.0f} ms"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="timed runs per command")
    parser.add_argument("--files", type=int, default=1000, help="generated specs in one call")
    parser.add_argument("--archcalc", help="the archcalc executable (default: beside python)")
    parser.add_argument("--check-jsonschema", dest="checker", help="the check-jsonschema one")
    args = parser.parse_args(argv)

    archcalc = args.archcalc or find_tool("archcalc")
    checker = args.checker or find_tool("check-jsonschema")
    ours = theirs = many = None
    if archcalc:
        ours = time_command([archcalc, "validate", str(SPEC)], args.runs)
    if checker:
        theirs = time_command([checker, "--schemafile", str(SCHEMA), str(SPEC)], args.runs)
    if archcalc:
        with tempfile.TemporaryDirectory() as tmp:
            paths = write_specs(Path(tmp), args.files)
            many = time_command([archcalc, "validate", *paths], max(1, args.runs // 3))

    cpus = os.cpu_count() or 0
    print(f"Python {platform.python_version()}, {cpus} CPUs, median of {args.runs} runs")
    print(
        f"archcalc: {archcalc or 'not installed'}; check-jsonschema: {checker or 'not installed'}\n"
    )
    print("| what | archcalc validate | check-jsonschema | ratio |")
    print("|---|---:|---:|---:|")
    ratio = f"{ours / theirs:.2f}×" if ours and theirs else "-"
    print(f"| 1 spec (`{SPEC.relative_to(ROOT)}`) | {fmt(ours)} | {fmt(theirs)} | {ratio} |")
    per_file = f" ({many / args.files * 1000:.2f} ms/spec)" if many else ""
    print(f"| {args.files:,} specs, one call | {fmt(many)}{per_file} | - | - |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
