"""archcalc: exact parameter counts, closed-form formulas and validation of architecture specs.

The public API::

    import archcalc
    spec = archcalc.load_spec("examples/gpt2-small.yaml", overrides=["n_layers=24"])
    archcalc.count(spec).total_params
    archcalc.formula(spec).total            # sympy expression (imports sympy on first use)

Plugin authors import :func:`hookimpl` and the registration types from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archcalc.api import Count, Spec, check_document, count, default_registry, load_spec
from archcalc.errors import (
    ArchcalcError,
    Diagnostic,
    ExitCode,
    PluginError,
    SpecError,
    UsageError,
)
from archcalc.family import REQUIRED, Breakdown, Family, Field, Group, LayerType, Part, ShapeRow
from archcalc.hookspecs import hookimpl

if TYPE_CHECKING:
    from archcalc.formulas import Formula

__version__ = "0.1.0"

__all__ = [
    "REQUIRED",
    "ArchcalcError",
    "Breakdown",
    "Count",
    "Diagnostic",
    "ExitCode",
    "Family",
    "Field",
    "Formula",
    "Group",
    "LayerType",
    "Part",
    "PluginError",
    "ShapeRow",
    "Spec",
    "SpecError",
    "UsageError",
    "__version__",
    "check_document",
    "count",
    "default_registry",
    "formula",
    "hookimpl",
    "load_spec",
]


def formula(spec: Spec, keep: Any = None) -> Formula:
    """The closed-form formula of ``spec`` (see :func:`archcalc.formulas.build`)."""
    from archcalc.formulas import build

    return build(spec, keep)
