"""Finds plugins, loads them one at a time, and blames the right one when something breaks.

Built-in families are registered exactly like third-party ones, from the module names in
:data:`BUILTIN_PLUGINS`. Then come installed distributions (entry-point group
``archcalc``) unless ``ARCHCALC_DISABLE_PLUGIN_AUTOLOAD`` is set, then local files or
modules from ``ARCHCALC_PLUGINS`` (comma-separated) and ``--plugin``. Every import and
every hook call is wrapped, so a broken plugin produces one line naming it (exit 3),
never a traceback and never a complaint about the user's spec.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import FunctionType, MethodType, ModuleType
from typing import Any, NamedTuple

import pluggy

from archcalc import discovery, hookspecs
from archcalc.contract import plugin_output
from archcalc.errors import PluginError, safe
from archcalc.family import Family, LayerType
from archcalc.hf_types import HFModelType
from archcalc.registrations import family_problems, hf_model_type_problems, layer_type_problems

BUILTIN_PLUGINS = (
    "archcalc.plugins.transformer",
    "archcalc.plugins.transformer_hf",
    "archcalc.plugins.transformer_hf_encoders",
    "archcalc.plugins.transformer_hf_hybrid",
    "archcalc.plugins.transformer_hf_decoders",
    "archcalc.plugins.cnn_layers",
    "archcalc.plugins.cnn",
    "archcalc.plugins.vit",
    "archcalc.plugins.rwkv",
    "archcalc.plugins.xlstm",
)
ENTRY_POINT_GROUP = "archcalc"
ENV_PLUGINS = "ARCHCALC_PLUGINS"
ENV_NO_AUTOLOAD = "ARCHCALC_DISABLE_PLUGIN_AUTOLOAD"


class PluginInfo(NamedTuple):
    """One plugin, as ``archcalc plugins`` lists it; ``error`` is set when it is broken."""

    name: str
    source: str  # "builtin", "entry point of <dist>", or a file path / module name
    version: str
    families: tuple[str, ...] = ()
    layer_types: tuple[str, ...] = ()
    hf_model_types: tuple[str, ...] = ()
    #: Why the plugin could not be used (one line naming it); its registrations are dropped.
    error: str = ""


@dataclass
class Registry:
    """Every family and layer type known to one run, with the plugin that provided each.

    A registry is passed, never global: :func:`archcalc.load_spec` takes one, and a family
    reaches it through ``spec.registry`` (the CNN family looks its layer types up there).
    """

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

    @property
    def broken(self) -> list[PluginInfo]:
        """Plugins that failed to load; everything else works without them."""
        return [p for p in self.plugins if p.error]

    def missing(self, what: str, name: str) -> PluginError | None:
        """The error for a ``what`` (family, layer type) called ``name`` that no plugin
        registered, when a broken plugin may be the one that would have: then the fault is
        that plugin's (exit 3), not the spec's. None when every plugin loaded."""
        broken = self.broken
        if not broken:
            return None
        names = ", ".join(f"'{p.name}'" for p in broken)
        return PluginError(
            f"no {what} '{safe(name, 60)}' is registered, and plugin{'s' * (len(broken) > 1)} "
            f"{names} failed to load (it may provide it): {broken[0].error}"
        )


def _version_of(module: Any) -> str:
    version = getattr(module, "__version__", None)
    if isinstance(version, str):
        return version
    from archcalc import __version__

    name = getattr(module, "__name__", "")
    return __version__ if isinstance(name, str) and name.startswith("archcalc.") else "unknown"


def _import_local(spec: str) -> ModuleType:
    """Import a plugin given as a path to a ``.py`` file or as a module name."""
    if spec.endswith(".py") or os.sep in spec or "/" in spec:
        from pathlib import Path  # only for a local plugin: off every start-up's path

        path = Path(spec).expanduser()
        if not path.is_file():
            raise PluginError(f"plugin file '{safe(spec)}' does not exist")
        name = f"archcalc_local_plugin_{path.stem}"
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None:
            raise PluginError(f"plugin file '{safe(spec)}' cannot be imported")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        module_spec.loader.exec_module(module)
        return module
    return importlib.import_module(spec)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


class _Collected(NamedTuple):
    """One registration hook: what it returns, how to check it, where it is stored."""

    hook: str
    kind: type
    what: str  # "family", "layer type": for messages
    problems: Callable[[Any], Iterable[str]]
    store: str  # Registry attribute holding name -> registration
    owners: str  # Registry attribute holding name -> plugin name
    key: str = "name"  # the registration's attribute that names it


#: The hooks whose results the registry keeps. A new registration hook is one more row.
COLLECTED = (
    _Collected("archcalc_families", Family, "family", family_problems, "families", "owners"),
    _Collected(
        "archcalc_layer_types",
        LayerType,
        "layer type",
        layer_type_problems,
        "layer_types",
        "layer_owners",
    ),
    _Collected(
        "archcalc_hf_model_types",
        HFModelType,
        "Hugging Face model_type",
        hf_model_type_problems,
        "hf_model_types",
        "hf_owners",
        key="model_type",
    ),
)


class _Broken(Exception):
    """A plugin cannot be used; the message is one line naming it."""


class _Loading:
    """One plugin while loading: where it came from and, once it failed, why.

    A plain class (filled in as loading goes, never compared): cheaper to create at
    import than a dataclass, and every start-up imports this module.
    """

    __slots__ = ("error", "name", "source", "strict", "version")

    def __init__(self, name: str, source: str, version: str, strict: bool) -> None:
        self.name = name
        self.source = source
        self.version = version
        #: A failure stops the run: a built-in, or a plugin the user named.
        self.strict = strict
        self.error = ""


class _PluginManager(pluggy.PluginManager):
    """pluggy's manager with a quicker look at a module plugin's names.

    pluggy inspects every name a plugin has through ``inspect.getattr_static`` (~5 µs
    each), and a plugin module has hundreds (its imports, tables, helpers): a few
    milliseconds of every start-up. A module's hook implementation is a function (or a
    method object) in its namespace carrying pluggy's marker, so any other name is passed
    over before pluggy looks; what remains goes through pluggy's own parsing, which stays
    the authority (``@hookimpl(specname=...)``, wrappers, options).
    """

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> pluggy.HookimplOpts | None:
        if isinstance(plugin, ModuleType):
            value = vars(plugin).get(name)
            if isinstance(value, FunctionType):
                if _MARKER not in value.__dict__:
                    return None
            elif not isinstance(value, (MethodType, staticmethod, classmethod)):
                return None
        return super().parse_hookimpl_opts(plugin, name)


#: The attribute ``@hookimpl`` sets on an implementation.
_MARKER = f"{hookspecs.PROJECT}_impl"


class _Loader:
    def __init__(self) -> None:
        self.pm = _PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.registry = Registry()
        self.order: list[_Loading] = []

    def register(self, name: str, source: str, load: Callable[[], Any], strict: bool) -> None:
        earlier = next((p for p in self.order if p.name == name), None)
        if earlier is not None:
            if earlier.source == source:
                return  # the same plugin named twice (ARCHCALC_PLUGINS and --plugin): load once
            self._fail(
                _Loading(name, source, "unknown", strict),
                f"two plugins are named '{safe(name)}': one from {safe(earlier.source)}, "
                f"one from {safe(source)}",
            )
            return
        plugin = _Loading(name, source, "unknown", strict)
        try:
            with plugin_output():
                module = load()
        except PluginError as exc:
            self._fail(plugin, f"plugin '{safe(name)}' failed to load: {exc}")
            return
        except Exception as exc:
            self._fail(plugin, f"plugin '{safe(name)}' failed to load: {safe(_one_line(exc))}")
            return
        if self.pm.is_registered(module):
            return  # one module reached twice (as a path and as a module name): load it once
        plugin.version = _version_of(module)
        try:
            self.pm.register(module, name=name)
        except ValueError as exc:  # the same name registered twice
            message = f"plugin '{safe(name)}' could not be registered: {safe(str(exc))}"
            self._fail(plugin, message)
            return
        except pluggy.PluginValidationError as exc:
            detail = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
            self._fail(plugin, f"plugin '{safe(name)}' has an invalid hook: {safe(detail)}")
            return
        self.order.append(plugin)
        problem = _undecorated(self.pm, name, module)
        if problem:
            self._drop(plugin, problem)

    def _fail(self, plugin: _Loading, message: str) -> None:
        plugin.error = message
        self.order.append(plugin)

    def _drop(self, plugin: _Loading, message: str) -> None:
        """A registered plugin turned out broken: record why and take its hooks away."""
        plugin.error = message
        if self.pm.get_plugin(plugin.name) is not None:
            self.pm.unregister(name=plugin.name)

    def _registered(self, name: str) -> _Loading:
        return next(p for p in self.order if p.name == name and not p.error)

    def collect(self) -> Registry:
        while True:  # a hook implementation matching no hookspec breaks that plugin only
            try:
                self.pm.check_pending()
                break
            except pluggy.PluginValidationError as exc:
                name = self.pm.get_name(exc.plugin) if exc.plugin is not None else None
                if name is None:
                    raise PluginError(f"a plugin {_unknown_hook(self.pm, exc)}") from None
                message = f"plugin '{safe(name)}' {_unknown_hook(self.pm, exc)}"
                self._drop(self._registered(name), message)
        provided: dict[str, dict[str, list[str]]] = {}
        for plugin in self.order:
            if not plugin.error:
                try:
                    provided[plugin.name] = self._contributions(plugin.name)
                except _Broken as exc:
                    self._drop(plugin, str(exc))
        self._check_hf_families(provided)
        for plugin in self.order:
            mine = provided.get(plugin.name, {}) if not plugin.error else {}
            self.registry.plugins.append(
                PluginInfo(
                    plugin.name,
                    plugin.source,
                    plugin.version,
                    tuple(mine.get("families", ())),
                    tuple(mine.get("layer_types", ())),
                    tuple(mine.get("hf_model_types", ())),
                    plugin.error,
                )
            )
        return self.registry

    def _contributions(self, name: str) -> dict[str, list[str]]:
        """Everything one plugin registers, checked; stored only when all of it is sound."""
        found: dict[str, list[tuple[str, Any]]] = {}
        for collected in COLLECTED:
            owners: dict[str, str] = getattr(self.registry, collected.owners)
            items = found.setdefault(collected.store, [])
            keys: set[str] = set()  # of items: a set, as a plugin may register hundreds
            for item in self._call(name, collected):
                problem = next(iter(collected.problems(item)), "")
                if problem:
                    raise _Broken(
                        f"plugin '{safe(name)}' returned a malformed {collected.what}: "
                        f"{safe(problem)}"
                    )
                key = getattr(item, collected.key)
                owner = owners.get(key)
                if owner is None and key in keys:
                    owner = name
                if owner is not None:
                    raise _Broken(
                        f"plugins '{safe(owner)}' and '{safe(name)}' both register the "
                        f"{collected.what} '{safe(key)}'"
                    )
                items.append((key, item))
                keys.add(key)
        for collected in COLLECTED:
            store: dict[str, Any] = getattr(self.registry, collected.store)
            owners = getattr(self.registry, collected.owners)
            for key, item in found[collected.store]:
                store[key] = item
                owners[key] = name
        return {store: [k for k, _ in items] for store, items in found.items()}

    def _call(self, name: str, collected: _Collected) -> list[Any]:
        """Call one plugin's implementations of a hook, through pluggy's records of them
        (so ``@hookimpl(specname=...)`` works), one at a time so a failure names it."""
        caller = getattr(self.pm.hook, collected.hook)
        results: list[Any] = []
        for impl in reversed(caller.get_hookimpls()):
            if impl.plugin_name != name:
                continue
            try:
                with plugin_output():
                    returned = impl.function()
                    items = list(returned or ())
            except Exception as exc:
                raise _Broken(
                    f"plugin '{safe(name)}' failed in {collected.hook}: {safe(_one_line(exc))}"
                ) from None
            for item in items:
                if not isinstance(item, collected.kind):
                    raise _Broken(
                        f"plugin '{safe(name)}' returned {type(item).__name__} from "
                        f"{collected.hook}, expected archcalc.{collected.kind.__name__}"
                    )
            results.extend(items)
        return results

    def first_fatal(self) -> PluginError | None:
        for plugin in self.order:
            if plugin.strict and plugin.error:
                return PluginError(plugin.error)
        return None

    def _check_hf_families(self, provided: dict[str, dict[str, list[str]]]) -> None:
        """Every model_type must translate into a family some plugin registered; a plugin
        whose model_type does not is broken, and withdrawn as a whole."""
        registry = self.registry
        for model_type, hf_type in list(registry.hf_model_types.items()):
            owner = registry.hf_owners.get(model_type)
            if owner is None or hf_type.family in registry.families:
                continue
            plugin = self._registered(owner)
            self._drop(
                plugin,
                f"plugin '{safe(owner)}' reads model_type '{safe(model_type)}' into family "
                f"'{safe(hf_type.family)}', which no plugin provides",
            )
            withdrawn = provided.pop(owner, {})
            for collected in COLLECTED:
                store: dict[str, Any] = getattr(registry, collected.store)
                owners: dict[str, str] = getattr(registry, collected.owners)
                for key in withdrawn.get(collected.store, []):
                    store.pop(key, None)
                    owners.pop(key, None)


def _undecorated(pm: pluggy.PluginManager, name: str, module: Any) -> str:
    """A module-level ``archcalc_*`` function without ``@hookimpl`` is silently ignored by
    pluggy; a plugin author who forgot the decorator deserves to hear about it (unless
    another function implements that hook with ``@hookimpl(specname=...)``)."""
    if not isinstance(module, ModuleType):
        return ""
    hooks = {n for n in dir(hookspecs) if n.startswith("archcalc_")}
    for attr, value in vars(module).items():
        if attr in hooks and callable(value) and not hasattr(value, "archcalc_impl"):
            implemented = any(
                impl.plugin_name == name for impl in getattr(pm.hook, attr).get_hookimpls()
            )
            if not implemented:
                return (
                    f"plugin '{safe(name)}' defines {attr}() without @hookimpl "
                    "(from archcalc import hookimpl), so archcalc would never call it"
                )
    return ""


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


def load_registry(extra: Sequence[str] = (), *, keep_broken: bool = False) -> Registry:
    """Load built-in, installed and local plugins, each one all-or-nothing.

    A plugin that fails (import, hook, malformed or clashing registration) is listed in
    :attr:`Registry.broken` and contributes nothing. A failing built-in or explicitly named
    plugin (``extra``, ``ARCHCALC_PLUGINS``) raises :class:`PluginError`, since the user
    asked for it; a failing installed one does not stop the others. ``keep_broken`` never
    raises (``archcalc plugins`` lists everything).
    """
    loader = _Loader()
    for module_name in BUILTIN_PLUGINS:
        loader.register(
            module_name, "builtin", functools.partial(importlib.import_module, module_name), True
        )
    if not os.environ.get(ENV_NO_AUTOLOAD):
        for ep in discovery.entry_points(ENTRY_POINT_GROUP):
            loader.register(ep.name, f"entry point of {ep.dist}", ep.load, False)
    local = [s.strip() for s in os.environ.get(ENV_PLUGINS, "").split(",") if s.strip()]
    for spec in [*local, *extra]:
        loader.register(spec, spec, functools.partial(_import_local, spec), True)
    registry = loader.collect()
    fatal = loader.first_fatal()
    if fatal is not None and not keep_broken:
        raise fatal
    return registry
