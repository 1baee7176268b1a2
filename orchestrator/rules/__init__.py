"""The MultiPoint rules: pure functions from the typed model to findings (no I/O, no host needed).

`check_inventory` is what load_inventory already runs; call it yourself only on a model you built by hand.
The rules come from multipoint-facts.md (editions, stations, seats, sizing floor) plus what keeps names,
guests' answer-file values (rules/guest.py), schedules and connections valid; each finding points at the line that set the offending value.
"""

from __future__ import annotations

from orchestrator.model import Finding, HostSpec, Inventory, Location
from orchestrator.rules.connection import check_connection, check_endpoints
from orchestrator.rules.findings import finding
from orchestrator.rules.guest import check_computer_names, check_guests
from orchestrator.rules.schedules import check_schedules
from orchestrator.rules.vms import check_vm, check_vms

__all__ = ["check_host", "check_inventory", "check_vm"]


def check_host(host: HostSpec) -> list[Finding]:
    """Every rule for one host: connection, VMs, their guests, schedules."""
    return [*check_connection(host), *check_vms(host), *check_guests(host), *check_schedules(host)]


def check_inventory(inventory: Inventory) -> list[Finding]:
    """Every rule over the whole typed inventory."""
    findings: list[Finding] = []
    if not inventory.hosts and not inventory.hostvars:
        findings.append(
            finding(
                "error",
                "the inventory defines no host",
                "add hosts under all: hosts: (see inventories/demo.yaml)",
                Location(inventory.path),
            )
        )
    for host in inventory.hosts.values():
        findings.extend(check_host(host))
    findings.extend(check_endpoints(inventory.hosts.values()))
    findings.extend(check_computer_names(inventory.hosts.values()))
    return findings
