"""The simulated host refuses what a 2012 / 2012 R2 host refuses beyond Hyper-V's per-VM maximums
(orchestrator.hyperv_limits cites the pages): before, it took 65 processors, 2 TB of memory, a 65 TB disk and
a 51st checkpoint, so scripts that would fail on a real host passed here."""

from __future__ import annotations

from simulator_support import HEADER, create_vm, fails, ok, simulator

from orchestrator.hyperv_limits import MAX_CHECKPOINTS


def test_the_simulated_host_refuses_what_a_real_one_does() -> None:
    sim = simulator(logical_processors=96, memory="4TB")
    create_vm(sim)
    assert "at most 64 virtual processors" in fails(sim, HEADER + "Set-VMProcessor -VMName 'lab-01' -Count 65 -Confirm:$false").stderr
    assert "between 32 MB and 1 TB" in fails(
        sim, HEADER + "Set-VMMemory -VMName 'lab-01' -DynamicMemoryEnabled $true -MinimumBytes 16MB -Confirm:$false").stderr
    assert "between 32 MB and 1 TB" in fails(sim, HEADER + "New-VM -Name 'big' -MemoryStartupBytes 2TB -NoVHD -Confirm:$false").stderr
    assert "64 TB" in fails(sim, HEADER + "New-VHD -Path 'C:\\VMs\\huge.vhdx' -SizeBytes 65TB -Dynamic -Confirm:$false").stderr
    for n in range(MAX_CHECKPOINTS):
        ok(sim, HEADER + f"Checkpoint-VM -Name 'lab-01' -SnapshotName 'c{n}' -Confirm:$false")
    refused = fails(sim, HEADER + "Checkpoint-VM -Name 'lab-01' -SnapshotName 'one more' -Confirm:$false")
    assert "at most 50 checkpoints" in refused.stderr
