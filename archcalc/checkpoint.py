"""Safetensors checkpoints read without torch and without their weights: headers only.

A ``.safetensors`` file starts with an 8-byte little-endian header length N, then N bytes
of JSON naming every tensor's ``dtype``, ``shape`` and ``data_offsets`` (byte range in the
data that follows), plus an optional ``__metadata__`` map of strings. A sharded checkpoint
adds ``model.safetensors.index.json``: a ``weight_map`` from tensor name to shard file and
``metadata.total_size`` (bytes). That is all archcalc needs to count a checkpoint or to
compare it with a spec.

A checkpoint can come from an untrusted pull request, so every read is bounded and every
claim is validated before it is believed, as the safetensors library itself does: the
header length must fit in the file and under :data:`MAX_HEADER_BYTES` (checked before
anything is allocated), the header is strict UTF-8 JSON with bounded nesting and numbers
and no duplicate keys, each dtype is one the format defines, each tensor's byte range has
exactly the size its shape and dtype imply, the ranges tile the data section without gaps
or overlaps, and the data section ends where the file ends. Shard names in an index must
be plain file names beside the index. Every failure is a located :class:`SpecError`
(``file:line:col``, the column counted in the file's bytes), never a traceback; the weights
themselves are never read.

Checkpoint files may be symbolic links (the Hugging Face cache links snapshot files to
blobs); what is opened must be a regular file.
"""

from __future__ import annotations

import json
import os
import stat
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archcalc.errors import Diagnostic, DiagnosticSink, Mark, SpecError, shorten
from archcalc.tensors import DTYPE_BITS

__all__ = [
    "INDEX_NAME",
    "MAX_HEADER_BYTES",
    "Checkpoint",
    "StoredTensor",
    "is_checkpoint_path",
    "open_checkpoint",
    "read_header",
]

#: Largest header archcalc reads: 16 MiB holds ~100,000 tensor entries, more than any
#: published shard; the format's own limit (100 MB) would be a large allocation per file.
MAX_HEADER_BYTES = 16 << 20
#: Largest index file read (DeepSeek-V3's 163-shard index is about 9 MB).
MAX_INDEX_BYTES = 64 << 20
#: Most header bytes read over all the shards of one index (DeepSeek-V3's: about 10 MB).
MAX_TOTAL_HEADER_BYTES = 128 << 20
#: Most dimensions of a tensor, and most shards of an index.
MAX_RANK = 16
MAX_SHARDS = 10_000
MAX_DEPTH = 64  # as archcalc.hf's, whose bounded JSON helpers parse headers and indexes
#: Problems reported per file before stopping.
MAX_PROBLEMS = 20
INDEX_NAME = "model.safetensors.index.json"
SINGLE_NAME = "model.safetensors"
CONFIG_NAME = "config.json"

_START = Mark(1, 1)


@dataclass(frozen=True)
class StoredTensor:
    """One tensor of a checkpoint, as its header describes it."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    #: The file holding it (as displayed).
    file: str

    @property
    def numel(self) -> int:
        total = 1
        for dim in self.shape:
            total *= dim
        return total

    @property
    def nbytes(self) -> int:
        return self.numel * DTYPE_BITS[self.dtype] // 8


@dataclass(frozen=True)
class Checkpoint:
    """The tensors of a safetensors file, or of every shard of an index, by name."""

    #: What was opened, as displayed (a file, an index or a folder).
    source: str
    #: The safetensors files read, as displayed.
    files: tuple[str, ...]
    tensors: Mapping[str, StoredTensor]
    #: ``metadata.total_size`` of the index (bytes of every stored tensor), when given.
    total_size: int | None = None
    #: The index file, when there is one (as displayed).
    index: str | None = None
    #: ``config.json`` beside the checkpoint, when there is one.
    config: Path | None = None
    #: ``__metadata__`` of the first file (``{"format": "pt"}``...).
    metadata: Mapping[str, str] = field(default_factory=dict)
    #: ``metadata.total_parameters`` of the index (transformers 5: ``num_parameters()``).
    total_parameters: int | None = None

    def __iter__(self) -> Iterator[StoredTensor]:
        return iter(self.tensors.values())

    @property
    def total_params(self) -> int:
        return sum(t.numel for t in self.tensors.values())

    @property
    def total_bytes(self) -> int:
        return sum(t.nbytes for t in self.tensors.values())

    def by_dtype(self) -> dict[str, int]:
        """Elements per dtype, largest first (the Hub's "model size" per tensor type)."""
        counts: dict[str, int] = {}
        for tensor in self.tensors.values():
            counts[tensor.dtype] = counts.get(tensor.dtype, 0) + tensor.numel
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def index_warnings(checkpoint: Checkpoint) -> tuple[Diagnostic, ...]:
    """An index's ``metadata.total_size`` that its shards contradict (K808).

    ``count`` counts the shards' own headers whatever the index claims, but a stale or
    hand-edited index is worth a line: another tool may trust the claim.
    """
    claimed, held = checkpoint.total_size, checkpoint.total_bytes
    if checkpoint.index is None or claimed is None or claimed == held:
        return ()
    sink = DiagnosticSink(checkpoint.index)
    sink.warning(
        Mark(1, 1),
        f"the index's metadata.total_size is {claimed:,} bytes, but its shards hold "
        f"{held:,} bytes of tensors (counted from the shards)",
        code="K808",
    )
    return tuple(sink.diagnostics)


# --------------------------------------------------------------------------- files


def _fail(file: str, mark: Mark, message: str, code: str = "K801") -> SpecError:
    sink = DiagnosticSink(file)
    sink.error(mark, message, code=code)
    return SpecError(sink.diagnostics)


def _os_reason(exc: OSError) -> str:
    return f"cannot read: {exc.strerror or type(exc).__name__}"


def _kind(mode: int) -> str | None:
    """What a non-regular file is, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


class _File:
    """A regular file opened for bounded reads (a symbolic link followed only when
    :func:`~archcalc.yamlsafe.link_target` allows it, then checked)."""

    def __init__(self, path: str | os.PathLike[str], name: str) -> None:
        self.name = name
        try:
            if os.path.islink(path):
                from archcalc.yamlsafe import LINK_OUTSIDE, link_target

                target = link_target(path)
                if target is None:
                    raise _fail(name, _START, LINK_OUTSIDE)
                path = target
        except ValueError as exc:  # an embedded NUL byte
            raise _fail(name, _START, f"invalid path ({shorten(str(exc))})") from None
        flags = os.O_RDONLY
        for extra in ("O_NONBLOCK", "O_CLOEXEC", "O_BINARY"):
            flags |= getattr(os, extra, 0)
        try:
            self.fd = os.open(path, flags)
        except OSError as exc:
            raise _fail(name, _START, _os_reason(exc)) from None
        except ValueError as exc:  # an embedded NUL byte
            raise _fail(name, _START, f"invalid path ({shorten(str(exc))})") from None
        try:
            info = os.fstat(self.fd)
        except OSError as exc:
            self.close()
            raise _fail(name, _START, _os_reason(exc)) from None
        kind = _kind(info.st_mode)
        if kind is not None:
            self.close()
            raise _fail(name, _START, f"is {kind}, not a regular file")
        self.size = info.st_size

    def read(self, n: int) -> bytes:
        """Exactly ``n`` bytes from the current position, or fewer at the end of the file."""
        chunks: list[bytes] = []
        remaining = n
        try:
            while remaining > 0:
                chunk = os.read(self.fd, min(remaining, 1 << 20))
                if not chunk:
                    break
                chunks.append(chunk)
                remaining -= len(chunk)
        except OSError as exc:
            raise _fail(self.name, _START, _os_reason(exc)) from None
        return b"".join(chunks)

    def close(self) -> None:
        os.close(self.fd)

    def __enter__(self) -> _File:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------- bounded JSON


def _parse_float(text: str) -> float:
    from archcalc.hf import _Reject

    raise _Reject(f"a fractional number ({shorten(text)}) where only integers belong")


def _show(text: str, limit: int = 80) -> str:
    """A name from a file, bounded and with unprintable characters escaped."""
    short = shorten(text, limit)
    if short.isascii() and short.isprintable():
        return short
    return json.dumps(short, ensure_ascii=True)[1:-1]


class _Text:
    """JSON text read from a file, and how to turn a byte index into it into a file mark."""

    def __init__(self, file: str, raw: bytes, prefix: bytes = b"") -> None:
        self.file = file
        self.raw = raw
        self.prefix = prefix  # the bytes of the file before ``raw`` (the length field)

    def mark(self, index: int) -> Mark:
        """The file line and byte column of byte ``index`` of ``raw`` (errors only: O(n))."""
        before = self.prefix + self.raw[:index]
        line = before.count(b"\n") + 1
        column = len(before) - (before.rfind(b"\n") + 1) + 1
        return Mark(line, column)

    def error(self, index: int, message: str, code: str = "K802") -> SpecError:
        return _fail(self.file, self.mark(index), message, code)

    def at_key(self, key: str) -> Mark:
        """Where the entry ``key`` starts (its first quoted occurrence), for a message."""
        found = self.raw.find(json.dumps(key).encode("utf-8"))
        return self.mark(max(found, 0))

    def parse(self, what: str) -> Any:
        """Strict, bounded JSON: UTF-8, depth, integer sizes, no NaN, no duplicate keys."""
        try:
            text = self.raw.decode("utf-8", "strict")
        except UnicodeDecodeError as exc:
            byte = self.raw[exc.start]
            raise self.error(exc.start, f"{what} is not UTF-8 (byte 0x{byte:02x})") from None
        from archcalc.hf import _nesting_problem, _pairs, _parse_int, _Reject, _reject_constant

        try:
            return json.loads(
                text,
                parse_constant=_reject_constant,
                parse_int=_parse_int,
                parse_float=_parse_float,
                object_pairs_hook=_pairs,
            )
        except json.JSONDecodeError as exc:
            index = len(text[: exc.pos].encode("utf-8"))
            raise self.error(index, f"{what} is not valid JSON: {exc.msg}") from None
        except RecursionError:
            # json's C decoder stops at Python's recursion limit; say where it nests too deep
            # (scanning every header for that up front would cost more than parsing it)
            deep = len(text[: _nesting_problem(text) or 0].encode("utf-8"))
            raise self.error(deep, f"{what} nests deeper than {MAX_DEPTH} levels") from None
        except (_Reject, ValueError) as exc:
            raise self.error(0, f"{what} is not valid: {shorten(str(exc), 120)}") from None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --------------------------------------------------------------------------- one file


def read_header(
    path: str | os.PathLike[str], display: str | None = None
) -> tuple[dict[str, StoredTensor], dict[str, str]]:
    """The tensors and ``__metadata__`` of one safetensors file, validated as described above."""
    tensors, metadata, _ = _read_header(path, display, MAX_HEADER_BYTES)
    return tensors, metadata


def _read_header(
    path: str | os.PathLike[str], display: str | None, budget: int
) -> tuple[dict[str, StoredTensor], dict[str, str], int]:
    """:func:`read_header`, refusing a header longer than ``budget``; also its length."""
    name = display if display is not None else os.fsdecode(path)
    with _File(path, name) as f:
        size = f.size
        prefix = f.read(8)
        if len(prefix) < 8:
            raise _fail(
                name,
                _START,
                f"not a safetensors file: {len(prefix)} bytes, shorter than the 8-byte "
                "header length",
            )
        if prefix == b"version " and f.read(24).startswith(b"https://git-lfs"):
            raise _fail(
                name,
                _START,
                "is a Git LFS pointer, not the checkpoint itself: fetch it first (git lfs pull)",
            )
        (length,) = struct.unpack("<Q", prefix)
        if length > size - 8:
            raise _fail(
                name,
                _START,
                f"header length {length:,} runs beyond the end of the file ({size:,} bytes): "
                "truncated, or not a safetensors file",
            )
        if length > MAX_HEADER_BYTES:
            raise _fail(
                name,
                _START,
                f"header length {length:,} exceeds archcalc's limit of {MAX_HEADER_BYTES:,} bytes",
            )
        if length > budget:
            raise _fail(
                name,
                _START,
                f"the shards' headers exceed archcalc's limit of {MAX_TOTAL_HEADER_BYTES:,} "
                "bytes in all",
                "K805",
            )
        raw = f.read(length)
    if len(raw) < length:
        raise _fail(name, _START, "file shrank while it was being read; run again")
    text = _Text(name, raw.rstrip(b" "), prefix)
    if not text.raw.startswith(b"{"):
        raise text.error(0, "safetensors header is not a JSON object (it must start with '{')")
    header = text.parse("safetensors header")
    return (*_validate(header, text, data_size=size - 8 - length), length)


def _validate(
    header: dict[str, Any], text: _Text, data_size: int
) -> tuple[dict[str, StoredTensor], dict[str, str]]:
    problems = DiagnosticSink(text.file)
    metadata: dict[str, str] = {}
    raw_meta = header.get("__metadata__")
    if raw_meta is not None:
        if not isinstance(raw_meta, dict) or not all(isinstance(v, str) for v in raw_meta.values()):
            problems.error(
                text.at_key("__metadata__"), "__metadata__ must map strings to strings", code="K803"
            )
        else:
            metadata = raw_meta
    tensors: dict[str, StoredTensor] = {}
    ranges: list[tuple[int, int, str]] = []
    for key, info in header.items():
        if key == "__metadata__":
            continue
        if len(problems.diagnostics) >= MAX_PROBLEMS:
            break
        shown = _show(key)
        if not isinstance(info, dict):
            problems.error(
                text.at_key(key), f"tensor '{shown}': entry must be an object", code="K803"
            )
            continue
        dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if not isinstance(dtype, str) or dtype not in DTYPE_BITS:
            problems.error(
                text.at_key(key),
                f"tensor '{shown}': unknown dtype '{_show(str(dtype), 20)}' (safetensors "
                "defines " + ", ".join(DTYPE_BITS) + ")",
                code="K803",
            )
            continue
        if (
            not isinstance(shape, list)
            or len(shape) > MAX_RANK
            or not all(_is_int(d) and d >= 0 for d in shape)
        ):
            problems.error(
                text.at_key(key),
                f"tensor '{shown}': shape must be a list of at most {MAX_RANK} integers ≥ 0, "
                f"got {shorten(shape)}",
                code="K803",
            )
            continue
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(_is_int(o) and o >= 0 for o in offsets)
            or offsets[0] > offsets[1]
        ):
            problems.error(
                text.at_key(key),
                f"tensor '{shown}': data_offsets must be [begin, end] with 0 ≤ begin ≤ end, "
                f"got {shorten(offsets)}",
                code="K803",
            )
            continue
        tensor = StoredTensor(key, dtype, tuple(shape), text.file)
        bits = tensor.numel * DTYPE_BITS[dtype]
        begin, end = offsets
        if bits % 8 or bits // 8 != end - begin:
            need = f"{bits / 8:g}" if bits % 8 else f"{bits // 8:,}"
            problems.error(
                text.at_key(key),
                f"tensor '{shown}': shape {list(shape)} of {dtype} needs {need} bytes but "
                f"data_offsets {offsets} hold {end - begin:,}",
                code="K803",
            )
            continue
        tensors[key] = tensor
        ranges.append((begin, end, key))
    if problems.diagnostics:
        raise SpecError(problems.diagnostics)
    _check_layout(ranges, data_size, text, problems)
    problems.raise_if_errors()
    return tensors, metadata


def _check_layout(
    ranges: list[tuple[int, int, str]], data_size: int, text: _Text, problems: DiagnosticSink
) -> None:
    """The byte ranges must tile the data section exactly: no gap, no overlap, no excess."""
    ranges.sort()
    position, previous = 0, ""
    for begin, end, key in ranges:
        if begin < position:
            problems.error(
                text.at_key(key),
                f"tensor '{_show(key)}': data_offsets [{begin}, {end}] overlap those of "
                f"'{_show(previous)}' (ending at {position})",
                code="K804",
            )
        elif begin > position:
            problems.error(
                text.at_key(key),
                f"tensor '{_show(key)}': data_offsets start at {begin}, leaving a gap after "
                f"byte {position}" + (f" ('{_show(previous)}')" if previous else ""),
                code="K804",
            )
        if len(problems.diagnostics) >= MAX_PROBLEMS:
            return
        position, previous = max(position, end), key
    if position != data_size:
        what = "truncated: the data section" if position > data_size else "the data section"
        problems.error(
            _START,
            f"{what} has {data_size:,} bytes but the tensors' data_offsets cover {position:,}",
            code="K804",
        )


# --------------------------------------------------------------------------- index, folder


def _plain_shard_name(name: Any) -> bool:
    return (
        isinstance(name, str)
        and name.endswith(".safetensors")
        and name not in (".", "..")
        and "/" not in name
        and "\\" not in name
        and "\x00" not in name
        and len(name) <= 255
    )


def _read_index(path: Path, name: str) -> Checkpoint:
    with _File(path, name) as f:
        if f.size > MAX_INDEX_BYTES:
            raise _fail(name, _START, f"index is larger than {MAX_INDEX_BYTES:,} bytes", "K805")
        raw = f.read(MAX_INDEX_BYTES + 1)
    text = _Text(name, raw)
    data = text.parse("index")
    if not isinstance(data, dict) or not isinstance(data.get("weight_map"), dict):
        raise text.error(
            0, "a safetensors index is a JSON object with a 'weight_map' object", "K805"
        )
    weight_map: dict[str, Any] = data["weight_map"]
    at_map = text.at_key("weight_map")
    shards: dict[str, list[str]] = {}
    problems = DiagnosticSink(name)
    for tensor, shard in weight_map.items():
        if not _plain_shard_name(shard):
            if len(problems.diagnostics) >= MAX_PROBLEMS:
                break
            problems.error(
                text.at_key(tensor),
                f"weight_map: tensor '{_show(tensor)}' maps to '{_show(str(shard))}', not the "
                "name of a .safetensors file beside the index",
                code="K805",
            )
            continue
        shards.setdefault(shard, []).append(tensor)
    problems.raise_if_errors()
    if len(shards) > MAX_SHARDS:
        raise _fail(
            name, at_map, f"index names {len(shards):,} shards (limit {MAX_SHARDS:,})", "K805"
        )
    totals: dict[str, int | None] = {"total_size": None, "total_parameters": None}
    metadata = data.get("metadata")
    if metadata is not None:
        at_meta = text.at_key("metadata")
        if not isinstance(metadata, dict):
            raise _fail(name, at_meta, "metadata must be an object", "K805")
        for key in totals:
            value = metadata.get(key)
            if value is not None and not (_is_int(value) and value >= 0):
                raise _fail(name, at_meta, f"metadata.{key} must be an integer ≥ 0", "K805")
            totals[key] = value
    tensors: dict[str, StoredTensor] = {}
    files = []
    first_meta: dict[str, str] = {}
    budget = MAX_TOTAL_HEADER_BYTES
    for shard, names in sorted(shards.items()):
        shard_path = path.parent / shard
        shard_name = str(Path(name).parent / shard)
        files.append(shard_name)
        found, meta, length = _read_header(shard_path, shard_name, budget)
        budget -= length
        first_meta = first_meta or meta
        for tensor in names:
            if tensor not in found and len(problems.diagnostics) < MAX_PROBLEMS:
                problems.error(
                    text.at_key(tensor),
                    f"weight_map: tensor '{_show(tensor)}' is not in {shard}",
                    code="K805",
                )
        for tensor, stored in found.items():
            mapped = weight_map.get(tensor)
            if mapped == shard:
                tensors[tensor] = stored
            elif len(problems.diagnostics) < MAX_PROBLEMS:
                where = "is not in the weight_map" if mapped is None else f"is mapped to {mapped}"
                problems.error(at_map, f"tensor '{_show(tensor)}' of {shard} {where}", code="K805")
    problems.raise_if_errors()
    ordered = {k: tensors[k] for k in sorted(tensors)}
    return Checkpoint(
        name,
        tuple(files),
        ordered,
        totals["total_size"],
        name,
        None,
        first_meta,
        totals["total_parameters"],
    )


def is_checkpoint_path(path: Path) -> bool:
    """Whether ``path`` names a checkpoint rather than a spec (by name; folders included)."""
    lower = path.name.lower()
    return lower.endswith((".safetensors", ".safetensors.index.json")) or path.is_dir()


def find_in_folder(folder: Path, display: str) -> tuple[Path | None, str | None]:
    """The checkpoint file of a model folder (index first), or None, and what was found."""
    for candidate in (INDEX_NAME, SINGLE_NAME):
        if (folder / candidate).exists():
            return folder / candidate, None
    try:
        names = sorted(p.name for p in folder.iterdir())[:10_000]
    except OSError as exc:
        raise _fail(display, _START, _os_reason(exc)) from None
    indexes = [n for n in names if n.endswith(".safetensors.index.json")]
    singles = [n for n in names if n.endswith(".safetensors")]
    for found in (indexes, singles):
        if len(found) == 1:
            return folder / found[0], None
        if len(found) > 1:
            return None, "several checkpoints (" + ", ".join(_show(n, 40) for n in found[:5]) + ")"
    pickles = [n for n in names if n.endswith((".bin", ".pt", ".pth", ".ckpt"))]
    if pickles:
        return None, (
            f"only pickle checkpoints ({_show(pickles[0], 40)}); archcalc reads safetensors "
            "headers and never unpickles"
        )
    return None, None


def open_checkpoint(path: str | os.PathLike[str], display: str | None = None) -> Checkpoint:
    """A safetensors file, an index or a model folder holding either, read header by header."""
    path = Path(path)
    name = display if display is not None else os.fsdecode(path)
    if path.is_dir():
        found, problem = find_in_folder(path, name)
        if found is None:
            raise _fail(
                name,
                _START,
                "no safetensors checkpoint in this folder"
                + (f": {problem}" if problem else f" (looked for {INDEX_NAME}, {SINGLE_NAME})"),
                "K806",
            )
        opened = open_checkpoint(found, os.path.join(name, found.name))
        return _with(opened, source=name)
    config = path.parent / CONFIG_NAME
    if path.name.lower().endswith(".json"):
        checkpoint = _read_index(path, name)
    else:
        tensors, metadata = read_header(path, name)
        ordered = {k: tensors[k] for k in sorted(tensors)}
        checkpoint = Checkpoint(name, (name,), ordered, metadata=metadata)
    return _with(checkpoint, config=config if config.is_file() else None)


def _with(checkpoint: Checkpoint, **changes: Any) -> Checkpoint:
    from dataclasses import replace

    return replace(checkpoint, **changes)
