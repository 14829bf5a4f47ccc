"""archcalc-mamba, installed: the families arrive through the ``archcalc`` entry point and
count exactly what transformers builds (tests/data/reference.json, written by
reference/counts.py on the meta device)."""

from __future__ import annotations

import json
import struct
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
REFERENCE: dict[str, Any] = json.loads((HERE / "data" / "reference.json").read_text())
CASES: dict[str, Any] = REFERENCE["cases"]
LAYER_CASES: dict[str, Any] = REFERENCE["layer_cases"]
HF_CONFIGS: dict[str, Any] = REFERENCE["hf_configs"]
HF_VARIANTS: dict[str, Any] = REFERENCE["hf_variants"]
EXAMPLES = HERE.parent / "examples"
runner = CliRunner()


@pytest.fixture(autouse=True)
def _autoload(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Installed plugins load through entry points: make sure autoloading is on."""
    monkeypatch.delenv("ARCHCALC_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    archcalc.api._default_registry = None
    yield
    archcalc.api._default_registry = None


def write_spec(tmp_path: Path, spec: dict[str, Any]) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def test_entry_point_registers_both_families() -> None:
    result = runner.invoke(app, ["plugins", "--json"])
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["mamba"]["families"] == ["mamba", "mamba2"]
    assert rows["mamba"]["layer_types"] == ["mamba", "mamba2"]
    assert rows["mamba"]["hf_model_types"] == ["mamba", "mamba2"]
    assert rows["mamba"]["source"] == "entry point of archcalc-mamba"
    assert rows["mamba"]["version"] == "0.1.0"


@pytest.mark.parametrize("case", sorted(CASES))
def test_count_matches_transformers(case: str, tmp_path: Path) -> None:
    reference = CASES[case]
    spec = archcalc.load_spec(write_spec(tmp_path, reference["spec"]))
    assert archcalc.count(spec).total_params == reference["total_params"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_formula_substitutes_to_the_count(case: str, tmp_path: Path) -> None:
    import sympy

    path = write_spec(tmp_path, CASES[case]["spec"])
    result = runner.invoke(app, ["formula", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # 'expand' is also a sympy function: name the symbols when parsing archcalc's output.
    names = {k: sympy.Symbol(k) for k in data["symbols"]}
    expr = sympy.parse_expr(data["formula"], local_dict=names)
    values = {names[k]: sympy.Rational(v) for k, v in data["symbols"].items()}
    assert expr.subs(values) == CASES[case]["total_params"] == data["total_params"]


def test_example_files_count_through_the_cli() -> None:
    for name in ("mamba-130m", "mamba2-130m"):
        result = runner.invoke(app, ["count", str(EXAMPLES / f"{name}.yaml"), "--json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["total_params"] == CASES[name]["total_params"]


def test_formula_of_mamba_keeps_the_structure(tmp_path: Path) -> None:
    """dt_rank defaults to ceil(d_model/16): the formula must say so, not a number."""
    path = write_spec(tmp_path, CASES["mamba-130m"]["spec"])
    data = json.loads(runner.invoke(app, ["formula", str(path), "--format", "json"]).stdout)
    assert "ceiling(d_model/16)" in data["formula"].replace(" ", "")
    assert {"d_model", "n_layers", "vocab_size", "d_state"} <= set(data["symbols"])


def line_of(path: Path, key: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, text in enumerate(lines, 1) if text.startswith(f"{key}:"))


@pytest.mark.parametrize(
    ("extra", "key", "message"),
    [
        ({"n_groups": 5}, "n_groups", "n_groups (5) must divide n_heads (24)"),
        (
            {"n_heads": 10},
            "n_heads",
            "n_heads · head_dim (10 · 64 = 640) must equal d_inner (1536)",
        ),
        ({"head_dim": 100}, "head_dim", "head_dim must divide d_inner"),
    ],
)
def test_mamba2_semantic_errors_are_located(
    tmp_path: Path, extra: dict[str, Any], key: str, message: str
) -> None:
    spec = {**CASES["mamba2-130m"]["spec"], **extra}
    path = write_spec(tmp_path, spec)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert f"{path}:{line_of(path, key)}:" in result.stdout and message in result.stdout


def test_contradictory_keys_warn(tmp_path: Path) -> None:
    spec = {**CASES["mamba-130m"]["spec"], "expand": 2, "d_inner": 1000}
    path = write_spec(tmp_path, spec)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0
    assert "warning: expand has no effect when d_inner is given" in result.stdout


def test_typo_gets_a_suggestion(tmp_path: Path) -> None:
    spec = {**CASES["mamba-130m"]["spec"], "d_stat": 16}
    result = runner.invoke(app, ["validate", str(write_spec(tmp_path, spec))])
    assert result.exit_code == 1
    assert "unknown key 'd_stat'; did you mean 'd_state'?" in result.stdout


def test_schema_lists_the_fields() -> None:
    schema = json.loads(runner.invoke(app, ["schema", "mamba2"]).stdout)
    assert {"d_state", "head_dim", "n_groups", "d_conv"} <= set(schema["properties"])


# --- the mamba layer type inside cnn specs ---------------------------------------------------


def cnn_spec(tmp_path: Path, case: dict[str, Any], layers: list[Any]) -> Path:
    return write_spec(tmp_path, {"family": "cnn", "input": case["input"], "layers": layers})


@pytest.mark.parametrize("case", sorted(LAYER_CASES))
def test_layer_matches_mamba_mixer(case: str, tmp_path: Path) -> None:
    reference = LAYER_CASES[case]
    name = reference.get("layer", "mamba")
    layer = {name: reference["args"]} if reference["args"] else name
    path = cnn_spec(tmp_path, reference, [layer])
    result = runner.invoke(app, ["count", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total_params"] == reference["total_params"]


def test_layer_keeps_the_shape_so_blocks_stack(tmp_path: Path) -> None:
    reference = LAYER_CASES["layer-defaults"]
    block = {"repeat": {"times": 4, "layers": ["mamba", {"layernorm": {}}]}}
    path = cnn_spec(tmp_path, reference, [block])
    data = json.loads(runner.invoke(app, ["count", str(path), "--json"]).stdout)
    width = reference["input"][-1]
    assert data["total_params"] == 4 * (reference["total_params"] + 2 * width)


def test_layer_errors_are_located(tmp_path: Path) -> None:
    reference = LAYER_CASES["layer-defaults"]
    path = cnn_spec(tmp_path, reference, ["flatten", {"mamba": {"d_stat": 4}}])
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert "unknown key 'd_stat'" in result.stdout and "did you mean 'd_state'?" in result.stdout
    image = write_spec(tmp_path, {"family": "cnn", "input": [3, 8, 8], "layers": ["mamba"]})
    result = runner.invoke(app, ["validate", str(image)])
    assert result.exit_code == 1 and "mamba): expects a 2-D input" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"head_dim": 100}, "head_dim (100) must divide expand · width (1536)"),
        ({"n_groups": 5}, "n_groups (5) must divide the number of heads (24)"),
    ],
)
def test_mamba2_layer_checks(tmp_path: Path, args: dict[str, Any], message: str) -> None:
    path = cnn_spec(tmp_path, LAYER_CASES["layer2-defaults"], [{"mamba2": args}])
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert "layers[0] (mamba2): " + message in result.stdout


# --- Hugging Face configs, through the archcalc_hf_model_types hook ---------------------------


@pytest.mark.parametrize("name", sorted(HF_CONFIGS))
def test_public_hf_config_counts_exactly(name: str) -> None:
    """A published config.json counts what Mamba(2)ForCausalLM builds from it."""
    path = HERE / "data" / "hf" / f"{name}.json"
    result = runner.invoke(app, ["count", str(path), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["total_params"] == HF_CONFIGS[name]["total_params"]
    assert out["hf_model_type"] == HF_CONFIGS[name]["config"]["model_type"]
    assert out["family"] == out["hf_model_type"]


@pytest.mark.parametrize("name", sorted(HF_VARIANTS))
def test_hypothetical_hf_config_counts_exactly(name: str, tmp_path: Path) -> None:
    """Defaults of each config class and every key changed at once."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(HF_VARIANTS[name]["config"]), encoding="utf-8")
    assert (
        archcalc.count(archcalc.load_spec(path)).total_params == (HF_VARIANTS[name]["total_params"])
    )
    spec = tmp_path / "spec.yaml"
    result = runner.invoke(app, ["import-hf", str(path), "-o", str(spec)])
    assert result.exit_code == 0, result.output
    assert (
        archcalc.count(archcalc.load_spec(spec)).total_params == (HF_VARIANTS[name]["total_params"])
    )


def test_hf_config_problems_are_located(tmp_path: Path) -> None:
    config = {**HF_VARIANTS["mamba2-every-key"]["config"], "num_heads": 7}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config, indent=1), encoding="utf-8")
    result = runner.invoke(app, ["count", str(path)])
    assert result.exit_code == 1
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if '"num_heads"' in t)
    assert f"{path}:{line}:" in result.stderr
    assert "n_heads · head_dim (7 · 36 = 252) must equal d_inner (288)" in result.stderr


# --- checkpoints: tensors and check ----------------------------------------------------------

#: Tiny models saved by transformers' save_pretrained, header by header
#: (reference/checkpoint_headers.py at the repository root, MAMBA_CASES).
CHECKPOINTS: dict[str, Any] = json.loads((HERE / "data" / "checkpoints.json").read_text())["cases"]


def write_checkpoint(folder: Path, name: str) -> Path:
    """The case's config.json and model.safetensors (its header as saved, zeros as data)."""
    record = CHECKPOINTS[name]
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(record["config"]), encoding="utf-8")
    header = record["files"]["model.safetensors"]
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    end = max(v["data_offsets"][1] for k, v in header.items() if k != "__metadata__")
    with (folder / "model.safetensors").open("wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw + bytes(end))
    return folder


def _check(*args: str) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(app, ["check", *args, "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


@pytest.mark.parametrize("name", sorted(CHECKPOINTS))
def test_a_saved_checkpoint_agrees_with_its_config(name: str, tmp_path: Path) -> None:
    folder = write_checkpoint(tmp_path / name, name)
    code, report = _check(str(folder / "config.json"), "--against", str(folder))
    assert code == 0 and report["agree"], report
    assert report["spec_params"] == CHECKPOINTS[name]["total_params"]
    assert (
        report["matched"]
        == report["spec_tensors"]
        == len(CHECKPOINTS[name]["files"]["model.safetensors"]) - 1
    )


@pytest.mark.parametrize("name", sorted(CHECKPOINTS))
def test_one_more_block_is_missing_exactly_block_2(name: str, tmp_path: Path) -> None:
    folder = write_checkpoint(tmp_path / name, name)
    code, report = _check(
        str(folder / "config.json"), "--against", str(folder), "--set", "n_layers=3"
    )
    assert code == 1 and report["unexpected"] == [] and report["shape_mismatches"] == []
    header = CHECKPOINTS[name]["files"]["model.safetensors"]
    block_1 = {k.replace(".layers.1.", ".layers.2.") for k in header if ".layers.1." in k}
    assert {t["name"] for t in report["missing"]} == block_1


@pytest.mark.parametrize("name", sorted(CHECKPOINTS))
def test_tensors_lists_the_saved_names_and_sums_to_the_count(name: str, tmp_path: Path) -> None:
    folder = write_checkpoint(tmp_path / name, name)
    result = runner.invoke(app, ["tensors", str(folder / "config.json"), "--format", "json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    header = CHECKPOINTS[name]["files"]["model.safetensors"]
    saved = {k: v["shape"] for k, v in header.items() if k != "__metadata__"}
    assert {t["name"]: t["shape"] for t in listed["tensors"]} == saved
    assert listed["total_params"] == CHECKPOINTS[name]["total_params"]


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")))
def test_the_examples_tensors_sum_to_their_count(example: Path) -> None:
    result = runner.invoke(app, ["tensors", str(example), "--format", "json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert sum(t["numel"] for t in listed["tensors"]) == listed["total_params"]
    spec = archcalc.load_spec(example)
    assert listed["total_params"] == archcalc.count(spec).total_params
