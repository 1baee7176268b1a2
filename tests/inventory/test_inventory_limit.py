"""`--limit` selects the hosts Ansible selects, evaluated once, for every command that runs on hosts.

Given a lab group of simulated Hyper-V hosts (and, in a mixed fleet, a Linux host in the same group), when
the admin runs `orchestrate plan INVENTORY --limit 'lab[1:2]'`, then the run covers exactly the hosts
`ansible-playbook --limit 'lab[1:2]'` would, minus the hosts that are not ours: ansible-core's
InventoryManager.subset() is the oracle. A subscript is not idempotent, so evaluating the pattern a second
time over the already narrowed hosts (as the CLI once did) ran on the wrong hosts.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inventory_support import cli, write

LAB = """
    all:
      vars: {ansible_connection: simulator}
      children:
        lab:
          hosts:
            hv01: {orchestrate_retry: {}}
            web01: {ansible_connection: ssh}
            hv02: {orchestrate_retry: {}}
            hv03: {orchestrate_retry: {}}
            hv04: {orchestrate_retry: {}}
"""
OURS = ("hv01", "hv02", "hv03", "hv04")


def ansible_selects(inventory: Path, pattern: str) -> list[str]:
    """The hosts ansible-core runs on for `--limit pattern` (subset(), then the play's `all`)."""
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader

    manager = InventoryManager(loader=DataLoader(), sources=[str(inventory)])
    manager.subset(pattern)
    return [host.name for host in manager.get_hosts("all")]


def planned_hosts(inventory: Path, state: Path, *args: str) -> tuple[int, list[str], str]:
    """Run `orchestrate plan` with JSON output; the exit code, the hosts of its recap, and its stderr."""
    result = cli("plan", str(inventory), "--state-dir", str(state), "-o", "json", *args)
    recaps = [json.loads(line) for line in result.stdout.splitlines() if '"event": "recap"' in line]
    hosts = sorted(recaps[-1].get("hosts", {})) if recaps else []
    return result.exit_code, hosts, result.stderr


@pytest.mark.parametrize("pattern", ["lab[1:2]", "lab[1:]", "lab[2]", "lab[0]", "lab[-1]", "lab[0:1]"])
def test_plan_with_a_subscripted_limit_runs_on_the_hosts_ansible_selects(tmp_path: Path, pattern: str) -> None:
    inventory = write(tmp_path / "lab.yaml", LAB)
    expected = sorted(h for h in ansible_selects(inventory, pattern) if h in OURS)
    code, hosts, stderr = planned_hosts(inventory, tmp_path / "state", "--limit", pattern)
    assert (code, hosts) == (0, expected), stderr


def test_a_subscript_that_selects_only_a_host_not_ours_is_refused(tmp_path: Path) -> None:
    """lab[1] is web01 for Ansible (an ssh host): nothing of ours to run on, and never hv02 instead."""
    inventory = write(tmp_path / "lab.yaml", LAB)
    assert ansible_selects(inventory, "lab[1]") == ["web01"]
    code, hosts, stderr = planned_hosts(inventory, tmp_path / "state", "--limit", "lab[1]")
    assert code == 2 and hosts == []
    assert "--limit 'lab[1]': host pattern 'lab[1]' matches no host" in stderr


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    start=st.integers(0, 4),
    length=st.one_of(st.none(), st.integers(0, 4)),
    extra=st.sampled_from(["", ",!hv03", ":&hv0*", ",web01"]),
)
def test_any_subscripted_limit_agrees_with_ansible_core(start: int, length: int | None, extra: str) -> None:
    """Any in-range subscript (single, range, open range), alone or combined with other terms."""
    subscript = f"[{start}]" if length is None else f"[{start}:{start + length if length else ''}]"
    pattern = f"lab{subscript}{extra}"
    with tempfile.TemporaryDirectory() as folder:  # hypothesis: a fresh folder per example
        base = Path(folder)
        inventory = write(base / "lab.yaml", LAB)
        expected = sorted(h for h in ansible_selects(inventory, pattern) if h in OURS)
        code, hosts, stderr = planned_hosts(inventory, base / "state", "--limit", pattern)
        if expected:
            assert (code, hosts) == (0, expected), (pattern, stderr)
        else:
            assert code == 2 and "matches no host" in stderr, (pattern, stderr)


def test_ping_with_a_subscripted_limit_checks_the_hosts_ansible_selects(tmp_path: Path) -> None:
    inventory = write(tmp_path / "lab.yaml", LAB)
    result = cli("ping", str(inventory), "--limit", "lab[2:3]", "--state-dir", str(tmp_path / "s"), "-o", "json")
    pinged: list[Any] = [json.loads(line)["host"] for line in result.stdout.splitlines() if '"event": "ping"' in line]
    assert sorted(pinged) == sorted(h for h in ansible_selects(inventory, "lab[2:3]") if h in OURS)
