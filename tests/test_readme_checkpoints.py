"""The README's "Check a checkpoint" section is true: its output and its pre-commit hook."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from archcalc.cli import app
from tests.checkpoints import CASES, case, write_case
from tests.helpers import ROOT

runner = CliRunner()
README = (ROOT / "README.md").read_text(encoding="utf-8")
SECTION = README[README.index("## Check a checkpoint") :]
SECTION = SECTION[: SECTION.index("\n## ", 1)]
PRE_COMMIT = Path(sys.executable).parent / "pre-commit"


def test_the_console_example_is_what_check_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (block,) = re.findall(r"```console\n(.*?)```", SECTION, re.S)
    command, _, expected = block.partition("\n")
    write_case(tmp_path / "llama", "llama")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, shlex.split(command.removeprefix("$ archcalc ")))
    assert result.exit_code == 1
    assert result.stdout == expected


def test_the_counted_model_types_are_the_ones_measured() -> None:
    types = {case(name)["model_type"] for name in CASES}
    assert f"saves {len(CASES)} tiny models\nof {len(types)} model types" in SECTION


def test_the_pre_commit_hook_is_valid_and_its_entry_fails_on_disagreement(tmp_path: Path) -> None:
    (snippet,) = re.findall(r"```yaml\n(.*?)```", SECTION, re.S)
    config = tmp_path / ".pre-commit-config.yaml"
    config.write_text(snippet, encoding="utf-8")
    if PRE_COMMIT.exists():
        proc = subprocess.run(
            [str(PRE_COMMIT), "validate-config", str(config)], capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
    (hook,) = yaml.safe_load(snippet)["repos"][0]["hooks"]
    assert hook["pass_filenames"] is False
    assert re.match(hook["files"], "models/llama.yaml")
    assert re.match(hook["files"], "checkpoints/llama/model.safetensors")
    # the entry, run in a project laid out as the snippet says
    folder = write_case(tmp_path / "checkpoints" / "llama", "llama")
    spec = tmp_path / "models" / "llama.yaml"
    spec.parent.mkdir()
    imported = runner.invoke(app, ["import-hf", str(folder / "config.json"), "-o", str(spec)])
    assert imported.exit_code == 0, imported.output
    args = shlex.split(hook["entry"])[1:]

    def run() -> int:
        paths = [str(tmp_path / a) if "/" in a else a for a in args]
        return runner.invoke(app, paths).exit_code

    assert run() == 0
    spec.write_text(spec.read_text().replace("n_layers: 2", "n_layers: 3"))
    assert run() == 1
