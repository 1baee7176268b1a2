"""Helpers for the inventory tests: writing inventories, running the CLI, and ansible-core as the oracle."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from orchestrator.cli import main
from orchestrator.inventory import load_inventory
from orchestrator.inventory.listing import ansible_list
from orchestrator.model import Inventory

ANSIBLE_INVENTORY = Path(sys.executable).parent / "ansible-inventory"


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    """Write a dedented file (owner-only by default, like an inventory holding secrets should be)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    path.chmod(mode)
    return path


def load(path: Path, **kwargs: Any) -> Inventory:
    return load_inventory(path, **kwargs)


def messages(inventory: Inventory, severity: str | None = None) -> list[str]:
    return [f.format() for f in inventory.findings if severity is None or f.severity == severity]


def cli(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Any:
    """Run `orchestrate ARGS` in-process; stdout and stderr kept apart."""
    return CliRunner().invoke(main, list(args), env=env, input=input, catch_exceptions=False)


def ours(path: Path) -> dict[str, Any]:
    """Our `inventory --list` document, JSON round-tripped like the CLI prints it."""
    return json.loads(json.dumps(ansible_list(load_inventory(path))))


def ansible_view(path: Path) -> dict[str, Any]:
    """What `ansible-inventory -i PATH --list` prints, computed in-process with ansible-core's own classes."""
    from ansible import constants as C
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.vars.manager import VariableManager

    loader = DataLoader()
    inventory = InventoryManager(loader=loader, sources=[str(path)])
    variables = VariableManager(loader=loader, inventory=inventory)
    result: dict[str, Any] = {"_meta": {"hostvars": {}}}
    seen: set[str] = set()

    def walk(group: Any) -> None:
        entry: dict[str, Any] = {}
        if group.name != "all" and group.hosts:
            entry["hosts"] = [h.name for h in group.hosts]
        if group.child_groups:
            entry["children"] = [g.name for g in group.child_groups]
        if entry:
            result[group.name] = entry
        for child in group.child_groups:
            if child.name not in seen:
                seen.add(child.name)
                walk(child)

    walk(inventory.groups["all"])
    for host in inventory.get_hosts("all"):
        host_vars = variables.get_vars(host=host, include_hostvars=False, stage="all")
        for internal in C.INTERNAL_STATIC_VARS:
            host_vars.pop(internal, None)
        if host_vars:
            result["_meta"]["hostvars"][host.name] = host_vars
    return json.loads(json.dumps(result, default=str))
