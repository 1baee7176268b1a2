"""A VM object a background job hands back is a snapshot, not the VM (about_Remote_Output, "Deserialized
objects": properties but no methods): on a real host `Start-VM -VM $fromJob` fails at binding, so the
simulator refuses it too and the VM stays off. What a job returns for reading (its properties, its text)
reads as before, and a script that asks the host again by name (as the templates do) works."""

from __future__ import annotations

import pytest
from simulator_support import HEADER, NO_BOM_INPUT, fails, lines, ok, simulator

from orchestrator.simulator import Simulator

VERSIONS = pytest.mark.parametrize("os_version", ["6.2", "6.3"], ids=["2012", "2012R2"])

FROM_JOB = NO_BOM_INPUT + (
    "$job = Start-Job -ScriptBlock { Get-VM -Name 'lab-01' }\n"
    "Wait-Job -Job $job | Out-Null\n"
    "$fromJob = @(Receive-Job -Job $job)[0]\n"
    "Remove-Job -Job $job\n"
)


def a_host_with_one_vm_off(os_version: str) -> Simulator:
    sim = simulator(os_version=os_version)
    ok(sim, HEADER + "New-VM -Name 'lab-01' -MemoryStartupBytes 1GB -NoVHD -Confirm:$false | Out-Null")
    return sim


def vm_state(sim: Simulator) -> str:
    return lines(ok(sim, HEADER + "[string](Get-VM -Name 'lab-01').State"))[0]


@VERSIONS
def test_starting_a_vm_object_taken_from_a_job_fails_at_binding_and_the_vm_stays_off(os_version: str) -> None:
    sim = a_host_with_one_vm_off(os_version)

    result = fails(sim, HEADER + FROM_JOB + "Start-VM -VM $fromJob")

    assert "Cannot bind parameter 'VM'" in result.stderr
    assert 'of type "Deserialized.Microsoft.HyperV.PowerShell.VirtualMachine"' in result.stderr
    assert 'to type "Microsoft.HyperV.PowerShell.VirtualMachine"' in result.stderr
    assert vm_state(sim) == "Off"


@VERSIONS
def test_piping_the_snapshot_to_a_hyperv_cmdlet_starts_nothing(os_version: str) -> None:
    """Not bound as the VM, the snapshot is coerced to its text for -Name (the binder's last pass), and that
    text, holding [ ], is a wildcard that names no VM: nothing happens, silently (unverified on a real host,
    where the same binder rules apply; docs/real-hosts.md)."""
    sim = a_host_with_one_vm_off(os_version)

    ok(sim, HEADER + FROM_JOB + "$fromJob | Start-VM")

    assert vm_state(sim) == "Off"


@VERSIONS
def test_the_snapshot_reads_like_the_vm_and_asking_the_host_by_name_starts_it(os_version: str) -> None:
    sim = a_host_with_one_vm_off(os_version)

    result = ok(sim, HEADER + FROM_JOB + "Write-Output $fromJob.Name\n"
                "Write-Output ([string]$fromJob.State)\n"
                "Write-Output $fromJob.PSComputerName\n"
                "Write-Output ($fromJob.ToString() -eq (Get-VM -Name 'lab-01').ToString())\n"
                "Start-VM -VM (Get-VM -Name $fromJob.Name)")

    assert lines(result) == ["lab-01", "Off", "localhost", "True"]
    assert vm_state(sim) == "Running"
