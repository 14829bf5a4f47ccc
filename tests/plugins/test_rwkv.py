"""RWKV-4 configs read as transformer specs (``mixer: rwkv``, ``mlp: rwkv``), and the
``family: rwkv`` of earlier releases refused with what to write instead.

Exactness against transformers is measured elsewhere: the default RwkvConfig and every
key of it changed one at a time (tests/test_hf_coverage.py replays
reference/hf_coverage.py), the spec tests/data/specs/rwkv-small.yaml (reference case
``rwkv-small``), and a tiny saved checkpoint, name by name
(tests/cli/test_check_checkpoints.py, case ``rwkv``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import archcalc
from archcalc import sizes
from archcalc.check import spec_tensors
from archcalc.errors import SpecError
from archcalc.tensors import tensors_of
from tests.helpers import ROOT, write_spec

CONFIG = {"model_type": "rwkv", "num_hidden_layers": 2, "hidden_size": 32, "vocab_size": 64}


def _config(tmp_path: Path, name: str = "config.json", **keys: Any) -> archcalc.Spec:
    path = tmp_path / name
    path.write_text(json.dumps({**CONFIG, **keys}), encoding="utf-8")
    return archcalc.load_spec(path)


def _names(spec: archcalc.Spec) -> list[str]:
    expected, model_type = spec_tensors(spec)
    assert model_type == "rwkv"
    return [e.tensor.name for e in expected]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    layers=st.integers(1, 64),
    width=st.integers(1, 4096),
    attention=st.none() | st.integers(1, 4096),
    ff=st.none() | st.integers(1, 16_384),
    tie=st.booleans(),
)
def test_a_config_counts_as_the_transformer_spec_the_readme_describes(
    tmp_path: Path, layers: int, width: int, attention: int | None, ff: int | None, tie: bool
) -> None:
    config = {"num_hidden_layers": layers, "hidden_size": width, "tie_word_embeddings": tie}
    config |= {"attention_hidden_size": attention, "intermediate_size": ff}
    counted = archcalc.count(_config(tmp_path, **config))
    spec = {"family": "transformer", "n_layers": layers, "d_model": width, "n_heads": 1}
    spec |= {"d_head": attention or width, "d_ff": ff or 4 * width, "vocab_size": 64}
    spec |= {"mixer": "rwkv", "mlp": "rwkv", "norm": "layernorm", "positional": "none"}
    spec |= {"embedding_norm": True, "tie_embeddings": tie}
    written = archcalc.load_spec(write_spec(tmp_path, spec))
    assert counted.total_params == archcalc.count(written).total_params
    formula = archcalc.formula(written)
    assert formula.substitute(formula.total) == counted.total_params


def test_a_null_width_takes_transformers_default(tmp_path: Path) -> None:
    nulls = _config(tmp_path, "a.json", attention_hidden_size=None, intermediate_size=None)
    given = _config(tmp_path, "b.json", attention_hidden_size=32, intermediate_size=128)
    assert archcalc.count(nulls).total_params == archcalc.count(given).total_params


def test_tying_drops_exactly_the_head(tmp_path: Path) -> None:
    untied = _config(tmp_path, "a.json")
    tied = _config(tmp_path, "b.json", tie_word_embeddings=True)
    assert archcalc.count(untied).total_params - archcalc.count(tied).total_params == 64 * 32
    assert "head.weight" in _names(untied) and "head.weight" not in _names(tied)


def test_tensors_carry_transformers_names_and_only_block_0_norms_the_embeddings(
    tmp_path: Path,
) -> None:
    names = _names(_config(tmp_path))
    assert [n for n in names if "pre_ln" in n] == [
        "rwkv.blocks.0.pre_ln.weight",
        "rwkv.blocks.0.pre_ln.bias",
    ]
    assert {"rwkv.embeddings.weight", "rwkv.ln_out.weight", "rwkv.blocks.1.ln2.bias"} <= set(names)
    assert all(n.startswith("rwkv.blocks.") for n in names if ".attention." in n)


def test_a_config_has_flops_and_no_kv_cache(tmp_path: Path) -> None:
    """Read as a transformer, a config gets ``archcalc size``: the recurrence keeps a state,
    never a cache that grows with the sequence."""
    result = sizes.sizes(_config(tmp_path), seq_len=16)
    assert result.compute is not None
    assert result.compute.kv_elements_per_token == 0
    # every matmul weight twice per token (2·m·n·k), the LM head included
    matmuls = sum(t.numel for t in tensors_of(_config(tmp_path)) if len(t.shape) == 2)
    embeddings = 64 * 32
    assert result.compute.flops_per_sequence == 16 * 2 * (matmuls - embeddings)


def test_a_family_rwkv_spec_is_refused_at_its_family_with_what_to_write(tmp_path: Path) -> None:
    old = {"name": "old", "family": "rwkv", "n_layers": 2, "d_model": 32, "vocab_size": 64}
    with pytest.raises(SpecError) as info:
        archcalc.load_spec(write_spec(tmp_path, old))
    (problem,) = info.value.diagnostics
    assert (problem.line, problem.column, problem.code) == (2, 9, "S206")
    said = ["family: transformer", "mixer: rwkv", "mlp: rwkv", "n_heads: 1", "norm: layernorm"]
    said += ["positional: none", "embedding_norm: true", "4 × d_model if it was left out"]
    assert all(s in problem.message for s in said)
    # what it says to write counts what the config of the same model counts
    new = {**old, "family": "transformer", "n_heads": 1, "d_ff": 4 * 32, "mixer": "rwkv"}
    new |= {"mlp": "rwkv", "norm": "layernorm", "positional": "none", "embedding_norm": True}
    spec = archcalc.load_spec(write_spec(tmp_path, new, "new.yaml"))
    assert archcalc.count(spec).total_params == archcalc.count(_config(tmp_path)).total_params


def test_the_readme_example_counts_what_it_says(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("name: rwkv-4-169m")
    path = tmp_path / "rwkv.yaml"
    path.write_text(readme[start : readme.index("```", start)], encoding="utf-8")
    total = archcalc.count(archcalc.load_spec(path)).total_params
    assert f"`archcalc count` gives {total:,} parameters" in readme
