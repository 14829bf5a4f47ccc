"""The tensor interface: a family's tensors are checked against its count on every call."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from archcalc import Tensor, api
from archcalc.errors import PluginError, UsageError
from archcalc.registry import load_registry
from archcalc.tensors import dtype_bytes, parse_dtype, tensors_of, total_numel

PLUGIN = """
from archcalc import Breakdown, Family, Field, Part, Tensor, hookimpl


def count(spec):
    v = spec.values
    return Breakdown((Part("weight", v.n_in * v.n_out), Part("bias", v.n_out)))


def tensors(spec):
    v = spec.values
    yield Tensor("weight", (v.n_out, v.n_in))
    yield Tensor("bias", ({bias_rows},))


@hookimpl
def archcalc_families():
    return [
        Family(
            name="affine",
            description="A single linear map.",
            fields=(Field("n_in", "size", "Inputs."), Field("n_out", "size", "Outputs.")),
            count=count,
            tensors={hook},
        )
    ]
"""


def _spec(tmp_path: Path, bias_rows: str = "v.n_out", hook: str = "tensors") -> api.Spec:
    plugin = tmp_path / "affine_plugin.py"
    plugin.write_text(textwrap.dedent(PLUGIN.format(bias_rows=bias_rows, hook=hook)))
    registry = load_registry([str(plugin)])
    spec_path = tmp_path / "a.yaml"
    spec_path.write_text("family: affine\nn_in: 3\nn_out: 5\n")
    api._default_registry = registry
    return api.load_spec(spec_path, registry=registry)


@pytest.fixture(autouse=True)
def _restore_registry():
    saved = api._default_registry
    yield
    api._default_registry = saved


def test_tensors_sum_to_the_count(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    listed = tensors_of(spec)
    assert listed == [Tensor("weight", (5, 3)), Tensor("bias", (5,))]
    assert total_numel(listed) == api.count(spec).total_params == 20


def test_tensors_that_disagree_with_the_count_blame_the_plugin(tmp_path: Path) -> None:
    spec = _spec(tmp_path, bias_rows="v.n_out + 1")
    with pytest.raises(PluginError, match="hold 21 parameters but its count is 20"):
        tensors_of(spec)


@pytest.mark.parametrize(
    ("bias_rows", "message"),
    [("-1", "not non-negative ints"), ("'5'", "not non-negative ints"), ("True", "non-negative")],
)
def test_bad_shapes_blame_the_plugin(tmp_path: Path, bias_rows: str, message: str) -> None:
    with pytest.raises(PluginError, match=message):
        tensors_of(_spec(tmp_path, bias_rows=bias_rows))


def test_a_failing_tensors_hook_blames_the_plugin(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match=r"failed while listing the tensors.*ZeroDivisionError"):
        tensors_of(_spec(tmp_path, bias_rows="1 // 0"))


def test_a_lazy_hook_that_does_not_load_is_a_plugin_error(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match="cannot be loaded"):
        tensors_of(_spec(tmp_path, hook="'no_such_module_h15:tensors'"))


def test_a_family_without_tensors_lists_none(tmp_path: Path) -> None:
    spec = _spec(tmp_path, hook="None")
    assert tensors_of(spec) is None


def test_numel_of_a_scalar_and_of_symbols() -> None:
    import sympy

    d = sympy.Symbol("d")
    assert Tensor("scale", ()).numel == 1
    assert Tensor("w", (d, 3 * d)).numel == 3 * d**2


@pytest.mark.parametrize(
    ("text", "name"), [("bf16", "BF16"), ("bfloat16", "BF16"), ("F32", "F32"), ("fp8", "F8_E4M3")]
)
def test_dtype_names(text: str, name: str) -> None:
    assert parse_dtype(text) == name


def test_unknown_dtype_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown dtype 'float7'"):
        parse_dtype("float7")


def test_bytes_of_sub_byte_dtypes_are_exact() -> None:
    assert dtype_bytes(3, "F4") == 1.5
    assert dtype_bytes(10, "BF16") == 20
