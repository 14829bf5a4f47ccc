"""The plugin hooks: what a plugin implements to teach archcalc a family.

A plugin is any module or object with functions decorated by ``archcalc.hookimpl``,
named after one of the hooks below. archcalc's own families are plugins registered
through exactly these hooks.

Example, a one-file plugin ``tiny.py`` loaded with ``archcalc --plugin tiny.py``::

    from archcalc import Breakdown, Family, Field, Part, hookimpl

    def count(spec):
        v = spec.values
        return Breakdown((Part("weights", v.n_in * v.n_out), Part("bias", v.n_out)))

    @hookimpl
    def archcalc_families():
        return [Family(
            name="affine",
            description="a single linear map",
            fields=(Field("n_in", "size", "input width"), Field("n_out", "size", "output width")),
            count=count,
        )]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import pluggy

if TYPE_CHECKING:
    from archcalc.family import Family

PROJECT = "archcalc"
F = TypeVar("F", bound=Callable[..., Any])

hookspec = pluggy.HookspecMarker(PROJECT)
#: Decorate a plugin's hook functions with this (``from archcalc import hookimpl``).
hookimpl = cast(Callable[[F], F], pluggy.HookimplMarker(PROJECT))


@hookspec
def archcalc_families() -> Iterable[Family]:
    """Return the families this plugin provides.

    Each :class:`archcalc.Family` names its spec fields, a ``count`` function written
    once for ints and sympy symbols, and optional semantic ``check`` s. A family name may
    be registered by one plugin only; a clash stops archcalc with exit code 3.

    Example::

        @hookimpl
        def archcalc_families():
            return [Family(name="affine", description="a linear map",
                           fields=(Field("n_in", "size", "inputs"),
                                   Field("n_out", "size", "outputs")),
                           count=lambda s: Breakdown((Part("weights",
                               s.values.n_in * s.values.n_out),)))]
    """
