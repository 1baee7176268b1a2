"""A script killed on the host (Stop-Process, the WinRM service's terminate) keeps what it changed, runs no
finally block and no catch, ends with exit code -1, and closes its handles: what the next run finds there."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.simulator import Simulator

SEED = {"os_version": "6.3", "switches": ["LAN"]}
SCRIPT = """
$ErrorActionPreference = 'Stop'
try {
    New-VMSwitch -Name 'first' -SwitchType Internal -Confirm:$false | Out-Null
    New-VMSwitch -Name 'second' -SwitchType Internal -Confirm:$false | Out-Null
    New-VMSwitch -Name 'third' -SwitchType Internal -Confirm:$false | Out-Null
} catch {
    New-VMSwitch -Name 'caught' -SwitchType Internal -Confirm:$false | Out-Null
} finally {
    New-VMSwitch -Name 'finally' -SwitchType Internal -Confirm:$false | Out-Null
}
"""


def test_a_script_killed_after_its_second_change_keeps_two_and_runs_no_finally(tmp_path: Path) -> None:
    sim = Simulator(state_path=tmp_path / "hv01.json", seed=SEED)
    sim.kill_after_changes(2)

    killed = sim.run(SCRIPT)

    assert killed.exit_code == -1 and killed.stderr == ""
    assert Simulator(state_path=tmp_path / "hv01.json").host.switches == ["LAN", "first", "second"]
    whole = Simulator(state_path=tmp_path / "hv01.json").run(SCRIPT.replace("'first'", "'fourth'")
                                                             .replace("'second'", "'fifth'")
                                                             .replace("'third'", "'sixth'"))
    assert whole.exit_code == 0, whole.stderr  # the kill fired once: the next script runs whole


def test_a_kill_by_name_waits_for_that_change_and_a_script_without_it_runs_whole(tmp_path: Path) -> None:
    sim = Simulator(state_path=tmp_path / "hv01.json", seed=SEED)
    sim.kill_after_changes(named="New-VMSwitch second")

    assert sim.run(SCRIPT).exit_code == -1
    assert Simulator(state_path=tmp_path / "hv01.json").host.switches == ["LAN", "first", "second"]

    sim.kill_after_changes(named="Remove-VM")
    assert sim.run("New-VMSwitch -Name 'other' -SwitchType Internal -Confirm:$false | Out-Null").exit_code == 0
    assert sim.run("New-VMSwitch -Name 'later' -SwitchType Internal -Confirm:$false | Out-Null").exit_code == 0


def test_a_killed_script_lets_go_of_its_files(tmp_path: Path) -> None:
    sim = Simulator(state_path=tmp_path / "hv01.json", seed=SEED)
    sim.kill_after_changes(named="New-VMSwitch first")
    held = "$f = [System.IO.File]::Open('C:\\\\held.txt', 'OpenOrCreate', 'ReadWrite', 'None')\n"

    assert sim.run(held + "New-VMSwitch -Name 'first' -SwitchType Internal -Confirm:$false | Out-Null").exit_code == -1
    assert sim.run(held + "$f.Close()").exit_code == 0  # its handle went with the killed process


@pytest.mark.parametrize("bad", [{}, {"changes": 0}, {"changes": 1, "named": "Set-VM"}, {"named": ""}])
def test_a_kill_needs_one_clear_point(tmp_path: Path, bad: dict) -> None:
    with pytest.raises(ValueError):
        Simulator(state_path=tmp_path / "hv01.json", seed=SEED).kill_after_changes(**bad)


def test_a_copy_killed_halfway_leaves_a_torn_file_that_no_disk_cmdlet_takes(tmp_path: Path) -> None:
    sim = Simulator(state_path=tmp_path / "hv01.json", seed={**SEED, "images": {"D:\\master.vhdx": {"edition_sku": 77}},
                                                            "folders": ["D:\\vms"]})
    sim.kill_after_changes(named="Copy-Item")

    assert sim.run("Copy-Item -LiteralPath 'D:\\master.vhdx' -Destination 'D:\\vms\\lab.vhdx'").exit_code == -1

    for script in ("Get-VHD -Path 'D:\\vms\\lab.vhdx'",
                   "New-VM -Name 'lab' -VHDPath 'D:\\vms\\lab.vhdx' -Confirm:$false",
                   "New-VHD -Path 'D:\\vms\\child.vhdx' -ParentPath 'D:\\vms\\lab.vhdx' -Differencing -Confirm:$false"):
        result = sim.run("$ErrorActionPreference = 'Stop'\n" + script)
        assert result.exit_code == 1 and "corrupted and unreadable" in result.stderr, script


def test_rename_item_renames_a_file_in_its_folder_and_refuses_what_it_cannot(tmp_path: Path) -> None:
    sim = Simulator(state_path=tmp_path / "hv01.json", seed={**SEED, "folders": ["D:\\vms"]})
    assert sim.run("New-Item -Path 'D:\\vms\\a.txt' -ItemType File -Value 'x' | Out-Null\n"
                   "New-Item -Path 'D:\\vms\\b.txt' -ItemType File -Value 'y' | Out-Null").exit_code == 0

    taken = sim.run("$ErrorActionPreference = 'Stop'\nRename-Item -LiteralPath 'D:\\vms\\a.txt' -NewName 'b.txt' -Confirm:$false")
    a_path = sim.run("$ErrorActionPreference = 'Stop'\nRename-Item -LiteralPath 'D:\\vms\\a.txt' -NewName 'E:\\c.txt' -Confirm:$false")
    prompt = sim.run("$ErrorActionPreference = 'Stop'\nRename-Item -LiteralPath 'D:\\vms\\a.txt' -NewName 'c.txt'")
    renamed = sim.run("Rename-Item -LiteralPath 'D:\\vms\\a.txt' -NewName 'c.txt' -Confirm:$false\n"
                      "Test-Path -LiteralPath 'D:\\vms\\a.txt'; Get-Content -LiteralPath 'D:\\vms\\c.txt' -Raw")

    assert "Cannot create a file when that file already exists." in taken.stderr
    assert "represents a path or device name" in a_path.stderr
    assert "NonInteractive mode" in prompt.stderr  # its ConfirmImpact is on no page: High, as unknown ones are
    assert renamed.exit_code == 0 and renamed.stdout.split() == ["False", "x"]
