"""Hugging Face config.json files count exactly what transformers builds for them.

Reference numbers come from ``reference/hf_counts.py`` (transformers on the meta device),
pinned in ``tests/data/reference/hf.json``: public configs written into
``tests/data/hf/`` and a seeded set of hypothetical variants of them.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import archcalc
from archcalc import api, hf
from archcalc.cli import app
from archcalc.errors import SpecError
from tests.helpers import DATA

HF = DATA / "hf"
runner = CliRunner()


@cache
def hf_reference() -> dict[str, Any]:
    return json.loads((DATA / "reference" / "hf.json").read_text(encoding="utf-8"))


CONFIGS = sorted(hf_reference()["configs"])
VARIANTS = sorted(hf_reference()["variants"])


def _count_cli(path: Path) -> dict[str, Any]:
    result = runner.invoke(app, ["count", str(path), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _write(tmp_path: Path, config: dict[str, Any], name: str = "config.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return path


def _counts(path: Path) -> tuple[int, int]:
    result = archcalc.count(archcalc.load_spec(path))
    return result.total_params, result.active_params


def _imported_counts(config: Path, tmp_path: Path) -> tuple[int, int]:
    spec = tmp_path / (config.stem + ".yaml")
    result = runner.invoke(app, ["import-hf", str(config), "-o", str(spec)])
    assert result.exit_code == 0, result.output
    return _counts(spec)


# --------------------------------------------------------------------------- exactness


#: Supported model types with no published config.json in tests/data/hf yet (none found
#: in public repositories so far; their default configs and every key changed are pinned
#: in tests/test_hf_coverage.py). This set only shrinks.
NO_PUBLIC_CONFIG_YET = frozenset(
    {
        "arcee",
        "biogpt",
        "codegen",
        "cohere2",
        "cwm",
        "exaone4",
        "flex_olmo",
        "glm",
        "glm4",
        "gpt-sw3",
        "granite",
        "granitemoeshared",
        "hyperclovax",
        "iquestcoder",
        "nanochat",
        "olmo3",
        "persimmon",
        "phimoe",
        "sarvam_moe",
        "seed_oss",
        "solar_open",
        "vaultgemma",
        "camembert",
        "data2vec-text",
        # hybrid decoders (plugins/transformer_hf_hybrid.py)
        "bailing_hybrid",
        "bamba",
        "granitemoehybrid",
        "lfm2",
        "lfm3",
        "olmo_hybrid",
        "qwen3_5_moe_text",
        "qwen3_5_text",
        "qwen3_next",
        # encoders and encoder-decoders (plugins/transformer_hf_encoders.py)
        "bert-generation",
        "big_bird",
        "bigbird_pegasus",
        "blenderbot",
        "blenderbot-small",
        "deberta",
        "ernie",
        "eurobert",
        "flaubert",
        "fnet",
        "fsmt",
        "gte",
        "ibert",
        "jina_embeddings_v3",
        "led",
        "longformer",
        "longt5",
        "mbart",
        "megatron-bert",
        "mra",
        "mvp",
        "nomic_bert",
        "nystromformer",
        "plbart",
        "rembert",
        "roberta-prelayernorm",
        "roformer",
        "trocr",
        "ultrabert",
        "umt5",
        "xlm",
        "xlm-roberta-xl",
        "yoso",
        # plugins/transformer_hf_decoders.py
        "bitnet",
        "cohere2_moe",
        "ctrl",
        "exaone_moe",
        "flint",
        "glm_moe_dsa",
        "gpt_neox_japanese",
        "granite_swa",
        "granitemoe_swa",
        "hy_v3",
        "jais2",
        "kolibri1",
        "mellum",
        "minicpm3",
        "minimax_m3_vl_text",
        "gemma4_unified_text",
        "sarvam_mla",
        "youtu",
        "lara_mini",
        "llama4_text",
        "laguna",
        "minimax",
        "falcon_h1",
        "recurrent_gemma",
        # recurrent models: RWKV-4 (plugins/rwkv.py, as transformer specs) and xLSTM
        "rwkv",
        "xlstm",
    }
)


def test_public_configs_cover_the_supported_types() -> None:
    assert len(CONFIGS) >= 25
    assert {p.stem for p in HF.glob("*.json")} == set(CONFIGS)
    types = {json.loads((HF / f"{c}.json").read_text())["model_type"] for c in CONFIGS}
    supported = set(hf.supported_model_types())
    assert types <= supported
    assert supported - types == NO_PUBLIC_CONFIG_YET - types


@pytest.mark.parametrize("name", CONFIGS)
def test_public_config_counts_exactly_through_the_cli(name: str) -> None:
    expected = hf_reference()["configs"][name]
    config = json.loads((HF / f"{name}.json").read_text())
    out = _count_cli(HF / f"{name}.json")
    assert out["total_params"] == expected["total_params"]
    assert out["active_params"] == expected["active_params"]
    assert out["hf_model_type"] == config["model_type"]


@pytest.mark.parametrize("name", CONFIGS)
def test_imported_spec_counts_the_same(name: str, tmp_path: Path) -> None:
    expected = hf_reference()["configs"][name]
    assert _imported_counts(HF / f"{name}.json", tmp_path) == (
        expected["total_params"],
        expected["active_params"],
    )


@pytest.mark.parametrize("name", VARIANTS)
def test_hypothetical_variant_counts_exactly(name: str, tmp_path: Path) -> None:
    """Seeded variants: other widths, depths, heads, biases, tying, experts and top-k."""
    entry = hf_reference()["variants"][name]
    path = _write(tmp_path, entry["config"])
    expected = (entry["total_params"], entry["active_params"])
    assert _counts(path) == expected
    assert _imported_counts(path, tmp_path) == expected


def test_variants_change_what_the_issue_lists() -> None:
    """The seeded set really varies tying, biases and experts (not just sizes)."""
    configs = [hf_reference()["variants"][n]["config"] for n in VARIANTS]
    assert {c.get("tie_word_embeddings") for c in configs} >= {True, False}
    assert {c.get("attention_bias") for c in configs} >= {True, False}
    moe = [c for c in configs if c["model_type"] in ("mixtral", "qwen2_moe", "deepseek_v3")]
    assert len({(c.get("num_experts_per_tok"), c["num_hidden_layers"]) for c in moe}) > 3


def test_moe_configs_report_active_parameters() -> None:
    for name in ("mixtral-8x7b-v0.1", "qwen1.5-moe-a2.7b", "deepseek-v3"):
        out = _count_cli(HF / f"{name}.json")
        assert out["active_params"] < out["total_params"]
        assert out["active_params"] == hf_reference()["configs"][name]["active_params"]


def test_t5_follows_the_configs_tie_statement() -> None:
    """flan-t5 says tie_word_embeddings: false; transformers 5 ties anyway, archcalc does not."""
    entry = hf_reference()["configs"]["flan-t5-base"]
    assert "adjustment" in entry
    assert entry["total_params"] > entry["transformers_total_params"]
    assert _counts(HF / "flan-t5-base.json")[0] == entry["total_params"]
    assert "adjustment" not in hf_reference()["configs"]["t5-small"]


@pytest.mark.parametrize(
    ("name", "tied"),
    [
        ("gpt2", True),
        ("gemma-2b", True),
        ("starcoder2-3b", True),
        ("opt-125m", True),
        ("falcon-7b", True),
        ("mistral-7b-v0.1", False),
        ("qwen1.5-moe-a2.7b", False),
    ],
)
def test_absent_tie_takes_the_model_types_default(name: str, tied: bool, tmp_path: Path) -> None:
    config = json.loads((HF / f"{name}.json").read_text())
    config.pop("tie_word_embeddings", None)
    translation = hf.translate(hf.parse_config(json.dumps(config).encode(), "c.json"))
    assert translation.spec["tie_embeddings"] is tied
    assert _counts(_write(tmp_path, config))[0] == hf_reference()["configs"][name]["total_params"]


def test_fields_a_model_type_ignores_are_ignored(tmp_path: Path) -> None:
    """Mistral's attention has no bias switch; unknown keys are metadata to transformers."""
    config = json.loads((HF / "mistral-7b-v0.1.json").read_text())
    config.update(attention_bias=True, mlp_bias=True, my_custom_key={"a": [1, 2]})
    expected = hf_reference()["configs"]["mistral-7b-v0.1"]["total_params"]
    assert _counts(_write(tmp_path, config))[0] == expected


def test_a_json_config_without_the_suffix_is_recognised(tmp_path: Path) -> None:
    path = tmp_path / "config.txt"
    path.write_text((HF / "gpt2.json").read_text())
    assert _counts(path)[0] == hf_reference()["configs"]["gpt2"]["total_params"]


def test_set_overrides_apply_to_a_config() -> None:
    spec = archcalc.load_spec(HF / "gpt2.json", ["n_layers=13"])
    one_more = archcalc.count(spec).total_params - hf_reference()["configs"]["gpt2"]["total_params"]
    assert one_more == 12 * 768**2 + 13 * 768


# --------------------------------------------------------------------------- laws


def _llama_variant() -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def build(draw: Any) -> dict[str, Any]:
        base = json.loads((HF / draw(st.sampled_from(VARIANT_BASES))).read_text())
        kv = draw(st.integers(1, 4))
        heads = kv * draw(st.integers(1, 4))
        base.update(
            num_hidden_layers=draw(st.integers(1, 8)),
            hidden_size=heads * draw(st.integers(1, 64)),
            num_attention_heads=heads,
            num_key_value_heads=kv,
            intermediate_size=draw(st.integers(1, 500)),
            vocab_size=draw(st.integers(1, 5000)),
            tie_word_embeddings=draw(st.booleans()),
            attention_bias=draw(st.booleans()),
        )
        base.pop("head_dim", None)
        if base["model_type"] == "mixtral":
            experts = draw(st.integers(1, 8))
            base.update(
                num_local_experts=experts, num_experts_per_tok=draw(st.integers(1, experts))
            )
        return base

    return build()


VARIANT_BASES = ["meta-llama-3-8b.json", "mixtral-8x7b-v0.1.json", "qwen2-7b.json"]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(config=_llama_variant())
def test_import_and_formula_agree_with_the_direct_count(
    tmp_path: Path, config: dict[str, Any]
) -> None:
    path = _write(tmp_path, config)
    spec = archcalc.load_spec(path)
    direct = archcalc.count(spec)
    formula = archcalc.formula(spec)
    assert formula.substitute(formula.total) == direct.total_params
    assert formula.substitute(formula.active) == direct.active_params
    translation = hf.translate(hf.load_config(path))
    text = hf.spec_yaml(hf.load_config(path), translation, "schema.json")
    imported = api.check_document(archcalc.yamlsafe.load_text(text, "spec.yaml"))
    assert archcalc.count(imported).total_params == direct.total_params


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(config=_llama_variant(), extra=st.integers(1, 3))
def test_more_layers_add_whole_blocks(tmp_path: Path, config: dict[str, Any], extra: int) -> None:
    """Counts are linear in depth: L + k layers add exactly k times one block."""
    counts = []
    for layers in (1, 2, 2 + extra):
        config["num_hidden_layers"] = layers
        counts.append(_counts(_write(tmp_path, config))[0])
    block = counts[1] - counts[0]
    assert block > 0 and counts[2] - counts[1] == extra * block


# --------------------------------------------------------------------------- errors


def _errors(tmp_path: Path, text: str | bytes) -> list[str]:
    path = tmp_path / "config.json"
    if isinstance(text, str):
        text = text.encode()
    path.write_bytes(text)
    with pytest.raises(SpecError) as info:
        archcalc.load_spec(path, display="config.json")
    return [d.format() for d in info.value.diagnostics]


def test_invalid_json_is_located(tmp_path: Path) -> None:
    errors = _errors(tmp_path, '{\n  "model_type": "gpt2",\n  "n_embd": 768,,\n}')
    assert errors[0].startswith("config.json:3:17: error: invalid JSON")


@pytest.mark.parametrize(
    ("constant", "expected"),
    [
        ("NaN", "'n_embd' is NaN, which is not a size (an integer ≥ 1) [Y111]"),
        ("Infinity", "'n_embd' is Infinity, which is not a size"),
        ("-Infinity", "'n_embd' is -Infinity, which is not a size"),
        ("1e999", "the number 1e999 is out of range"),
        ("9" * 5000, "an integer with 5000 digits is too large"),
        ("1." + "0" * 5000, "a number with 5001 digits"),
    ],
)
def test_unusable_numbers_are_rejected_at_their_own_position(
    tmp_path: Path, constant: str, expected: str
) -> None:
    errors = _errors(tmp_path, f'{{"model_type": "gpt2",\n "x": [1, 2],\n "n_embd": {constant}}}')
    assert any(e.startswith(f"config.json:3:12: error: {expected}") for e in errors), errors


def test_nan_and_infinity_where_no_size_is_read_are_accepted(tmp_path: Path) -> None:
    # json.dump writes float fields so (Mamba-2's time_step_limit: [0.0, Infinity]); what
    # transformers reads back, archcalc reads too, as long as no size comes from it.
    config = dict(model_type="gpt2", n_embd=64, n_layer=2, n_head=4, vocab_size=100)
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps(config))
    odd = tmp_path / "odd.json"
    odd.write_text(json.dumps({**config, "time_step_limit": [0.0, math.inf], "eps": math.nan}))
    assert "Infinity" in odd.read_text() and "NaN" in odd.read_text()
    assert (
        api.count(api.load_spec(odd)).total_params == api.count(api.load_spec(plain)).total_params
    )


def test_duplicate_keys_are_located_at_the_second_one(tmp_path: Path) -> None:
    config = '{"model_type": "gpt2",\n "n_embd": 8,\n "rope": {"a": 1,\n   "a": 2},\n "n_embd": 9}'
    errors = _errors(tmp_path, config)
    assert errors[0].startswith("config.json:4:4: error: duplicate key 'a' in one object [Y108]")
    assert errors[1].startswith("config.json:5:2: error: duplicate key 'n_embd' in one object")


def test_strings_that_look_like_numbers_or_keys_are_not_flagged(tmp_path: Path) -> None:
    from archcalc.hf import parse_config

    text = '{"model_type": "gpt2", "note": "NaN, 1e999, \\"a\\": 1", "a": [{"k": 1}, {"k": 2}]}'
    assert parse_config(text.encode(), "c.json").data["a"] == [{"k": 1}, {"k": 2}]


@pytest.mark.parametrize("model_type", ["lama", "phi4", "olmoe_x"])
def test_unknown_model_type_is_refused_without_a_guess(tmp_path: Path, model_type: str) -> None:
    """No "did you mean" across model types: phi3 for phi4 would be a confident wrong count."""
    config = f'{{\n  "model_type": "{model_type}",\n  "hidden_size": 8\n}}'
    errors = _errors(tmp_path, config)
    assert len(errors) == 1
    assert errors[0].startswith(f"config.json:2:17: error: unsupported model_type '{model_type}'")
    assert "did you mean" not in errors[0] and "archcalc plugins" in errors[0]


def test_a_missing_size_is_named(tmp_path: Path) -> None:
    config = json.loads((HF / "llama-2-7b.json").read_text())
    del config["hidden_size"]
    errors = _errors(tmp_path, json.dumps(config, indent=2))
    assert errors == [
        "config.json:1:1: error: llama config has no 'hidden_size', which the parameter count "
        "needs [H401]"
    ]


def test_a_wrongly_typed_field_is_located_at_its_value(tmp_path: Path) -> None:
    errors = _errors(tmp_path, '{\n  "model_type": "llama",\n  "num_hidden_layers": "32"\n}')
    assert any(
        e.startswith("config.json:3:24: error: 'num_hidden_layers' must be an integer ≥ 1")
        for e in errors
    )
    assert len(errors) == 5  # and every missing size is reported too, not just the first


def test_a_semantic_problem_points_into_the_json(tmp_path: Path) -> None:
    """Heads that do not divide the width are reported at num_key_value_heads' line."""
    config = json.loads((HF / "meta-llama-3-8b.json").read_text())
    config["num_key_value_heads"] = 5
    text = json.dumps(config, indent=2)
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "num_key_value_heads" in s)
    errors = _errors(tmp_path, text)
    assert errors[0].startswith(f"config.json:{line}:26: error: n_kv_heads (5) must divide")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b'{"model_type": "gpt2", "n_embd": 1, "n_embd": 2}', "duplicate key 'n_embd'"),
        (b'["model_type"]', "JSON object with a 'model_type'"),
        (b'{"model_type": "gpt2", "n_layer": 1' + b"0" * 40 + b"}", "too large"),
        (b'{"model_type": "gpt2", "x": ' + b"[" * 100 + b"]" * 100 + b"}", "nesting deeper"),
        (b'{"model_type": 7}', "needs a string 'model_type'"),
    ],
)
def test_hostile_or_broken_configs_are_clear_errors(
    tmp_path: Path, text: bytes, message: str
) -> None:
    assert message in _errors(tmp_path, text)[0]


def test_invalid_utf8_is_located(tmp_path: Path) -> None:
    errors = _errors(tmp_path, b'{\n  "model_type": "gpt2\xff"\n}')
    assert errors[0].startswith("config.json:2:22: error: invalid UTF-8 byte 0xff")


def test_contradicting_aliases_are_an_error(tmp_path: Path) -> None:
    config = json.loads((HF / "bart-base.json").read_text())
    config["num_hidden_layers"] = 3
    assert (
        "'num_hidden_layers' (3) contradicts 'encoder_layers' (6)"
        in _errors(tmp_path, json.dumps(config))[0]
    )


def test_unsupported_variants_of_a_type_are_located_errors(tmp_path: Path) -> None:
    config = json.loads((HF / "opt-125m.json").read_text())
    config["word_embed_proj_dim"] = 512
    assert (
        "opt: word_embed_proj_dim different from hidden_size is not supported"
        in _errors(tmp_path, json.dumps(config))[0]
    )


def test_mpt_attention_types_transformers_rejects_are_refused_at_attn_config(
    tmp_path: Path,
) -> None:
    base = {"model_type": "mpt", "d_model": 64, "n_heads": 4, "n_layers": 2, "vocab_size": 100}
    # transformers' MptAttention is full multi-head for both types its config accepts.
    counts = {
        kind: _counts(
            _write(tmp_path, {**base, "attn_config": {"attn_type": kind}}, f"{kind}.json")
        )
        for kind in ("multihead_attention", "multiquery_attention")
    }
    assert (
        counts["multiquery_attention"]
        == counts["multihead_attention"]
        == _counts(_write(tmp_path, base, "plain.json"))
    )
    gqa = {"attn_type": "grouped_query_attention", "kv_n_heads": 2}
    text = json.dumps({**base, "attn_config": gqa}, indent=1)
    errors = _errors(tmp_path, text)
    assert errors == [
        "config.json:7:17: error: mpt: attn_config.attn_type grouped_query_attention is not "
        "supported (it changes parameter shapes) [H402]"
    ]


# --------------------------------------------------------------------------- the new keys


def _extended_spec() -> st.SearchStrategy[dict[str, Any]]:
    """Specs using the keys added for Hugging Face configs, in any combination."""

    @st.composite
    def build(draw: Any) -> dict[str, Any]:
        heads = draw(st.integers(1, 4))
        arch = draw(st.sampled_from(["decoder", "encoder", "encoder-decoder"]))
        layers = draw(st.integers(1, 5))
        spec: dict[str, Any] = {
            "family": "transformer",
            "architecture": arch,
            "n_layers": layers,
            "d_model": heads * draw(st.integers(1, 8)),
            "n_heads": heads,
            "d_ff": draw(st.integers(1, 40)),
            "vocab_size": draw(st.integers(1, 300)),
            "mlp": draw(st.sampled_from(["gelu", "swiglu"])),
            "norm": draw(st.sampled_from(["layernorm", "rmsnorm", "nonparametric"])),
            "bias": draw(st.booleans()),
        }
        for key in (
            "o_bias", "mlp_bias", "lm_head_bias", "parallel_block", "post_norms", "qk_norm",
            "final_norm", "embedding_norm", "pooler", "tie_embeddings",
        ):  # fmt: skip
            if draw(st.booleans()):
                spec[key] = draw(st.booleans())
        if draw(st.booleans()):
            spec.update(positional="learned", max_seq_len=draw(st.integers(1, 50)))
            spec["position_offset"] = draw(st.integers(0, 3))
        for key, top in (("type_vocab_size", 3), ("relative_attention_buckets", 8)):
            if draw(st.booleans()):
                spec[key] = draw(st.integers(0, top))
        if draw(st.booleans()):
            spec["d_embed"] = draw(st.integers(1, 16))
        if draw(st.booleans()):
            spec["n_unique_layers"] = draw(st.integers(1, layers))
        if draw(st.booleans()):
            experts = draw(st.integers(1, 6))
            spec["moe"] = {
                "n_experts": experts,
                "top_k": draw(st.integers(1, experts)),
                "n_shared_experts": draw(st.integers(0, 2)),
                "shared_expert_gate": draw(st.booleans()),
                "first_dense_layers": draw(st.integers(0, spec.get("n_unique_layers", layers))),
            }
            if draw(st.booleans()):
                spec["moe"]["d_ff_shared"] = draw(st.integers(1, 30))
        if draw(st.booleans()):
            spec["mla"] = {
                "q_lora_rank": draw(st.integers(0, 6)),
                "kv_lora_rank": draw(st.integers(1, 6)),
                "qk_rope_head_dim": draw(st.integers(1, 4)),
                "qk_nope_head_dim": draw(st.integers(1, 4)),
                "v_head_dim": draw(st.integers(1, 4)),
            }
        return spec

    return build()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(spec=_extended_spec())
def test_formula_law_holds_with_the_new_keys(tmp_path: Path, spec: dict[str, Any]) -> None:
    from tests.helpers import write_spec

    loaded = archcalc.load_spec(write_spec(tmp_path, spec))
    count = archcalc.count(loaded)
    formula = archcalc.formula(loaded)
    assert formula.substitute(formula.total) == count.total_params
    assert formula.substitute(formula.active) == count.active_params
    assert 0 <= count.active_params <= count.total_params


def test_new_keys_at_their_defaults_change_nothing(tmp_path: Path) -> None:
    """Existing specs keep their counts: every added key defaults to 'off'."""
    from tests.helpers import EXAMPLES, write_spec

    base = archcalc.count(archcalc.load_spec(EXAMPLES / "mixtral-8x7b.yaml")).total_params
    text = (EXAMPLES / "mixtral-8x7b.yaml").read_text()
    spec = archcalc.yamlsafe.load_text(text, "m.yaml").data
    spec.update(
        parallel_block=False, post_norms=False, qk_norm=False, final_norm=True,
        embedding_norm=False, position_offset=0, type_vocab_size=0, pooler=False,
        relative_attention_buckets=0, lm_head_bias=False, o_bias=False, mlp_bias=False,
    )  # fmt: skip
    spec["moe"].update(first_dense_layers=0, shared_expert_gate=False)
    assert archcalc.count(archcalc.load_spec(write_spec(tmp_path, spec))).total_params == base


def test_layer_sharing_cannot_exceed_the_layers(tmp_path: Path) -> None:
    from tests.helpers import write_spec

    spec = {"family": "transformer", "n_layers": 2, "d_model": 8, "n_heads": 2, "d_ff": 8}
    spec.update(vocab_size=10, n_unique_layers=3)
    with pytest.raises(SpecError, match=r"n_unique_layers \(3\) cannot exceed"):
        archcalc.load_spec(write_spec(tmp_path, spec))
    spec.update(n_layers=4, n_unique_layers=1, moe={"n_experts": 2, "top_k": 1})
    spec["moe"]["first_dense_layers"] = 2
    with pytest.raises(SpecError, match=r"first_dense_layers \(2\) cannot exceed the distinct"):
        archcalc.load_spec(write_spec(tmp_path, spec))


# --------------------------------------------------------------------------- hostile input

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**6) | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
_config_keys = st.sampled_from(
    [
        "hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
        "intermediate_size", "vocab_size", "head_dim", "tie_word_embeddings", "n_embd",
        "n_layer", "n_head", "n_inner", "d_model", "num_layers", "num_heads", "d_kv", "d_ff",
        "q_lora_rank", "num_local_experts", "num_experts_per_tok", "encoder_layers",
        "embedding_size", "feed_forward_proj", "is_gated_act", "attention_bias", "dim",
    ]
)  # fmt: skip


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    model_type=st.sampled_from(hf.supported_model_types()),
    base=st.sampled_from(CONFIGS),
    changes=st.dictionaries(_config_keys, _json_values | st.integers(0, 64), max_size=4),
)
def test_any_config_is_a_count_or_located_errors(
    tmp_path: Path, model_type: str, base: str, changes: dict[str, Any]
) -> None:
    """Whatever the values, the result is a count or SpecError: never another exception."""
    config = json.loads((HF / f"{base}.json").read_text())
    config.update(changes, model_type=model_type)
    path = _write(tmp_path, config)
    try:
        result = archcalc.count(archcalc.load_spec(path))
    except SpecError as exc:
        assert exc.diagnostics and all(d.line >= 1 and d.column >= 1 for d in exc.diagnostics)
    else:
        assert result.total_params >= result.active_params >= 0


@settings(max_examples=150, deadline=None)
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_arbitrary_bytes_never_escape_as_another_exception(raw: bytes) -> None:
    try:
        hf.parse_config(raw, "config.json")
    except SpecError as exc:
        assert exc.diagnostics[0].file == "config.json"


def test_a_json_file_holding_an_archcalc_spec_is_a_spec(tmp_path: Path) -> None:
    spec = {"family": "transformer", "n_layers": 2, "d_model": 8, "n_heads": 2, "d_ff": 16}
    path = _write(tmp_path, {**spec, "vocab_size": 10}, "spec.json")
    assert _counts(path)[0] == 10 * 8 * 2 + 2 * (4 * 8 * 8 + 3 * 8 * 16 + 2 * 8) + 8


def test_a_config_written_as_yaml_is_read_with_its_marks(tmp_path: Path) -> None:
    text = "model_type: llama\nhidden_size: 64\nnum_hidden_layers: 2\nnum_attention_heads: 4\n"
    path = tmp_path / "config.yaml"
    path.write_text(text + "num_key_value_heads: 3\nintermediate_size: 128\nvocab_size: 100\n")
    with pytest.raises(SpecError) as info:
        archcalc.load_spec(path, display="config.yaml")
    assert info.value.diagnostics[0].format().startswith("config.yaml:5:22: error: n_kv_heads (3)")
    path.write_text(text + "intermediate_size: 128\nvocab_size: 100\n")
    assert _counts(path)[0] == 2 * 100 * 64 + 2 * (4 * 64 * 64 + 3 * 64 * 128 + 2 * 64) + 64


# --------------------------------------------------------------------------- HF habits


@pytest.mark.parametrize(
    ("name_or_path", "expected"),
    [
        ("meta-llama/Llama-3.2-1B", "meta-llama/Llama-3.2-1B"),
        ("gpt2", "gpt2"),
        ("/home/me/models/my-llama/", "my-llama"),
        ("./checkpoints/run-7", "run-7"),
    ],
)
def test_a_config_is_named_after_its_name_or_path(
    tmp_path: Path, name_or_path: str, expected: str
) -> None:
    config = {**json.loads((HF / "llama-3.2-1b.json").read_text()), "_name_or_path": name_or_path}
    path = _write(tmp_path, config)
    assert _count_cli(path)["name"] == expected
    result = runner.invoke(app, ["count", str(path)])
    assert result.stdout.splitlines()[0].startswith(f"{expected}  (transformer, ")
    imported = runner.invoke(app, ["import-hf", str(path)])
    assert f"name: {expected}" in imported.stdout


def test_a_config_json_without_a_name_is_named_after_its_folder(tmp_path: Path) -> None:
    config = json.loads((HF / "gpt2.json").read_text())
    config.pop("_name_or_path", None)
    folder = tmp_path / "my-gpt2"
    folder.mkdir()
    assert _count_cli(_write(folder, config))["name"] == "my-gpt2"
    assert _count_cli(_write(tmp_path, config, "tiny.json"))["name"] == "tiny"


def test_set_accepts_the_configs_own_key_names() -> None:
    """--set num_hidden_layers=48 is the config with 48 layers, as --set n_layers=48 is."""
    path = HF / "meta-llama-3-8b.json"
    by_hf = archcalc.count(archcalc.load_spec(path, ["num_hidden_layers=48"]))
    by_spec = archcalc.count(archcalc.load_spec(path, ["n_layers=48"]))
    assert (
        by_hf.total_params
        == by_spec.total_params
        > hf_reference()["configs"]["meta-llama-3-8b"]["total_params"]
    )


def test_set_on_a_config_key_is_the_changed_config(tmp_path: Path) -> None:
    """A key with no spec field of its own (tying, dense layers) changes what it changes."""
    config = json.loads((HF / "qwen3-30b-a3b.json").read_text())
    changed = _counts(_write(tmp_path, {**config, "mlp_only_layers": [0, 1]}))
    via_set = archcalc.count(
        archcalc.load_spec(HF / "qwen3-30b-a3b.json", ["mlp_only_layers=[0, 1]"])
    )
    assert (via_set.total_params, via_set.active_params) == changed
    assert changed[0] < hf_reference()["configs"]["qwen3-30b-a3b"]["total_params"]
    untied = archcalc.load_spec(HF / "gpt2.json", ["tie_word_embeddings=false"])
    assert (
        archcalc.count(untied).total_params
        == _counts(
            _write(
                tmp_path,
                {**json.loads((HF / "gpt2.json").read_text()), "tie_word_embeddings": False},
            )
        )[0]
    )


def test_set_with_an_unknown_key_is_a_usage_error_with_a_hint() -> None:
    result = runner.invoke(app, ["count", str(HF / "gpt2.json"), "--set", "n_layr=3"])
    assert result.exit_code == 2
    assert "--set n_layr: neither a field of family transformer nor a key gpt2 configs have" in (
        result.stderr
    )
    assert "did you mean 'n_layer'?" in result.stderr


def test_explicit_config_values_are_never_reported_as_defaults(tmp_path: Path) -> None:
    """Only keys the config leaves out (or sets to null) are "defaults used"."""
    qwen3 = _count_cli(HF / "qwen3-0.6b.json")  # gives head_dim: 128 and attention_bias
    assert not {"d_head", "head_dim", "qkv_bias", "attention_bias"} & set(qwen3["defaults_used"])
    for name in CONFIGS:
        config = json.loads((HF / f"{name}.json").read_text())
        given = {k for k, v in config.items() if v is not None}
        assert not set(_count_cli(HF / f"{name}.json")["defaults_used"]) & given, name
    llama = json.loads((HF / "meta-llama-3-8b.json").read_text())
    llama.pop("tie_word_embeddings", None)
    shown = _count_cli(_write(tmp_path, llama))["defaults_used"]
    assert str(shown["tie_word_embeddings"]).lower() == "false"
