"""Parameter tensors: the per-tensor view of a spec, and the interface families provide it by.

A family lists the tensors a spec implies through :attr:`archcalc.Family.tensors`, a
function ``tensors(resolved) -> Iterable[Tensor]`` (or a lazy ``"module:function"``
string naming one). It is called with exact values only and enumerates blocks one by one
(``layers.0.…``, ``layers.1.…``), while ``count`` and ``formula`` stay multiplied and never
unroll. The law that keeps the two honest: the tensors' ``numel`` sum to the count's
``total_params`` exactly; :func:`tensors_of` checks it on every call, so a family whose
tensors drift from its count is reported as a plugin bug instead of printing a wrong list.

Tied tensors are listed once, as a checkpoint stores them. Names are the family's own
canonical dotted names (for the transformer family, see :mod:`archcalc.state_dict`, which
renames them into Hugging Face transformers' state-dict names per model type) or, for
families whose reference library has one naming (timm's ViT, torch.nn.Sequential paths for
a CNN), that library's names directly. Shapes follow PyTorch: a linear weight is
``(out_features, in_features)``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from archcalc.errors import PluginError, UsageError, shorten

if TYPE_CHECKING:
    from fractions import Fraction

    from archcalc.api import Spec
    from archcalc.spec import Resolved

__all__ = [
    "DTYPE_BITS",
    "Tensor",
    "TensorsFn",
    "dtype_bytes",
    "family_tensors",
    "parse_dtype",
    "tensors_of",
    "total_numel",
]


@dataclass(frozen=True)
class Tensor:
    """One parameter tensor: its dotted name and its shape (ints, or sympy expressions)."""

    name: str
    shape: tuple[Any, ...]

    @property
    def numel(self) -> Any:
        """Elements of the tensor: the product of its shape (1 for a scalar)."""
        total: Any = 1
        for dim in self.shape:
            total = total * dim
        return total


#: What a family provides: every parameter tensor of a resolved (exact) spec, in order.
TensorsFn = Callable[["Resolved"], Iterable[Tensor]]


def total_numel(tensors: Iterable[Tensor]) -> Any:
    total: Any = 0
    for tensor in tensors:
        total = total + tensor.numel
    return total


# --------------------------------------------------------------------------- dtypes

#: Bits per element of every dtype the safetensors format defines (safetensors 0.8).
DTYPE_BITS: dict[str, int] = {
    "BOOL": 8,
    "F4": 4,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
    "U8": 8,
    "I8": 8,
    "F8_E5M2": 8,
    "F8_E4M3": 8,
    "F8_E8M0": 8,
    "F8_E4M3FNUZ": 8,
    "F8_E5M2FNUZ": 8,
    "I16": 16,
    "U16": 16,
    "F16": 16,
    "BF16": 16,
    "I32": 32,
    "U32": 32,
    "F32": 32,
    "C64": 64,
    "F64": 64,
    "I64": 64,
    "U64": 64,
}

#: The names people type for a dtype (torch's, numpy's, the Hub's) -> the safetensors name.
_DTYPE_ALIASES = {
    "fp32": "F32",
    "float32": "F32",
    "float": "F32",
    "fp16": "F16",
    "float16": "F16",
    "half": "F16",
    "bf16": "BF16",
    "bfloat16": "BF16",
    "fp64": "F64",
    "float64": "F64",
    "double": "F64",
    "fp8": "F8_E4M3",
    "float8_e4m3fn": "F8_E4M3",
    "float8_e5m2": "F8_E5M2",
    "int8": "I8",
    "uint8": "U8",
    "int16": "I16",
    "int32": "I32",
    "int64": "I64",
    "bool": "BOOL",
    "fp4": "F4",
}


def parse_dtype(text: str) -> str:
    """The safetensors dtype name for ``bf16``, ``bfloat16``, ``BF16``...; a UsageError if none."""
    name = _DTYPE_ALIASES.get(text.lower(), text.upper())
    if name not in DTYPE_BITS:
        known = ", ".join(["fp32", "bf16", "fp16", "fp8", "int8", "fp4", *DTYPE_BITS])
        raise UsageError(f"unknown dtype '{text[:40]}' (known: {known})")
    return name


def dtype_bytes(numel: int, dtype: str) -> Fraction:
    """Bytes of ``numel`` elements of ``dtype`` (a fraction for the sub-byte F4 and F6 types)."""
    from fractions import Fraction

    return Fraction(numel * DTYPE_BITS[dtype], 8)


# --------------------------------------------------------------------------- from a family


def family_tensors(spec: Spec) -> TensorsFn | None:
    """The family's tensors function (a callable or a lazy ``"module:function"``), or None."""
    hook = getattr(spec.family, "tensors", None)
    if hook is None or callable(hook):
        return hook
    module_name, _, attr = str(hook).partition(":")
    try:
        loaded: TensorsFn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise PluginError(
            f"family '{spec.family.name}': tensors hook '{hook}' cannot be loaded: {exc}"
        ) from None
    return loaded


def tensors_of(spec: Spec) -> list[Tensor] | None:
    """Every parameter tensor of ``spec`` under the family's names; None if it lists none.

    Checked here, so that a family's mistake is blamed on its plugin: each entry must be a
    :class:`Tensor` with a unique name and a shape of non-negative ints, and their numel
    must sum to the count's ``total_params``.
    """
    from archcalc import api
    from archcalc.contract import family_call, family_failure

    hook = family_tensors(spec)
    if hook is None:
        return None
    listed: list[Any] = family_call(spec.exact, "tensors", lambda s: list(hook(s)), spec.exact)
    problem = _problem(listed)
    if problem is None:
        total = api.count(spec).total_params
        listed_total = total_numel(listed)
        if listed_total != total:
            problem = f"its tensors hold {listed_total:,} parameters but its count is {total:,}"
    if problem is not None:
        raise family_failure(spec.exact, "tensors", f"it listed wrong tensors: {problem}")
    return listed


def _problem(listed: list[Any]) -> str | None:
    seen: set[str] = set()
    for tensor in listed:
        if not isinstance(tensor, Tensor) or not isinstance(tensor.name, str):
            return f"{type(tensor).__name__} is not an archcalc Tensor"
        if tensor.name in seen:
            return f"tensor '{tensor.name[:80]}' is listed twice"
        seen.add(tensor.name)
        if not isinstance(tensor.shape, tuple) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in tensor.shape
        ):
            shape = shorten(tensor.shape)
            return f"tensor '{tensor.name[:80]}' has shape {shape}, not non-negative ints"
    return None
