"""The package's import graph, read from the source (every import statement, including those inside functions
and under TYPE_CHECKING): no cycles, and the layers keep to their side.

- Only rdeploy_tui/azure/ imports the Azure SDKs (azure.*); the pipeline, the UI and the sandbox go through it
  or, for the sandbox, simulate Azure without it.
- The sandbox never imports the client's Azure layer (rdeploy_tui.azure): it must not share our client's
  assumptions. (Core never importing Textual is checked in fresh interpreters by test_import_boundaries.py.)
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "rdeploy_tui"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


_MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Every module `name` imports by an explicit statement, resolved to a module where one exists."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            for alias in node.names:  # `from pkg import module` depends on the module, `from mod import name` on mod
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in _MODULES else base)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _MODULES
    return {name: {m for m in _imports(name, path) if m in modules and m != name} for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_is_read():
    graph = _graph()
    # A reader that finds nothing would pass every check below: make sure it sees known edges.
    assert "rdeploy_tui.pipeline.plan" in graph["rdeploy_tui.pipeline.runner"]
    assert "rdeploy_tui.sandbox.arm" in graph["rdeploy_tui.sandbox.seed"]


def test_no_import_cycles():
    assert _cycles(_graph()) == []


def test_a_cycle_is_found():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _sdk_imports(path: Path) -> set[str]:
    return {m for m in _imports(_module_name(path), path) if m == "azure" or m.startswith("azure.")}


@pytest.mark.parametrize("name", sorted(n for n in _MODULES if not n.startswith("rdeploy_tui.azure")))
def test_only_the_azure_layer_imports_azure_sdks(name):
    assert _sdk_imports(_MODULES[name]) == set()


def test_the_azure_layer_does_import_sdks():
    assert _sdk_imports(PACKAGE / "azure" / "clients.py")


@pytest.mark.parametrize("name", sorted(n for n in _MODULES if n.startswith("rdeploy_tui.sandbox")))
def test_the_sandbox_never_imports_the_client_azure_layer(name):
    imported = _imports(name, _MODULES[name])
    assert not {m for m in imported if m == "rdeploy_tui.azure" or m.startswith("rdeploy_tui.azure.")}
