"""The contract between archcalc and a plugin's code, enforced at every call into it.

A family's ``count``/``check``/``shapes``/``compute`` and a layer type's ``params``/
``shape``/``check`` are third-party code. Every call goes through here, so that whatever
goes wrong (an exception, a result of the wrong type, a negative or absurd count, a float
from ``/`` on ints, ``int()`` on a sympy symbol) becomes one :class:`PluginError` line
naming the plugin, the family or layer type, what archcalc was doing, and the spec line
involved, instead of a traceback, an "internal error", or a complaint about the spec.

Layer calls are also recorded by layer path, so :mod:`archcalc.formulas` can check a
formula at a second point and, when it fails, name the layer type whose rule is not
really symbolic.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any, NoReturn

from archcalc.errors import ArchcalcError, PluginError, Unavailable, safe, shorten
from archcalc.family import Breakdown, LayerType

if TYPE_CHECKING:
    from archcalc.spec import Resolved

#: More parameters than any architecture has; a larger figure is a bug in the plugin.
MAX_PARAMS = 10**100
#: What archcalc was doing, by the name of the call, for messages.
DOING = {
    "count": "counting",
    "check": "checking",
    "shapes": "following the shapes",
    "compute": "computing sizes",
    "tensors": "listing the tensors",
    "formula": "building the formula",
}

_LAYER_DOING = {"params": "counting", "shape": "following the shapes", "check": "checking"}

Path = tuple[str | int, ...]


def plugin_output() -> contextlib.AbstractContextManager[Any]:
    """Around plugin code: its ``print()`` goes to stderr, since stdout is archcalc's
    (``count --json`` piped into a script must stay JSON whatever a plugin prints)."""
    return contextlib.redirect_stdout(sys.stderr)


def label(path: Sequence[str | int]) -> str:
    """``("layers", 4, "residual", "layers", 2)`` -> ``layers[4].residual.layers[2]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def one_line(exc: BaseException) -> str:
    """``TypeError: first line of the message``, made safe to print."""
    lines = str(exc).strip().splitlines()
    return safe(f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": "), 300)


def _doing(spec: Resolved, what: str) -> str:
    if spec.symbolic:
        return DOING["formula"]
    return DOING.get(spec.doing or what, what)


def _where(spec: Resolved, path: Sequence[str | int]) -> str:
    mark = spec.doc.mark(tuple(path))
    return f"{safe(spec.doc.file)}:{mark.line}:{mark.column}"


def family_failure(spec: Resolved, what: str, reason: str) -> PluginError:
    """The error blaming ``spec``'s family (and its plugin) for ``reason``."""
    family = spec.family.name
    owner = spec.registry.owners.get(family, "?")
    return PluginError(
        f"plugin '{safe(owner)}' failed while {_doing(spec, what)}: family '{safe(family)}' "
        f"at {_where(spec, ('family',))}: {reason}"
    )


def layer_failure(spec: Resolved, path: Path, layer: str, what: str, reason: str) -> PluginError:
    """The error blaming layer type ``layer`` (and its plugin), used at ``path``."""
    owner = spec.registry.layer_owners.get(layer, "?")
    # Named after what the layer's own function does: its params fail "while counting"
    # even when the exact walk runs as part of validation.
    doing = DOING["formula"] if spec.symbolic else _LAYER_DOING.get(what, what)
    return PluginError(
        f"plugin '{safe(owner)}' failed while {doing}: layer type "
        f"'{safe(layer)}' ({what}) at {_where(spec, path)} ({safe(label(path))}): {reason}"
    )


def family_call(spec: Resolved, what: str, fn: Callable[..., Any], *args: Any) -> Any:
    """Call the family's ``what`` function; blame its plugin for anything going wrong.

    A :class:`PluginError` raised underneath (a layer type's) passes unchanged, and so does
    a :class:`~archcalc.errors.SpecError`: a family may report spec problems by raising.
    """
    before = spec.doing
    spec.doing = what
    try:
        with plugin_output():
            result = fn(*args)
    except (ArchcalcError, Unavailable):
        raise
    except RecursionError:
        raise family_failure(spec, what, "RecursionError: its code recurses too deeply") from None
    except Exception as exc:
        raise family_failure(spec, what, one_line(exc)) from None
    finally:
        spec.doing = before
    if what == "count":
        problem = breakdown_problem(result, spec.symbolic)
        if problem:
            raise family_failure(spec, what, problem)
    return result


def layer_call(spec: Resolved, path: Path, layer: LayerType, what: str, *args: Any) -> Any:
    """Call one of a layer type's functions (``params``, ``shape`` or ``check``) at ``path``.

    Its result is checked (params: a whole number from 0 to :data:`MAX_PARAMS`, or a sympy
    expression in the symbolic pass; shape: a tuple of those) and recorded for the formula
    probe. In the symbolic pass there is no fallback: ``int()``, ``float()`` or a Python
    comparison on a symbol is the layer type's fault, reported as such.
    """
    fn = getattr(layer, what)
    try:
        with plugin_output():
            result = fn(*args)
    except (ArchcalcError, Unavailable):
        raise
    except TypeError as exc:
        reason = one_line(exc)
        if spec.symbolic:
            reason += (
                "; a layer type's params and shape must be plain arithmetic (+ - * // on "
                "their arguments) so they work for sympy symbols: no int(), float(), "
                "round() or comparisons of sizes"
            )
        raise layer_failure(spec, path, layer.name, what, reason) from None
    except RecursionError:
        reason = "RecursionError: its code recurses too deeply"
        raise layer_failure(spec, path, layer.name, what, reason) from None
    except Exception as exc:
        raise layer_failure(spec, path, layer.name, what, one_line(exc)) from None
    if what == "params":
        problem = figure_problem(result, spec.symbolic)
        if problem:
            raise layer_failure(spec, path, layer.name, what, f"params returned {problem}")
    elif what == "shape":
        problem = shape_problem(result, spec.symbolic)
        if problem:
            raise layer_failure(spec, path, layer.name, what, f"shape returned {problem}")
        result = tuple(result)
    elif what == "macs":
        problem = figure_problem(result, spec.symbolic)
        if problem:
            raise layer_failure(spec, path, layer.name, what, f"macs returned {problem}")
    elif what == "tensors":
        result = list(result) if isinstance(result, (list, tuple)) else result
        problem = tensors_problem(result, spec.symbolic)
        if problem:
            raise layer_failure(spec, path, layer.name, what, f"tensors returned {problem}")
    if what != "check" and spec.doing == "count":  # what the formula probe compares
        spec.calls.setdefault((path, layer.name, what), []).append(result)
    return result


def fail(spec: Resolved, path: Path, layer: str, what: str, reason: str) -> NoReturn:
    """Raise :func:`layer_failure` (for walkers that find a layer's result unusable)."""
    raise layer_failure(spec, path, layer, what, reason)


def figure_problem(value: Any, symbolic: bool) -> str:
    """Why ``value`` cannot be a parameter count, or '' when it can."""
    if isinstance(value, bool):
        return f"a bool ({value})"
    if isinstance(value, float):
        return (
            f"the float {shorten(value)}: '/' on ints makes floats, which lose digits; use "
            "'//' (exact when it divides), or archcalc.div(a, b) for an exact ratio"
        )
    if isinstance(value, int) or (isinstance(value, Fraction) and value.denominator == 1):
        number = int(value)
        if number < 0:
            return f"a negative count ({shorten(number)})"
        if number > MAX_PARAMS:
            digits = len(str(number)) if number.bit_length() < 14000 else "thousands of"
            return f"a {digits}-digit count, beyond any architecture (limit 10**100)"
        return ""
    if isinstance(value, Fraction):
        return f"the fraction {value.numerator}/{value.denominator}, not a whole number"
    if symbolic and _is_sympy(value):
        if value.free_symbols:
            floats = value.atoms(_sympy().Float)
            return f"an expression with the float {shorten(next(iter(floats)))}" if floats else ""
        return figure_problem(_sympy_number(value), symbolic)
    if _is_sympy(value):
        if value.free_symbols:
            return f"the expression {shorten(value)} when counting exact values"
        return figure_problem(_sympy_number(value), symbolic)
    return f"{type(value).__name__} {shorten(value)}, not a whole number"


def shape_problem(value: Any, symbolic: bool) -> str:
    """Why ``value`` cannot be a shape (a tuple of sizes), or '' when it can."""
    if not isinstance(value, (tuple, list)):
        return f"{type(value).__name__}, not a tuple of sizes"
    if not 1 <= len(value) <= 8:
        return f"a shape of rank {len(value)} (1 to 8 dimensions)"
    for size in value:
        problem = figure_problem(size, symbolic)
        if problem and "negative" not in problem:  # a size < 1 is the spec's (input too small)
            return f"a size that is {problem}"
    return ""


def tensors_problem(value: Any, symbolic: bool) -> str:
    """Why ``value`` is not a list of ``(name, shape)`` pairs, or '' when it is."""
    if not isinstance(value, list):
        return f"{type(value).__name__}, not a list of (name, shape) pairs"
    for item in value:
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
            return f"{shorten(item)}, not a (name, shape) pair"
        shape = item[1]
        if not isinstance(shape, (tuple, list)) or len(shape) > 8:
            return f"tensor '{safe(item[0], 60)}' with shape {shorten(shape)}, not a tuple"
        for size in shape:
            problem = figure_problem(size, symbolic)
            if problem:
                return f"tensor '{safe(item[0], 60)}' with a size that is {problem}"
    return ""


def breakdown_problem(breakdown: Any, symbolic: bool) -> str:
    """Why a family's ``count`` result is unusable, or '' (checked once, here, so that a
    wrong one is blamed on its plugin rather than surfacing later as an archcalc bug)."""
    if not isinstance(breakdown, Breakdown):
        return f"count returned {type(breakdown).__name__}, expected archcalc.Breakdown"
    parts = breakdown.parts
    if not isinstance(parts, tuple) or not all(hasattr(p, "params") for p in parts):
        return "count returned a Breakdown whose parts are not a tuple of archcalc.Part"
    figures: list[tuple[str, Any]] = []
    for part in parts:
        name = safe(part.name, 60)
        figures += [(f"part '{name}'", part.params), (f"active of part '{name}'", part.active)]
        for attr in ("per_layer", "layers"):
            value = getattr(part, attr)
            if value is not None:
                figures.append((f"{attr} of part '{name}'", value))
    figures += [(f"extra '{safe(k, 60)}'", v) for k, v in dict(breakdown.extras).items()]
    for what, value in figures:
        problem = figure_problem(value, symbolic)
        if problem:
            return f"{what} is {problem}"
    return ""


def _is_sympy(value: Any) -> bool:
    return type(value).__module__.startswith("sympy")


def _sympy() -> Any:
    import sympy

    return sympy


def _sympy_number(value: Any) -> Any:
    if value.is_Integer:
        return int(value)
    if value.is_Rational:
        return Fraction(int(value.p), int(value.q))
    if value.is_Float:
        return float(value)
    return f"the value {shorten(value)}"
