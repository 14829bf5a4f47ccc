"""The hybrid translators of plugins/transformer_hf_hybrid.py beyond their default configs.

Their exact counts (default configs and every key changed one at a time) are replayed from
tests/data/reference/hf_coverage.json by tests/test_hf_coverage.py, published configs by
tests/test_hf.py; here: the keys a default config does not hold (Kimi's
``linear_attn_config``) mean what transformers makes of them, and the variants archcalc
cannot say give one located error naming the key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import archcalc
from archcalc import hf
from archcalc.cli import app
from archcalc.errors import SpecError
from tests.checkpoints import case, write_header
from tests.helpers import DATA

DEFAULTS: dict[str, dict[str, Any]] = json.loads(
    (DATA / "reference" / "hf_coverage.json").read_text(encoding="utf-8")
)["defaults"]


def _config(tmp_path: Path, model_type: str, changes: dict[str, Any]) -> Path:
    config = {**DEFAULTS[model_type], **changes}
    path = tmp_path / "config.json"
    path.write_text(json.dumps({k: v for k, v in config.items() if v is not DROP}, indent=1))
    return path


#: A changes value that removes the key from the default config.
DROP: Any = object()


def _errors(tmp_path: Path, model_type: str, **changes: Any) -> list[str]:
    with pytest.raises(SpecError) as info:
        archcalc.load_spec(_config(tmp_path, model_type, changes), display="config.json")
    return [d.format() for d in info.value.diagnostics]


def _count(tmp_path: Path, model_type: str, **changes: Any) -> tuple[int, int]:
    result = archcalc.count(archcalc.load_spec(_config(tmp_path, model_type, changes)))
    return result.total_params, result.active_params


# --------------------------------------------------------------------------- Kimi Linear

#: Kimi Linear, small: 6 layers, the delta attention's sizes given as flat keys.
KIMI = {
    "hidden_size": 64,
    "num_hidden_layers": 6,
    "num_attention_heads": 4,
    "intermediate_size": 96,
    "vocab_size": 128,
    "moe_intermediate_size": 32,
    "num_experts": 4,
    "num_experts_per_token": 2,
    "kv_lora_rank": 16,
    "qk_rope_head_dim": 8,
    "qk_nope_head_dim": 16,
    "v_head_dim": 16,
    "linear_num_heads": 2,
    "linear_head_dim": 32,
    "linear_conv_kernel_dim": 3,
    "layer_types": ["linear_attention", "linear_attention", "full_attention"] * 2,
    "mlp_layer_types": ["dense", "dense"] + ["sparse"] * 4,
}
#: The same model as Kimi's published checkpoints describe it: the delta attention in
#: linear_attn_config (1-based layer lists), the dense layers by first_k_dense_replace.
KIMI_PUBLISHED = {
    **KIMI,
    "linear_num_heads": DROP,
    "linear_head_dim": DROP,
    "linear_conv_kernel_dim": DROP,
    "layer_types": DROP,
    "mlp_layer_types": DROP,
    "first_k_dense_replace": 2,
    "linear_attn_config": {
        "kda_layers": [1, 2, 4, 5],
        "full_attn_layers": [3, 6],
        "num_heads": 2,
        "head_dim": 32,
        "short_conv_kernel_size": 3,
    },
}


def test_kimi_linear_attn_config_means_its_flat_keys(tmp_path: Path) -> None:
    flat = _count(tmp_path, "kimi_linear", **KIMI)
    assert _count(tmp_path, "kimi_linear", **KIMI_PUBLISHED) == flat
    # the sub-config's sizes win over the flat keys (KimiLinearConfig.__post_init__)
    assert _count(tmp_path, "kimi_linear", **{**KIMI_PUBLISHED, "linear_head_dim": 8}) == flat
    # and the layer lists say how many layers have latent attention
    moved = {
        **KIMI_PUBLISHED["linear_attn_config"],
        "kda_layers": [1, 2, 3, 4, 5],
        "full_attn_layers": [6],
    }
    assert (
        _count(tmp_path, "kimi_linear", **{**KIMI_PUBLISHED, "linear_attn_config": moved}) != flat
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"routed_expert_hidden_size": 32}, "routed_expert_hidden_size (latent expert"),
        ({"mla_use_output_gate": True}, "mla_use_output_gate (an output gate"),
        ({"latent_moe_use_norm": True}, "latent_moe_use_norm"),
        ({"attn_res_block_size": 2}, "attn_res_block_size"),
        ({"moe_layer_freq": 2}, "moe_layer_freq other than 1"),
        (
            {
                "linear_attn_config": {
                    **KIMI_PUBLISHED["linear_attn_config"],
                    "use_full_rank_gate": True,
                }
            },
            "linear_attn_config.use_full_rank_gate",
        ),
        (
            {
                "linear_attn_config": {
                    **KIMI_PUBLISHED["linear_attn_config"],
                    "kda_layers": [1, 2, 4],
                }
            },
            "must name every layer from 1 to 6",
        ),
        (
            {
                "linear_attn_config": {
                    **KIMI_PUBLISHED["linear_attn_config"],
                    "kda_layers": [0, 1, 2, 4, 5],
                }
            },
            "must list layer numbers from 1 to 6",
        ),
        (
            {"linear_attn_config": {**KIMI_PUBLISHED["linear_attn_config"], "num_heads": 0}},
            "'linear_attn_config.num_heads' must be an integer ≥ 1, got 0",
        ),
        ({"linear_attn_config": [1]}, "'linear_attn_config' must be a mapping"),
        ({"mlp_layer_types": "dense"}, "'mlp_layer_types' must be a list of 'dense' or 'sparse'"),
    ],
)
def test_kimi_linear_refuses_what_it_cannot_say(
    tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    errors = _errors(tmp_path, "kimi_linear", **{**KIMI_PUBLISHED, **changes})
    assert len(errors) == 1 and message in errors[0], errors
    key = next(iter(changes))
    assert errors[0].startswith("config.json:"), errors  # located, at the key's value
    lines = _config(tmp_path, "kimi_linear", {**KIMI_PUBLISHED, **changes}).read_text().splitlines()
    line = int(errors[0].split(":")[1])
    assert f'"{key}"' in lines[line - 1] or key == "linear_attn_config"


def test_kimi_linear_ties_nothing_whatever_the_flag_says(tmp_path: Path) -> None:
    # KimiLinearForCausalLM has no tied weights: the flag changes no count
    assert _count(tmp_path, "kimi_linear", **KIMI, tie_word_embeddings=True) == _count(
        tmp_path, "kimi_linear", **KIMI
    )


def test_kimi_linear_writes_a_dense_head_then_a_repeating_pattern(tmp_path: Path) -> None:
    """The default layout (layer 0 dense, latent attention every fourth layer from 4) is
    written as one dense block and one pattern, so ``--set n_layers`` keeps the period."""
    config = hf.parse_config(_config(tmp_path, "kimi_linear", {}).read_bytes(), "config.json")
    assert hf.translate(config).spec["stack"] == [
        {"block": "dense", "layers": 1},
        {"pattern": ["default", "default", "default", "full"]},
    ]


def test_kimi_linear_checkpoints_may_keep_the_dense_mlp_as_mlp(tmp_path: Path) -> None:
    """transformers 5.24 saves Kimi's dense MLP under block_sparse_moe (its conversion
    mapping renames every ``mlp``); the published checkpoints keep layer 0's as ``mlp``.
    ``check`` accepts either."""
    record = case("kimi_linear")
    (file,) = record["files"]
    header = {k: v for k, v in record["files"][file].items() if k != "__metadata__"}
    renamed = {
        k.replace("layers.0.block_sparse_moe.", "layers.0.mlp."): v for k, v in header.items()
    }
    assert renamed != header
    folder = tmp_path / "published"
    folder.mkdir()
    write_header(folder / file, renamed, {"format": "pt"})
    (folder / "config.json").write_text(json.dumps(record["config"]), encoding="utf-8")
    result = CliRunner().invoke(
        app, ["check", str(folder / "config.json"), "--against", str(folder), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["agree"]


# --------------------------------------------------------------------------- LFM2, LFM3


def test_lfm2_full_attn_idxs_means_the_other_layers_convolve(tmp_path: Path) -> None:
    """LFM2's older configs list the attention layers; the rest are short convolutions."""
    small = {"hidden_size": 64, "num_hidden_layers": 4, "num_attention_heads": 4}
    small |= {"num_key_value_heads": 2, "vocab_size": 128, "intermediate_size": 96}
    listed = {**small, "layer_types": ["conv", "full_attention", "conv", "conv"]}
    by_index = {**small, "layer_types": DROP, "full_attn_idxs": [1]}
    assert _count(tmp_path, "lfm2", **by_index) == _count(tmp_path, "lfm2", **listed)
    attention_only = {**small, "layer_types": ["full_attention"] * 4}
    assert _count(tmp_path, "lfm2", **by_index) != _count(tmp_path, "lfm2", **attention_only)


def test_lfm3_writes_its_default_layout_as_one_pattern(tmp_path: Path) -> None:
    """conv, conv, full, conv, sliding, conv, full...: after layer 0, conv and attention
    alternate (full and sliding layers are alike in shape)."""
    config = hf.parse_config(_config(tmp_path, "lfm3", {}).read_bytes(), "config.json")
    assert hf.translate(config).spec["stack"] == [
        {"block": "default", "layers": 1},
        {"pattern": ["default", "attention"]},
    ]


# --------------------------------------------------------------------------- Ling 3

#: Ling 3 (BailingHybrid), small: the delta attention's sizes derived from the attention's.
BAILING = {
    "hidden_size": 64,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "head_dim": 16,
    "short_conv_kernel_size": 3,
    "intermediate_size": 96,
    "vocab_size": 128,
    "moe_intermediate_size": 32,
    "num_experts": 4,
    "num_experts_per_token": 2,
    "num_expert_group": 2,
    "topk_group": 1,
    "kv_lora_rank": 16,
    "qk_rope_head_dim": 8,
    "qk_nope_head_dim": 16,
    "v_head_dim": 16,
    "linear_num_heads": DROP,
    "linear_head_dim": DROP,
    "linear_conv_kernel_dim": DROP,
    "layer_types": DROP,
    "mlp_layer_types": DROP,
    "layer_group_size": 2,
    "first_k_dense_replace": 1,
}


def test_bailing_linear_keys_default_to_the_attention_ones(tmp_path: Path) -> None:
    """__post_init__ sets linear_num_heads / linear_head_dim / linear_conv_kernel_dim from
    num_attention_heads / head_dim / short_conv_kernel_size; given, they win."""
    derived = _count(tmp_path, "bailing_hybrid", **BAILING)
    own = {"linear_num_heads": 4, "linear_head_dim": 16, "linear_conv_kernel_dim": 3}
    assert _count(tmp_path, "bailing_hybrid", **{**BAILING, **own}) == derived
    wider = {**BAILING, "linear_head_dim": 32}
    assert _count(tmp_path, "bailing_hybrid", **wider)[0] > derived[0]
    # layer_group_size 2 and first_k_dense_replace 1 mean these lists
    listed = {
        **BAILING,
        "layer_group_size": 5,
        "first_k_dense_replace": 3,
        "layer_types": ["linear_attention", "full_attention"] * 2,
        "mlp_layer_types": ["dense", "sparse", "sparse", "sparse"],
    }
    assert _count(tmp_path, "bailing_hybrid", **listed) == derived


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"linear_head_dim": None}, "'linear_head_dim' is null"),
        ({"qk_rope_head_dim": 9}, "RoPE needs an even qk_rope_head_dim, got 9"),
    ],
)
def test_bailing_refuses_what_transformers_cannot_build(
    tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    errors = _errors(tmp_path, "bailing_hybrid", **{**BAILING, **changes})
    assert len(errors) == 1 and message in errors[0], errors
