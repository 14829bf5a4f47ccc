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
from tests.checkpoints import CASES, case, write_case, write_raw

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
