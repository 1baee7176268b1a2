"""Test inventories built twice: as an Ansible YAML file (for ansible-core, the oracle) and as model objects."""

from __future__ import annotations

import os
import random
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from orchestrator.model import Connection, Group, HostSpec, Inventory


@dataclass(frozen=True)
class Layout:
    """Hosts in inventory order; groups as name -> (direct hosts, child groups); hosts listed under all.hosts."""

    hosts: tuple[str, ...]
    groups: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]

    def to_yaml(self) -> str:
        children = {
            name: {
                **({"hosts": {h: None for h in hosts}} if hosts else {}),
                **({"children": {c: None for c in kids}} if kids else {}),
            }
            or None
            for name, (hosts, kids) in self.groups.items()
        }
        document: dict = {"all": {}}
        # Every host is declared once under all.hosts first, so Ansible's host order is our inventory order.
        document["all"]["hosts"] = {h: None for h in self.hosts}
        if children:
            document["all"]["children"] = children
        return yaml.safe_dump(document, sort_keys=False)

    def to_model(self, path: str, *, with_all_group: bool = False) -> Inventory:
        memberships: dict[str, list[str]] = {h: [] for h in self.hosts}
        for name, (hosts, _) in self.groups.items():
            for h in hosts:
                memberships[h].append(name)
        hosts = {
            h: HostSpec(name=h, connection=Connection(kind="simulator"), groups=tuple(memberships[h]))
            for h in self.hosts
        }
        groups = {name: Group(name, hosts=hs, children=kids) for name, (hs, kids) in self.groups.items()}
        if with_all_group:
            groups = {"all": Group("all", hosts=self.hosts, children=tuple(self.groups)), **groups}
        return Inventory(path=path, hosts=hosts, groups=groups, hostvars={})


HOST_POOL = (
    "hv1", "hv2", "hv10", "hv-lab", "lab-a", "lab-b", "lab-c1", "room1-pc", "room2-pc",
    "web.school.local", "db1", "ungrouped", "alpha", "backup_hv",
)  # fmt: skip
GROUP_POOL = ("classroom_a", "classroom_b", "lab", "hyperv", "web", "backup", "all_rooms", "db1", "hv")


def random_layout(seed: int) -> Layout:
    """A DAG of groups (a group's children come later in the pool, so no cycles) over a random host subset."""
    rng = random.Random(seed)
    hosts = tuple(rng.sample(HOST_POOL, rng.randint(5, len(HOST_POOL))))
    group_names = rng.sample(GROUP_POOL, rng.randint(2, len(GROUP_POOL)))
    # A group named like a host makes Ansible warn and is exercised in a fixed test, not here.
    group_names = [g for g in group_names if g not in hosts]
    groups = {}
    for i, name in enumerate(group_names):
        members = tuple(h for h in hosts if rng.random() < 0.3)
        later = group_names[i + 1 :]
        kids = tuple(rng.sample(later, min(len(later), rng.randint(0, 2))))
        groups[name] = (members, kids)
    return Layout(hosts, groups)


@cache
def oracle_for(layout_key: str, yaml_text: str):
    """ansible-core's InventoryManager over the YAML text (one per layout, cached across hypothesis examples)."""
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader

    # The folder is removed as soon as ansible-core has parsed it: the manager keeps the parsed inventory.
    with tempfile.TemporaryDirectory(prefix=f"patterns-{layout_key}-") as folder:
        path = Path(folder) / "inventory.yaml"
        path.write_text(yaml_text)
        os.environ.setdefault("ANSIBLE_LOCALHOST_WARNING", "False")
        return InventoryManager(loader=DataLoader(), sources=[str(path)])


def oracle_hosts(layout_key: str, layout: Layout, pattern: str) -> set[str]:
    manager = oracle_for(layout_key, layout.to_yaml())
    manager.clear_pattern_cache()
    return {h.name for h in manager.get_hosts(pattern)}
