"""The admin's story: the school's Hyper-V host gives a mounted virtual disk no drive letter by itself
(automount is off, `mountvol /N`, as on many clustered or SAN-attached hosts; or the image's partition has
NoDefaultDriveLetter; or the letter comes late). No page says when Mount-VHD's letters come, or that they
come at all (Mount-VHD.md only has -NoDriveLetter, "without assigning drive letters to the volumes").

Before, the answer-file step looked for \\Windows\\System32 under each partition's drive letter right after
Mount-VHD: on such a host every apply failed with "holds no Windows partition (is its parent a sysprepped
image?)" and left the VM `writing`, for good. The simulator always gave a letter, so nothing showed it
(audit K H1). Now the disk is mounted with -NoDriveLetter and each partition that can hold Windows is given
an access path at an empty folder in the state folder (Add-PartitionAccessPath.md: "a path to an empty
directory on an NTFS volume"), which is taken away again before the disk is dismounted, also after a run that
was cut off halfway."""

from __future__ import annotations

from pathlib import Path

import pytest
from apply_support import (
    PREMIUM,
    guest_line_of,
    guest_of,
    has_answer_file,
    host_failure,
    inventory,
    orchestrate,
    recap,
    seed,
    simulated,
)
from sim_support import HEADER

from orchestrator.actions import GUEST_MOUNT_FOLDER
from orchestrator.simulator import Simulator
from orchestrator.simulator.host.guest_disks import mounted_in_chain
from orchestrator.simulator.host.model import norm_path


def left_under_the_mount_folder(sim: Simulator) -> list[str]:
    """What is still on the host under the folder the guest disks are mounted at (files, folders)."""
    prefix = norm_path(GUEST_MOUNT_FOLDER) + "\\"
    return sorted(e.path for k, e in sim.host.files.items() if k.startswith(prefix))


def mounted_disks(sim: Simulator) -> list[str]:
    return sorted(e.path for e in sim.host.files.values() if e.mounted is not None)


def assert_a_ready_server_and_nothing_left(inv: Path, state: Path) -> None:
    sim = simulated(state)
    vm = sim.host.vm_by_name("lab-01")[0]
    assert vm.state == "Running"
    _run, os_state = guest_of(sim, "lab-01")
    assert os_state["computer_name"] == "LAB-01"
    assert guest_line_of(sim, "lab-01")[:2] == ("ready", "LAB-01")
    assert [s.name for s in vm.snapshots.values()] == ["clean"]
    assert mounted_disks(sim) == []
    assert left_under_the_mount_folder(sim) == []
    assert recap(orchestrate("apply", inv, "--state-dir", state, "-o", "json"))["changed"] == 0


@pytest.mark.parametrize("os_version", ["6.2.9200", "6.3.9600"])
def test_a_host_that_gives_mounted_disks_no_drive_letter_still_sets_up_its_guests(
    tmp_path: Path, os_version: str
) -> None:
    generation = {"generation": 1} if os_version.startswith("6.2") else {}
    inv = inventory(tmp_path, [{"name": "lab-01", **generation}],
                    host_seed=seed(os_version=os_version, automount=False))
    state = tmp_path / "state"

    applied = orchestrate("apply", inv, "--state-dir", state, "-o", "json")

    assert applied.exit_code == 0, applied.output
    assert_a_ready_server_and_nothing_left(inv, state)


@pytest.mark.parametrize("change", [
    "Add-PartitionAccessPath",  # the Windows partition mounted at its folder, nothing written yet
    f"Set-Content {GUEST_MOUNT_FOLDER}",  # the answer file written through the folder
    "Remove-PartitionAccessPath",  # the folder unmounted, the disk still mounted, the folder still there
])
def test_a_run_cut_off_with_the_disk_mounted_at_a_folder_is_cleaned_up_by_the_next(
    tmp_path: Path, change: str
) -> None:
    inv = inventory(tmp_path, [{"name": "lab-01"}], host_seed=seed(automount=False))
    state = tmp_path / "state"
    simulated(state, seed(automount=False)).kill_after_changes(named=change)
    stopped = orchestrate("apply", inv, "--state-dir", state, "-o", "json")
    assert stopped.exit_code == 1
    assert "the script ended on the host with exit code -1 and no report" in host_failure(stopped)
    sim = simulated(state)
    vm = sim.host.vm_by_name("lab-01")[0]
    assert mounted_in_chain(sim.host, [vm.disks[0].path])  # no finally ran
    assert left_under_the_mount_folder(sim)  # its folder (and, mounted, the guest's files through it)

    again = orchestrate("apply", inv, "--state-dir", state, "-o", "json")

    assert again.exit_code == 0, again.output
    assert_a_ready_server_and_nothing_left(inv, state)


def test_a_disk_without_windows_is_refused_as_such_with_nothing_written(tmp_path: Path) -> None:
    """An image whose partitions all mount but none holds \\Windows\\System32 (here: its Windows folder was
    deleted) says so, not that a partition could not be mounted."""
    inv = inventory(tmp_path, [{"name": "lab-01"}])
    state = tmp_path / "state"
    image = simulated(state, seed())
    emptied = image.run(HEADER + "\n".join([
        f"$disk = Mount-VHD -Path '{PREMIUM}' -NoDriveLetter -Passthru -Confirm:$false",
        "$null = New-Item -ItemType Directory -Path 'C:\\mnt' -Force",
        "Add-PartitionAccessPath -DiskNumber $disk.DiskNumber -PartitionNumber 4 -AccessPath 'C:\\mnt' -Confirm:$false",
        "Remove-Item -LiteralPath 'C:\\mnt\\Windows' -Recurse -Confirm:$false",
        "Remove-PartitionAccessPath -DiskNumber $disk.DiskNumber -PartitionNumber 4 -AccessPath 'C:\\mnt' -Confirm:$false",
        f"Dismount-VHD -Path '{PREMIUM}' -Confirm:$false",
    ]))
    assert emptied.exit_code == 0, emptied.stderr

    applied = orchestrate("apply", inv, "--state-dir", state, "-o", "json")

    assert applied.exit_code == 1
    error = host_failure(applied)
    assert "no \\Windows\\System32 on any partition of the disk of VM lab-01" in error
    assert "nothing was written" in error
    sim = simulated(state)
    assert not has_answer_file(sim, "lab-01")
    assert mounted_disks(sim) == [] and left_under_the_mount_folder(sim) == []
