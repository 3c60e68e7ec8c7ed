"""The guardrails package has no import circle (issue 19 named shell_commands/shell_detect)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest_opsladder.guardrails as guardrails

PACKAGE = "pytest_opsladder.guardrails"


def imports() -> dict[str, set[str]]:
    """Module -> the package's modules it imports at module level or in functions."""
    graph: dict[str, set[str]] = {}
    for path in Path(guardrails.__file__).parent.glob("*.py"):
        name = path.stem
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module.startswith(PACKAGE + "."):
                    found.add(node.module.split(".")[2])
                elif node.module == PACKAGE:
                    found |= {alias.name for alias in node.names}
        graph[name] = found - {name}
    return graph


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        stack.append(name)
        for child in sorted(graph.get(name, ())):
            if state.get(child) == 1:
                return [*stack[stack.index(child) :], child]
            if child in graph and child not in state:
                found = visit(child)
                if found:
                    return found
        stack.pop()
        state[name] = 2
        return None

    for name in sorted(graph):
        if name not in state and name != "__init__":
            found = visit(name)
            if found:
                return found
    return None


def test_no_module_of_the_guardrails_package_imports_itself_back() -> None:
    graph = imports()
    assert "shell_detect" in graph["policy"]
    assert cycle(graph) is None
