"""Plugins: loading, allow-list, tracing, local folder, registries, and one test per hook."""

from __future__ import annotations

import ast
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ltxflow import hookspecs, plugins
from ltxflow.campaign import load_campaign
from ltxflow.cli import cli
from ltxflow.costs import Usage
from ltxflow.errors import PluginError
from ltxflow.hookspecs import hookimpl
from ltxflow.plan import build_tasks

HOOKS = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(fn, "ltxflow_spec")]
REPO = Path(__file__).resolve().parents[2]


def test_every_hook_is_documented_and_tested():
    known = {name for name in vars(plugins.new_plugin_manager().hook) if not name.startswith("_")}
    assert set(HOOKS) == known, "hookspecs.py and what pluggy registers from it differ"
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    listed = readme.split("Hooks are declared and documented in", 1)[1].split("The built-ins", 1)[0]
    assert set(re.findall(r"`([a-z_]+)`", listed)) == known, "README's list of hooks is out of date"
    tests = {}  # test_hook_<name> functions defined in this folder's test modules
    for path in Path(__file__).parent.glob("test_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        tests.update({node.name: path.name for node in tree.body if isinstance(node, ast.FunctionDef)})
    for name in known:
        fn = getattr(hookspecs, name)
        doc = inspect.getdoc(fn) or ""
        for param in inspect.signature(fn).parameters:
            assert f":param {param}:" in doc, f"{name} does not document {param}"
        assert f"test_hook_{name}" in tests, f"no test_hook_{name}"


def test_loaded_plugins_implement_only_known_hooks(pm):
    pm.check_pending()  # a misspelled hook implementation would raise here
    names = {pm.get_name(p) for p in pm.get_plugins()}
    assert {"ltxflow.filters", "ltxflow.brand_audio", "ltxflow.costs"} <= names


def test_builtins_register_through_the_entry_point_group_like_third_party_plugins():
    import importlib.metadata

    entries = {e.name: e.value for e in importlib.metadata.entry_points(group=plugins.ENTRY_POINT_GROUP)}
    builtin = {name for name, value in entries.items() if value.startswith(plugins.DEFAULT_PACKAGE + ".")}
    assert builtin == {"ltx2", "presets", "brand_audio", "filters", "costs"}
    manager = plugins.new_plugin_manager()
    plugins.load_into(manager, None, {plugins.LOAD_ENV: ""})  # an empty allow-list still keeps the built-ins
    assert {f"ltxflow.{name}" for name in builtin} <= {manager.get_name(p) for p in manager.get_plugins()}
    assert "ltx2" in plugins.engines(manager) and "reels" in plugins.presets(manager)


def _local_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "one.py").write_text(
        "from ltxflow.hookspecs import hookimpl\n@hookimpl\ndef register_template_filters(register):\n"
        "    register('one', str.upper)\n"
    )
    (folder / "two.py").write_text(
        "from ltxflow.hookspecs import hookimpl\n@hookimpl\ndef register_template_filters(register):\n"
        "    register('two', str.lower)\n"
    )
    (folder / "_private.py").write_text("raise RuntimeError('never imported')\n")
    return folder


def test_local_folder_and_allow_list(tmp_path):
    folder = _local_folder(tmp_path)
    manager = plugins.new_plugin_manager()
    plugins.load_into(manager, folder, {})
    filters = plugins.template_filters(manager)
    assert filters["one"].plugin == "local:one" and filters["two"].plugin == "local:two"
    assert "sentence" in filters  # built-ins always load
    manager = plugins.new_plugin_manager()
    plugins.load_into(manager, folder, {plugins.LOAD_ENV: "two"})
    assert "one" not in plugins.template_filters(manager) and "two" in plugins.template_filters(manager)
    manager = plugins.new_plugin_manager()
    plugins.load_into(manager, None, {plugins.DIR_ENV: str(folder), plugins.LOAD_ENV: ""})
    assert {"one", "two"}.isdisjoint(plugins.template_filters(manager))


def test_trace_prints_hook_calls(tmp_path, capsys):
    manager = plugins.new_plugin_manager()
    plugins.load_into(manager, tmp_path, {plugins.TRACE_ENV: "1"})
    manager.hook.cost_items(task="T", usage=Usage("cpu", 36.0, 1))
    err = capsys.readouterr().err
    assert "[ltxflow trace] cost_items(task='T', usage=Usage(device='cpu'" in err
    assert "[ltxflow trace] cost_items returned [[CostItem(source='device'" in err


def test_broken_local_plugin_and_duplicate_names(tmp_path):
    folder = _local_folder(tmp_path)
    (folder / "bad.py").write_text("import nonexistent_module_xyz\n")
    with pytest.raises(PluginError, match=r"bad.py: local plugin failed to load: ModuleNotFoundError"):
        plugins.load_into(plugins.new_plugin_manager(), folder, {})
    (folder / "bad.py").write_text(
        "from ltxflow.hookspecs import hookimpl\n@hookimpl\ndef register_template_filters(register):\n"
        "    register('sentence', str.title)\n"
    )
    manager = plugins.new_plugin_manager()
    plugins.load_into(manager, folder, {})
    with pytest.raises(PluginError, match=r"filter 'sentence' registered twice: by ltxflow.filters and by local:bad"):
        plugins.template_filters(manager)


def test_broken_plugin_keeps_its_traceback_chained_and_prints_it_under_trace(tmp_path, capsys):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "bad.py").write_text("def helper():\n    raise KeyError('no such brand')\n\nhelper()\n")
    with pytest.raises(PluginError) as quiet:
        plugins.load_into(plugins.new_plugin_manager(), folder, {})
    assert isinstance(quiet.value.__cause__, KeyError) and "\n" not in str(quiet.value)
    assert capsys.readouterr().err == ""  # one line for the CLI, nothing else unless traced
    with pytest.raises(PluginError):
        plugins.load_into(plugins.new_plugin_manager(), folder, {plugins.TRACE_ENV: "1"})
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "in helper" in err and "KeyError: 'no such brand'" in err


def test_registry_hooks_run_through_pluggy_so_tracing_and_wrappers_see_them(tmp_path, capsys):
    seen = []

    class Watcher:
        @hookimpl(wrapper=True)
        def register_template_filters(self, register):
            seen.append("before")
            result = yield
            seen.append("after")
            return result

    manager = plugins.new_plugin_manager()
    plugins.load_into(manager, tmp_path, {plugins.TRACE_ENV: "1"})
    manager.register(Watcher(), name="watcher")
    filters = plugins.template_filters(manager)
    assert filters["sentence"].plugin == "ltxflow.filters"  # still attributed to the plugin that registered it
    assert seen and seen == ["before", "after"] * (len(seen) // 2)  # the wrapper wrapped every per-plugin call
    assert "[ltxflow trace] register_template_filters(register=" in capsys.readouterr().err


def test_plugins_command_lists_what_each_registered(fake_engine, fake_presets):
    result = CliRunner().invoke(cli, ["plugins"], catch_exceptions=False)
    assert result.exit_code == 0
    assert "test-fake-engine\n  hooks: register_engines\n  engine fake\n" in result.output
    assert "test-presets\n  hooks: register_export_presets\n  preset t-tall\n  preset t-wide\n" in result.output
    assert "ltxflow.filters\n  hooks: register_template_filters\n  filter sentence\n" in result.output
    assert "ltxflow.presets\n  hooks: register_export_presets\n  preset reels\n  preset shorts\n  preset tiktok\n" in result.output


# ── One test per hook (task_finished and run_finished are in test_runner.py) ──────────────────


def test_hook_register_engines(pm, fake_engine):
    registered = plugins.engines()
    assert registered["fake"].plugin == "test-fake-engine"
    engine = registered["fake"].item(plugins_settings())
    assert engine.name == "fake" and fake_engine.built == 1

    class Twin:
        @hookimpl
        def register_engines(self, register):
            register("fake", lambda settings: None)

    pm.register(Twin(), name="twin")
    try:
        with pytest.raises(PluginError, match="engine 'fake' registered twice: by test-fake-engine and by twin"):
            plugins.engines()
    finally:
        pm.unregister(name="twin")


def plugins_settings():
    from ltxflow.engines import EngineSettings

    return EngineSettings("tiny", "cpu", "float32")


def test_hook_register_export_presets(fake_presets):
    registered = plugins.presets()
    assert registered["t-tall"].plugin == "test-presets" and registered["t-wide"].item.name == "t-wide"


def test_hook_register_template_filters(pm, make_campaign):
    class Shout:
        @hookimpl
        def register_template_filters(self, register):
            register("shout", lambda text: str(text).upper() + "!")

    pm.register(Shout(), name="shout")
    try:
        folder = make_campaign(template="{{ product | shout }}")
        assert build_tasks(load_campaign(folder))[0].prompt == "RED MUG!"
    finally:
        pm.unregister(name="shout")


HELLO_PLUGIN = """import click
from ltxflow.hookspecs import hookimpl


@hookimpl
def register_commands(cli):
    @cli.command()
    def hello():
        "Say hello."
        click.echo("hello from a plugin")
"""


def test_hook_register_commands(tmp_path):
    """A plugin's command joins the real `ltxflow` group (built when the CLI is imported, in a fresh process)."""
    (tmp_path / "hello.py").write_text(HELLO_PLUGIN)
    listing = _ltxflow(tmp_path, "--help")
    assert listing.returncode == 0 and re.search(r"^  hello +Say hello\.$", listing.stdout, re.M), listing.stdout
    result = _ltxflow(tmp_path, "hello")
    assert (result.returncode, result.stdout) == (0, "hello from a plugin\n"), result.stderr


def _ltxflow(plugins_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`ltxflow ARGS` in a new process with plugins_dir as its local plugins folder."""
    env = {**os.environ, plugins.DIR_ENV: str(plugins_dir)}
    env.pop(plugins.LOAD_ENV, None)
    code = "import sys; from ltxflow.cli import cli; cli(sys.argv[1:], prog_name='ltxflow')"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env,
                          cwd=plugins_dir, timeout=120)  # fmt: skip


def test_hook_brand_audio(pm, make_campaign, toml):
    folder = make_campaign(toml(extra='[audio]\nmode = "reference"\nbrand_audio = "logo.wav"'))
    (folder / "logo.wav").write_bytes(b"RIFF-logo")
    (folder / "other.wav").write_bytes(b"RIFF-other")
    task = build_tasks(load_campaign(folder))[0]
    assert task.condition("brand_audio").path == str(folder.absolute() / "logo.wav")  # the default plugin

    class Seasonal:
        @hookimpl
        def brand_audio(self, campaign, task):
            return campaign.folder / "other.wav" if task.variant_id == "beta" else None

    pm.register(Seasonal(), name="seasonal")
    try:
        alpha, beta = build_tasks(load_campaign(folder))
    finally:
        pm.unregister(name="seasonal")
    assert alpha.condition("brand_audio").path.endswith("logo.wav")  # falls through to the default
    assert beta.condition("brand_audio").path.endswith("other.wav")  # first non-None result wins
    assert alpha.id == task.id and beta.id != alpha.id


def test_hook_cost_items(pm, make_campaign):
    task = build_tasks(load_campaign(make_campaign()))[0]
    lines = [item for items in pm.hook.cost_items(task=task, usage=Usage("NVIDIA H100 80GB", 3600.0, 1)) for item in items]
    device = [c for c in lines if c.kind == "actual"]
    assert len(device) == 1 and device[0].amount == pytest.approx(2.50)
    assert {c.source for c in lines if c.kind == "comparison"} >= {"sora", "runway-gen3", "kling"}



def test_plugin_load_error_is_reported_by_any_command(tmp_path):
    """A local plugin that raises on import: every command says so in one line with exit 2; --help still works."""
    (tmp_path / "broken.py").write_text("raise RuntimeError('boom')\n")
    result = _ltxflow(tmp_path, "plugins")
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"Error: {tmp_path / 'broken.py'}: local plugin failed to load: RuntimeError: boom\n"
    assert "Traceback" not in result.stdout + result.stderr
    assert _ltxflow(tmp_path, "--help").returncode == 0
