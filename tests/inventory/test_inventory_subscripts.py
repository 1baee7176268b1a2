"""`--limit 'group[0]'`, `group[1:3]`, `group[-1]` pick the hosts Ansible picks for that group.

Given a school inventory whose rooms nest (a site with buildings, a building with rooms, a room's hosts listed
in their own order, a host in two rooms, hosts defined in another order than the groups list them), when the
admin limits a run to a subscripted group, then the hosts selected are those ansible-core's
InventoryManager.get_hosts selects for the same pattern: Ansible's order for a group (its own hosts, then its
children's, breadth first), not the order the hosts were first written in the file. (Where Ansible walks a
level reached through several parents it iterates a set, so its choice is not stable between runs; the
inventories here keep one parent per level.)
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from inventory_support import load, write


def ansible_hosts(path: Path, pattern: str) -> set[str] | None:
    """The hosts ansible-core selects for `pattern`, or None when it selects none or refuses the subscript
    (a limit that selects nothing is an error of ours, on purpose: orchestrator/patterns.py)."""
    from ansible.errors import AnsibleError
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader

    manager = InventoryManager(loader=DataLoader(), sources=[str(path)])
    try:
        return {host.name for host in manager.get_hosts(pattern)} or None
    except AnsibleError:
        return None


def ours(path: Path, pattern: str) -> set[str] | None:
    inventory = load(path, limit=pattern)
    selection = inventory.selection
    assert selection is not None
    if selection.error is not None:
        return None
    return set(selection.hosts)


SCHOOL = """\
all:
  hosts:
    admin-pc:
  children:
    site:
      hosts:
        site-printer:
      children:
        north:
          children:
            room1:
              hosts: {pc-b: , pc-a: }
            room2:
              hosts: {pc-d: , pc-c: , pc-a: }
        south:
          hosts: {south-nas: , pc-z: , pc-e: }
    early:
      hosts: {pc-z: , pc-c: }
"""


@pytest.mark.parametrize(
    "pattern",
    [
        "site[0]", "site[1]", "site[2]", "site[3]", "site[-1]", "site[1:3]", "site[4:]", "site[0:20]",
        "north[0]", "north[1:2]", "north[-1]", "room2[0]", "room2[2]", "south[0]", "south[1:]", "site[5]", "site[6:7]",
        "all[0]", "all[1]", "all[-1]", "all[2:4]", "ungrouped[0]", "room*[0]", "room*[2:4]", "room*[-1]",
        "*o*[3]", "site[1],early[0]", "site[0:1]:!pc-b", "site[9]",
    ],
)  # fmt: skip
def test_subscripts_pick_the_hosts_ansible_picks(tmp_path: Path, pattern: str) -> None:
    inventory = write(tmp_path / "school.yml", SCHOOL)
    assert ours(inventory, pattern) == ansible_hosts(inventory, pattern)


@st.composite
def trees(draw: Any) -> str:
    """Up to three levels of groups under `site`, each level's children added by one parent only (where
    Ansible's own walk is deterministic), with hosts shared between groups and listed in any order."""
    names = [f"h{n}" for n in range(draw(st.integers(1, 8)))]
    lines = ["all:", "  children:", "    site:"]
    depth, indent = draw(st.integers(1, 3)), "      "
    for level in range(depth):
        hosts = draw(st.lists(st.sampled_from(names), unique=True, max_size=4))
        if hosts:
            lines.append(f"{indent}hosts: {{{', '.join(h + ': ' for h in hosts)}}}")
        if level == depth - 1:
            break
        lines.append(f"{indent}children:")
        siblings = draw(st.integers(1, 3))
        for sibling in range(1, siblings):  # leaves: hosts only
            leaf = draw(st.lists(st.sampled_from(names), unique=True, max_size=3))
            lines.append(f"{indent}  leaf{level}{sibling}:")
            if leaf:
                lines.append(f"{indent}    hosts: {{{', '.join(h + ': ' for h in leaf)}}}")
        lines.append(f"{indent}  level{level + 1}:")
        indent += "    "
    return "\n".join(lines) + "\n"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees(), st.sampled_from(["site", "level1", "level2", "all", "leaf*", "level*"]), st.integers(-3, 6), st.integers(0, 6))
def test_subscripts_on_nested_groups_match_ansible(text: str, group: str, start: int, length: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        inventory = write(Path(folder) / "inventory.yml", text)
        assume(group.rstrip("*") in text)
        for pattern in (f"{group}[{start}]", f"{group}[{abs(start)}:{abs(start) + length}]"):
            assert ours(inventory, pattern) == ansible_hosts(inventory, pattern), (pattern, text)
