"""The admin's story: the apply that sets up a new classroom is stopped on the host halfway through writing a
guest's answer file (Ctrl-C sends the host a terminate, a lost shell ends it, WinRM restarts). A killed
PowerShell runs no finally block, so the disk it had mounted stays mounted. The next apply must write the
answer file again while the VM has never started, and bring the guest to a ready server.

Before, the guest line said "setup" from before Mount-VHD on: the next run never wrote again. It started
the VM on a disk that was still mounted ("being used by another process"), or on an unwritten disk that
sat at Windows Welcome until the 45-minute wait failed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from apply_support import (
    guest_line_of,
    guest_of,
    host_failure,
    inventory,
    orchestrate,
    recap,
    seed,
    simulated,
)

from orchestrator.simulator.host.guest_disks import mounted_in_chain
from orchestrator.simulator.host.model import norm_path


def stopped_after(tmp_path: Path, change: str) -> tuple[Path, Path]:
    inv = inventory(tmp_path, [{"name": "lab-01"}])
    state = tmp_path / "state"
    simulated(state, seed()).kill_after_changes(named=change)
    stopped = orchestrate("apply", inv, "--state-dir", state, "-o", "json")
    assert stopped.exit_code == 1
    assert "the script ended on the host with exit code -1 and no report" in host_failure(stopped)
    return inv, state


def assert_ready_after_the_next_apply(inv: Path, state: Path) -> None:
    again = orchestrate("apply", inv, "--state-dir", state, "-o", "json")

    assert again.exit_code == 0, again.output
    sim = simulated(state)
    vm = sim.host.vm_by_name("lab-01")[0]
    assert vm.state == "Running"
    _run, os_state = guest_of(sim, "lab-01")
    assert os_state["computer_name"] == "LAB-01"
    assert [s.name for s in vm.snapshots.values()] == ["clean"]
    assert guest_line_of(sim, "lab-01")[:2] == ("ready", "LAB-01")
    assert recap(orchestrate("apply", inv, "--state-dir", state, "-o", "json"))["changed"] == 0


def test_stopped_with_the_disk_mounted_the_next_apply_dismounts_and_writes_again(tmp_path: Path) -> None:
    inv, state = stopped_after(tmp_path, "Mount-VHD")
    sim = simulated(state)
    vm = sim.host.vm_by_name("lab-01")[0]
    assert mounted_in_chain(sim.host, [vm.disks[0].path])  # no finally ran: still mounted on the host
    assert guest_line_of(sim, "lab-01")[:2] == ("writing", "LAB-01")

    assert_ready_after_the_next_apply(inv, state)


def test_stopped_right_after_the_guest_line_the_next_apply_writes_the_answer_file(tmp_path: Path) -> None:
    inv, state = stopped_after(tmp_path, "Set-VM lab-01")

    assert_ready_after_the_next_apply(inv, state)


@pytest.mark.parametrize("change", ["New-VM lab-01", "Set-VMProcessor", "Set-VMMemory"])
def test_stopped_between_new_vm_and_the_guest_line_the_next_apply_sets_the_guest_up(tmp_path: Path, change: str) -> None:
    """New-VM takes no -Notes, so a create stopped after it leaves a VM with no guest line. The next apply
    took it for an ordinary VM: it finished its settings, took the baseline of a disk that never booted and
    started it into Windows Welcome for good, with exit 0 (audit H). The create's marker beside its disk now
    stays until the guest line is written, and says the VM is ours and never started."""
    inv, state = stopped_after(tmp_path, change)
    sim = simulated(state)
    vm = sim.host.vm_by_name("lab-01")[0]
    assert vm.notes == "" and vm.state == "Off"
    marker = norm_path(vm.disks[0].path + ".orchestrate-new")
    assert marker in sim.host.files

    assert_ready_after_the_next_apply(inv, state)
    sim = simulated(state)
    assert sim.host.vm_by_name("lab-01")[0].cpus == 2 and marker not in sim.host.files


def test_a_vm_started_by_hand_after_a_stopped_write_is_never_written_again(tmp_path: Path) -> None:
    """Someone starts the half-prepared VM before the next run: its guest booted, so no answer file may go
    into its disk any more; the run waits and reports what the guest shows."""
    inv, state = stopped_after(tmp_path, "Dismount-VHD")  # both files written; the line still says writing
    sim = simulated(state)
    started = sim.run("Start-VM -Name 'lab-01'")
    assert started.exit_code == 0, started.stderr

    again = orchestrate("apply", inv, "--state-dir", state, "-o", "json")

    assert again.exit_code == 0, again.output  # the files were whole: setup ran from them
    assert "prepare the guest" not in again.output
    assert "writing" not in simulated(state).host.vm_by_name("lab-01")[0].notes
