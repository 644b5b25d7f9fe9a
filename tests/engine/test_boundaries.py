"""The engine is a library: nothing under ltxflow/engine imports the workflow, a Task becomes an engine request in
the ltx2 plugin alone, that plugin imports torch only when an engine is built, and the model holds no acceleration.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import ltxflow

PACKAGE = Path(ltxflow.__file__).resolve().parent
ENGINE = PACKAGE / "engine"
ALLOWED = ("ltxflow.engine", "ltxflow.clip", "ltxflow.errors")  # the engine itself and the shared leaf types
ACCELERATION = re.compile(r"\btorch\.compile\b|\btorch\._dynamo\b|\b_scaled_mm\b|\bregister_forward(?:_pre)?_hook\b"
                          r"|\bCUDAGraph\b|\b_compiled_call_impl\b|\b_parameters\b|\bsdpa_kernel\b|\bfloat8")


def package_of(path: Path) -> str:
    """The dotted package a module file of ltxflow belongs to."""
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])


def imported_modules(source: str, package: str) -> list[tuple[int, str]]:
    """(line, module) of every import in a module of `package`, function-level and relative ones included."""
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # from .x import y, relative to this file's package
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            found.append((node.lineno, base))
    return found


def test_no_engine_module_imports_the_workflow():
    modules = sorted(ENGINE.rglob("*.py"))
    assert len(modules) > 50  # the walk sees the whole engine
    bad = [f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}"
           for path in modules for line, name in imported_modules(path.read_text(encoding="utf-8"), package_of(path))
           if (name == "ltxflow" or name.startswith("ltxflow.")) and not name.startswith(ALLOWED)]
    assert bad == []


def test_the_walk_finds_workflow_imports_wherever_they_are():
    """The checker itself: a plain, a relative and two function-level imports, resolved to absolute names."""
    source = ("import ltxflow.tasks\nfrom ..conditioning import items\n\ndef f():\n"
              "    from ltxflow.media import read_audio\n    from ... import runner\n")
    names = [name for _, name in imported_modules(source, "ltxflow.engine.pipelines")]
    assert names == ["ltxflow.tasks", "ltxflow.engine.conditioning", "ltxflow.media", "ltxflow"]


def test_only_the_ltx2_plugin_turns_a_task_into_an_engine_request():
    builders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        builders += [str(path.relative_to(PACKAGE)) for node in ast.walk(tree) if isinstance(node, ast.Call)
                     and getattr(node.func, "id", getattr(node.func, "attr", None)) == "GenerationRequest"]
    assert builders == ["default_plugins/ltx2/request.py"]


def test_the_ltx2_plugin_imports_torch_only_when_an_engine_is_built():
    code = ("import sys, ltxflow.default_plugins.ltx2 as p\n"
            "assert 'torch' not in sys.modules, 'imported torch'\n"
            "assert callable(p.register_engines)\n"
            "p.LTX2Engine\n"  # the engine class is reachable, and importing it is what brings torch
            "assert 'torch' in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_transformer_package_holds_no_acceleration():
    found = [f"{path.name}: {hit}" for path in sorted((ENGINE / "transformer").glob("*.py"))
             for hit in ACCELERATION.findall(path.read_text(encoding="utf-8"))]
    assert found == []
    assert ACCELERATION.findall((ENGINE / "accel" / "apply.py").read_text(encoding="utf-8"))  # the pattern bites
