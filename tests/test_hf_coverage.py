"""Coverage of Hugging Face model types, pinned: what reference/hf_coverage.py measured.

``tests/data/reference/hf_coverage.json`` holds, for every text model type of
transformers with a causal-LM, masked-LM or seq2seq class, the parameter count of its
default config (built on the meta device) and archcalc's verdict; and, for every type
archcalc counts, every single-key change of that default config whose count differs or
that archcalc refuses. These tests replay them without torch.
"""

from __future__ import annotations

import json
import sys
from functools import cache
from typing import Any

import pytest

from archcalc import api, hf
from archcalc.errors import SpecError
from tests.helpers import DATA

ROOT = DATA.parent.parent
sys.path.insert(0, str(ROOT / "reference"))
import hf_coverage  # noqa: E402


@cache
def coverage() -> dict[str, Any]:
    return json.loads((DATA / "reference" / "hf_coverage.json").read_text(encoding="utf-8"))


def builtin(model_type: str) -> bool:
    return coverage()["types"][model_type].get("owner", "").startswith("archcalc.plugins.")


EXACT = sorted(t for t in coverage()["defaults"] if builtin(t))
ROWS = [
    (t, i)
    for t, rows in sorted(coverage().get("perturbations", {}).get("rows", {}).items())
    if builtin(t)
    for i, row in enumerate(rows)
    if row["outcome"] in ("exact", "refused")
]


def count(config: dict[str, Any]) -> tuple[int, int]:
    parsed = hf.parse_config(json.dumps(config, indent=1).encode(), "config.json")
    result = api.count(api.check_document(hf.to_document(parsed, hf.translate(parsed))))
    return result.total_params, result.active_params


def test_every_model_type_archcalc_reads_is_measured_and_exact() -> None:
    """A translator no coverage run has checked is a guess: none may ship."""
    exact = {t for t, e in coverage()["types"].items() if e["status"] == "exact"}
    assert set(hf.supported_model_types()) <= exact


def test_nothing_is_wrong() -> None:
    types = coverage()["types"]
    assert not [t for t, e in types.items() if e["status"] in ("wrong", "archcalc-failure")]
    assert not [p for p in coverage()["perturbations"]["problems"] if p["outcome"] == "wrong"]


@pytest.mark.parametrize("model_type", EXACT)
def test_default_config_counts_exactly(model_type: str) -> None:
    reference = coverage()["types"][model_type]["reference"]
    assert count(coverage()["defaults"][model_type]) == (
        reference["total_params"],
        reference["active_params"],
    )


@pytest.mark.parametrize(("model_type", "row"), ROWS, ids=[f"{t}-{i}" for t, i in ROWS])
def test_changed_key_counts_exactly_or_is_refused(model_type: str, row: int) -> None:
    """Each key of a default config changed (or left out; or all those whose absence alone
    was exact left out together): exact, or a located refusal."""
    entry = coverage()["perturbations"]["rows"][model_type][row]
    config = dict(coverage()["defaults"][model_type])
    if entry["key"] == hf_coverage.CLASS_DEFAULTS:  # every key whose removal was exact
        config = {k: v for k, v in config.items() if k not in entry["removed"]}
    elif entry["value"] == hf_coverage.REMOVED:
        config.pop(entry["key"])
    else:
        config.pop(entry.get("instead_of", ""), None)  # a change made through an alias
        config[entry["key"]] = entry["value"]
    if entry["outcome"] == "exact":
        assert count(config) == (entry["total_params"], entry["active_params"])
        return
    with pytest.raises(SpecError) as refused:
        count(config)
    assert refused.value.diagnostics[0].line >= 1


def test_the_readme_table_is_the_measured_one() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("<!-- hf-coverage:start -->") + len("<!-- hf-coverage:start -->")
    end = readme.index("<!-- hf-coverage:end -->")
    assert readme[start:end].strip() == hf_coverage.table(coverage()).strip()
