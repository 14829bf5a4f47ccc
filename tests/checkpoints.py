"""A hand-written safetensors writer, and the pinned transformers checkpoints rebuilt with it.

``tests/data/reference/checkpoints.json`` (written by ``reference/checkpoint_headers.py``
with transformers' ``save_pretrained``) records each tiny checkpoint's config and headers;
:func:`write_case` writes them back to disk with zeros for the weights (a sparse file: the
data section costs no disk), so the tests need neither torch nor weights.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.helpers import reference

BITS = {"F32": 32, "BF16": 16, "F16": 16, "F64": 64, "I64": 64, "I32": 32, "I8": 8, "U8": 8}
BITS.update({"BOOL": 8, "F4": 4, "F8_E4M3": 8})


def header_of(tensors: Mapping[str, tuple[str, list[int]]]) -> dict[str, Any]:
    """A header laying ``name -> (dtype, shape)`` out one after the other, in order."""
    header: dict[str, Any] = {}
    position = 0
    for name, (dtype, shape) in tensors.items():
        size = math.prod(shape) * BITS[dtype] // 8
        header[name] = {
            "dtype": dtype,
            "shape": list(shape),
            "data_offsets": [position, position + size],
        }
        position += size
    return header


def write_raw(path: Path, header_bytes: bytes, data_size: int, length: int | None = None) -> Path:
    """The 8-byte length (``length`` or the true one), the header bytes, ``data_size`` zeros."""
    with path.open("wb") as f:
        f.write(struct.pack("<Q", len(header_bytes) if length is None else length))
        f.write(header_bytes)
        f.truncate(8 + len(header_bytes) + data_size)
    return path


def write_header(
    path: Path, header: Mapping[str, Any], metadata: Mapping[str, str] | None = None
) -> Path:
    """A valid safetensors file for ``header`` (offsets as given), weights all zeros."""
    full = dict(header)
    if metadata is not None:
        full = {"__metadata__": dict(metadata), **full}
    raw = json.dumps(full, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # padded to 8 bytes, as the safetensors library writes
    ends = [
        info["data_offsets"][-1]
        for info in header.values()
        if isinstance(info, dict)
        and isinstance(info.get("data_offsets"), list | tuple)
        and info["data_offsets"]
        and isinstance(info["data_offsets"][-1], int)
    ]
    return write_raw(path, raw, max(ends, default=0))


def write_tensors(path: Path, tensors: Mapping[str, tuple[str, list[int]]]) -> Path:
    return write_header(path, header_of(tensors), {"format": "pt"})


def case(name: str) -> dict[str, Any]:
    """One pinned transformers checkpoint (config, headers, index, parameter count)."""
    return reference("checkpoints")[name]


CASES = sorted(reference("checkpoints"))


def write_case(folder: Path, name: str, config: bool = True) -> Path:
    """Rebuild the pinned checkpoint ``name`` in ``folder`` (created); returns the folder."""
    record = case(name)
    folder.mkdir(parents=True, exist_ok=True)
    for file, header in record["files"].items():
        metadata = header.get("__metadata__")
        tensors = {k: v for k, v in header.items() if k != "__metadata__"}
        write_header(folder / file, tensors, metadata)
    if record["index"] is not None:
        (folder / "model.safetensors.index.json").write_text(json.dumps(record["index"], indent=2))
    if config:
        (folder / "config.json").write_text(json.dumps(record["config"], indent=2))
    return folder
