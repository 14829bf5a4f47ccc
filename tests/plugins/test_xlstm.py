"""family: xlstm — xLSTMForCausalLM's tensors, one formula for counts, symbols and tensors.

Exactness against transformers is measured elsewhere: the default xLSTMConfig and every
key of it changed one at a time (tests/test_hf_coverage.py replays
reference/hf_coverage.py), and a tiny saved checkpoint, name by name
(tests/cli/test_check_checkpoints.py, case ``xlstm``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import archcalc
from archcalc.errors import SpecError
from archcalc.tensors import tensors_of, total_numel
from tests.helpers import write_spec

BASE = {"family": "xlstm", "n_layers": 2, "d_model": 64, "vocab_size": 64, "mlstm_heads": 4}
BASE["d_up"] = 192


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    layers=st.integers(1, 64),
    heads=st.integers(1, 16),
    head_width=st.integers(1, 256),
    ff=st.integers(1, 16_384),
    embed=st.none() | st.integers(1, 4096),
    bias=st.booleans(),
)
def test_formula_count_and_tensors_agree_fused_or_not(
    tmp_path: Path,
    layers: int,
    heads: int,
    head_width: int,
    ff: int,
    embed: int | None,
    bias: bool,
) -> None:
    spec_dict = {
        **BASE,
        "n_layers": layers,
        "mlstm_heads": heads,
        "d_model": 2 * heads * head_width,
    }
    spec_dict.update(d_up=ff, bias=bias)
    if embed is not None:
        spec_dict["d_embed"] = embed
    totals = set()
    for fused in (False, True):
        spec = archcalc.load_spec(write_spec(tmp_path, {**spec_dict, "fused": fused}))
        total = archcalc.count(spec).total_params
        formula = archcalc.formula(spec)
        assert formula.substitute(formula.total) == total
        if layers <= 8:
            assert total_numel(tensors_of(spec)) == total
        totals.add(total)
    assert len(totals) == 1  # fusing renames, it never changes the count


def test_fused_projections_have_their_own_names(tmp_path: Path) -> None:
    spec = archcalc.load_spec(write_spec(tmp_path, {**BASE, "fused": True}))
    names = {t.name.removeprefix("backbone.blocks.0.") for t in tensors_of(spec)}
    assert {"mlstm_layer.qkv_opreact.weight", "ffn.proj_up_gate_z.weight"} <= names
    assert "mlstm_layer.q.weight" not in names


def test_heads_that_do_not_divide_a_width_are_a_warning(tmp_path: Path) -> None:
    path = write_spec(tmp_path, {**BASE, "mlstm_heads": 5})
    warnings = archcalc.load_spec(path).warnings
    assert [w.line for w in warnings] == [3, 3]  # at d_model: d_qk and d_v derive from it
    assert all("mlstm_heads (5) does not divide" in w.message for w in warnings)


def _config(tmp_path: Path, **keys: object) -> Path:
    config = {"model_type": "xlstm", "num_blocks": 2, "hidden_size": 64, "vocab_size": 64}
    config["num_heads"] = 4
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**config, **keys}))
    return path


@pytest.mark.parametrize(
    ("keys", "where", "expected"),
    [
        ({"weight_mode": "split"}, "weight_mode", "'weight_mode' must be 'single' or 'fused'"),
        ({"qk_dim_factor": "half"}, "qk_dim_factor", "'qk_dim_factor' must be a positive number"),
        ({"ffn_proj_factor": 0}, "ffn_proj_factor", "'ffn_proj_factor' must be a positive"),
        ({"v_dim_factor": 0.001}, "v_dim_factor", "the derived value width"),
    ],
)
def test_config_keys_that_shape_nothing_countable_are_located(
    tmp_path: Path, keys: dict[str, object], where: str, expected: str
) -> None:
    path = _config(tmp_path, **keys)
    with pytest.raises(SpecError) as info:
        archcalc.load_spec(path)
    (problem,) = info.value.diagnostics
    assert expected in problem.message
    assert problem.column > 1 and where in path.read_text()


def test_num_blocks_is_what_is_built(tmp_path: Path) -> None:
    """xLSTMModel builds num_blocks blocks; num_hidden_layers only fills it when absent."""
    both = archcalc.count(archcalc.load_spec(_config(tmp_path, num_hidden_layers=7)))
    spec = archcalc.load_spec(write_spec(tmp_path, {**BASE, "d_qk": 32}))
    assert both.total_params == archcalc.count(spec).total_params
