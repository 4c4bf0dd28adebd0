"""The SDK's modules import each other without cycles.

A cycle hidden behind a function-level import (``training`` importing ``spool``
inside a method while ``spool`` imports ``training``) still couples the two
modules; every import counts here, at module level or in a function, except
those under ``if TYPE_CHECKING:``.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_nodes(tree: ast.AST) -> set[ast.AST]:
    skip: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(ast.walk(node))
    return skip


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module → the floe modules it imports (a name imported from a package
    counts as its submodule when it is one)."""
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_checking_nodes(tree)
        deps: set[str] = set()
        for node in ast.walk(tree):
            if node in skip:
                continue
            if isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name in modules)
            elif isinstance(node, ast.ImportFrom) and node.module in modules:
                for a in node.names:
                    sub = f"{node.module}.{a.name}"
                    deps.add(sub if sub in modules else node.module)
        graph[name] = deps - {name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        path.append(n)
        for d in sorted(graph.get(n, ())):
            if state.get(d) == 1:
                return path[path.index(d) :] + [d]
            if d not in state and (found := visit(d)):
                return found
        path.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state and (found := visit(n)):
            return found
    return None


def test_no_import_cycles():
    modules = {
        _module_name(p): p
        for p in SRC.joinpath("floe").rglob("*.py")
        if "_pb2" not in p.name
    }
    graph = _imports(modules)
    # The package inits import their submodules to re-export them; a submodule
    # importing its own package's init would be the cycle, and shows here.
    assert "floe.spool" in graph and "floe.training" in graph
    assert "floe.training" not in graph["floe.spool"]
    assert _cycle(graph) is None, " → ".join(_cycle(graph) or [])


def test_the_detector_sees_a_hidden_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert _cycle(graph) == ["a", "b", "c", "a"]
