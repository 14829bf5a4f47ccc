"""Sizes beyond the count: weight and training memory, KV cache, FLOPs, Chinchilla tokens.

Every figure carries its convention, because published calculators disagree mostly on
conventions (FLOPs or MACs, causal halving, which bytes an optimizer keeps):

* **Weight memory**: parameters × bytes per parameter of the dtype (fp32 4, bf16/fp16 2,
  fp8 1, int8 1, int4 ½). int4 adds one fp16 scale (2 B) per group of ``group_size``
  weights (128 by default, GPTQ/AWQ style, no zero-points), over all parameters. All
  parameters are stored, MoE experts included.
* **Training memory**, mixed-precision Adam, per parameter: 2 B bf16 weights + 2 B bf16
  gradients + 12 B fp32 optimizer state (4 master weights + 4 Adam m + 4 Adam v) =
  16 B. With data parallelism over N GPUs, ZeRO shards the optimizer state (stage 1),
  also the gradients (stage 2), also the weights (stage 3). Activations are not included.
* **KV cache**: elements × bytes of the cache dtype; the family says how many elements a
  token adds (``2·n_layers·n_kv_heads·d_head`` for a decoder).
* **FLOPs**: the family's forward matmul FLOPs (2·m·n·k per matmul) over a sequence of
  ``seq_len`` tokens, non-causal and causal; training ≈ 3 × forward (backward computes
  two matmuls per forward matmul), next to the 6·N·D rule of thumb (N = active
  parameters).
* **Chinchilla**: about 20 training tokens per parameter (Hoffmann et al. 2022), a rule of
  thumb, N = total parameters.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from archcalc import api
from archcalc.contract import family_call, family_failure, figure_problem
from archcalc.errors import PluginError, UsageError, safe, shorten

#: Bytes per parameter (int4 packs two parameters per byte).
DTYPE_BYTES: dict[str, Fraction] = {
    "fp32": Fraction(4),
    "bf16": Fraction(2),
    "fp16": Fraction(2),
    "fp8": Fraction(1),
    "int8": Fraction(1),
    "int4": Fraction(1, 2),
}
#: Bytes of one quantization scale (fp16) for int4.
SCALE_BYTES = 2
DEFAULT_GROUP_SIZE = 128
#: Mixed-precision Adam, bytes per parameter, by what they hold.
ADAM_BYTES = (
    ("bf16 weights", 2),
    ("bf16 gradients", 2),
    ("fp32 master weights", 4),
    ("fp32 Adam m", 4),
    ("fp32 Adam v", 4),
)
CHINCHILLA_TOKENS_PER_PARAM = 20
MAX_SEQ_LEN = 10**9
MAX_GPUS = 10**7


@dataclass(frozen=True)
class Compute:
    """What a family's ``compute`` function returns for one forward pass of ``seq_len`` tokens.

    A family opts into ``archcalc size``'s FLOPs and KV-cache sections by setting
    ``Family.compute`` to ``compute(spec: Resolved, seq_len: int) -> Compute`` (or to a lazy
    ``"module:function"`` string naming it). It runs on exact values only; every figure is
    a whole number >= 0 (use ``//``, never ``/``, on ints), ``seq_len`` is the one it was
    given, and ``components`` sum to ``flops_per_sequence``. archcalc checks all of this
    and blames the plugin (exit 3) when a figure is wrong.
    """

    seq_len: int
    #: Matmul FLOPs (2·m·n·k) of a forward pass over one sequence, full S×S attention.
    flops_per_sequence: int
    #: The same with causal masking: only unmasked attention pairs counted.
    flops_per_sequence_causal: int
    #: (component, FLOPs per sequence, non-causal); sums to ``flops_per_sequence``.
    components: tuple[tuple[str, int], ...]
    #: KV-cache elements each generated token adds; None when the model does not generate.
    kv_elements_per_token: int | None
    #: KV-cache elements per sequence independent of generated tokens (cross-attention).
    kv_elements_per_sequence_fixed: int = 0
    #: Per-head k and v elements per token when the cache could hold a compressed latent
    #: instead (MLA); equal to ``kv_elements_per_token`` otherwise. None: no cache.
    kv_elements_per_token_expanded: int | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: For a model whose forward pass does not depend on ``seq_len`` (an image classifier):
    #: what one input is (``"3×224×224 image"``). Then ``seq_len`` is 1 and the "sequence"
    #: figures are per input; ``size`` shows them with their multiply-adds.
    input: str | None = None

    @classmethod
    def for_input(
        cls, input: str, components: tuple[tuple[str, int], ...], notes: tuple[str, ...] = ()
    ) -> Compute:
        """One forward pass over one ``input`` (a vision model): FLOPs by component."""
        flops = sum(f for _, f in components)
        return cls(1, flops, flops, components, None, notes=notes, input=input)


@dataclass(frozen=True)
class Sizes:
    """Every size of one spec, exact where defined (ints; Fractions only for per-token means)."""

    name: str
    family: str
    total_params: int
    active_params: int
    group_size: int
    weight_bytes: dict[str, int]
    gpus: int
    #: ZeRO stage -> bytes per GPU (weights + gradients + optimizer state).
    training_bytes_per_gpu: dict[int, int]
    kv_dtype: str
    batch: int
    compute: Compute | None
    tokens: int
    tokens_note: str


def weight_bytes(n_params: int, dtype: str, group_size: int = DEFAULT_GROUP_SIZE) -> int:
    """Bytes to store ``n_params`` weights in ``dtype``, rounded up to whole bytes."""
    per = DTYPE_BYTES[dtype]
    total = per * n_params
    if dtype == "int4":
        total += SCALE_BYTES * -(-n_params // group_size)
    return math.ceil(total)


def training_bytes(n_params: int, stage: int, gpus: int) -> int:
    """Per-GPU bytes of weights, gradients and Adam state under ZeRO ``stage`` (0: none)."""
    weights: int | Fraction = 2 * n_params
    grads: int | Fraction = 2 * n_params
    optimizer: int | Fraction = 12 * n_params
    if stage >= 1:
        optimizer = Fraction(optimizer, gpus)
    if stage >= 2:
        grads = Fraction(grads, gpus)
    if stage >= 3:
        weights = Fraction(weights, gpus)
    return math.ceil(weights + grads + optimizer)


def compute_problem(compute: Any, seq_len: int) -> str:
    """Why a ``compute`` result is unusable, or '' when it is a sound :class:`Compute`."""
    if not isinstance(compute, Compute):
        return f"compute returned {type(compute).__name__}, expected archcalc.sizes.Compute"
    expected_len = 1 if getattr(compute, "input", None) is not None else seq_len
    if compute.seq_len != expected_len:
        return f"compute returned seq_len {shorten(compute.seq_len)}, asked for {expected_len}"
    figures: list[tuple[str, Any]] = [
        ("flops_per_sequence", compute.flops_per_sequence),
        ("flops_per_sequence_causal", compute.flops_per_sequence_causal),
        ("kv_elements_per_sequence_fixed", compute.kv_elements_per_sequence_fixed),
    ]
    for name in ("kv_elements_per_token", "kv_elements_per_token_expanded"):
        value = getattr(compute, name)
        if value is not None:
            figures.append((name, value))
    if not isinstance(compute.components, tuple) or not all(
        isinstance(c, tuple) and len(c) == 2 and isinstance(c[0], str) for c in compute.components
    ):
        return "compute returned components that are not (name, FLOPs) pairs"
    figures += [(f"component '{name}'", flops) for name, flops in compute.components]
    for name, value in figures:
        problem = figure_problem(value, symbolic=False)
        if problem:
            return f"compute returned {name} = {problem}"
    if compute.components and sum(f for _, f in compute.components) != compute.flops_per_sequence:
        return "compute returned components that do not sum to flops_per_sequence"
    if not all(isinstance(n, str) for n in compute.notes):
        return "compute returned notes that are not strings"
    return ""


def family_compute(spec: api.Spec) -> Any:
    """The family's compute hook (a callable or a lazy ``"module:function"`` string), or None."""
    hook = getattr(spec.family, "compute", None)
    if hook is None or callable(hook):
        return hook
    module_name, _, attr = str(hook).partition(":")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise PluginError(
            f"family '{spec.family.name}': compute hook '{hook}' cannot be loaded: {exc}"
        ) from None


def sizes(
    spec: api.Spec,
    seq_len: int = 2048,
    kv_dtype: str = "bf16",
    group_size: int = DEFAULT_GROUP_SIZE,
    gpus: int = 1,
    batch: int = 1,
    tokens: int | None = None,
) -> Sizes:
    """Memory, KV cache, FLOPs and training tokens of ``spec``; see the module's conventions."""
    if kv_dtype not in DTYPE_BYTES:
        raise UsageError(f"--kv-dtype must be one of {', '.join(DTYPE_BYTES)}, got '{kv_dtype}'")
    for option, value, high in (
        ("--seq-len", seq_len, MAX_SEQ_LEN),
        ("--group-size", group_size, 10**9),
        ("--gpus", gpus, MAX_GPUS),
        ("--batch", batch, 10**9),
    ):
        if not 1 <= value <= high:
            raise UsageError(f"{option} must be between 1 and {high:,}, got {value}")
    counted = api.count(spec)
    total, active = counted.total_params, counted.active_params
    hook = family_compute(spec)
    compute = None
    if hook is not None:
        compute = family_call(spec.exact, "compute", hook, spec.exact, seq_len)
        problem = compute_problem(compute, seq_len)
        if problem:
            raise family_failure(spec.exact, "compute", problem)
    if tokens is None:
        tokens = CHINCHILLA_TOKENS_PER_PARAM * total
        note = f"Chinchilla-optimal: ≈ {CHINCHILLA_TOKENS_PER_PARAM} tokens per parameter"
    else:
        if tokens < 1:
            raise UsageError("--tokens must be positive")
        note = "given with --tokens"
    return Sizes(
        name=spec.name,
        family=spec.family.name,
        total_params=total,
        active_params=active,
        group_size=group_size,
        weight_bytes={d: weight_bytes(total, d, group_size) for d in DTYPE_BYTES},
        gpus=gpus,
        training_bytes_per_gpu={stage: training_bytes(total, stage, gpus) for stage in range(4)},
        kv_dtype=kv_dtype,
        batch=batch,
        compute=compute,
        tokens=tokens,
        tokens_note=note,
    )


def kv_bytes_per_token(result: Sizes) -> int | None:
    c = result.compute
    if c is None or c.kv_elements_per_token is None:
        return None
    return math.ceil(DTYPE_BYTES[result.kv_dtype] * c.kv_elements_per_token)


def kv_bytes_per_sequence(result: Sizes) -> int | None:
    """Cache of ``batch`` sequences of ``seq_len`` tokens (cross-attention cache included)."""
    c = result.compute
    if c is None or c.kv_elements_per_token is None:
        return None
    elements = c.kv_elements_per_token * c.seq_len + c.kv_elements_per_sequence_fixed
    return math.ceil(DTYPE_BYTES[result.kv_dtype] * elements * result.batch)


def training_flops(result: Sizes) -> dict[str, int] | None:
    """Training compute for ``tokens`` tokens: exact 3 × forward, and the 6·N·D estimate."""
    c = result.compute
    six_nd = 6 * result.active_params * result.tokens
    if c is None:
        return {"six_n_d": six_nd}
    per_token = Fraction(3 * c.flops_per_sequence, c.seq_len)
    per_token_causal = Fraction(3 * c.flops_per_sequence_causal, c.seq_len)
    return {
        "three_forward": math.ceil(per_token * result.tokens),
        "three_forward_causal": math.ceil(per_token_causal * result.tokens),
        "six_n_d": six_nd,
    }


# ------------------------------------------------------------------------- rendering

_BYTE_UNITS = (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10))


def human_bytes(n: int) -> str:
    for unit, scale in _BYTE_UNITS:
        if n >= scale:
            return f"{n / scale:,.2f} {unit}"
    return f"{n} B"


def human_flops(n: int | Fraction) -> str:
    if n >= 10**21:
        return f"{float(n):.3e} FLOP"
    for unit, scale in (("EFLOP", 10**18), ("PFLOP", 10**15), ("TFLOP", 10**12), ("GFLOP", 10**9)):
        if n >= scale:
            return f"{float(n) / scale:,.3g} {unit}"
    return f"{float(n):,.0f} FLOP"


CONVENTIONS = {
    "weights": "parameters × bytes/param (all stored, MoE experts included); int4: ½ B/param "
    "+ one fp16 scale per group of {group_size}",
    "training": "mixed-precision Adam: 2 B bf16 weights + 2 B bf16 grads + 12 B fp32 "
    "(master 4 + m 4 + v 4) = 16 B/param; ZeRO-1 shards the 12 B, ZeRO-2 also the grads, "
    "ZeRO-3 also the weights, over {gpus} GPU(s); activations not included",
    "kv_cache": "keys and values of every self-attention block, {kv_dtype}; GQA/MQA aware",
    "flops": "matmul FLOPs, 2·m·n·k per matmul (FlopCounterMode's convention); non-causal "
    "computes the full S×S attention, causal only unmasked pairs; MoE: router + top_k experts",
    "training_flops": "3 × forward FLOPs (backward = 2 × forward for matmuls) vs 6·N·D with "
    "N = active parameters",
    "tokens": "",
}


def to_json(result: Sizes) -> dict[str, Any]:
    """Ints everywhere (bytes, FLOPs); per-token means as exact "p/q" strings when fractional."""
    c = result.compute
    conventions = {
        k: v.format(group_size=result.group_size, gpus=result.gpus, kv_dtype=result.kv_dtype)
        for k, v in CONVENTIONS.items()
    }
    conventions["tokens"] = result.tokens_note
    out: dict[str, Any] = {
        "name": result.name,
        "family": result.family,
        "total_params": result.total_params,
        "active_params": result.active_params,
        "weight_bytes": result.weight_bytes,
        "int4_group_size": result.group_size,
        "training": {
            "bytes_per_param": dict(ADAM_BYTES),
            "gpus": result.gpus,
            "bytes_per_gpu_by_zero_stage": {
                str(k): v for k, v in result.training_bytes_per_gpu.items()
            },
        },
        "tokens": result.tokens,
        "training_flops": training_flops(result),
        "conventions": conventions,
    }
    if c is not None and c.input is not None:
        out["forward_flops"] = {
            "input": c.input,
            "per_input": c.flops_per_sequence,
            "multiply_adds_per_input": c.flops_per_sequence // 2,
            "components": dict(c.components),
        }
        out["training_flops"] = {"three_forward_per_input": 3 * c.flops_per_sequence}
        del out["tokens"]
        out["notes"] = list(c.notes)
    elif c is not None:
        out["seq_len"] = c.seq_len
        out["kv_cache"] = {
            "dtype": result.kv_dtype,
            "elements_per_token": c.kv_elements_per_token,
            "elements_per_token_expanded": c.kv_elements_per_token_expanded,
            "bytes_per_token": kv_bytes_per_token(result),
            "batch": result.batch,
            "bytes_per_batch_of_sequences": kv_bytes_per_sequence(result),
        }
        out["forward_flops"] = {
            "per_sequence": c.flops_per_sequence,
            "per_sequence_causal": c.flops_per_sequence_causal,
            "per_token": _exact(Fraction(c.flops_per_sequence, c.seq_len)),
            "per_token_causal": _exact(Fraction(c.flops_per_sequence_causal, c.seq_len)),
            "components": dict(c.components),
        }
        out["notes"] = list(c.notes)
    return out


def _input_flops_text(c: Compute) -> list[str]:
    """FLOPs of one forward pass over one input (a vision model), with its multiply-adds."""
    lines = ["", f"forward pass over one {c.input} (batch 1)"]
    macs = c.flops_per_sequence // 2
    shown = human_flops(macs).replace("FLOP", "MAC")
    lines.append(f"  multiply-adds (MACs)             {macs:>22,}  {shown:>12}")
    lines.append(
        f"  FLOPs (2 × multiply-adds)        {c.flops_per_sequence:>22,}  "
        f"{human_flops(c.flops_per_sequence):>12}"
    )
    for name, flops in c.components:
        share = 100 * flops / c.flops_per_sequence if c.flops_per_sequence else 0
        lines.append(f"    {safe(name):<32} {flops:>20,}  {share:5.1f}%")
    lines += [f"  note: {note}" for note in c.notes]
    return lines


def _exact(value: Fraction) -> int | str:
    return int(value) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def to_text(result: Sizes) -> str:
    """Sections: weights by dtype, training memory, KV cache, FLOPs, tokens; conventions."""
    from archcalc.render import human

    lines = [
        f"{safe(result.name)} ({safe(result.family)}): {result.total_params:,} params "
        f"({human(result.total_params)})"
        + (
            f", {result.active_params:,} active ({human(result.active_params)})"
            if result.active_params != result.total_params
            else ""
        ),
        "",
        "weight memory",
    ]
    for dtype, n in result.weight_bytes.items():
        per = DTYPE_BYTES[dtype]
        label = f"{dtype} ({per} B/param" + (
            f" + fp16 scale per {result.group_size})" if dtype == "int4" else ")"
        )
        lines.append(f"  {label:<41} {n:>15,} B  {human_bytes(n):>12}")
    lines += ["", "training memory, mixed-precision Adam (16 B/param; activations not included)"]
    lines.append("  " + " + ".join(f"{b} B {what}" for what, b in ADAM_BYTES))
    for stage, n in result.training_bytes_per_gpu.items():
        label = "no ZeRO" if stage == 0 else f"ZeRO-{stage}"
        lines.append(f"  {label:<10} per GPU of {result.gpus:<5} {n:>22,} B  {human_bytes(n):>12}")
    c = result.compute
    if c is not None and c.input is not None:
        lines += _input_flops_text(c)
    elif c is not None:
        lines += ["", f"KV cache ({result.kv_dtype})"]
        per_token = kv_bytes_per_token(result)
        if per_token is None:
            lines.append("  none: this model does not generate")
        else:
            per_seq = kv_bytes_per_sequence(result) or 0
            lines.append(f"  per token                        {per_token:>22,} B")
            lines.append(
                f"  per {result.batch} × {c.seq_len:,}-token sequence".ljust(35)
                + f"{per_seq:>22,} B  {human_bytes(per_seq):>12}"
            )
        lines += ["", f"forward FLOPs at seq_len {c.seq_len:,} (matmuls, 2·m·n·k)"]
        flops_per_token = Fraction(c.flops_per_sequence, c.seq_len)
        causal_per_token = Fraction(c.flops_per_sequence_causal, c.seq_len)
        lines.append(f"  per token, non-causal            {float(flops_per_token):>22,.0f}")
        lines.append(f"  per token, causal                {float(causal_per_token):>22,.1f}")
        lines.append(
            f"  per sequence, non-causal         {c.flops_per_sequence:>22,}  "
            f"{human_flops(c.flops_per_sequence):>12}"
        )
        for name, flops in c.components:
            share = 100 * flops / c.flops_per_sequence if c.flops_per_sequence else 0
            lines.append(f"    {safe(name):<32} {flops:>20,}  {share:5.1f}%")
        for note in c.notes:
            lines.append(f"  note: {note}")
    if c is not None and c.input is not None:  # no tokens: training cost per input
        three = 3 * c.flops_per_sequence
        lines += ["", f"training, per {c.input} (3 × forward: backward ≈ 2 × forward)"]
        lines.append(f"  FLOPs                            {three:>22,}  {human_flops(three):>12}")
        return "\n".join(lines)
    lines += ["", f"training tokens: {result.tokens:,} ({result.tokens_note})"]
    training = training_flops(result) or {}
    if "three_forward" in training:
        lines.append(
            f"  3 × forward FLOPs (non-causal)   {training['three_forward']:>26,}  "
            f"{human_flops(training['three_forward'])}"
        )
        lines.append(
            f"  3 × forward FLOPs (causal)       {training['three_forward_causal']:>26,}  "
            f"{human_flops(training['three_forward_causal'])}"
        )
    six = training["six_n_d"]
    lines.append(f"  6·N·D (N = active params)        {six:>26,}  {human_flops(six)}")
    return "\n".join(lines)
