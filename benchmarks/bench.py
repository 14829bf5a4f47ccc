"""archcalc against its floor and its peers, side by side in one run, as ratios.

Run from the repository root::

    python benchmarks/bench.py                         # every section, markdown on stdout
    python benchmarks/bench.py --update-readme         # ... and rewrite the README's tables
    python benchmarks/bench.py --only count,sweep --runs 7
    python benchmarks/bench.py --torch-python /path/to/python-with-torch-and-transformers

What is measured (whole fresh processes unless said otherwise; each figure is the median
of ``--runs`` runs after a warm-up; the commands of one table run in turn, A B C A B C...,
so a change in the machine's load hits them alike, and each ratio is the median of the
per-round ratios):

``count``
    ``archcalc count SPEC --json`` for llama-shaped 7B/70B/405B/1T specs against the floor
    (Python + PyYAML reading the same spec and doing the arithmetic, which also checks the
    count), against the same ``archcalc`` in an ML-sized environment (the same venv plus
    ``--ml-dists`` (300) unrelated installed distributions, see :func:`fake_distributions`),
    and against building the same model with Hugging Face transformers on PyTorch's
    ``meta`` device (``--torch-python``, fewer runs: each takes seconds). Counts compared.
``depth``
    ``archcalc count --set n_layers=N`` for 8, 1,000 and 200,000 layers.
``validate``
    ``archcalc validate SPEC`` against ``check-jsonschema --schemafile
    schemas/archcalc.schema.json SPEC`` (the schema alone), and 1,000 generated specs in one
    ``archcalc validate`` call, as pre-commit passes them.
``sweep``
    The library (``archcalc.sweep.sweep`` over 1,000 × 1,000 rows, every validity check on,
    in one process), and ``archcalc sweep -f csv`` of the same 1M rows against a NumPy
    script that evaluates the same closed form and writes the same rows with
    ``numpy.savetxt`` (the outputs are compared byte for byte).
``typer`` (only when asked: it installs every listed typer release in a scratch venv)
    A ten-command typer app shaped like archcalc's, running one command, per release.

archcalc is measured as users run it: installed from a wheel of this checkout into a
scratch venv (``--venv-dir``, default ``.bench/`` in the repository; an editable install
compiles archcalc on every start when bytecode writing is off and adds an import hook).
Public tools only: ``subprocess``, ``os.wait4`` for each child's CPU time and
``time.perf_counter`` for wall time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SCHEMA = ROOT / "schemas" / "archcalc.schema.json"
SECTIONS = ("count", "depth", "validate", "sweep")

#: Llama-shaped configurations: archcalc spec fields and LlamaConfig arguments.
MODELS: list[tuple[str, dict[str, int]]] = [
    ("7B (Llama 2 7B)", {"L": 32, "d": 4096, "h": 32, "kv": 32, "ff": 11008, "V": 32000}),
    ("70B (Llama 2 70B)", {"L": 80, "d": 8192, "h": 64, "kv": 8, "ff": 28672, "V": 32000}),
    ("405B (Llama 3.1 405B)", {"L": 126, "d": 16384, "h": 128, "kv": 8, "ff": 53248, "V": 128256}),
    (
        "1T (dense, 128 layers)",
        {"L": 128, "d": 25600, "h": 200, "kv": 8, "ff": 102400, "V": 128256},
    ),
]

#: The floor: what a user would write to count such a spec by hand.
FLOOR = """
import sys, yaml
with open(sys.argv[1]) as f:
    d = yaml.safe_load(f)
L, D, H, F, V = d["n_layers"], d["d_model"], d["n_heads"], d["d_ff"], d["vocab_size"]
kv = d.get("n_kv_heads", H)
dh = D // H
print(V * D + L * (D * H * dh + 2 * D * kv * dh + H * dh * D + 3 * D * F + 2 * D) + D + V * D)
"""

TORCH = """
import json, sys
import torch
from transformers import AutoConfig, AutoModelForCausalLM
config = AutoConfig.for_model("llama", **json.loads(sys.argv[1]))
with torch.device("meta"):
    model = AutoModelForCausalLM.from_config(config)
print(sum(p.numel() for p in model.parameters()))
"""

#: The sweep grid and its NumPy peer: the closed form ``archcalc formula
#: examples/llama-3-8b.yaml --keep n_layers,d_model`` prints, in int64, written by savetxt.
SWEEP_ARGS = ["--vary", "n_layers=1:1000", "--vary", "d_model=128:128000:128"]
NUMPY_PEER = """
import sys
import numpy as np
L = np.repeat(np.arange(1, 1001, dtype=np.int64), 1000)
D = np.tile(np.arange(128, 128001, 128, dtype=np.int64), 1000)
ceil = lambda n, d: -((-n) // d)
total = 5 * D * D * L // 2 + 3072 * D * L * ceil(ceil(52 * D, 15), 1024) + 2 * D * L + 256513 * D
with open(sys.argv[1], "w") as out:
    out.write("n_layers,d_model,total_params,active_params,valid,error\\n")
    np.savetxt(out, np.column_stack([L, D, total, total]), fmt="%d,%d,%d,%d,true,")
"""

LIBRARY_SWEEP = """
import statistics, sys, time
from archcalc import api, sweep
spec = api.load_spec(sys.argv[1])
vary = [("n_layers", sweep.Range(1, 1, 1000)), ("d_model", sweep.Range(128, 128, 1000))]
def run():
    result = sweep.sweep(spec, vary)
    return sum(len(chunk) for chunk in result.chunks()), result
def timed():
    wall, cpu = time.perf_counter(), time.process_time()
    rows, result = run()
    return rows, result, time.perf_counter() - wall, time.process_time() - cpu
_, _, first_wall, first_cpu = timed()
walls, cpus = [], []
for _ in range(int(sys.argv[2])):
    rows, result, wall, cpu = timed()
    walls.append(wall)
    cpus.append(cpu)
print(rows, statistics.median(walls), statistics.median(cpus), first_wall, first_cpu,
      result.check_runs, result.invalid)
"""

VALIDATE_TEMPLATE = """\
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

TYPER_APP = '''
from pathlib import Path
from typing import Annotated, Optional, List
import typer

app = typer.Typer(add_completion=False, no_args_is_help=True)
SetOpt = Annotated[Optional[List[str]], typer.Option("--set", "-s", help="x")]

@app.command()
def count(specs: Annotated[List[Path], typer.Argument(help="Spec files.")], set_: SetOpt = None,
          as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    print(len(specs))

def make(name):
    def cmd(spec: Annotated[Path, typer.Argument()],
            fmt: Annotated[str, typer.Option("--format", "-f")] = "text",
            set_: SetOpt = None) -> None:
        print(name)
    cmd.__name__ = name
    app.command(name)(cmd)

for name in ["formula", "validate", "schema", "plugins", "solve", "sweep", "size", "diff"]:
    make(name)

@app.callback()
def main(version: Annotated[bool, typer.Option("--version")] = False) -> None:
    """Main."""

app()
'''


# ----------------------------------------------------------------------- measuring


@dataclass
class Run:
    wall: float
    cpu: float
    out: str


#: Commands run from a scratch directory, as a user runs them from their project (never from
#: this checkout, whose ``archcalc/`` would shadow the installed package).
WORKDIR: list[Path] = []


def run(cmd: Sequence[str], env: dict[str, str] | None = None, stdout: Any = None) -> Run:
    """One fresh process: wall seconds, its CPU seconds (user + system, from ``os.wait4``)
    and its standard output (unless ``stdout``, a file, takes it)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(cmd),
            stdout=stdout or out,
            stderr=err,
            env=env,
            cwd=WORKDIR[0] if WORKDIR else None,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{err.read()}")
        return Run(wall, usage.ru_utime + usage.ru_stime, out.read())


@dataclass
class Series:
    """Runs of several commands taken in turn; medians and per-round ratios."""

    names: list[str]
    runs: dict[str, list[Run]] = field(default_factory=dict)

    def take(self, commands: dict[str, Callable[[], Run]], rounds: int, warmup: int = 1) -> None:
        for _ in range(warmup):
            for fn in commands.values():
                fn()
        for _ in range(rounds):
            for name, fn in commands.items():
                self.runs.setdefault(name, []).append(fn())

    def wall(self, name: str) -> float:
        return statistics.median(r.wall for r in self.runs[name])

    def cpu(self, name: str) -> float:
        return statistics.median(r.cpu for r in self.runs[name])

    def ratio(self, a: str, b: str, what: str = "wall") -> float:
        """Median of per-round ratios a/b (pairs taken in the same round)."""
        pairs = zip(self.runs[a], self.runs[b], strict=False)
        return statistics.median(getattr(x, what) / getattr(y, what) for x, y in pairs)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


# ----------------------------------------------------------------------- environments


def fake_distributions(site: Path, n: int) -> None:
    """``n`` unrelated installed distributions, as pip leaves them, in ``site``.

    Each has METADATA, WHEEL, RECORD, INSTALLER and top_level.txt; a third have an
    ``entry_points.txt`` (console scripts and other tools' plugin groups), as in an ML
    environment where many packages register CLIs or plugins. None is an archcalc plugin.
    """
    for i in range(n):
        name = f"unrelated_pkg_{i:03d}"
        folder = site / f"{name}-1.{i % 7}.0.dist-info"
        if folder.exists():
            continue
        folder.mkdir(parents=True)
        (folder / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.{i % 7}.0\n"
            "Summary: an unrelated package\nRequires-Dist: numpy\n\n" + "Long description.\n" * 40
        )
        (folder / "WHEEL").write_text(
            "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\n"
        )
        (folder / "INSTALLER").write_text("pip\n")
        (folder / "top_level.txt").write_text(name + "\n")
        (folder / "RECORD").write_text(
            "".join(f"{name}/module{j}.py,sha256=x,100\n" for j in range(40))
        )
        if i % 3 == 0:
            group = ("pytest11", "fsspec.specs", "console_scripts")[i % 9 // 3]
            (folder / "entry_points.txt").write_text(
                f"[console_scripts]\n{name} = {name}.cli:main\n\n"
                f"[{group}]\n{name} = {name}.plugin\n"
            )


@dataclass
class Env:
    python: Path
    archcalc: Path
    site: Path


def make_venv(where: Path, wheel: Path, extra_dists: int) -> Env:
    """A venv with archcalc (and NumPy) installed from ``wheel``; ``extra_dists`` unrelated
    distributions added to its site-packages."""
    python = where / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--force-reinstall", "--no-deps", str(wheel)],
        check=True,
    )
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", f"{wheel}[fast]"],
        check=True,
        stderr=subprocess.DEVNULL,
    )
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    fake_distributions(site, extra_dists)
    return Env(python, where / "bin" / "archcalc", site)


def count_dists(site: Path) -> int:
    return sum(1 for p in site.iterdir() if p.name.endswith((".dist-info", ".egg-info")))


def build_wheel(out: Path) -> Path:
    for old in out.glob("archcalc-*.whl"):
        old.unlink()
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(ROOT)],
        check=True,
    )
    return next(out.glob("archcalc-*.whl"))


# ----------------------------------------------------------------------- sections


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


def section_count(ctx: Context) -> str:
    clean, ml = ctx.clean, ctx.ml
    lines = [
        "| model | params | floor (Python + PyYAML) | `archcalc count` | × floor "
        f"| with {ctx.ml_dists} more distributions | × clean | torch meta build | "
        "speed-up | counts equal |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    floor = ctx.tmp / "floor.py"
    floor.write_text(FLOOR)
    for label, m in MODELS:
        path = ctx.tmp / f"{m['L']}-{m['d']}.yaml"
        path.write_text(spec_yaml(m, path.stem))
        series = Series(["floor", "archcalc", "ml"])
        series.take(
            {
                "floor": lambda p=path: run([str(clean.python), str(floor), str(p)]),
                "archcalc": lambda p=path: run(
                    [str(clean.archcalc), "count", str(p), "--json"], ctx.env
                ),
                "ml": lambda p=path: run([str(ml.archcalc), "count", str(p), "--json"], ctx.env),
            },
            ctx.runs,
        )
        ours = json.loads(series.runs["archcalc"][-1].out)["total_params"]
        floor_count = int(series.runs["floor"][-1].out)
        equal = ours == floor_count == json.loads(series.runs["ml"][-1].out)["total_params"]
        torch_cell, speedup = "skipped", "—"
        if ctx.torch_python:
            torch = Series(["torch", "archcalc"])
            config = json.dumps(hf_config(m))
            torch.take(
                {
                    "torch": lambda c=config: run([ctx.torch_python, "-c", TORCH, c]),
                    "archcalc": lambda p=path: run(
                        [str(clean.archcalc), "count", str(p), "--json"], ctx.env
                    ),
                },
                ctx.torch_runs,
                warmup=0,
            )
            theirs = int(torch.runs["torch"][-1].out.strip().splitlines()[-1])
            equal = equal and ours == theirs
            torch_cell = ms(torch.wall("torch"))
            speedup = f"{torch.ratio('torch', 'archcalc'):,.1f}×"
        lines.append(
            f"| {label} | {ours:,} | {ms(series.wall('floor'))} | {ms(series.wall('archcalc'))} "
            f"| {series.ratio('archcalc', 'floor'):.2f}× | {ms(series.wall('ml'))} "
            f"| {series.ratio('ml', 'archcalc'):.2f}× | {torch_cell} | {speedup} "
            f"| {'yes' if equal else 'NO'} |"
        )
        ctx.results[f"count {label}"] = {
            "x_floor": series.ratio("archcalc", "floor"),
            "x_floor_cpu": series.ratio("archcalc", "floor", "cpu"),
            "ml_vs_clean": series.ratio("ml", "archcalc"),
            "ml_vs_clean_cpu": series.ratio("ml", "archcalc", "cpu"),
            "vs_torch": torch.ratio("torch", "archcalc") if ctx.torch_python else None,
        }
    lines += ["", budget(ctx, path, floor)]
    cpu = ", ".join(
        f"{v['x_floor_cpu']:.2f}×" for k, v in ctx.results.items() if k.startswith("count ")
    )
    lines.append("")
    lines.append(
        f"CPU time against the floor, same runs: {cpu}. The ML-sized environment has "
        f"{count_dists(ml.site)} installed distributions, the clean one {count_dists(clean.site)}."
    )
    return "\n".join(lines)


def budget(ctx: Context, spec: Path, floor: Path) -> str:
    """Where a count's time goes: the interpreter, the floor, typer alone, archcalc's
    command line without the library (``--version``), the whole count."""
    python = str(ctx.clean.python)
    commands = {
        "`python -c pass`": lambda: run([python, "-c", "pass"]),
        "floor (Python + PyYAML, the spec above)": lambda: run([python, str(floor), str(spec)]),
        "`python -c 'import typer'`": lambda: run([python, "-c", "import typer"]),
        "`archcalc --version` (typer + archcalc's CLI, no library)": lambda: run(
            [str(ctx.clean.archcalc), "--version"], ctx.env
        ),
        "`archcalc count` (the spec above)": lambda: run(
            [str(ctx.clean.archcalc), "count", str(spec), "--json"], ctx.env
        ),
    }
    series = Series(list(commands))
    series.take(commands, ctx.runs)
    floor_name = "floor (Python + PyYAML, the spec above)"
    lines = ["| process | wall | CPU | CPU × floor |", "|---|---:|---:|---:|"]
    for name in commands:
        lines.append(
            f"| {name} | {ms(series.wall(name))} | {ms(series.cpu(name))} "
            f"| {series.ratio(name, floor_name, 'cpu'):.2f}× |"
        )
    return "\n".join(lines)


def section_depth(ctx: Context) -> str:
    path = ctx.tmp / "depth.yaml"
    path.write_text(spec_yaml(MODELS[0][1], "depth"))
    depths = (8, 1_000, 200_000)
    series = Series([str(d) for d in depths])
    series.take(
        {
            str(d): lambda d=d: run(
                [str(ctx.clean.archcalc), "count", str(path), "--json", "--set", f"n_layers={d}"],
                ctx.env,
            )
            for d in depths
        },
        ctx.runs,
    )
    lines = [
        "| n_layers | total params | `archcalc count` | vs 8 layers |",
        "|---:|---:|---:|---:|",
    ]
    for d in depths:
        total = json.loads(series.runs[str(d)][-1].out)["total_params"]
        lines.append(
            f"| {d:,} | {total:,} | {ms(series.wall(str(d)))} | {series.ratio(str(d), '8'):.2f}× |"
        )
    ctx.results["depth"] = {"200k_vs_8": series.ratio("200000", "8")}
    return "\n".join(lines)


def section_validate(ctx: Context) -> str:
    spec = ROOT / "examples" / "llama-3-8b.yaml"
    many = ctx.tmp / "many"
    many.mkdir(exist_ok=True)
    files = []
    for i in range(ctx.files):
        heads = (8, 16, 32, 64)[i % 4]
        path = many / f"spec-{i:04d}.yaml"
        path.write_text(
            VALIDATE_TEMPLATE.format(
                index=i,
                width=heads * 128,
                layers=8 + i % 64,
                heads=heads,
                kv_heads=heads // 4,
                vocab=32000 + i,
            )
        )
        files.append(str(path))
    commands: dict[str, Callable[[], Run]] = {
        "archcalc": lambda: run([str(ctx.clean.archcalc), "validate", str(spec)], ctx.env),
        "many": lambda: run([str(ctx.clean.archcalc), "validate", *files], ctx.env),
    }
    if ctx.check_jsonschema:
        commands["check-jsonschema"] = lambda: run(
            [ctx.check_jsonschema, "--schemafile", str(SCHEMA), str(spec)]
        )
    series = Series(list(commands))
    series.take(commands, ctx.runs)
    theirs = ms(series.wall("check-jsonschema")) if ctx.check_jsonschema else "not installed"
    ratio = f"{series.ratio('archcalc', 'check-jsonschema'):.2f}×" if ctx.check_jsonschema else "—"
    per = series.wall("many") / ctx.files * 1000
    lines = [
        "| what | `archcalc validate` | CPU | `check-jsonschema` | ratio |",
        "|---|---:|---:|---:|---:|",
        f"| 1 spec | {ms(series.wall('archcalc'))} | {ms(series.cpu('archcalc'))} | {theirs} "
        f"| {ratio} |",
        f"| {ctx.files:,} specs, one call | {ms(series.wall('many'))} ({per:.2f} ms/spec) "
        f"| {ms(series.cpu('many'))} | - | - |",
    ]
    ctx.results["validate"] = {
        "one_vs_check_jsonschema": series.ratio("archcalc", "check-jsonschema")
        if ctx.check_jsonschema
        else None,
        "many_seconds": series.wall("many"),
        "many_cpu_seconds": series.cpu("many"),
    }
    return "\n".join(lines)


def section_sweep(ctx: Context) -> str:
    spec = ROOT / "examples" / "llama-3-8b.yaml"
    library = run(
        [str(ctx.clean.python), "-c", LIBRARY_SWEEP, str(spec), str(max(3, ctx.runs // 2))],
        ctx.env,
    )
    rows_text, *times, checks, invalid = library.out.split()
    rows = int(rows_text)
    wall, cpu, first_wall, first_cpu = map(float, times)
    peer = ctx.tmp / "peer.py"
    peer.write_text(NUMPY_PEER)
    ours_csv, theirs_csv = ctx.tmp / "ours.csv", ctx.tmp / "theirs.csv"

    def cli() -> Run:
        with open(ours_csv, "w") as out:
            return run(
                [str(ctx.clean.archcalc), "sweep", str(spec), *SWEEP_ARGS, "-f", "csv"],
                ctx.env,
                stdout=out,
            )

    series = Series(["archcalc", "numpy"])
    series.take(
        {
            "archcalc": cli,
            "numpy": lambda: run([str(ctx.clean.python), str(peer), str(theirs_csv)]),
        },
        max(3, ctx.runs // 2),
    )
    same = _digest(ours_csv) == _digest(theirs_csv)
    n = ours_csv.read_bytes().count(b"\n") - 1

    def row(what: str, count: int, wall: float, cpu: float, vs: str) -> str:
        return (
            f"| {what} | {count:,} | {ms(wall)} | {ms(cpu)} | {count / wall:,.0f} "
            f"| {count / cpu:,.0f} | {vs} |"
        )

    lines = [
        "| what | rows | wall | CPU | rows / s (wall) | rows / s (CPU) | vs NumPy (wall) |",
        "|---|---:|---:|---:|---:|---:|---:|",
        row(
            f"library `sweep()`, every check on ({checks} check runs, {invalid} invalid rows)",
            rows,
            wall,
            cpu,
            "-",
        ),
        row(
            "the same, first call of a fresh process (imports sympy, builds the formula)",
            rows,
            first_wall,
            first_cpu,
            "-",
        ),
        row(
            "`archcalc sweep -f csv`, fresh process",
            n,
            series.wall("archcalc"),
            series.cpu("archcalc"),
            f"{series.ratio('archcalc', 'numpy'):.2f}×",
        ),
        row(
            "NumPy: the same closed form, `savetxt`",
            n,
            series.wall("numpy"),
            series.cpu("numpy"),
            "1.00×",
        ),
        "",
        f"The two CSV files are {'byte for byte identical' if same else 'DIFFERENT'}. The "
        "library figures are medians of repeated calls in one process; the first call also "
        "pays for importing sympy and building the compiled formula, once per process.",
    ]
    ctx.results["sweep"] = {
        "library_rows_per_s": rows / wall,
        "library_rows_per_cpu_s": rows / cpu,
        "cli_vs_numpy": series.ratio("archcalc", "numpy"),
        "identical": same,
    }
    return "\n".join(lines)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def section_typer(ctx: Context, versions: Sequence[str]) -> str:
    app = ctx.tmp / "typer_app.py"
    app.write_text(TYPER_APP)
    pythons = {}
    for version in versions:
        where = ctx.venv_dir / f"typer-{version}"
        python = where / "bin" / "python"
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q", f"typer=={version}"], check=True
            )
        pythons[version] = python
    commands = {"python": lambda: run([sys.executable, "-c", "pass"])}
    for version, python in pythons.items():
        commands[version] = lambda p=python: run([str(p), str(app), "count", "a.yaml", "--json"])
    series = Series(list(commands))
    series.take(commands, ctx.runs)
    lines = [
        "| typer | needs | 10-command app, one command run | CPU | CPU × `python -c pass` |",
        "|---|---|---:|---:|---:|",
    ]
    for version, python in pythons.items():
        needs = subprocess.run(
            [str(python), "-m", "pip", "show", "typer"], capture_output=True, text=True
        ).stdout
        requires = re.search(r"^Requires: (.*)$", needs, re.M)
        lines.append(
            f"| {version} | {requires.group(1) if requires else '?'} | {ms(series.wall(version))} "
            f"| {ms(series.cpu(version))} | {series.ratio(version, 'python', 'cpu'):.1f}× |"
        )
    return "\n".join(lines)


# ----------------------------------------------------------------------- driver


@dataclass
class Context:
    tmp: Path
    venv_dir: Path
    runs: int
    torch_runs: int
    files: int
    ml_dists: int
    torch_python: str | None
    check_jsonschema: str | None
    env: dict[str, str]
    clean: Env = None  # type: ignore[assignment]
    ml: Env = None  # type: ignore[assignment]
    results: dict[str, Any] = field(default_factory=dict)


def targets(results: dict[str, Any]) -> str:
    """Issue 13's targets against this run's figures: met or not, never rounded into a pass."""
    counts = [v for k, v in results.items() if k.startswith("count ")]
    rows: list[tuple[str, str, bool | None]] = []

    def worst(key: str, pick: Callable[..., float]) -> float | None:
        values = [v[key] for v in counts if v.get(key) is not None]
        return pick(values) if values else None

    x_floor, x_cpu = worst("x_floor", max), worst("x_floor_cpu", max)
    if x_floor is not None and x_cpu is not None:
        rows.append(
            ("`count` ≤ 3× the floor", f"{x_floor:.2f}× wall, {x_cpu:.2f}× CPU", x_cpu <= 3)
        )
    torch = worst("vs_torch", min)
    if torch is not None:
        rows.append(
            ("`count` ≥ 40× faster than the meta-device build", f"{torch:.1f}×", torch >= 40)
        )
    ml, ml_cpu = worst("ml_vs_clean", max), worst("ml_vs_clean_cpu", max)
    if ml is not None and ml_cpu is not None:
        measured = f"{ml:.2f}× wall, {ml_cpu:.2f}× CPU"
        rows.append(("…unchanged with 300 more distributions", measured, ml_cpu <= 1.1))
    depth = results.get("depth", {}).get("200k_vs_8")
    if depth is not None:
        rows.append(
            ("count flat in depth (200,000 vs 8 layers ≤ 1.1×)", f"{depth:.2f}×", depth <= 1.1)
        )
    validate = results.get("validate", {})
    if validate.get("one_vs_check_jsonschema") is not None:
        one = validate["one_vs_check_jsonschema"]
        rows.append(("`validate` of one file ≤ 0.5× check-jsonschema", f"{one:.2f}×", one <= 0.5))
    if "many_seconds" in validate:
        many, cpu = validate["many_seconds"], validate["many_cpu_seconds"]
        measured = f"{many:.2f} s wall, {cpu:.2f} s CPU"
        rows.append(("1,000 files in one call ≤ 1 s", measured, cpu <= 1))
    sweep = results.get("sweep", {})
    if sweep:
        rate, per_cpu = sweep["library_rows_per_s"], sweep["library_rows_per_cpu_s"]
        cli = sweep["cli_vs_numpy"]
        rows.append(
            (
                "library sweep ≥ 5M rows/s, every check on",
                f"{rate / 1e6:.1f}M rows/s wall, {per_cpu / 1e6:.1f}M per CPU second",
                per_cpu >= 5e6,
            )
        )
        rows.append(("`sweep` of 1M rows to CSV ≤ 2× NumPy", f"{cli:.2f}×", cli <= 2))
    lines = ["| target | this run | met |", "|---|---:|---|"]
    lines += [f"| {t} | {m} | {'yes' if ok else 'no'} |" for t, m, ok in rows]
    lines += [
        "",
        "A time target is judged on CPU time (the process's own user + system seconds), which "
        "other jobs on a shared machine do not inflate; on a quiet machine wall time is the "
        "same, and both are shown.",
    ]
    return "\n".join(lines)


TITLES = {
    "count": "Count: archcalc against its floor, an ML-sized environment and building the model",
    "depth": "Count time against depth",
    "validate": "Validate: archcalc against check-jsonschema",
    "sweep": "Sweep: the library, and the CLI against NumPy",
    "typer": "typer releases",
}


def update_readme(tables: dict[str, str], header: str) -> None:
    """Replace each ``<!-- bench:NAME -->...<!-- /bench:NAME -->`` block of the README."""
    text = README.read_text(encoding="utf-8")
    for name, table in {**tables, "machine": header}.items():
        pattern = re.compile(
            rf"(<!-- bench:{name} -->\n)(?:.*?\n)?(<!-- /bench:{name} -->)", re.DOTALL
        )
        if not pattern.search(text):
            print(f"README has no <!-- bench:{name} --> block; not updated", file=sys.stderr)
            continue
        text = pattern.sub(lambda m, t=table: m.group(1) + t + "\n" + m.group(2), text)
    README.write_text(text, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument("--runs", type=int, default=9, help="runs per figure (median)")
    parser.add_argument("--torch-runs", type=int, default=3)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--ml-dists", type=int, default=300)
    parser.add_argument(
        "--torch-python",
        default=os.environ.get("ARCHCALC_BENCH_TORCH_PYTHON"),
        help="an interpreter with torch and transformers (the count section's peer)",
    )
    parser.add_argument("--check-jsonschema", default=shutil.which("check-jsonschema"))
    parser.add_argument("--typer-versions", default="0.20.1,0.24.2,0.26.8,0.27.3,0.28.0,0.29.2")
    parser.add_argument("--venv-dir", type=Path, default=ROOT / ".bench")
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args()
    sections = [s.strip() for s in args.only.split(",") if s.strip()]
    args.venv_dir.mkdir(exist_ok=True)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        WORKDIR.append(tmp)
        env = {**os.environ, "ARCHCALC_CACHE_DIR": str(tmp / "cache")}
        env.pop("ARCHCALC_DISABLE_PLUGIN_AUTOLOAD", None)
        ctx = Context(
            tmp,
            args.venv_dir,
            args.runs,
            args.torch_runs,
            args.files,
            args.ml_dists,
            args.torch_python,
            args.check_jsonschema,
            env,
        )
        if set(sections) - {"typer"}:
            wheel = build_wheel(args.venv_dir)
            ctx.clean = make_venv(args.venv_dir / "clean", wheel, 0)
            ctx.ml = make_venv(args.venv_dir / "ml", wheel, args.ml_dists)
        tables: dict[str, str] = {}
        for name in sections:
            if name == "typer":
                tables[name] = section_typer(ctx, args.typer_versions.split(","))
            else:
                tables[name] = globals()[f"section_{name}"](ctx)
            print(f"### {TITLES[name]}\n\n{tables[name]}\n", flush=True)
    load_after = os.getloadavg()
    header = (
        f"Measured with `python benchmarks/bench.py` on {platform.system()} "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {load_before[0]:.1f} before and {load_after[0]:.1f} after "
        f"({time.strftime('%Y-%m-%d')}); medians of {args.runs} runs"
        + (f" ({args.torch_runs} for torch)" if args.torch_python else "")
        + "."
    )
    print(header)
    if set(sections) - {"typer"}:
        tables["targets"] = targets(ctx.results)
        print(f"\n### Targets\n\n{tables['targets']}")
    print(json.dumps(ctx.results, indent=2), file=sys.stderr)
    if args.update_readme:
        update_readme(tables, header)
    return 0


if __name__ == "__main__":
    sys.exit(main())
