"""Text and JSON for checkpoints and tensor lists: ``count CHECKPOINT``, ``tensors``, ``check``.

Every name printed here may come from a hostile file (a tensor name in a safetensors
header, a path), so it goes through :func:`safe` first: control, escape and bidi
characters are shown escaped and cannot rewrite the terminal or split a line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archcalc.render import human

if TYPE_CHECKING:
    from archcalc.checkpoint import Checkpoint

__all__ = ["checkpoint_json", "checkpoint_text", "safe", "shape_text"]


def safe(text: str) -> str:
    """``text`` with every character that could disguise or split a line shown escaped."""
    from archcalc import errors

    escape = getattr(errors, "safe", None) or errors._escape
    out = escape(text)
    # bidi overrides and isolates can reorder what a reader sees (the Trojan Source trick)
    return "".join(
        f"\\u{ord(c):04x}" if "\u202a" <= c <= "\u202e" or "\u2066" <= c <= "\u2069" else c
        for c in out
    )


def shape_text(shape: tuple[Any, ...]) -> str:
    """``(4096, 128256)`` as ``4096×128256``; a scalar as ``()``."""
    return "×".join(str(d) for d in shape) if shape else "()"


def checkpoint_json(checkpoint: Checkpoint) -> dict[str, Any]:
    """The parameters a checkpoint holds, by dtype (``count CHECKPOINT --json``)."""
    total = checkpoint.total_params
    obj: dict[str, Any] = {
        "name": safe(checkpoint.source),
        "source": "checkpoint",
        "files": [safe(f) for f in checkpoint.files],
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
    files = len(checkpoint.files)
    lines = [
        f"{safe(checkpoint.source)}  (safetensors checkpoint: {len(checkpoint.tensors):,} "
        f"tensors in {files} file{'s' if files != 1 else ''})",
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
    if checkpoint.total_size is not None and checkpoint.total_size != checkpoint.total_bytes:
        lines.append(f"note: the index's metadata.total_size says {checkpoint.total_size:,} bytes")
    lines.append("counted from the tensors themselves (buffers included; no config.json read)")
    return "\n".join(lines)
