"""``archcalc check`` and ``archcalc tensors`` on a family from a plugin: the comparison
itself (missing, unexpected, shape mismatches, totals, exit codes, JSON), independent of
any naming convention. Transformers checkpoints: tests/cli/test_check_checkpoints.py.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from archcalc.cli import app
from tests.checkpoints import write_raw, write_tensors

runner = CliRunner()

PLUGIN = """
from archcalc import Breakdown, Family, Field, Part, Tensor, hookimpl


def count(spec):
    v = spec.values
    return Breakdown((Part("layers", v.n_layers * (v.width * v.width + v.width)),))


def tensors(spec):
    v = spec.values
    for i in range(v.n_layers):
        yield Tensor(f"layers.{i}.weight", (v.width, v.width))
        yield Tensor(f"layers.{i}.bias", (v.width,))


@hookimpl
def archcalc_families():
    return [
        Family(
            name="stack",
            description="Square linear layers.",
            fields=(Field("n_layers", "size", "Layers."), Field("width", "size", "Width.")),
            count=count,
            tensors=tensors,
        )
    ]
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, Path]:
    plugin = tmp_path / "stack_plugin.py"
    plugin.write_text(textwrap.dedent(PLUGIN))
    spec = tmp_path / "spec.yaml"
    spec.write_text("family: stack\nn_layers: 2\nwidth: 4\n")
    tensors = {"layers.0.weight": ("BF16", [4, 4]), "layers.0.bias": ("BF16", [4])}
    tensors |= {"layers.1.weight": ("BF16", [4, 4]), "layers.1.bias": ("BF16", [4])}
    ckpt = write_tensors(tmp_path / "model.safetensors", tensors)
    return {"plugin": plugin, "spec": spec, "ckpt": ckpt, "dir": tmp_path}


def _run(env: dict[str, Path], *args: str):
    return runner.invoke(app, [*args, "--plugin", str(env["plugin"])])


def test_agreeing_spec_and_checkpoint_exit_0(env: dict[str, Path]) -> None:
    result = _run(env, "check", str(env["spec"]), "--against", str(env["ckpt"]))
    assert result.exit_code == 0, result.output
    assert "agree: all 4 tensors match by name and shape" in result.stdout


def test_a_missing_block_is_named_tensor_by_tensor(env: dict[str, Path]) -> None:
    result = _run(
        env, "check", str(env["spec"]), "--against", str(env["ckpt"]), "--set", "n_layers=3"
    )
    assert result.exit_code == 1, result.output
    missing = [
        line.split()[1] for line in result.stdout.splitlines() if line.startswith("missing ")
    ]
    assert missing == ["layers.2.weight", "layers.2.bias"]
    assert "disagree: 2 missing, 0 unexpected, 0 with another shape" in result.stdout


def test_unexpected_and_mismatched_tensors(env: dict[str, Path]) -> None:
    args = ["check", str(env["spec"]), "--against", str(env["ckpt"]), "--format", "json"]
    result = _run(env, *args, "--set", "n_layers=1", "--set", "width=2")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["agree"] is False
    assert [t["name"] for t in report["unexpected"]] == ["layers.1.bias", "layers.1.weight"]
    assert report["shape_mismatches"] == [
        {"name": "layers.0.weight", "spec_shape": [2, 2], "checkpoint_shape": [4, 4]},
        {"name": "layers.0.bias", "spec_shape": [2], "checkpoint_shape": [4]},
    ]
    assert report["spec_params"] == 6 and report["checkpoint_params"] == 40


def test_json_alias_and_a_bad_format(env: dict[str, Path]) -> None:
    ok = _run(env, "check", str(env["spec"]), "--against", str(env["ckpt"]), "--json")
    assert json.loads(ok.stdout)["agree"] is True
    bad = _run(env, "check", str(env["spec"]), "--against", str(env["ckpt"]), "--format", "xml")
    assert bad.exit_code == 2 and "--format must be one of text, json" in bad.stderr


def test_a_hostile_checkpoint_is_a_located_error(env: dict[str, Path]) -> None:
    bad = write_raw(env["dir"] / "bad.safetensors", b'{"w": {"dtype": "F32"', 0)
    result = _run(env, "check", str(env["spec"]), "--against", str(bad))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{bad}:1:")
    assert "not valid JSON" in result.stderr and "Traceback" not in result.output


def test_hostile_tensor_names_are_printed_escaped(env: dict[str, Path]) -> None:
    evil = "layers.9.\x1b[2J\u202eweight"
    ckpt = write_tensors(env["dir"] / "evil.safetensors", {evil: ("F32", [1])})
    for fmt in ("text", "json"):
        args = ["check", str(env["spec"]), "--against", str(ckpt), "--format", fmt]
        result = _run(env, *args)
        assert result.exit_code == 1
        assert "\x1b" not in result.stdout and "\u202e" not in result.stdout
        assert "layers.9." in result.stdout
    # JSON escapes them itself (\u001b), so it keeps the true name a consumer matches on.
    args = ["check", str(env["spec"]), "--against", str(ckpt), "--format", "json"]
    data = json.loads(_run(env, *args).stdout)
    strings: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            strings.append(value)

    walk(data)
    assert evil in strings


def test_index_totals_are_checked(env: dict[str, Path]) -> None:
    index = env["dir"] / "model.safetensors.index.json"
    weight_map = dict.fromkeys(
        ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"],
        "model.safetensors",
    )
    index.write_text(
        json.dumps(
            {"metadata": {"total_size": 80, "total_parameters": 40}, "weight_map": weight_map}
        )
    )
    result = _run(env, "check", str(env["spec"]), "--against", str(index))
    assert result.exit_code == 0, result.output
    index.write_text(
        json.dumps(
            {"metadata": {"total_size": 99, "total_parameters": 41}, "weight_map": weight_map}
        )
    )
    result = _run(env, "check", str(env["spec"]), "--against", str(index))
    assert result.exit_code == 1
    assert "metadata.total_parameters is 41; the spec has 40" in result.stdout
    assert (
        "metadata.total_size is 99 bytes; the spec's tensors at the checkpoint's dtypes"
        in result.stdout
    )


def test_model_type_applies_to_transformers_only(env: dict[str, Path]) -> None:
    result = _run(
        env, "check", str(env["spec"]), "--against", str(env["ckpt"]), "--model-type", "llama"
    )
    assert result.exit_code == 2
    assert "family 'stack' has one naming of its own" in result.stderr


def test_tensors_lists_names_shapes_and_bytes(env: dict[str, Path]) -> None:
    result = _run(env, "tensors", str(env["spec"]), "--format", "json", "--dtype", "fp32")
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert (
        listed["dtype"] == "F32" and listed["total_params"] == 40 and listed["total_bytes"] == 160
    )
    assert listed["tensors"][0] == {
        "name": "layers.0.weight",
        "shape": [4, 4],
        "numel": 16,
        "bytes": 64,
    }
    text = _run(env, "tensors", str(env["spec"]))
    assert "layers.1.bias" in text.stdout and "4 tensors" in text.stdout


def test_tensors_with_an_unknown_dtype_is_a_usage_error(env: dict[str, Path]) -> None:
    result = _run(env, "tensors", str(env["spec"]), "--dtype", "fp7")
    assert result.exit_code == 2 and "unknown dtype 'fp7'" in result.stderr
