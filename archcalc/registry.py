"""Finds plugins, loads them one at a time, and blames the right one when something breaks.

Built-in families are registered exactly like third-party ones, from the module names in
:data:`BUILTIN_PLUGINS`. Then come installed distributions (entry-point group
``archcalc``) unless ``ARCHCALC_DISABLE_PLUGIN_AUTOLOAD`` is set, then local files or
modules from ``ARCHCALC_PLUGINS`` (comma-separated) and ``--plugin``. Every import and
every hook call is wrapped, so a broken plugin produces one line naming it (exit 3),
never a traceback and never a complaint about the user's spec.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, get_args

import pluggy

from archcalc import discovery, hookspecs
from archcalc.errors import PluginError
from archcalc.family import Family, Field, FieldKind, Group, LayerType
from archcalc.hf import HFModelType

BUILTIN_PLUGINS = (
    "archcalc.plugins.transformer",
    "archcalc.plugins.transformer_hf",
    "archcalc.plugins.cnn_layers",
    "archcalc.plugins.cnn",
    "archcalc.plugins.vit",
)
ENTRY_POINT_GROUP = "archcalc"
ENV_PLUGINS = "ARCHCALC_PLUGINS"
ENV_NO_AUTOLOAD = "ARCHCALC_DISABLE_PLUGIN_AUTOLOAD"


@dataclass(frozen=True)
class PluginInfo:
    """One loaded plugin, as ``archcalc plugins`` lists it."""

    name: str
    source: str  # "builtin", "entry point <dist>", or a file path / module name
    version: str
    families: tuple[str, ...] = ()
    layer_types: tuple[str, ...] = ()
    hf_model_types: tuple[str, ...] = ()


@dataclass
class Registry:
    """Every family known to this run, with the plugin that provided it."""

    families: dict[str, Family] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    plugins: list[PluginInfo] = field(default_factory=list)
    #: Layer types for graph families (``family: cnn``), and the plugin behind each.
    layer_types: dict[str, LayerType] = field(default_factory=dict)
    layer_owners: dict[str, str] = field(default_factory=dict)
    #: Hugging Face model_types a plugin translates (``archcalc count config.json``).
    hf_model_types: dict[str, HFModelType] = field(default_factory=dict)
    hf_owners: dict[str, str] = field(default_factory=dict)

    def family(self, name: str) -> Family | None:
        return self.families.get(name)


def _version_of(module: ModuleType) -> str:
    version = getattr(module, "__version__", None)
    if isinstance(version, str):
        return version
    from archcalc import __version__

    return __version__ if module.__name__.startswith("archcalc.") else "unknown"


def _import_local(spec: str) -> ModuleType:
    """Import a plugin given as a path to a ``.py`` file or as a module name."""
    if spec.endswith(".py") or os.sep in spec or "/" in spec:
        path = Path(spec).expanduser()
        if not path.is_file():
            raise PluginError(f"plugin file '{spec}' does not exist")
        name = f"archcalc_local_plugin_{path.stem}"
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None:
            raise PluginError(f"plugin file '{spec}' cannot be imported")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        module_spec.loader.exec_module(module)
        return module
    return importlib.import_module(spec)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


class _Loader:
    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.registry = Registry()

    def register(self, name: str, source: str, load: Any) -> None:
        earlier = next((p for p in self.registry.plugins if p.name == name), None)
        if earlier is not None:
            if earlier.source == source:
                return  # the same plugin named twice (ARCHCALC_PLUGINS and --plugin): load once
            raise PluginError(
                f"two plugins are named '{name}': one from {earlier.source}, one from {source}"
            )
        try:
            module = load()
        except PluginError as exc:
            raise PluginError(f"plugin '{name}' failed to load: {exc}") from None
        except Exception as exc:
            raise PluginError(f"plugin '{name}' failed to load: {_one_line(exc)}") from None
        if self.pm.is_registered(module):
            return  # one module reached twice (as a path and as a module name): load it once
        try:
            self.pm.register(module, name=name)
        except ValueError as exc:  # the same name registered twice
            raise PluginError(f"plugin '{name}' could not be registered: {exc}") from None
        except pluggy.PluginValidationError as exc:
            detail = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
            raise PluginError(f"plugin '{name}' has an invalid hook: {detail}") from None
        _check_undecorated(name, module)
        version = _version_of(module) if isinstance(module, ModuleType) else "unknown"
        self.registry.plugins.append(PluginInfo(name, source, version))

    def collect(self) -> Registry:
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            plugin = self.pm.get_name(exc.plugin) if exc.plugin is not None else "?"
            raise PluginError(f"plugin '{plugin}' {_unknown_hook(self.pm, exc)}") from None
        infos = []
        for info in self.registry.plugins:
            plugin = self.pm.get_plugin(info.name)
            names = tuple(self._families_of(info.name, plugin))
            layers = tuple(self._layer_types_of(info.name, plugin))
            hf_types = tuple(self._hf_model_types_of(info.name, plugin))
            infos.append(PluginInfo(info.name, info.source, info.version, names, layers, hf_types))
        self.registry.plugins = infos
        self._check_hf_families()
        return self.registry

    def _hook_results(self, name: str, plugin: Any, hook: str, kind: type) -> list[Any]:
        """Call one plugin's hook alone, so a failure names that plugin and hook."""
        impl = getattr(plugin, hook, None)
        if impl is None:
            return []
        try:
            results = list(impl() or ())
        except Exception as exc:
            raise PluginError(f"plugin '{name}' failed in {hook}: {_one_line(exc)}") from None
        for item in results:
            if not isinstance(item, kind):
                raise PluginError(
                    f"plugin '{name}' returned {type(item).__name__} from {hook}, "
                    f"expected archcalc.{kind.__name__}"
                )
        return results

    def _claim(self, name: str, what: str, key: str, owners: dict[str, str]) -> None:
        """Record ``name`` as the owner of ``key``; a second owner is a clash naming both."""
        owner = owners.get(key)
        if owner is not None:
            raise PluginError(f"plugins '{owner}' and '{name}' both register the {what} '{key}'")
        owners[key] = name

    def _families_of(self, name: str, plugin: Any) -> Iterable[str]:
        for family in self._hook_results(name, plugin, "archcalc_families", Family):
            problem = _family_problem(family)
            if problem:
                raise PluginError(f"plugin '{name}' returned a malformed family: {problem}")
            self._claim(name, "family", family.name, self.registry.owners)
            self.registry.families[family.name] = family
            yield family.name

    def _layer_types_of(self, name: str, plugin: Any) -> Iterable[str]:
        """Collect a plugin's layer types like its families: typed, unique, owner recorded."""
        for layer in self._hook_results(name, plugin, "archcalc_layer_types", LayerType):
            if not isinstance(layer.name, str) or not layer.name:
                raise PluginError(f"plugin '{name}' returned a layer type without a name")
            self._claim(name, "layer type", layer.name, self.registry.layer_owners)
            self.registry.layer_types[layer.name] = layer
            yield layer.name

    def _hf_model_types_of(self, name: str, plugin: Any) -> Iterable[str]:
        """Collect the Hugging Face model_types a plugin reads: typed, unique, owner recorded."""
        for hf_type in self._hook_results(name, plugin, "archcalc_hf_model_types", HFModelType):
            if not isinstance(hf_type.model_type, str) or not hf_type.model_type:
                raise PluginError(f"plugin '{name}' returned an HFModelType without a model_type")
            if not isinstance(hf_type.family, str) or not callable(hf_type.translate):
                raise PluginError(
                    f"plugin '{name}' returned a malformed HFModelType '{hf_type.model_type}': "
                    "family must be a family name and translate a function of a ConfigReader"
                )
            self._claim(
                name, "Hugging Face model_type", hf_type.model_type, self.registry.hf_owners
            )
            self.registry.hf_model_types[hf_type.model_type] = hf_type
            yield hf_type.model_type

    def _check_hf_families(self) -> None:
        """Every model_type must translate into a family some plugin registered."""
        for model_type, hf_type in self.registry.hf_model_types.items():
            if hf_type.family not in self.registry.families:
                raise PluginError(
                    f"plugin '{self.registry.hf_owners[model_type]}' reads model_type "
                    f"'{model_type}' into family '{hf_type.family}', which no plugin provides"
                )


def _check_undecorated(name: str, module: Any) -> None:
    """A module-level ``archcalc_*`` function without ``@hookimpl`` is silently ignored by
    pluggy; a plugin author who forgot the decorator deserves to hear about it."""
    if not isinstance(module, ModuleType):
        return
    hooks = {n for n in dir(hookspecs) if n.startswith("archcalc_")}
    for attr, value in vars(module).items():
        if attr in hooks and callable(value) and not hasattr(value, "archcalc_impl"):
            raise PluginError(
                f"plugin '{name}' defines {attr}() without @hookimpl "
                "(from archcalc import hookimpl), so archcalc would never call it"
            )


def _unknown_hook(pm: pluggy.PluginManager, exc: pluggy.PluginValidationError) -> str:
    """'has an unknown hook 'x'; did you mean 'y'?' for a hookimpl matching no hookspec."""
    import difflib

    known = sorted(n for n in dir(hookspecs) if n.startswith("archcalc_"))
    unknown = [
        hook
        for hook, caller in vars(pm.hook).items()
        if not caller.has_spec() and any(i.plugin is exc.plugin for i in caller.get_hookimpls())
    ]
    if not unknown:
        return "has an unknown hook: " + " ".join(str(exc).split())
    hook = unknown[0]
    close = difflib.get_close_matches(hook, known, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'?" if close else "known hooks: " + ", ".join(known)
    return f"has an unknown hook '{hook}'; {hint}"


def _family_problem(family: Family) -> str:
    """Why a :class:`Family` cannot be used, or '' when it can (checked once, at load)."""
    if not isinstance(family.name, str) or not family.name:
        return f"name {family.name!r} must be a non-empty string"
    where = f"family '{family.name}'"
    if not callable(family.count):
        return f"{where}: count must be a function of the resolved spec"
    if not callable(family.check):
        return f"{where}: check must be a function of the resolved spec"
    kinds = get_args(FieldKind)
    for item in family.fields:
        if not isinstance(item, (Field, Group)):
            return f"{where}: fields holds {type(item).__name__}, expected Field or Group"
        for fld in item.fields if isinstance(item, Group) else (item,):
            if not isinstance(fld, Field):
                return f"{where}: group '{item.name}' holds {type(fld).__name__}, expected Field"
            if fld.kind not in kinds:
                return f"{where}: field '{fld.name}' has kind {fld.kind!r} (one of {kinds})"
            if fld.kind == "choice" and not fld.choices:
                return f"{where}: choice field '{fld.name}' lists no choices"
    return ""


def load_registry(extra: Sequence[str] = ()) -> Registry:
    """Load built-in, installed and local plugins; raise :class:`PluginError` on any failure."""
    loader = _Loader()
    for module_name in BUILTIN_PLUGINS:
        loader.register(module_name, "builtin", lambda m=module_name: importlib.import_module(m))
    if not os.environ.get(ENV_NO_AUTOLOAD):
        for ep in discovery.entry_points(ENTRY_POINT_GROUP):
            loader.register(ep.name, f"entry point of {ep.dist}", ep.load)
    local = [s.strip() for s in os.environ.get(ENV_PLUGINS, "").split(",") if s.strip()]
    for spec in [*local, *extra]:
        loader.register(spec, spec, lambda s=spec: _import_local(s))
    return loader.collect()
