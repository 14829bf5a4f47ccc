"""A heterogeneous stack costs what a short one costs: 8, 200 and 200,000 blocks side by side.

Run from the repository root::

    python benchmarks/stack_bench.py
    python benchmarks/stack_bench.py --torch-python /work/refenv/bin/python --repeat 7

The spec is a Qwen2-MoE / DeepSeek-style stack: one dense block, then a pattern of a
dense block and three MoE blocks (128 experts, top-8, a gated shared expert), one wide
MoE block at the end — four kinds of block in three segments. Two tables, markdown on
stdout:

1. **Library, one process**: ``load_spec`` + ``count`` (and ``formula``) of the same
   stack at 8, 200 and 200,000 blocks, median of many calls; beside it, the 200 blocks
   written out as 200 one-block segments (what a stack without patterns costs: every
   block resolved) and a flat 8-layer spec (the floor: no stack at all).
2. **Whole fresh processes** (``archcalc count SPEC --json``, what a user waits for),
   median of ``--repeat`` runs interleaved so machine load hits every row alike, and, given
   an interpreter with torch and transformers, the same 200-block model built by
   transformers on the ``meta`` device (``Qwen2MoeForCausalLM`` with ``mlp_only_layers``
   and ``decoder_sparse_step``), its count compared with archcalc's.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HEAD = """\
family: transformer
d_model: 2048
n_heads: 16
n_kv_heads: 4
d_ff: 5632
vocab_size: 151936
qkv_bias: true
moe: {n_experts: 128, top_k: 8, d_ff_expert: 768, n_shared_experts: 1, d_ff_shared: 4096,
      shared_expert_gate: true}
blocks:
  dense: {moe: false}
  wide: {moe: {d_ff_expert: 1536}}
"""


def stack_spec(layers: int) -> str:
    """Dense, then [dense, moe, moe, moe] repeated, then one wide MoE block."""
    return (
        HEAD
        + f"n_layers: {layers}\n"
        + "stack:\n  - {block: dense, layers: 1}\n  - {pattern: [dense, default, default, default]}"
        + "\n  - {block: wide, layers: 1}\n"
    )


def kinds(layers: int) -> list[str]:
    """The kind of every block of :func:`stack_spec`, one by one."""
    cycle = ["dense", "default", "default", "default"]
    return ["dense", *(cycle[i % 4] for i in range(layers - 2)), "wide"]


def unrolled_spec(layers: int) -> str:
    """The same stack written out block by block: one segment per block."""
    segments = "".join(f"  - {{block: {k}, layers: 1}}\n" for k in kinds(layers))
    return HEAD + f"n_layers: {layers}\nstack:\n" + segments


FLAT = HEAD.split("blocks:")[0] + "n_layers: 8\n"

TORCH_SNIPPET = """
import json, sys
import torch, transformers
from transformers import AutoConfig, AutoModelForCausalLM
transformers.logging.set_verbosity_error()
config = AutoConfig.for_model("qwen2_moe", **json.loads(sys.argv[1]))
with torch.device("meta"):
    model = AutoModelForCausalLM.from_config(config)
print(sum(p.numel() for p in model.parameters()))
"""


def hf_config(layers: int) -> dict[str, Any]:
    """The 200-block stack as Qwen2-MoE builds it (the last block's wider experts aside)."""
    dense = [i for i, k in enumerate(kinds(layers)) if k == "dense"]
    return {
        "hidden_size": 2048,
        "num_attention_heads": 16,
        "num_key_value_heads": 4,
        "intermediate_size": 5632,
        "vocab_size": 151936,
        "num_hidden_layers": layers,
        "num_experts": 128,
        "num_experts_per_tok": 8,
        "moe_intermediate_size": 768,
        "shared_expert_intermediate_size": 4096,
        "decoder_sparse_step": 1,
        "mlp_only_layers": dense,
        "qkv_bias": True,
        "tie_word_embeddings": False,
    }


def interleaved(calls: list[Callable[[], Any]], rounds: int) -> list[float]:
    """Median seconds of each call, run in rounds (one call of each per round) so that
    the load of a shared machine hits every row alike."""
    for call in calls:
        call()  # warm-up: imports, caches
    times: list[list[float]] = [[] for _ in calls]
    for _ in range(rounds):
        for call, out in zip(calls, times, strict=True):
            start = time.perf_counter()
            call()
            out.append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def library(tmp: Path, rounds: int) -> str:
    import archcalc

    rows = [
        ("stack, 8 blocks", stack_spec(8)),
        ("stack, 200 blocks", stack_spec(200)),
        ("stack, 200,000 blocks", stack_spec(200_000)),
        ("200 blocks written out (200 segments)", unrolled_spec(200)),
        ("flat spec, 8 layers (floor: no stack)", FLAT),
    ]
    paths = []
    for i, (_, text) in enumerate(rows):
        paths.append(tmp / f"lib{i}.yaml")
        paths[-1].write_text(text, encoding="utf-8")
    totals = [archcalc.count(archcalc.load_spec(p)).total_params for p in paths]
    counts = interleaved([lambda p=p: archcalc.count(archcalc.load_spec(p)) for p in paths], rounds)
    formulas = interleaved(
        [lambda p=p: archcalc.formula(archcalc.load_spec(p)) for p in paths], max(3, rounds // 20)
    )
    lines = [
        "| spec | total params | `load_spec` + `count` | vs 8 blocks | `formula` |",
        "|---|---:|---:|---:|---:|",
    ]
    for (label, _), total, seconds, formula in zip(rows, totals, counts, formulas, strict=True):
        lines.append(
            f"| {label} | {total:,} | {seconds * 1000:,.2f} ms | {seconds / counts[0]:.2f}× "
            f"| {formula * 1000:,.0f} ms |"
        )
    return "\n".join(lines)


def run(cmd: list[str]) -> tuple[float, str]:
    env = {**os.environ, "ARCHCALC_DISABLE_PLUGIN_AUTOLOAD": "1"}
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{done.stderr}")
    return seconds, done.stdout


def processes(tmp: Path, repeat: int, torch_python: str | None) -> str:
    rows: list[tuple[str, list[str]]] = []
    for layers in (8, 200, 200_000):
        path = tmp / f"proc{layers}.yaml"
        path.write_text(stack_spec(layers), encoding="utf-8")
        rows.append(
            (
                f"stack, {layers:,} blocks",
                [sys.executable, "-m", "archcalc", "count", str(path), "--json"],
            )
        )
    times: dict[str, list[float]] = {label: [] for label, _ in rows}
    totals: dict[str, int] = {}
    for _ in range(repeat):
        for label, cmd in rows:
            seconds, out = run(cmd)
            times[label].append(seconds)
            totals[label] = json.loads(out)["total_params"]
    base = statistics.median(times[rows[0][0]])
    lines = [
        "| what | total params | median time | vs 8 blocks |",
        "|---|---:|---:|---:|",
    ]
    for label, _ in rows:
        seconds = statistics.median(times[label])
        lines.append(
            f"| `archcalc count`, {label} | {totals[label]:,} | {seconds * 1000:,.0f} ms "
            f"| {seconds / base:.2f}× |"
        )
    if torch_python:
        config = hf_config(200)
        config_wide = json.dumps(config)
        torch_times = []
        theirs = 0
        for _ in range(max(1, min(repeat, 3))):
            seconds, out = run([torch_python, "-c", TORCH_SNIPPET, config_wide])
            torch_times.append(seconds)
            theirs = int(out.strip().splitlines()[-1])
        # transformers has one expert width: compare with the stack whose last block is not wide.
        narrow = tmp / "narrow200.yaml"
        narrow.write_text(
            stack_spec(200).replace("{block: wide, layers: 1}", "{block: default, layers: 1}"),
            encoding="utf-8",
        )
        _, out = run([sys.executable, "-m", "archcalc", "count", str(narrow), "--json"])
        ours = json.loads(out)["total_params"]
        seconds = statistics.median(torch_times)
        lines.append(
            f"| transformers on `meta`, 200 blocks (last one not wide) | {theirs:,} "
            f"| {seconds * 1000:,.0f} ms | {seconds / base:.2f}× |"
        )
        lines.append("")
        verdict = "equal" if ours == theirs else "DIFFERENT"
        lines.append(f"archcalc's count of that model: {ours:,} ({verdict}).")
    else:
        lines.append("")
        lines.append(
            "_transformers row skipped: pass --torch-python or set ARCHCALC_BENCH_TORCH_PYTHON._"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="fresh-process runs per row (median)")
    parser.add_argument("--rounds", type=int, default=200, help="in-process calls per row (median)")
    parser.add_argument(
        "--torch-python",
        default=os.environ.get("ARCHCALC_BENCH_TORCH_PYTHON"),
        help="interpreter with torch + transformers for the meta-device row",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print("### Heterogeneous stack: library, one process\n")
        print(library(Path(tmp), args.rounds))
        print("\n### Heterogeneous stack: whole fresh processes\n")
        print(processes(Path(tmp), args.repeat, args.torch_python))
    return 0


if __name__ == "__main__":
    sys.exit(main())
