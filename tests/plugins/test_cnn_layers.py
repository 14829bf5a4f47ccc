"""The built-in layer types: every formula and shape rule against the torch module itself."""

from __future__ import annotations

import importlib
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import archcalc
from archcalc import api
from archcalc.errors import PluginError, SpecError
from archcalc.registry import load_registry
from tests.helpers import DATA, write_spec

cnn_layers = importlib.import_module("archcalc.plugins.cnn_layers")


@cache
def layer_table() -> dict[str, Any]:
    """tests/data/reference/vision.json 'layers', written by reference/vision_counts.py."""
    text = (DATA / "reference" / "vision.json").read_text(encoding="utf-8")
    return json.loads(text)["layers"]


def one_layer(tmp_path: Path, layer: str, args: dict[str, Any], shape: list[Any]) -> Path:
    item: Any = {layer: args} if args else layer
    return write_spec(tmp_path, {"family": "cnn", "input": shape, "layers": [item]})


@pytest.mark.parametrize("case_id", sorted(layer_table()))
def test_layer_params_and_shape_equal_torch(tmp_path: Path, case_id: str) -> None:
    case = layer_table()[case_id]
    spec = archcalc.load_spec(one_layer(tmp_path, case["layer"], case["args"], case["input"]))
    assert archcalc.count(spec).total_params == case["params"]
    rows = api.shapes(spec)
    assert rows is not None
    assert list(rows[-1].shape) == case["output"]
    formula = archcalc.formula(spec)
    assert formula.substitute(formula.total) == case["params"]


def test_every_builtin_layer_type_is_checked_against_torch() -> None:
    covered = {case["layer"] for case in layer_table().values()}
    cnn_blocks = importlib.import_module("archcalc.plugins.cnn_blocks")
    builtins = [*cnn_layers.layer_types(), *cnn_blocks.layer_types()]
    assert {layer.name for layer in builtins} == covered


def test_layer_types_are_registered_with_their_owner() -> None:
    registry = load_registry()
    assert registry.layer_owners["conv2d"] == "archcalc.plugins.cnn_layers"
    info = next(p for p in registry.plugins if p.name == "archcalc.plugins.cnn_layers")
    assert "multihead_attention" in info.layer_types


def test_a_layer_name_registered_twice_names_both_plugins(tmp_path: Path) -> None:
    plugin = tmp_path / "clash.py"
    plugin.write_text(
        "from archcalc import LayerType, hookimpl\n"
        "@hookimpl\n"
        "def archcalc_layer_types():\n"
        "    return [LayerType(name='conv2d', description='mine')]\n",
        encoding="utf-8",
    )
    with pytest.raises(PluginError) as info:
        load_registry([str(plugin)])
    assert "archcalc.plugins.cnn_layers" in str(info.value)
    assert str(plugin) in str(info.value) and "'conv2d'" in str(info.value)


def test_a_plugin_layer_type_is_usable_in_specs(tmp_path: Path, monkeypatch: Any) -> None:
    """The example of the hookspec's docstring, run as written."""
    plugin = tmp_path / "scale.py"
    plugin.write_text(
        "from archcalc import LayerType, hookimpl\n"
        "def params(args, shape):\n"
        "    return shape[0]\n"
        "@hookimpl\n"
        "def archcalc_layer_types():\n"
        "    return [LayerType(name='channel_scale', description='per-channel scale',\n"
        "        args={'type': 'object', 'properties': {}, 'additionalProperties': False},\n"
        "        params=params)]\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(api, "_default_registry", load_registry([str(plugin)]))
    path = write_spec(
        tmp_path,
        {
            "family": "cnn",
            "input": [3, 32, 32],
            "layers": [{"conv2d": {"out_channels": 16, "kernel_size": 3}}, "channel_scale"],
        },
    )
    assert archcalc.count(archcalc.load_spec(path)).total_params == 464


def errors_of(path: Path) -> list[archcalc.Diagnostic]:
    with pytest.raises(SpecError) as info:
        archcalc.load_spec(path)
    return info.value.diagnostics


@pytest.mark.parametrize(
    ("layer", "args", "shape", "expected"),
    [
        (
            "conv2d",
            {"out_channels": 16, "kernel_size": 3, "groups": 5},
            [10, 8, 8],
            "out_channels (16) is not divisible by groups (5)",
        ),
        (
            "conv2d",
            {"out_channels": 16, "kernel_size": 3, "groups": 4},
            [10, 8, 8],
            "in_channels (10) is not divisible by groups (4)",
        ),
        (
            "conv2d",
            {"out_channels": 4, "kernel_size": 3, "in_channels": 4},
            [3, 8, 8],
            "in_channels is 4 but the number of channels flowing in is 3",
        ),
        (
            "linear",
            {"out_features": 4, "in_features": 9},
            [10],
            "in_features is 9 but the last dimension flowing in is 10",
        ),
        (
            "conv2d",
            {"out_channels": 4, "kernel_size": 3, "stride": 2, "padding": "same"},
            [3, 8, 8],
            "padding 'same' needs stride 1",
        ),
        ("conv2d", {"out_channels": 4, "kernel_size": 9}, [3, 8, 8], "becomes (4, 0, 0)"),
        (
            "conv_transpose2d",
            {"out_channels": 4, "kernel_size": 3, "output_padding": 2},
            [3, 8, 8],
            "output_padding (2) must be smaller than stride (1) or dilation (1)",
        ),
        (
            "maxpool2d",
            {"kernel_size": 2, "padding": 2},
            [3, 8, 8],
            "padding (2) must be at most half",
        ),
        (
            "groupnorm",
            {"num_groups": 3},
            [8, 4, 4],
            "num_channels (8) is not divisible by num_groups (3)",
        ),
        (
            "multihead_attention",
            {"num_heads": 3},
            [5, 16],
            "num_heads (3) must divide embed_dim (16)",
        ),
        ("layernorm", {"normalized_shape": [5, 5]}, [3, 4, 4], "is not the trailing part"),
        ("lstm", {"hidden_size": 8, "proj_size": 8}, [5, 4], "proj_size (8) must be smaller"),
        ("flatten", {"start_dim": 0}, [3, 4, 4], "would fold the batch"),
        ("upsample", {}, [3, 4, 4], "exactly one of size and scale_factor"),
        ("conv2d", {"out_channels": 4, "kernel_size": 3}, [3, 8], "expects a 3-D input"),
        ("lstm", {"hidden_size": 8}, [3, 8, 8], "expects a 2-D input"),
    ],
)
def test_semantic_errors_are_located_at_the_layer(
    tmp_path: Path, layer: str, args: dict[str, Any], shape: list[int], expected: str
) -> None:
    path = one_layer(tmp_path, layer, args, shape)
    diagnostics = errors_of(path)
    if "-D input" in expected:  # a rank straight from the input: said at `input` too
        lines = path.read_text(encoding="utf-8").splitlines()
        input_line = next(i for i, line in enumerate(lines, 1) if line.startswith("input:"))
        at_input = [d for d in diagnostics if d.message.startswith("input ")]
        assert [d.line for d in at_input] == [input_line]
        diagnostics = [d for d in diagnostics if d not in at_input]
    assert len(diagnostics) == 1
    problem = diagnostics[0]
    item_line = path.read_text(encoding="utf-8").splitlines().index("layers:") + 2
    assert (problem.line, problem.column) == (item_line, 3)
    assert expected in problem.message and f"layers[0] ({layer})" in problem.message


def test_linear_on_an_image_is_a_warning_not_an_error(tmp_path: Path) -> None:
    spec = archcalc.load_spec(one_layer(tmp_path, "linear", {"out_features": 10}, [3, 8, 8]))
    assert archcalc.count(spec).total_params == 8 * 10 + 10
    (warning,) = spec.warnings
    assert warning.severity == "warning" and "flatten is probably missing" in warning.message


def conv_positions(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """Brute force: how many windows fit in the padded input."""
    span = dilation * (kernel - 1) + 1
    return sum(
        1 for start in range(0, size + 2 * padding, stride) if start + span <= size + 2 * padding
    )


@given(
    size=st.integers(1, 64),
    kernel=st.integers(1, 7),
    stride=st.integers(1, 4),
    padding=st.integers(0, 3),
    dilation=st.integers(1, 3),
)
def test_conv_output_size_counts_the_windows_that_fit(
    size: int, kernel: int, stride: int, padding: int, dilation: int
) -> None:
    expected = conv_positions(size, kernel, stride, padding, dilation)
    assert max(cnn_layers.conv_size(size, kernel, stride, padding, dilation), 0) == expected


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    channels=st.integers(1, 64),
    out=st.integers(1, 16),
    groups=st.sampled_from([1, 2, 4]),
    kernel=st.integers(1, 5),
    bias=st.booleans(),
)
def test_formula_in_vars_equals_the_count(
    tmp_path: Path, channels: int, out: int, groups: int, kernel: int, bias: bool
) -> None:
    """A conv whose sizes are vars: the formula with the vars substituted is the count."""
    spec_dict = {
        "family": "cnn",
        "vars": {"c": channels * groups, "o": out * groups, "k": kernel},
        "input": ["c", 16, 16],
        "layers": [
            {"conv2d": {"out_channels": "o", "kernel_size": "k", "groups": groups, "bias": bias}},
            "batchnorm2d",
            {"adaptive_avgpool2d": {"output_size": 1}},
            "flatten",
            {"linear": {"out_features": "o"}},
        ],
    }
    spec = archcalc.load_spec(write_spec(tmp_path, spec_dict))
    formula = archcalc.formula(spec)
    assert {s.name for s in formula.total.free_symbols} <= {"c", "o", "k"}
    assert formula.substitute(formula.total) == archcalc.count(spec).total_params
    o, c = out * groups, channels * groups
    expected = o * (c // groups) * kernel**2 + (o if bias else 0) + 2 * o + o * o + o
    assert archcalc.count(spec).total_params == expected
