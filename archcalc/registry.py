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
import importlib.metadata
import importlib.util
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from archcalc import hookspecs
from archcalc.errors import PluginError
from archcalc.family import Family

BUILTIN_PLUGINS = ("archcalc.plugins.transformer",)
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


@dataclass
class Registry:
    """Every family known to this run, with the plugin that provided it."""

    families: dict[str, Family] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    plugins: list[PluginInfo] = field(default_factory=list)

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
        try:
            module = load()
        except PluginError as exc:
            raise PluginError(f"plugin '{name}' failed to load: {exc}") from None
        except Exception as exc:
            raise PluginError(f"plugin '{name}' failed to load: {_one_line(exc)}") from None
        if self.pm.is_registered(module):
            return
        try:
            self.pm.register(module, name=name)
        except ValueError as exc:  # the same name registered twice
            raise PluginError(f"plugin '{name}' could not be registered: {exc}") from None
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"plugin '{name}' has an invalid hook: {exc}") from None
        version = _version_of(module) if isinstance(module, ModuleType) else "unknown"
        self.registry.plugins.append(PluginInfo(name, source, version))

    def collect(self) -> Registry:
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            plugin = self.pm.get_name(exc.plugin) if exc.plugin is not None else "?"
            raise PluginError(f"plugin '{plugin}' has an unknown hook: {exc}") from None
        infos = []
        for info in self.registry.plugins:
            plugin = self.pm.get_plugin(info.name)
            names = tuple(self._families_of(info.name, plugin))
            infos.append(PluginInfo(info.name, info.source, info.version, names))
        self.registry.plugins = infos
        return self.registry

    def _families_of(self, name: str, plugin: Any) -> Iterable[str]:
        impl = getattr(plugin, "archcalc_families", None)
        if impl is None:
            return
        try:
            families = list(impl() or ())
        except Exception as exc:
            raise PluginError(
                f"plugin '{name}' failed in archcalc_families: {_one_line(exc)}"
            ) from None
        for family in families:
            if not isinstance(family, Family):
                raise PluginError(
                    f"plugin '{name}' returned {type(family).__name__} from archcalc_families, "
                    "expected archcalc.Family"
                )
            owner = self.registry.owners.get(family.name)
            if owner is not None:
                raise PluginError(
                    f"plugins '{owner}' and '{name}' both register the family '{family.name}'"
                )
            self.registry.families[family.name] = family
            self.registry.owners[family.name] = name
            yield family.name


def load_registry(extra: Sequence[str] = ()) -> Registry:
    """Load built-in, installed and local plugins; raise :class:`PluginError` on any failure."""
    loader = _Loader()
    for module_name in BUILTIN_PLUGINS:
        loader.register(module_name, "builtin", lambda m=module_name: importlib.import_module(m))
    if not os.environ.get(ENV_NO_AUTOLOAD):
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist.name if ep.dist is not None else "?"
            loader.register(ep.name, f"entry point of {dist}", ep.load)
    local = [s.strip() for s in os.environ.get(ENV_PLUGINS, "").split(",") if s.strip()]
    for spec in [*local, *extra]:
        loader.register(spec, spec, lambda s=spec: _import_local(s))
    return loader.collect()
