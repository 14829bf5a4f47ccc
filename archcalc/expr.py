"""The safe arithmetic language used inside numeric spec fields.

Spec files may come from an untrusted pull request, so a field such as
``d_ff: "multiple_of(ceil(8 * d_model / 3 * 1.3), 1024)"`` is hostile until proven
otherwise. Two families of attack matter:

* **Code execution.** ``eval``, ``sympify``, ``parse_expr`` and, implicitly, sympy
  functions handed a *string* (``ceiling(str)``, ``Max(str)``, ``subs(str)``,
  ``simplify(str)``) all run Python code. Deny-lists of "dangerous" names have been
  bypassed in every library that tried them. So this module never evaluates Python:
  it reads the text with :func:`ast.parse`, accepts a *tiny allow-list* of node types,
  converts them into its own frozen dataclasses, and computes values itself. No string
  from a spec ever reaches sympy; numbers are built with ``Integer``/``Rational``.
* **Denial of service.** ``9**9**9`` or ``1e1000000`` can pin a CPU for minutes, and
  a timeout cannot stop it: with gmpy2 installed, ``SIGALRM`` is only delivered once
  the big-integer operation finishes. So every bound (text length, characters, node
  count, nesting depth, literal size, exponent size, magnitude of every intermediate
  value) is checked *before* the work that it protects is started, which keeps every
  single operation cheap.

Exact evaluation uses ``int`` and :class:`fractions.Fraction` only - never ``float`` -
so ``8 * d_model / 3`` stays exact and a decimal literal like ``1.3`` means 13/10.
"""

from __future__ import annotations

import ast
import functools
import math
import operator
import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from types import ModuleType
from typing import Any, NamedTuple, Protocol

from archcalc.errors import ArchcalcError, shorten
from archcalc.suggest import close_matches

__all__ = [
    "ALLOWED_FUNCTIONS",
    "EXACT",
    "MAX_DENOMINATOR_BITS",
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_LENGTH",
    "MAX_LITERAL_DIGITS",
    "MAX_NODES",
    "MAX_NUMERATOR_BITS",
    "MAX_SYMBOLIC_EXPONENT",
    "MAX_SYMBOLIC_MINMAX_ARGS",
    "Algebra",
    "Binary",
    "Call",
    "Expr",
    "ExprError",
    "Name",
    "Node",
    "Num",
    "Unary",
    "evaluate",
    "exact_int",
    "is_literal",
    "parse",
    "symbolic",
]

#: Longest accepted expression text. Keeps :func:`ast.parse` far away from the inputs
#: known to exhaust its memory or C stack (``'-' * 100000``, 20 000-term sums).
MAX_LENGTH = 1000
#: Most nodes (numbers, names, operators, calls) in one expression.
MAX_NODES = 300
#: Deepest nesting of the expression tree (a 41-term left-associative sum counts as 41).
MAX_DEPTH = 40
#: Most digits in one number literal (underscores not counted); 40 digits < 2**133.
MAX_LITERAL_DIGITS = 40
#: Largest exponent of ``**``; the exponent must be an integer literal in 0..MAX_EXPONENT.
MAX_EXPONENT = 64
#: Largest integer exponent a symbolic power may reach, e.g. through ``(x**8)**64`` or
#: fields that raise each other to powers. An exact value can never get there (2**257 is
#: too large already); a symbolic one could, and substituting a number later would then
#: compute an astronomically large integer.
MAX_SYMBOLIC_EXPONENT = 256
#: Most non-numeric terms in one symbolic min()/max() (nested ones counted one level
#: deep). Whenever sympy evaluates a Min/Max with symbols left in it, it compares the
#: terms pairwise through its assumption system, at a cost that grows about cubically
#: (64 symbols nested pairwise: 90 s).
MAX_SYMBOLIC_MINMAX_ARGS = 16
#: Every exact value must satisfy ``|numerator| < 2**MAX_NUMERATOR_BITS`` ...
MAX_NUMERATOR_BITS = 256
#: ... and ``denominator < 2**MAX_DENOMINATOR_BITS``.
MAX_DENOMINATOR_BITS = 128

#: The only callable names, with their (min, max) number of arguments (None: unbounded).
ALLOWED_FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "ceil": (1, 1),
    "floor": (1, 1),
    "max": (1, None),
    "min": (1, None),
    "multiple_of": (2, 2),
}
_FUNCTIONS_TEXT = ", ".join(sorted(ALLOWED_FUNCTIONS))

_NAME_RE = re.compile(r"[a-z_][a-z0-9_]*\Z")
_INT_RE = re.compile(r"[0-9](?:_?[0-9])*\Z")
_DECIMAL_RE = re.compile(
    r"(?P<int>[0-9](?:_?[0-9])*)?(?:\.(?P<frac>[0-9](?:_?[0-9])*)?)?"
    r"(?:[eE](?P<exp>[+-]?[0-9](?:_?[0-9])*))?\Z"
)
# Characters that may appear in an expression: printable ASCII plus tab and newline.
# Checked on the raw text because ast.parse NFKC-normalises identifiers (a fullwidth
# 'ｄ_model' would silently become 'd_model') and rejects NUL only sometimes.
_ALLOWED_CHARS = frozenset(chr(c) for c in range(0x20, 0x7F)) | {"\t", "\n"}
_LEADING_SPACE = " \t\n"

ExactValue = int | Fraction


class ExprError(ArchcalcError):
    """An expression is invalid or cannot be evaluated.

    ``offset`` is the 0-based position in the expression text (when known; for the
    usual one-line text, the column), so that the caller can turn it into a file line
    and column inside the YAML scalar.
    """

    def __init__(self, message: str, offset: int | None = None, code: str = "X301") -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        #: The rule code (see :mod:`archcalc.rules`): X301 not accepted, X302 unknown name,
        #: X305 beyond a bound, X307 arithmetic without a value.
        self.code = code

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep the offset when the error crosses a process boundary (worker backstop).
        return (type(self), (self.message, self.offset, self.code))


# --------------------------------------------------------------------------- nodes


# The nodes are NamedTuples (cheap to create at start-up, see archcalc.errors.Mark); two
# nodes are equal when their text and offsets are.


class Num(NamedTuple):
    """A number literal, already exact (a decimal literal is a Fraction of its text)."""

    value: ExactValue
    offset: int = 0


class Name(NamedTuple):
    """A reference to another spec field; resolved by the caller's ``lookup``."""

    id: str
    offset: int = 0


class Unary(NamedTuple):
    """``+x`` or ``-x``."""

    op: str
    operand: Node
    offset: int = 0


class Binary(NamedTuple):
    """``left op right``; for ``**`` the right side is always a :class:`Num` in 0..64."""

    op: str
    left: Node
    right: Node
    offset: int = 0


class Call(NamedTuple):
    """A call of one of :data:`ALLOWED_FUNCTIONS` with positional arguments."""

    fn: str
    args: tuple[Node, ...]
    offset: int = 0


Node = Num | Name | Unary | Binary | Call


@dataclass(frozen=True)
class Expr:
    """A parsed expression: its text and a tree of this module's own node types.

    Holding our own nodes (not :mod:`ast` objects) means nothing downstream can be
    handed a Python object that knows how to execute itself.
    """

    text: str
    root: Node = field(compare=False, repr=False)
    _names: frozenset[str] = field(compare=False, repr=False)
    # Post-order of the tree (without the literal exponents of '**'), computed once so
    # that every evaluation is a flat loop: no recursion, whatever the tree looks like.
    _order: tuple[Node, ...] = field(compare=False, repr=False)

    def names(self) -> frozenset[str]:
        """Every name the expression references, for dependency order and cycles."""
        return self._names

    def __str__(self) -> str:
        return self.text


# --------------------------------------------------------------------------- parsing


def parse(text: str) -> Expr:
    """Parse ``text`` into an :class:`Expr`, or raise :class:`ExprError`.

    Results are cached by text, because a spec evaluates the same few expressions
    many times (once per layer, per substitution...).
    """
    if type(text) is not str:
        # Checked before the cache: lru_cache would hash an arbitrary object.
        raise ExprError(f"an expression must be a string, not {type(text).__name__}")
    return _parse_cached(text)


@functools.lru_cache(maxsize=4096)
def _parse_cached(text: str) -> Expr:
    return _Parser(text).parse()


class _Parser:
    """One parse of one text; holds what is needed to turn ast positions into offsets."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.line_starts: list[int] = []

    def parse(self) -> Expr:
        text = self.text
        if len(text) > MAX_LENGTH:
            raise ExprError(
                f"expression is {len(text)} characters long (max {MAX_LENGTH})", code="X305"
            )
        for index, char in enumerate(text):
            if char not in _ALLOWED_CHARS:
                raise ExprError(
                    f"expression must be printable ASCII; found {char!r} at column {index + 1}",
                    index,
                )
        # ast.parse(mode="eval") treats leading blanks as an indent; skip them and
        # remember where the parsed text starts so that offsets still match the input.
        start = len(text) - len(text.lstrip(_LEADING_SPACE))
        body = text[start:]
        position = start
        for line in body.split("\n"):
            self.line_starts.append(position)
            position += len(line) + 1
        tree = self._ast_parse(body)
        self._check_size(tree)
        names: set[str] = set()
        root = self._convert(tree, names)
        return Expr(text, root, frozenset(names), _postorder(root))

    def _ast_parse(self, body: str) -> ast.expr:
        try:
            with warnings.catch_warnings():
                # The tokenizer may warn (e.g. about odd literals); never print.
                warnings.simplefilter("ignore")
                module = ast.parse(body, mode="eval")
        except SyntaxError as error:
            raise ExprError(_syntax_message(error), self._syntax_offset(error)) from None
        except (ValueError, RecursionError, MemoryError, OverflowError):
            raise ExprError("invalid expression syntax") from None
        return module.body

    def _syntax_offset(self, error: SyntaxError) -> int | None:
        if error.lineno is None or error.offset is None:
            return None
        line = error.lineno - 1
        if not 0 <= line < len(self.line_starts):
            return None
        offset = self.line_starts[line] + max(error.offset - 1, 0)
        return min(offset, len(self.text))

    def _offset(self, node: ast.AST) -> int | None:
        lineno = getattr(node, "lineno", None)
        col = getattr(node, "col_offset", None)
        if lineno is None or col is None or not 0 < lineno <= len(self.line_starts):
            return None
        # col_offset counts UTF-8 bytes; the text is ASCII, so bytes == characters.
        return self.line_starts[int(lineno) - 1] + int(col)

    def _end_offset(self, node: ast.AST) -> int | None:
        lineno = getattr(node, "end_lineno", None)
        col = getattr(node, "end_col_offset", None)
        if lineno is None or col is None or not 0 < lineno <= len(self.line_starts):
            return None
        return self.line_starts[int(lineno) - 1] + int(col)

    def _check_size(self, tree: ast.expr) -> None:
        """Count nodes and measure depth iteratively, before any recursive step runs."""
        stack: list[tuple[ast.AST, int]] = [(tree, 1)]
        count = 0
        while stack:
            node, depth = stack.pop()
            count += 1
            if count > MAX_NODES:
                raise ExprError(
                    f"expression has more than {MAX_NODES} nodes", self._offset(node), "X305"
                )
            if depth > MAX_DEPTH:
                raise ExprError(
                    f"expression is nested more than {MAX_DEPTH} levels deep",
                    self._offset(node),
                    "X305",
                )
            for child in ast.iter_child_nodes(node):
                # Operator and context markers (Add, Load...) are not nodes of ours.
                if not isinstance(child, (ast.operator, ast.unaryop, ast.expr_context)):
                    stack.append((child, depth + 1))

    def _convert(self, node: ast.AST, names: set[str]) -> Node:
        """Turn an allowed ast node into ours, or say precisely why it is not allowed.

        Recursion is safe: :meth:`_check_size` has bounded the depth by MAX_DEPTH.
        """
        offset = self._offset(node)
        where = offset if offset is not None else 0
        if isinstance(node, ast.Constant):
            return Num(self._literal(node), where)
        if isinstance(node, ast.Name):
            _check_name(node.id, offset)
            names.add(node.id)
            return Name(node.id, where)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                op = "-"
            elif isinstance(node.op, ast.UAdd):
                op = "+"
            elif isinstance(node.op, ast.Not):
                raise ExprError("'not' is not allowed in an expression", offset)
            else:
                raise ExprError("'~' is not allowed in an expression", offset)
            return Unary(op, self._convert(node.operand, names), where)
        if isinstance(node, ast.BinOp):
            return self._binary(node, names)
        if isinstance(node, ast.Call):
            return self._call(node, names)
        raise ExprError(_rejection(node), offset)

    def _binary(self, node: ast.BinOp, names: set[str]) -> Node:
        op = _BINARY_OPS.get(type(node.op))
        operator_offset = self._operator_offset(node)
        if op is None:
            symbol = _OTHER_BINARY_OPS.get(type(node.op), type(node.op).__name__)
            raise ExprError(f"operator '{symbol}' is not allowed", operator_offset)
        if op == "**":
            exponent = node.right
            if not (
                isinstance(exponent, ast.Constant)
                and type(exponent.value) is int
                and _INT_RE.match(self._source(exponent) or "")
                and exponent.value <= MAX_EXPONENT
            ):
                raise ExprError(
                    f"the exponent of '**' must be an integer literal from 0 to {MAX_EXPONENT}",
                    self._offset(exponent),
                )
            left = self._convert(node.left, names)
            right: Node = Num(exponent.value, self._offset(exponent) or 0)
        else:
            left = self._convert(node.left, names)
            right = self._convert(node.right, names)
        where = operator_offset if operator_offset is not None else 0
        return Binary(op, left, right, where)

    def _call(self, node: ast.Call, names: set[str]) -> Node:
        offset = self._offset(node)
        func = node.func
        if not isinstance(func, ast.Name):
            raise ExprError(
                f"only the functions {_FUNCTIONS_TEXT} may be called (by plain name)", offset
            )
        if func.id not in ALLOWED_FUNCTIONS:
            raise ExprError(
                f"unknown function {_quote(func.id)}; "
                f"only the functions {_FUNCTIONS_TEXT} may be called",
                offset,
            )
        if node.keywords:
            raise ExprError(
                f"keyword arguments are not allowed in a call of {func.id}()",
                self._offset(node.keywords[0]),
            )
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise ExprError("'*' unpacking is not allowed", self._offset(arg))
        low, high = ALLOWED_FUNCTIONS[func.id]
        count = len(node.args)
        if count < low or (high is not None and count > high):
            wanted = f"{low}" if low == high else f"at least {low}"
            raise ExprError(
                f"{func.id}() takes {wanted} argument{'s' if low != 1 else ''}, got {count}",
                offset,
            )
        args = tuple(self._convert(arg, names) for arg in node.args)
        return Call(func.id, args, offset if offset is not None else 0)

    def _source(self, node: ast.AST) -> str | None:
        start, end = self._offset(node), self._end_offset(node)
        if start is None or end is None:
            return None
        return self.text[start:end]

    def _operator_offset(self, node: ast.BinOp) -> int | None:
        """Where the operator itself is: the first non-blank, non-paren char after ``left``."""
        start, end = self._end_offset(node.left), self._offset(node.right)
        if start is None or end is None:
            return self._offset(node)
        index = start
        while index < end:
            char = self.text[index]
            if char == "#":
                newline = self.text.find("\n", index, end)
                index = end if newline < 0 else newline + 1
            elif char in " \t\n()":
                index += 1
            else:
                return index
        return self._offset(node)

    def _literal(self, node: ast.Constant) -> ExactValue:
        """Build the exact value of a literal from its text, after bounding its size.

        The parser has already made an ``int`` or a ``float`` of it; the float is only
        used to learn the literal's kind, never as a value.
        """
        value = node.value
        offset = self._offset(node)
        if isinstance(value, bool):
            raise ExprError(f"{value} is not allowed in an expression", offset)
        if value is None:
            raise ExprError("None is not allowed in an expression", offset)
        if value is Ellipsis:
            raise ExprError("'...' is not allowed in an expression", offset)
        if isinstance(value, (str, bytes)):
            raise ExprError("strings are not allowed in an expression", offset)
        if isinstance(value, complex):
            raise ExprError("complex numbers are not allowed in an expression", offset)
        source = self._source(node)
        if type(value) not in (int, float) or source is None:
            raise ExprError(f"literal {shorten(value)} is not allowed", offset)
        match = _DECIMAL_RE.match(source)
        if match is None or not (match["int"] or match["frac"]):
            raise ExprError(
                f"only decimal number literals are allowed, not {shorten(source)}", offset
            )
        whole = (match["int"] or "").replace("_", "")
        fraction = (match["frac"] or "").replace("_", "")
        digits = len(whole) + len(fraction)
        if digits > MAX_LITERAL_DIGITS:
            raise ExprError(
                f"number literal has {digits} digits (max {MAX_LITERAL_DIGITS})", offset
            )
        if type(value) is int:
            return value
        mantissa = int(whole + fraction)
        exponent_text = (match["exp"] or "0").replace("_", "")
        if mantissa == 0:
            return 0
        if len(exponent_text.lstrip("+-").lstrip("0")) > 4:
            raise ExprError("value too large: literal exponent out of range", offset, "X305")
        scale = int(exponent_text) - len(fraction)
        # 10**78 > 2**256 and, since the mantissa is below 10**40, 10**-80 leaves a
        # denominator above 2**128: both bounds fail, so never build those powers.
        if scale > 78 or scale < -80:
            raise ExprError(f"value too large: literal {shorten(source)}", offset, "X305")
        if scale >= 0:
            result: ExactValue = mantissa * 10**scale
        else:
            result = Fraction(mantissa, 10**-scale)
        try:
            return _bound(result)
        except ExprError as error:
            raise ExprError(error.message, offset) from None


_BINARY_OPS: dict[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
}
_OTHER_BINARY_OPS: dict[type[ast.operator], str] = {
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.BitXor: "^",
}
_REJECTIONS: tuple[tuple[type[ast.AST] | tuple[type[ast.AST], ...], str], ...] = (
    (ast.Attribute, "'.' attribute access is not allowed"),
    (ast.Subscript, "'[...]' subscripts are not allowed"),
    (ast.Lambda, "'lambda' is not allowed in an expression"),
    (
        (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp),
        "comprehensions are not allowed in an expression",
    ),
    ((ast.List, ast.Tuple, ast.Set, ast.Dict), "lists, tuples, sets and dicts are not allowed"),
    (ast.Compare, "comparisons are not allowed in an expression"),
    (ast.BoolOp, "'and' / 'or' are not allowed in an expression"),
    (ast.IfExp, "conditional expressions ('x if c else y') are not allowed"),
    ((ast.JoinedStr, ast.FormattedValue), "f-strings are not allowed in an expression"),
    (ast.NamedExpr, "':=' is not allowed in an expression"),
    (ast.Starred, "'*' unpacking is not allowed"),
    ((ast.Yield, ast.YieldFrom, ast.Await), "'yield' / 'await' are not allowed"),
)


def _rejection(node: ast.AST) -> str:
    for kinds, message in _REJECTIONS:
        if isinstance(node, kinds):
            return message
    return f"{type(node).__name__} is not allowed in an expression"


def _syntax_message(error: SyntaxError) -> str:
    detail = (error.msg or "").strip()
    if not detail or detail == "invalid syntax":
        return "invalid expression syntax"
    if len(detail) > 80:
        detail = detail[:77] + "..."
    return f"invalid expression syntax: {detail}"


def _check_name(name: str, offset: int | None) -> None:
    if not _NAME_RE.match(name):
        raise ExprError(
            f"name {_quote(name)} is not allowed: names are lowercase ASCII identifiers "
            "([a-z_][a-z0-9_]*)",
            offset,
        )
    if len(name) > 4 and name.startswith("__") and name.endswith("__"):
        raise ExprError(f"name {_quote(name)} is not allowed: dunder names are reserved", offset)


def _quote(name: str) -> str:
    return f"'{name}'" if len(name) <= 60 else f"'{name[:57]}...'"


def _postorder(root: Node) -> tuple[Node, ...]:
    """Children before parents; the literal exponent of '**' is read from its parent."""
    out: list[Node] = []
    stack: list[Node] = [root]
    while stack:
        node = stack.pop()
        out.append(node)
        if isinstance(node, Unary):
            stack.append(node.operand)
        elif isinstance(node, Binary):
            stack.append(node.left)
            if node.op != "**":
                stack.append(node.right)
        elif isinstance(node, Call):
            stack.extend(node.args)
    out.reverse()
    return tuple(out)


def is_literal(text: str) -> bool:
    """True when ``text`` is a valid expression that references no names.

    A predicate, so it never raises: text that does not parse is not a literal (and
    :func:`parse` will report why when the caller evaluates it).
    """
    try:
        return not parse(text).names()
    except ExprError:
        return False


# --------------------------------------------------------------------------- algebras


class Algebra(Protocol):
    """How values are combined; one evaluator serves exact numbers and sympy alike."""

    def number(self, value: int | Fraction) -> Any: ...
    def add(self, a: Any, b: Any) -> Any: ...
    def sub(self, a: Any, b: Any) -> Any: ...
    def mul(self, a: Any, b: Any) -> Any: ...
    def truediv(self, a: Any, b: Any) -> Any: ...
    def floordiv(self, a: Any, b: Any) -> Any: ...
    def mod(self, a: Any, b: Any) -> Any: ...
    def pow(self, a: Any, exponent: int) -> Any: ...
    def neg(self, a: Any) -> Any: ...
    def ceil(self, a: Any) -> Any: ...
    def floor(self, a: Any) -> Any: ...
    def min(self, *args: Any) -> Any: ...
    def max(self, *args: Any) -> Any: ...
    def multiple_of(self, a: Any, m: Any) -> Any: ...


def _too_large() -> ExprError:
    return ExprError(
        f"value too large (an exact value must have |numerator| < 2**{MAX_NUMERATOR_BITS} "
        f"and denominator < 2**{MAX_DENOMINATOR_BITS})",
        code="X305",
    )


def _bound(value: ExactValue) -> ExactValue:
    """Normalise an exact value and enforce the magnitude bound.

    Inputs to every operation are bounded, so each operation is cheap (a few hundred
    bits; powers are refused before they are computed when they would be too large),
    and the check after it stops growth from compounding.
    """
    if type(value) is int:
        if value.bit_length() > MAX_NUMERATOR_BITS:
            raise _too_large()
        return value
    if (
        value.numerator.bit_length() > MAX_NUMERATOR_BITS
        or value.denominator.bit_length() > MAX_DENOMINATOR_BITS
    ):
        raise _too_large()
    if value.denominator == 1:
        return int(value.numerator)
    return value


def _operand(value: Any) -> ExactValue:
    """Admit only bounded int / Fraction: a bool, float or str is a caller's bug or an attack."""
    if type(value) is int or type(value) is Fraction:
        return _bound(value)
    raise ExprError(f"not an exact number: {shorten(value)}")


def _nonzero(value: ExactValue) -> ExactValue:
    if value == 0:
        raise ExprError("division by zero", code="X307")
    return value


class _ExactAlgebra:
    """Exact arithmetic on int / Fraction with the magnitude bound after every operation."""

    def number(self, value: int | Fraction) -> ExactValue:
        return _operand(value)

    admit = number  # values returned by lookup pass the same check as literals

    def add(self, a: Any, b: Any) -> ExactValue:
        return _bound(_operand(a) + _operand(b))

    def sub(self, a: Any, b: Any) -> ExactValue:
        return _bound(_operand(a) - _operand(b))

    def mul(self, a: Any, b: Any) -> ExactValue:
        return _bound(_operand(a) * _operand(b))

    def truediv(self, a: Any, b: Any) -> ExactValue:
        return _bound(Fraction(_operand(a)) / _nonzero(_operand(b)))

    def floordiv(self, a: Any, b: Any) -> ExactValue:
        return _bound(_operand(a) // _nonzero(_operand(b)))

    def mod(self, a: Any, b: Any) -> ExactValue:
        return _bound(_operand(a) % _nonzero(_operand(b)))

    def pow(self, a: Any, exponent: int) -> ExactValue:
        base = Fraction(_operand(a))
        if type(exponent) is not int or not 0 <= exponent <= MAX_EXPONENT:
            raise ExprError(f"exponent must be an integer from 0 to {MAX_EXPONENT}", code="X307")
        # |p|**e >= 2**((bits(p) - 1) * e): decide "too large" before computing it.
        numerator_bits = abs(base.numerator).bit_length() - 1
        denominator_bits = base.denominator.bit_length() - 1
        if (
            numerator_bits * exponent >= MAX_NUMERATOR_BITS
            or denominator_bits * exponent >= MAX_DENOMINATOR_BITS
        ):
            raise _too_large()
        return _bound(base**exponent)

    def neg(self, a: Any) -> ExactValue:
        return _bound(-_operand(a))

    def ceil(self, a: Any) -> ExactValue:
        return _bound(math.ceil(_operand(a)))

    def floor(self, a: Any) -> ExactValue:
        return _bound(math.floor(_operand(a)))

    def min(self, *args: Any) -> ExactValue:
        return min(_operand(arg) for arg in args)

    def max(self, *args: Any) -> ExactValue:
        return max(_operand(arg) for arg in args)

    def multiple_of(self, a: Any, m: Any) -> ExactValue:
        x, step = _operand(a), _nonzero(_operand(m))
        if step < 0:
            raise ExprError(f"multiple_of(x, m) needs m > 0, got {shorten(step)}", code="X307")
        return _bound(step * math.ceil(Fraction(x) / step))


#: Exact arithmetic on int / Fraction (integral results are plain ints).
EXACT: Algebra = _ExactAlgebra()


def exact_int(value: Any) -> int | None:
    """The int when ``value`` is an integral exact number, else None (e.g. 4096/3)."""
    if type(value) is int:
        return value
    if type(value) is Fraction:
        return int(value.numerator) if value.denominator == 1 else None
    if getattr(value, "is_Integer", False) is True:  # a sympy Integer, without importing sympy
        return int(value)
    return None


class _SymbolicAlgebra:
    """sympy expressions, built so that neither hostile text nor sympy itself can stall.

    * Operations whose operands are all plain numbers go through EXACT, so both
      algebras agree exactly and numbers stay bounded.
    * Every operand is admitted first: an int or Fraction becomes ``Integer`` /
      ``Rational``, a sympy object passes, anything else (above all a string, which
      sympy would ``eval``) is refused.
    * ``floor``, ``ceiling``, ``Mod``, ``Min`` and ``Max`` are built unevaluated. Their
      automatic simplification queries sympy's assumption system, which can take
      minutes (or hit RecursionError) on a few hundred characters of nested
      expression; substituting numbers later evaluates them as usual.
    * Results are bounded too, because fields can feed each other: ``f2: f1**64``,
      ``f3: f2**64``... would grow without limit although each expression is small.
    """

    def __init__(self, sympy: ModuleType) -> None:
        self._sympy = sympy

    def admit(self, value: Any) -> Any:
        if type(value) is int or type(value) is Fraction:
            return self.number(value)
        if isinstance(value, self._sympy.Basic):
            return value
        raise ExprError(f"not a symbolic value: {shorten(value)}")

    def number(self, value: int | Fraction) -> Any:
        exact = _operand(value)
        if type(exact) is int:
            return self._sympy.Integer(exact)
        return self._sympy.Rational(exact.numerator, exact.denominator)

    # -- helpers

    def _exact(self, values: Iterable[Any]) -> list[ExactValue] | None:
        """The values as exact numbers when every one is a sympy Rational, else None."""
        exact: list[ExactValue] = []
        for value in values:
            if getattr(value, "is_Rational", False) is not True:
                return None
            exact.append(_bound(Fraction(int(value.p), int(value.q))))
        return exact

    def _divisor(self, value: Any) -> Any:
        # A structural test, not ``is_zero``: assumption queries can be very slow.
        if value == 0:
            raise ExprError("division by zero", code="X307")
        return value

    def _apply(
        self,
        exact_op: Callable[..., ExactValue],
        symbolic_op: Callable[..., Any],
        args: tuple[Any, ...],
    ) -> Any:
        exact = self._exact(args)
        if exact is not None:
            return self.number(exact_op(*exact))
        return self._checked(symbolic_op(*args), args)

    def _function(self, exact_op: Callable[..., ExactValue], function: Any, *args: Any) -> Any:
        """An unevaluated sympy function, or EXACT's value when the arguments are numbers.

        Arguments can become numbers although the operands were not (``g / g`` is 1);
        an unevaluated ``floor(1)`` would then survive substitution unevaluated.
        """
        return self._apply(exact_op, lambda *xs: function(*xs, evaluate=False), args)

    def _checked(self, result: Any, operands: tuple[Any, ...]) -> Any:
        """Enforce the bounds on what this operation created.

        Operands were checked when they were made, so the walk stops at them; it also
        visits shared subexpressions once, which keeps it linear in the new structure.
        Every operand is bounded, so the operation itself was cheap (at most a power
        of 64 of a 256-bit number).
        """
        sympy = self._sympy
        stop = {id(operand) for operand in operands}
        seen: set[int] = set()
        stack = [result]
        while stack:
            node = stack.pop()
            key = id(node)
            if key in seen or key in stop:
                continue
            seen.add(key)
            if node.is_Rational:
                _bound(Fraction(int(node.p), int(node.q)))
            elif node.is_Number or node in (sympy.zoo, sympy.nan):
                raise ExprError(
                    f"the result is not a finite exact value: {shorten(node)}", code="X307"
                )
            elif node.is_Pow and node.exp.is_Integer and abs(node.exp) > MAX_SYMBOLIC_EXPONENT:
                raise ExprError(
                    f"value too large: a power with exponent {shorten(node.exp)} "
                    f"(max {MAX_SYMBOLIC_EXPONENT} in a formula)",
                    code="X305",
                )
            else:
                stack.extend(node.args)
        return result

    # -- the Algebra operations

    def add(self, a: Any, b: Any) -> Any:
        return self._apply(EXACT.add, operator.add, (self.admit(a), self.admit(b)))

    def sub(self, a: Any, b: Any) -> Any:
        return self._apply(EXACT.sub, operator.sub, (self.admit(a), self.admit(b)))

    def mul(self, a: Any, b: Any) -> Any:
        return self._apply(EXACT.mul, operator.mul, (self.admit(a), self.admit(b)))

    def truediv(self, a: Any, b: Any) -> Any:
        args = (self.admit(a), self._divisor(self.admit(b)))
        return self._apply(EXACT.truediv, operator.truediv, args)

    def floordiv(self, a: Any, b: Any) -> Any:
        args = (self.admit(a), self._divisor(self.admit(b)))
        exact = self._exact(args)
        if exact is not None:  # EXACT does not bound the quotient it floors; agree with it
            return self.number(EXACT.floordiv(*exact))
        return self.floor(self.truediv(*args))

    def mod(self, a: Any, b: Any) -> Any:
        return self._function(
            EXACT.mod, self._sympy.Mod, self.admit(a), self._divisor(self.admit(b))
        )

    def pow(self, a: Any, exponent: int) -> Any:
        if type(exponent) is not int or not 0 <= exponent <= MAX_EXPONENT:
            raise ExprError(f"exponent must be an integer from 0 to {MAX_EXPONENT}", code="X307")
        power = self._sympy.Integer(exponent)
        return self._apply(lambda x: EXACT.pow(x, exponent), lambda x: x**power, (self.admit(a),))

    def neg(self, a: Any) -> Any:
        return self._apply(EXACT.neg, operator.neg, (self.admit(a),))

    def ceil(self, a: Any) -> Any:
        return self._function(EXACT.ceil, self._sympy.ceiling, self.admit(a))

    def floor(self, a: Any) -> Any:
        return self._function(EXACT.floor, self._sympy.floor, self.admit(a))

    def min(self, *args: Any) -> Any:
        return self._minmax(EXACT.min, self._sympy.Min, args)

    def max(self, *args: Any) -> Any:
        return self._minmax(EXACT.max, self._sympy.Max, args)

    def _minmax(self, exact_op: Callable[..., ExactValue], kind: Any, args: tuple[Any, ...]) -> Any:
        values = tuple(self.admit(arg) for arg in args)
        # Substituting some (not all) symbols later re-evaluates Min/Max, and sympy's
        # pairwise comparisons cost about cubically in the number of terms.
        terms = sum(
            len(value.args) if isinstance(value, kind) else 0 if value.is_Number else 1
            for value in values
        )
        if terms > MAX_SYMBOLIC_MINMAX_ARGS:
            raise ExprError(
                f"{'min' if kind is self._sympy.Min else 'max'}() of {terms} symbolic terms "
                f"(max {MAX_SYMBOLIC_MINMAX_ARGS})",
                code="X305",
            )
        return self._function(exact_op, kind, *values)

    def multiple_of(self, a: Any, m: Any) -> Any:
        x, step = self.admit(a), self._divisor(self.admit(m))
        both = self._exact((x, step))
        if both is not None:
            return self.number(EXACT.multiple_of(*both))
        exact = self._exact((step,))
        if exact is not None and exact[0] <= 0:
            raise ExprError(f"multiple_of(x, m) needs m > 0, got {shorten(exact[0])}", code="X307")
        return self.mul(step, self.ceil(self.truediv(x, step)))


@functools.cache
def symbolic() -> Algebra:
    """The sympy algebra, for closed-form formulas.

    sympy is imported here and only here: it is slow to import and most commands never
    need it. Every sympy object is built from numbers or sympy objects, never from a
    string, because sympy ``eval``-s strings handed to almost any of its functions.
    """
    import sympy

    return _SymbolicAlgebra(sympy)


# --------------------------------------------------------------------------- evaluation

_BINARY_METHODS = {
    "+": "add",
    "-": "sub",
    "*": "mul",
    "/": "truediv",
    "//": "floordiv",
    "%": "mod",
}


def evaluate(expr: Expr, lookup: Callable[[str], Any], algebra: Algebra = EXACT) -> Any:
    """Compute ``expr`` in ``algebra``; ``lookup(name)`` gives each name's value.

    The loop walks the precomputed post-order with a value stack, so no input shape
    can exhaust the Python stack. Errors raised by the algebra without a position get
    the position of the node that failed: the operator of a binary operation, the
    name of a call.
    """
    admit = getattr(algebra, "admit", None)
    resolved: dict[str, Any] = {}
    stack: list[Any] = []
    for node in expr._order:
        try:
            if isinstance(node, Num):
                stack.append(algebra.number(node.value))
            elif isinstance(node, Name):
                if node.id not in resolved:
                    resolved[node.id] = _resolve(node, lookup, admit)
                stack.append(resolved[node.id])
            elif isinstance(node, Unary):
                if node.op == "-":
                    stack.append(algebra.neg(stack.pop()))
            elif isinstance(node, Binary):
                if node.op == "**":
                    exponent = node.right.value if isinstance(node.right, Num) else None
                    stack.append(algebra.pow(stack.pop(), exponent))  # type: ignore[arg-type]
                else:
                    right = stack.pop()
                    left = stack.pop()
                    stack.append(getattr(algebra, _BINARY_METHODS[node.op])(left, right))
            else:
                count = len(node.args)
                args = stack[-count:]
                del stack[-count:]
                stack.append(getattr(algebra, node.fn)(*args))
        except ZeroDivisionError:  # from an algebra that does not check divisors itself
            raise ExprError("division by zero", node.offset, "X307") from None
        except ExprError as error:
            if error.offset is None:
                raise ExprError(error.message, node.offset, error.code) from None
            raise
    return stack.pop()


def _resolve(node: Name, lookup: Callable[[str], Any], admit: Callable[[Any], Any] | None) -> Any:
    """Look a name up and admit its value into the algebra (bounded, right type)."""
    value = _lookup(node, lookup)
    if admit is None:
        return value
    try:
        return admit(value)
    except ExprError as error:
        raise ExprError(
            f"value of {_quote(node.id)}: {error.message}", node.offset, error.code
        ) from None


def _lookup(node: Name, lookup: Callable[[str], Any]) -> Any:
    try:
        return lookup(node.id)
    except KeyError as error:
        message = f"unknown name {_quote(node.id)}"
        reason = error.args[0] if error.args else None
        if isinstance(reason, str) and reason != node.id:
            # The caller explained why the name is not usable (e.g. "'x' is not a number").
            message = reason if len(reason) <= 200 else reason[:197] + "..."
        close = close_matches(node.id, error.args[1] if len(error.args) > 1 else (), n=3)
        if close:
            message += "; did you mean " + " or ".join(_quote(name) for name in close) + "?"
        raise ExprError(message, node.offset, "X302") from None
