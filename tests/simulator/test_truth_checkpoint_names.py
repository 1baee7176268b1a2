"""Checkpoint names as the cmdlets' pages read them (audit J, simulator notes).

Get-VMSnapshot -Name takes no wildcards ("Accept wildcard characters: False" on the 2012 and 2012 R2 pages),
Restore-VMSnapshot -Name does (True on the 2012 page, taken for 2012 R2 too: wildcard_paths.py). No template
passes either: they list every checkpoint and compare names with -eq, then restore the object itself.
"""

from __future__ import annotations

import pytest
from simulator_support import HEADER, fails, ok, simulator, value

from orchestrator.simulator import Simulator


def with_vm(version: str) -> Simulator:
    """A 2012 or 2012 R2 host with lab-01, a VM of 2 CPUs and no disk (New-VM as both pages have it)."""
    sim = simulator(os_version=version)
    ok(sim, HEADER + "New-VM -Name 'lab-01' -NoVHD -MemoryStartupBytes 1GB -Confirm:$false | Out-Null\n"
                     "Set-VMProcessor -Confirm:$false -VMName 'lab-01' -Count 2")
    return sim


@pytest.mark.parametrize("version", ["6.2", "6.3"])
def test_get_vmsnapshot_finds_a_bracketed_name_whole_and_a_pattern_finds_nothing(version: str) -> None:
    sim = with_vm(version)
    ok(sim, HEADER + "Checkpoint-VM -Name 'lab-01' -SnapshotName 'term [1]'\n"
                     "Checkpoint-VM -Name 'lab-01' -SnapshotName 'term 2'")
    assert value(sim, "@(Get-VMSnapshot -VMName 'lab-01' -Name 'term [1]').Name") == "term [1]"
    assert value(sim, "@(Get-VMSnapshot -VMName 'lab-01' -Name 'TERM [1]').Name") == "term [1]"
    assert value(sim, "@(Get-VMSnapshot -VMName 'lab-01' -Name 'term*').Count") == 0


@pytest.mark.parametrize("version", ["6.2", "6.3"])
def test_restore_vmsnapshot_reads_its_name_as_a_pattern_and_refuses_to_guess(version: str) -> None:
    sim = with_vm(version)
    ok(sim, HEADER + "Checkpoint-VM -Name 'lab-01' -SnapshotName 'term1'\n"
                     "Set-VMProcessor -Confirm:$false -VMName 'lab-01' -Count 4\n"
                     "Checkpoint-VM -Name 'lab-01' -SnapshotName 'term2'\n"
                     "Set-VMProcessor -Confirm:$false -VMName 'lab-01' -Count 6")
    # `term[1]` is a pattern for term1, as on a host that expands -Name
    ok(sim, HEADER + "Restore-VMSnapshot -VM (Get-VM -Name 'lab-01') -Name 'term[1]' -Confirm:$false")
    vm = sim.host.vm_by_name("lab-01")[0]
    assert (vm.cpus, value(sim, "(Get-VM -Name 'lab-01').ParentSnapshotName")) == (2, "term1")
    # `term*` matches both: which one a real host would apply is on no page, so nothing is applied
    result = fails(sim, HEADER + "Restore-VMSnapshot -VMName 'lab-01' -Name 'term*' -Confirm:$false")
    assert "matches 2 checkpoints" in result.stderr
    assert vm.cpus == 2 and value(sim, "(Get-VM -Name 'lab-01').ParentSnapshotName") == "term1"
    ok(sim, HEADER + "Restore-VMSnapshot -VMName 'lab-01' -Name 'term2' -Confirm:$false")
    assert (vm.cpus, value(sim, "(Get-VM -Name 'lab-01').ParentSnapshotName")) == (4, "term2")
