"""Helpers for the admin's-story pipeline tests: write an inventory, run `orchestrate`, read a simulated host."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner, Result

from orchestrator.cli import main
from orchestrator.simulator import Simulator
from orchestrator.transport.simulated import state_file

PREMIUM_IMAGE = "D:\\images\\mps2012-premium.vhdx"
STANDARD_IMAGE = "D:\\images\\mps2012-standard.vhdx"


def simulated_host(**overrides: Any) -> dict[str, Any]:
    """Host vars of a simulated 2012 R2 Hyper-V host with room for a classroom."""
    seed: dict[str, Any] = {
        "os_sku": 8,
        "os_version": "6.3.9600",
        "logical_processors": 24,
        "memory": "64GB",
        "switches": ["Classroom LAN"],
        "images": {PREMIUM_IMAGE: {"edition_sku": 77}, STANDARD_IMAGE: {"edition_sku": 76}},
    }
    seed.update(overrides)
    return {"ansible_connection": "simulator", "orchestrate_simulator": seed}


def vm(name: str, **overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": name,
        "cpus": 2,
        "memory": "4GB",
        "switch": "Classroom LAN",
        "disk": {"parent": PREMIUM_IMAGE},
        "stations": {"rdp": 4},
    }
    spec.update(overrides)
    return spec


def write_inventory(
    folder: Path, hosts: dict[str, dict[str, Any]], groups: dict[str, Any] | None = None
) -> Path:
    document: dict[str, Any] = {"all": {"hosts": hosts}}
    if groups:
        document["all"]["children"] = groups
    path = folder / "inventory.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def orchestrate(*args: str) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def json_events(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def host_state(state_dir: Path, host: str) -> dict[str, Any]:
    """The simulated host as plain data (VMs by name), read back through the simulator's own state file."""
    return Simulator(state_path=state_file(state_dir, host)).snapshot()["host"]


def vms_of(state_dir: Path, host: str) -> dict[str, dict[str, Any]]:
    return {vm["name"]: vm for vm in host_state(state_dir, host)["vms"]}
