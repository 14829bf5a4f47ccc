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
    from archcalc.family import Family, LayerType
    from archcalc.hf_types import HFModelType

PROJECT = "archcalc"
F = TypeVar("F", bound=Callable[..., Any])

hookspec = pluggy.HookspecMarker(PROJECT)
#: Decorate a plugin's hook functions with this (``from archcalc import hookimpl``).
hookimpl = cast(Callable[[F], F], pluggy.HookimplMarker(PROJECT))


@hookspec
def archcalc_families() -> Iterable[Family]:
    """Return the families this plugin provides (``family: NAME`` in a spec).

    Each :class:`archcalc.Family` names its spec fields, a ``count`` function written
    once for ints and sympy symbols, and optional semantic ``check`` s. A family name may
    be registered by one plugin only; a clash stops archcalc with exit code 3, naming
    both plugins. Called once per run, after every plugin is registered.

    Example plugin (a complete file; ``archcalc count spec.yaml --plugin affine.py``)::

        from archcalc import Breakdown, Family, Field, Part, hookimpl


        def count(spec):
            v = spec.values  # ints when counting, sympy symbols for `archcalc formula`
            return Breakdown((Part("weight", v.n_in * v.n_out), Part("bias", v.n_out)))


        def check(spec):
            if spec.values.n_out > spec.values.n_in:
                spec.warning("n_out", "n_out exceeds n_in: this map cannot be injective")


        @hookimpl
        def archcalc_families():
            return [
                Family(
                    name="affine",
                    description="A single linear map y = Wx + b.",
                    fields=(
                        Field("n_in", "size", "Input features."),
                        Field("n_out", "size", "Output features."),
                    ),
                    count=count,
                    check=check,
                )
            ]

    Example spec::

        family: affine
        n_in: 784
        n_out: 10

    Expected total: 7850
    """
    raise NotImplementedError  # a specification: pluggy never calls it


@hookspec
def archcalc_layer_types() -> Iterable[LayerType]:
    """Return the layer types this plugin provides (``- NAME: {args}`` in a ``cnn`` spec).

    Each :class:`archcalc.LayerType` has a JSON Schema for its arguments, a ``params``
    formula and a ``shape`` rule written once for ints and sympy symbols, and an optional
    ``check``. A layer name may be registered by one plugin only; a clash stops archcalc
    with exit code 3, naming both plugins.

    Example plugin (a complete file; ``archcalc count net.yaml --plugin scale.py``)::

        from archcalc import LayerType, hookimpl


        def params(args, shape):
            return shape[0]  # one learnable scale per channel


        @hookimpl
        def archcalc_layer_types():
            return [
                LayerType(
                    name="channel_scale",
                    description="Multiplies each channel by a learned scalar.",
                    args={"type": "object", "properties": {}, "additionalProperties": False},
                    params=params,
                )
            ]

    Example spec::

        family: cnn
        input: [3, 32, 32]
        layers:
          - conv2d: {out_channels: 16, kernel_size: 3}
          - channel_scale

    Expected total: 464
    """
    raise NotImplementedError  # a specification: pluggy never calls it


@hookspec
def archcalc_hf_model_types() -> Iterable[HFModelType]:
    """Return the Hugging Face ``model_type`` s this plugin reads (``archcalc count config.json``).

    Each :class:`archcalc.HFModelType` names a ``model_type``, the family its spec belongs
    to (registered by this or any other plugin) and a ``translate`` function. archcalc
    parses the config safely and calls ``translate`` with a :class:`archcalc.ConfigReader`;
    the translator reads typed values with the model type's defaults (``size``, ``count``,
    ``flag``, ``text``), writes spec keys with ``set`` (naming the config keys they came
    from, so later errors point into the config), and refuses what it cannot count with
    ``unsupported`` or ``only``. A model_type may be read by one plugin only.

    Example plugin (a complete file; ``archcalc count config.json --plugin affine_hf.py``)::

        from archcalc import Breakdown, Family, Field, HFModelType, Part, hookimpl


        def count(spec):
            v = spec.values
            return Breakdown((Part("weight", v.n_in * v.n_out), Part("bias", v.n_out)))


        def translate(config):
            config.set("n_in", config.size("input_size"), "input_size")
            config.set("n_out", config.size("output_size"), "output_size")


        @hookimpl
        def archcalc_families():
            fields = (Field("n_in", "size", "Inputs."), Field("n_out", "size", "Outputs."))
            return [Family(name="affine", description="y = Wx + b", fields=fields, count=count)]


        @hookimpl
        def archcalc_hf_model_types():
            return [HFModelType("affine", family="affine", translate=translate)]

    Example config::

        {"model_type": "affine", "input_size": 784, "output_size": 10}

    Expected total: 7850
    """
    raise NotImplementedError  # a specification: pluggy never calls it
