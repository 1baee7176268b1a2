"""The admin's story: a VM's `path` names a drive the Hyper-V host does not have (E:, on a host with C: and
D:). On a real host Join-Path and New-Item fail there ("Cannot find drive"), and the facts script itself
ended on it. The simulator made the drive instead, so the dry run said it would create the VM (audit F).
Now the host's facts ask about the drive, the run refuses that VM before any script changes anything, and
the simulated host fails on such a path as a real one does."""

from __future__ import annotations

from pathlib import Path

from pipeline_support import json_events, orchestrate, simulated_host, vm, vms_of, write_inventory

from orchestrator.simulator import Simulator


def test_a_vm_on_a_drive_the_host_lacks_is_refused_before_anything_is_made(tmp_path: Path) -> None:
    inventory = write_inventory(tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [
        vm("lab-01", path="E:\\VMs"), vm("lab-02")]}})
    state = tmp_path / "state"

    dry = orchestrate("apply", inventory, "--state-dir", state, "--dry-run", "-o", "json")
    applied = orchestrate("apply", inventory, "--state-dir", state, "-o", "json")

    for result in (dry, applied):
        assert result.exit_code != 0
        assert "the host has no drive E: for the VM's path E:\\VMs" in result.output
    assert set(vms_of(state, "hv01")) == {"lab-02"}  # the other VM is made; nothing of lab-01
    assert not any(e.get("event") == "host_done" and e.get("status") == "ok" for e in json_events(dry))


def test_the_simulated_host_has_no_drive_it_was_not_given() -> None:
    sim = Simulator(seed={"os_sku": 8, "images": {"D:\\images\\x.vhdx": {"edition_sku": 77}}})
    for script in ("Join-Path -Path 'E:\\VMs' -ChildPath 'lab.vhdx'",
                   "New-Item -ItemType Directory -Path 'E:\\VMs' -Force"):
        result = sim.run("$ErrorActionPreference = 'Stop'\n" + script)
        assert result.exit_code == 1 and "Cannot find drive. A drive with the name 'E' does not exist." in result.stderr
    created = sim.run("[System.IO.Directory]::CreateDirectory('E:\\VMs')")
    assert created.exit_code == 1 and "Could not find a part of the path 'E:\\VMs'." in created.stderr
    assert sim.run("Test-Path -LiteralPath 'E:\\'").stdout.strip() == "False"
    made = sim.run("$ErrorActionPreference = 'Stop'\n[System.IO.Directory]::CreateDirectory('D:\\VMs\\lab') | Out-Null\n"
                   "Join-Path -Path 'D:\\VMs' -ChildPath 'lab'")
    assert made.exit_code == 0 and made.stdout.strip() == "D:\\VMs\\lab"
