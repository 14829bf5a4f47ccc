"""Tests of the safe expression language (archcalc.expr).

The module guards against spec text from untrusted pull requests, so most tests are
about what must *not* happen: code running, a CPU pinned by a number bomb, an
exception other than ExprError escaping. The rest pin the arithmetic: exact values,
and the law that the symbolic (sympy) algebra agrees with the exact one.
"""

from __future__ import annotations

import math
import os
import pickle
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archcalc.errors import ArchcalcError
from archcalc.expr import (
    EXACT,
    MAX_LENGTH,
    MAX_SYMBOLIC_MINMAX_ARGS,
    Binary,
    Call,
    Expr,
    ExprError,
    Name,
    Num,
    evaluate,
    exact_int,
    is_literal,
    parse,
    symbolic,
)

sympy = pytest.importorskip("sympy")

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def lookup_from(values: dict[str, Any]):
    """A lookup like the spec resolver's: KeyError carries the known names."""

    def lookup(name: str) -> Any:
        try:
            return values[name]
        except KeyError:
            raise KeyError(name, list(values)) from None

    return lookup


def value_of(text: str, **values: Any) -> Any:
    return evaluate(parse(text), lookup_from(values))


def error_of(text: str, **values: Any) -> ExprError:
    with pytest.raises(ExprError) as info:
        evaluate(parse(text), lookup_from(values))
    return info.value


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("4 * 512", {}, 2048),
        ("8 * d / 3", {"d": 512}, Fraction(4096, 3)),
        ("d // h", {"d": 768, "h": 12}, 64),
        ("-(3) % 5", {}, 2),
        ("-7 // 2", {}, -4),
        ("7.5 % 2", {}, Fraction(3, 2)),
        ("2 ** 10", {}, 1024),
        ("2 ** 0", {}, 1),
        ("(1/2) ** 3", {}, Fraction(1, 8)),
        ("min(a, b, 3)", {"a": 5, "b": 9}, 3),
        ("max(a, b, 3)", {"a": 5, "b": 9}, 9),
        ("min(a)", {"a": 5}, 5),
        ("ceil(7 / 2)", {}, 4),
        ("floor(-7 / 2)", {}, -4),
        ("multiple_of(1000, 256)", {}, 1024),
        ("multiple_of(1024, 256)", {}, 1024),
        ("+d - -d", {"d": 3}, 6),
        ("  1 + (2\n * 3)  ", {}, 7),
        ("min + 1", {"min": 2}, 3),  # a function name is special only when called
    ],
)
def test_values(text: str, values: dict[str, Any], expected: Any) -> None:
    result = value_of(text, **values)
    assert result == expected
    assert type(result) is type(expected)  # integral results are plain ints


def test_swiglu_width_matches_hand_computation() -> None:
    d_model = 4096
    raw = Fraction(8 * d_model, 3) * Fraction(13, 10)
    expected = 1024 * math.ceil(math.ceil(raw) / 1024)
    assert expected == 14336
    text = "multiple_of(ceil(8 * d_model / 3 * 1.3), 1024)"
    assert value_of(text, d_model=d_model) == expected
    assert value_of("multiple_of(ceil(8 * 4096 / 3 * 1.3), 1024)") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.1 + 0.2", Fraction(3, 10)),
        ("1.3", Fraction(13, 10)),
        ("2.5e3", 2500),
        ("1e-3", Fraction(1, 1000)),
        ("1E+2", 100),
        (".5", Fraction(1, 2)),
        ("5.", 5),
        ("1.0", 1),
        ("1_000", 1000),
        ("1_000.000_5", Fraction(10000005, 10000)),
        ("0e99999999", 0),
        ("1e77", 10**77),
        ("9" * 40, int("9" * 40)),
    ],
)
def test_decimal_literals_are_exact(text: str, expected: Any) -> None:
    result = value_of(text)
    assert result == expected
    assert type(result) is type(expected)
    assert not isinstance(result, float)


def test_parse_tree_is_our_own_nodes() -> None:
    expr = parse("multiple_of(d * 2, 64)")
    assert isinstance(expr, Expr)
    # Each node keeps the offset of its text ("d" at 12, the operator at 14...), which
    # error messages point at.
    d_times_2 = Binary("*", Name("d", 12), Num(2, 16), 14)
    assert expr.root == Call("multiple_of", (d_times_2, Num(64, 19)), 0)
    assert str(expr) == "multiple_of(d * 2, 64)"


def test_names_and_is_literal() -> None:
    assert parse("a + min(b, ceil(c)) * a").names() == frozenset({"a", "b", "c"})
    assert parse("ceil(2.5) + 1").names() == frozenset()
    assert is_literal("4 * 1024 + ceil(1.5)")
    assert not is_literal("4 * d_model")
    assert not is_literal("__import__('os')")  # a predicate: invalid text is no literal


def test_parse_is_cached() -> None:
    text = "8 * d_model / 3 + 17"
    assert parse(text) is parse(text)


def test_exact_int() -> None:
    assert exact_int(7) == 7
    assert exact_int(Fraction(8, 2)) == 4
    assert exact_int(Fraction(8, 3)) is None
    assert exact_int(True) is None
    assert exact_int(2.0) is None
    assert exact_int(sympy.Integer(5)) == 5
    assert exact_int(sympy.Rational(5, 2)) is None


def test_expr_error_is_archcalc_error_and_pickles() -> None:
    error = error_of("d / 0", d=1)
    assert isinstance(error, ArchcalcError)
    clone = pickle.loads(pickle.dumps(error))
    assert (clone.message, clone.offset) == (error.message, error.offset) == ("division by zero", 2)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("text", "values"),
    [("d/0", {"d": 1}), ("d % 0", {"d": 1}), ("d // (n - n)", {"d": 1, "n": 3}), ("1 / 0.0", {})],
)
def test_division_by_zero(text: str, values: dict[str, Any]) -> None:
    assert error_of(text, **values).message == "division by zero"


def test_evaluation_errors_point_at_the_operator() -> None:
    assert error_of("d // (n - n)", d=1, n=3).offset == 2
    assert error_of("1 + (2**64)**4").offset == 11
    assert error_of("1 + multiple_of(1, -1)").offset == 4


def test_unknown_name_with_did_you_mean() -> None:
    error = error_of("4 * d_modle", d_model=512, n_heads=8)
    assert error.message == "unknown name 'd_modle'; did you mean 'd_model'?"
    assert error.offset == 4


def test_unknown_name_without_close_match() -> None:
    assert error_of("zzz", d_model=512).message == "unknown name 'zzz'"

    def bare(name: str) -> Any:
        raise KeyError(name)

    with pytest.raises(ExprError, match=r"^unknown name 'x'$"):
        evaluate(parse("x"), bare)


def test_lookup_reason_is_kept() -> None:
    def lookup(name: str) -> Any:
        raise KeyError(f"'{name}' is not a number", ["d_model"])

    with pytest.raises(ExprError, match=r"^'act' is not a number$"):
        evaluate(parse("act + 1"), lookup)


@pytest.mark.parametrize("bad", [True, 1.5, "1", None, 2**300, Fraction(1, 2**200)])
def test_exact_lookup_values_are_checked(bad: Any) -> None:
    with pytest.raises(ExprError, match=r"^value of 'x': "):
        evaluate(parse("x + 1"), lambda name: bad)


@pytest.mark.parametrize(
    ("text", "message", "offset"),
    [
        ("d_model.__class__", "'.' attribute access is not allowed", 0),
        ("1 + factorial(3)", "unknown function 'factorial'", 4),
        ("x\x00", "printable ASCII", 1),
        ("1 + * 2", "invalid expression syntax", 4),
        ("min(a, key=b)", "keyword arguments are not allowed", 7),
        ("2 ** d", "exponent of '**' must be an integer literal", 5),
    ],
)
def test_error_messages_and_offsets(text: str, message: str, offset: int) -> None:
    with pytest.raises(ExprError) as info:
        parse(text)
    assert message in info.value.message
    assert info.value.offset == offset


@pytest.mark.parametrize(
    "text",
    [
        "0x10",
        "0o7",
        "0b1",
        "D_model",
        "d_Model",
        "__x__",
        "ceil(1, 2)",
        "floor()",
        "multiple_of(1)",
    ],
)
def test_other_rejections(text: str) -> None:
    with pytest.raises(ExprError):
        parse(text)


def test_private_looking_names_are_plain_names() -> None:
    assert value_of("_x + x_1", _x=1, x_1=2) == 3


@pytest.mark.parametrize("bad", [5, b"1", None, ["1"]])
def test_parse_needs_a_string(bad: Any) -> None:
    with pytest.raises(ExprError, match="must be a string"):
        parse(bad)


def test_multiple_of_needs_a_positive_step() -> None:
    assert "m > 0" in error_of("multiple_of(10, -4)").message
    assert error_of("multiple_of(10, 0)").message == "division by zero"


# --------------------------------------------------------------------------- injection

INJECTIONS = [
    "__import__('os').system('{cmd}')",
    "__import__('os').system",
    "().__class__.__base__.__subclasses__()",
    "().__class__.__base__.__subclasses__()[0]()._module.__builtins__['__import__']('os')"
    ".system('{cmd}')",
    "d_model.__class__",
    "lambda: 1",
    "(lambda: __import__('os').system('{cmd}'))()",
    "[x for x in (1,2)]",
    "[__import__('os').system('{cmd}') for x in (1,)]",
    "{{1}}",
    "{{'a': 1}}",
    "(1, 2)",
    "[1]",
    "'a' * 10",
    "b'a'",
    "f'{{x}}'",
    "'{{0.__class__}}'.format(d)",
    "x if y else z",
    "a < b",
    "a and b",
    "not a",
    "~a",
    "a @ b",
    "a << 2",
    "x[0]",
    "min(a, key=b)",
    "min(*a)",
    "*a",
    "(x := 1)",
    "True + 1",
    "None",
    "1j",
    "...",
    "factorial(10**9)",
    "eval('1')",
    "exec('import os; os.system(\"{cmd}\")')",
    "open('/etc/passwd')",
    "getattr(a, 'b')",
    "__builtins__",
    "__import__",
    "ceil.__globals__",
    "(yield)",
    "await x",
    "sympify('1')",
    "Symbol('x')",
]


@pytest.mark.parametrize("template", INJECTIONS)
def test_injection_is_rejected_and_nothing_runs(template: str, tmp_path: Path) -> None:
    canary = tmp_path / "CANARY"
    payload = template.format(cmd=f"touch {canary}")
    calls: list[str] = []

    def lookup(name: str) -> Any:
        calls.append(name)
        return 7

    with pytest.raises(ExprError):
        evaluate(parse(payload), lookup)
    with pytest.raises(ExprError):
        evaluate(parse(payload), lookup, symbolic())
    assert not canary.exists()
    assert calls == []  # rejected while parsing, before any evaluation


def test_symbolic_never_passes_a_string_to_sympy(tmp_path: Path) -> None:
    canary = tmp_path / "CANARY"
    payload = f"__import__('os').system('touch {canary}')"
    for text in ["x", "x + 1", "ceil(x)", "max(x, 1)", "x // 2", "multiple_of(x, 8)"]:
        with pytest.raises(ExprError, match="not a symbolic value"):
            evaluate(parse(text), lambda name: payload, symbolic())
    assert not canary.exists()


# --------------------------------------------------------------------------- bombs

PARSE_BOMBS = [
    "10**10**10",
    "9**9**9",
    "2**2**2**2**2**2",
    "(d+1)**65",
    "10**100",
    "2**-1",
    "2**d",
    "999999999999999999999999999999999999999999**64",
    "1" * 41,
    "(" * 300 + "1" + ")" * 300,
    "(" * 41 + "1" + ")" * 41 + " + " + "-" * 41 + "1",
    "-" * 100000 + "1",
    "-" * 999 + "1",
    "+".join(["x"] * 20000),
    "+".join(["x"] * 151),
    "+".join(["x"] * 41),  # nested 41 deep: left-associative sums nest
    "1" * 5000,
    "x" * (MAX_LENGTH + 1),
    "1e1000000",
    "1e78",
    "1e-81",
    "1.5e99999",
    "ｄ_model",
    "d_model\x00",
    "d_modél",
    "d\u200b",
    "1 +\r 2",
]


@pytest.mark.parametrize("text", PARSE_BOMBS, ids=lambda text: repr(text[:30]))
def test_bombs_are_rejected_while_parsing(text: str) -> None:
    with pytest.raises(ExprError):
        parse(text)


EVALUATION_BOMBS = [
    ("(d+1)**64", {"d": 2**40}),
    ("999999999999999999999999999999999999999**64", {}),
    ("2**64 * 2**64 * 2**64 * 2**64", {}),
    ("((2**8)**8)**8", {}),
    ("(1/3)**64 * (1/3)**64", {}),
    ("(((d * d) ** 64) ** 64) ** 64", {"d": 3}),
    ("1 / 2**64 / 2**64 / 2**64", {}),
    ("d * d * d * d * d * d * d", {"d": 2**40}),
]


@pytest.mark.parametrize(("text", "values"), EVALUATION_BOMBS, ids=lambda v: repr(v)[:30])
def test_bombs_are_rejected_while_evaluating(text: str, values: dict[str, Any]) -> None:
    assert error_of(text, **values).message.startswith("value too large")


def test_limits_are_inclusive() -> None:
    assert value_of("(1)**64") == 1
    assert value_of("+".join(["1"] * 40)) == 40
    assert value_of("-" * 39 + "d", d=3) == -3  # nested 40 deep
    assert value_of("(2**64)**3 * 2**63") == 2**255
    assert value_of("2 / (2**64)**2") == Fraction(1, 2**127)
    assert error_of("(2**64)**4").message.startswith("value too large")
    assert error_of("1 / (2**64)**2").message.startswith("value too large")


def test_symbolic_growth_across_fields_is_bounded() -> None:
    x = sympy.Symbol("x", integer=True, positive=True)
    algebra = symbolic()
    power = evaluate(parse("f ** 64"), lookup_from({"f": x**4}), algebra)
    assert power == x**256
    with pytest.raises(ExprError, match="value too large"):
        evaluate(parse("f ** 64"), lookup_from({"f": x**64}), algebra)
    with pytest.raises(ExprError, match="value too large"):
        evaluate(parse("f * f"), lookup_from({"f": 2**200 * x}), algebra)
    with pytest.raises(ExprError, match="value too large"):
        evaluate(
            parse("(2 * x) ** 64 * (2 * x) ** 64 * (2 * x) ** 64 * (2 * x) ** 64"),
            lookup_from({"x": x}),
            algebra,
        )


def test_symbolic_min_max_size_is_bounded() -> None:
    count = MAX_SYMBOLIC_MINMAX_ARGS + 1
    symbols = {f"x{i}": sympy.Symbol(f"x{i}", positive=True) for i in range(count)}
    text = "max(" + ", ".join(symbols) + ")"
    with pytest.raises(ExprError, match="max\\(\\) of"):
        evaluate(parse(text), lookup_from(symbols), symbolic())
    # Exact evaluation of the same text has no such limit.
    assert evaluate(parse(text), lookup_from(dict.fromkeys(symbols, 3))) == 3


# --------------------------------------------------------------------------- symbolic


def test_symbolic_shapes() -> None:
    d, h = sympy.symbols("d h", integer=True, positive=True)
    algebra = symbolic()
    names = lookup_from({"d": d, "h": h})
    assert evaluate(parse("8 * d / 3"), names, algebra) == sympy.Rational(8, 3) * d
    assert evaluate(parse("d // h"), names, algebra) == sympy.floor(d / h, evaluate=False)
    got = evaluate(parse("multiple_of(d, 64)"), names, algebra)
    assert got == 64 * sympy.ceiling(d / 64, evaluate=False)
    assert evaluate(parse("multiple_of(ceil(8 * 4096 / 3 * 1.3), 1024)"), names, algebra) == 14336
    assert evaluate(parse("1.3"), names, algebra) == sympy.Rational(13, 10)
    with pytest.raises(ExprError, match="division by zero"):
        evaluate(parse("d / (h - h)"), names, algebra)


def test_import_does_not_import_sympy() -> None:
    code = "import sys, archcalc.expr; print('sympy' in sys.modules)"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


SYMBOLS = {name: sympy.Symbol(name, integer=True, positive=True) for name in "abc"}

OPERATIONS = [
    "a + b",
    "a - b",
    "a * b",
    "a / b",
    "a // b",
    "a % b",
    "-a % b",
    "a ** 3",
    "(a - b) ** 2",
    "-a",
    "+a",
    "ceil(a / b)",
    "floor(a / b)",
    "ceil(a * 1.3)",
    "min(a, b, 3)",
    "max(a, b, 3)",
    "multiple_of(a, b)",
    "multiple_of(8 * a / 3, 64)",
    "multiple_of(a, b / 2)",
]


@pytest.mark.parametrize("text", OPERATIONS)
@settings(max_examples=15, deadline=None)
@given(a=st.integers(1, 60), b=st.integers(1, 60))
def test_symbolic_then_subs_equals_exact(text: str, a: int, b: int) -> None:
    expr = parse(text)
    exact = evaluate(expr, lookup_from({"a": a, "b": b}))
    formula = evaluate(expr, lookup_from(SYMBOLS), symbolic())
    substituted = formula.subs({SYMBOLS["a"]: sympy.Integer(a), SYMBOLS["b"]: sympy.Integer(b)})
    assert substituted == symbolic().number(exact)


@pytest.mark.parametrize("text", OPERATIONS)
@settings(max_examples=15, deadline=None)
@given(a=st.integers(-60, 60), b=st.integers(-60, 60))
def test_symbolic_on_numbers_equals_exact(text: str, a: int, b: int) -> None:
    expr = parse(text)
    try:
        exact = evaluate(expr, lookup_from({"a": a, "b": b}))
    except ExprError as error:
        with pytest.raises(ExprError) as info:
            evaluate(expr, lookup_from({"a": a, "b": b}), symbolic())
        assert info.value.message == error.message
        return
    numbers = {"a": sympy.Integer(a), "b": sympy.Integer(b)}
    assert evaluate(expr, lookup_from(numbers), symbolic()) == symbolic().number(exact)


def _trees() -> st.SearchStrategy[str]:
    leaves = st.one_of(
        st.sampled_from(["a", "b", "c"]),
        st.integers(0, 20).map(str),
        st.sampled_from(["1.5", "0.25", "2.5e1"]),
    )

    def extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        two = st.tuples(children, children)
        return st.one_of(
            st.tuples(children, st.sampled_from(["+", "-", "*", "/", "//", "%"]), children).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            ),
            st.tuples(children, st.integers(0, 3)).map(lambda t: f"({t[0]}) ** {t[1]}"),
            children.map(lambda c: f"-({c})"),
            st.tuples(st.sampled_from(["ceil", "floor"]), children).map(
                lambda t: f"{t[0]}({t[1]})"
            ),
            st.tuples(
                st.sampled_from(["min", "max"]), st.lists(children, min_size=1, max_size=3)
            ).map(lambda t: f"{t[0]}({', '.join(t[1])})"),
            two.map(lambda t: f"multiple_of({t[0]}, {t[1]})"),
        )

    return st.recursive(leaves, extend, max_leaves=10)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=_trees(),
    a=st.integers(1, 30),
    b=st.integers(1, 30),
    c=st.integers(1, 30),
)
def test_law_symbolic_substituted_equals_exact(text: str, a: int, b: int, c: int) -> None:
    expr = parse(text)
    try:
        exact = evaluate(expr, lookup_from({"a": a, "b": b, "c": c}))
    except ExprError:
        return  # division by zero, multiple_of(x, m <= 0), too large: nothing to compare
    try:
        formula = evaluate(expr, lookup_from(SYMBOLS), symbolic())
    except ExprError as error:
        # A formula may exceed the bounds where one set of values does not
        # (e.g. a huge coefficient times a term that happens to be 0).
        assert error.message.startswith("value too large")
        return
    # xreplace, not subs: sympy 1.14 mis-evaluates some partially substituted
    # Min/Max (Min(29968, floor(297318/(g + f))) becomes 29968 for positive
    # integers g, f), and sequential subs() goes through such states.
    values = {SYMBOLS["a"]: a, SYMBOLS["b"]: b, SYMBOLS["c"]: c}
    substituted = formula.xreplace({k: sympy.Integer(v) for k, v in values.items()})
    assert substituted == symbolic().number(exact)


# --------------------------------------------------------------------------- fuzzing

GRAMMAR_ALPHABET = "0123456789+-*/%().,_ abcdefghijklmnopqrstuvwxyz"


def _evaluates_or_expr_error(text: str, algebra: Any, value: Any) -> None:
    try:
        expr = parse(text)
        evaluate(expr, lambda name: value, algebra)
    except ExprError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_fuzz_any_text(text: str) -> None:
    _evaluates_or_expr_error(text, EXACT, 7)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=GRAMMAR_ALPHABET, max_size=80))
def test_fuzz_grammar_text(text: str) -> None:
    _evaluates_or_expr_error(text, EXACT, 7)


@FAST
@given(st.text(alphabet=GRAMMAR_ALPHABET, max_size=60))
def test_fuzz_grammar_text_symbolic(text: str) -> None:
    _evaluates_or_expr_error(text, symbolic(), sympy.Symbol("v", integer=True, positive=True))


@settings(max_examples=100, deadline=None)
@given(_trees())
def test_fuzz_valid_trees_exact(text: str) -> None:
    _evaluates_or_expr_error(text, EXACT, 7)
