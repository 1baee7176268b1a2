"""Shared helpers for the simulator tests: a seeded host and small assertions over script results."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from orchestrator.simulator import RunResult, Simulator

PREMIUM = "D:\\images\\mps-premium.vhdx"
STANDARD = "D:\\images\\mps-standard.vhdx"
PREMIUM_ISO = "D:\\iso\\mps-premium.iso"
FIXED_NOW = datetime(2026, 11, 25, 1, 0, 0, tzinfo=UTC)

SEED_63: dict[str, Any] = {
    "os_sku": 8,
    "os_version": "6.3",
    "logical_processors": 16,
    "memory": "32GB",
    "switches": ["LAN", "Classroom"],
    "images": {PREMIUM: {"edition_sku": 77}, STANDARD: {"edition_sku": 76}, PREMIUM_ISO: {"edition_sku": 77}},
    "shares": {"\\\\nas\\exports": {"free": "2TB"}},
    "free_disk": "1TB",
}

HEADER = "$ErrorActionPreference = 'Stop'\n$ProgressPreference = 'SilentlyContinue'\n"
# What the product's bootstrap sets before any script runs, so that Start-Job works in a shell of code page
# 65001 (orchestrator/transport/stdin.py; tests/simulator/test_truth_console_encoding.py): for tests that run
# a job script directly rather than through `channel`.
NO_BOM_INPUT = "[Console]::InputEncoding = New-Object System.Text.UTF8Encoding $false\n"


def simulator(**overrides: Any) -> Simulator:
    seed = {**SEED_63, **overrides}
    return Simulator(seed=seed, now=lambda: FIXED_NOW)


def ok(sim: Simulator, script: str, stdin: str = "") -> RunResult:
    """Run a script that must succeed; show its stderr when it does not."""
    result = sim.run(script, stdin)
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result


def fails(sim: Simulator, script: str) -> RunResult:
    result = sim.run(script)
    assert result.exit_code != 0, f"expected a failure\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result


def lines(result: RunResult) -> list[str]:
    return [line for line in result.stdout.splitlines() if line]


def last_json(result: RunResult) -> Any:
    return json.loads(lines(result)[-1])


def value(sim: Simulator, expression: str, setup: str = "") -> Any:
    """The JSON value of one PowerShell expression (rendered with ConvertTo-Json -Compress)."""
    result = ok(sim, f"{setup}\nConvertTo-Json -InputObject ({expression}) -Compress -Depth 8")
    return last_json(result)


CREATE_VM = (
    HEADER
    + """
New-VHD -Confirm:$false -Path 'C:\\VMs\\{name}.vhdx' -ParentPath '{parent}' -Differencing | Out-Null
New-VM -Confirm:$false -Name '{name}' -MemoryStartupBytes {memory} -Generation 2 -VHDPath 'C:\\VMs\\{name}.vhdx' -SwitchName 'LAN' | Out-Null
Set-VMProcessor -Confirm:$false -VMName '{name}' -Count {cpus}
"""
)


def create_vm(
    sim: Simulator, name: str = "lab-01", *, parent: str = PREMIUM, memory: str = "4GB", cpus: int = 2
) -> None:
    ok(sim, HEADER + "New-Item -ItemType Directory -Path 'C:\\VMs' -Force | Out-Null")
    ok(sim, CREATE_VM.format(name=name, parent=parent, memory=memory, cpus=cpus))
