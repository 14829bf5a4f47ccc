"""archcalc-lora, installed: trainable and total parameters exactly as peft's
``get_nb_trainable_parameters()`` reports them (tests/data/reference.json, written by
reference/counts.py on the meta device), through the library and the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

import archcalc
import archcalc.api
from archcalc.cli import app

HERE = Path(__file__).resolve().parent
CASES: dict[str, Any] = json.loads((HERE / "data" / "reference.json").read_text())["cases"]
EXAMPLES = HERE.parent / "examples"
runner = CliRunner()


@pytest.fixture(autouse=True)
def _autoload(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Installed plugins load through entry points: make sure autoloading is on."""
    monkeypatch.delenv("ARCHCALC_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    archcalc.api._default_registry = None
    yield
    archcalc.api._default_registry = None


def write_spec(tmp_path: Path, spec: dict[str, Any], name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def test_entry_point_registers_the_family() -> None:
    rows = {r["name"]: r for r in json.loads(runner.invoke(app, ["plugins", "--json"]).stdout)}
    assert rows["lora"]["families"] == ["transformer-lora"]
    assert rows["lora"]["source"] == "entry point of archcalc-lora"


@pytest.mark.parametrize("case", sorted(CASES))
def test_counts_match_peft(case: str, tmp_path: Path) -> None:
    reference = CASES[case]
    result = runner.invoke(app, ["count", str(write_spec(tmp_path, reference["spec"])), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["trainable_params"] == reference["trainable_params"]
    if reference["compare_total"]:
        assert data["total_params"] == reference["total_params"]
    adapters = next(p for p in data["parts"] if p["name"] == "lora adapters")
    assert data["total_params"] - adapters["params"] == _base_total(tmp_path, reference["spec"])


def _base_total(tmp_path: Path, spec: dict[str, Any]) -> int:
    """The same architecture as a plain transformer spec: adapters are all that is added."""
    base = {k: v for k, v in spec.items() if k != "lora"} | {"family": "transformer"}
    return archcalc.count(archcalc.load_spec(write_spec(tmp_path, base, "base.yaml"))).total_params


def test_total_of_shared_expert_case_differs_only_by_the_unmodelled_gate(tmp_path: Path) -> None:
    """Qwen2-MoE has a d_model × 1 shared_expert_gate per layer that the transformer family
    does not model; everything else agrees."""
    reference = CASES["qwen2-moe-shared-experts"]
    spec = archcalc.load_spec(write_spec(tmp_path, reference["spec"]))
    gap = reference["total_params"] - archcalc.count(spec).total_params
    assert gap == reference["spec"]["n_layers"] * reference["spec"]["d_model"]


def test_trainable_formula_is_linear_in_rank(tmp_path: Path) -> None:
    spec = archcalc.load_spec(write_spec(tmp_path, CASES["llama-3-8b-qv-r16"]["spec"]))
    rank8 = archcalc.load_spec(spec.file, overrides=["lora.rank=8"])
    trainable = [int(archcalc.count(s).breakdown.extras["trainable_params"]) for s in (spec, rank8)]
    assert trainable[0] == 2 * trainable[1] == CASES["llama-3-8b-qv-r16"]["trainable_params"]
    formula = archcalc.formula(spec)
    assert "rank" in {str(s) for s in formula.total.free_symbols}


def test_example_counts_through_the_cli() -> None:
    result = runner.invoke(app, ["count", str(EXAMPLES / "llama-3-8b-lora.yaml")])
    assert result.exit_code == 0, result.output
    assert "lora adapters" in result.stdout and "trainable params: 13,631,488" in result.stdout


def test_unreachable_targets_warn(tmp_path: Path) -> None:
    path = write_spec(tmp_path, CASES["mixtral-mlp-targets-ignored"]["spec"])
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0
    assert result.stdout.count("warning: target") == 3
    assert "target 'gate_proj' has no effect: routed experts are fused" in result.stdout


@pytest.mark.parametrize(
    ("lora", "message"),
    [
        ({"rank": 8, "target_modules": ["q_proj", "qv_proj"]}, "qv_proj"),
        ({"rank": 8, "bias": "some"}, "bias"),
        ({"rank": 0}, "rank"),
        ({"alpha": 16}, "missing required key 'rank'"),
        ({"rank": 8, "dropout": 0.1}, "unknown key 'dropout'"),
    ],
)
def test_bad_lora_settings_are_located(tmp_path: Path, lora: dict[str, Any], message: str) -> None:
    spec = {**CASES["llama-3-8b-qv-r16"]["spec"], "lora": lora}
    path = write_spec(tmp_path, spec)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1, result.output
    line = next(x for x in result.stdout.splitlines() if message in x)
    assert line.startswith(f"{path}:") and ": error: " in line


def test_missing_lora_mapping_is_an_error(tmp_path: Path) -> None:
    spec = {k: v for k, v in CASES["llama-3-8b-qv-r16"]["spec"].items() if k != "lora"}
    result = runner.invoke(app, ["validate", str(write_spec(tmp_path, spec))])
    assert result.exit_code == 1 and "missing required key 'lora'" in result.stdout


def test_encoder_is_refused(tmp_path: Path) -> None:
    spec = {**CASES["llama-3-8b-qv-r16"]["spec"], "architecture": "encoder"}
    result = runner.invoke(app, ["validate", str(write_spec(tmp_path, spec))])
    assert result.exit_code == 1 and "transformer-lora counts decoder models" in result.stdout


@pytest.mark.parametrize("case", ["llama-3-8b-all-r8", "qwen2-qkv-bias-all", "llama-biases-all"])
def test_trainable_formula_substitutes_to_the_count(case: str, tmp_path: Path) -> None:
    import sympy

    path = write_spec(tmp_path, CASES[case]["spec"])
    result = runner.invoke(app, ["formula", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    names = {k: sympy.Symbol(k) for k in data["symbols"]}
    values = {names[k]: sympy.Rational(v) for k, v in data["symbols"].items()}
    trainable = sympy.parse_expr(data["extras"]["trainable_params"], local_dict=names)
    assert "rank" in {str(s) for s in trainable.free_symbols}
    assert trainable.subs(values) == CASES[case]["trainable_params"]
    total = sympy.parse_expr(data["formula"], local_dict=names)
    assert total.subs(values) == data["total_params"]


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ({"mixer": "mamba2", "mamba": {"d_state": 16}}, "mixer"),
        ({"cross_attention": True}, "cross_attention"),
        ({"o_bias": True}, "o_bias"),
        ({"mlp": "none"}, "mlp"),
    ],
)
def test_transformer_keys_lora_does_not_model_are_refused(
    tmp_path: Path, extra: dict[str, Any], key: str
) -> None:
    spec = {**CASES["llama-3-8b-qv-r16"]["spec"], **extra}
    with pytest.raises(archcalc.SpecError) as info:
        archcalc.load_spec(write_spec(tmp_path, spec))
    assert any(
        f"transformer-lora does not model '{key}'" in d.message for d in info.value.diagnostics
    )
