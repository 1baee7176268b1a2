"""Audit L, L2: the plan stops only a running VM, but the VM may change between the facts and the script (a
teacher saves it, Hyper-V pauses it on a full disk). Stop-VM's page covers only a running VM (Stop-VM.md,
2012, Examples 1-3), so the script re-checks: a VM to be removed that is Saved now is turned off through
Remove-VMSavedState; any other Saved VM is left as it is, with the planner's own advice; a Paused one is
left as it is, naming Resume-VM; and a move's undo (SetPowerState) does the same for a Paused VM."""

from __future__ import annotations

from checkpoint_support import SimHost, converge_plan, lab_host, lab_vm

from orchestrator.actions import RemoveVM, SetPowerState, StopVM
from orchestrator.simulator.host.model import VM


def _vm(host: SimHost, name: str) -> VM:
    return next(vm for vm in host.sim.host.vms.values() if vm.name == name)


def test_a_vm_saved_after_the_plan_keeps_its_saved_state_and_the_admin_is_told_to_start_it() -> None:
    host = SimHost(lab_host(lab_vm("lab-01", cpus=2)))
    host.apply()
    wanted = host.with_inventory(lab_host(lab_vm("lab-01", cpus=4)))
    stale_plan = converge_plan(wanted.spec, wanted.facts())
    assert isinstance(stale_plan[0], StopVM)
    host.powershell("Stop-VM -Name 'lab-01' -Save")  # meanwhile, the teacher saves the lesson

    outcome = wanted.run(stale_plan)

    assert outcome.exit_code == 1
    assert "is Saved now" in (outcome.error or "") and "start it (Start-VM) and apply again" in (outcome.error or "")
    lab = _vm(host, "lab-01")
    assert (lab.state, lab.cpus) == ("Saved", 2)  # its saved memory is still there to resume


def test_a_vm_to_be_removed_that_was_saved_after_the_plan_is_turned_off_and_removed() -> None:
    host = SimHost(lab_host(lab_vm("lab-01")))
    host.apply()
    wanted = host.with_inventory(lab_host(lab_vm("lab-01", state="absent")))
    stale_plan = converge_plan(wanted.spec, wanted.facts())
    assert [type(a) for a in stale_plan[:2]] == [StopVM, RemoveVM]
    host.powershell("Stop-VM -Name 'lab-01' -Save")

    outcome = wanted.run(stale_plan)

    assert outcome.exit_code == 0, outcome.error
    assert [vm.name for vm in host.sim.host.vms.values()] == []


def test_a_vm_paused_after_the_plan_is_left_paused_and_the_admin_is_told_to_resume_it() -> None:
    host = SimHost(lab_host(lab_vm("lab-01", cpus=2)))
    host.apply()
    wanted = host.with_inventory(lab_host(lab_vm("lab-01", cpus=4)))
    stale_plan = converge_plan(wanted.spec, wanted.facts())
    _vm(host, "lab-01").state = "Paused"  # as Hyper-V pauses a VM whose host volume filled up

    outcome = wanted.run(stale_plan)

    assert outcome.exit_code == 1
    assert "is Paused now" in (outcome.error or "") and "Resume-VM -VM (Get-VM -Id '" in (outcome.error or "")
    lab = _vm(host, "lab-01")
    assert (lab.state, lab.cpus) == ("Paused", 2)


def test_a_move_s_undo_leaves_a_paused_vm_paused_and_names_resume_vm() -> None:
    host = SimHost(lab_host(lab_vm("lab-01")))
    host.apply()
    host.powershell("Stop-VM -Name 'lab-01' -TurnOff -Force")
    _vm(host, "lab-01").state = "Paused"

    outcome = host.run([SetPowerState("lab-01", "Running", before="Off")])

    assert outcome.exit_code == 1
    assert "is Paused now" in (outcome.error or "") and "Resume-VM" in (outcome.error or "")
    assert _vm(host, "lab-01").state == "Paused"
