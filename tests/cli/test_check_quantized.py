"""``archcalc check`` of quantised checkpoints: DeepSeek-V3's FP8 and gpt-oss's MXFP4.

The headers are written by hand from a pinned save_pretrained case (tests/checkpoints.py)
in the layouts the published checkpoints use: FP8 weights (F8_E4M3) with a
``weight_scale_inv`` (F32, one per block) beside each; MXFP4 experts as ``*_blocks`` (U8,
two 4-bit values a byte, 32 a block) and ``*_scales`` (U8, one exponent a block). The
scales are quantisation data only where config.json's quantization_config says so.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from archcalc.cli import app
from archcalc.quantization import Quantization, quantization_of
from tests.checkpoints import case, write_case, write_tensors

runner = CliRunner()

FP8 = {
    "quant_method": "fp8",
    "fmt": "e4m3",
    "activation_scheme": "dynamic",
    "weight_block_size": [16, 16],
}
MXFP4 = {
    "quant_method": "mxfp4",
    "modules_to_not_convert": [
        "model.layers.*.self_attn",
        "model.layers.*.mlp.router",
        "model.embed_tokens",
        "lm_head",
    ],
}
#: DeepSeek-V3 quantises its linear layers: attention and MLP projections (the experts'
#: too), not the embeddings, the LM head, the norms or the router.
QUANTISED = re.compile(r".*\.(self_attn|mlp)\..*_proj(_with_mqa)?\.weight")


def _check(*args: str) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(app, ["check", *args, "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def _stored(name: str) -> dict[str, tuple[str, list[int]]]:
    header = case(name)["files"]["model.safetensors"]
    return {k: (v["dtype"], v["shape"]) for k, v in header.items() if k != "__metadata__"}


def _with_config(folder: Path, name: str, quantization: dict[str, Any] | None, **extra: Any) -> str:
    config = {**case(name)["config"], **extra}
    if quantization is not None:
        config["quantization_config"] = quantization
    (folder / "config.json").write_text(json.dumps(config))
    return str(folder / "config.json")


def _fp8(tensors: dict[str, tuple[str, list[int]]], block: int = 16) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (dtype, shape) in tensors.items():
        if not QUANTISED.fullmatch(name):
            out[name] = (dtype, shape)
            continue
        out[name] = ("F8_E4M3", shape)
        out[f"{name}_scale_inv"] = ("F32", [math.ceil(n / block) for n in shape])
    return out


def test_fp8_scales_are_quantisation_data_where_the_config_says_so(tmp_path: Path) -> None:
    folder = write_case(tmp_path / "ds", "deepseek_v3")
    quantised = _fp8(_stored("deepseek_v3"))
    scales = sorted(k for k in quantised if k.endswith("_scale_inv"))
    # q_b_proj (64, 24) in 16x16 blocks: 4 x 2 scales
    assert quantised["model.layers.1.self_attn.q_b_proj.weight_scale_inv"] == ("F32", [4, 2])
    assert len(scales) == 2 * 5 + 3 + 3 + 4 * 3  # attention x2, dense MLP, shared, 4 experts
    write_tensors(folder / "model.safetensors", quantised)
    config = _with_config(folder, "deepseek_v3", FP8)
    code, report = _check(config, "--against", str(folder))
    assert code == 0, report
    assert sorted(t["name"] for t in report["quantization"]) == scales
    assert (
        report["unexpected"] == [] and report["spec_params"] == case("deepseek_v3")["total_params"]
    )
    # counted as the parameters they hold (and the saved buffers), scales left out
    plain = _check(config, "--against", str(write_case(tmp_path / "plain", "deepseek_v3")))[1]
    assert report["checkpoint_params"] == plain["checkpoint_params"]
    assert any(
        f"{len(scales)} tensor(s) are quantisation data (quant_method fp8" in n
        for n in report["notes"]
    )
    # one more block: its weights are missing, the scales of the stored ones still fit
    code, report = _check(config, "--against", str(folder), "--set", "n_layers=3")
    assert code == 1 and report["unexpected"] == [] and report["problems"] == []
    assert report["missing"] and all(".layers.2." in t["name"] for t in report["missing"])


def test_fp8_scales_without_a_quantization_config_are_unexpected(tmp_path: Path) -> None:
    folder = write_case(tmp_path / "ds", "deepseek_v3")
    write_tensors(folder / "model.safetensors", _fp8(_stored("deepseek_v3")))
    code, report = _check(_with_config(folder, "deepseek_v3", None), "--against", str(folder))
    assert code == 1 and report["quantization"] == []
    assert {t["name"] for t in report["unexpected"]} == {
        k for k in _fp8(_stored("deepseek_v3")) if k.endswith("_scale_inv")
    }
    # another quantisation method names nothing as scales either
    config = _with_config(folder, "deepseek_v3", {"quant_method": "bitsandbytes"})
    assert _check(config, "--against", str(folder))[1]["quantization"] == []


def test_an_fp8_scale_that_does_not_fit_its_weight_is_a_problem(tmp_path: Path) -> None:
    folder = write_case(tmp_path / "ds", "deepseek_v3")
    quantised = _fp8(_stored("deepseek_v3"))
    quantised["model.layers.1.self_attn.q_b_proj.weight_scale_inv"] = ("F32", [2, 2])
    write_tensors(folder / "model.safetensors", quantised)
    code, report = _check(_with_config(folder, "deepseek_v3", FP8), "--against", str(folder))
    assert code == 1
    assert report["problems"] == [
        "model.layers.1.self_attn.q_b_proj.weight_scale_inv has shape [2, 2]; the FP8 scales "
        "of a [64, 24] weight in [16, 16] blocks are [4, 2]"
    ]


def _mxfp4(tensors: dict[str, tuple[str, list[int]]]) -> dict[str, Any]:
    """gpt-oss experts (E, in, out) packed as MXFP4: blocks (E, out, in/32, 16), scales."""
    out: dict[str, Any] = {}
    for name, (dtype, shape) in tensors.items():
        if not name.endswith(("experts.gate_up_proj", "experts.down_proj")):
            out[name] = (dtype, shape)
            continue
        experts, width, rows = shape
        out[f"{name}_blocks"] = ("U8", [experts, rows, width // 32, 16])
        out[f"{name}_scales"] = ("U8", [experts, rows, width // 32])
    return out


def _gpt_oss_64() -> dict[str, tuple[str, list[int]]]:
    """The gpt_oss case with intermediate_size 64 (MXFP4 needs in-widths of 32s)."""
    stored = _stored("gpt_oss")
    for name, (dtype, shape) in stored.items():
        if ".experts." in name:
            stored[name] = (dtype, [64 if n == 48 else 128 if n == 96 else n for n in shape])
    return stored


def test_mxfp4_experts_are_their_parameters_packed(tmp_path: Path) -> None:
    folder = write_case(tmp_path / "oss", "gpt_oss")
    packed = _mxfp4(_gpt_oss_64())
    # gate_up_proj (E=4, d=32, 2F=128): 128 rows of one 32-element block
    assert packed["model.layers.0.mlp.experts.gate_up_proj_blocks"] == ("U8", [4, 128, 1, 16])
    assert packed["model.layers.0.mlp.experts.down_proj_scales"] == ("U8", [4, 32, 2])
    write_tensors(folder / "model.safetensors", packed)
    config = _with_config(folder, "gpt_oss", MXFP4, intermediate_size=64)
    code, report = _check(config, "--against", str(folder))
    assert code == 0, report
    assert sorted(t["name"] for t in report["quantization"]) == sorted(
        k for k in packed if k.endswith("_scales")
    )
    assert report["checkpoint_params"] == report["spec_params"]  # gpt-oss saves no buffers
    # a spec with other widths: the packed experts' logical shapes are compared
    code, report = _check(config, "--against", str(folder), "--set", "d_ff=32")
    assert code == 1
    assert {m["name"] for m in report["shape_mismatches"]} >= {
        "model.layers.0.mlp.experts.gate_up_proj",
        "model.layers.0.mlp.experts.down_proj",
    }
    # without the quantization_config the packed tensors are not parameters of the spec
    code, report = _check(
        _with_config(folder, "gpt_oss", None, intermediate_size=64), "--against", str(folder)
    )
    assert code == 1 and report["quantization"] == []
    assert "model.layers.0.mlp.experts.gate_up_proj_blocks" in {
        t["name"] for t in report["unexpected"]
    }


def test_mxfp4_blocks_that_are_not_blocks_of_32_are_a_problem(tmp_path: Path) -> None:
    folder = write_case(tmp_path / "oss", "gpt_oss")
    packed = _mxfp4(_gpt_oss_64())
    packed["model.layers.0.mlp.experts.down_proj_blocks"] = ("U8", [4, 32, 4, 8])
    write_tensors(folder / "model.safetensors", packed)
    config = _with_config(folder, "gpt_oss", MXFP4, intermediate_size=64)
    code, report = _check(config, "--against", str(folder))
    assert code == 1
    assert len(report["problems"]) == 1 and "not MXFP4 blocks of 32" in report["problems"][0]


def test_quantization_configs_are_read_strictly() -> None:
    assert quantization_of({"quantization_config": FP8}) == Quantization("fp8", (16, 16))
    assert quantization_of({"quantization_config": MXFP4}) == Quantization("mxfp4")
    assert quantization_of({"quantization_config": {"quant_method": "fp8"}}) == Quantization("fp8")
    for bad in ([128], [128, 0], [True, 128], "128", [128.0, 128]):
        config = {"quantization_config": {"quant_method": "fp8", "weight_block_size": bad}}
        assert quantization_of(config) is None
    for other in (None, {}, [], {"quant_method": "gptq"}, "fp8"):
        assert quantization_of({"quantization_config": other}) is None
