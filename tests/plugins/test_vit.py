"""family: vit — exact against timm's VisionTransformer, validated like timm would refuse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from archcalc.plugins import vit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import archcalc
from archcalc.cli import app
from archcalc.errors import SpecError
from archcalc.tensors import tensors_of
from tests.helpers import EXAMPLES, reference, write_spec

VIT_CASES = {
    k: v for k, v in reference("vision").items() if "timm" in v["source"] and "kwargs" in v
}
EXAMPLES_ = {"vit-b-16": "vit-b-16", "vit-l-16": "vit-l-16", "vit-10b": "vit-10b"}


#: timm's keyword arguments that archcalc spells differently.
TIMM_KEYS = {
    "img_size": "image_size",
    "patch_size": "patch_size",
    "in_chans": "in_channels",
    "depth": "n_layers",
    "embed_dim": "d_model",
    "num_heads": "n_heads",
    "num_classes": "n_classes",
    "class_token": "class_token",
    "global_pool": "pool",
    "qkv_bias": "qkv_bias",
    "reg_tokens": "reg_tokens",
    "pre_norm": "pre_norm",
    "fc_norm": "fc_norm",
    "final_norm": "final_norm",
    "no_embed_class": "no_embed_class",
    "pos_embed": "pos_embed",
    "qk_norm": "qk_norm",
    "proj_bias": "proj_bias",
    "init_values": "init_values",
}


def spec_from_timm(case: dict[str, Any]) -> dict[str, Any]:
    """The spec for timm's keyword arguments (d_ff is the MLP width timm built)."""
    spec: dict[str, Any] = {"family": "vit", "d_ff": case["mlp_hidden"]}
    for key, value in case["kwargs"].items():
        if key in TIMM_KEYS:
            spec[TIMM_KEYS[key]] = "none" if key == "global_pool" and value == "" else value
        else:
            assert key == "mlp_ratio", key  # d_ff says it
    if case["distilled"]:
        spec["distilled"] = True
    return spec


@pytest.mark.parametrize("case_id", sorted(VIT_CASES))
def test_count_equals_timm(tmp_path: Path, case_id: str) -> None:
    case = VIT_CASES[case_id]
    spec = archcalc.load_spec(write_spec(tmp_path, spec_from_timm(case)))
    counted = archcalc.count(spec).total_params
    assert counted == case["total_params"]
    formula = archcalc.formula(spec)
    assert formula.substitute(formula.total) == counted
    listed = tensors_of(spec)  # the law: they sum to the count
    assert listed is not None and sum(t.numel for t in listed) == counted
    if "tensors" in case:  # names and shapes as timm's state dict
        assert sorted((t.name, list(t.shape)) for t in listed) == sorted(
            (name, shape) for name, shape in case["tensors"]
        )
    assert 2 * vit.macs(spec.exact) == case["flops"]


def test_timm_has_at_most_one_final_layernorm_and_a_row_per_token() -> None:
    """The facts the formula relies on, read back from the models timm built."""
    for case in VIT_CASES.values():
        kw = case["kwargs"]
        if kw.get("final_norm", True):
            assert case["norm_is_layernorm"] != case["fc_norm_is_layernorm"]
        if kw.get("pos_embed", "learn") == "learn" and not kw.get("no_embed_class"):
            patches = (kw["img_size"] // kw["patch_size"]) ** 2
            prefix = kw["class_token"] + kw.get("reg_tokens", 0) + case["distilled"]
            assert case["pos_embed_shape"][1] == patches + prefix


def test_deit_example_equals_timm() -> None:
    path = EXAMPLES / "timm" / "deit_base_distilled_patch16_224.yaml"
    spec = archcalc.load_spec(path)
    case = VIT_CASES["deit_base_distilled_patch16_224"]
    assert "create_model('deit_base_distilled_patch16_224')" in case["source"]
    assert archcalc.count(spec).total_params == case["total_params"]
    formula = archcalc.formula(spec)
    assert formula.substitute(formula.total) == case["total_params"]
    assert "$schema=../../schemas/archcalc.schema.json" in path.read_text(encoding="utf-8")


def test_distilled_needs_token_pooling(tmp_path: Path) -> None:
    path = write_spec(tmp_path, {**BASE, "distilled": True, "pool": "avg"})
    with pytest.raises(SpecError) as info:
        archcalc.load_spec(path)
    (problem,) = info.value.diagnostics
    lines = path.read_text(encoding="utf-8").splitlines()
    assert problem.code == "V703" and lines[problem.line - 1].startswith("distilled:")


@pytest.mark.parametrize("example", sorted(EXAMPLES_))
def test_example_equals_timm(example: str) -> None:
    path = EXAMPLES / f"{example}.yaml"
    spec = archcalc.load_spec(path)
    assert archcalc.count(spec).total_params == VIT_CASES[EXAMPLES_[example]]["total_params"]
    formula = archcalc.formula(spec)
    assert formula.substitute(formula.total) == archcalc.count(spec).total_params
    assert "$schema=../schemas/archcalc.schema.json" in path.read_text(encoding="utf-8")


def test_the_hypothetical_vit_is_above_ten_billion() -> None:
    assert archcalc.count(archcalc.load_spec(EXAMPLES / "vit-10b.yaml")).total_params > 10**10


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    patches=st.integers(1, 32),
    patch=st.integers(1, 32),
    heads=st.integers(1, 16),
    head_width=st.integers(1, 128),
    layers=st.integers(1, 100),
    n_classes=st.integers(0, 5000),
    class_token=st.booleans(),
    qkv_bias=st.booleans(),
)
def test_formula_law_for_any_vit(
    tmp_path: Path,
    patches: int,
    patch: int,
    heads: int,
    head_width: int,
    layers: int,
    n_classes: int,
    class_token: bool,
    qkv_bias: bool,
) -> None:
    spec_dict = {
        "family": "vit",
        "image_size": patches * patch,
        "patch_size": patch,
        "n_layers": layers,
        "d_model": heads * head_width,
        "n_heads": heads,
        "n_classes": n_classes,
        "class_token": class_token,
        "pool": "token" if class_token else "avg",
        "qkv_bias": qkv_bias,
    }
    spec = archcalc.load_spec(write_spec(tmp_path, spec_dict))
    formula = archcalc.formula(spec)
    assert formula.substitute(formula.total) == archcalc.count(spec).total_params


BASE = {
    "family": "vit",
    "image_size": 224,
    "patch_size": 16,
    "n_layers": 2,
    "d_model": 64,
    "n_heads": 4,
}


@pytest.mark.parametrize(
    ("change", "key", "expected"),
    [
        ({"patch_size": 15}, "patch_size", "patch_size (15) must divide image_size (224)"),
        ({"n_heads": 5}, "n_heads", "n_heads (5) must divide d_model (64)"),
        ({"class_token": False}, "pool", "pool: token needs class_token: true"),
        ({"pool": "mean"}, "pool", "pool: mean is not one of token, avg, max"),
        ({"n_classes": -1}, "n_classes", "n_classes"),
    ],
)
def test_invalid_vits_are_located(
    tmp_path: Path, change: dict[str, Any], key: str, expected: str
) -> None:
    spec = {**BASE, **change}
    if key == "pool" and "pool" not in change:
        spec["pool"] = "token"
    path = write_spec(tmp_path, spec)
    with pytest.raises(SpecError) as info:
        archcalc.load_spec(path)
    (problem,) = info.value.diagnostics
    lines = path.read_text(encoding="utf-8").splitlines()
    assert problem.line == next(i for i, line in enumerate(lines, 1) if line.startswith(key))
    assert expected in problem.message


def test_cli_count_json_for_a_vit() -> None:
    result = CliRunner().invoke(app, ["count", str(EXAMPLES / "vit-l-16.yaml"), "--json"])
    assert result.exit_code == 0, result.output
    assert f'"total_params": {VIT_CASES["vit-l-16"]["total_params"]}' in result.output
