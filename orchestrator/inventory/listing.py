"""The resolved inventory in the JSON shape of `ansible-inventory --list` / `--host`, secrets masked.

Admins use this to see why a host got a value, so it shows the variables as defined (an env lookup stays
`{{ lookup('env', 'NAME') }}`), never an invented default, and never a secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator.model import Inventory, Secret


def plain(value: Any) -> Any:
    """A JSON-ready copy: Secret masked, tracked containers as plain dict/list, other scalars as text."""
    if isinstance(value, Secret):
        return Secret.MASK
    if isinstance(value, Mapping):
        return {(k if isinstance(k, str) else _key(k)): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _key(key: Any) -> str:
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


def ansible_list(inventory: Inventory) -> dict[str, Any]:
    """`ansible-inventory --list`: `_meta.hostvars`, then each group with its hosts and children."""
    result: dict[str, Any] = {"_meta": {"hostvars": {}}}
    seen: set[str] = set()

    def walk(name: str) -> None:
        group = inventory.groups[name]
        entry: dict[str, Any] = {}
        if name != "all" and group.hosts:
            entry["hosts"] = list(group.hosts)
        if group.children:
            entry["children"] = list(group.children)
        if entry:
            result[name] = entry
        for child in group.children:
            if child not in seen:
                seen.add(child)
                walk(child)

    if "all" in inventory.groups:
        walk("all")
    for host, variables in inventory.hostvars.items():
        if variables:
            result["_meta"]["hostvars"][host] = plain(variables)
    return result


def ansible_host(inventory: Inventory, name: str) -> dict[str, Any] | None:
    """`ansible-inventory --host NAME`: that host's effective variables, or None for an unknown host."""
    if name not in inventory.hostvars:
        return None
    return plain(inventory.hostvars[name])


def ansible_graph(inventory: Inventory, start: str = "all") -> list[str] | None:
    """`ansible-inventory --graph [GROUP]` lines (ansible/cli/inventory.py _graph_group): a group's child
    groups first, then its hosts (none shown under `all`), each level indented by `  |`; a group under
    several parents appears under each. None when `start` is not a group."""
    if start not in inventory.groups:
        return None
    lines: list[str] = []

    def name(text: str, depth: int) -> str:
        return "  |" * depth + "--" + text if depth else text

    def walk(group_name: str, depth: int) -> None:
        group = inventory.groups[group_name]
        lines.append(name(f"@{group_name}:", depth))
        for child in group.children:
            walk(child, depth + 1)
        if group_name != "all":
            lines.extend(name(host, depth + 1) for host in group.hosts)

    walk(start, 0)
    return lines
