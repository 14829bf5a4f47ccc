"""The encoder and encoder-decoder translators of plugins/transformer_hf_encoders.py.

Their default configs and every key changed one at a time are replayed from
tests/data/reference/hf_coverage.json by tests/test_hf_coverage.py; here: the combinations
a single-key change never reaches (the configs of reference/transformer_counts.py's cases,
counted there by transformers) and the variants archcalc cannot say, each one located
error naming the key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from archcalc.plugins.transformer_hf_encoders import DECODERS, ENCODERS, SEQ2SEQ

import archcalc
from archcalc.errors import SpecError
from tests.helpers import DATA, reference

DEFAULTS: dict[str, dict[str, Any]] = json.loads(
    (DATA / "reference" / "hf_coverage.json").read_text(encoding="utf-8")
)["defaults"]

#: reference/transformer_counts.py's cases built from a config of a type read here.
READ_HERE = {*ENCODERS, *DECODERS, *SEQ2SEQ}
CASES = sorted(name for name, case in reference().items() if case["model_type"] in READ_HERE)


def _write(tmp_path: Path, config: dict[str, Any]) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config, indent=1), encoding="utf-8")
    return path


def _errors(tmp_path: Path, model_type: str, **changes: Any) -> list[str]:
    path = _write(tmp_path, {**DEFAULTS[model_type], **changes})
    with pytest.raises(SpecError) as info:
        archcalc.load_spec(path, display="config.json")
    return [d.format() for d in info.value.diagnostics]


def test_the_reference_cases_cover_the_new_types() -> None:
    assert {"deberta-small", "gte-small", "ernie-task-type"} <= set(CASES)


@pytest.mark.parametrize("name", CASES)
def test_a_reference_cases_config_counts_what_transformers_built(tmp_path: Path, name: str) -> None:
    case = reference()[name]
    path = _write(tmp_path, {"model_type": case["model_type"], **case["config"]})
    assert archcalc.count(archcalc.load_spec(path)).total_params == case["total_params"]


@pytest.mark.parametrize(
    ("model_type", "changes", "message"),
    [
        ("deberta", {"talking_head": True}, "talking_head (head mixing projections)"),
        ("deberta", {"embedding_size": 128}, "an embedding_size other than hidden_size"),
        ("deberta", {"embedding_size": None}, "'embedding_size' is null"),
        ("deberta-v2", {"embedding_size": None}, "'embedding_size' is null"),
        ("gte", {"head_dim": None}, "'head_dim' is null"),
        ("ernie", {"use_task_id": True, "task_type_vocab_size": 0}, "'task_type_vocab_size'"),
    ],
)
def test_what_cannot_be_said_is_one_located_error(
    tmp_path: Path, model_type: str, changes: dict[str, Any], message: str
) -> None:
    errors = _errors(tmp_path, model_type, **changes)
    assert len(errors) == 1 and message in errors[0], errors
    assert errors[0].startswith("config.json:") and ":1:1:" not in errors[0]
