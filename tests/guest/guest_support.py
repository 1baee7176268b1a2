"""Helpers for the guest tests: inventories with a `guest` key, and a model guest for rule tests."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from pathlib import Path
from typing import Any

from orchestrator.inventory import load_inventory
from orchestrator.model import Connection, DiskSpec, GuestSpec, HostSpec, Inventory, Location, Secret, VMSpec

GB = 1024**3
PASSWORD = "Pa55-w0rd!<&>'\"]]>é"
ENV = {"MP_ADMIN_PASSWORD": PASSWORD, "JOIN_PASSWORD": "j0in&<secret>"}


def inventory_file(tmp_path: Path, guest_yaml: str, *, vms: str | None = None, mode: int = 0o600) -> Path:
    """A one-host simulated inventory whose VMs (lab-01 and lab-02 unless `vms` says) share `guest_yaml`
    as multipoint_vm_defaults' guest. `vms` is YAML at the host's level (multipoint_vms: ... or
    multipoint_classrooms: ...)."""
    guest = textwrap.indent(textwrap.dedent(guest_yaml).strip("\n"), " " * 10)
    hosts_vms = textwrap.indent(textwrap.dedent(vms or DEFAULT_VMS).strip("\n"), " " * 6)
    text = (
        "all:\n"
        "  hosts:\n"
        "    hv01:\n"
        "      ansible_connection: simulator\n"
        "      multipoint_vm_defaults:\n"
        "        cpus: 2\n"
        "        memory: 4GB\n"
        "        disk: {parent: 'D:\\images\\premium.vhdx'}\n"
        "        guest:\n"
        f"{guest}\n"
        f"{hosts_vms}\n"
    )
    path = tmp_path / "inventory.yaml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


DEFAULT_VMS = """
multipoint_vms:
  - name: lab-01
  - name: lab-02
"""


def load(path: Path, environ: dict[str, str] | None = None) -> Inventory:
    return load_inventory(path, environ=ENV if environ is None else environ)


def errors(inventory: Inventory) -> list[str]:
    return [f.format() for f in inventory.findings if f.is_error]


def model_vm(name: str = "lab-01", **guest: Any) -> VMSpec:
    spec = GuestSpec(admin_password=Secret(PASSWORD), location=Location("inv.yaml", 12, 9))
    return VMSpec(name=name, cpus=2, memory=4 * GB, disk=DiskSpec(kind="parent", source="D:\\p.vhdx"),
                  guest=replace(spec, **guest), location=Location("inv.yaml", 10, 5))


def model_host(*vms: VMSpec) -> HostSpec:
    return HostSpec(name="hv01", connection=Connection(kind="simulator"), vms=tuple(vms))
