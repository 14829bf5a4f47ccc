"""Reading safetensors headers: real layouts, and every way a hostile file can lie.

Checkpoints are written here by hand (tests/checkpoints.py), so nothing is downloaded and no
weights are needed. A hostile file must end in one located diagnostic, never a traceback,
never a large allocation.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import pytest

from archcalc.checkpoint import MAX_HEADER_BYTES, open_checkpoint, read_header
from archcalc.errors import SpecError
from tests.checkpoints import (
    CASES,
    case,
    header_of,
    write_case,
    write_header,
    write_raw,
    write_tensors,
)


def _error(path: Path) -> str:
    with pytest.raises(SpecError) as info:
        open_checkpoint(path)
    return str(info.value)


# --------------------------------------------------------------------------- real layouts


@pytest.mark.parametrize("name", CASES)
def test_every_pinned_checkpoint_reads_back_with_its_parameter_count(
    tmp_path: Path, name: str
) -> None:
    record = case(name)
    checkpoint = open_checkpoint(write_case(tmp_path / name, name))
    assert checkpoint.total_params == record["saved_numel"]
    names = {k for h in record["files"].values() for k in h if k != "__metadata__"}
    assert set(checkpoint.tensors) == names
    assert checkpoint.config == tmp_path / name / "config.json"


def test_a_sharded_checkpoint_is_read_through_its_index(tmp_path: Path) -> None:
    folder = write_case(tmp_path / "s", "llama-sharded")
    record = case("llama-sharded")
    for path in (folder, folder / "model.safetensors.index.json"):
        checkpoint = open_checkpoint(path)
        assert len(checkpoint.files) == len(record["files"]) > 1
        assert checkpoint.by_dtype() == {"BF16": record["total_params"]}
        assert checkpoint.total_size == record["index"]["metadata"]["total_size"]
        assert checkpoint.total_bytes == checkpoint.total_size


def test_by_dtype_counts_each_dtype(tmp_path: Path) -> None:
    path = write_tensors(
        tmp_path / "m.safetensors",
        {"a": ("BF16", [4, 8]), "b": ("F32", [8]), "c": ("BF16", [2]), "q": ("F4", [6])},
    )
    checkpoint = open_checkpoint(path)
    assert checkpoint.by_dtype() == {"BF16": 34, "F32": 8, "F4": 6}
    assert checkpoint.total_bytes == 68 + 32 + 3
    assert checkpoint.metadata == {"format": "pt"}


def test_an_empty_checkpoint_and_zero_sized_tensors(tmp_path: Path) -> None:
    assert open_checkpoint(write_header(tmp_path / "e.safetensors", {})).total_params == 0
    path = write_tensors(tmp_path / "z.safetensors", {"z": ("F32", [0, 4]), "s": ("F32", [])})
    assert open_checkpoint(path).total_params == 1


def test_a_symbolic_link_to_a_checkpoint_is_followed(tmp_path: Path) -> None:
    target = write_tensors(tmp_path / "blob", {"w": ("F32", [3])})
    link = tmp_path / "model.safetensors"
    link.symlink_to(target)
    assert open_checkpoint(link).total_params == 3


# --------------------------------------------------------------------------- hostile files


def test_length_beyond_the_file(tmp_path: Path) -> None:
    path = write_raw(tmp_path / "m.safetensors", b'{"a":1}', 0, length=1000)
    message = _error(path)
    assert "header length 1,000 runs beyond the end of the file (15 bytes)" in message
    assert message.endswith("[K801]")


def test_a_100_mb_header_length_is_refused_before_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    with path.open("wb") as f:  # a sparse 100 MB file: the length fits, the limit does not
        f.write(struct.pack("<Q", 100_000_000))
        f.truncate(100_000_008)
    message = _error(path)
    assert f"exceeds archcalc's limit of {MAX_HEADER_BYTES:,} bytes" in message
    assert message.startswith(f"{path}:1:1: error:")


def test_a_git_lfs_pointer_is_recognised(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    path.write_text(
        "version https://git-lfs.github.com/spec/v1\noid sha256:0123\nsize 16060522624\n"
    )
    assert "is a Git LFS pointer, not the checkpoint itself" in _error(path)


@pytest.mark.parametrize("content", [b"", b"\x01\x02\x03"])
def test_shorter_than_the_length_field(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "m.safetensors"
    path.write_bytes(content)
    assert "shorter than the 8-byte header length" in _error(path)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (b"not json at all", "not a JSON object (it must start with '{')"),
        (b'{"a": ', "not valid JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"a": \xff}', "not UTF-8 (byte 0xff)"),
        (b'{"a": NaN}', "NaN is not a number in JSON"),
        (b'{"a": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}}', "fractional number"),
        (
            b'{"a": {"dtype": "F32", "shape": [' + b"9" * 40 + b'], "data_offsets": [0, 4]}}',
            "40 digits",
        ),
        (b'{"a": 1, "a": 2}', "duplicate key 'a'"),
        (b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nests deeper than 64 levels"),
    ],
)
def test_a_header_that_is_not_json(tmp_path: Path, header: bytes, message: str) -> None:
    path = write_raw(tmp_path / "m.safetensors", header, 0)
    text = _error(path)
    assert message in text
    assert text.count("\n") == 0 and "Traceback" not in text
    assert text.endswith("[K802]")


def _entry(
    dtype: object = "F32", shape: object = (2,), offsets: object = (0, 8)
) -> dict[str, object]:
    return {"dtype": dtype, "shape": shape, "data_offsets": offsets}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (_entry(dtype="F7"), "tensor 'w': unknown dtype 'F7'"),
        (_entry(dtype=3), "unknown dtype '3'"),
        (_entry(shape=[-1]), "shape must be a list of at most 16 integers ≥ 0"),
        (_entry(shape=[True]), "shape must be a list"),
        (_entry(shape="2"), "shape must be a list"),
        (_entry(shape=[1] * 17), "at most 16 integers"),
        (_entry(offsets=[8, 0]), "data_offsets must be [begin, end] with 0 ≤ begin ≤ end"),
        (_entry(offsets=[0]), "data_offsets must be"),
        (_entry(offsets=None), "data_offsets must be"),
        (_entry(shape=[3]), "shape [3] of F32 needs 12 bytes but data_offsets [0, 8] hold 8"),
        (_entry(dtype="F4", shape=[3], offsets=[0, 1]), "needs 1.5 bytes"),
        ("oops", "tensor 'w': entry must be an object"),
    ],
)
def test_a_bad_tensor_entry(tmp_path: Path, entry: object, message: str) -> None:
    path = write_header(tmp_path / "m.safetensors", {"w": entry})  # type: ignore[dict-item]
    text = _error(path)
    assert message in text and text.endswith("[K803]")


def test_overlapping_offsets(tmp_path: Path) -> None:
    header = {"a": _entry(offsets=[0, 8]), "b": _entry(offsets=[4, 12])}
    path = write_header(tmp_path / "m.safetensors", header)
    message = _error(path)
    assert "tensor 'b': data_offsets [4, 12] overlap those of 'a' (ending at 8)" in message
    assert message.endswith("[K804]")


def test_two_tensors_claiming_the_same_bytes(tmp_path: Path) -> None:
    header = {"a": _entry(), "b": _entry()}
    assert "overlap" in _error(write_header(tmp_path / "m.safetensors", header))


def test_a_gap_between_tensors(tmp_path: Path) -> None:
    header = {"a": _entry(offsets=[0, 8]), "b": _entry(offsets=[16, 24])}
    assert "data_offsets start at 16, leaving a gap after byte 8" in _error(
        write_header(tmp_path / "m.safetensors", header)
    )


def test_truncated_data(tmp_path: Path) -> None:
    raw = json.dumps({"w": _entry(shape=[4], offsets=[0, 16])}).encode()
    path = write_raw(tmp_path / "m.safetensors", raw, 10)
    assert "truncated: the data section has 10 bytes but the tensors' data_offsets cover 16" in (
        _error(path)
    )


def test_trailing_bytes_after_the_data(tmp_path: Path) -> None:
    raw = json.dumps({"w": _entry()}).encode()
    path = write_raw(tmp_path / "m.safetensors", raw, 100)
    assert "the data section has 100 bytes but the tensors' data_offsets cover 8" in _error(path)


def test_metadata_must_be_strings(tmp_path: Path) -> None:
    path = write_header(tmp_path / "m.safetensors", {"__metadata__": {"format": 1}})
    assert "__metadata__ must map strings to strings" in _error(path)


def test_a_problem_is_located_at_its_tensor(tmp_path: Path) -> None:
    raw = (
        b'{\n "good": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},\n'
        b'  "bad": {"dtype": "Q"}\n}'
    )
    path = write_raw(tmp_path / "m.safetensors", raw, 4)
    assert f"{path}:3:3: error: tensor 'bad': unknown dtype 'Q'" in _error(path)


def test_hostile_names_are_shown_escaped(tmp_path: Path) -> None:
    path = write_header(tmp_path / "m.safetensors", {"evil\x1b[2J\u202e": _entry(dtype="X")})
    message = _error(path)
    assert "\x1b" not in message and "\u202e" not in message
    assert "evil\\u001b[2J\\u202e" in message


def test_many_problems_are_bounded(tmp_path: Path) -> None:
    header = {f"t{i}": _entry(dtype="X") for i in range(500)}
    with pytest.raises(SpecError) as info:
        open_checkpoint(write_header(tmp_path / "m.safetensors", header))
    assert len(info.value.diagnostics) <= 20


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "m.safetensors"
    os.mkfifo(fifo)
    assert "is a named pipe (FIFO), not a regular file" in _error(fifo)


def test_a_missing_file(tmp_path: Path) -> None:
    assert "cannot read: No such file or directory" in _error(tmp_path / "none.safetensors")


def test_read_header_gives_tensors_and_metadata(tmp_path: Path) -> None:
    path = write_header(tmp_path / "m.safetensors", header_of({"w": ("F16", [2, 3])}), {"k": "v"})
    tensors, metadata = read_header(path)
    assert tensors["w"].shape == (2, 3) and tensors["w"].nbytes == 12
    assert metadata == {"k": "v"}


# --------------------------------------------------------------------------- index, folders


def _index(folder: Path, weight_map: object, metadata: object = None) -> Path:
    body: dict[str, object] = {"weight_map": weight_map}
    if metadata is not None:
        body["metadata"] = metadata
    path = folder / "model.safetensors.index.json"
    path.write_text(json.dumps(body, indent=2))
    return path


@pytest.mark.parametrize(
    "shard", ["../evil.safetensors", "/etc/passwd.safetensors", "sub/x.safetensors", "x.bin", 7]
)
def test_an_index_may_only_name_shards_beside_it(tmp_path: Path, shard: object) -> None:
    path = _index(tmp_path, {"w": shard})
    message = _error(path)
    assert "not the name of a .safetensors file beside the index" in message
    assert message.endswith("[K805]")


def test_an_index_and_its_shards_must_agree(tmp_path: Path) -> None:
    write_tensors(tmp_path / "a.safetensors", {"w": ("F32", [2]), "stray": ("F32", [1])})
    path = _index(tmp_path, {"w": "a.safetensors", "gone": "a.safetensors"})
    message = _error(path)
    assert "tensor 'gone' is not in a.safetensors" in message
    assert "tensor 'stray' of a.safetensors is not in the weight_map" in message


def test_an_index_naming_a_missing_shard(tmp_path: Path) -> None:
    path = _index(tmp_path, {"w": "absent.safetensors"})
    assert "absent.safetensors:1:1: error: cannot read: No such file or directory" in _error(path)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"weight_map": []}, "a JSON object with a 'weight_map' object"),
        ({"nothing": 1}, "a JSON object with a 'weight_map' object"),
        (
            {"weight_map": {}, "metadata": {"total_size": "big"}},
            "metadata.total_size must be an integer ≥ 0",
        ),
    ],
)
def test_a_malformed_index(tmp_path: Path, body: object, message: str) -> None:
    path = tmp_path / "model.safetensors.index.json"
    path.write_text(json.dumps(body))
    assert message in _error(path)


def test_index_problems_are_bounded(tmp_path: Path) -> None:
    write_tensors(tmp_path / "a.safetensors", {"w": ("F32", [1])})
    weight_map = {"w": "a.safetensors", **{f"gone{i}": "a.safetensors" for i in range(5000)}}
    with pytest.raises(SpecError) as info:
        open_checkpoint(_index(tmp_path, weight_map))
    assert 0 < len(info.value.diagnostics) <= 20


def test_the_headers_of_all_shards_are_bounded_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from archcalc import checkpoint

    monkeypatch.setattr(checkpoint, "MAX_TOTAL_HEADER_BYTES", 200)
    weight_map = {}
    for i in range(4):
        write_tensors(tmp_path / f"s{i}.safetensors", {f"t{i}.{'x' * 40}": ("F32", [1])})
        weight_map[f"t{i}.{'x' * 40}"] = f"s{i}.safetensors"
    message = _error(_index(tmp_path, weight_map))
    assert "the shards' headers exceed archcalc's limit of 200 bytes in all" in message


def test_a_folder_without_a_checkpoint(tmp_path: Path) -> None:
    assert "no safetensors checkpoint in this folder" in _error(tmp_path)
    assert _error(tmp_path).endswith("[K806]")
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x04")
    assert "only pickle checkpoints (pytorch_model.bin)" in _error(tmp_path)
    assert "never unpickles" in _error(tmp_path)


def test_a_folder_with_two_unrelated_checkpoints_is_ambiguous(tmp_path: Path) -> None:
    write_tensors(tmp_path / "a.safetensors", {"w": ("F32", [1])})
    write_tensors(tmp_path / "b.safetensors", {"w": ("F32", [1])})
    assert "several checkpoints (a.safetensors, b.safetensors)" in _error(tmp_path)


def test_a_folder_with_one_differently_named_checkpoint(tmp_path: Path) -> None:
    write_tensors(tmp_path / "adapter_model.safetensors", {"w": ("F32", [5])})
    assert open_checkpoint(tmp_path).total_params == 5
