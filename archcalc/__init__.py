"""archcalc: exact parameter counts, closed-form formulas and validation of architecture specs.

The public API::

    import archcalc
    spec = archcalc.load_spec("examples/gpt2-small.yaml", overrides=["n_layers=24"])
    archcalc.count(spec).total_params
    archcalc.formula(spec).total            # sympy expression (imports sympy on first use)

Plugin authors import :func:`hookimpl` and the registration types from here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from archcalc.api import Count, Spec, check_document, count, default_registry, load_spec
    from archcalc.errors import (
        ArchcalcError,
        Diagnostic,
        ExitCode,
        PluginError,
        SpecError,
        UsageError,
    )
    from archcalc.family import (
        REQUIRED,
        Breakdown,
        Family,
        Field,
        Group,
        LayerType,
        Part,
        ShapeRow,
    )
    from archcalc.formulas import Formula
    from archcalc.hf import ConfigReader, HFModelType
    from archcalc.hookspecs import hookimpl
    from archcalc.tensors import Tensor

__version__ = "0.1.0"

__all__ = [
    "REQUIRED",
    "ArchcalcError",
    "Breakdown",
    "ConfigReader",
    "Count",
    "Diagnostic",
    "ExitCode",
    "Family",
    "Field",
    "Formula",
    "Group",
    "HFModelType",
    "LayerType",
    "Part",
    "PluginError",
    "ShapeRow",
    "Spec",
    "SpecError",
    "Tensor",
    "UsageError",
    "__version__",
    "check_document",
    "count",
    "default_registry",
    "formula",
    "hookimpl",
    "load_spec",
]

#: Public name -> the module defining it. Imported on first use (PEP 562), so that
#: ``import archcalc`` (and every ``archcalc`` command, whose package this is) does not
#: pay for the library before it needs it: ``archcalc --version`` imports none of it.
_LAZY = {
    **dict.fromkeys(
        ("Count", "Spec", "check_document", "count", "default_registry", "load_spec"),
        "archcalc.api",
    ),
    **dict.fromkeys(
        ("ArchcalcError", "Diagnostic", "ExitCode", "PluginError", "SpecError", "UsageError"),
        "archcalc.errors",
    ),
    **dict.fromkeys(
        ("REQUIRED", "Breakdown", "Family", "Field", "Group", "LayerType", "Part", "ShapeRow"),
        "archcalc.family",
    ),
    "Formula": "archcalc.formulas",
    **dict.fromkeys(("ConfigReader", "HFModelType"), "archcalc.hf"),
    "hookimpl": "archcalc.hookspecs",
    "Tensor": "archcalc.tensors",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'archcalc' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def formula(spec: Spec, keep: Any = None) -> Formula:
    """The closed-form formula of ``spec`` (see :func:`archcalc.formulas.build`)."""
    from archcalc.formulas import build

    return build(spec, keep)
