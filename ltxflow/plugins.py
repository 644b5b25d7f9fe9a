"""The plugin manager: built-in, installed (entry points) and local (plugins/ folder) plugins, and registries."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from ltxflow import hookspecs
from ltxflow.errors import PluginError

ENTRY_POINT_GROUP = "ltxflow"
LOAD_ENV = "LTXFLOW_LOAD_PLUGINS"  # comma-separated allow-list of installed and local plugins
TRACE_ENV = "LTXFLOW_TRACE_PLUGINS"  # set to print every hook call with its arguments and result
DIR_ENV = "LTXFLOW_PLUGINS_DIR"  # folder of local plugin modules; default ./plugins
# Built-ins load through the same pm.register path as any plugin; the lead adds them as entry points too.
DEFAULT_PLUGINS = ("brand_audio", "costs", "filters", "presets")

pm = pluggy.PluginManager("ltxflow")
pm.add_hookspecs(hookspecs)
_loaded = False


def get_plugin_manager() -> pluggy.PluginManager:
    """The plugin manager with every plugin loaded."""
    load_plugins()
    return pm


def load_plugins(plugins_dir: Path | str | None = None) -> None:
    """Load built-in, installed and local plugins once; later calls do nothing."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    if os.environ.get(TRACE_ENV):
        pm.add_hookcall_monitoring(_trace_before, _trace_after)
    allow = _allow_list()
    for name in DEFAULT_PLUGINS:
        try:
            module = importlib.import_module(f"ltxflow.default_plugins.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"ltxflow.default_plugins.{name}":
                raise
            continue  # a built-in not written yet
        if not pm.is_registered(module):
            pm.register(module, name=f"ltxflow.{name}")
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        builtin = entry.value.startswith("ltxflow.default_plugins.")
        if not builtin and allow is not None and entry.name not in allow:
            continue
        try:
            module = entry.load()
        except Exception as exc:
            raise PluginError(f"plugin {entry.name!r} ({entry.value}): failed to load: {exc}") from None
        if not pm.is_registered(module) and pm.get_plugin(entry.name) is None:
            pm.register(module, name=f"ltxflow.{entry.name}" if builtin else entry.name)
    folder = Path(plugins_dir or os.environ.get(DIR_ENV) or "plugins")
    if folder.is_dir():
        for path in sorted(folder.glob("*.py")):
            if not path.name.startswith("_") and (allow is None or path.stem in allow):
                load_local_plugin(path)


def load_local_plugin(path: Path) -> ModuleType:
    """Import a plain module file and register it as plugin `local:<stem>`."""
    name = f"local:{path.stem}"
    existing = pm.get_plugin(name)
    if existing is not None:
        return existing
    spec = importlib.util.spec_from_file_location(f"ltxflow_local_plugins.{path.stem}", path)
    if spec is None or spec.loader is None:
        raise PluginError(f"{path}: cannot import local plugin")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        pm.register(module, name=name)
    except Exception as exc:
        raise PluginError(f"{path}: local plugin failed to load: {type(exc).__name__}: {exc}") from None
    return module


def _allow_list() -> set[str] | None:
    """Names in $LTXFLOW_LOAD_PLUGINS, or None when unset (load all)."""
    value = os.environ.get(LOAD_ENV)
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def _trace_before(hook_name: str, impls: list[Any], kwargs: dict[str, Any]) -> None:
    print(f"[ltxflow trace] {hook_name}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())}) "
          f"-> {[impl.plugin_name for impl in impls]}", file=sys.stderr)  # fmt: skip


def _trace_after(outcome: Any, hook_name: str, impls: list[Any], kwargs: dict[str, Any]) -> None:
    if outcome.exception is not None:
        print(f"[ltxflow trace] {hook_name} raised {outcome.exception!r}", file=sys.stderr)
    else:
        print(f"[ltxflow trace] {hook_name} returned {outcome.get_result()!r}", file=sys.stderr)


# ── Registries ──────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Registration:
    """One named item a plugin registered."""

    kind: str  # "engine", "preset", "filter"
    name: str
    plugin: str  # the registering plugin's name
    item: Any


def _collect(hook_name: str, kind: str, name_of: Callable[..., str]) -> dict[str, Registration]:
    """Call a register-callback hook once per plugin; refuse a name two plugins both claim."""
    manager = get_plugin_manager()
    caller = getattr(manager.hook, hook_name)
    found: dict[str, Registration] = {}
    for impl in reversed(caller.get_hookimpls()):  # registration order
        plugin = impl.plugin_name

        def register(*args: Any, _plugin: str = plugin) -> None:
            name = name_of(*args)
            item = args[-1] if len(args) > 1 else args[0]
            if name in found:
                raise PluginError(f"{kind} {name!r} registered twice: by {found[name].plugin} and by {_plugin}")
            found[name] = Registration(kind, name, _plugin, item)

        impl.function(register=register)
    return found


def engines() -> dict[str, Registration]:
    """Engine factories by name."""
    return _collect("register_engines", "engine", lambda name, factory: name)


def presets() -> dict[str, Registration]:
    """Export presets by name."""
    return _collect("register_export_presets", "preset", lambda preset: preset.name)


def template_filters() -> dict[str, Registration]:
    """Jinja template filters by name."""
    return _collect("register_template_filters", "filter", lambda name, function: name)


def describe_plugins() -> list[tuple[str, list[str]]]:
    """Every plugin with its hooks and what it registered: [(plugin name, [lines])]."""
    manager = get_plugin_manager()
    registered: dict[str, list[str]] = {}
    for registry in (engines(), presets(), template_filters()):
        for reg in registry.values():
            registered.setdefault(reg.plugin, []).append(f"{reg.kind} {reg.name}")
    out = []
    for plugin in manager.get_plugins():
        name = manager.get_name(plugin) or repr(plugin)
        hooks = sorted(caller.name for caller in manager.get_hookcallers(plugin) or [])
        out.append((name, [f"hooks: {', '.join(hooks)}", *registered.get(name, [])]))
    return sorted(out)
