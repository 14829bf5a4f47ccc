"""The plugin contract, tried as a plugin author who read only docs/plugins.md would break it.

Each case is a small, deliberately broken plugin file. Whatever the mistake, archcalc must
answer with exit code 3 and one line that names the plugin, the family or layer type, and
the spec line involved; never a traceback, never a complaint about the spec, never a
wrong number with exit 0.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

import archcalc
from archcalc.cli import app
from archcalc.registry import load_registry

runner = CliRunner()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def run(*args: str | Path) -> Result:
    return runner.invoke(app, [str(a) for a in args])


def one_plugin_line(result: Result) -> str:
    assert result.exit_code == 3, result.output
    assert isinstance(result.exception, SystemExit)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    assert lines[0].startswith("archcalc: plugin error: plugin ")
    return lines[0]


# --------------------------------------------------------------------------- layer types

LAYER_PLUGIN = """
from archcalc import LayerType, hookimpl

def params(args, shape):
    c = shape[0]
    {body}

@hookimpl
def archcalc_layer_types():
    return [LayerType(name="squeeze_excite", description="SE block",
        args={{"type": "object", "properties": {{}}, "additionalProperties": False}},
        params=params)]
"""

NET = """\
family: cnn
vars:
  width: 16
input: [3, 8, 8]
layers:
  - conv2d: {out_channels: width, kernel_size: 3}
  - residual:
      layers:
        - squeeze_excite
"""

LAYER_MISTAKES = {
    "raises": ("return c // 0", "count", "ZeroDivisionError"),
    "negative": ("return -c", "count", "params returned a negative count (-16)"),
    "huge": ("return 10**400", "count", "params returned a 401-digit count"),
    "float": ("return c / 3", "count", "params returned the float"),
    "not a number": ("return 'many'", "count", "params returned str"),
    "int() on a symbol": ("return int(c) * 2", "formula", "TypeError"),
    "float() on a symbol": ("return int(float(c)) * 2", "formula", "TypeError"),
    "comparison": ("return c * 2 if c > 8 else c", "formula", "TypeError"),
}


@pytest.mark.parametrize("case", sorted(LAYER_MISTAKES))
def test_a_broken_layer_type_is_blamed_with_its_path_and_line(tmp_path: Path, case: str) -> None:
    body, command, expected = LAYER_MISTAKES[case]
    plugin = write(tmp_path, "se.py", LAYER_PLUGIN.format(body=body))
    spec = write(tmp_path, "net.yaml", NET)
    result = run(command, spec, "--plugin", plugin)
    line = one_plugin_line(result)
    assert f"plugin '{plugin}'" in line  # not the built-in cnn plugin
    assert "layer type 'squeeze_excite'" in line
    assert f"{spec}:9:11" in line and "layers[1].residual.layers[0]" in line
    assert expected in line
    doing = "building the formula" if command == "formula" else "counting"
    assert f"failed while {doing}" in line  # not "checking" during count


def test_a_symbolic_layer_type_gives_a_formula_that_holds(tmp_path: Path) -> None:
    plugin = write(tmp_path, "se.py", LAYER_PLUGIN.format(body="return 2 * c * (c // 4)"))
    spec = write(tmp_path, "net.yaml", NET)
    result = run("formula", spec, "--format", "json", "--plugin", plugin)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["symbols"] == {"width": 16}
    assert data["total_params"] == 3 * 9 * 16 + 16 + 2 * 16 * 4


def test_layer_types_are_looked_up_in_the_registry_passed(tmp_path: Path) -> None:
    plugin = write(tmp_path, "se.py", LAYER_PLUGIN.format(body="return 7"))
    spec = write(tmp_path, "net.yaml", NET)
    registry = load_registry([str(plugin)])
    loaded = archcalc.load_spec(spec, registry=registry)
    assert loaded.registry is registry and loaded.exact.registry is registry
    assert archcalc.count(loaded).total_params == 3 * 9 * 16 + 16 + 7
    with pytest.raises(archcalc.SpecError, match="unknown layer 'squeeze_excite'"):
        archcalc.load_spec(spec, registry=load_registry())  # not read from another registry


# --------------------------------------------------------------------------- families

FAMILY_PLUGIN = """
from archcalc import Breakdown, Family, Field, Part, hookimpl

def count(spec):
    v = spec.values
    {count}

def check(spec):
    {check}

@hookimpl
def archcalc_families():
    return [Family(name="toyrnn", description="ToyRNN", fields=(
        Field("width", "size", "w"), Field("n_layers", "size", "L"),
        Field("head_size", "size", "h", default="width // 8"),
    ), count=count, check=check)]
"""

TOYRNN = "family: toyrnn\nwidth: 64\nn_layers: 2\n"


def family(
    tmp_path: Path, count: str = "return Breakdown((Part('w', v.width),))", check: str = "pass"
) -> Path:
    return write(tmp_path, "toyrnn.py", FAMILY_PLUGIN.format(count=count, check=check))


@pytest.mark.parametrize(
    ("count", "command", "expected"),
    [
        ("return Breakdown((Part('w', -v.width),))", "count", "a negative count (-64)"),
        ("return Breakdown((Part('w', 10**400),))", "count", "401-digit count"),
        ("return Breakdown((Part('w', v.width / 3),))", "count", "the float"),
        ("return Breakdown((Part('w', True),))", "count", "is a bool"),
        ("return Breakdown((Part('w', int(v.width)),))", "formula", "TypeError"),
        ("return 1 // 0", "size", "ZeroDivisionError"),
    ],
)
def test_a_broken_family_count_is_blamed_with_the_family_line(
    tmp_path: Path, count: str, command: str, expected: str
) -> None:
    plugin = family(tmp_path, count=count)
    spec = write(tmp_path, "r.yaml", TOYRNN)
    line = one_plugin_line(run(command, spec, "--plugin", plugin))
    assert f"plugin '{plugin}'" in line and "family 'toyrnn'" in line
    assert f"{spec}:1:9" in line and expected in line
    assert "failed while checking" not in line


def test_a_check_on_a_misspelt_field_is_refused_not_placed_at_the_start(tmp_path: Path) -> None:
    plugin = family(tmp_path, check="spec.error('widht', 'too wide')")
    spec = write(tmp_path, "r.yaml", TOYRNN)
    line = one_plugin_line(run("validate", spec, "--plugin", plugin))
    assert "failed while checking: family 'toyrnn'" in line
    assert "'widht', which is neither a field of family 'toyrnn' nor a key" in line
    assert "did you mean 'width'?" in line


def test_a_check_on_a_defaulted_field_points_at_what_caused_the_default(tmp_path: Path) -> None:
    plugin = family(tmp_path, check="spec.error('head_size', 'head_size must be 16')")
    spec = write(tmp_path, "r.yaml", TOYRNN)
    result = run("validate", spec, "--plugin", plugin)
    assert result.exit_code == 1, result.output
    assert f"{spec}:2:8: error: head_size must be 16" in result.stdout  # at width: 64


def test_a_check_on_a_key_the_spec_cannot_have_is_refused(tmp_path: Path) -> None:
    plugin = family(tmp_path, check="spec.warning(('extra', 'x'), 'consider extra.x')")
    spec = write(tmp_path, "r.yaml", TOYRNN)
    line = one_plugin_line(run("validate", spec, "--plugin", plugin))
    assert "'extra.x', which is neither a field" in line


# --------------------------------------------------------------------------- registration


def test_hookimpl_specname_is_called(tmp_path: Path) -> None:
    plugin = write(
        tmp_path,
        "named.py",
        """
        from archcalc import Breakdown, Family, Field, Part, hookimpl

        @hookimpl(specname="archcalc_families")
        def my_families():
            return [Family(name="named", description="d", fields=(Field("w", "size", "w"),),
                           count=lambda s: Breakdown((Part("w", s.values.w),)))]
        """,
    )
    spec = write(tmp_path, "n.yaml", "family: named\nw: 5\n")
    result = run("count", spec, "--json", "--plugin", plugin)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total_params"] == 5


REGISTRATION_MISTAKES = {
    "unknown x-kind": (
        "LayerType(name='se', description='d', args={'type': 'object', 'properties': "
        "{'ratio': {'x-kind': 'float'}}})",
        "layer type 'se': argument 'ratio' has x-kind 'float'",
    ),
    "required argument not declared": (
        "LayerType(name='se', description='d', args={'properties': {}, 'required': ['r']})",
        "args['required'] names 'r'",
    ),
    "duplicate field names": (
        "Family(name='f', description='d', fields=(Field('w', 'size', 'a'), "
        "Field('w', 'size', 'b')), count=len)",
        "family 'f': two fields are named 'w'",
    ),
    "duplicate leaf names": (
        "Family(name='f', description='d', fields=(Field('width', 'size', 'a'), "
        "Group('moe', 'm', (Field('moe.width', 'size', 'b'),))), count=len)",
        "fields 'width' and 'moe.width' share the leaf name 'width'",
    ),
    "default naming a missing field": (
        "Family(name='f', description='d', fields=(Field('w', 'size', 'a', "
        "default='d_model // 2'),), count=len)",
        "default 'd_model // 2' names 'd_model', which is not a field of this family",
    ),
    "bool default naming a missing field": (
        "Family(name='f', description='d', fields=(Field('b', 'bool', 'a', "
        "default='bias'),), count=len)",
        "default 'bias' must name another bool field",
    ),
    "reserved name": (
        "Family(name='f', description='d', fields=(Field('name', 'size', 'a'),), count=len)",
        "field 'name' takes a name every spec reserves",
    ),
}


@pytest.mark.parametrize("case", sorted(REGISTRATION_MISTAKES))
def test_registrations_are_validated_when_loaded(tmp_path: Path, case: str) -> None:
    made, expected = REGISTRATION_MISTAKES[case]
    hook = "archcalc_layer_types" if made.startswith("LayerType") else "archcalc_families"
    plugin = write(
        tmp_path,
        "bad.py",
        f"""
        from archcalc import Family, Field, Group, LayerType, hookimpl

        @hookimpl
        def {hook}():
            return [{made}]
        """,
    )
    spec = write(tmp_path, "s.yaml", "family: transformer\n")
    line = one_plugin_line(run("validate", spec, "--plugin", plugin))
    assert f"plugin '{plugin}' returned a malformed" in line
    assert expected in line


def test_a_broken_plugin_contributes_nothing(tmp_path: Path) -> None:
    plugin = write(
        tmp_path,
        "half.py",
        """
        from archcalc import Breakdown, Family, Field, LayerType, Part, hookimpl

        @hookimpl
        def archcalc_families():
            return [Family(name="half", description="d", fields=(Field("w", "size", "w"),),
                           count=lambda s: Breakdown((Part("w", s.values.w),)))]

        @hookimpl
        def archcalc_layer_types():
            return [LayerType(name="bad", description="d", args={"properties": {
                "k": {"x-kind": "nope"}}})]
        """,
    )
    registry = load_registry([str(plugin)], keep_broken=True)
    assert "half" not in registry.families and "bad" not in registry.layer_types
    (info,) = registry.broken
    assert info.name == str(plugin) and "x-kind 'nope'" in info.error


# --------------------------------------------------------------------------- public API


def test_star_import_and_documented_names() -> None:
    namespace: dict[str, object] = {}
    exec("from archcalc import *", namespace)
    for name in ("Resolved", "Compute", "Registry", "div", "Family", "LayerType", "Formula"):
        assert name in namespace, name


def test_div_is_exact_in_both_algebras() -> None:
    from fractions import Fraction

    import sympy

    assert archcalc.div(224, 16) == 14 and type(archcalc.div(224, 16)) is int
    assert archcalc.div(7, 2) == Fraction(7, 2)
    x = sympy.Symbol("x")
    assert archcalc.div(x, 2) == x / 2


def test_messages_never_show_a_fraction_repr(tmp_path: Path) -> None:
    spec = write(
        tmp_path,
        "s.yaml",
        "family: transformer\nn_layers: '7/2'\nd_model: 64\n"
        "n_heads: 4\nd_ff: 256\nvocab_size: 10\n",
    )
    result = run("validate", spec)
    assert result.exit_code == 1
    assert "Fraction(" not in result.output
    assert re.search(r"7/2 \(≈ 3\.5\)", result.output), result.output


# --------------------------------------------------------------------------- formula probe

SNEAKY_LAYER = """
from archcalc import LayerType, hookimpl

def params(args, shape):
    try:
        return int(shape[0]) * 2   # fine for ints; for a symbol falls back to a constant
    except TypeError:
        return 32

@hookimpl
def archcalc_layer_types():
    return [LayerType(name="squeeze_excite", description="SE block",
        args={"type": "object", "properties": {}, "additionalProperties": False},
        params=params)]
"""


@pytest.mark.parametrize("command", ["formula", "solve"])
def test_a_layer_type_that_is_not_symbolic_is_caught_by_the_probe(
    tmp_path: Path, command: str
) -> None:
    plugin = write(tmp_path, "se.py", SNEAKY_LAYER)
    spec = write(tmp_path, "net.yaml", NET)
    extra = ["--for", "width", "--target", "5000"] if command == "solve" else []
    line = one_plugin_line(run(command, spec, *extra, "--plugin", plugin))
    assert f"plugin '{plugin}'" in line and "layer type 'squeeze_excite' (params)" in line
    assert f"{spec}:9:11" in line and "its params is not symbolic: at width=32" in line
    assert "its formula gives 32 but counting gives 64" in line


def test_a_layer_type_wrong_at_the_spec_s_own_values_is_blamed_not_the_family(
    tmp_path: Path,
) -> None:
    plugin = write(tmp_path, "se.py", SNEAKY_LAYER.replace("return 32", "return 7"))
    spec = write(tmp_path, "net.yaml", NET)
    line = one_plugin_line(run("formula", spec, "--plugin", plugin))
    assert f"plugin '{plugin}'" in line and "layer type 'squeeze_excite' (params)" in line
    assert (
        f"{spec}:9:11" in line and "at width=16 its formula gives 7 but counting gives 32" in line
    )


def test_what_a_plugin_prints_goes_to_stderr_not_into_the_json(tmp_path: Path) -> None:
    count = "print('HELLO FROM PLUGIN')\n    return Breakdown((Part('w', v.width),))"
    plugin = family(tmp_path, count=count)
    plugin.write_text("print('LOADED')\n" + plugin.read_text())
    spec = write(tmp_path, "r.yaml", TOYRNN)
    result = run("count", spec, "--plugin", plugin, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total_params"] == 64
    assert "LOADED" in result.stderr and "HELLO FROM PLUGIN" in result.stderr


def test_a_plugin_that_registers_nothing_is_pointed_out(tmp_path: Path) -> None:
    spec = write(tmp_path, "r.yaml", TOYRNN)
    plugin = family(tmp_path)
    result = run("validate", spec, "--plugin", plugin, "--plugin", "json")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == (
        "archcalc: warning: plugin 'json' registers nothing (no families, layer types or "
        "Hugging Face model types): is it the module you meant?"
    )
    assert f"plugin '{plugin}'" not in result.stderr  # a plugin with a family is fine


def test_a_family_using_exact_values_for_counts_is_caught_by_the_probe(tmp_path: Path) -> None:
    plugin = family(tmp_path, count="return Breakdown((Part('w', spec.exact('width') * 2),))")
    spec = write(tmp_path, "r.yaml", TOYRNN)
    line = one_plugin_line(run("formula", spec, "--plugin", plugin))
    assert f"plugin '{plugin}' failed while building the formula: family 'toyrnn'" in line
    assert f"{spec}:1:9" in line and "its formula is not symbolic: at" in line


def test_the_probe_accepts_honest_structure_decisions(tmp_path: Path) -> None:
    count = (
        "parts = [Part('w', v.width * v.n_layers)]\n"
        "    if spec.exact('n_layers') > 1: parts.append(Part('extra', v.width))\n"
        "    return Breakdown(tuple(parts))"
    )
    plugin = family(tmp_path, count=count)
    spec = write(tmp_path, "r.yaml", TOYRNN)
    result = run("formula", spec, "--format", "json", "--plugin", plugin)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total_params"] == 64 * 2 + 64


def test_the_lora_example_uses_only_public_names() -> None:
    """The example plugin is what third parties copy: it must not reach into internals."""
    import ast

    from archcalc.plugins import transformer

    source = Path(__file__).resolve().parent.parent / "plugins" / "archcalc-lora" / "src"
    tree = ast.parse((source / "archcalc_lora" / "__init__.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("archcalc"):
            assert node.module in ("archcalc", "archcalc.plugins"), node.module
            if node.module == "archcalc":
                assert all(alias.name in archcalc.__all__ for alias in node.names)
            else:
                assert [alias.name for alias in node.names] == ["transformer"]
        if isinstance(node, ast.Import):
            assert not any(a.name.startswith("archcalc") for a in node.names)
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "transformer"
        ):
            assert node.attr in transformer.__all__, node.attr


COMPUTE_PLUGIN = """
from archcalc import Breakdown, Compute, Family, Field, Part, hookimpl

def compute(spec, seq_len):
    w = spec.values.width
    {body}

@hookimpl
def archcalc_families():
    return [Family(name="toyrnn", description="ToyRNN", fields=(Field("width", "size", "w"),),
                   count=lambda s: Breakdown((Part("w", s.values.width),)), compute=compute)]
"""


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "return Compute(seq_len, 2 * w * seq_len, w * seq_len, (('mix', 2 * w * seq_len),), w)",
            "",
        ),
        ("return {'flops': 1}", "compute returned dict, expected archcalc.sizes.Compute"),
        ("return Compute(seq_len, w / 3, 0, (), None)", "flops_per_sequence = the float"),
        ("return Compute(seq_len, -w, 0, (), None)", "a negative count"),
        ("return Compute(1, 0, 0, (), None)", "compute returned seq_len 1, asked for 2048"),
        ("return Compute(seq_len, 10, 0, (('a', 3),), None)", "do not sum to flops_per_sequence"),
    ],
)
def test_family_compute_is_a_checked_public_api(tmp_path: Path, body: str, expected: str) -> None:
    plugin = write(tmp_path, "toyrnn.py", COMPUTE_PLUGIN.format(body=body))
    spec = write(tmp_path, "r.yaml", "family: toyrnn\nwidth: 64\n")
    result = run("size", spec, "--plugin", plugin)
    if not expected:
        assert result.exit_code == 0, result.output
        assert "262,144" in result.stdout  # 2 * 64 * 2048 forward FLOPs per sequence
        return
    line = one_plugin_line(result)
    assert "failed while computing sizes: family 'toyrnn'" in line and expected in line
