"""The hook API keeps its promises: every hook is documented, tested, and its docstring
example runs.

Datasette-style honesty checks: each ``archcalc_*`` hookspec must appear in
docs/plugins.md with its signature, must be exercised by a test named
``test_hook_<name>``, and must carry an ``Example plugin::`` (a complete file) plus an
``Example spec::`` and an ``Expected total:`` that this module runs through the CLI.
"""

from __future__ import annotations

import inspect
import json
import re
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

import archcalc
from archcalc import hookspecs
from archcalc.cli import app
from archcalc.registry import load_registry

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "plugins.md"
runner = CliRunner()


def hook_names() -> list[str]:
    """Every hook specification archcalc declares."""
    names = [
        name
        for name, obj in vars(hookspecs).items()
        if callable(obj) and hasattr(obj, f"{hookspecs.PROJECT}_spec")
    ]
    assert names, "no hookspecs found"
    return sorted(names)


def signature(name: str) -> str:
    """``archcalc_families()``: the hook name and its argument names, as documented."""
    params = inspect.signature(getattr(hookspecs, name)).parameters
    return f"{name}({', '.join(params)})"


def docstring_block(doc: str, label: str) -> str:
    """The indented literal block that follows the paragraph starting with ``label``."""
    lines = inspect.cleandoc(doc).splitlines()
    for i, line in enumerate(lines):
        if line.startswith(label) and line.rstrip().endswith("::"):
            block: list[str] = []
            for body in lines[i + 1 :]:
                if body.strip() and not body.startswith((" ", "\t")):
                    break
                block.append(body)
            return textwrap.dedent("\n".join(block)).strip() + "\n"
    raise AssertionError(f"no '{label} ...::' block")


def test_hooks_are_prefixed_and_hookimpl_is_exported() -> None:
    assert all(name.startswith("archcalc_") for name in hook_names())
    assert archcalc.hookimpl is hookspecs.hookimpl


@pytest.mark.parametrize("name", hook_names())
def test_every_hook_is_documented_with_its_signature(name: str) -> None:
    docs = DOCS.read_text(encoding="utf-8")
    assert f"`{signature(name)}`" in docs, f"docs/plugins.md does not document {signature(name)}"


def test_every_hook_has_a_test() -> None:
    sources = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").rglob("test_*.py"))
    tested = set(re.findall(r"def (test_hook_\w+)\(", sources))
    missing = [n for n in hook_names() if f"test_hook_{n}" not in tested]
    assert not missing, f"hooks without a test_hook_<name>: {missing}"


@pytest.mark.parametrize("name", hook_names())
def test_hookspec_docstring_example_runs(name: str, tmp_path: Path) -> None:
    doc = getattr(hookspecs, name).__doc__ or ""
    plugin = tmp_path / f"{name}_example.py"
    plugin.write_text(docstring_block(doc, "Example plugin"), encoding="utf-8")
    if "Example config::" in doc:  # a Hugging Face config the plugin reads
        spec = tmp_path / "config.json"
        spec.write_text(docstring_block(doc, "Example config"), encoding="utf-8")
    else:
        spec = tmp_path / "example.yaml"
        spec.write_text(docstring_block(doc, "Example spec"), encoding="utf-8")
    expected = re.search(r"Expected total: (\d+)", doc)
    assert expected, "the docstring states no 'Expected total: N'"
    result = runner.invoke(app, ["count", str(spec), "--json", "--plugin", str(plugin)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total_params"] == int(expected.group(1))
    assert runner.invoke(app, ["validate", str(spec), "--plugin", str(plugin)]).exit_code == 0


def test_hook_archcalc_families(tmp_path: Path) -> None:
    """One plugin may return several families; each is owned by it and usable."""
    plugin = tmp_path / "two.py"
    plugin.write_text(
        textwrap.dedent(
            """
            from archcalc import Breakdown, Family, Field, Part, hookimpl

            def make(name, factor):
                return Family(name=name, description=name,
                              fields=(Field("width", "size", "w"),),
                              count=lambda s: Breakdown((Part("w", factor * s.values.width),)))

            @hookimpl
            def archcalc_families():
                return (make("double", 2), make("triple", 3))  # any iterable will do
            """
        ),
        encoding="utf-8",
    )
    registry = load_registry([str(plugin)])
    assert registry.owners["double"] == registry.owners["triple"] == str(plugin)
    assert registry.owners["transformer"] == "archcalc.plugins.transformer"
    info = next(p for p in registry.plugins if p.name == str(plugin))
    assert info.families == ("double", "triple")
    spec = tmp_path / "s.yaml"
    spec.write_text("family: triple\nwidth: 5\n", encoding="utf-8")
    result = runner.invoke(app, ["count", str(spec), "--json", "--plugin", str(plugin)])
    assert json.loads(result.stdout)["total_params"] == 15


def test_hook_archcalc_families_none_means_nothing(tmp_path: Path) -> None:
    """A plugin that implements the hook but returns None provides no families (no error)."""
    plugin = tmp_path / "empty.py"
    plugin.write_text(
        "from archcalc import hookimpl\n\n@hookimpl\ndef archcalc_families():\n    return None\n",
        encoding="utf-8",
    )
    registry = load_registry([str(plugin)])
    assert next(p for p in registry.plugins if p.name == str(plugin)).families == ()


POINTWISE = """
from archcalc import LayerType, hookimpl


def params(a, s):
    return s[0] * a["out_channels"] + (a["out_channels"] if a["bias"] else 0)


def shape(a, s):
    return (a["out_channels"], *s[1:])


def check(a, s, report):
    if a["out_channels"] > 4 * s[0]:
        report(f"out_channels ({a['out_channels']}) is more than 4 x the {s[0]} input channels")


@hookimpl
def archcalc_layer_types():
    return [
        LayerType(
            name="pointwise",
            description="A 1x1 convolution.",
            args={
                "type": "object",
                "properties": {
                    "out_channels": {
                        "anyOf": [{"type": "integer", "minimum": 1}, {"type": "string"}],
                        "x-kind": "size",
                        "description": "Output channels.",
                    },
                    "bias": {"type": "boolean", "x-kind": "bool", "default": True,
                             "description": "Whether there is a bias."},
                },
                "required": ["out_channels"],
                "additionalProperties": False,
            },
            params=params,
            shape=shape,
            check=check,
            ranks=(3,),
        )
    ]
"""


def _cnn(tmp_path: Path, name: str, *layers: str) -> Path:
    path = tmp_path / name
    body = "".join(f"  - {layer}\n" for layer in layers)
    path.write_text(f"family: cnn\ninput: [3, 8, 8]\nlayers:\n{body}", encoding="utf-8")
    return path


def test_hook_archcalc_layer_types(tmp_path: Path) -> None:
    """A plugin's layer type counts, shapes what follows, checks, and is listed."""
    plugin = tmp_path / "pointwise.py"
    plugin.write_text(POINTWISE, encoding="utf-8")
    good = _cnn(
        tmp_path,
        "good.yaml",
        "pointwise: {out_channels: 8}",  # 3*8 + 8
        "conv2d: {out_channels: 4, kernel_size: 3}",  # in_channels inferred as 8: 8*4*9 + 4
        "pointwise: {out_channels: 16, bias: false}",  # 4*16
    )
    result = runner.invoke(app, ["count", str(good), "--json", "--plugin", str(plugin)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total_params"] == 32 + 292 + 64

    wide = _cnn(tmp_path, "wide.yaml", "pointwise: {out_channels: 64}")
    result = runner.invoke(app, ["validate", str(wide), "--plugin", str(plugin)])
    assert result.exit_code == 1
    assert f"{wide}:4:5: error: layers[0] (pointwise): out_channels (64) is more than 4 x" in (
        result.stdout
    )
    flat = _cnn(tmp_path, "flat.yaml", "flatten", "pointwise: {out_channels: 2}")
    result = runner.invoke(app, ["validate", str(flat), "--plugin", str(plugin)])
    assert "expects a 3-D input" in result.stdout
    typo = _cnn(tmp_path, "typo.yaml", "pointwise: {out_channel: 2}")
    result = runner.invoke(app, ["validate", str(typo), "--plugin", str(plugin)])
    assert result.exit_code == 1 and "out_channel" in result.stdout

    registry = load_registry([str(plugin)])
    assert registry.layer_owners["pointwise"] == str(plugin)
    rows = json.loads(runner.invoke(app, ["plugins", "--json", "--plugin", str(plugin)]).stdout)
    mine = next(r for r in rows if r["name"] == str(plugin))
    assert mine["layer_types"] == ["pointwise"] and mine["families"] == []
    schema = runner.invoke(app, ["schema", "cnn", "--plugin", str(plugin)]).stdout
    assert '"pointwise"' in schema


def test_hook_archcalc_layer_types_clash_names_both_plugins(tmp_path: Path) -> None:
    plugin = tmp_path / "clash.py"
    plugin.write_text(POINTWISE.replace('name="pointwise"', 'name="conv2d"'), encoding="utf-8")
    spec = _cnn(tmp_path, "s.yaml", "relu")
    result = runner.invoke(app, ["count", str(spec), "--plugin", str(plugin)])
    assert result.exit_code == 3
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "'archcalc.plugins.cnn_layers'" in lines[0]
    assert f"'{plugin}'" in lines[0] and "conv2d" in lines[0]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("raise ValueError('nope')", "failed in archcalc_layer_types: ValueError: nope"),
        ("return [object()]", "expected archcalc.LayerType"),
    ],
)
def test_hook_archcalc_layer_types_failures_are_attributed(
    tmp_path: Path, body: str, expected: str
) -> None:
    plugin = tmp_path / "broken_layers.py"
    plugin.write_text(
        f"from archcalc import hookimpl\n\n@hookimpl\ndef archcalc_layer_types():\n    {body}\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["plugins", "--plugin", str(plugin)])
    assert result.exit_code == 3
    assert result.stderr.count("\n") == 1 and f"plugin '{plugin}'" in result.stderr
    assert expected in result.stderr


def _guide_blocks(language: str) -> list[str]:
    text = DOCS.read_text(encoding="utf-8")
    return re.findall(rf"```{language}\n(.*?)```", text, re.S)


@pytest.mark.parametrize(
    ("plugin_head", "spec_head", "total"),
    [("# affine.py", "# mnist.yaml", 7850), ("# pointwise.py", "family: cnn", 388)],
)
def test_guide_examples_run(plugin_head: str, spec_head: str, total: int, tmp_path: Path) -> None:
    """The plugin author guide's examples are real: copied verbatim, they count as shown."""
    plugin_src = next(b for b in _guide_blocks("python") if b.startswith(plugin_head))
    spec_src = next(b for b in _guide_blocks("yaml") if b.startswith(spec_head))
    plugin = tmp_path / plugin_head.removeprefix("# ")
    plugin.write_text(plugin_src, encoding="utf-8")
    spec = tmp_path / "spec.yaml"
    spec.write_text(spec_src, encoding="utf-8")
    result = runner.invoke(app, ["count", str(spec), "--json", "--plugin", str(plugin)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total_params"] == total
    formula = runner.invoke(app, ["formula", str(spec), "--plugin", str(plugin)])
    assert formula.exit_code == 0, formula.output


@pytest.mark.parametrize(
    "name", ["Family", "Field", "Group", "Part", "Breakdown", "LayerType", "Tensor"]
)
def test_registration_types_are_exported_and_documented(name: str) -> None:
    assert name in archcalc.__all__
    fields = inspect.signature(getattr(archcalc, name)).parameters
    heading = next(
        line
        for line in DOCS.read_text(encoding="utf-8").splitlines()
        if line.startswith(f"### `{name}(")
    )
    for field_name in fields:  # every constructor argument is named in the heading
        assert field_name in heading, f"docs/plugins.md: {name} does not mention {field_name}"


AFFINE_HF = """
from archcalc import Breakdown, Family, Field, HFModelType, Part, hookimpl


def count(spec):
    return Breakdown((Part("w", spec.values.n_in * spec.values.n_out),))


def translate(config):
    config.set("n_in", config.size("input_size"), "input_size")
    config.set("n_out", config.size("output_size", default=10), "output_size")
    config.only("low_rank", False)
    TRANSLATE_EXTRA


@hookimpl
def archcalc_families():
    fields = (Field("n_in", "size", "in"), Field("n_out", "size", "out"))
    return [Family(name="affine", description="a map", fields=fields, count=count)]


@hookimpl
def archcalc_hf_model_types():
    return [HFModelType(MODEL_TYPE, family=FAMILY, translate=translate)]
"""


def _hf_plugin(tmp_path: Path, model_type: str = "affine", family: str = "affine", extra=""):
    plugin = tmp_path / "affine_hf.py"
    source = AFFINE_HF.replace("MODEL_TYPE", repr(model_type)).replace("FAMILY", repr(family))
    plugin.write_text(source.replace("TRANSLATE_EXTRA", extra or "pass"), encoding="utf-8")
    return plugin


def test_hook_archcalc_hf_model_types(tmp_path: Path) -> None:
    """A plugin's model_type is read into its family, located, with its defaults shown."""
    plugin = _hf_plugin(tmp_path)
    config = tmp_path / "config.json"
    config.write_text('{"model_type": "affine",\n "input_size": 784}', encoding="utf-8")
    result = runner.invoke(app, ["count", str(config), "--json", "--plugin", str(plugin)])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["total_params"] == 7840 and out["family"] == "affine"
    assert out["hf_model_type"] == "affine"
    assert {k: str(v) for k, v in out["defaults_used"].items()} == {"output_size": "10"}
    registry = load_registry([str(plugin)])
    assert registry.hf_owners["affine"] == str(plugin)
    assert next(p for p in registry.plugins if p.name == str(plugin)).hf_model_types == ("affine",)
    rows = json.loads(runner.invoke(app, ["plugins", "--json", "--plugin", str(plugin)]).stdout)
    assert next(r for r in rows if r["name"] == str(plugin))["hf_model_types"] == ["affine"]

    config.write_text('{"model_type": "affine",\n "input_size": 0, "low_rank": true}')
    result = runner.invoke(app, ["count", str(config), "--plugin", str(plugin)])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == f"{config}:2:16: error: 'input_size' must be an integer ≥ 1, got 0 [H401]"
    assert "affine: low_rank: true is not supported (it changes parameter shapes)" in lines[1]


@pytest.mark.parametrize(
    ("model_type", "family", "extra", "expected"),
    [
        ("llama", "affine", "", "plugins 'archcalc.plugins.transformer_hf' and"),
        ("affine", "nope", "", "into family 'nope', which no plugin provides"),
        ("affine", "affine", "1 / 0", "failed while reading"),
    ],
)
def test_hook_archcalc_hf_model_types_failures_are_the_plugins(
    tmp_path: Path, model_type: str, family: str, extra: str, expected: str
) -> None:
    plugin = _hf_plugin(tmp_path, model_type, family, extra)
    config = tmp_path / "config.json"
    config.write_text('{"model_type": "affine", "input_size": 4}', encoding="utf-8")
    result = runner.invoke(app, ["count", str(config), "--plugin", str(plugin)])
    assert result.exit_code == 3, result.output
    assert result.stderr.count("\n") == 1 and expected in result.stderr
    assert f"'{plugin}'" in result.stderr


def test_guide_hf_example_runs(tmp_path: Path) -> None:
    """The guide's Hugging Face translator, with its config, counts as the guide shows."""
    for head in ("# affine.py", "# affine_hf.py"):
        source = next(b for b in _guide_blocks("python") if b.startswith(head))
        (tmp_path / head.removeprefix("# ")).write_text(source, encoding="utf-8")
    config = tmp_path / "config.json"
    config.write_text(next(b for b in _guide_blocks("json") if '"affine"' in b), encoding="utf-8")
    plugins = ["--plugin", str(tmp_path / "affine.py"), "--plugin", str(tmp_path / "affine_hf.py")]
    result = runner.invoke(app, ["count", str(config), "--json", *plugins])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total_params"] == 7840
    spec = tmp_path / "mnist.yaml"
    result = runner.invoke(app, ["import-hf", str(config), "-o", str(spec), *plugins])
    assert result.exit_code == 0, result.output
    counted = runner.invoke(app, ["count", str(spec), "--json", *plugins])
    assert json.loads(counted.stdout)["total_params"] == 7840
