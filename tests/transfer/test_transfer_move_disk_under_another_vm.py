"""A move never deletes a disk file that another VM on the source stands on (audit L H1).

The admin's story: on hv01 a colleague made the VM `exam` by hand in Hyper-V Manager, as a differencing disk
on lab-01's own disk (lab-01.vhdx), while lab-01 was off. Then lab-01 is moved to hv02. The move's last step
removes lab-01 from hv01 with its disk files; before, it deleted lab-01.vhdx with `exam` standing on it, and
`exam` could never start again. Now the plan refuses the move before anything is stopped (the facts show
`exam`'s disk on lab-01.vhdx), and where the facts do not reach (exam has a checkpoint, so its drive is one
file further up), the host's removal script walks every chain and refuses, and the move is undone.
"""

from __future__ import annotations

from pathlib import Path

from transfer_support import SHARE, Lab

FOLDER = "C:\\Users\\Public\\Documents\\Hyper-V\\Virtual Hard Disks"
LAB_01 = f"{FOLDER}\\lab-01.vhdx"
EXAM = f"{FOLDER}\\exam.vhdx"


def exam_on_lab_01(tmp_path: Path, *, checkpoint: bool = False, lab_checkpoint: bool = False) -> Lab:
    lab = Lab(tmp_path)
    lab.ok("apply", str(lab.inventory), "--limit", "hv01")
    lab.powershell("hv01", "\n".join([
        "$ErrorActionPreference = 'Stop'",
        "Stop-VM -VM (Get-VM -Name 'lab-01') -TurnOff -Force",
        f"New-VHD -Path '{EXAM}' -ParentPath '{LAB_01}' -Differencing -Confirm:$false | Out-Null",
        f"New-VM -Name 'exam' -MemoryStartupBytes 2GB -Generation 2 -VHDPath '{EXAM}' -Confirm:$false | Out-Null",
        *(["Checkpoint-VM -VM (Get-VM -Name 'exam') -SnapshotName 'before' -Confirm:$false"] if checkpoint else []),
        *(["Checkpoint-VM -VM (Get-VM -Name 'lab-01') -SnapshotName 'mine' -Confirm:$false"] if lab_checkpoint else []),
    ]))
    return lab


def test_the_move_is_refused_before_anything_is_stopped(tmp_path: Path) -> None:
    lab = exam_on_lab_01(tmp_path)

    for dry_run in (["--dry-run"], []):
        code, output = lab.orchestrate(
            "move", str(lab.inventory), "--vm", "lab-01", "--to", "hv02", "--via", SHARE, *dry_run
        )

        assert code != 0
        assert f"VM 'exam' on hv01 stands on its disk {LAB_01}" in output
        assert "nothing moved" in output
    assert lab.facts("hv02").vm("lab-01") is None
    assert lab.facts("hv01").vm("lab-01") is not None and lab.exists("hv01", LAB_01)
    assert lab.files_under("hv02", FOLDER) == []
    lab.powershell("hv01", "$ErrorActionPreference = 'Stop'\nStart-VM -VM (Get-VM -Name 'exam')")


def test_keep_source_moves_it_and_leaves_the_disk_for_exam(tmp_path: Path) -> None:
    lab = exam_on_lab_01(tmp_path)

    lab.ok("move", str(lab.inventory), "--vm", "lab-01", "--to", "hv02", "--via", SHARE, "--keep-source")

    assert lab.facts("hv02").vm("lab-01") is not None
    assert lab.exists("hv01", LAB_01)
    lab.powershell("hv01", "$ErrorActionPreference = 'Stop'\nStart-VM -VM (Get-VM -Name 'exam')")


def test_the_hosts_removal_script_refuses_what_the_facts_do_not_show(tmp_path: Path) -> None:
    lab = exam_on_lab_01(tmp_path, checkpoint=True)  # exam's drive: an .avhdx on exam.vhdx on lab-01.vhdx

    code, output = lab.orchestrate("move", str(lab.inventory), "--vm", "lab-01", "--to", "hv02", "--via", SHARE)

    assert code != 0
    assert (f"VM lab-01 was not removed: its disk {LAB_01} is part of the disk chain of VM exam" in output), output
    assert "removed the copy on hv02" in output  # the undo: the VM is hv01's again
    assert lab.facts("hv02").vm("lab-01") is None
    assert lab.facts("hv01").vm("lab-01") is not None and lab.exists("hv01", LAB_01)
    lab.powershell("hv01", "$ErrorActionPreference = 'Stop'\nStart-VM -VM (Get-VM -Name 'exam')")


def test_the_removal_script_refuses_it_for_a_lab_01_with_a_checkpoint_too(tmp_path: Path) -> None:
    """lab-01's own chain is then two files (its .avhdx and lab-01.vhdx), so the script's chain check gets an
    array for its [string[]] parameter: the simulator once bound it as one joined string (audit M H1), found no
    holder and went on to remove lab-01, where a real host refuses."""
    lab = exam_on_lab_01(tmp_path, checkpoint=True, lab_checkpoint=True)

    code, output = lab.orchestrate("move", str(lab.inventory), "--vm", "lab-01", "--to", "hv02", "--via", SHARE)

    assert code != 0
    assert (f"VM lab-01 was not removed: its disk {LAB_01} is part of the disk chain of VM exam" in output), output
    assert lab.facts("hv02").vm("lab-01") is None
    assert lab.facts("hv01").vm("lab-01") is not None and lab.exists("hv01", LAB_01)
    lab.powershell("hv01", "$ErrorActionPreference = 'Stop'\nStart-VM -VM (Get-VM -Name 'exam')")
