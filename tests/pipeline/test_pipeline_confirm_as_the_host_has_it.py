"""Audit L, M2: `-Confirm:$false` on Set-VMMemory, Set-VMProcessor and Set-VMDvdDrive is the host's answer.

Their 2012 pages' SYNTAX lists no -Confirm (MicrosoftDocs/windows-powershell-docs docset/winserver2012-ps/
hyper-v/Set-VMMemory.md, Set-VMProcessor.md, Set-VMDvdDrive.md), while the shipped data infers that 2012 has
it as 2012 R2 does. Only the host's own Get-Command can say, and the facts record it. Given a 2012 host whose
Set-VMMemory (or Set-VMProcessor) lacks -Confirm, the admin previews and applies a classroom VM and then
resizes it: the script passes no -Confirm there, the dry run agrees, and the VM ends as the inventory says. A
host whose cmdlets have -Confirm gets -Confirm:$false, as before.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pipeline_support import json_events, orchestrate, simulated_host, vm, vms_of, write_inventory

from orchestrator.simulator import Simulator

GB = 1024**3


def _inventory(folder: Path, lacking: dict[str, list[str]] | None, **vm_overrides: Any) -> Path:
    host = simulated_host(os_version="6.2.9200", **({"cmdlets_without": lacking} if lacking else {}))
    host["multipoint_vms"] = [vm("lab-01", generation=1, **vm_overrides)]
    return write_inventory(folder, {"hv01": host})


def _calls(result: Any, cmdlet: str) -> list[str]:
    scripts = [e["script"] for e in json_events(result) if e["event"] == "script"]
    return [line.strip() for s in scripts for line in s.splitlines() if line.strip().startswith(cmdlet + " ")]


@pytest.mark.parametrize(
    ("lacking", "confirmed"),
    [
        pytest.param({"Set-VMMemory": ["Confirm", "WhatIf"]}, {"Set-VMProcessor"}, id="Set-VMMemory without"),
        pytest.param({"Set-VMProcessor": ["Confirm", "WhatIf"]}, {"Set-VMMemory"}, id="Set-VMProcessor without"),
        pytest.param(None, {"Set-VMMemory", "Set-VMProcessor"}, id="both with -Confirm"),
    ],
)
def test_a_2012_host_is_built_and_resized_with_confirm_exactly_where_its_cmdlets_have_it(
    tmp_path: Path, lacking: dict[str, list[str]] | None, confirmed: set[str]
) -> None:
    state = tmp_path / "state"
    inventory = _inventory(tmp_path, lacking)

    preview = orchestrate("apply", str(inventory), "--state-dir", str(state), "--dry-run", "--show-scripts",
                          "-o", "json")
    assert preview.exit_code == 0, preview.output
    for cmdlet in ("Set-VMMemory", "Set-VMProcessor"):
        (call,) = _calls(preview, cmdlet)
        assert call.endswith("-Confirm:$false") is (cmdlet in confirmed), call

    built = orchestrate("apply", str(inventory), "--state-dir", str(state), "-o", "json")
    assert built.exit_code == 0, built.output
    lab = vms_of(state, "hv01")["lab-01"]
    assert (lab["cpus"], lab["memory_startup"]) == (2, 4 * GB)

    resized = _inventory(tmp_path, lacking, cpus=4, memory="6GB")
    preview = orchestrate("apply", str(resized), "--state-dir", str(state), "--dry-run", "--show-scripts",
                          "-o", "json")
    assert preview.exit_code == 0, preview.output
    applied = orchestrate("apply", str(resized), "--state-dir", str(state), "-o", "json")
    assert applied.exit_code == 0, applied.output
    for cmdlet in ("Set-VMMemory", "Set-VMProcessor"):
        assert all(c.endswith("-Confirm:$false") is (cmdlet in confirmed) for c in _calls(applied, cmdlet))
    lab = vms_of(state, "hv01")["lab-01"]
    assert (lab["cpus"], lab["memory_startup"]) == (4, 6 * GB)

    again = orchestrate("apply", str(resized), "--state-dir", str(state), "-o", "json")
    assert again.exit_code == 0, again.output
    assert [e for e in json_events(again) if e["event"] == "planned"] == []


def test_the_dry_run_copy_of_a_host_lacking_confirm_refuses_it_as_that_host_would() -> None:
    """A recorded list without Confirm matches no page (the data gives 2012 -Confirm): the copy still lacks it."""
    host = Simulator(seed={"os_sku": 8, "os_version": "6.2.9200", "cmdlets_without": {"Set-VMMemory": ["Confirm"]}})
    listed = host.run("(Get-Command -Name Set-VMMemory).Parameters.ContainsKey('Confirm')")
    assert listed.stdout.strip() == "False"
    keys = host.run("@((Get-Command -Name Set-VMMemory).Parameters.Keys) -join ','").stdout.strip().split(",")

    copy = Simulator.from_facts({"host": {"os_version": "6.2.9200"}, "cmdlets": {"Set-VMMemory": keys}})
    made = copy.run("New-VM -Name 'lab-01' -NoVHD -Confirm:$false | Out-Null")
    assert made.exit_code == 0, made.stderr
    script = "$ErrorActionPreference = 'Stop'\n$vm = Get-VM -Name 'lab-01'\n"
    refused = copy.run(script + "Set-VMMemory -VM $vm -StartupBytes 2GB -Confirm:$false")
    assert refused.exit_code == 1 and "parameter name 'Confirm'" in refused.stderr
    taken = copy.run(script + "Set-VMMemory -VM $vm -StartupBytes 2GB; (Get-VM -Name 'lab-01').MemoryStartup")
    assert taken.exit_code == 0, taken.stderr
    assert taken.stdout.strip() == str(2 * GB)
    assert copy.host.vm_by_name("lab-01")[0].memory_startup == 2 * GB


def test_a_mistyped_cmdlet_in_cmdlets_without_is_refused_with_the_name_it_resembles(tmp_path: Path) -> None:
    inventory = _inventory(tmp_path, {"Set-VMMemroy": ["Confirm"]})

    checked = orchestrate("validate", str(inventory))

    assert checked.exit_code != 0
    assert "'Set-VMMemroy' is not a cmdlet the simulator knows" in checked.output and "Set-VMMemory" in checked.output


def test_a_2012_host_whose_new_vm_and_new_vhd_lack_confirm_still_gets_its_vm(tmp_path: Path) -> None:
    """Their 2012 pages list -Confirm (New-VM.md, New-VHD.md), so the shipped data says yes; a host whose own
    Get-Command says no is believed, as for the Set-VM* cmdlets: the create passes no -Confirm there."""
    state = tmp_path / "state"
    lacking = {"New-VM": ["Confirm", "WhatIf"], "New-VHD": ["Confirm", "WhatIf"]}
    inventory = _inventory(tmp_path, lacking)

    preview = orchestrate("apply", str(inventory), "--state-dir", str(state), "--dry-run", "--show-scripts",
                          "-o", "json")
    assert preview.exit_code == 0, preview.output
    scripts = "\n".join(e["script"] for e in json_events(preview) if e["event"] == "script")
    creates = [line.strip() for line in scripts.splitlines() if line.strip().startswith(("New-VM ", "$vm = New-VM "))]
    disks = [line.strip() for line in scripts.splitlines() if line.strip().startswith("New-VHD ")]
    assert creates and disks
    assert not any("-Confirm" in line for line in creates + disks), creates + disks

    built = orchestrate("apply", str(inventory), "--state-dir", str(state), "-o", "json")
    assert built.exit_code == 0, built.output
    assert vms_of(state, "hv01")["lab-01"]["cpus"] == 2


def test_a_host_whose_set_vm_lacks_confirm_gets_its_checkpoint_marker_written_without_it(tmp_path: Path) -> None:
    """The checkpoint marker in a VM's Notes is written with Set-VM, whose -Confirm:$false follows the host's
    own Get-Command as every Hyper-V call's does: on a host whose Set-VM lacks -Confirm the baseline is taken
    and marked (before, the marker's Set-VM failed to bind there, after the checkpoint was taken)."""
    state = tmp_path / "state"
    host = simulated_host(os_version="6.2.9200", cmdlets_without={"Set-VM": ["Confirm", "WhatIf"]})
    host["multipoint_vms"] = [vm("lab-01", generation=1, checkpoints={"baseline": "clean"})]
    inventory = write_inventory(tmp_path, {"hv01": host})

    built = orchestrate("apply", str(inventory), "--state-dir", str(state), "--show-scripts", "-o", "json")

    assert built.exit_code == 0, built.output
    marks = _calls(built, "Set-VM")
    assert marks and not any(call.endswith("-Confirm:$false") for call in marks), marks
    lab = vms_of(state, "hv01")["lab-01"]
    assert [s["name"] for s in lab["snapshots"]] == ["clean"]
    assert "orchestrate-checkpoints:" in lab["notes"]
