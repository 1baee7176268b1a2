"""The simulated host's Storage cmdlets for a mounted guest disk, as their pages describe them, or stricter
(orchestrator/simulator/host/guest_disks.py cites the pages): a host that gives a mounted disk no drive letter
by itself (seed `automount: false`), and Add-PartitionAccessPath / Remove-PartitionAccessPath with a folder
(docset/winserver2012-ps/storage/Add-PartitionAccessPath.md: "a path to an empty directory on an NTFS
volume"). Audit K H1: before, every simulated Mount-VHD gave the Windows partition a letter at once, which no
page promises, so a script that relied on it passed the simulator and could fail on a host."""

from __future__ import annotations

import json

import pytest
from sim_support import HEADER, prepare, simulator
from sim_support import PREMIUM as SIM_PREMIUM

from orchestrator.simulator import Simulator
from orchestrator.simulator.host.guest import volume_of
from orchestrator.simulator.host.model import norm_path


def test_the_old_way_of_finding_windows_by_its_drive_letter_fails_on_such_a_host() -> None:
    """The simulator is as strict as such a host: a plain Mount-VHD gives no letter there, so the script that
    looked for the letter (tests/guest/sim_support.prepare, the old template's way) finds no Windows."""
    gives_letters = simulator()
    assert gives_letters.run(HEADER + prepare("lab-01", None, None)).exit_code == 0
    no_letters = simulator(automount=False)

    result = no_letters.run(HEADER + prepare("lab-01", None, None))

    assert result.exit_code == 1 and "the disk holds no Windows partition" in result.stderr


def mounted(sim: Simulator, path: str = SIM_PREMIUM) -> int:
    out = sim.run(HEADER + f"(Mount-VHD -Path '{path}' -NoDriveLetter -Passthru -Confirm:$false).DiskNumber")
    assert out.exit_code == 0, out.stderr
    return int(out.stdout.strip())


def test_an_access_path_shows_the_partitions_files_and_writes_them_back_when_removed() -> None:
    sim = simulator(automount=False)
    disk = mounted(sim)
    script = "\n".join([
        "$null = New-Item -ItemType Directory -Path 'C:\\mnt\\w' -Force",
        f"Add-PartitionAccessPath -DiskNumber {disk} -PartitionNumber 4 -AccessPath 'C:\\mnt\\w' -Confirm:$false",
        f"$paths = @((Get-Partition -DiskNumber {disk} -PartitionNumber 4).AccessPaths)",
        "$seen = Test-Path -LiteralPath 'C:\\mnt\\w\\Windows\\System32'",
        "Set-Content -LiteralPath 'C:\\mnt\\w\\Windows\\note.txt' -Value 'written through the folder' -Confirm:$false",
        f"Remove-PartitionAccessPath -DiskNumber {disk} -PartitionNumber 4 -AccessPath 'C:\\mnt\\w\\' -Confirm:$false",
        "@{ paths = $paths; seen = $seen; after = @(Get-ChildItem -LiteralPath 'C:\\mnt\\w' -Force).Count;"
        " letter = [string](Get-Partition -DiskNumber " + str(disk) + " -PartitionNumber 4).DriveLetter }"
        " | ConvertTo-Json -Compress",
        f"Dismount-VHD -Path '{SIM_PREMIUM}' -Confirm:$false",
    ])
    result = sim.run(HEADER + script)
    assert result.exit_code == 0, result.stderr

    doc = json.loads(result.stdout)
    assert "C:\\mnt\\w\\" in doc["paths"] and any(p.startswith("\\\\?\\Volume{") for p in doc["paths"])
    assert doc["seen"] is True and doc["after"] == 0 and doc["letter"] == ""
    volume = volume_of(sim.host, SIM_PREMIUM)
    assert volume is not None
    assert volume["files"][norm_path("\\Windows\\note.txt")]["text"].startswith("written through the folder")


@pytest.mark.parametrize(("setup", "call", "message"), [
    ("", "Add-PartitionAccessPath -DiskNumber {d} -PartitionNumber 4 -AccessPath 'C:\\nowhere'",
     "The access path is not valid."),
    ("$null = New-Item -ItemType Directory -Path 'C:\\mnt' -Force\n"
     "Set-Content -LiteralPath 'C:\\mnt\\x.txt' -Value 'x' -Confirm:$false",
     "Add-PartitionAccessPath -DiskNumber {d} -PartitionNumber 4 -AccessPath 'C:\\mnt'", "not an empty folder"),
    ("$null = New-Item -ItemType Directory -Path 'C:\\mnt' -Force",
     "Add-PartitionAccessPath -DiskNumber {d} -PartitionNumber 1 -AccessPath 'C:\\mnt'", "Not Supported"),
    ("$null = New-Item -ItemType Directory -Path 'C:\\mnt' -Force",
     "Add-PartitionAccessPath -DiskNumber {d} -PartitionNumber 9 -AccessPath 'C:\\mnt'",
     "No MSFT_Partition objects found with property 'PartitionNumber' equal to '9'"),
    ("$null = New-Item -ItemType Directory -Path 'C:\\mnt' -Force",
     "Remove-PartitionAccessPath -DiskNumber {d} -PartitionNumber 4 -AccessPath 'C:\\mnt'",
     "The access path is not valid."),
    ("$null = New-Item -ItemType Directory -Path 'C:\\mnt' -Force\n"
     "Add-PartitionAccessPath -DiskNumber {d} -PartitionNumber 4 -AccessPath 'C:\\mnt' -Confirm:$false",
     "Dismount-VHD -Path '" + SIM_PREMIUM + "'", "is still mounted at the folder"),
    ("$null = New-Item -ItemType Directory -Path 'C:\\mnt' -Force\n"
     "Add-PartitionAccessPath -DiskNumber {d} -PartitionNumber 4 -AccessPath 'C:\\mnt' -Confirm:$false\n"
     "$null = New-Item -ItemType Directory -Path 'C:\\mnt2' -Force",
     "Add-PartitionAccessPath -DiskNumber {d} -PartitionNumber 4 -AccessPath 'C:\\mnt'",
     "The requested access path is already in use."),
])
def test_access_paths_are_refused_as_the_pages_say_or_stricter(setup: str, call: str, message: str) -> None:
    sim = simulator(automount=False)
    disk = mounted(sim)
    if setup:
        ready = sim.run(HEADER + setup.format(d=disk))
        assert ready.exit_code == 0, ready.stderr

    result = sim.run(HEADER + call.format(d=disk) + " -Confirm:$false")

    assert result.exit_code == 1 and message in result.stderr, result.stderr
