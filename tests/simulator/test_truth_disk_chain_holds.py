"""The simulated host guards disk chains at least as a real one does, stricter where no page says (audit L).

- A file some VM's chain names (its drive, a checkpoint's file, or any parent of either) is not deleted, whatever
  the VM's state: a real host deletes it under an Off VM, which then can never start (H1).
- Start-VM refuses a VM whose chain has lost a parent (H1; the real wording is unsourced).
- New-VHD -Differencing refuses a parent that a VM which is not Off writes to; Copy-Item and
  [System.IO.File]::Copy refuse a disk a VM which is not Off holds as its own (M1).
- [System.IO.File]::Copy reads its paths literally; Copy-Item's -Destination with [ ] * ? is refused, as
  PowerShell reads it as a pattern (PowerShell/PowerShell#12168) (L3).
- New-VM -Path refuses a folder that is not there (New-VM.md does not say it makes one) (L4).
"""

from __future__ import annotations

from simulator_support import HEADER, PREMIUM, ok, simulator

from orchestrator.simulator.host.model import norm_path

FOLDER = "C:\\VMs"
BASE = f"{FOLDER}\\golden.vhdx"
CHILD = f"{FOLDER}\\child.vhdx"


def two_vms(golden_state: str = "Off"):
    """golden on a copy of the image, child on a differencing disk on golden's own disk (made while golden is off)."""
    sim = simulator()
    ok(sim, HEADER + "\n".join([
        f"[System.IO.Directory]::CreateDirectory('{FOLDER}') | Out-Null",
        f"[System.IO.File]::Copy('{PREMIUM}', '{BASE}', $true)",
        f"New-VM -Name 'golden' -MemoryStartupBytes 1GB -VHDPath '{BASE}' -Confirm:$false | Out-Null",
        f"New-VHD -Path '{CHILD}' -ParentPath '{BASE}' -Differencing -Confirm:$false | Out-Null",
        f"New-VM -Name 'child' -MemoryStartupBytes 1GB -VHDPath '{CHILD}' -Confirm:$false | Out-Null",
        *(["Start-VM -Name 'golden'"] if golden_state == "Running" else []),
    ]))
    return sim


def test_a_parent_an_off_vm_stands_on_is_not_deleted() -> None:
    sim = two_vms()
    ok(sim, HEADER + "Remove-VM -VM (Get-VM -Name 'golden') -Force")

    result = sim.run(HEADER + f"Remove-Item -LiteralPath '{BASE}' -Force")

    assert result.exit_code != 0
    assert "disk chain of VM 'child' stands on" in result.stderr
    assert norm_path(BASE) in sim.host.files


def test_a_vm_whose_parent_is_gone_does_not_start() -> None:
    sim = two_vms()
    ok(sim, HEADER + "Remove-VM -VM (Get-VM -Name 'golden') -Force")
    sim.host.files.pop(norm_path(BASE))  # deleted outside PowerShell (Explorer, another tool)

    result = sim.run(HEADER + "Start-VM -Name 'child'")

    assert result.exit_code != 0
    assert "'child' failed to start." in result.stderr and f"its parent '{BASE}' cannot be found" in result.stderr
    assert [vm.state for vm in sim.host.vm_by_name("child")] == ["Off"]


def test_no_differencing_disk_and_no_copy_of_a_running_vms_disk() -> None:
    sim = two_vms("Running")

    diff = sim.run(HEADER + f"New-VHD -Path '{FOLDER}\\exam.vhdx' -ParentPath '{BASE}' -Differencing -Confirm:$false")
    item = sim.run(HEADER + f"Copy-Item -LiteralPath '{BASE}' -Destination '{FOLDER}\\exam.vhdx'")
    dotnet = sim.run(HEADER + f"[System.IO.File]::Copy('{BASE}', '{FOLDER}\\exam.vhdx', $true)")

    for result in (diff, item, dotnet):
        assert result.exit_code != 0
        assert "being used by another process (VM 'golden' is Running)" in result.stderr
    assert norm_path(f"{FOLDER}\\exam.vhdx") not in sim.host.files


def test_a_shared_image_under_running_vms_is_still_copied_and_built_on() -> None:
    sim = two_vms("Running")
    ok(sim, HEADER + f"New-VHD -Path '{FOLDER}\\lab.vhdx' -ParentPath '{PREMIUM}' -Differencing -Confirm:$false | Out-Null")
    ok(sim, HEADER + f"New-VM -Name 'lab' -MemoryStartupBytes 1GB -VHDPath '{FOLDER}\\lab.vhdx' -Confirm:$false | Out-Null")
    ok(sim, HEADER + "Start-VM -Name 'lab'")

    ok(sim, HEADER + f"[System.IO.File]::Copy('{PREMIUM}', '{FOLDER}\\lab-02.vhdx', $true)")
    ok(sim, HEADER + f"New-VHD -Path '{FOLDER}\\lab-03.vhdx' -ParentPath '{PREMIUM}' -Differencing -Confirm:$false | Out-Null")


def test_file_copy_is_literal_and_copy_item_destination_is_a_pattern() -> None:
    sim = simulator()
    ok(sim, HEADER + f"[System.IO.Directory]::CreateDirectory('{FOLDER}') | Out-Null")

    ok(sim, HEADER + f"[System.IO.File]::Copy('{PREMIUM}', '{FOLDER}\\lab[1].vhdx', $true)\n"
       f"[System.IO.File]::Copy('{PREMIUM}', '{FOLDER}\\lab[1].vhdx', $true)")  # overwriting is allowed
    refused = sim.run(HEADER + f"Copy-Item -LiteralPath '{PREMIUM}' -Destination '{FOLDER}\\lab[2].vhdx'")
    no_overwrite = sim.run(HEADER + f"[System.IO.File]::Copy('{PREMIUM}', '{FOLDER}\\lab[1].vhdx', $false)")
    missing = sim.run(HEADER + f"[System.IO.File]::Copy('{FOLDER}\\none.vhdx', '{FOLDER}\\x.vhdx', $true)")

    assert sim.host.files[norm_path(f"{FOLDER}\\lab[1].vhdx")].edition_sku == 77
    assert refused.exit_code != 0 and "PowerShell/PowerShell#12168" in refused.stderr
    assert norm_path(f"{FOLDER}\\lab[2].vhdx") not in sim.host.files
    assert no_overwrite.exit_code != 0 and "already exists" in no_overwrite.stderr
    assert missing.exit_code != 0 and "Could not find file" in missing.stderr


def test_new_vm_does_not_make_its_path_folder() -> None:
    sim = simulator()

    result = sim.run(HEADER + "New-VM -Name 'lab' -MemoryStartupBytes 1GB -NoVHD -Path 'E:\\VMs\\lab' -Confirm:$false")

    assert result.exit_code != 0 and "does not exist" in result.stderr
    assert sim.host.vm_by_name("lab") == []
