"""Text and JSON for checkpoints and tensor lists: ``count CHECKPOINT``, ``tensors``, ``check``.

Every name printed here may come from a hostile file (a tensor name in a safetensors
header, a path), so text goes through :func:`archcalc.errors.safe` first: control, escape
and bidi characters are shown escaped and cannot rewrite the terminal or split a line.
JSON keeps the true string (json.dumps writes every such character as an escape),
so a consumer can match a name against the checkpoint's.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any

from archcalc.errors import safe
from archcalc.render import human

if TYPE_CHECKING:
    from archcalc.api import Spec
    from archcalc.check import CheckReport
    from archcalc.checkpoint import Checkpoint, StoredTensor
    from archcalc.state_dict import Expected

__all__ = [
    "check_json",
    "check_text",
    "checkpoint_json",
    "checkpoint_text",
    "shape_text",
    "tensors_json",
    "tensors_text",
]


def shape_text(shape: tuple[Any, ...]) -> str:
    """``(4096, 128256)`` as ``4096×128256``; a scalar as ``()``."""
    return "×".join(str(d) for d in shape) if shape else "()"


def checkpoint_json(checkpoint: Checkpoint) -> dict[str, Any]:
    """The parameters a checkpoint holds, by dtype (``count CHECKPOINT --json``)."""
    total = checkpoint.total_params
    from archcalc import __version__

    obj: dict[str, Any] = {
        "archcalc_version": __version__,
        "name": checkpoint.source,
        "source": "checkpoint",
        "files": list(checkpoint.files),
        "tensors": len(checkpoint.tensors),
        "total_params": total,
        # A checkpoint does not say which parameters a token uses; see "note".
        "active_params": total,
        "params_by_dtype": checkpoint.by_dtype(),
        "total_bytes": checkpoint.total_bytes,
        "note": "counted from the checkpoint's tensors (buffers included); active_params "
        "is total_params, since a checkpoint does not say which are active",
    }
    if checkpoint.total_size is not None:
        obj["index_total_size"] = checkpoint.total_size
    return obj


def checkpoint_text(checkpoint: Checkpoint) -> str:
    """A Hub-style "model size": total parameters and each dtype's share."""
    total = checkpoint.total_params
    files, tensors = len(checkpoint.files), len(checkpoint.tensors)
    lines = [
        f"{safe(checkpoint.source)}  (safetensors checkpoint: {tensors:,} "
        f"tensor{'s' if tensors != 1 else ''} in {files} file{'s' if files != 1 else ''})",
        "",
    ]
    rows = [("dtype", "params", "%", "bytes")]
    for dtype, params in checkpoint.by_dtype().items():
        share = f"{100 * params / total:.1f}%" if total else "-"
        nbytes = sum(t.nbytes for t in checkpoint if t.dtype == dtype)
        rows.append((dtype, f"{params:,}", share, f"{nbytes:,}"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        cells = [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join([row[0].ljust(widths[0]), *cells]))
    lines.append("")
    lines.append(f"total params:  {total:,}  ({human(total)})")
    lines.append(f"total bytes:   {checkpoint.total_bytes:,}")
    lines.append("counted from the tensors themselves (buffers included; no config.json read)")
    return "\n".join(lines)


# --------------------------------------------------------------------------- tensors


def _number(value: Fraction) -> int | float:
    return int(value) if value.denominator == 1 else float(value)


def _naming_label(model_type: str | None, family: str) -> str:
    if model_type is not None:
        return f"transformers {model_type} state-dict names"
    if family == "transformer":
        return "archcalc's canonical names (give --model-type for a transformers naming)"
    return f"{family} names"


def tensors_json(
    spec: Spec, expected: list[Expected], model_type: str | None, dtype: str
) -> dict[str, Any]:
    from archcalc.tensors import dtype_bytes

    rows = []
    total_bytes = Fraction(0)
    for entry in expected:
        t = entry.tensor
        nbytes = dtype_bytes(t.numel, dtype)
        total_bytes += nbytes
        rows.append(
            {
                "name": t.name,
                "shape": list(t.shape),
                "numel": t.numel,
                "bytes": _number(nbytes),
            }
        )
    return {
        "name": spec.name,
        "family": spec.family.name,
        "model_type": model_type,
        "dtype": dtype,
        "total_params": sum(e.tensor.numel for e in expected),
        "total_bytes": _number(total_bytes),
        "tensors": rows,
    }


def tensors_text(spec: Spec, expected: list[Expected], model_type: str | None, dtype: str) -> str:
    from archcalc.tensors import dtype_bytes

    rows = [("name", "shape", "params", f"bytes ({dtype})")]
    total, total_bytes = 0, Fraction(0)
    for entry in expected:
        t = entry.tensor
        nbytes = dtype_bytes(t.numel, dtype)
        total += t.numel
        total_bytes += nbytes
        rows.append((safe(t.name), shape_text(t.shape), f"{t.numel:,}", f"{_number(nbytes):,}"))
    rows.append((f"{len(expected):,} tensors", "", f"{total:,}", f"{_number(total_bytes):,}"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [
        f"{safe(spec.name)}  ({spec.family.name}, {safe(spec.file)}; "
        f"{_naming_label(model_type, spec.family.name)})",
        "",
    ]
    for i, row in enumerate(rows):
        if i == len(rows) - 1:
            lines.append("-" * (sum(widths) + 6))
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        cells += [row[2].rjust(widths[2]), row[3].rjust(widths[3])]
        lines.append("  ".join(cells).rstrip())
    lines.append("")
    lines.append(f"total params:  {total:,}  ({human(total)})")
    return "\n".join(lines)


# --------------------------------------------------------------------------- check

#: Lines of each kind of finding printed as text (JSON lists them all).
TEXT_LIMIT = 50


def _stored(tensor: StoredTensor) -> dict[str, Any]:
    return {
        "name": tensor.name,
        "shape": list(tensor.shape),
        "dtype": tensor.dtype,
        "file": tensor.file,
    }


def _some(names: list[str]) -> str:
    """The first three names, and how many more there are."""
    shown = ", ".join(safe(name) for name in names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _notes(report: CheckReport) -> list[str]:
    notes = []
    if report.prefix_note:
        notes.append(f"{report.prefix_note} (handled: a base-model prefix)")
    if report.buffers:
        notes.append(
            f"{len(report.buffers)} buffer(s) saved beside the parameters, not parameters: "
            + _some([t.name for t in report.buffers])
        )
    if report.unsaved:
        notes.append(
            f"{len(report.unsaved)} parameter(s) that {report.model_type} checkpoints never "
            "store (transformers rebuilds them when loading): "
            + _some([e.tensor.name for e in report.unsaved])
        )
    if report.ignored:
        notes.append(
            f"{len(report.ignored):,} tensor(s) that transformers does not load for "
            f"{report.model_type} (a multi-token-prediction layer), not parameters of the "
            "model: " + _some([t.name for t in report.ignored])
        )
    for tensor in report.tied_copies:
        notes.append(
            f"{safe(tensor.name)} stores a second copy of the tied embedding (counted once)"
        )
    return notes + report.notes


def check_json(report: CheckReport) -> dict[str, Any]:
    return {
        "agree": report.agree,
        "spec": safe(report.spec),
        "spec_file": safe(report.spec_file),
        "checkpoint": safe(report.source),
        "model_type": report.model_type,
        "naming_from": safe(report.naming_from),
        "spec_tensors": len(report.expected),
        "matched": report.matched,
        "missing": [
            {"name": safe(e.tensor.name), "shape": list(e.tensor.shape)} for e in report.missing
        ],
        "unsaved": [
            {"name": safe(e.tensor.name), "shape": list(e.tensor.shape)} for e in report.unsaved
        ],
        "unexpected": [
            {**_stored(t), **({"hint": report.hints[t.name]} if t.name in report.hints else {})}
            for t in report.unexpected
        ],
        "shape_mismatches": [
            {
                "name": safe(stored.name),
                "spec_shape": list(entry.tensor.shape),
                "checkpoint_shape": list(stored.shape),
            }
            for entry, stored in report.mismatched
        ],
        "buffers": [_stored(t) for t in report.buffers],
        "tied_copies": [_stored(t) for t in report.tied_copies],
        "quantization": [_stored(t) for t in report.quantization],
        "ignored": [_stored(t) for t in report.ignored],
        "problems": report.problems,
        "notes": _notes(report),
        "spec_params": report.spec_params,
        "checkpoint_params": report.checkpoint_params,
        "index_total_parameters": report.total_parameters,
        "index_total_size": report.total_size,
        "spec_bytes": report.expected_bytes,
    }


def _limited(kind: str, lines: list[str]) -> list[str]:
    if len(lines) <= TEXT_LIMIT:
        return lines
    rest = len(lines) - TEXT_LIMIT
    return [*lines[:TEXT_LIMIT], f"{kind:<10}  … and {rest:,} more (--format json lists all)"]


def check_text(report: CheckReport) -> str:
    naming = (
        f"transformers {report.model_type} names, from {safe(report.naming_from)}"
        if report.model_type
        else safe(report.naming_from)
    )
    lines = [f"{safe(report.spec_file)} vs {safe(report.source)}  ({naming})", ""]
    lines += _limited(
        "missing",
        [
            f"missing     {safe(e.tensor.name)}  {shape_text(e.tensor.shape)}"
            for e in report.missing
        ],
    )
    lines += _limited(
        "unexpected",
        [
            f"unexpected  {safe(t.name)}  {shape_text(t.shape)} {t.dtype}  in {safe(t.file)}"
            + (f"  ({report.hints[t.name]})" if t.name in report.hints else "")
            for t in report.unexpected
        ],
    )
    lines += _limited(
        "shape",
        [
            f"shape       {safe(s.name)}  spec {shape_text(e.tensor.shape)}, checkpoint "
            f"{shape_text(s.shape)}"
            for e, s in report.mismatched
        ],
    )
    lines += [f"total       {p}" for p in report.problems]
    if len(lines) > 2:
        lines.append("")
    lines += [f"note: {n}" for n in _notes(report)]
    spec_total = f"spec: {report.spec_params:,} parameters in {len(report.expected):,} tensors"
    ck_total = f"checkpoint: {report.checkpoint_params:,} in {report.checkpoint_tensors:,} tensors"
    lines.append(f"{spec_total}; {ck_total}")
    if report.total_size is not None:
        lines.append(
            f"index metadata.total_size: {report.total_size:,} bytes; the spec's tensors at "
            f"the stored dtypes: {report.expected_bytes:,}"
        )
    if not report.agree:
        lines.append(
            "(missing: the spec implies it, the checkpoint lacks it; unexpected: the reverse)"
        )
    if report.agree:
        lines.append(f"agree: all {len(report.expected):,} tensors match by name and shape")
    else:
        lines.append(
            f"disagree: {len(report.missing):,} missing, {len(report.unexpected):,} unexpected, "
            f"{len(report.mismatched):,} with another shape"
            + (f", {len(report.problems)} total(s) off" if report.problems else "")
        )
    return "\n".join(lines)
