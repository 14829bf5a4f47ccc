"""``family: cnn`` — layer graphs with static shape inference (ResNet, VGG, MobileNet...).

A spec gives an ``input`` shape and a list of ``layers``; each layer is a bare name
(``relu``) or a one-key mapping of a name to its arguments (``conv2d: {out_channels: 64,
kernel_size: 3}``), the names being the registered layer types (see
:mod:`archcalc.plugins.cnn_layers`; plugins add more). Two compositions nest lists:
``residual`` (``layers`` plus an optional ``shortcut``, outputs added) and ``repeat``
(``times`` and ``layers``).

The walker below follows the shape through every layer with torch's arithmetic, so input
sizes are inferred and impossible graphs are reported at the layer's line with its path
(``layers[4].residual.layers[2]``). It runs in both algebras at once: exact shapes decide
everything structural (errors, whether a repeated block preserves the shape), while the
current algebra (ints, or sympy when printing a formula) carries the parameter counts. A
repeated block that preserves the shape is counted once and multiplied, so ``times: 3000``
costs what ``times: 3`` does; one that changes the shape is followed until it stops
changing, within a fixed budget of layer evaluations.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from archcalc import Breakdown, Family, LayerType, Part, ShapeRow, hookimpl
from archcalc import expr as exprs
from archcalc.contract import layer_call
from archcalc.registry import Registry
from archcalc.schema import EXPRESSION_PATTERN
from archcalc.spec import Resolved, did_you_mean

Path = tuple[str | int, ...]
COMPOSITIONS = ("residual", "repeat")
#: Layer evaluations one spec may take (a repeated block that never settles, nested repeats).
MAX_STEPS = 100_000
#: Largest size of any dimension: beyond it a shape is surely a mistake (and stays cheap).
MAX_DIM = 10**18
#: Ranks of the ``input`` shape: (F,), (C, L) or (C, H, W).
INPUT_RANKS = (1, 2, 3)


class _Abort(Exception):
    """The walk cannot continue (already reported)."""


@dataclass(frozen=True)
class Flow:
    """The shape flowing between layers, exact and in the current algebra."""

    exact: tuple[int, ...]
    current: tuple[Any, ...]


@dataclass(frozen=True)
class Result:
    """What a layer or a list of layers did: its output and its parameters."""

    flow: Flow
    params: Any
    exact_params: int
    #: For a repeated block counted once and multiplied: the block's params and the factor.
    per_block: Any = None
    times: Any = None


def label(path: Path) -> str:
    """``("layers", 4, "residual", "layers", 2)`` -> ``layers[4].residual.layers[2]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def show(shape: Sequence[Any]) -> str:
    return "(" + ", ".join(str(x) for x in shape) + ("," if len(shape) == 1 else "") + ")"


def _get(data: Any, path: Path) -> Any:
    for part in path:
        data = data[part]
    return data


class Walker:
    """Follows shapes through a spec's layers, reporting problems where they are written."""

    def __init__(
        self,
        spec: Resolved,
        types: Mapping[str, LayerType],
        rows: list[ShapeRow] | None = None,
        checks: bool = False,
    ) -> None:
        self.spec = spec
        self.checks = checks and not spec.symbolic
        self.types = types
        self.symbolic = spec.symbolic
        self.rows = rows
        self.steps = 0
        self.context = ""

    # ----------------------------------------------------------------- reporting

    def fail(self, path: Path, message: str, mark: Path | None = None, code: str = "C602") -> None:
        """Report an error at ``path`` (or ``mark``) and stop the walk."""
        self.spec.error(mark if mark is not None else path, message, code)
        raise _Abort

    def _bug(self, message: str) -> None:
        if self.symbolic:  # the exact pass accepted this spec: the formula pass must too
            raise RuntimeError(f"cnn formula pass: {message}")

    # ----------------------------------------------------------------- values

    def _exact(self, path: Path) -> Any:
        raw = _get(self.spec.doc.data, path)
        if isinstance(raw, (int, Fraction)) and not isinstance(raw, bool):
            return raw
        values = self.spec.exact_values
        return exprs.evaluate(exprs.parse(raw), lambda name: values[name], exprs.EXACT)

    def number(self, path: Path, kind: str, structural: bool = False) -> tuple[Any, Any]:
        """One numeric value as (exact, current); reports and aborts when it is invalid."""
        spec_kind = {"int": "number", "padding": "count"}.get(kind, kind)
        if not self.symbolic:
            value = self.spec.number(path, spec_kind)
            if value is None:
                raise _Abort
            if kind == "int" and exprs.exact_int(value) is None:
                self.fail(path, f"{label(path)} must be an integer, got {value}")
            return value, value
        exact = self._exact(path)
        if structural:
            return exact, exact
        current = self.spec.number(path, spec_kind)
        if current is None:
            self._bug(f"cannot evaluate {label(path)}")
        return exact, current

    def argument(self, path: Path, schema: Mapping[str, Any], raw: Any) -> tuple[Any, Any]:
        """An argument evaluated as its schema's ``x-kind`` says."""
        kind = schema.get("x-kind", "any")
        where = label(path)
        if kind == "bool":
            if not isinstance(raw, bool):
                self.fail(path, f"{where} must be true or false")
            return raw, raw
        if kind == "choice":
            options = [str(o) for o in schema.get("enum", ())]
            if raw not in options:
                self.fail(
                    path,
                    f"{where}: '{raw}' is not one of {', '.join(options)}"
                    + did_you_mean(str(raw), options),
                )
            return raw, raw
        if kind == "any":
            return raw, raw
        structural = bool(schema.get("x-exact"))
        base = kind.rstrip("2")
        if base == "padding" and isinstance(raw, str) and raw in ("same", "valid"):
            return raw, raw
        if base == "padding":
            base = "count"
        if isinstance(raw, list):
            if not (kind.endswith("2") or kind == "sizes"):
                self.fail(path, f"{where} must be a number, not a list")
            if kind.endswith("2") and len(raw) != 2:
                self.fail(path, f"{where} must be a number or a pair [h, w], got {len(raw)} items")
            if not 1 <= len(raw) <= 8:
                self.fail(path, f"{where} must list 1 to 8 sizes")
            pairs = [
                self.number((*path, i), "size" if kind == "sizes" else base, structural)
                for i in range(len(raw))
            ]
            return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)
        return self.number(path, "size" if kind == "sizes" else base, structural)

    def arguments(
        self, path: Path, layer: LayerType, raw: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """A layer's arguments, defaults filled in, as (exact, current) dicts."""
        properties: Mapping[str, Any] = layer.args.get("properties", {})
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            self.fail(path, f"{label(path)}: the arguments of {layer.name} must be a mapping")
        for key in raw:
            if key not in properties:
                self.fail(
                    (*path, key),
                    f"{label(path)}: {layer.name} has no argument '{key}'"
                    + did_you_mean(str(key), properties),
                )
        for key in layer.args.get("required", ()):
            if key not in raw:
                self.fail(path, f"{label(path)}: {layer.name} needs {key}")
        exact: dict[str, Any] = {}
        current: dict[str, Any] = {}
        for key, schema in properties.items():
            if key in raw:
                exact[key], current[key] = self.argument((*path, key), schema, raw[key])
            else:
                exact[key] = current[key] = schema.get("default")
        return exact, current

    # ----------------------------------------------------------------- layers

    def entry(self, path: Path, item: Any, flow: Flow) -> Result:
        """One item of a ``layers`` list: a name, or a one-key mapping name -> arguments."""
        self.steps += 1
        if self.steps > MAX_STEPS:
            self.fail(
                path,
                f"{label(path)}: following the shapes takes more than {MAX_STEPS:,} layer "
                "evaluations (nested repeat blocks that keep changing the shape?); simplify it",
                code="C606",
            )
        if isinstance(item, str):
            name, raw = item, None
        elif isinstance(item, Mapping) and len(item) == 1:
            name, raw = next(iter(item.items()))
        elif isinstance(item, Mapping):
            keys = ", ".join(str(k) for k in list(item)[:4])
            self.fail(
                path,
                f"{label(path)}: a layer is one name mapped to its arguments, got "
                f"{len(item)} keys ({keys}); give each layer its own list item",
                code="C601",
            )
        else:
            self.fail(
                path,
                f"{label(path)}: a layer is a name (relu) or a mapping name: {{arguments}} "
                f"(conv2d: {{out_channels: 64, kernel_size: 3}}), got {type(item).__name__}",
                code="C601",
            )
        if name == "residual":
            return self.residual((*path, name), raw, flow)
        if name == "repeat":
            return self.repeat((*path, name), raw, flow)
        layer = self.types.get(name)
        if layer is None:
            missing = self.spec.registry.missing("layer type", str(name))
            if missing is not None:
                raise missing
            known = [*self.types, *COMPOSITIONS]
            self.fail(
                path,
                f"{label(path)}: unknown layer '{str(name)[:60]}'" + did_you_mean(str(name), known),
                code="C601",
            )
        return self.layer(path, layer, raw, flow)

    def layer(self, path: Path, layer: LayerType, raw: Any, flow: Flow) -> Result:
        where = f"{label(path)} ({layer.name}){self.context}"
        exact_args, current_args = self.arguments((*path, layer.name), layer, raw)
        if layer.ranks and len(flow.exact) not in layer.ranks:
            ranks = " or ".join(f"{r}-D" for r in layer.ranks)
            self.fail(
                path,
                f"{where}: expects a {ranks} input (batch excluded), got {show(flow.exact)}",
                code="C603",
            )
        if self.checks and layer.check is not None:
            problems: list[str] = []

            def report(message: str, warning: bool = False, code: str | None = None) -> None:
                if warning:
                    self.spec.warning(path, f"{where}: {message}", code or "P912")
                else:
                    problems.append((message, code or "P911"))

            layer_call(self.spec, path, layer, "check", exact_args, flow.exact, report)
            for message, code in dict.fromkeys(problems):
                self.spec.error(path, f"{where}: {message}", code)
            if problems:
                raise _Abort
        spec = self.spec
        if self.symbolic:
            # The exact pass (a separate resolution) decided every structural question;
            # here the layer's rules run on the current algebra only, through the contract.
            out_exact = tuple(layer.shape(exact_args, flow.exact))
            exact_params = layer.params(exact_args, flow.exact)
            out_current = layer_call(spec, path, layer, "shape", current_args, flow.current)
            params = layer_call(spec, path, layer, "params", current_args, flow.current)
        else:
            out_exact = layer_call(spec, path, layer, "shape", exact_args, flow.exact)
            self._check_shape(path, where, flow.exact, out_exact)
            exact_params = layer_call(spec, path, layer, "params", exact_args, flow.exact)
            out_current, params = out_exact, exact_params
        if self.rows is not None:
            self.rows.append(ShapeRow(label(path), layer.name, out_exact, int(exact_params)))
        return Result(Flow(out_exact, out_current), params, int(exact_params))

    def _check_shape(self, path: Path, where: str, before: tuple[Any, ...], out: Any) -> None:
        for size in out:
            value = exprs.exact_int(size) if not isinstance(size, bool) else None
            if value is None:
                self.fail(
                    path, f"{where}: output shape {show(out)} is not whole numbers", code="C603"
                )
            if value < 1:
                self.fail(
                    path,
                    f"{where}: the input {show(before)} becomes {show(out)}: a size reaches "
                    f"{value}; the input is too small for this layer (or kernel, stride or "
                    "padding too large)",
                    code="C603",
                )
            if value > MAX_DIM:
                self.fail(path, f"{where}: output shape {show(out)} is too large", code="C603")

    def layers(self, path: Path, items: Any, flow: Flow) -> Result:
        """A list of layers applied in order."""
        if not isinstance(items, list):
            self.fail(path, f"{label(path)} must be a list of layers")
        params: Any = 0
        exact_params = 0
        for i, item in enumerate(items):
            result = self.entry((*path, i), item, flow)
            flow = result.flow
            params = params + result.params
            exact_params += result.exact_params
        return Result(flow, params, exact_params)

    def _composition(self, path: Path, raw: Any, allowed: tuple[str, ...]) -> Mapping[str, Any]:
        name = path[-1]
        if not isinstance(raw, Mapping):
            self.fail(path, f"{label(path)} must be a mapping with {' and '.join(allowed)}")
        for key in raw:
            if key not in allowed:
                self.fail(
                    (*path, key),
                    f"{label(path)}: unknown key '{str(key)[:60]}' in {name}"
                    + did_you_mean(str(key), allowed),
                )
        return raw

    def residual(self, path: Path, raw: Any, flow: Flow) -> Result:
        """``out = layers(x) + shortcut(x)``; the two outputs must have the same shape."""
        raw = self._composition(path, raw, ("layers", "shortcut"))
        if "layers" not in raw:
            self.fail(path, f"{label(path)} needs layers (the main branch)")
        main = self.layers((*path, "layers"), raw["layers"], flow)
        if "shortcut" in raw and raw["shortcut"] is not None:
            shortcut = self.layers((*path, "shortcut"), raw["shortcut"], flow)
            name = "the shortcut"
        else:
            shortcut = Result(flow, 0, 0)
            name = "the identity shortcut (none given)"
        if main.flow.exact != shortcut.flow.exact:
            self.fail(
                path,
                f"{label(path)}{self.context}: the branches disagree: layers give "
                f"{show(main.flow.exact)} but {name} gives {show(shortcut.flow.exact)}; "
                "their outputs are added, so the shapes must match",
                mark=path[:-1],
                code="C604",
            )
        return Result(
            main.flow, main.params + shortcut.params, main.exact_params + shortcut.exact_params
        )

    def repeat(self, path: Path, raw: Any, flow: Flow) -> Result:
        """``times`` copies of a block, counted once and multiplied once the shape settles."""
        raw = self._composition(path, raw, ("times", "layers"))
        for key in ("times", "layers"):
            if key not in raw:
                self.fail(path, f"{label(path)} needs {key}")
        times_exact, times = self.number((*path, "times"), "count")
        times_exact = int(times_exact)
        params: Any = 0
        exact_params = 0
        outer = self.context
        done = 0
        while done < times_exact:
            self.context = f"{outer} (repeat iteration {done + 1} of {times_exact})"
            start = len(self.rows) if self.rows is not None else 0
            block = self.layers((*path, "layers"), raw["layers"], flow)
            if block.flow.exact == flow.exact:  # a fixed point: every later copy is the same
                left = times - done
                if self.rows is not None:
                    factor = times_exact - done
                    self.rows[start:] = [
                        dataclasses.replace(r, times=r.times * factor) for r in self.rows[start:]
                    ]
                self.context = outer
                result_params = params + left * block.params
                exact_total = exact_params + (times_exact - done) * block.exact_params
                if done == 0:
                    return Result(block.flow, result_params, exact_total, block.params, times)
                return Result(block.flow, result_params, exact_total)
            params = params + block.params
            exact_params += block.exact_params
            flow = block.flow
            done += 1
        self.context = outer
        return Result(flow, params, exact_params)

    # ----------------------------------------------------------------- the whole spec

    def input(self) -> Flow:
        raw = self.spec.doc.data.get("input")
        if not isinstance(raw, list) or len(raw) not in INPUT_RANKS:
            self.fail(("input",), "input must be a list of 1 to 3 sizes: [channels, height, width]")
        pairs = [self.number(("input", i), "size") for i in range(len(raw))]
        return Flow(tuple(int(p[0]) for p in pairs), tuple(p[1] for p in pairs))

    def run(self) -> list[tuple[Path, str, Result]]:
        """Walk the whole spec; one (path, name, result) per top-level layer."""
        flow = self.input()
        if self.rows is not None:
            self.rows.append(ShapeRow("input", "", flow.exact, 0))
        items = self.spec.doc.data.get("layers")
        if not isinstance(items, list):
            self.fail(("layers",), "layers must be a list of layers")
        results = []
        for i, item in enumerate(items):
            result = self.entry(("layers", i), item, flow)
            name = item if isinstance(item, str) else str(next(iter(item)))
            results.append((("layers", i), name, result))
            flow = result.flow
        return results


def count(spec: Resolved) -> Breakdown:
    """One part per top-level layer that has parameters; repeats keep their factor."""
    try:
        results = Walker(spec, spec.registry.layer_types).run()
    except _Abort:
        raise RuntimeError("cnn: count called on a spec that does not validate") from None
    parts = []
    for path, name, result in results:
        if result.exact_params == 0:
            continue
        title = f"{label(path)} {name}"
        if result.per_block is not None:
            parts.append(
                Part(title, result.params, per_layer=result.per_block, layers=result.times)
            )
        else:
            parts.append(Part(title, result.params))
    return Breakdown(tuple(parts))


def check(spec: Resolved) -> None:
    """Follow the shapes; every shape problem is reported at its layer.

    Runs only when the input and the layers are sound: a layer list the schema already
    rejected would only produce the same complaint twice. Problems elsewhere in the spec
    (an unknown top-level key) do not stop it.
    """
    if spec.reported(("input",), ("layers",)):
        return
    with contextlib.suppress(_Abort):
        Walker(spec, spec.registry.layer_types, checks=True).run()


def shapes(spec: Resolved) -> tuple[ShapeRow, ...]:
    """The output shape after each layer (``archcalc count --shapes``)."""
    rows: list[ShapeRow] = []
    Walker(spec, spec.registry.layer_types, rows).run()
    return tuple(rows)


# --------------------------------------------------------------------------- schema


def _number_schema(minimum: int, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "anyOf": [
            {"type": "number", "minimum": minimum},
            {"type": "string", "pattern": EXPRESSION_PATTERN},
        ],
    }


def layers_schema(types: Mapping[str, LayerType]) -> dict[str, Any]:
    """The JSON Schema of ``layers``: items are names or one-key mappings to arguments.

    Built from the registered layer types, so plugins' layers get completion and checks
    too. ``if``/``then``/``else`` rather than ``anyOf`` keeps validation messages precise
    (an unknown argument is named, with a did-you-mean).
    """
    names = sorted(types)
    properties: dict[str, Any] = {
        name: {**types[name].args, "description": types[name].description} for name in names
    }
    nested = {"$ref": "#cnn-layers"}
    properties["residual"] = {
        "type": "object",
        "description": "out = layers(x) + shortcut(x); the shapes must match.",
        "properties": {
            "layers": {**nested, "description": "The main branch."},
            "shortcut": {**nested, "description": "The shortcut branch; absent: identity."},
        },
        "required": ["layers"],
        "additionalProperties": False,
    }
    properties["repeat"] = {
        "type": "object",
        "description": "times copies of layers in sequence (counted once while the shape "
        "is unchanged).",
        "properties": {
            "times": _number_schema(0, "How many copies."),
            "layers": {**nested, "description": "The repeated block."},
        },
        "required": ["times", "layers"],
        "additionalProperties": False,
    }
    item = {
        "description": "A layer: a name (relu) or a one-key mapping of a name to its "
        "arguments (conv2d: {out_channels: 64, kernel_size: 3}).",
        "type": ["string", "object"],
        "examples": [*names, *COMPOSITIONS],
        "if": {"type": "string"},
        "then": {},
        "else": {"properties": properties, "additionalProperties": False},
    }
    return {
        "$anchor": "cnn-layers",
        "type": "array",
        "description": "Layers applied in order; the shape flows from input through each.",
        "items": item,
    }


INPUT_SCHEMA = {
    "type": "array",
    "description": "Shape of one input, batch excluded: [channels, height, width] (or "
    "[channels, length], or [features]).",
    "items": _number_schema(1, "A size."),
    "minItems": 1,
    "maxItems": 3,
}


def schema(registry: Registry) -> dict[str, Any]:
    """``input`` and ``layers``; the layer list allows the registry's layer types."""
    return {"input": INPUT_SCHEMA, "layers": layers_schema(registry.layer_types)}


EXAMPLE = """\
name: tiny-resnet
family: cnn
input: [3, 32, 32]
layers:
  - conv2d: {out_channels: 16, kernel_size: 3, padding: 1, bias: false}
  - batchnorm2d
  - relu
  - repeat:
      times: 3
      layers:
        - residual:
            layers:
              - conv2d: {out_channels: 16, kernel_size: 3, padding: 1, bias: false}
              - batchnorm2d
              - relu
              - conv2d: {out_channels: 16, kernel_size: 3, padding: 1, bias: false}
              - batchnorm2d
        - relu
  - adaptive_avgpool2d: {output_size: 1}
  - flatten
  - linear: {out_features: 10}
"""

FAMILY = Family(
    name="cnn",
    description="Layer graphs of torch.nn layers with static shape inference (ResNet, VGG, "
    "MobileNet...).",
    fields=(),
    count=count,
    check=check,
    schema=schema,
    required=("input", "layers"),
    example=EXAMPLE,
    shapes=shapes,
)


@hookimpl
def archcalc_families() -> list[Family]:
    return [FAMILY]
