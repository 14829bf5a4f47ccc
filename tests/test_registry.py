"""The plugin system, end to end: a family from a one-file plugin works in every command,
and every way a plugin can break ends in one attributed line and exit code 3.

Plugins here are throwaway files written to ``tmp_path`` and loaded with ``--plugin`` (or
``ARCHCALC_PLUGINS``); entry points come from fake installed distributions (a
``*.dist-info`` folder on ``sys.path``, as pip leaves one).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from archcalc.cli import app
from archcalc.errors import PluginError
from archcalc.registry import load_registry
from tests.helpers import fake_distribution

runner = CliRunner()

AFFINE = """
from archcalc import Breakdown, Family, Field, Part, hookimpl

__version__ = "1.2.3"


def count(spec):
    v = spec.values
    parts = [Part("weight", v.n_in * v.n_out)]
    if v.bias:
        parts.append(Part("bias", v.n_out))
    return Breakdown(tuple(parts))


def check(spec):
    if spec.values.n_out > 4 * spec.values.n_in:
        spec.error("n_out", f"n_out ({spec.values.n_out}) is more than 4 x n_in")


@hookimpl
def archcalc_families():
    return [
        Family(
            name="affine",
            description="A single linear map.",
            fields=(
                Field("n_in", "size", "Input features."),
                Field("n_out", "size", "Output features.", default="n_in"),
                Field("bias", "bool", "Whether there is a bias.", default=True),
            ),
            count=count,
            check=check,
        )
    ]
"""

AFFINE_SPEC = "family: affine\nn_in: 10\nn_out: 3\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def one_family(name: str, plugin_name: str = "x") -> str:
    """A plugin file registering a one-field family called ``name``."""
    return f"""
from archcalc import Breakdown, Family, Field, Part, hookimpl


@hookimpl
def archcalc_families():
    return [Family(name={name!r}, description="{plugin_name}", fields=(Field("width", "size",
        "w"),), count=lambda s: Breakdown((Part("w", s.values.width),)))]
"""


@pytest.fixture
def affine(tmp_path: Path) -> tuple[Path, Path]:
    return write(tmp_path, "affine.py", AFFINE), write(tmp_path, "affine.yaml", AFFINE_SPEC)


def run(*args: str | Path) -> Result:
    return runner.invoke(app, [str(a) for a in args])


# --- a working plugin: every command ------------------------------------------------------


def test_plugin_family_counts(affine: tuple[Path, Path]) -> None:
    plugin, spec = affine
    result = run("count", spec, "--json", "--plugin", plugin)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["total_params"], data["active_params"]) == (33, 33)
    assert data["family"] == "affine"


def test_plugin_family_formula_substitutes_to_the_count(affine: tuple[Path, Path]) -> None:
    import sympy

    plugin, spec = affine
    result = run("formula", spec, "--format", "json", "--plugin", plugin)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    expr = sympy.parse_expr(data["formula"])  # our own output, not user text
    names = {str(s) for s in expr.free_symbols}
    assert names == {"n_in", "n_out"}
    assert expr.subs({sympy.Symbol(k): v for k, v in data["symbols"].items()}) == 33
    assert data["total_params"] == 33


def test_plugin_family_validate_locates_its_semantic_errors(
    tmp_path: Path, affine: tuple[Path, Path]
) -> None:
    plugin, good = affine
    bad = write(tmp_path, "bad.yaml", "family: affine\nn_in: 2\nn_out: 9\nbias: true\n")
    typo = write(tmp_path, "typo.yaml", "family: affine\nn_in: 2\nn_ot: 9\n")
    assert run("validate", good, "--plugin", plugin).exit_code == 0
    result = run("validate", bad, typo, "--plugin", plugin)
    assert result.exit_code == 1
    assert f"{bad}:3:8: error: n_out (9) is more than 4 x n_in" in result.stdout
    assert f"{typo}:3:1: error: unknown key 'n_ot'; did you mean 'n_out'?" in result.stdout


def test_plugin_family_schema(affine: tuple[Path, Path]) -> None:
    plugin, _ = affine
    one = json.loads(run("schema", "affine", "--plugin", plugin).stdout)
    assert set(one["properties"]) >= {"n_in", "n_out", "bias"}
    assert "n_in" in one["required"] and "n_out" not in one["required"]
    combined = json.loads(run("schema", "--plugin", plugin).stdout)
    assert {"affine", "transformer"} <= set(combined["$defs"])


def test_plugin_family_set_override(affine: tuple[Path, Path]) -> None:
    plugin, spec = affine
    result = run("count", spec, "--json", "--set", "bias=false", "--plugin", plugin)
    assert json.loads(result.stdout)["total_params"] == 30


def test_plugins_json_lists_name_version_source_and_families(
    affine: tuple[Path, Path],
) -> None:
    plugin, _ = affine
    result = run("plugins", "--json", "--plugin", plugin)
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["archcalc.plugins.transformer"]["source"] == "builtin"
    assert "transformer" in rows["archcalc.plugins.transformer"]["families"]
    mine = rows[str(plugin)]
    assert mine["version"] == "1.2.3"
    assert mine["source"] == str(plugin)
    assert mine["families"] == ["affine"]
    assert {"name", "version", "source", "families"} <= set(mine)
    text = run("plugins", "--plugin", plugin).stdout
    assert f"{plugin} 1.2.3" in text and "affine" in text


def test_plugin_given_as_a_module_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "affine_mod_for_test.py", AFFINE)
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = write(tmp_path, "s.yaml", AFFINE_SPEC)
    result = run("count", spec, "--json", "--plugin", "affine_mod_for_test")
    assert json.loads(result.stdout)["total_params"] == 33


def test_env_plugins_loads_a_comma_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = write(tmp_path, "first.py", one_family("first"))
    second = write(tmp_path, "second.py", one_family("second"))
    monkeypatch.setenv("ARCHCALC_PLUGINS", f"{first}, {second}")
    rows = json.loads(run("plugins", "--json").stdout)
    families = {f for row in rows for f in row["families"]}
    assert {"first", "second", "transformer"} <= families
    spec = write(tmp_path, "s.yaml", "family: second\nwidth: 7\n")
    assert json.loads(run("count", spec, "--json").stdout)["total_params"] == 7


def test_same_plugin_named_twice_loads_once(
    affine: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    plugin, spec = affine
    monkeypatch.setenv("ARCHCALC_PLUGINS", str(plugin))
    result = run("count", spec, "--json", "--plugin", plugin, "--plugin", plugin)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total_params"] == 33


# --- entry points ---------------------------------------------------------------------------


@pytest.fixture
def fake_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An installed distribution's ``archcalc`` entry point, without installing anything."""
    write(tmp_path, "ep_plugin_for_test.py", one_family("from-entry-point"))
    fake_distribution(tmp_path, "ep-dist", {"epfam": "ep_plugin_for_test"})
    monkeypatch.syspath_prepend(str(tmp_path))
    return "from-entry-point"


def test_entry_points_are_loaded_by_default(
    fake_entry_point: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ARCHCALC_DISABLE_PLUGIN_AUTOLOAD")
    registry = load_registry()
    assert fake_entry_point in registry.families
    assert registry.owners[fake_entry_point] == "epfam"
    info = next(p for p in registry.plugins if p.name == "epfam")
    assert info.source.startswith("entry point")


def test_disable_autoload_skips_entry_points(
    fake_entry_point: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCHCALC_DISABLE_PLUGIN_AUTOLOAD", "1")
    registry = load_registry()
    assert fake_entry_point not in registry.families
    assert "transformer" in registry.families  # built-ins still load: they are not autoloaded


def test_broken_entry_point_is_named_and_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_distribution(tmp_path, "broken-dist", {"brokenep": "no_such_module_for_test"})
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("ARCHCALC_DISABLE_PLUGIN_AUTOLOAD")
    registry = load_registry()  # an installed plugin failing does not stop the others
    assert "transformer" in registry.families
    (broken,) = registry.broken
    assert broken.name == "brokenep"
    assert broken.error.startswith("plugin 'brokenep' failed to load: ModuleNotFound")


@pytest.fixture
def broken_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    fake_distribution(tmp_path / "site", "broken-dist", {"brokenep": "no_such_module_for_test"})
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delenv("ARCHCALC_DISABLE_PLUGIN_AUTOLOAD")
    return "brokenep"


def test_broken_installed_plugin_does_not_break_commands_that_do_not_need_it(
    tmp_path: Path, broken_entry_point: str
) -> None:
    spec = write(
        tmp_path,
        "s.yaml",
        "family: transformer\nn_layers: 2\nd_model: 64\nn_heads: 4\nd_ff: 256\nvocab_size: 100\n",
    )
    result = run("count", spec, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total_params"] > 0
    (warning,) = result.stderr.splitlines()
    assert warning.startswith("archcalc: warning: skipping a broken plugin: plugin 'brokenep'")


def test_spec_needing_a_broken_installed_plugin_blames_the_plugin(
    tmp_path: Path, broken_entry_point: str
) -> None:
    spec = write(tmp_path, "s.yaml", "family: toyrnn\nwidth: 3\n")
    result = run("validate", spec)
    assert result.exit_code == 3, result.output
    assert "no family 'toyrnn' is registered, and plugin 'brokenep' failed to load" in result.stderr
    assert "Traceback" not in result.output


def test_plugins_lists_the_others_and_names_the_broken_one(broken_entry_point: str) -> None:
    result = run("plugins")
    assert result.exit_code == 3
    assert "archcalc.plugins.transformer" in result.stdout and "transformer" in result.stdout
    assert "brokenep unknown (entry point of" in result.stdout and "BROKEN" in result.stdout
    (line,) = result.stderr.splitlines()
    assert line.startswith("archcalc: plugin error: plugin 'brokenep' failed to load")
    rows = {r["name"]: r for r in json.loads(run("plugins", "--json").stdout)}
    assert rows["brokenep"]["error"].startswith("plugin 'brokenep' failed to load")
    assert rows["archcalc.plugins.cnn"]["error"] is None


# --- broken plugins: one attributed line, exit 3, never a traceback ------------------------

BROKEN = {
    "import_fails": ("import no_such_module_for_archcalc_tests\n", "failed to load"),
    "syntax_error": ("def oops(:\n", "failed to load: SyntaxError"),
    "raises_in_hook": (
        "from archcalc import hookimpl\n\n@hookimpl\ndef archcalc_families():\n"
        "    raise RuntimeError('boom')\n",
        "failed in archcalc_families: RuntimeError: boom",
    ),
    "misspelt_hook": (
        "from archcalc import hookimpl\n\n@hookimpl\ndef archcalc_familes():\n    return []\n",
        "has an unknown hook 'archcalc_familes'; did you mean 'archcalc_families'?",
    ),
    "wrong_type": (
        "from archcalc import hookimpl\n\n@hookimpl\ndef archcalc_families():\n"
        "    return ['affine']\n",
        "returned str from archcalc_families, expected archcalc.Family",
    ),
    "not_iterable": (
        "from archcalc import hookimpl\n\n@hookimpl\ndef archcalc_families():\n    return 42\n",
        "failed in archcalc_families: TypeError",
    ),
    "wrong_signature": (
        "from archcalc import hookimpl\n\n@hookimpl\ndef archcalc_families(registry):\n"
        "    return []\n",
        "has an invalid hook",
    ),
    "undecorated_hook": (
        "def archcalc_families():\n    return []\n",
        "defines archcalc_families() without @hookimpl",
    ),
    "bad_field_kind": (
        "from archcalc import Breakdown, Family, Field, hookimpl\n\n@hookimpl\n"
        "def archcalc_families():\n    return [Family(name='f', description='d', "
        "fields=(Field('w', 'integer', 'd'),), count=lambda s: Breakdown(()))]\n",
        "returned a malformed family: family 'f': field 'w' has kind 'integer'",
    ),
    "clash_with_builtin": (
        "from archcalc import hookimpl\nfrom archcalc.plugins.transformer import FAMILY\n\n"
        "@hookimpl\ndef archcalc_families():\n    return [FAMILY]\n",
        "plugins 'archcalc.plugins.transformer' and '{plugin}' both register the family "
        "'transformer'",
    ),
}


def assert_one_attributed_line(result: Result, plugin: str, expected: str, spec: Path) -> None:
    assert result.exit_code == 3, result.output
    assert isinstance(result.exception, SystemExit)  # no exception escaped the guard
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("archcalc: plugin error: plugin")
    assert f"'{plugin}'" in line
    assert expected.format(plugin=plugin) in line
    assert "Traceback" not in line and str(spec) not in line  # never blamed on the spec


@pytest.mark.parametrize("case", sorted(BROKEN))
@pytest.mark.parametrize("command", ["count", "validate", "formula", "schema", "plugins"])
def test_broken_plugin_gives_one_attributed_line(tmp_path: Path, case: str, command: str) -> None:
    source, expected = BROKEN[case]
    plugin = write(tmp_path, f"{case}.py", source)
    spec = write(tmp_path, "spec.yaml", "family: transformer\nn_layers: 1\n")
    args = [spec] if command in ("count", "validate", "formula") else []
    result = run(command, *args, "--plugin", plugin)
    if command == "plugins":  # lists every plugin, the broken one marked, then says why
        assert "archcalc.plugins.transformer" in result.stdout
        assert f"{plugin} " in result.stdout and "BROKEN" in result.stdout
        result = Result(
            result.runner,
            result.stdout_bytes[:0],
            result.stderr_bytes,
            None,
            result.return_value,
            result.exit_code,
            result.exception,
        )
    assert_one_attributed_line(result, str(plugin), expected, spec)


def test_two_plugins_registering_one_family_names_both(tmp_path: Path) -> None:
    first = write(tmp_path, "first.py", one_family("shared"))
    second = write(tmp_path, "second.py", one_family("shared"))
    spec = write(tmp_path, "s.yaml", "family: shared\nwidth: 1\n")
    result = run("count", spec, "--plugin", first, "--plugin", second)
    assert_one_attributed_line(
        result, str(second), f"plugins '{first}' and '{second}' both register", spec
    )


def test_missing_plugin_file_and_module(tmp_path: Path) -> None:
    spec = write(tmp_path, "s.yaml", "family: transformer\n")
    missing = tmp_path / "nope.py"
    result = run("count", spec, "--plugin", missing)
    assert_one_attributed_line(result, str(missing), "does not exist", spec)
    result = run("count", spec, "--plugin", "no_such_plugin_module")
    assert_one_attributed_line(result, "no_such_plugin_module", "ModuleNotFoundError", spec)


FAILS_AT_RUN_TIME = """
from archcalc import Breakdown, Family, Field, Part, hookimpl


def count(spec):
    width = spec.values.width
    if {where!r} == "count":
        raise ZeroDivisionError("division by zero")
    if {where!r} == "formula":
        width = int(width)  # breaks the rule: fine for ints, fails for sympy symbols
    if {where!r} == "wrong result":
        return {{"w": width}}
    if {where!r} == "fraction":
        width = width / 2
    return Breakdown((Part("w", width),))


def check(spec):
    if {where!r} == "check":
        raise KeyError("oops")


@hookimpl
def archcalc_families():
    return [Family(name="fragile", description="d", fields=(Field("width", "size", "w"),),
                   count=count, check=check)]
"""


@pytest.mark.parametrize(
    ("where", "command", "expected"),
    [
        ("count", "count", "failed while counting"),
        ("check", "validate", "failed while checking"),
        ("check", "count", "failed while checking"),
        ("formula", "formula", "TypeError"),
        ("wrong result", "count", "count returned dict, expected archcalc.Breakdown"),
        ("wrong result", "formula", "count returned dict, expected archcalc.Breakdown"),
        ("fraction", "count", "part 'w' is the float 1.5: '/' on ints makes floats"),
    ],
)
def test_plugin_code_failing_on_a_valid_spec_is_blamed_on_the_plugin(
    tmp_path: Path, where: str, command: str, expected: str
) -> None:
    plugin = write(tmp_path, "fragile.py", FAILS_AT_RUN_TIME.format(where=where))
    spec = write(tmp_path, "s.yaml", "family: fragile\nwidth: 3\n")
    result = run(command, spec, "--plugin", plugin)
    assert result.exit_code == 3, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"archcalc: plugin error: plugin '{plugin}'")
    assert expected in lines[0]
    assert not lines[0].startswith(str(spec))  # not a located spec error


def test_no_traceback_from_the_real_process(tmp_path: Path) -> None:
    plugin = write(tmp_path, "boom.py", BROKEN["raises_in_hook"][0])
    proc = subprocess.run(
        [sys.executable, "-m", "archcalc", "plugins", "--plugin", str(plugin)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 3
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert f"plugin '{plugin}' failed in archcalc_families: RuntimeError: boom" in proc.stderr


def test_library_raises_plugin_error_instead_of_exiting(tmp_path: Path) -> None:
    plugin = write(tmp_path, "clash.py", BROKEN["clash_with_builtin"][0])
    with pytest.raises(PluginError, match="both register the family 'transformer'"):
        load_registry([str(plugin)])


def test_two_distributions_with_one_entry_point_name_are_both_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "ep_one_for_test.py", one_family("one"))
    write(tmp_path, "ep_two_for_test.py", one_family("two"))
    for module, dist in (("ep_one_for_test", "pkg-one"), ("ep_two_for_test", "pkg-two")):
        fake_distribution(tmp_path, dist, {"same": module})
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("ARCHCALC_DISABLE_PLUGIN_AUTOLOAD")
    (broken,) = load_registry().broken
    message = broken.error
    assert "two plugins are named 'same'" in message
    assert "pkg-one" in message and "pkg-two" in message
