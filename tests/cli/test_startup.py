"""What a command imports: start-up time is part of the interface (issue 13).

``archcalc count spec.yaml`` should cost little more than Python reading the YAML, so
its import path must stay free of what it does not use. These tests run the real entry
point in a fresh interpreter and look at ``sys.modules`` afterwards: no timing, so they
hold on a loaded machine, and a failure names the module that crept in.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archcalc.cli import COMMANDS, PlainCount, command_in, plain_count, posix_path_text
from tests.helpers import DATA, EXAMPLES

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
#: cache answers), the Hugging Face config reader (a YAML spec is no config: plugins take
#: HFModelType from archcalc.hf_types and ConfigReader only under TYPE_CHECKING), the
#: cnn walker for a spec of another family (plugins/cnn.py imports it in its functions),
#: ignore comments the spec does not have, checkpoints.
HEAVY = (
    "sympy",
    "jsonschema",
    "referencing",
    "pydantic",
    "numpy",
    "importlib.metadata",
    "archcalc.hf",
    "archcalc.ignores",
    "archcalc.checkpoint",
    "archcalc.formulas",
)
#: Only for a spec of the family that needs them.
FAMILY_HEAVY = {"cnn": ("archcalc.plugins.cnn_graph",)}
#: Not even imported by a plain ``archcalc count SPEC... [--json]`` (archcalc.cli.plain_count):
#: typer (and the difflib it imports; archcalc's "did you mean" imports it when it suggests).
NOT_FOR_PLAIN_COUNT = ("typer", "rich", "difflib", "archcalc.cli._app", "archcalc.cli.count")


def heavy(modules: set[str], also: tuple[str, ...] = ()) -> set[str]:
    names = (*HEAVY, *also)
    return {m for m in modules if m in names or m.split(".")[0] in names}


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


FAMILIES = {"llama-3-8b": "transformer", "mixtral-8x7b": "transformer", "resnet50": "cnn"}
FAMILIES["vit-b-16"] = "vit"


@pytest.mark.parametrize("example", sorted(FAMILIES))
@pytest.mark.parametrize("command", ["count", "validate"])
def test_a_valid_spec_imports_nothing_heavy(command: str, example: str) -> None:
    """With entry points autoloaded, as a user runs it (the first run fills the cache).

    A failure names the module that crept in: import it inside the function that needs
    it (or under ``TYPE_CHECKING`` for a hint), as the modules listed in HEAVY do.
    """
    path = str(EXAMPLES / f"{example}.yaml")
    imported(command, path, autoload=True)
    code, modules = imported(command, path, autoload=True)
    assert code == 0
    family = FAMILIES[example]
    others = tuple(m for f, names in FAMILY_HEAVY.items() if f != family for m in names)
    assert heavy(modules, others) == set()


@pytest.mark.parametrize("flags", [[], ["--json"]])
def test_a_plain_count_does_not_import_typer(flags: list[str]) -> None:
    code, modules = imported("count", str(EXAMPLES / "llama-3-8b.yaml"), *flags, autoload=True)
    assert code == 0
    assert heavy(modules, NOT_FOR_PLAIN_COUNT) == set()


def test_plain_count_recognises_only_what_typer_parses_the_same_way() -> None:
    both = plain_count(["count", "a.yaml", "--json", "b.yaml"])
    assert both == PlainCount(["a.yaml", "b.yaml"], as_json=True)
    assert plain_count(["count", "a", "--shapes"]) == PlainCount(["a"], show_shapes=True)
    assert plain_count(["count", ".//x/./a.yaml"]) == PlainCount(["x/a.yaml"])
    for args in (
        ["count"],
        ["count", "--json"],
        ["count", "a.yaml", "--set", "n_layers=2"],
        ["count", "a.yaml", "-f", "json"],
        ["count", "a.yaml", "--format=json"],
        ["count", "a.yaml", "-h"],
        ["count", "--", "a.yaml"],
        ["count", "a.yaml", ""],
        ["count", "-"],
        ["validate", "a.yaml"],
        ["--version"],
        [],
    ):
        assert plain_count(args) is None, args


def test_a_plain_count_imports_no_pathlib_of_its_own() -> None:
    """pathlib (with the urllib.parse and ipaddress it imports) is a few percent of a plain
    count, and a count needs only path strings. An editable install imports it at start-up
    anyway (setuptools' path finder), so the check reads the source: no module the count
    imports may import pathlib outside a function."""
    code, modules = imported("count", str(EXAMPLES / "llama-3-8b.yaml"), "--json", autoload=True)
    assert code == 0
    offenders = []
    for name in sorted(m for m in modules if m == "archcalc" or m.startswith("archcalc.")):
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
            continue
        tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
        if any(_imports_pathlib(node) for node in _module_level(tree.body)):
            offenders.append(name)
    assert offenders == []


def _module_level(body: list[ast.stmt]) -> list[ast.stmt]:
    """Statements run at import: the body and its if/try blocks, not functions or classes."""
    found: list[ast.stmt] = []
    for node in body:
        found.append(node)
        if isinstance(node, ast.If) and not _is_type_checking(node.test):
            found += _module_level(node.body) + _module_level(node.orelse)
        elif isinstance(node, ast.Try):
            found += _module_level(node.body + node.orelse + node.finalbody)
            for handler in node.handlers:
                found += _module_level(handler.body)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"


def _imports_pathlib(node: ast.stmt) -> bool:
    if isinstance(node, ast.Import):
        return any(alias.name.split(".")[0] == "pathlib" for alias in node.names)
    return isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "pathlib"


@given(st.text(alphabet="/.ab", min_size=1, max_size=14))
def test_a_plain_count_names_a_path_as_typer_would(name: str) -> None:
    """typer hands a command ``pathlib.Path(name)``; the plain route the same text."""
    assert posix_path_text(name) == str(PurePosixPath(name))


def run_main(*args: str) -> tuple[int, str, str]:
    """``archcalc ARGS`` through the console-script entry point, in a fresh interpreter."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from archcalc.cli import main; sys.exit(main())",
            *args,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "ARCHCALC_DISABLE_PLUGIN_AUTOLOAD": "1"},
        timeout=120,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


def test_the_plain_route_and_typer_agree(tmp_path: Path) -> None:
    """Exit code, output and messages are the same whichever route a count takes.

    ``--format text`` / ``--format json`` send the same request through typer.
    """
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nfamily: transformer\nn_layers: 0\n", encoding="utf-8")
    llama, resnet = str(EXAMPLES / "llama-2-7b.yaml"), str(EXAMPLES / "resnet18.yaml")
    config = str(DATA / "hf" / "bert-base-uncased.json")
    cases = [
        ([llama], ["--format", "text"]),
        ([llama, config, str(bad)], ["--format", "text"]),
        ([str(bad), str(tmp_path / "missing.yaml")], ["--format", "text"]),
        ([llama, str(bad)], ["--format", "json"]),
        ([str(tmp_path)], ["--format", "json"]),  # a folder: a checkpoint without tensors
    ]
    for paths, typer_flags in cases:
        plain_flags = ["--json"] if "json" in typer_flags else []
        plain = run_main("count", *paths, *plain_flags)
        via_typer = run_main("count", *paths, *typer_flags)
        assert plain == via_typer, (paths, plain, via_typer)
    assert run_main("count", resnet, "--shapes") == run_main(
        "count", "--shapes", "-f", "text", resnet
    )


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
    shared = {"archcalc.cli._app", "archcalc.cli._common"}
    assert not any(m.startswith("archcalc.cli.") and m not in shared for m in modules)


@pytest.mark.parametrize("args", [["--help"], ["no-such-command"]])
def test_help_and_unknown_commands_see_every_command(args: list[str]) -> None:
    code, modules = imported(*args)
    assert code in (0, 2)
    assert {f"archcalc.cli.{m}" for m in COMMANDS.values()} <= modules


def test_every_command_module_is_listed() -> None:
    package = Path(__file__).resolve().parents[2] / "archcalc" / "cli"
    modules = {p.stem for p in package.glob("*.py") if not p.stem.startswith("_")}
    assert modules == set(COMMANDS.values())
