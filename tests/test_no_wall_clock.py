"""No test measures wall-clock time (issue 13): on a shared machine a clock measures the
load, so such tests fail at random. Bound work instead (``tests.helpers.python_calls``,
counters such as ``discovery.stats`` or ``Sweep.check_runs``), or CPU time with a wide
margin (``time.process_time``); speed itself belongs in ``benchmarks/``."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent
CLOCKS = re.compile(r"\b(?:time\.(?:perf_counter|monotonic|time)(?:_ns)?|timeit)\b")


def test_no_wall_clock_in_tests() -> None:
    hits = [
        f"{path.relative_to(TESTS)}:{n}: {line.strip()}"
        for path in sorted(TESTS.rglob("*.py"))
        if path != Path(__file__).resolve()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if CLOCKS.search(line)
    ]
    assert hits == []
