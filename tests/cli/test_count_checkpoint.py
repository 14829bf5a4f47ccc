"""``archcalc count DIR`` reads a model folder's config.json; ``count CHECKPOINT`` its tensors.

The folders are the pinned transformers checkpoints (tests/data/reference/checkpoints.json,
written by reference/checkpoint_headers.py with save_pretrained), rebuilt by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from archcalc.cli import app
from tests.checkpoints import CASES, case, write_case, write_raw, write_tensors

runner = CliRunner()


def _count(*args: str) -> dict:
    result = runner.invoke(app, ["count", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("name", CASES)
def test_count_of_a_model_folder_is_transformers_count(tmp_path: Path, name: str) -> None:
    folder = write_case(tmp_path / name, name)
    counted = _count(str(folder))
    assert counted["total_params"] == case(name)["total_params"]
    assert counted["hf_model_type"] == case(name)["model_type"]


@pytest.mark.parametrize("name", CASES)
def test_count_of_a_checkpoint_counts_its_tensors(tmp_path: Path, name: str) -> None:
    record = case(name)
    folder = write_case(tmp_path / name, name, config=False)
    target = "model.safetensors.index.json" if record["index"] else "model.safetensors"
    for path in (folder, folder / target):
        counted = _count(str(path))
        assert counted["source"] == "checkpoint"
        # every saved tensor, buffers too (BART's final_logits_bias, DeepSeek's score bias)
        assert counted["total_params"] == record["saved_numel"]
        assert sum(counted["params_by_dtype"].values()) == record["saved_numel"]
        assert counted["files"] and counted["tensors"] > 0


def test_count_checkpoint_text_shows_dtypes(tmp_path: Path) -> None:
    folder = write_case(tmp_path / "m", "llama-sharded", config=False)
    result = runner.invoke(app, ["count", str(folder)])
    assert result.exit_code == 0, result.output
    assert "tensors in 6 files" in result.stdout
    total = case("llama-sharded")["total_params"]
    assert f"BF16   {total:,}  100.0%" in result.stdout
    assert f"total params:  {total:,}" in result.stdout


def test_a_hostile_checkpoint_is_one_located_line(tmp_path: Path) -> None:
    path = write_raw(tmp_path / "m.safetensors", b"{", 0, length=10**12)
    result = runner.invoke(app, ["count", str(path)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{path}:1:1: error: header length 1,000,000,000,000 runs")
    assert "Traceback" not in result.output and result.stderr.count("\n") == 1


def test_set_does_not_apply_to_a_checkpoint(tmp_path: Path) -> None:
    folder = write_case(tmp_path / "m", "llama", config=False)
    result = runner.invoke(app, ["count", str(folder), "--set", "n_layers=3"])
    assert result.exit_code == 2
    assert "--set does not apply to a checkpoint" in result.stderr


def test_a_folder_with_a_config_is_counted_from_the_config_with_set(tmp_path: Path) -> None:
    folder = write_case(tmp_path / "m", "llama")
    two = _count(str(folder))["total_params"]
    three = _count(str(folder), "--set", "n_layers=3")["total_params"]
    per_block = (two - 2 * 64 * 32 - 32) // 2  # embeddings, head and final norm are shared
    assert three == two + per_block


def _snapshot(tmp_path: Path, name: str) -> Path:
    """``name`` laid out as the Hugging Face cache does: files in ``blobs/`` named by hash,
    the snapshot a folder of relative links to them."""
    staged = write_case(tmp_path / "staged", name)
    repo = tmp_path / "hub" / f"models--org--{name}"
    snapshot = repo / "snapshots" / ("0" * 40)
    (repo / "blobs").mkdir(parents=True)
    snapshot.mkdir(parents=True)
    for i, file in enumerate(sorted(staged.iterdir())):
        blob = repo / "blobs" / f"{i:064x}"
        file.rename(blob)
        (snapshot / file.name).symlink_to(Path("..", "..", "blobs", blob.name))
    return snapshot


@pytest.mark.parametrize("name", ["llama", "llama-sharded"])
def test_a_hugging_face_cache_snapshot_is_read_through_its_links(tmp_path: Path, name: str) -> None:
    snapshot = _snapshot(tmp_path, name)
    assert all(p.is_symlink() for p in snapshot.iterdir())
    total = case(name)["total_params"]
    assert _count(str(snapshot))["total_params"] == total  # config.json, a link
    target = "model.safetensors.index.json" if case(name)["index"] else "model.safetensors"
    assert _count(str(snapshot / target))["total_params"] == total  # shards, links
    checked = runner.invoke(
        app, ["check", str(snapshot / "config.json"), "--against", str(snapshot)]
    )
    assert checked.exit_code == 0, checked.output


def test_links_out_of_the_folder_are_refused_before_opening(tmp_path: Path) -> None:
    outside = write_case(tmp_path / "elsewhere", "llama")
    folder = tmp_path / "model"
    folder.mkdir()
    for file in ("config.json", "model.safetensors"):
        (folder / file).symlink_to(outside / file)
    for target, code in (("config.json", "Y101"), ("model.safetensors", "K801")):
        result = runner.invoke(app, ["count", str(folder / target)])
        assert result.exit_code == 1, result.output
        assert result.output.strip().startswith(
            f"{folder / target}:1:1: error: is a symbolic link to a file outside its folder"
        ), result.output
        assert f"[{code}]" in result.output
    # A link in a snapshot may not leave its repo's cache folder either.
    snapshot = _snapshot(tmp_path, "llama")
    (snapshot / "config.json").unlink()
    (snapshot / "config.json").symlink_to(outside / "config.json")
    result = runner.invoke(app, ["count", str(snapshot)])
    assert result.exit_code == 1 and "outside its folder" in result.output, result.output


def test_an_index_whose_total_size_the_shards_contradict_is_warned(tmp_path: Path) -> None:
    folder = write_case(tmp_path / "m", "llama-sharded", config=False)
    index_path = folder / "model.safetensors.index.json"
    index = json.loads(index_path.read_text())
    held = index["metadata"]["total_size"]
    index["metadata"]["total_size"] = 999
    index_path.write_text(json.dumps(index))
    result = runner.invoke(app, ["count", str(folder)])
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        f"{index_path}:1:1: warning: the index's metadata.total_size is 999 bytes, but its "
        f"shards hold {held:,} bytes of tensors (counted from the shards) [K808]\n"
    )
    assert f"total params:  {case('llama-sharded')['total_params']:,}" in result.stdout
    # the index as saved: no warning
    write_case(tmp_path / "ok", "llama-sharded", config=False)
    assert runner.invoke(app, ["count", str(tmp_path / "ok")]).stderr == ""


def test_one_tensor_is_one_tensor(tmp_path: Path) -> None:
    path = write_tensors(tmp_path / "one.safetensors", {"w": ("F32", [2])})
    result = runner.invoke(app, ["count", str(path)])
    assert result.exit_code == 0, result.output
    assert "(safetensors checkpoint: 1 tensor in 1 file)" in result.stdout
