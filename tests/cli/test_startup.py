"""What a command imports: start-up time is part of the interface (issue 13).

``archcalc count spec.yaml`` should cost little more than Python reading the YAML, so
its import path must stay free of what it does not use. These tests run the real entry
point in a fresh interpreter and look at ``sys.modules`` afterwards: no timing, so they
hold on a loaded machine, and a failure names the module that crept in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from archcalc.cli import COMMANDS, command_in
from tests.helpers import EXAMPLES

PROBE = """
import json, sys
sys.argv = ["archcalc", *json.loads(sys.argv[1])]
from archcalc.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
sys.stdout.flush()
sys.stderr.write("\\n" + json.dumps({"code": code, "modules": sorted(sys.modules)}) + "\\n")
"""


#: Never needed to count or validate a valid spec: formulas, the validator of record (only
#: for a spec with a problem), typer's pydantic, NumPy, the metadata scan (the discovery
#: cache answers). (archcalc.hf joins the list once the registry no longer needs it.)
HEAVY = ("sympy", "jsonschema", "referencing", "pydantic", "numpy", "importlib.metadata")


def heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if m in HEAVY or m.split(".")[0] in HEAVY}


def imported(*args: str, autoload: bool = False) -> tuple[int, set[str]]:
    """Exit code and imported modules of ``archcalc ARGS`` in a fresh interpreter."""
    env = dict(os.environ)
    if autoload:
        env.pop("ARCHCALC_DISABLE_PLUGIN_AUTOLOAD", None)
    else:
        env["ARCHCALC_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(list(args))],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["code"], set(report["modules"])


def test_command_in_finds_the_first_word() -> None:
    assert command_in(["count", "x.yaml"]) == "count"
    assert command_in(["--version"]) is None
    assert command_in(["-h", "validate"]) == "validate"
    assert command_in(["--", "count"]) is None
    assert command_in([]) is None


def test_count_imports_only_its_command() -> None:
    code, modules = imported("count", str(EXAMPLES / "llama-3-8b.yaml"))
    assert code == 0
    others = {f"archcalc.cli.{m}" for m in COMMANDS.values()} - {"archcalc.cli.count"}
    assert modules & others == set()


@pytest.mark.parametrize("example", ["llama-3-8b", "mixtral-8x7b", "resnet50", "vit-b-16"])
@pytest.mark.parametrize("command", ["count", "validate"])
def test_a_valid_spec_imports_nothing_heavy(command: str, example: str) -> None:
    """With entry points autoloaded, as a user runs it (the first run fills the cache)."""
    path = str(EXAMPLES / f"{example}.yaml")
    imported(command, path, autoload=True)
    code, modules = imported(command, path, autoload=True)
    assert code == 0
    assert heavy(modules) == set()


def test_an_invalid_spec_is_explained_by_jsonschema(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(
        (EXAMPLES / "gpt2-small.yaml").read_text(encoding="utf-8") + "d_modle: 3\n",
        encoding="utf-8",
    )
    code, modules = imported("validate", str(spec))
    assert code == 1
    assert "jsonschema" in modules


def test_version_imports_no_library() -> None:
    code, modules = imported("--version")
    assert code == 0
    assert "archcalc.api" not in modules
    assert not any(m.startswith("archcalc.cli.") and m != "archcalc.cli._app" for m in modules)


@pytest.mark.parametrize("args", [["--help"], ["no-such-command"]])
def test_help_and_unknown_commands_see_every_command(args: list[str]) -> None:
    code, modules = imported(*args)
    assert code in (0, 2)
    assert {f"archcalc.cli.{m}" for m in COMMANDS.values()} <= modules


def test_every_command_module_is_listed() -> None:
    package = Path(__file__).resolve().parents[2] / "archcalc" / "cli"
    modules = {p.stem for p in package.glob("*.py") if not p.stem.startswith("_")}
    assert modules == set(COMMANDS.values())
