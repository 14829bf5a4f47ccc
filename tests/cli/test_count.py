"""``archcalc count``: tables, JSON for scripts, several specs, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from archcalc.cli import app
from tests.helpers import EXAMPLES, reference, write_spec

runner = CliRunner()


def test_text_breakdown_has_components_percentages_and_human_units() -> None:
    result = runner.invoke(app, ["count", str(EXAMPLES / "llama-2-7b.yaml")])
    assert result.exit_code == 0, result.output
    out = result.stdout
    for component in ("embeddings", "attention", "mlp", "norms", "final norm", "lm head"):
        assert component in out
    assert "6,738,415,616" in out and "(6.74B)" in out and "100.0%" in out


def test_json_for_one_spec_is_an_object_with_the_pinned_fields() -> None:
    result = runner.invoke(app, ["count", str(EXAMPLES / "mixtral-8x7b.yaml"), "--json"])
    data = json.loads(result.stdout)
    case = reference()["mixtral-8x7b"]
    assert data["total_params"] == case["total_params"]
    assert data["active_params"] == case["active_params"]
    assert sum(p["params"] for p in data["parts"]) == data["total_params"]


def test_json_for_several_specs_is_an_array() -> None:
    paths = [str(EXAMPLES / "gpt2-small.yaml"), str(EXAMPLES / "llama-3-8b.yaml")]
    data = json.loads(runner.invoke(app, ["count", *paths, "--json"]).stdout)
    assert [d["name"] for d in data] == ["gpt2-small", "llama-3-8b"]
    assert all(d["total_params"] == d["active_params"] for d in data)


def test_set_answers_what_if_questions() -> None:
    path = str(EXAMPLES / "gpt2-small.yaml")
    base = json.loads(runner.invoke(app, ["count", path, "--json"]).stdout)
    deeper = json.loads(
        runner.invoke(app, ["count", path, "--json", "--set", "n_layers=24"]).stdout
    )
    per_layer = sum(p["per_layer"] or 0 for p in base["parts"])
    assert deeper["total_params"] - base["total_params"] == 12 * per_layer


def test_an_invalid_spec_is_reported_and_the_others_still_counted(tmp_path: Path) -> None:
    bad = write_spec(tmp_path, {"family": "transformer", "n_layers": 0}, "bad.yaml")
    result = runner.invoke(app, ["count", str(bad), str(EXAMPLES / "gpt2-small.yaml")])
    assert result.exit_code == 1
    assert "gpt2-small" in result.stdout
    assert f"{bad}:2:11: error: n_layers must be at least 1, got 0" in result.stderr


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    path = str(EXAMPLES / "gpt2-small.yaml")
    result = runner.invoke(app, ["count", path, "--set", "n_layer=3"])
    assert result.exit_code == 2 and "did you mean 'n_layers'" in result.stderr
    assert runner.invoke(app, ["count"]).exit_code == 2
    assert runner.invoke(app, ["count", path, "--bogus"]).exit_code == 2


def test_defaults_are_listed_so_assumptions_are_visible() -> None:
    out = runner.invoke(app, ["count", str(EXAMPLES / "mistral-7b.yaml")]).stdout
    assert "defaults used:" in out and "d_head=128" in out
    assert "n_decoder_layers" not in out  # only defaults that shaped the count


def test_console_script_and_module_entry_points(tmp_path: Path) -> None:
    for command in (["archcalc"], [sys.executable, "-m", "archcalc"]):
        exe = (
            command if command[0] != "archcalc" else [str(Path(sys.executable).parent / "archcalc")]
        )
        proc = subprocess.run(
            [*exe, "count", str(EXAMPLES / "gpt2-small.yaml"), "--json"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["total_params"] == reference()["gpt2-small"]["total_params"]


def test_count_does_not_import_sympy() -> None:
    """The count path stays light: sympy only loads for commands that print a formula."""
    code = (
        "import sys\n"
        "from archcalc.cli import main\n"
        f"sys.argv = ['archcalc', 'count', {str(EXAMPLES / 'dense-1t.yaml')!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "assert 'sympy' not in sys.modules, 'sympy imported'\n"
        "assert 'rich' not in sys.modules, 'rich imported'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_a_set_naming_a_config_key_is_shown_like_any_other() -> None:
    """--set num_hidden_layers=48 changes the config before translation: still a what-if."""
    from tests.helpers import DATA

    config = str(DATA / "hf" / "llama-3.2-1b.json")
    sets = ["--set", "num_hidden_layers=48", "--set", "d_ff=100"]
    text = runner.invoke(app, ["count", config, *sets])
    assert text.exit_code == 0, text.output
    assert "--set num_hidden_layers=48 --set d_ff=100" in text.stdout.splitlines()[0]
    obj = json.loads(runner.invoke(app, ["count", config, *sets, "--json"]).stdout)
    assert obj["overrides"] == {"num_hidden_layers": 48, "d_ff": 100}
    plain = json.loads(runner.invoke(app, ["count", config, "--json"]).stdout)
    assert plain["overrides"] == {} and plain["total_params"] != obj["total_params"]
