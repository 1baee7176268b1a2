"""The simulated host guards disk chains at least as a real one does, stricter where no page says (audit L).

- [System.IO.File]::Copy reads its paths literally; Copy-Item's -Destination with [ ] * ? is refused, as
  PowerShell reads it as a pattern (PowerShell/PowerShell#12168) (L3).
- New-VM -Path refuses a folder that is not there (New-VM.md does not say it makes one) (L4).
"""

from __future__ import annotations

from simulator_support import HEADER, PREMIUM, ok, simulator

from orchestrator.simulator.host.model import norm_path

FOLDER = "C:\\VMs"


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
