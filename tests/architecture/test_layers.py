"""The layout holds: data flows cli -> runner -> operations -> core -> transport, with no import circle.

Read from the source (every import statement, function-level ones included; only `if TYPE_CHECKING:`
blocks are left out, since they never run), so a new module cannot quietly bend the arrows.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import orchestrator

PACKAGE = Path(orchestrator.__file__).parent
UPPER_ROOMS = ("orchestrator.operations", "orchestrator.runner", "orchestrator.cli")


@cache
def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for child in node.body for n in ast.walk(child))
    return (node for node in ast.walk(tree) if id(node) not in skipped)


@cache
def imports() -> dict[str, frozenset[str]]:
    """module -> the product modules it imports (`from pkg import submodule` counts as the submodule)."""
    known = modules()
    graph: dict[str, frozenset[str]] = {}
    for name, path in known.items():
        targets: set[str] = set()
        for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("orchestrator"):
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    targets.add(full if full in known else node.module)
            elif isinstance(node, ast.Import):
                targets.update(a.name for a in node.names if a.name.startswith("orchestrator"))
        graph[name] = frozenset(t for t in targets if t in known and t != name)
    return graph


def _cycles(graph: dict[str, frozenset[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
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


def _room(name: str) -> str | None:
    return next((room for room in UPPER_ROOMS if name == room or name.startswith(room + ".")), None)


def test_the_checker_sees_function_level_imports_and_circles() -> None:
    graph = {"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset({"a"}), "d": frozenset({"a"})}
    assert _cycles(graph) == [["a", "b", "c"]]
    # orchestrator.cli.output imports the inventory loader inside a function: it is still an edge.
    assert "orchestrator.inventory" in imports()["orchestrator.cli.output"]


def test_no_module_of_the_product_takes_part_in_an_import_circle() -> None:
    assert _cycles(imports()) == []


def test_core_leaves_never_import_operations_runner_or_cli() -> None:
    offenders = {
        name: sorted(t for t in targets if _room(t))
        for name, targets in imports().items()
        if _room(name) is None and any(_room(t) for t in targets)
    }
    assert offenders == {}


def test_data_flows_one_way_between_the_upper_rooms() -> None:
    """operations never import runner or cli; runner never imports cli."""
    order = {room: rank for rank, room in enumerate(UPPER_ROOMS)}
    backwards = {
        name: sorted(t for t in targets if _room(t) and order[_room(t)] > order[_room(name)])  # type: ignore[index]
        for name, targets in imports().items()
        if _room(name)
    }
    assert {name: ts for name, ts in backwards.items() if ts} == {}


def test_the_cli_reaches_journal_locks_and_transport_only_to_read_history() -> None:
    side_effects = ("orchestrator.journal", "orchestrator.locks", "orchestrator.transport")
    users = {
        name
        for name, targets in imports().items()
        if _room(name) == "orchestrator.cli" and any(t.startswith(side_effects) for t in targets)
    }
    assert users <= {"orchestrator.cli.history"}
