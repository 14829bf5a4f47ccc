"""Held-out vision specs: written from the README's cnn and vit sections alone, for
architectures beyond the examples, and pinned to torchvision / timm like the examples."""

from __future__ import annotations

from pathlib import Path

import pytest

import archcalc
from archcalc import api
from archcalc.sizes import sizes
from archcalc.tensors import tensors_of
from tests.helpers import DATA, reference

HELD_OUT = sorted((DATA / "specs" / "vision").glob("*.yaml"))


def test_every_held_out_reference_has_its_spec() -> None:
    held = {k for k, v in reference("vision").items() if v.get("held_out")}
    assert held == {p.stem for p in HELD_OUT} and len(held) == 16


@pytest.mark.parametrize("path", HELD_OUT, ids=lambda p: p.stem)
def test_held_out_spec_counts_exactly(path: Path) -> None:
    case = reference("vision")[path.stem]
    spec = archcalc.load_spec(path)
    counted = archcalc.count(spec).total_params
    assert counted == case["total_params"]
    formula = archcalc.formula(spec)
    assert formula.substitute(formula.total) == counted
    listed = tensors_of(spec)
    assert listed is not None and sum(t.numel for t in listed) == counted
    rows = api.shapes(spec)
    if rows is not None:
        assert list(rows[-1].shape) == case["output"]
    same_input = case.get("input", [3, *case.get("img_size", [])]) == list(
        rows[0].shape if rows is not None else [3, *[spec.exact.exact("image_size")] * 2]
    )
    if same_input:  # FLOPs are per input: comparable when the input is the reference's
        compute = sizes(spec).compute
        assert compute is not None and compute.flops_per_sequence == case["flops"]
