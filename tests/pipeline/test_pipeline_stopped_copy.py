"""The admin's story: a VM's disk is a copy of a 40 GB master (`disk: {copy_from: ...}`), and the apply is
stopped on the host in the middle of the copy (Ctrl-C sends a terminate, the shell is lost). Copy-Item
writes its target as it goes, so a half-written file stays behind. The next apply must not give the VM
that file: it copies again, and the VM gets the whole disk.

Before, the copy went straight to `<VM>.vhdx`, and the next run took the torn file for a disk an
interrupted run had left and reused it (on a real host, possibly booting a guest from garbage). Now the
copy is made as `<VM>.vhdx.copying` and renamed once whole. The copy is [System.IO.File]::Copy, whose paths
are literal: Copy-Item's -Destination would read the [ ] of a VM's name as a pattern (PowerShell/PowerShell#12168)."""

from __future__ import annotations

from pathlib import Path

from pipeline_support import PREMIUM_IMAGE, orchestrate, simulated_host, vm, vms_of, write_inventory

from orchestrator.simulator import Simulator
from orchestrator.transport.simulated import state_file


def test_a_copy_stopped_halfway_is_copied_again_and_never_becomes_the_vms_disk(tmp_path: Path) -> None:
    state = tmp_path / "state"
    host = simulated_host()
    inventory = write_inventory(tmp_path, {"hv01": {**host, "multipoint_vms": [
        vm("lab-01", disk={"copy_from": PREMIUM_IMAGE})]}})
    Simulator(state_path=state_file(state, "hv01"), seed=host["orchestrate_simulator"]).kill_after_changes(
        named="File.Copy")

    stopped = orchestrate("apply", inventory, "--state-dir", state)

    assert stopped.exit_code == 1
    assert "the script ended on the host with exit code -1 and no report" in stopped.output
    files = Simulator(state_path=state_file(state, "hv01")).host.files
    assert [entry.path.rsplit("\\", 1)[1] for entry in files.values() if entry.torn] == ["lab-01.vhdx.copying"]
    assert not any(entry.path.endswith("\\lab-01.vhdx") for entry in files.values())  # never under the disk's name

    again = orchestrate("apply", inventory, "--state-dir", state)

    assert again.exit_code == 0, again.output
    (disk,) = vms_of(state, "hv01")["lab-01"]["disks"]
    entry = Simulator(state_path=state_file(state, "hv01")).host.files[disk["path"].lower()]
    assert disk["path"].endswith("\\lab-01.vhdx") and not entry.torn
    assert not any(path.endswith(".copying") for path in Simulator(state_path=state_file(state, "hv01")).host.files)


def test_a_vm_whose_name_holds_brackets_gets_its_copy(tmp_path: Path) -> None:
    """Before, Copy-Item -Destination got `lab-[02].vhdx.copying`, which PowerShell reads as a pattern (audit L
    L3); the simulator refuses that as the stricter reading."""
    state = tmp_path / "state"
    inventory = write_inventory(tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [
        vm("lab-[02]", disk={"copy_from": PREMIUM_IMAGE})]}})

    result = orchestrate("apply", inventory, "--state-dir", state)

    assert result.exit_code == 0, result.output
    (disk,) = vms_of(state, "hv01")["lab-[02]"]["disks"]
    assert disk["path"].endswith("\\lab-[02].vhdx")
    entry = Simulator(state_path=state_file(state, "hv01")).host.files[disk["path"].lower()]
    assert entry.edition_sku == 77 and not entry.torn
