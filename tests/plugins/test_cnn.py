"""family: cnn — whole networks against torchvision, shape errors located, repeat kept cheap."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import archcalc
from archcalc import api
from archcalc.cli import app
from archcalc.errors import SpecError
from tests.helpers import EXAMPLES, python_calls, reference, write_spec

EXAMPLE_CASES = {
    "resnet18": "resnet18",
    "resnet50": "resnet50",
    "vgg16": "vgg16",
    "vgg16-bn": "vgg16_bn",
    "mobilenet-v2": "mobilenet_v2",
}


def vision(case: str) -> dict[str, Any]:
    return reference("vision")[case]


@pytest.mark.parametrize("example", sorted(EXAMPLE_CASES))
def test_example_equals_torchvision(example: str) -> None:
    spec = archcalc.load_spec(EXAMPLES / f"{example}.yaml")
    assert archcalc.count(spec).total_params == vision(EXAMPLE_CASES[example])["total_params"]
    rows = api.shapes(spec)
    assert rows is not None and list(rows[-1].shape) == vision(EXAMPLE_CASES[example])["output"]
    formula = archcalc.formula(spec)
    assert formula.substitute(formula.total) == archcalc.count(spec).total_params
    assert "$schema=../schemas/archcalc.schema.json" in (EXAMPLES / f"{example}.yaml").read_text()


# --------------------------------------------------------------------------- spec builders
# Written from the architectures' papers / torchvision's model definitions, with the pinned
# syntax only; the numbers they must reach come from reference/vision_counts.py.


def conv(out: int, k: int, stride: int = 1, padding: int = 0, **extra: Any) -> dict[str, Any]:
    args = {"out_channels": out, "kernel_size": k, "stride": stride, "padding": padding}
    return {"conv2d": {**args, "bias": False, **extra}}


def resnet(
    block: str, depths: list[int], n_classes: int = 1000, groups: int = 1, width: int = 64
) -> dict[str, Any]:
    """torchvision's ResNet/ResNeXt/wide ResNet, first block of each stage spelled out."""
    expansion = 1 if block == "basic" else 4
    layers: list[Any] = [conv(64, 7, 2, 3), "batchnorm2d", "relu"]
    layers.append({"maxpool2d": {"kernel_size": 3, "stride": 2, "padding": 1}})
    channels = 64
    for stage, depth in enumerate(depths):
        planes = 64 * 2**stage
        stride = 1 if stage == 0 else 2
        out = planes * expansion

        def body(stride: int, planes: int = planes, out: int = out) -> list[Any]:
            if block == "basic":
                first = [conv(planes, 3, stride, 1), "batchnorm2d", "relu"]
                return [*first, conv(planes, 3, 1, 1), "batchnorm2d"]
            mid = planes * width // 64 * groups
            return [
                conv(mid, 1),
                "batchnorm2d",
                "relu",
                conv(mid, 3, stride, 1, groups=groups),
                "batchnorm2d",
                "relu",
                conv(out, 1),
                "batchnorm2d",
            ]

        first: dict[str, Any] = {"layers": body(stride)}
        if stride != 1 or channels != out:
            first["shortcut"] = [conv(out, 1, stride), "batchnorm2d"]
        layers += [{"residual": first}, "relu"]
        rest = [{"residual": {"layers": body(1)}}, "relu"]
        layers.append({"repeat": {"times": depth - 1, "layers": rest}})
        channels = out
    layers += [{"adaptive_avgpool2d": {"output_size": 1}}, "flatten"]
    layers.append({"linear": {"out_features": n_classes}})
    return {"family": "cnn", "input": [3, 224, 224], "layers": layers}


VGG_CONFIGS = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M"] + [512, 512, 512, "M"] * 2,
    "vgg19": [64, 64, "M", 128, 128, "M"] + [256] * 4 + ["M"] + ([512] * 4 + ["M"]) * 2,
}


def vgg(config: str, bn: bool, n_classes: int = 1000) -> dict[str, Any]:
    layers: list[Any] = []
    for v in VGG_CONFIGS[config]:
        if v == "M":
            layers.append({"maxpool2d": {"kernel_size": 2, "stride": 2}})
            continue
        layers.append({"conv2d": {"out_channels": v, "kernel_size": 3, "padding": 1}})
        layers += ["batchnorm2d", "relu"] if bn else ["relu"]
    layers += [{"adaptive_avgpool2d": {"output_size": [7, 7]}}, "flatten"]
    for width in (4096, 4096):
        layers += [{"linear": {"out_features": width}}, "relu", {"dropout": {"p": 0.5}}]
    layers.append({"linear": {"out_features": n_classes}})
    return {"family": "cnn", "input": [3, 224, 224], "layers": layers}


def alexnet() -> dict[str, Any]:
    def c(out: int, k: int, s: int = 1, p: int = 0) -> dict[str, Any]:
        return {"conv2d": {"out_channels": out, "kernel_size": k, "stride": s, "padding": p}}

    pool = {"maxpool2d": {"kernel_size": 3, "stride": 2}}
    layers = [c(64, 11, 4, 2), "relu", pool, c(192, 5, 1, 2), "relu", pool]
    layers += [c(384, 3, 1, 1), "relu", c(256, 3, 1, 1), "relu", c(256, 3, 1, 1), "relu", pool]
    layers += [{"adaptive_avgpool2d": {"output_size": 6}}, "flatten"]
    for width in (4096, 4096):
        layers += ["dropout", {"linear": {"out_features": width}}, "relu"]
    layers.append({"linear": {"out_features": 1000}})
    return {"family": "cnn", "input": [3, 224, 224], "layers": layers}


def divisible(value: float, divisor: int = 8) -> int:
    """torchvision's _make_divisible."""
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * value else new


def mobilenet_v2(width_mult: float) -> dict[str, Any]:
    settings_ = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2)]
    settings_ += [(6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
    cin = divisible(32 * width_mult)
    layers: list[Any] = [conv(cin, 3, 2, 1), "batchnorm2d", "relu6"]
    for t, c, n, s in settings_:
        out = divisible(c * width_mult)
        for i in range(n):
            stride = s if i == 0 else 1
            hidden = round(cin * t)
            body: list[Any] = [conv(hidden, 1), "batchnorm2d", "relu6"] if t != 1 else []
            body += [conv(hidden, 3, stride, 1, groups=hidden), "batchnorm2d", "relu6"]
            body += [conv(out, 1), "batchnorm2d"]
            layers += [{"residual": {"layers": body}}] if stride == 1 and cin == out else body
            cin = out
    last = divisible(1280 * max(1.0, width_mult))
    layers += [conv(last, 1), "batchnorm2d", "relu6", {"adaptive_avgpool2d": {"output_size": 1}}]
    layers += ["flatten", {"dropout": {"p": 0.2}}, {"linear": {"out_features": 1000}}]
    return {"family": "cnn", "input": [3, 224, 224], "layers": layers}


BUILT = {
    "resnet18": lambda: resnet("basic", [2, 2, 2, 2]),
    "resnet18-10-classes": lambda: resnet("basic", [2, 2, 2, 2], n_classes=10),
    "resnet34": lambda: resnet("basic", [3, 4, 6, 3]),
    "resnet50": lambda: resnet("bottleneck", [3, 4, 6, 3]),
    "resnet50-100-classes": lambda: resnet("bottleneck", [3, 4, 6, 3], n_classes=100),
    "resnet101": lambda: resnet("bottleneck", [3, 4, 23, 3]),
    "resnext50_32x4d": lambda: resnet("bottleneck", [3, 4, 6, 3], groups=32, width=4),
    "wide_resnet50_2": lambda: resnet("bottleneck", [3, 4, 6, 3], width=128),
    "vgg11": lambda: vgg("vgg11", bn=False),
    "vgg16": lambda: vgg("vgg16", bn=False),
    "vgg16-10-classes": lambda: vgg("vgg16", bn=False, n_classes=10),
    "vgg16_bn": lambda: vgg("vgg16", bn=True),
    "vgg19_bn": lambda: vgg("vgg19", bn=True),
    "alexnet": alexnet,
    "mobilenet_v2": lambda: mobilenet_v2(1.0),
    "mobilenet_v2-width-0.5": lambda: mobilenet_v2(0.5),
}


def test_every_torchvision_case_is_built() -> None:
    """Each torchvision reference is a spec built here or an example under examples/torchvision."""
    torchvision_cases = {k for k, v in reference("vision").items() if "torchvision" in v["source"]}
    examples = {p.stem for p in (EXAMPLES / "torchvision").glob("*.yaml")}
    held_out = {k for k in torchvision_cases if reference("vision")[k].get("held_out")}
    assert torchvision_cases == set(BUILT) | examples | held_out


@pytest.mark.parametrize("case", sorted(BUILT))
def test_specs_written_from_the_architecture_equal_torchvision(tmp_path: Path, case: str) -> None:
    spec = archcalc.load_spec(write_spec(tmp_path, BUILT[case]()))
    assert archcalc.count(spec).total_params == vision(case)["total_params"]
    rows = api.shapes(spec)
    assert rows is not None and list(rows[-1].shape) == vision(case)["output"]


# --------------------------------------------------------------------------- repeat


def repeated(times: Any, block: list[Any] | None = None) -> dict[str, Any]:
    block = block or [
        {"residual": {"layers": [conv(16, 3, 1, 1), "batchnorm2d", "relu", conv(16, 3, 1, 1)]}},
        "relu",
    ]
    return {
        "family": "cnn",
        "input": [3, 32, 32],
        "layers": [conv(16, 3, 1, 1), {"repeat": {"times": times, "layers": block}}],
    }


def test_a_shape_preserving_block_is_counted_once_and_multiplied(tmp_path: Path) -> None:
    small = archcalc.load_spec(write_spec(tmp_path, repeated(3), "small.yaml"))
    big = archcalc.load_spec(write_spec(tmp_path, repeated(3000), "big.yaml"))
    huge = archcalc.load_spec(write_spec(tmp_path, repeated(10**15), "huge.yaml"))
    block = 2 * 16 * 16 * 9 + 2 * 16  # two bias-free 3x3 convs and a batchnorm
    counts = [archcalc.count(s).total_params for s in (small, big, huge)]
    assert counts[1] - counts[0] == 2997 * block
    assert counts[2] - counts[0] == (10**15 - 3) * block
    # the same structure: the block's layers appear once in the summary, with the factor
    small_rows, big_rows = api.shapes(small), api.shapes(big)
    assert small_rows is not None and big_rows is not None
    assert len(small_rows) == len(big_rows)
    assert {r.times for r in big_rows} == {1, 3000}
    repeat_part = archcalc.count(big).breakdown.parts[-1]
    assert (repeat_part.per_layer, repeat_part.layers) == (block, 3000)


def test_a_shape_changing_block_is_followed_to_its_fixed_point(tmp_path: Path) -> None:
    block = [conv(32, 3, 2, 1)]  # 3 -> 32 channels, halves the size: settles at 1x1
    spec = archcalc.load_spec(write_spec(tmp_path, repeated(2000, block)))
    rows = api.shapes(spec)
    assert rows is not None and rows[-1].shape == (32, 1, 1)
    first, then = 16 * 32 * 9, 32 * 32 * 9
    assert archcalc.count(spec).total_params == 16 * 27 + first + 1999 * then
    formula = archcalc.formula(spec)
    assert formula.substitute(formula.total) == archcalc.count(spec).total_params


def test_symbolic_times_gives_a_formula_in_times(tmp_path: Path) -> None:
    spec_dict = repeated("n_blocks", [conv(32, 3, 2, 1)])
    spec_dict["vars"] = {"n_blocks": 9}
    spec = archcalc.load_spec(write_spec(tmp_path, spec_dict))
    formula = archcalc.formula(spec)
    assert {s.name for s in formula.total.free_symbols} == {"n_blocks"}
    assert formula.substitute(formula.total) == archcalc.count(spec).total_params
    bigger = formula.total.subs({s: 100 for s in formula.total.free_symbols})
    spec100 = archcalc.load_spec(write_spec(tmp_path, spec_dict, "x.yaml"), ["n_blocks=100"])
    assert bigger == archcalc.count(spec100).total_params


def test_work_does_not_grow_with_times(tmp_path: Path) -> None:
    few, many = (
        write_spec(tmp_path, repeated(3), "few.yaml"),
        write_spec(tmp_path, repeated(10**17)),
    )
    archcalc.count(archcalc.load_spec(few))  # imports and caches, outside the measure
    work = python_calls(lambda: archcalc.count(archcalc.load_spec(few)))
    assert python_calls(lambda: archcalc.count(archcalc.load_spec(many))) <= 1.5 * work


# --------------------------------------------------------------------------- formulas


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(width=st.integers(1, 12), res=st.sampled_from([32, 33, 64, 97]))
def test_width_multiplier_formula_law(tmp_path: Path, width: int, res: int) -> None:
    """Channels from a var, spatial size from a var: the formula reproduces every count."""
    spec_dict = {
        "family": "cnn",
        "vars": {"w": width, "res": res},
        "input": [3, "res", "res"],
        "layers": [
            conv("8 * w", 3, 2, 1),
            "batchnorm2d",
            {"maxpool2d": {"kernel_size": 3, "stride": 2, "ceil_mode": True}},
            {"residual": {"layers": [conv("8 * w", 3, 1, 1)]}},
            "flatten",
            {"linear": {"out_features": 10}},
        ],
    }
    spec = archcalc.load_spec(write_spec(tmp_path, spec_dict))
    formula = archcalc.formula(spec)
    assert formula.substitute(formula.total) == archcalc.count(spec).total_params
    assert "w" in {s.name for s in formula.total.free_symbols}


# --------------------------------------------------------------------------- errors


def diagnostics_of(tmp_path: Path, spec: dict[str, Any]) -> list[archcalc.Diagnostic]:
    with pytest.raises(SpecError) as info:
        archcalc.load_spec(write_spec(tmp_path, spec))
    return info.value.diagnostics


def line_of(tmp_path: Path, needle: str) -> int:
    lines = (tmp_path / "spec.yaml").read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def test_a_nested_shape_error_names_its_path_and_line(tmp_path: Path) -> None:
    spec = {
        "family": "cnn",
        "input": [3, 16, 16],
        "layers": [
            "relu",
            {
                "residual": {
                    "layers": [
                        {
                            "repeat": {
                                "times": 2,
                                "layers": [
                                    "relu",
                                    {"maxpool2d": {"kernel_size": 2}},
                                    {"conv2d": {"out_channels": 3, "kernel_size": 5}},
                                ],
                            }
                        }
                    ]
                }
            },
        ],
    }
    (problem,) = diagnostics_of(tmp_path, spec)
    # 16 -> 8 -> 4 in the first iteration; the second pools 4 -> 2, too small for a 5x5 kernel
    assert problem.message.startswith(
        "layers[1].residual.layers[0].repeat.layers[2] (conv2d) (repeat iteration 2 of 2): "
        "the input (3, 2, 2) becomes (3, -2, -2)"
    )
    assert problem.line == line_of(tmp_path, "conv2d:")


def test_residual_branches_that_disagree_name_both_shapes(tmp_path: Path) -> None:
    spec = {
        "family": "cnn",
        "input": [3, 16, 16],
        "layers": [{"residual": {"layers": [conv(8, 3, 2, 1)], "shortcut": [conv(8, 1)]}}],
    }
    (problem,) = diagnostics_of(tmp_path, spec)
    assert "layers[0].residual" in problem.message
    assert "(8, 8, 8)" in problem.message and "(8, 16, 16)" in problem.message
    assert (problem.line, problem.column) == (line_of(tmp_path, "- residual:"), 3)


def test_a_spatial_size_that_reaches_zero(tmp_path: Path) -> None:
    layers = [{"maxpool2d": {"kernel_size": 2}}] * 6
    (problem,) = diagnostics_of(tmp_path, {"family": "cnn", "input": [3, 16, 16], "layers": layers})
    assert problem.message.startswith(
        "layers[4] (maxpool2d): the input (3, 1, 1) becomes (3, 0, 0)"
    )


def test_unknown_layer_names_get_a_suggestion(tmp_path: Path) -> None:
    spec = {"family": "cnn", "input": [3, 8, 8], "layers": ["rellu", {"conv2": {}}]}
    messages = [d.message for d in diagnostics_of(tmp_path, spec)]
    assert any("did you mean 'conv2d'?" in m for m in messages)
    spec["layers"] = ["rellu"]
    (problem,) = diagnostics_of(tmp_path, spec)
    assert "unknown layer 'rellu'; did you mean 'relu'?" in problem.message


HOSTILE_LAYERS: list[Any] = [
    [5],
    [None],
    [[1, 2]],
    [{"relu": None, "tanh": None}],
    [{}],
    [{"conv2d": 5}],
    [{"conv2d": {"out_channels": -1, "kernel_size": 3}}],
    [{"conv2d": {"out_channels": "__import__('os')", "kernel_size": 3}}],
    [{"conv2d": {"out_channels": "10**400", "kernel_size": 3}}],
    [{"conv2d": {"out_channels": 4, "kernel_size": [1, 2, 3]}}],
    [{"conv2d": {"out_channels": 4, "kernel_size": 3, "bias": "yes"}}],
    [{"repeat": {"times": 10**18, "layers": [{"upsample": {"scale_factor": 2}}]}}],
    [{"repeat": {"times": -1, "layers": ["relu"]}}],
    [{"repeat": {"layers": ["relu"]}}],
    [{"repeat": 3}],
    [{"residual": {"layers": "relu"}}],
    [{"residual": {"branch": ["relu"]}}],
    [{"flatten": {"start_dim": 1.5}}],
    ["x" * 5000],
]


@pytest.mark.parametrize("layers", HOSTILE_LAYERS, ids=lambda x: repr(x)[:40])
def test_hostile_layers_give_located_errors(tmp_path: Path, layers: list[Any]) -> None:
    problems = diagnostics_of(tmp_path, {"family": "cnn", "input": [3, 8, 8], "layers": layers})
    assert problems and all(d.line >= 1 and d.column >= 1 for d in problems)
    assert all(len(d.message) < 400 for d in problems)


def nested(depth: int, kind: str) -> Any:
    inner: Any = [{"conv2d": {"out_channels": 4, "kernel_size": 3}}]
    for _ in range(depth):
        inner = (
            [{"residual": {"layers": inner}}]
            if kind == "residual"
            else [{"repeat": {"times": 10**6, "layers": inner}}]
        )
    return inner


@pytest.mark.parametrize("kind", ["residual", "repeat"])
def test_deep_nesting_is_an_error_or_a_count_never_a_crash(tmp_path: Path, kind: str) -> None:
    for depth in (5, 15, 40):
        spec = {"family": "cnn", "input": [4, 8, 8], "layers": nested(depth, kind)}
        try:
            archcalc.count(archcalc.load_spec(write_spec(tmp_path, spec, f"{depth}.yaml")))
        except SpecError as exc:
            assert all(d.line >= 1 for d in exc.diagnostics)


def test_nested_shape_changing_repeats_stay_within_budget(tmp_path: Path) -> None:
    """Each level halves the size until 1x1, so every level iterates before it settles."""
    block: Any = [conv(4, 3, 2, 1)]
    for _ in range(6):
        block = [{"repeat": {"times": 10**9, "layers": [*block, conv(4, 3, 2, 1)]}}]
    spec = {"family": "cnn", "input": [4, 64, 64], "layers": block}
    path = write_spec(tmp_path, spec)
    assert archcalc.count(archcalc.load_spec(path)).total_params > 10**9
    # About 23,000 calls: each level follows a handful of halvings, never 10**9 copies.
    assert python_calls(lambda: archcalc.count(archcalc.load_spec(path))) < 500_000


# --------------------------------------------------------------------------- CLI

runner = CliRunner()


def test_cli_shapes_prints_a_model_summary() -> None:
    result = runner.invoke(app, ["count", str(EXAMPLES / "resnet18.yaml"), "--shapes"])
    assert result.exit_code == 0, result.output
    assert "layers[4].repeat.layers[0].residual.layers[0]" in result.output
    assert "(64, 56, 56)" in result.output and "×2" in result.output
    assert "(512, 7, 7)" in result.output and "(1000,)" in result.output
    total = vision("resnet18")["total_params"]
    assert f"{total:,}" in result.output


def test_cli_shapes_on_a_family_without_layers() -> None:
    result = runner.invoke(app, ["count", str(EXAMPLES / "vit-b-16.yaml"), "--shapes"])
    assert result.exit_code == 0 and "has no layer shapes" in result.output


@pytest.mark.parametrize("layers", [*HOSTILE_LAYERS[:8], nested(30, "repeat")], ids=str)
def test_cli_never_prints_a_traceback(tmp_path: Path, layers: Any) -> None:
    path = write_spec(tmp_path, {"family": "cnn", "input": [3, 8, 8], "layers": layers})
    for command in (["validate"], ["count", "--shapes"], ["formula"]):
        result = runner.invoke(app, [*command, str(path)])
        assert result.exit_code in (0, 1), result.output
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_cli_validate_reports_the_shape_error_with_path_line_col(tmp_path: Path) -> None:
    spec = {"family": "cnn", "input": [3, 8, 8], "layers": [conv(4, 3, 1, 0, groups=2)]}
    path = write_spec(tmp_path, spec)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    line = line_of(tmp_path, "conv2d")
    assert f"{path}:{line}:3: error: layers[0] (conv2d): in_channels (3) is not divisible" in (
        result.output
    )


# --------------------------------------------------------------------------- fuzzing

SMALL = st.integers(-2, 9)
ARGS = st.fixed_dictionaries(
    {},
    optional={
        "out_channels": st.one_of(SMALL, st.just("w")),
        "out_features": SMALL,
        "kernel_size": st.one_of(SMALL, st.lists(SMALL, min_size=1, max_size=3)),
        "stride": SMALL,
        "padding": st.one_of(SMALL, st.sampled_from(["same", "valid"])),
        "groups": SMALL,
        "output_size": SMALL,
        "scale_factor": SMALL,
        "num_groups": SMALL,
        "hidden_size": SMALL,
        "num_heads": SMALL,
        "ceil_mode": st.booleans(),
        "bias": st.one_of(st.booleans(), SMALL),
    },
)
LAYER_NAMES = st.sampled_from(
    [
        "conv2d",
        "conv1d",
        "conv_transpose2d",
        "linear",
        "batchnorm2d",
        "groupnorm",
        "lstm",
        "multihead_attention",
        "maxpool2d",
        "avgpool2d",
        "adaptive_avgpool2d",
        "flatten",
        "upsample",
        "relu",
        "layernorm",
        "embedding",
        "convv2d",
    ]
)
LEAF = st.one_of(LAYER_NAMES, st.dictionaries(LAYER_NAMES, ARGS, min_size=1, max_size=1))


def _composite(children: Any) -> Any:
    items = st.lists(children, max_size=3)
    return st.one_of(
        st.builds(lambda a, b: {"residual": {"layers": a, "shortcut": b}}, items, items),
        st.builds(lambda a: {"residual": {"layers": a}}, items),
        st.builds(
            lambda t, a: {"repeat": {"times": t, "layers": a}},
            st.one_of(st.integers(0, 5), st.just(10**12), st.just("w")),
            items,
        ),
    )


LAYER_TREES = st.lists(st.recursive(LEAF, _composite, max_leaves=8), min_size=1, max_size=5)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    layers=LAYER_TREES,
    shape=st.lists(st.integers(1, 40), min_size=1, max_size=3),
    width=st.integers(1, 6),
)
def test_any_layer_tree_is_counted_or_refused_with_located_errors(
    tmp_path: Path, layers: list[Any], shape: list[int], width: int
) -> None:
    """Random graphs: a valid one counts and obeys the formula law; any other is a SpecError."""
    spec_dict = {"family": "cnn", "vars": {"w": width}, "input": shape, "layers": layers}
    try:
        spec = archcalc.load_spec(write_spec(tmp_path, spec_dict))
    except SpecError as exc:
        assert exc.diagnostics and all(d.line >= 1 for d in exc.diagnostics)
        return
    total = archcalc.count(spec).total_params
    rows = api.shapes(spec)
    assert rows is not None and sum(r.params * r.times for r in rows) == total
    formula = archcalc.formula(spec)
    assert formula.substitute(formula.total) == total
