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
    return ansible_view_many([path])


def ours_many(sources: list[Path], **kwargs: Any) -> dict[str, Any]:
    """Our `inventory --list` document for several sources (Ansible's repeated -i)."""
    return json.loads(json.dumps(ansible_list(load_inventory([str(s) for s in sources], **kwargs))))


def ansible_env(tmp_path: Path) -> dict[str, str]:
    """An environment for a real ansible-core subprocess that reads and writes only under tmp_path."""
    import os

    home = tmp_path / ".ansible-oracle"
    home.mkdir(exist_ok=True)
    config = home / "ansible.cfg"
    config.write_text("[defaults]\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(
        ANSIBLE_CONFIG=str(config),
        ANSIBLE_HOME=str(home),
        ANSIBLE_LOCAL_TEMP=str(home / "tmp"),
        ANSIBLE_INVENTORY_UNPARSED_FAILED="true",  # a source Ansible cannot read fails the oracle loudly
        ANSIBLE_NOCOLOR="1",
        HOME=str(home),
    )
    return env


def ansible_inventory(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """stdout of the real `ansible-inventory ARGS` (no network, config and caches under tmp_path)."""
    import subprocess

    completed = subprocess.run(
        [str(ANSIBLE_INVENTORY), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
        env={**ansible_env(tmp_path), **(env or {})},
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def ansible_list_of(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """`ansible-inventory ARGS --list` as a document, without its profiling key."""
    document = json.loads(ansible_inventory(tmp_path, *args, "--list", env=env))
    document["_meta"].pop("profile", None)
    return document


def ansible_view_many(sources: list[Path], vault_password: str | None = None) -> dict[str, Any]:
    """ansible_view for several sources, optionally with one vault password (in-process, for hypothesis)."""
    from ansible import constants as C
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.parsing.vault import VaultSecret
    from ansible.vars.manager import VariableManager

    loader = DataLoader()
    if vault_password is not None:
        loader.set_vault_secrets([("default", VaultSecret(vault_password.encode()))])
    inventory = InventoryManager(loader=loader, sources=[str(s) for s in sources])
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


def masked(document: Any, secrets: set[str]) -> Any:
    """`document` with every string equal to one of `secrets` replaced by the mask (as our listing shows it)."""
    if isinstance(document, dict):
        return {k: masked(v, secrets) for k, v in document.items()}
    if isinstance(document, list):
        return [masked(v, secrets) for v in document]
    if isinstance(document, str) and document in secrets:
        return "********"
    return document
