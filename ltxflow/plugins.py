"""The plugin manager: built-in, installed (entry points) and local (plugins/ folder) plugins, and registries."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import sys
import traceback
from collections.abc import Callable, Mapping
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
DEFAULT_PACKAGE = "ltxflow.default_plugins"  # built-in plugins live here, registered by entry points

pm = pluggy.PluginManager("ltxflow")  # the shared manager; see new_plugin_manager() for a fresh one
pm.add_hookspecs(hookspecs)
_loaded = False


def get_plugin_manager() -> pluggy.PluginManager:
    """The plugin manager with every plugin loaded."""
    load_plugins()
    return pm


def new_plugin_manager() -> pluggy.PluginManager:
    """An empty manager that knows ltxflow's hook specs."""
    manager = pluggy.PluginManager("ltxflow")
    manager.add_hookspecs(hookspecs)
    return manager


def load_plugins(plugins_dir: Path | str | None = None) -> None:
    """Load built-in, installed and local plugins into the shared manager once; later calls do nothing."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    load_into(pm, plugins_dir, os.environ)


def load_into(manager: pluggy.PluginManager, plugins_dir: Path | str | None, env: Mapping[str, str]) -> None:
    """Register entry-point plugins (built-ins always; others allow-listed by $LTXFLOW_LOAD_PLUGINS), then plugins/."""
    if env.get(TRACE_ENV):
        manager.add_hookcall_monitoring(_trace_before, _trace_after)
    allow = _allow_list(env)
    entries = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    if not any(entry.value.startswith(f"{DEFAULT_PACKAGE}.") for entry in entries):
        raise PluginError(
            "ltxflow's built-in plugins are not registered: install the package (pip install -e .) so its "
            f"'{ENTRY_POINT_GROUP}' entry points exist"
        )
    for entry in entries:
        builtin = entry.value.startswith(f"{DEFAULT_PACKAGE}.")
        if not builtin and allow is not None and entry.name not in allow:
            continue
        try:
            module = entry.load()
        except Exception as exc:  # any error of third-party code: reported in one line, traceback kept
            raise _load_error(f"plugin {entry.name!r} ({entry.value}): failed to load: {exc}", exc, env) from exc
        if not manager.is_registered(module) and manager.get_plugin(entry.name) is None:
            manager.register(module, name=f"ltxflow.{entry.name}" if builtin else entry.name)
    folder = Path(plugins_dir or env.get(DIR_ENV) or "plugins")
    if folder.is_dir():
        for path in sorted(folder.glob("*.py")):
            if not path.name.startswith("_") and (allow is None or path.stem in allow):
                load_local_plugin(path, manager, env)


def load_local_plugin(
    path: Path, manager: pluggy.PluginManager | None = None, env: Mapping[str, str] | None = None
) -> ModuleType:
    """Import a plain module file and register it as plugin `local:<stem>` (`env`: default os.environ)."""
    manager = pm if manager is None else manager
    name = f"local:{path.stem}"
    existing = manager.get_plugin(name)
    if existing is not None:
        return existing
    spec = importlib.util.spec_from_file_location(f"ltxflow_local_plugins.{path.stem}", path)
    if spec is None or spec.loader is None:
        raise PluginError(f"{path}: cannot import local plugin")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        manager.register(module, name=name)
    except Exception as exc:  # any error of the plugin's code: reported in one line, traceback kept
        raise _load_error(f"{path}: local plugin failed to load: {type(exc).__name__}: {exc}", exc, env) from exc
    return module


def _load_error(message: str, cause: BaseException, env: Mapping[str, str] | None) -> PluginError:
    """The one-line error for a plugin that failed to load. The cause stays chained (``__cause__``) for callers
    and debuggers; with $LTXFLOW_TRACE_PLUGINS set its traceback is also printed to stderr, as the CLI shows
    only the line."""
    if (os.environ if env is None else env).get(TRACE_ENV):
        print(f"[ltxflow trace] {message}", file=sys.stderr)
        traceback.print_exception(cause, file=sys.stderr)
    return PluginError(message)


def _allow_list(env: Mapping[str, str]) -> set[str] | None:
    """Names in $LTXFLOW_LOAD_PLUGINS, or None when unset (load all)."""
    value = env.get(LOAD_ENV)
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


def _collect(
    hook_name: str, kind: str, name_of: Callable[..., str], manager: pluggy.PluginManager | None
) -> dict[str, Registration]:
    """Call a register-callback hook once per plugin; refuse a name two plugins both claim."""
    manager = get_plugin_manager() if manager is None else manager
    impls = [impl for impl in getattr(manager.hook, hook_name).get_hookimpls() if not _is_wrapper(impl)]
    found: dict[str, Registration] = {}
    for impl in impls:  # registration order (trylast first, tryfirst last)
        plugin = impl.plugin_name

        def register(*args: Any, _plugin: str = plugin) -> None:
            name = name_of(*args)
            item = args[-1] if len(args) > 1 else args[0]
            if name in found:
                raise PluginError(f"{kind} {name!r} registered twice: by {found[name].plugin} and by {_plugin}")
            found[name] = Registration(kind, name, _plugin, item)

        # One plugin at a time, through pluggy (so tracing and wrappers apply), to know who registered what.
        others = [other.plugin for other in impls if other is not impl]
        manager.subset_hook_caller(hook_name, remove_plugins=others)(register=register)
    return found


def _is_wrapper(impl: pluggy.HookImpl) -> bool:
    """A wrapper (new or old style) around a hook, which stays in every per-plugin call."""
    return bool(impl.wrapper or impl.hookwrapper)


def engines(manager: pluggy.PluginManager | None = None) -> dict[str, Registration]:
    """Engine factories by name."""
    return _collect("register_engines", "engine", lambda name, factory: name, manager)


def presets(manager: pluggy.PluginManager | None = None) -> dict[str, Registration]:
    """Export presets by name."""
    return _collect("register_export_presets", "preset", lambda preset: preset.name, manager)


def template_filters(manager: pluggy.PluginManager | None = None) -> dict[str, Registration]:
    """Jinja template filters by name."""
    return _collect("register_template_filters", "filter", lambda name, function: name, manager)


def describe_plugins(manager: pluggy.PluginManager | None = None) -> list[tuple[str, list[str]]]:
    """Every plugin with its hooks and what it registered: [(plugin name, [lines])]."""
    manager = get_plugin_manager() if manager is None else manager
    registered: dict[str, list[str]] = {}
    for registry in (engines(manager), presets(manager), template_filters(manager)):
        for reg in registry.values():
            registered.setdefault(reg.plugin, []).append(f"{reg.kind} {reg.name}")
    out = []
    for plugin in manager.get_plugins():
        name = manager.get_name(plugin) or repr(plugin)
        hooks = sorted(caller.name for caller in manager.get_hookcallers(plugin) or [])
        out.append((name, [f"hooks: {', '.join(hooks)}", *registered.get(name, [])]))
    return sorted(out)
