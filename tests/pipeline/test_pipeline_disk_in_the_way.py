"""A disk file already where a new VM's disk would go is reused only when no VM on the host uses it.

The create script reuses a disk that an interrupted run left (New-VHD done, New-VM not yet), so that the
next run finishes the work. The admin's story: a colleague renamed the VM lab-01 to lab-01-old in Hyper-V
Manager, to keep it for a week. Its disk is still `lab-01.vhdx`. The nightly apply finds no VM named
lab-01 and creates one, and before this fix it gave the new VM that same disk: a second VM booting the
first one's system drive (with a checkpoint, the base file under the first VM's .avhdx, whose chain
a write there breaks). Now the apply refuses, names the VM that holds the disk, and changes nothing.

The same for a VM removed in Hyper-V Manager (Remove-VM keeps its disks): its used system disk does not
come back as the rebuilt VM's. Only a disk with the marker a run of ours writes before it makes one (an
interrupted run) is reused, and only on the inventory's parent.
"""

from __future__ import annotations

from pathlib import Path

from pipeline_support import (
    PREMIUM_IMAGE,
    orchestrate,
    simulated_host,
    vm,
    vms_of,
    write_inventory,
)

from orchestrator.simulator import Simulator
from orchestrator.transport.simulated import state_file
from orchestrator.transport.stdin import channel

DISK = "C:\\Users\\Public\\Documents\\Hyper-V\\Virtual Hard Disks\\lab-01.vhdx"


def by_hand(state: Path, script: str) -> None:
    seed = simulated_host()["orchestrate_simulator"]  # a host not yet simulated starts as the inventory has it
    result = Simulator(state_path=state_file(state, "hv01"), seed=seed).run(*channel("$ErrorActionPreference = 'Stop'\n" + script))
    assert result.exit_code == 0, result.stderr


def rename_lab_01(tmp_path: Path, **spec: object) -> tuple[Path, Path]:
    state = tmp_path / "state"
    inventory = write_inventory(tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [vm("lab-01", **spec)]}})
    assert orchestrate("apply", inventory, "--state-dir", state).exit_code == 0
    by_hand(state, "Stop-VM -Name 'lab-01' -TurnOff -Force\nSet-VM -Name 'lab-01' -NewVMName 'lab-01-old' -Confirm:$false")
    return state, inventory


def test_a_renamed_vms_disk_is_not_given_to_the_new_vm_of_the_old_name(tmp_path: Path) -> None:
    state, inventory = rename_lab_01(tmp_path)
    old_disks = vms_of(state, "hv01")["lab-01-old"]["disks"]

    result = orchestrate("apply", inventory, "--state-dir", state)

    assert result.exit_code == 1
    assert f"the disk {DISK} that VM lab-01 would use belongs to VM lab-01-old" in result.output
    vms = vms_of(state, "hv01")
    assert sorted(vms) == ["lab-01-old"]  # nothing created
    assert vms["lab-01-old"]["disks"] == old_disks


def test_the_base_disk_under_a_checkpoint_of_a_renamed_vm_is_not_taken_either(tmp_path: Path) -> None:
    state, inventory = rename_lab_01(tmp_path, checkpoints={"baseline": "clean"})
    old = vms_of(state, "hv01")["lab-01-old"]
    assert old["disks"][0]["path"].endswith(".avhdx")  # lab-01.vhdx is only the checkpoint's parent now

    result = orchestrate("apply", inventory, "--state-dir", state)

    assert result.exit_code == 1
    assert f"the disk {DISK} that VM lab-01 would use belongs to VM lab-01-old" in result.output
    assert sorted(vms_of(state, "hv01")) == ["lab-01-old"]


def test_a_dry_run_shows_the_refusal_before_the_night(tmp_path: Path) -> None:
    state, inventory = rename_lab_01(tmp_path)

    result = orchestrate("plan", inventory, "--state-dir", state)

    assert result.exit_code == 1
    assert "belongs to VM lab-01-old" in result.output
    assert sorted(vms_of(state, "hv01")) == ["lab-01-old"]


def removed_by_hand(tmp_path: Path) -> tuple[Path, Path]:
    """lab-01 applied, then removed in Hyper-V Manager (Remove-VM keeps its disks)."""
    state = tmp_path / "state"
    inventory = write_inventory(tmp_path, {"hv01": {**simulated_host(), "multipoint_vms": [vm("lab-01")]}})
    assert orchestrate("apply", inventory, "--state-dir", state).exit_code == 0
    by_hand(state, "$v = Get-VM -Name 'lab-01'\nStop-VM -VM $v -TurnOff -Force\nRemove-VM -VM $v -Force -Confirm:$false")
    return state, inventory


def test_a_disk_a_vm_removed_by_hand_left_is_not_given_to_the_new_vm(tmp_path: Path) -> None:
    """The admin removed the broken lab-01 in Hyper-V Manager so that the nightly apply rebuilds it. Remove-VM
    keeps the disks: the used lab-01.vhdx must not come back as the new VM's system disk."""
    state, inventory = removed_by_hand(tmp_path)

    result = orchestrate("apply", inventory, "--state-dir", state)

    assert result.exit_code == 1
    assert f"a disk {DISK} is already there, and no run of orchestrate left it half-made" in result.output
    assert "delete or move that file for lab-01 to start afresh" in result.output
    assert vms_of(state, "hv01") == {}


NEWER_IMAGE = "D:\\images\\mps2012-premium-spring.vhdx"


def two_images() -> dict:
    host = simulated_host()
    host["orchestrate_simulator"]["images"][NEWER_IMAGE] = {"edition_sku": 77}
    return host


def stopped_after_new_vhd(tmp_path: Path, parent: str) -> tuple[Path, Path]:
    state = tmp_path / "state"
    inventory = write_inventory(tmp_path, {"hv01": {**two_images(), "multipoint_vms": [
        vm("lab-01", disk={"parent": parent})]}})
    Simulator(state_path=state_file(state, "hv01"), seed=two_images()["orchestrate_simulator"]).kill_after_changes(
        named="New-VHD")
    stopped = orchestrate("apply", inventory, "--state-dir", state)
    assert "the script ended on the host with exit code -1" in stopped.output  # between New-VHD and New-VM
    return state, inventory


def test_a_disk_an_interrupted_run_left_is_reused(tmp_path: Path) -> None:
    state, inventory = stopped_after_new_vhd(tmp_path, PREMIUM_IMAGE)

    result = orchestrate("apply", inventory, "--state-dir", state)

    assert result.exit_code == 0, result.output
    assert [disk["path"] for disk in vms_of(state, "hv01")["lab-01"]["disks"]] == [DISK]
    files = Simulator(state_path=state_file(state, "hv01")).host.files
    assert not any(path.endswith(".orchestrate-new") for path in files)  # the marker goes once New-VM holds it


def test_a_leftover_disk_on_another_parent_is_not_reused(tmp_path: Path) -> None:
    """An interrupted run left a differencing disk on the spring image; the inventory went back to the
    autumn one before the next run."""
    state, _ = stopped_after_new_vhd(tmp_path, NEWER_IMAGE)
    autumn = write_inventory(tmp_path, {"hv01": {**two_images(), "multipoint_vms": [vm("lab-01")]}})

    result = orchestrate("apply", autumn, "--state-dir", state)

    assert result.exit_code == 1
    assert f"the disk {DISK} is already there on the parent {NEWER_IMAGE}, not {PREMIUM_IMAGE}" in result.output
    assert vms_of(state, "hv01") == {}


def test_a_dry_run_shows_it_also_for_the_base_disk_under_a_checkpoint(tmp_path: Path) -> None:
    state, inventory = rename_lab_01(tmp_path, checkpoints={"baseline": "clean"})

    result = orchestrate("plan", inventory, "--state-dir", state)

    assert result.exit_code == 1
    assert "belongs to VM lab-01-old" in result.output


def test_a_dry_run_shows_a_removed_vms_disk_in_the_way_and_passes_an_interrupted_runs(tmp_path: Path) -> None:
    """The facts list a file where a missing VM's disk goes, so the evening's plan says what the night's apply
    will refuse, and still passes what it will reuse."""
    state, inventory = removed_by_hand(tmp_path)

    refused = orchestrate("plan", inventory, "--state-dir", state)

    assert refused.exit_code == 1
    assert f"a disk {DISK} is already there, and no run of orchestrate left it half-made" in refused.output

    (tmp_path / "interrupted").mkdir()
    interrupted, again = stopped_after_new_vhd(tmp_path / "interrupted", PREMIUM_IMAGE)
    planned = orchestrate("plan", again, "--state-dir", interrupted)
    assert planned.exit_code == 0, planned.output
    assert "preflight ok" in planned.output
