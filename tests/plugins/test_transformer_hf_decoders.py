"""The decoder translators of plugins/transformer_hf_decoders.py on configs they must refuse.

Their exact counts (default configs and every key changed one at a time) are replayed from
tests/data/reference/hf_coverage.json by tests/test_hf_coverage.py; here: the per-layer
lists and the variants archcalc cannot say give one located error naming the key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import archcalc
from archcalc.errors import SpecError
from tests.helpers import DATA

DEFAULTS: dict[str, dict[str, Any]] = json.loads(
    (DATA / "reference" / "hf_coverage.json").read_text(encoding="utf-8")
)["defaults"]


def _errors(tmp_path: Path, model_type: str, **changes: Any) -> list[str]:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**DEFAULTS[model_type], **changes}, indent=1), encoding="utf-8")
    with pytest.raises(SpecError) as info:
        archcalc.load_spec(path, display="config.json")
    return [d.format() for d in info.value.diagnostics]


def _count(tmp_path: Path, model_type: str, **changes: Any) -> tuple[int, int]:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**DEFAULTS[model_type], **changes}, indent=1), encoding="utf-8")
    result = archcalc.count(archcalc.load_spec(path))
    return result.total_params, result.active_params


@pytest.mark.parametrize(
    ("model_type", "changes", "message"),
    [
        ("exaone_moe", {"mlp_layer_types": ["dense"]}, "'mlp_layer_types' lists 1 layers"),
        ("exaone_moe", {"mlp_layer_types": "dense"}, "'mlp_layer_types' must be a list"),
        (
            "mellum",
            {"mlp_layer_types": ["dense", "mixed"] * 14},
            "mlp_layer_types entry 'mixed'",
        ),
        ("bitnet", {"head_dim": 64}, "num_attention_heads × head_dim different from hidden"),
        ("ernie4_5_moe", {"use_bias": True}, "use_bias: true"),
        ("hy_v3", {"mlp_bias": True}, "mlp_bias: true"),
        ("glm_moe_dsa", {"indexer_types": ["full"]}, "'indexer_types' lists 1 layers"),
        ("ernie4_5_moe", {"moe_layer_end_index": -2}, "'moe_layer_end_index' must be ≥ -1"),
        ("minicpm3", {"hidden_size": 2561}, "transformers refuses this config"),
        ("flint", {"mlp_only_layers": "0"}, "'mlp_only_layers' must be a list"),
        ("gemma4_unified_text", {"num_kv_shared_layers": 4}, "reusing another layer's keys"),
        ("gemma4_unified_text", {"attention_k_eq_v": True}, "attention_k_eq_v: true"),
        (
            "gemma4_unified_text",
            {"per_layer_config": {"05": {"head_dim": 512, "intermediate_size": 100}}},
            "per_layer_config key 'intermediate_size' is not supported",
        ),
        (
            "gemma4_unified_text",
            {"per_layer_config": {"05": {"head_dim": 512, "skip": ["mlp"]}}},
            "per_layer_config key 'skip' is not supported",
        ),
        (
            "gemma4_unified_text",
            {"per_layer_config": {"30": {"head_dim": 512}}},
            "is not a layer index below 30; transformers refuses",
        ),
        (
            "gemma4_unified_text",
            {"per_layer_config": {"05": {"head_dim": 512}, "11": {"head_dim": 128}}},
            "gives the full_attention layers different sizes",
        ),
        (
            "gemma4_unified_text",
            {"per_layer_config": {"05": {"head_dim": None}}},
            "'head_dim' must be an integer ≥ 1",
        ),
        (
            "minimax_m3_vl_text",
            {"layer_types": ["minimax_m3_sparse"] * 60},
            "layer_types entry 'minimax_m3_sparse' is not supported",
        ),
        (
            "minimax_m3_vl_text",
            {"layer_types": None, "sparse_attention_config": {"sparse_attention_freq": [0, 1]}},
            "sparse attention (a lightning indexer) is not supported",
        ),
        (
            "minimax_m3_vl_text",
            {"mlp_layer_types": None, "moe_layer_freq": [1, 0]},
            "'moe_layer_freq' lists 2 layers but the config has 60",
        ),
        (
            "minimax_m3_vl_text",
            {"mlp_layer_types": None, "moe_layer_freq": "1"},
            "'moe_layer_freq' must be a list of 0/1",
        ),
    ],
)
def test_what_cannot_be_said_is_one_located_error(
    tmp_path: Path, model_type: str, changes: dict[str, Any], message: str
) -> None:
    (error,) = _errors(tmp_path, model_type, **changes)
    assert error.startswith("config.json:") and message in error, error


def test_glm5_index_pattern_gives_the_shared_layers(tmp_path: Path) -> None:
    """Layers marked S in index_topk_pattern have no indexer of their own: fewer params
    than all-F, and the same as the equivalent indexer_types list."""
    n = DEFAULTS["glm_moe_dsa"]["num_hidden_layers"]
    base = {"indexer_types": None}
    full = _count(tmp_path, "glm_moe_dsa", **base, index_topk_pattern="F" * n)
    shared = _count(tmp_path, "glm_moe_dsa", **base, index_topk_pattern="F" + "S" * (n - 1))
    listed = _count(tmp_path, "glm_moe_dsa", indexer_types=["full"] + ["shared"] * (n - 1))
    assert shared == listed
    assert shared[0] < full[0]
    (error,) = _errors(tmp_path, "glm_moe_dsa", **base, index_topk_pattern="FS")
    assert f"covers 2 layers but the config has {n}" in error


def test_minimax_m3_legacy_moe_layer_freq_is_read_as_mlp_layer_types(tmp_path: Path) -> None:
    """MiniMax-M3's checkpoints give moe_layer_freq (1: experts); its __post_init__ turns it
    into mlp_layer_types when that is absent, and only then."""
    n = DEFAULTS["minimax_m3_vl_text"]["num_hidden_layers"]
    freq = [0, 0] + [1] * (n - 2)
    listed = _count(
        tmp_path, "minimax_m3_vl_text", mlp_layer_types=["dense"] * 2 + ["sparse"] * (n - 2)
    )
    legacy = _count(tmp_path, "minimax_m3_vl_text", mlp_layer_types=None, moe_layer_freq=freq)
    ignored = _count(tmp_path, "minimax_m3_vl_text", moe_layer_freq=[0] * n)
    assert legacy == listed
    assert legacy[0] < ignored[0]
    assert ignored == _count(tmp_path, "minimax_m3_vl_text")


def test_gemma4_full_attention_sizes_come_from_per_layer_config(tmp_path: Path) -> None:
    """Gemma 4's __post_init__ gives the full-attention layers global_head_dim (512) when the
    config has no per_layer_config; saved configs list it; null means no overrides at all."""
    default = DEFAULTS["gemma4_unified_text"]
    full = {k: v for k, v in default.items() if k != "per_layer_config"}
    path = tmp_path / "derived.json"
    path.write_text(json.dumps(full), encoding="utf-8")
    derived = archcalc.count(archcalc.load_spec(path)).total_params
    listed = _count(tmp_path, "gemma4_unified_text")[0]
    none = _count(tmp_path, "gemma4_unified_text", per_layer_config=None)[0]
    wider = {i: {"head_dim": 1024} for i in default["per_layer_config"]}
    wide = _count(tmp_path, "gemma4_unified_text", per_layer_config=wider)[0]
    assert derived == listed
    assert none < listed < wide
