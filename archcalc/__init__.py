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
        LAYER_ARG_KINDS,
        REQUIRED,
        Breakdown,
        Family,
        Field,
        Group,
        LayerType,
        Part,
        ShapeRow,
        div,
    )
    from archcalc.formulas import Formula
    from archcalc.hf import ConfigReader
    from archcalc.hf_types import HFModelType
    from archcalc.hookspecs import hookimpl
    from archcalc.registry import Registry, load_registry
    from archcalc.schema import field_schema
    from archcalc.sizes import Compute
    from archcalc.spec import Resolved
    from archcalc.tensors import Tensor

__version__ = "0.1.0"

__all__ = [
    "LAYER_ARG_KINDS",
    "REQUIRED",
    "ArchcalcError",
    "Breakdown",
    "Compute",
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
    "Registry",
    "Resolved",
    "ShapeRow",
    "Spec",
    "SpecError",
    "Tensor",
    "UsageError",
    "__version__",
    "check_document",
    "count",
    "default_registry",
    "div",
    "field_schema",
    "formula",
    "hookimpl",
    "load_registry",
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
        (
            "LAYER_ARG_KINDS",
            "REQUIRED",
            "Breakdown",
            "Family",
            "Field",
            "Group",
            "LayerType",
            "Part",
            "ShapeRow",
            "div",
        ),
        "archcalc.family",
    ),
    "Registry": "archcalc.registry",
    "field_schema": "archcalc.schema",
    "load_registry": "archcalc.registry",
    "Compute": "archcalc.sizes",
    "Resolved": "archcalc.spec",
    "Formula": "archcalc.formulas",
    "ConfigReader": "archcalc.hf",
    "HFModelType": "archcalc.hf_types",
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
