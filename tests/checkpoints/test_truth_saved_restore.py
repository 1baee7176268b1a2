"""A checkpoint taken while the VM ran holds its memory: applying it leaves the VM Saved (Restore-VMSnapshot in
orchestrator/simulator/host/cmdlets_checkpoint.py cites the sources), and Stop-VM is not relied on to turn a
Saved VM off. The restore, the rollback and the nightly task bring the VM from Saved to the inventory's state,
on a simulated 2012 (6.2) and 2012 R2 (6.3) host alike."""

from __future__ import annotations

from dataclasses import replace

import pytest
from checkpoint_support import SEED, SimHost, lab_host, lab_vm

from orchestrator.model import Schedule
from orchestrator.operations.checkpoint import plan_checkpoint
from orchestrator.operations.rollback import plan_rollback
from orchestrator.simulator import Simulator

# Generation 1 VMs boot an MBR image (guest.boots_from): on 2012 R2 the image says so, 2012's default is MBR.
HOSTS = {"6.2": {**SEED, "os_version": "6.2", "os_sku": 77},
         "6.3": {**SEED, "images": {path: {**image, "partition_style": "MBR"} for path, image in SEED["images"].items()}}}


def classroom(version: str, state: str, *schedules: Schedule) -> SimHost:
    """A classroom of one generation 1 VM (2012 has no generation 2) applied, with a checkpoint `live` the
    product took while the VM ran."""
    vm = replace(lab_vm("lab-01", state=state), generation=1)
    host = SimHost(lab_host(vm, schedules=schedules), sim=Simulator(None, HOSTS[version]))
    host.apply()
    host.powershell("Start-VM -Name 'lab-01'")
    assert host.run(plan_checkpoint(host.spec, host.facts(), "live")).exit_code == 0
    live = next(s for s in host.sim.host.vm_by_name("lab-01")[0].snapshots.values() if s.name == "live")
    assert live.state == "Running"
    return host


def vm_state(host: SimHost) -> str:
    return host.sim.host.vm_by_name("lab-01")[0].state


@pytest.mark.parametrize("version", ["6.2", "6.3"])
def test_a_rollback_to_a_running_checkpoint_leaves_a_vm_wanted_off_off(version: str) -> None:
    # given a VM the inventory wants off, whose checkpoint was taken while it ran, saved by a teacher since
    host = classroom(version, "off")
    host.powershell("Stop-VM -Name 'lab-01' -Save")

    # when the admin rolls it back to that checkpoint
    outcome = host.run(plan_rollback(host.spec, host.facts(), "live"))

    # then the restore went through and the VM is off, not left Saved with the checkpoint's memory
    assert outcome.exit_code == 0, outcome.error
    assert vm_state(host) == "Off"
    facts = host.facts().vm("lab-01")
    assert facts is not None and facts.parent_checkpoint == "live"


@pytest.mark.parametrize("version", ["6.2", "6.3"])
def test_a_rollback_to_a_running_checkpoint_resumes_a_vm_wanted_running(version: str) -> None:
    host = classroom(version, "running")

    outcome = host.run(plan_rollback(host.spec, host.facts(), "live"))

    assert outcome.exit_code == 0, outcome.error
    assert vm_state(host) == "Running"


@pytest.mark.parametrize("version", ["6.2", "6.3"])
def test_the_nightly_task_brings_a_vm_wanted_off_from_saved_to_off(version: str) -> None:
    # given a 2012 / 2012 R2 host whose nightly task rolls lab-01 back to a checkpoint taken while it ran
    nightly = Schedule("nightly reset", "live", "02:30", vms="lab-*")
    host = classroom(version, "off")
    host = host.with_inventory(replace(host.spec, schedules=(nightly,)))
    host.apply()

    # when the task fires
    host.start_task("schedule nightly reset")

    # then the VM is back at the checkpoint, off, and the task reports success
    assert vm_state(host) == "Off"
    facts = host.facts()
    task = next(t for t in facts.tasks if t.name == "schedule nightly reset")
    assert task.last_result == 0
    vm = facts.vm("lab-01")
    assert vm is not None and vm.parent_checkpoint == "live"


@pytest.mark.parametrize("version", ["6.2", "6.3"])
def test_a_saved_vm_is_not_turned_off_by_stop_vm_but_by_removing_its_saved_state(version: str) -> None:
    host = classroom(version, "off")
    host.powershell("Stop-VM -Name 'lab-01' -Save")

    refused = host.sim.run("Stop-VM -Name 'lab-01' -TurnOff -Force")
    assert refused.exit_code != 0 and "current state" in refused.stderr
    assert vm_state(host) == "Saved"

    host.powershell("Remove-VMSavedState -VMName 'lab-01' -Confirm:$false")
    assert vm_state(host) == "Off"
