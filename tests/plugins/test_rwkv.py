"""family: rwkv — RwkvForCausalLM's tensors, one formula for counts, symbols and tensors.

Exactness against transformers is measured elsewhere: the default RwkvConfig and every
key of it changed one at a time (tests/test_hf_coverage.py replays
reference/hf_coverage.py), and a tiny saved checkpoint, name by name
(tests/cli/test_check_checkpoints.py, case ``rwkv``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import archcalc
from archcalc.errors import SpecError
from archcalc.tensors import tensors_of, total_numel
from tests.helpers import write_spec

BASE = {"family": "rwkv", "n_layers": 2, "d_model": 32, "vocab_size": 64}


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    layers=st.integers(1, 64),
    width=st.integers(1, 4096),
    vocab=st.integers(1, 70_000),
    attention=st.none() | st.integers(1, 4096),
    ff=st.none() | st.integers(1, 16_384),
    tie=st.booleans(),
)
def test_formula_count_and_tensors_agree(
    tmp_path: Path,
    layers: int,
    width: int,
    vocab: int,
    attention: int | None,
    ff: int | None,
    tie: bool,
) -> None:
    spec_dict = {**BASE, "n_layers": layers, "d_model": width, "vocab_size": vocab}
    spec_dict["tie_embeddings"] = tie
    if attention is not None:
        spec_dict["d_attention"] = attention
    if ff is not None:
        spec_dict["d_ff"] = ff
    spec = archcalc.load_spec(write_spec(tmp_path, spec_dict))
    total = archcalc.count(spec).total_params
    formula = archcalc.formula(spec)
    assert formula.substitute(formula.total) == total
    if layers <= 8:
        assert total_numel(tensors_of(spec)) == total


def test_tying_drops_exactly_the_head(tmp_path: Path) -> None:
    untied = archcalc.count(archcalc.load_spec(write_spec(tmp_path, BASE, "a.yaml")))
    tied = archcalc.load_spec(write_spec(tmp_path, {**BASE, "tie_embeddings": True}, "b.yaml"))
    assert untied.total_params - archcalc.count(tied).total_params == 64 * 32
    assert "head.weight" not in {t.name for t in tensors_of(tied)}


def test_only_the_first_block_norms_the_embeddings(tmp_path: Path) -> None:
    names = [t.name for t in tensors_of(archcalc.load_spec(write_spec(tmp_path, BASE)))]
    assert [n for n in names if "pre_ln" in n] == [
        "rwkv.blocks.0.pre_ln.weight",
        "rwkv.blocks.0.pre_ln.bias",
    ]


def test_listing_too_many_blocks_is_refused_at_n_layers(tmp_path: Path) -> None:
    path = write_spec(tmp_path, {**BASE, "n_layers": 60_000})
    spec = archcalc.load_spec(path)
    assert archcalc.count(spec).total_params > 0  # counting multiplies, it never unrolls
    with pytest.raises(SpecError) as info:
        tensors_of(spec)
    (problem,) = info.value.diagnostics
    assert problem.line == 2 and "too much" in problem.message


def test_a_null_width_in_a_config_takes_transformers_default(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        '{"model_type": "rwkv", "num_hidden_layers": 2, "hidden_size": 32, "vocab_size": 64,'
        ' "attention_hidden_size": null, "intermediate_size": null}'
    )
    plain = archcalc.count(archcalc.load_spec(write_spec(tmp_path, BASE)))
    assert archcalc.count(archcalc.load_spec(config)).total_params == plain.total_params
