"""``archcalc formula``: every example's JSON formula reproduces its count, keep or not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sympy
from typer.testing import CliRunner

from archcalc.cli import app
from tests.helpers import EXAMPLES

runner = CliRunner()
EXAMPLE_SPECS = sorted(EXAMPLES.glob("*.yaml"))
KEEP_CASES = [
    (path, keep)
    for path in EXAMPLE_SPECS
    for keep in ([], ["--keep", "n_layers,d_model"])
    # --keep n_layers,d_model needs both keys: transformer and ViT examples have them.
    if not keep or "family: cnn" not in path.read_text(encoding="utf-8")
]


@pytest.mark.parametrize(
    ("path", "keep"), KEEP_CASES, ids=[f"{p.stem}-{'keep' if k else 'all'}" for p, k in KEEP_CASES]
)
def test_json_formula_with_symbols_substituted_equals_total_params(
    path: Path, keep: list[str]
) -> None:
    counted = runner.invoke(app, ["count", str(path), "--json"])
    assert counted.exit_code == 0, counted.output
    result = runner.invoke(app, ["formula", str(path), "--format", "json", *keep])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    values = {sympy.Symbol(k): sympy.Rational(str(v)) for k, v in data["symbols"].items()}
    assert sympy.parse_expr(data["formula"]).subs(values) == data["total_params"]
    assert data["total_params"] == json.loads(counted.stdout)["total_params"]


@pytest.mark.parametrize(
    ("fmt", "fragment"),
    [
        ("text", "12*d_model**2*n_layers"),
        ("latex", "12 d_{\\mathrm{model}}^{2}"),
        ("python", "def total_params("),
    ],
)
def test_other_formats_render(fmt: str, fragment: str) -> None:
    result = runner.invoke(app, ["formula", str(EXAMPLES / "gpt2-small.yaml"), "-f", fmt])
    assert result.exit_code == 0 and fragment in result.stdout


def test_unknown_format_and_keep_are_usage_errors() -> None:
    path = str(EXAMPLES / "gpt2-small.yaml")
    bad_format = runner.invoke(app, ["formula", path, "--format", "yaml"])
    assert bad_format.exit_code == 2 and "--format must be one of" in bad_format.stderr
    bad_keep = runner.invoke(app, ["formula", path, "--keep", "d_modle"])
    assert bad_keep.exit_code == 2 and "did you mean 'd_model'" in bad_keep.stderr
