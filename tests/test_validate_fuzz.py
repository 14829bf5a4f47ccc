"""Property tests: whatever the bytes, ``archcalc validate`` answers with diagnostics only.

The corpus (test_corpus.py) pins known attacks; these tests look for unknown ones. Every
input goes through the real command (``typer.testing.CliRunner`` on ``archcalc.cli.app``)
with both PyYAML loaders, and must give exit 0 or 1, stdout made only of
``PATH:LINE:COL: error|warning:`` lines, at least one error when the exit code is 1, and
no traceback. For longer runs than the suite allows, see ``tests/fuzz/atheris_validate.py``.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from archcalc import expr as exprs
from archcalc import yamlsafe
from archcalc.cli import app
from archcalc.errors import SpecError
from tests.test_corpus import run_validate

DIAGNOSTIC = re.compile(r"^.+:\d+:\d+: (error|warning): ")
LOADERS = (yaml.CSafeLoader, yaml.SafeLoader)
#: Examples per property; raise it for a longer hunt: ARCHCALC_FUZZ_EXAMPLES=5000 pytest ...
EXAMPLES = int(os.environ.get("ARCHCALC_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)

BASE = {
    "family": "transformer",
    "n_layers": "12",
    "d_model": "768",
    "n_heads": "12",
    "d_ff": "3072",
    "vocab_size": "50257",
}
FIELDS = [
    "architecture",
    "n_decoder_layers",
    "n_kv_heads",
    "d_head",
    "max_seq_len",
    "positional",
    "mlp",
    "norm",
    "bias",
    "qkv_bias",
    "tie_embeddings",
    "moe",
    "name",
    "vars",
    "x-meta",
    "d_modle",
]


def validate_bytes(data: bytes, loader: type) -> tuple[int, str]:
    """Run ``archcalc validate`` on ``data`` written to a file; return exit code and stdout."""
    previous = yamlsafe.LOADER
    yamlsafe.LOADER = loader
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "spec.yaml"
            path.write_bytes(data)
            code, out, err = run_validate([str(path)])
    finally:
        yamlsafe.LOADER = previous
    return code, out + "\0" + err


def check_invariant(data: bytes, loader: type) -> None:
    code, output = validate_bytes(data, loader)
    out, err = output.split("\0", 1)
    assert code in (0, 1), f"exit {code} on {data[:200]!r}:\n{out}{err}"
    assert "Traceback" not in out + err
    assert "internal error" not in err
    lines = [line for line in out.splitlines() if line]
    assert all(DIAGNOSTIC.match(line) for line in lines), out
    if code == 1:
        assert any(": error: " in line for line in lines), out
    else:
        assert not any(": error: " in line for line in lines), out


# --------------------------------------------------------------------------- strategies

#: Pieces of YAML syntax, so random text reaches the parser's interesting states.
YAML_TOKENS = [
    ": ", ":", "- ", "\n", "\n  ", "\n    ", "\r\n", "\t", " ", "[", "]", "{", "}", ",",
    "&a ", "*a", "&b ", "*b", "<<: ", "!!python/object/apply:os.system ", "!!float ", "!x ",
    "'", '"', "#", "---\n", "...\n", "? ", "|\n  ", ">\n  ", "%YAML 1.1\n", "yes", "no", "~",
    "null", ".nan", ".inf", "010", "0x1f", "1:30", "1e3", "1.5", "-1", "1_000", "2024-01-01",
    "\ufeff", "\x00", "\u202e", "\xe9", "family", "transformer", "n_layers", "d_model",
    "n_heads", "d_ff", "vocab_size", "moe", "n_experts", "top_k", "vars", "x-", "12", "768",
]  # fmt: skip
yaml_ish = st.lists(st.sampled_from(YAML_TOKENS) | st.text(max_size=8), max_size=60).map("".join)

NAMES = ["d_model", "n_heads", "n_layers", "d_ff", "w", "x", "__import__", "os", "True"]
FUNCS = ["ceil", "floor", "max", "min", "multiple_of", "eval", "getattr", "print"]


def _expressions() -> st.SearchStrategy[str]:
    leaf = st.one_of(
        st.integers(min_value=-(10**50), max_value=10**50).map(str),
        st.sampled_from(["1.3", "8/3", "1e3", "1e999", "0", "0.0", "(", ")", "..."]),
        st.sampled_from(NAMES),
    )

    def grow(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        ops = st.sampled_from(["+", "-", "*", "/", "//", "%", "**", ".", " if 1 else ", "@"])
        binary = st.tuples(children, ops, children).map(lambda t: f"({t[0]} {t[1]} {t[2]})")
        call = st.tuples(st.sampled_from(FUNCS), st.lists(children, max_size=3)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"
        )
        unary = children.map(lambda c: f"-{c}")
        other = children.map(lambda c: f"[{c} for _ in range(9)]") | children.map(
            lambda c: f"lambda: {c}"
        )
        return binary | call | unary | other

    return st.recursive(leaf, grow, max_leaves=12)


expressions = _expressions()
scalars = st.one_of(
    st.integers().map(str),
    st.integers(min_value=-3, max_value=10**40).map(str),
    st.fractions(max_denominator=10**6).map(lambda f: str(float(f))),
    st.sampled_from(["true", "false", "null", "yes", "[]", "{}", "[1, 2]", "''", "~", "-"]),
    st.text(max_size=30).map(lambda t: t.replace("\n", " ")),
    expressions,
    expressions.map(lambda e: '"' + e.replace('"', "'") + '"'),
)


def render(spec: dict[str, str]) -> bytes:
    return "".join(f"{key}: {value}\n" for key, value in spec.items()).encode("utf-8", "replace")


@st.composite
def mutated_specs(draw: st.DrawFn) -> bytes:
    """A valid spec with one value replaced, or one key added, as raw text."""
    spec = dict(BASE)
    key = draw(st.sampled_from(sorted(BASE) + FIELDS))
    spec[key] = draw(scalars)
    return render(spec)


# --------------------------------------------------------------------------- properties


@FUZZ
@given(data=st.binary(max_size=2000), loader=st.sampled_from(LOADERS))
def test_arbitrary_bytes(data: bytes, loader: type) -> None:
    check_invariant(data, loader)


@FUZZ
@given(text=yaml_ish, loader=st.sampled_from(LOADERS))
def test_yaml_ish_text(text: str, loader: type) -> None:
    check_invariant(text.encode("utf-8", "surrogatepass"), loader)


@FUZZ
@given(text=yaml_ish, loader=st.sampled_from(LOADERS))
def test_yaml_ish_text_after_a_valid_prefix(text: str, loader: type) -> None:
    """Noise after a valid spec reaches the later stages (schema, expressions, semantics)."""
    check_invariant(render(BASE) + text.encode("utf-8", "surrogatepass"), loader)


@FUZZ
@given(data=mutated_specs(), loader=st.sampled_from(LOADERS))
def test_spec_with_one_value_replaced(data: bytes, loader: type) -> None:
    check_invariant(data, loader)


@FUZZ
@given(expression=expressions, key=st.sampled_from(["d_ff", "n_kv_heads", "d_head", "vars.w"]))
def test_expression_in_a_size_field(expression: str, key: str) -> None:
    """Random expressions (injections and bombs included) where a size is needed."""
    spec = dict(BASE)
    quoted = '"' + expression.replace('"', "'") + '"'
    if key == "vars.w":
        spec["vars"] = "{w: " + quoted + "}"
        spec["d_ff"] = "4 * w"
    else:
        spec[key] = quoted
    check_invariant(render(spec), yaml.CSafeLoader)


NAMESPACE = {"d_model": 768, "n_heads": 12, "n_layers": 12, "d_ff": 3072, "w": 7, "x": 0}


def _lookup(name: str) -> Any:
    if name not in NAMESPACE:
        raise KeyError(name, sorted(NAMESPACE))
    return exprs.EXACT.number(NAMESPACE[name])


@FUZZ
@given(text=st.text(max_size=200) | expressions)
def test_expression_parser_gives_a_value_or_an_expr_error(text: str) -> None:
    """The library level under the CLI: parse + evaluate raise ExprError and nothing else."""
    try:
        value = exprs.evaluate(exprs.parse(text), _lookup, exprs.EXACT)
    except exprs.ExprError as exc:
        assert exc.message
        assert len(exc.message) < 400
    else:
        assert isinstance(value, int | Fraction)


@FUZZ
@given(data=st.binary(max_size=1000) | yaml_ish.map(str.encode), loader=st.sampled_from(LOADERS))
def test_loader_gives_a_document_or_a_spec_error(data: bytes, loader: type) -> None:
    """load_bytes turns unforeseen exceptions into "could not read YAML"; none may occur."""
    previous = yamlsafe.LOADER
    yamlsafe.LOADER = loader
    try:
        doc = yamlsafe.load_bytes(data, "f.yaml")
    except SpecError as exc:
        assert exc.diagnostics
        assert all(d.line >= 1 and d.column >= 1 for d in exc.diagnostics)
        assert not any("could not read YAML" in d.message for d in exc.diagnostics), exc
    else:
        assert isinstance(doc.data, dict)
    finally:
        yamlsafe.LOADER = previous


# --------------------------------------------------------------------------- config.json, options

CONFIG = {
    "model_type": "llama",
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "vocab_size": 100,
}
CONFIG_KEYS = [
    *CONFIG,
    "head_dim",
    "tie_word_embeddings",
    "attention_bias",
    "mlp_bias",
    "rope_parameters",
    "layer_types",
    "text_config",
    "_name_or_path",
]
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**40), 10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
runner = CliRunner()
#: Whole commands are slower than a parse: fewer examples (ARCHCALC_FUZZ_EXAMPLES scales them).
FUZZ_CLI = settings(FUZZ, max_examples=max(EXAMPLES // 5, 10))


def check_cli(args: list[str]) -> None:
    """Exit 0, 1 or 2; no traceback or internal error; every error line located or prefixed."""
    result = runner.invoke(app, args)
    assert result.exit_code in (0, 1, 2), (args, result.output)
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    for line in result.stderr.splitlines():
        assert DIAGNOSTIC.match(line) or line.startswith("archcalc: ") or not line.strip(), line


@st.composite
def mutated_configs(draw: st.DrawFn) -> bytes:
    """A valid config with one value replaced (any JSON, NaN and 40-digit numbers too), or
    with noise spliced into its text."""
    config: dict[str, Any] = dict(CONFIG)
    config[draw(st.sampled_from(CONFIG_KEYS))] = draw(json_values)
    text = json.dumps(config, indent=1)
    if draw(st.booleans()):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.text(max_size=12)) + text[at:]
    return text.encode("utf-8", "surrogatepass")


@FUZZ_CLI
@given(data=mutated_configs(), command=st.sampled_from(["validate", "count", "import-hf"]))
def test_a_mutated_config_json_is_a_located_error_or_a_count(data: bytes, command: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.json"
        path.write_bytes(data)
        check_cli([command, str(path)])


option_text = st.text(max_size=30) | st.sampled_from(
    ["n_layers", "d_model", "moe.top_k", "vars.w", "", "=", "1e999", "10**10**10", "\x1b[2J"]
)


@FUZZ_CLI
@given(
    command=st.sampled_from(["count", "formula", "size", "validate"]),
    key=option_text,
    value=option_text | st.integers(-(10**40), 10**40).map(str),
    keep=st.none() | option_text,
)
def test_random_command_line_options_are_usage_errors_or_answers(
    command: str, key: str, value: str, keep: str | None
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder) / "s.yaml"
        spec.write_bytes(render(BASE))
        args = [command, str(spec), "--set", f"{key}={value}"]
        if keep is not None and command == "formula":
            args += ["--keep", keep]
        check_cli(args)


def test_the_invariant_can_fail() -> None:
    """The checker is not vacuous: a traceback-like or unlocated line is refused."""
    assert DIAGNOSTIC.match("spec.yaml:3:7: error: x")
    assert not DIAGNOSTIC.match("Traceback (most recent call last):")
    assert not DIAGNOSTIC.match("archcalc: internal error")
    code, output = validate_bytes(render(BASE), yaml.CSafeLoader)
    assert (code, output.split("\0")[0]) == (0, "")
    code, output = validate_bytes(b"family: transformer\n", yaml.SafeLoader)
    assert code == 1 and "missing required key" in output
