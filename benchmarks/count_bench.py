"""archcalc against building the model, side by side, in whole fresh processes.

Run from the repository root::

    python benchmarks/count_bench.py                                  # archcalc columns only
    ARCHCALC_BENCH_TORCH_PYTHON=/work/refenv/bin/python python benchmarks/count_bench.py
    python benchmarks/count_bench.py --torch-python /work/refenv/bin/python --repeat 5

Three tables, markdown on stdout:

1. ``archcalc count SPEC --json`` against a Python process that builds the same
   llama-shaped model with Hugging Face transformers on PyTorch's ``meta`` device (no
   weights allocated) and sums ``numel()`` — for 7B, 70B, 405B and 1T shapes. Both are
   whole fresh processes (interpreter start and imports included: that is what a user
   waits for), timed with ``time.perf_counter`` around ``subprocess.run``, median of
   ``--repeat`` runs; the two counts are compared. The torch column needs an interpreter
   with torch and transformers (``--torch-python`` or ``ARCHCALC_BENCH_TORCH_PYTHON``);
   without one it is skipped with a note. archcalc never depends on torch.
2. ``archcalc count`` as depth grows from 8 to 200,000 layers (``--set n_layers=N``).
3. Sweep throughput: the library call (``benchmarks/sweep_bench.py``) and the CLI end to
   end with CSV output.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: Llama-shaped configurations: (label, archcalc spec fields, transformers LlamaConfig kwargs).
MODELS: list[tuple[str, dict[str, int]]] = [
    ("7B (Llama 2 7B)", {"L": 32, "d": 4096, "h": 32, "kv": 32, "ff": 11008, "V": 32000}),
    ("70B (Llama 2 70B)", {"L": 80, "d": 8192, "h": 64, "kv": 8, "ff": 28672, "V": 32000}),
    ("405B (Llama 3.1 405B)", {"L": 126, "d": 16384, "h": 128, "kv": 8, "ff": 53248, "V": 128256}),
    (
        "1T (dense, 128 layers)",
        {"L": 128, "d": 25600, "h": 200, "kv": 8, "ff": 102400, "V": 128256},
    ),
]

TORCH_SNIPPET = """
import json, sys
import torch
from transformers import AutoConfig, AutoModelForCausalLM
config = AutoConfig.for_model("llama", **json.loads(sys.argv[1]))
with torch.device("meta"):
    model = AutoModelForCausalLM.from_config(config)
print(sum(p.numel() for p in model.parameters()))
"""


def spec_yaml(m: dict[str, int], name: str) -> str:
    return (
        f"name: {name}\nfamily: transformer\nn_layers: {m['L']}\nd_model: {m['d']}\n"
        f"n_heads: {m['h']}\nn_kv_heads: {m['kv']}\nd_ff: {m['ff']}\nvocab_size: {m['V']}\n"
        "positional: rope\nmlp: swiglu\nnorm: rmsnorm\ntie_embeddings: false\n"
    )


def hf_config(m: dict[str, int]) -> dict[str, Any]:
    return {
        "hidden_size": m["d"],
        "num_hidden_layers": m["L"],
        "num_attention_heads": m["h"],
        "num_key_value_heads": m["kv"],
        "intermediate_size": m["ff"],
        "vocab_size": m["V"],
        "tie_word_embeddings": False,
    }


def timed(cmd: list[str], repeat: int) -> tuple[float, str]:
    """Median wall seconds of ``cmd`` as a fresh process, and its last stdout."""
    times, out = [], ""
    env = {**os.environ, "ARCHCALC_DISABLE_PLUGIN_AUTOLOAD": "1"}
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"failed: {' '.join(cmd)}\n{done.stderr}")
        out = done.stdout
    return statistics.median(times), out


def archcalc_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "archcalc", *args]


def count_vs_torch(tmp: Path, torch_python: str | None, repeat: int) -> str:
    lines = [
        "| model | params | `archcalc count` | torch meta build | speed-up | counts equal |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for label, m in MODELS:
        path = tmp / f"{m['L']}-{m['d']}.yaml"
        path.write_text(spec_yaml(m, path.stem), encoding="utf-8")
        seconds, out = timed(archcalc_cmd("count", str(path), "--json"), repeat)
        ours = json.loads(out)["total_params"]
        if torch_python:
            config = json.dumps(hf_config(m))
            torch_s, torch_out = timed(
                [torch_python, "-c", TORCH_SNIPPET, config], max(1, min(repeat, 3))
            )
            theirs = int(torch_out.strip().splitlines()[-1])
            lines.append(
                f"| {label} | {ours:,} | {seconds * 1000:,.0f} ms | {torch_s * 1000:,.0f} ms | "
                f"{torch_s / seconds:,.1f}× | {'yes' if ours == theirs else f'NO ({theirs:,})'} |"
            )
        else:
            lines.append(f"| {label} | {ours:,} | {seconds * 1000:,.0f} ms | skipped | — | — |")
    if not torch_python:
        lines.append("")
        lines.append(
            "_torch column skipped: pass --torch-python or set ARCHCALC_BENCH_TORCH_PYTHON to an "
            "interpreter with torch and transformers._"
        )
    return "\n".join(lines)


def depth(tmp: Path, repeat: int) -> str:
    """Runs interleaved (8, 1000, 200000, 8, ...) so machine load hits every depth alike."""
    path = tmp / "depth.yaml"
    path.write_text(spec_yaml(MODELS[0][1], "depth"), encoding="utf-8")
    depths = (8, 1_000, 200_000)
    times: dict[int, list[float]] = {d: [] for d in depths}
    totals: dict[int, int] = {}
    for _ in range(repeat):
        for layers in depths:
            cmd = archcalc_cmd("count", str(path), "--json", "--set", f"n_layers={layers}")
            seconds, out = timed(cmd, 1)
            times[layers].append(seconds)
            totals[layers] = json.loads(out)["total_params"]
    base = statistics.median(times[depths[0]])
    lines = [
        "| n_layers | total params | `archcalc count` | vs 8 layers |",
        "|---:|---:|---:|---:|",
    ]
    for layers in depths:
        seconds = statistics.median(times[layers])
        ratio = seconds / base
        lines.append(
            f"| {layers:,} | {totals[layers]:,} | {seconds * 1000:,.0f} ms | {ratio:.2f}× |"
        )
    return "\n".join(lines)


def sweep_throughput(repeat: int) -> str:
    from benchmarks_sweep import measure  # type: ignore[import-not-found]

    lines = ["| what | rows | median time | configurations / s |", "|---|---:|---:|---:|"]
    for rows in (10**6, 10**7):
        n, seconds = measure(rows, "numpy", repeat)
        lines.append(
            f"| library `sweep()` (numpy) | {n:,} | {seconds * 1000:,.0f} ms | {n / seconds:,.0f} |"
        )
    spec = str(ROOT / "examples" / "llama-3-8b.yaml")
    cmd = archcalc_cmd(
        "sweep", spec, "--vary", "n_layers=1:316", "--vary", "d_model=128:40448:128", "-f", "csv"
    )
    seconds, out = timed(cmd, repeat)
    n = out.count("\n") - 1
    lines.append(
        f"| CLI `sweep -f csv`, fresh process | {n:,} | {seconds * 1000:,.0f} ms "
        f"| {n / seconds:,.0f} |"
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (median)")
    parser.add_argument(
        "--torch-python",
        default=os.environ.get("ARCHCALC_BENCH_TORCH_PYTHON"),
        help="interpreter with torch + transformers for the meta-device column",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "benchmarks"))
    sys.modules.setdefault("benchmarks_sweep", __import__("sweep_bench"))
    with tempfile.TemporaryDirectory() as tmp:
        print("### Count: archcalc vs building the model (fresh processes)\n")
        print(count_vs_torch(Path(tmp), args.torch_python, args.repeat))
        print("\n### Count time vs depth\n")
        print(depth(Path(tmp), args.repeat))
        print("\n### Sweep throughput\n")
        print(sweep_throughput(max(1, args.repeat // 2)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
