"""``archcalc.sizes``: FLOPs and KV cache pinned to FlopCounterMode, memory conventions."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from archcalc import api, sizes
from archcalc.cli import app
from tests.helpers import EXAMPLES, reference, write_spec

runner = CliRunner()
CASES = reference("flops")


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_forward_flops_and_kv_cache_equal_flopcountermode(case_id: str, tmp_path: Path) -> None:
    """reference/flops_counts.py ran each model under FlopCounterMode (LM head included)."""
    case = CASES[case_id]
    spec = api.load_spec(write_spec(tmp_path, case["spec"]))
    assert api.count(spec).total_params == case["n_params"]  # the same model was built
    result = sizes.sizes(spec, seq_len=case["seq_len"])
    assert result.compute is not None
    assert result.compute.flops_per_sequence == case["flops"]
    assert sum(f for _, f in result.compute.components) == case["flops"]
    assert result.compute.kv_elements_per_token * case["seq_len"] == case["kv_cache_elements"]


def _llama(tmp_path: Path, **extra: object) -> api.Spec:
    spec = dict(CASES["tiny-llama-gqa"]["spec"]) | extra
    return api.load_spec(write_spec(tmp_path, spec, "x.yaml"))


@given(st.integers(1, 4096))
def test_causal_masking_saves_exactly_the_masked_pairs(seq_len: int) -> None:
    spec = api.load_spec(EXAMPLES / "llama-3-8b.yaml")
    c = sizes.sizes(spec, seq_len=seq_len).compute
    assert c is not None
    q_width, layers = 32 * 128, 32
    saved = c.flops_per_sequence - c.flops_per_sequence_causal
    assert saved == layers * 2 * q_width * seq_len * (seq_len - 1)


def test_moe_counts_only_active_experts_and_the_router(tmp_path: Path) -> None:
    base = dict(CASES["tiny-mixtral-top2"]["spec"])
    four = api.load_spec(write_spec(tmp_path, base, "a.yaml"))
    five = api.load_spec(
        write_spec(tmp_path, base | {"moe": {"n_experts": 5, "top_k": 2}}, "b.yaml")
    )
    a, b = (sizes.sizes(s, seq_len=16).compute for s in (four, five))
    assert a is not None and b is not None
    # One more idle expert costs only its router column: 2·d_model FLOPs per token per layer.
    assert b.flops_per_sequence - a.flops_per_sequence == 2 * 128 * 16 * 2
    assert a.kv_elements_per_token == b.kv_elements_per_token  # MoE does not touch the cache


def test_kv_cache_is_grouped_query_aware(tmp_path: Path) -> None:
    for n_kv in (1, 2, 8):
        c = sizes.sizes(_llama(tmp_path, n_kv_heads=n_kv), seq_len=8).compute
        assert c is not None and c.kv_elements_per_token == 2 * 3 * n_kv * (256 // 8)


def test_encoders_have_no_cache_and_encoder_decoders_cache_cross_attention(tmp_path: Path) -> None:
    enc = sizes.sizes(_llama(tmp_path, architecture="encoder"), seq_len=8)
    assert enc.compute is not None and enc.compute.kv_elements_per_token is None
    assert sizes.kv_bytes_per_sequence(enc) is None
    encdec = sizes.sizes(_llama(tmp_path, architecture="encoder-decoder"), seq_len=8)
    c = encdec.compute
    assert c is not None and c.kv_elements_per_sequence_fixed == c.kv_elements_per_token * 8
    assert c.flops_per_sequence_causal < c.flops_per_sequence


@given(st.integers(1, 10**13), st.sampled_from([32, 64, 128, 1000]))
def test_weight_memory_by_dtype(n: int, group: int) -> None:
    assert sizes.weight_bytes(n, "fp32") == 4 * n
    assert sizes.weight_bytes(n, "bf16") == sizes.weight_bytes(n, "fp16") == 2 * n
    assert sizes.weight_bytes(n, "fp8") == sizes.weight_bytes(n, "int8") == n
    assert sizes.weight_bytes(n, "int4", group) == math.ceil(n / 2) + 2 * math.ceil(n / group)


@given(st.integers(1, 10**13), st.integers(1, 4096))
def test_zero_stages_shard_16_bytes_per_parameter(n: int, gpus: int) -> None:
    per_gpu = [sizes.training_bytes(n, stage, gpus) for stage in range(4)]
    assert per_gpu[0] == 16 * n
    assert per_gpu[1] == 4 * n + math.ceil(12 * n / gpus)
    assert per_gpu[2] == 2 * n + math.ceil(14 * n / gpus)
    assert per_gpu[3] == math.ceil(16 * n / gpus)
    assert per_gpu == sorted(per_gpu, reverse=True)


def test_training_compute_and_chinchilla_tokens() -> None:
    spec = api.load_spec(EXAMPLES / "mixtral-8x7b.yaml")
    result = sizes.sizes(spec, seq_len=128)
    total, active = (
        reference()["mixtral-8x7b"]["total_params"],
        reference()["mixtral-8x7b"]["active_params"],
    )
    assert result.tokens == 20 * total
    flops = sizes.training_flops(result)
    assert flops is not None and flops["six_n_d"] == 6 * active * 20 * total
    assert result.compute is not None
    assert flops["three_forward"] == math.ceil(
        3 * result.compute.flops_per_sequence * result.tokens / 128
    )


def test_cli_json_states_its_conventions_and_matches_the_library() -> None:
    path = str(EXAMPLES / "llama-3-8b.yaml")
    out = runner.invoke(app, ["size", path, "--seq-len", "4096", "--gpus", "8", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    lib = sizes.sizes(api.load_spec(path), seq_len=4096, gpus=8)
    assert data["weight_bytes"] == lib.weight_bytes
    assert data["kv_cache"]["bytes_per_token"] == 2 * 32 * 8 * 128 * 2
    assert data["forward_flops"]["per_sequence"] == lib.compute.flops_per_sequence  # type: ignore[union-attr]
    assert "2·m·n·k" in data["conventions"]["flops"]
    assert sum(data["training"]["bytes_per_param"].values()) == 16
    text = runner.invoke(app, ["size", path]).stdout
    assert "mixed-precision Adam" in text and "Chinchilla" in text and "non-causal" in text


@pytest.mark.parametrize(
    "args",
    [["--kv-dtype", "fp5"], ["--seq-len", "0"], ["--gpus", "0"], ["--tokens", "lots"]],
)
def test_cli_bad_options_exit_2(args: list[str]) -> None:
    out = runner.invoke(app, ["size", str(EXAMPLES / "gpt2-small.yaml"), *args])
    assert out.exit_code == 2, out.output
    assert "Traceback" not in out.output
