"""family: cnn graphs: branch combinators, templates, tables, conditions, tensors and MACs.

Counts are checked against torchvision (the examples, reference/vision_counts.py) or as
laws: a template call counts what its layers written inline count, a table what its rows
written one after the other count, and so on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from archcalc.plugins import cnn
from archcalc.plugins.cnn_graph import BASE_STEPS, STEPS_PER_NODE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import archcalc
from archcalc import api
from archcalc.cli import app
from archcalc.errors import PluginError, SpecError
from archcalc.registry import load_registry
from archcalc.tensors import tensors_of
from tests.helpers import EXAMPLES, python_calls, reference, write_spec

TORCHVISION = EXAMPLES / "torchvision"
runner = CliRunner()


def vision(case: str) -> dict[str, Any]:
    return reference("vision")[case]


def load(tmp_path: Path, spec: dict[str, Any], name: str = "spec.yaml") -> api.Spec:
    return archcalc.load_spec(write_spec(tmp_path, spec, name))


def total(tmp_path: Path, spec: dict[str, Any], name: str = "spec.yaml") -> int:
    return archcalc.count(load(tmp_path, spec, name)).total_params


def problems(tmp_path: Path, spec: dict[str, Any]) -> list[archcalc.Diagnostic]:
    with pytest.raises(SpecError) as info:
        load(tmp_path, spec)
    return [d for d in info.value.diagnostics if d.severity == "error"]


def line_of(tmp_path: Path, needle: str, name: str = "spec.yaml") -> int:
    lines = (tmp_path / name).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def conv(out: Any, k: Any = 3, **extra: Any) -> dict[str, Any]:
    return {"conv2d": {"out_channels": out, "kernel_size": k, **extra}}


def cnn_spec(layers: list[Any], shape: list[int] | None = None, **top: Any) -> dict[str, Any]:
    return {"family": "cnn", **top, "input": shape or [3, 16, 16], "layers": layers}


# --------------------------------------------------------------------------- the examples


@pytest.mark.parametrize("path", sorted(TORCHVISION.glob("*.yaml")), ids=lambda p: p.stem)
def test_torchvision_example_equals_torchvision(path: Path) -> None:
    spec = archcalc.load_spec(path)
    case = vision(path.stem)
    counted = archcalc.count(spec).total_params
    assert counted == case["total_params"]
    formula = archcalc.formula(spec)
    assert formula.substitute(formula.total) == counted
    assert "$schema=../../schemas/archcalc.schema.json" in path.read_text(encoding="utf-8")
    rows = api.shapes(spec)
    if rows is not None:
        assert list(rows[-1].shape) == case["output"] and rows[0].shape == tuple(case["input"])
        listed = tensors_of(spec)  # checks the law: the tensors sum to the count
        assert listed is not None and sum(t.numel for t in listed) == counted


FLOP_EXAMPLES = [
    *sorted(TORCHVISION.glob("*.yaml")),
    *(EXAMPLES / f"{name}.yaml" for name in ("resnet18", "resnet50", "vgg16", "mobilenet-v2")),
]


@pytest.mark.parametrize("path", FLOP_EXAMPLES, ids=lambda p: p.stem)
def test_size_flops_equal_flop_counter_mode(path: Path) -> None:
    """``archcalc size``: 2 × multiply-adds, as FlopCounterMode counts a forward pass."""
    result = runner.invoke(app, ["size", str(path), "--json"])
    assert result.exit_code == 0, result.output
    flops = json.loads(result.stdout)["forward_flops"]
    assert flops["per_input"] == vision(path.stem.replace("-", "_"))["flops"]
    assert 2 * flops["multiply_adds_per_input"] == flops["per_input"]
    assert sum(flops["components"].values()) == flops["per_input"]


def test_every_example_the_issue_lists_exists() -> None:
    builders = [
        *("densenet121", "efficientnet_b0", "efficientnet_v2_s", "mobilenet_v3_small"),
        *("mobilenet_v3_large", "convnext_tiny", "regnet_y_400mf", "shufflenet_v2_x1_0"),
        *("squeezenet1_1", "googlenet", "inception_v3", "mnasnet1_0", "swin_t", "maxvit_t"),
        *("resnet18", "vit_b_16"),
    ]
    assert {p.stem for p in TORCHVISION.glob("*.yaml")} == set(builders)


def test_the_examples_use_the_new_mechanisms() -> None:
    """Templates and tables are what make them short: none is a flat list of layers."""
    for path in TORCHVISION.glob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if data["family"] == "cnn" and path.stem != "squeezenet1_1":
            assert "templates" in data, path


# --------------------------------------------------------------------------- layer references


def layer_cases() -> dict[str, Any]:
    import json

    from tests.helpers import DATA

    text = (DATA / "reference" / "vision.json").read_text(encoding="utf-8")
    return json.loads(text)["layers"]


@pytest.mark.parametrize("case_id", sorted(layer_cases()))
def test_layer_tensors_and_macs_equal_torch(tmp_path: Path, case_id: str) -> None:
    """State-dict names and shapes as torch's named_parameters; 2 x MACs as FlopCounterMode."""
    case = layer_cases()[case_id]
    item = {case["layer"]: case["args"]} if case["args"] else case["layer"]
    spec = load(tmp_path, cnn_spec([item], case["input"]))
    listed = [(t.name, list(t.shape)) for t in cnn.tensors(spec.exact)]
    assert sorted(listed) == sorted((f"0.{name}", shape) for name, shape in case["tensors"])
    assert 2 * cnn.macs(spec.exact) == case["flops"]


# --------------------------------------------------------------------------- laws

BLOCK = [conv(8, padding=1), "batchnorm2d", "relu", conv(8, padding=1)]


def test_a_template_counts_what_its_layers_written_inline_count(tmp_path: Path) -> None:
    block = [conv("width", padding=1), "batchnorm2d", "relu"]
    inline = [
        conv(12, padding=1),
        "batchnorm2d",
        "relu",
        conv(20, padding=1),
        "batchnorm2d",
        "relu",
    ]
    templated = cnn_spec(
        [{"unit": {"width": 12}}, {"unit": {"width": 20}}],
        templates={"unit": {"params": ["width"], "layers": block}},
    )
    assert total(tmp_path, templated, "a.yaml") == total(tmp_path, cnn_spec(inline), "b.yaml")


def test_a_table_counts_its_rows_one_after_the_other(tmp_path: Path) -> None:
    table = {
        "for_each": {
            "columns": ["c", "s"],
            "rows": [[8, 1], [16, 2], [24, 2]],
            "layers": [conv("c", stride="s", padding=1), "relu"],
        }
    }
    rows = [conv(8, stride=1, padding=1), "relu", conv(16, stride=2, padding=1), "relu"]
    rows += [conv(24, stride=2, padding=1), "relu"]
    assert total(tmp_path, cnn_spec([table]), "a.yaml") == total(tmp_path, cnn_spec(rows), "b.yaml")
    called = cnn_spec(
        [{"for_each": {"template": "unit", "columns": ["c", "s"], "rows": [[8, 1], [16, 2]]}}],
        templates={"unit": {"params": ["c", "s"], "layers": [conv("c", stride="s", padding=1)]}},
    )
    direct = cnn_spec([conv(8, stride=1, padding=1), conv(16, stride=2, padding=1)])
    assert total(tmp_path, called, "c.yaml") == total(tmp_path, direct, "d.yaml")


def test_repeat_first_replaces_the_first_copy(tmp_path: Path) -> None:
    first = [conv(8, stride=2, padding=1)]
    rest = [{"residual": {"layers": BLOCK}}]
    repeated = cnn_spec([{"repeat": {"times": 4, "first": first, "layers": rest}}])
    written = cnn_spec([*first, {"repeat": {"times": 3, "layers": rest}}])
    assert total(tmp_path, repeated, "a.yaml") == total(tmp_path, written, "b.yaml")
    once = cnn_spec([{"repeat": {"times": 1, "first": first, "layers": rest}}])
    assert total(tmp_path, once, "c.yaml") == total(tmp_path, cnn_spec(first), "d.yaml")


def test_concat_adds_channels_and_split_shares_them(tmp_path: Path) -> None:
    spec = load(tmp_path, cnn_spec([{"concat": [[], [conv(5, padding=1)], [conv(7, 1)]]}]))
    assert api.shapes(spec)[-1].shape == (3 + 5 + 7, 16, 16)
    split = load(
        tmp_path,
        cnn_spec([conv(12, 1), {"split": {"sizes": [4, 8], "branches": [[conv(6, 1)], []]}}]),
        "s.yaml",
    )
    rows = api.shapes(split)
    assert rows[-1].shape == (6 + 8, 16, 16)
    assert [r.shape[0] for r in rows if r.layer == "conv2d"] == [12, 6]  # the piece had 4
    assert archcalc.count(split).total_params == (3 * 12 + 12) + (4 * 6 + 6)


def test_mul_broadcasts_a_gate_over_the_map(tmp_path: Path) -> None:
    gate = [{"adaptive_avgpool2d": {"output_size": 1}}, conv(3, 1), "sigmoid"]
    spec = load(tmp_path, cnn_spec([{"mul": [[], gate]}]))
    assert api.shapes(spec)[-1].shape == (3, 16, 16)
    se = load(tmp_path, cnn_spec([{"squeeze_excitation": {"squeeze_channels": 3}}]), "se.yaml")
    explicit = cnn_spec(
        [
            {
                "mul": [
                    [],
                    [{"adaptive_avgpool2d": {"output_size": 1}}, conv(3, 1), "relu", conv(3, 1)],
                ]
            }
        ]
    )
    assert archcalc.count(se).total_params == total(tmp_path, explicit, "x.yaml")


def test_if_picks_a_branch_from_a_condition(tmp_path: Path) -> None:
    def spec(stride: int, out: int) -> dict[str, Any]:
        body = [conv("out", padding=1, stride="stride")]
        return cnn_spec(
            [{"block": {"stride": stride, "out": out}}],
            templates={
                "block": {
                    "params": ["stride", "out", "body"],
                    "defaults": {"body": body},
                    "layers": [
                        {
                            "if": {
                                "condition": "stride == 1 and out == 3",
                                "then": [{"residual": {"layers": "body"}}],
                                "else": "body",
                            }
                        }
                    ],
                }
            },
        )

    kept = load(tmp_path, spec(1, 3), "a.yaml")
    assert any(r.layer == "add of 2" for r in api.shapes(kept))
    changed = load(tmp_path, spec(2, 3), "b.yaml")
    assert not any(r.layer == "add of 2" for r in api.shapes(changed))


def test_layers_and_sizes_pass_as_template_arguments(tmp_path: Path) -> None:
    templated = cnn_spec(
        [{"unit": {"kernel": [1, 3], "padding": [0, 1], "act": "relu", "gate": []}}],
        templates={
            "unit": {
                "params": ["kernel", "padding", "act", "gate"],
                "layers": [conv(4, "kernel", padding="padding"), "act", "gate"],
            }
        },
    )
    inline = cnn_spec([conv(4, [1, 3], padding=[0, 1]), "relu"])
    spec = load(tmp_path, templated, "a.yaml")
    assert archcalc.count(spec).total_params == total(tmp_path, inline, "b.yaml")
    assert [r.layer for r in api.shapes(spec)][1:] == ["conv2d", "relu"]


def test_formula_follows_template_arguments(tmp_path: Path) -> None:
    spec_dict = cnn_spec(
        [{"for_each": {"template": "unit", "columns": ["c"], "rows": [["w"], ["2 * w"]]}}],
        vars={"w": 8},
        templates={"unit": {"params": ["c"], "layers": [conv("c", padding=1), "batchnorm2d"]}},
    )
    spec = load(tmp_path, spec_dict)
    formula = archcalc.formula(spec)
    assert {s.name for s in formula.total.free_symbols} == {"w"}
    assert formula.substitute(formula.total) == archcalc.count(spec).total_params
    bigger = archcalc.load_spec(tmp_path / "spec.yaml", ["w=24"])
    assert formula.total.subs({s: 24 for s in formula.total.free_symbols}) == (
        archcalc.count(bigger).total_params
    )


def test_a_block_alternating_between_two_shapes_is_counted_by_period(tmp_path: Path) -> None:
    swap = [{"permute": {"dims": [0, 2, 1]}}, {"linear": {"out_features": 6}}]
    many = cnn_spec([{"repeat": {"times": 10**12, "layers": swap}}], [6, 5])
    few = cnn_spec([{"repeat": {"times": 4, "layers": swap}}], [6, 5])
    big = total(tmp_path, many, "a.yaml")
    # Counted by period: 10**12 repetitions cost what 4 do (work, not a clock).
    work = python_calls(lambda: total(tmp_path, few, "b.yaml"))
    assert python_calls(lambda: total(tmp_path, many, "a.yaml")) <= 1.5 * work
    per_two = total(tmp_path, few, "b.yaml") // 2  # (6, 5) -> (5, 6) -> (6, 6) then (6, 6)
    assert big > per_two * 10**11


# --------------------------------------------------------------------------- located errors


def test_concat_of_mismatched_spatial_sizes_is_located_at_the_branch(tmp_path: Path) -> None:
    spec = cnn_spec([{"concat": [[conv(4, padding=1)], [conv(4, stride=2, padding=1)]]}])
    (problem,) = problems(tmp_path, spec)
    assert problem.code == "C604"
    assert problem.message.startswith("layers[0].concat[1]: branch 2 gives (4, 8, 8)")
    lines = (tmp_path / "spec.yaml").read_text(encoding="utf-8").splitlines()
    branches = [i for i, line in enumerate(lines, 1) if line.strip().startswith("- - conv2d")]
    assert problem.line == branches[1]


def test_mul_of_unbroadcastable_shapes_is_located_at_the_branch(tmp_path: Path) -> None:
    spec = cnn_spec([{"mul": {"branches": [[], [conv(4, 1)]]}}])
    (problem,) = problems(tmp_path, spec)
    assert problem.code == "C604" and "does not broadcast" in problem.message
    assert problem.message.startswith("layers[0].mul.branches[1]: branch 2 gives (4, 16, 16)")


def test_a_template_called_without_an_argument_is_located_at_the_call(tmp_path: Path) -> None:
    spec = cnn_spec(
        ["relu", {"unit": {"widht": 4}}],
        templates={"unit": {"params": ["width", "stride"], "layers": [conv("width")]}},
    )
    found = problems(tmp_path, spec)
    messages = sorted(d.message for d in found)
    assert any("template 'unit' needs 'width', 'stride'" in m for m in messages)
    assert any("has no parameter 'widht'; did you mean 'width'?" in m for m in messages)
    call = line_of(tmp_path, "- unit:")
    assert {d.line for d in found} <= {call, call + 1}
    assert all(d.code == "C607" for d in found)


def test_a_template_that_calls_itself_is_an_error(tmp_path: Path) -> None:
    spec = cnn_spec(["a"], templates={"a": {"layers": ["b"]}, "b": {"layers": ["relu", "a"]}})
    (problem,) = problems(tmp_path, spec)
    assert "calls itself (a → b → a)" in problem.message


def test_repeat_times_zero_is_an_error(tmp_path: Path) -> None:
    found = problems(tmp_path, cnn_spec([{"repeat": {"times": 0, "layers": ["relu"]}}]))
    assert found and found[0].line == line_of(tmp_path, "times: 0")
    expr = cnn_spec([{"repeat": {"times": "blocks - 2", "layers": ["relu"]}}], vars={"blocks": 2})
    (problem,) = problems(tmp_path, expr)
    assert "times is 0" in problem.message


def test_a_rank_mismatch_is_located_at_the_input_and_at_the_layer(tmp_path: Path) -> None:
    found = problems(tmp_path, cnn_spec(["relu", conv(4)], [3, 16]))
    lines = sorted(d.line for d in found)
    assert lines == [line_of(tmp_path, "input:"), line_of(tmp_path, "conv2d:")]
    assert all(d.code == "C603" for d in found)


def test_independent_layer_errors_are_all_reported_in_one_run(tmp_path: Path) -> None:
    layers = [
        conv(4, groups=2),  # 3 channels do not split into 2 groups
        "relu",
        {"maxpool2d": {"kernel_size": 2}},
        conv(5, groups=2),  # 4 channels split, 5 do not
        {"linearr": {"out_features": 3}},
        {"dropout": {"p": 2}},
        {"repeat": {"times": 0, "layers": ["relu"]}},
    ]
    found = problems(tmp_path, cnn_spec(layers))
    joined = "\n".join(d.message for d in found)
    assert "layers[0] (conv2d): in_channels (3) is not divisible by groups (2)" in joined
    assert "layers[3] (conv2d): in_channels (4) is not divisible by groups (2)" not in joined
    assert "out_channels (5) is not divisible by groups (2)" in joined
    assert "unknown layer 'linearr'" in joined
    assert "dropout.p: 2 is greater than the maximum of 1" in joined
    assert "times" in joined
    assert len({d.line for d in found}) >= 5


def test_dropout_probability_is_bounded_even_as_an_expression(tmp_path: Path) -> None:
    for p in (2, "1 + 1", -0.5):
        (problem,) = problems(tmp_path, cnn_spec([{"dropout": {"p": p}}]))
        assert problem.line == line_of(tmp_path, "p:")
    assert total(tmp_path, cnn_spec([{"dropout": {"p": "1 / 2"}}]), "ok.yaml") == 0


def test_a_repeat_that_never_settles_stops_quickly_with_a_located_error(tmp_path: Path) -> None:
    grow = [{"repeat": {"times": 10**9, "layers": [conv(4, 1, padding=1)]}}]
    (problem,) = problems(tmp_path, cnn_spec(grow))
    # The step budget bounds the work (about 1.5M calls), never 10**9 evaluations.
    assert python_calls(lambda: problems(tmp_path, cnn_spec(grow))) < 20_000_000
    assert problem.code == "C606" and problem.line == line_of(tmp_path, "conv2d:")
    nodes = len(yaml.safe_dump(cnn_spec(grow)).split())  # a rough size: the budget is linear
    assert f"{BASE_STEPS:,}"[:2] in problem.message or "layer evaluations" in problem.message
    assert STEPS_PER_NODE * nodes < 10 * BASE_STEPS


def test_nested_repeats_beyond_any_model_are_a_spec_error(tmp_path: Path) -> None:
    inner: Any = [conv(4, padding=1)]
    for _ in range(20):
        inner = [{"repeat": {"times": 10**18, "layers": inner}}]
    path = write_spec(tmp_path, cnn_spec(inner, [4, 8, 8]))
    for command in ("count", "formula", "size", "validate"):
        result = runner.invoke(app, [command, str(path)])
        assert result.exit_code == 1, (command, result.output)
        assert "C606" in result.output and "internal error" not in result.output


def test_formula_of_a_graph_without_parameters(tmp_path: Path) -> None:
    path = write_spec(tmp_path, cnn_spec(["relu", {"maxpool2d": {"kernel_size": 2}}]))
    result = runner.invoke(app, ["formula", str(path)])
    assert result.exit_code == 0, result.output
    assert "total_params = 0" in result.output


def test_a_failing_plugin_layer_type_is_blamed_on_its_plugin(tmp_path: Path) -> None:
    plugin = tmp_path / "broken_layers.py"
    plugin.write_text(
        "from archcalc import LayerType, hookimpl\n"
        "def params(args, shape):\n"
        "    raise ZeroDivisionError('oops')\n"
        "@hookimpl\n"
        "def archcalc_layer_types():\n"
        "    return [LayerType(name='broken', description='Fails.', params=params)]\n"
    )
    registry = load_registry([str(plugin)])
    path = write_spec(tmp_path, cnn_spec(["relu", {"broken": {}}]))
    saved, api._default_registry = api._default_registry, registry
    try:
        with pytest.raises(PluginError) as info:
            archcalc.count(archcalc.load_spec(path, registry=registry))
    finally:
        api._default_registry = saved
    message = str(info.value)
    assert "broken_layers" in message and "'broken'" in message
    assert f":{line_of(tmp_path, 'broken')}:" in message and "layers[1]" in message


# --------------------------------------------------------------------------- output


def test_shapes_show_branches_and_their_combination(tmp_path: Path) -> None:
    path = write_spec(tmp_path, cnn_spec([{"concat": [[], [conv(5, padding=1)]]}]))
    result = runner.invoke(app, ["count", str(path), "--shapes"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    combined = next(i for i, line in enumerate(lines) if "concat of 2" in line)
    branch = next(i for i, line in enumerate(lines) if "layers[0].concat[1][0]" in line)
    assert combined > branch and "(8, 16, 16)" in lines[combined]


def test_tensor_names_are_sequential_paths(tmp_path: Path) -> None:
    spec = load(
        tmp_path,
        cnn_spec(
            [
                conv(4, name="stem"),
                {
                    "repeat": {
                        "times": 3,
                        "layers": [{"residual": {"layers": [conv(4, padding=1)]}}],
                    }
                },
                {"concat": [[], [conv(2, 1, bias=False)]]},
            ]
        ),
    )
    names = [t.name for t in tensors_of(spec)]
    assert names[:2] == ["stem.weight", "stem.bias"]
    assert "1.2.0.layers.0.weight" in names and "2.1.0.weight" in names
    assert "2.1.0.bias" not in names


# --------------------------------------------------------------------------- fuzzing

SMALL = st.integers(1, 6)
LEAF = st.one_of(
    st.just("relu"),
    st.builds(lambda c: conv(c, 1), SMALL),
    st.builds(lambda c: conv(c, 3, padding=1), SMALL),
    st.just({"maxpool2d": {"kernel_size": 2, "ceil_mode": True}}),
    st.just({"squeeze_excitation": {"squeeze_channels": 2}}),
    st.just("batchnorm2d"),
)


def _branches(children: Any) -> Any:
    items = st.lists(children, max_size=3)
    branches = st.lists(items, min_size=1, max_size=3)
    return st.one_of(
        st.builds(lambda b: {"concat": b}, branches),
        st.builds(lambda b: {"add": b}, branches),
        st.builds(lambda b: {"mul": b}, branches),
        st.builds(lambda b: {"split": b}, branches),
        st.builds(lambda a: {"repeat": {"times": 3, "layers": a}}, items),
        st.builds(lambda a, f: {"repeat": {"times": 2, "first": f, "layers": a}}, items, items),
        st.builds(lambda a: {"unit": {"width": 4, "body": a}}, items),
    )


TREES = st.lists(st.recursive(LEAF, _branches, max_leaves=10), min_size=1, max_size=4)
TEMPLATES = {"unit": {"params": ["width", "body"], "layers": [conv("width", 1), "body"]}}


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(layers=TREES, channels=st.integers(1, 8), size=st.integers(1, 9))
def test_any_graph_counts_with_the_laws_or_is_refused(
    tmp_path: Path, layers: list[Any], channels: int, size: int
) -> None:
    """A valid graph: formula, shapes and tensors all agree with the count."""
    spec_dict = cnn_spec(layers, [channels, size, size], templates=TEMPLATES)
    try:
        spec = load(tmp_path, spec_dict)
    except SpecError as exc:
        assert exc.diagnostics and all(d.line >= 1 for d in exc.diagnostics)
        return
    counted = archcalc.count(spec).total_params
    rows = api.shapes(spec)
    assert rows is not None and sum(r.params * r.times for r in rows) == counted
    listed = tensors_of(spec)
    assert listed is not None and sum(t.numel for t in listed) == counted
    formula = archcalc.formula(spec)
    assert formula.substitute(formula.total) == counted


def test_the_readme_documents_every_layer_type_and_composition() -> None:
    """The README's cnn section is the guide a new user writes specs from."""
    from archcalc.plugins import cnn_blocks, cnn_layers
    from archcalc.plugins.cnn_graph import COMPOSITIONS

    from tests.helpers import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### family: cnn") : readme.index("### family: vit")]
    names = [t.name for t in (*cnn_layers.layer_types(), *cnn_blocks.layer_types())]
    for name in [*names, *COMPOSITIONS, "templates", "params", "defaults", "first", "name:"]:
        assert f"`{name}" in section or f"{name}`" in section or f" {name}/" in section, name
