"""The config tree keeps its private state to itself, and ``config/`` has no import cycle.

Read from the source with ``ast``: every private attribute that ``config/`` gives configs,
fields and their values (``_storage``, ``_fields``, ``_selection``...) is read only inside
``config/``; the modules of ``config/`` import each other without a cycle (imports inside
functions count; ``if TYPE_CHECKING`` blocks, which never run, do not) and import neither
the Butler nor the runner.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "core" / "pipetask" / "config"
SOURCES = ["core", "plugins", "obs_packages", "examples", "benchmarks"]


def _privateNames() -> set[str]:
    """Private attributes that config/ sets on objects or defines as methods."""
    names: set[str] = set()
    for path in CONFIG.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.FunctionDef):
                names.add(node.name)
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "__setattr__"
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
            ):
                names.add(node.args[1].value)
    return {n for n in names if isinstance(n, str) and n.startswith("_") and not n.startswith("__")}


def test_no_module_outside_config_reads_private_config_state():
    private = _privateNames()
    assert {"_storage", "_fields", "_history", "_selection", "_assign"} <= private
    found = []
    for top in SOURCES:
        for path in (ROOT / top).rglob("*.py"):
            if CONFIG in path.parents or ".venv" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Attribute)
                    and node.attr in private
                    and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
                ):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: .{node.attr}")
    assert found == []


def _runtimeImports(path: Path) -> set[str]:
    """Modules of config/ that ``path`` imports when it runs (relative imports)."""
    tree = ast.parse(path.read_text())
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped or not isinstance(node, ast.ImportFrom) or node.level != 1:
            continue
        if node.module:
            imported.add(node.module.split(".")[0])
        else:
            imported.update(alias.name for alias in node.names)
    return imported


def test_config_package_has_no_import_cycle():
    modules = {p.stem: p for p in CONFIG.glob("*.py") if p.stem != "__init__"}
    graph = {name: _runtimeImports(path) & set(modules) for name, path in modules.items()}
    assert graph["config"] and "toml_io" in graph["config"]  # the check sees real imports
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for dep in sorted(graph[name]):
            assert state.get(dep) != "open", "import cycle: " + " -> ".join([*trail, name, dep])
            if dep not in state:
                visit(dep, [*trail, name])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [])


def test_config_imports_neither_butler_nor_runner():
    found = []
    for path in CONFIG.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 2 and node.module:
                top = node.module.split(".")
                if top[0] in ("runner", "execute", "setup", "execution", "cli") or (
                    top[0] == "butler" and top[1:] != ["atomic"]
                ):
                    found.append(f"{path.name}:{node.lineno}: {node.module}")
    assert found == []
