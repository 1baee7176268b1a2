"""Scheduled rollback on the host: apply converges `multipoint_schedules` into tasks under \\MultiPoint\\, a
fired task really restores the VMs (the simulator runs its -EncodedCommand), a changed schedule updates its
task, a removed one removes it; and apply --revert-after / confirm."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from checkpoint_support import RENDERER, SimHost, converge_plan, lab_host, lab_vm

from orchestrator import pwsh
from orchestrator.actions import ApplySchedule
from orchestrator.model import Schedule
from orchestrator.operations.checkpoint import plan_checkpoint
from orchestrator.operations.confirm import Confirm, ConvergeWithRevert
from orchestrator.operations.host_tasks import schedule_task_name, task_label
from orchestrator.operations.schedules import desired_schedule, encode_command
from orchestrator.render import RenderError

NIGHTLY = Schedule("nightly reset", "clean", "02:30", days=("mon", "tue", "wed", "thu", "fri"), vms="lab-*")
TASK = "schedule nightly reset"


def classroom(*schedules: Schedule) -> SimHost:
    host = SimHost(lab_host(lab_vm("lab-01"), lab_vm("lab-02"), lab_vm("teacher"), schedules=schedules))
    host.apply()
    return host


def test_apply_installs_the_nightly_task_and_firing_it_restores_the_vms() -> None:
    host = classroom(NIGHTLY)
    task = next(t for t in host.facts().tasks if t.name == TASK)
    assert task.path == "\\MultiPoint\\" and task.next_run is not None
    host.set_cpus("lab-01", 5)
    host.set_cpus("lab-02", 6)
    host.set_cpus("teacher", 7)

    host.start_task(TASK)

    facts = host.facts()
    assert [facts.vm(n).cpus for n in ("lab-01", "lab-02", "teacher")] == [2, 2, 7]  # type: ignore[union-attr]
    assert all(facts.vm(n).parent_checkpoint == "clean" for n in ("lab-01", "lab-02"))  # type: ignore[union-attr]
    assert all(facts.vm(n).state == "Running" for n in ("lab-01", "lab-02"))  # type: ignore[union-attr]
    task = next(t for t in facts.tasks if t.name == TASK)
    assert task.last_run is not None and task.last_result == 0
    assert converge_plan(host.spec, facts).empty is False  # teacher still drifted; the task left it alone


def test_a_failing_vm_is_the_tasks_last_result_and_the_others_are_still_restored() -> None:
    host = classroom(NIGHTLY)
    assert host.run(plan_checkpoint(host.spec, host.facts(), "exam", vm_glob="lab-01")).exit_code == 0
    exam = Schedule("exam reset", "exam", "06:00", vms="lab-*")
    host = host.with_inventory(replace(host.spec, schedules=(exam,)))
    host.apply()
    host.set_cpus("lab-01", 5)

    host.start_task(schedule_task_name("exam reset"))

    facts = host.facts()
    assert facts.vm("lab-01").cpus == 2 and facts.vm("lab-01").parent_checkpoint == "exam"  # type: ignore[union-attr]
    task = next(t for t in facts.tasks if t.name == "schedule exam reset")
    assert task.last_result == 1  # lab-02 has no checkpoint 'exam'


def test_changing_a_schedule_updates_its_task_and_removing_it_removes_the_task() -> None:
    host = classroom(NIGHTLY)
    assert converge_plan(host.spec, host.facts()).empty  # converged: the task's hash matches

    later = replace(NIGHTLY, at="03:15", days=("sat",))
    host = host.with_inventory(replace(host.spec, schedules=(later,)))
    plan = converge_plan(host.spec, host.facts())
    assert [type(a) for a in plan] == [ApplySchedule] and plan[0].replaces  # type: ignore[union-attr]
    host.apply()
    task = next(t for t in host.facts().tasks if t.name == TASK)
    assert "T03:15:00" in (task.next_run or "")
    assert converge_plan(host.spec, host.facts()).empty

    host = host.with_inventory(replace(host.spec, schedules=()))
    plan = converge_plan(host.spec, host.facts())
    assert [a.summary() for a in plan] == [f"unregister task {TASK!r}"]
    host.apply()
    assert [t.name for t in host.facts().tasks] == []


def test_revert_after_rolls_the_host_back_unless_confirmed() -> None:
    host = classroom()
    changed = host.with_inventory(replace(host.spec, vms=(lab_vm("lab-01", cpus=4), *host.spec.vms[1:])))
    operation = ConvergeWithRevert(1800, now=datetime(2026, 11, 25, 20, 0, tzinfo=UTC))

    plan = operation.plan(changed.spec, changed.facts(), RENDERER)
    outcome = changed.run(plan)

    assert outcome.exit_code == 0, outcome.error
    assert outcome.facts is not None and operation.verify(changed.spec, plan, outcome.facts).errors == []
    facts = changed.facts()
    assert facts.vm("lab-01").cpus == 4  # type: ignore[union-attr]
    assert facts.vm("lab-01").checkpoint("pre-apply-20261125T200000Z") is not None  # type: ignore[union-attr]
    assert facts.vm("lab-02").checkpoint("pre-apply-20261125T200000Z") is None  # untouched: nothing to revert
    revert = "revert pre-apply-20261125T200000Z"
    assert [t.name for t in facts.tasks] == [revert]
    assert converge_plan(changed.spec, facts).empty  # a plain re-apply leaves the pending revert alone

    changed.start_task(revert)  # the deadline passed, nobody confirmed

    facts = changed.facts()
    assert facts.vm("lab-01").cpus == 2  # type: ignore[union-attr]
    assert facts.vm("lab-01").state == "Running"  # type: ignore[union-attr]
    confirm = Confirm()
    late = confirm.plan(changed.spec, facts, RENDERER)
    outcome = changed.run(late)
    assert outcome.exit_code == 0 and outcome.facts is not None
    assert outcome.facts.tasks == ()
    assert any("too late" in e for e in confirm.verify(changed.spec, late, outcome.facts).errors)


def test_confirm_in_time_removes_the_pending_revert() -> None:
    host = classroom()
    changed = host.with_inventory(replace(host.spec, vms=(lab_vm("lab-01", cpus=3), *host.spec.vms[1:])))
    assert changed.run(ConvergeWithRevert(600).plan(changed.spec, changed.facts(), RENDERER)).exit_code == 0

    confirm = Confirm()
    plan = confirm.plan(changed.spec, changed.facts(), RENDERER)
    outcome = changed.run(plan)

    assert outcome.exit_code == 0 and outcome.facts is not None
    assert confirm.verify(changed.spec, plan, outcome.facts).errors == []
    assert outcome.facts.tasks == () and outcome.facts.vm("lab-01").cpus == 3  # type: ignore[union-attr]
    assert confirm.plan(changed.spec, changed.facts(), RENDERER).empty


def test_task_names_and_the_encoded_command() -> None:
    assert schedule_task_name("nightly reset") == "schedule nightly reset"
    assert task_label("a/b") == task_label("a/b") != task_label("a\\b")
    assert task_label("a/b").startswith("h-")
    script = "$x = 'Ünïcödé'\nWrite-Output $x"
    assert base64.b64decode(encode_command("\ufeff" + script)).decode("utf-16-le") == script


def test_odd_names_travel_inside_the_encoded_task_as_plain_values() -> None:
    odd_vm = "lab 'quoted' $(Stop-Computer) `n;"
    odd_checkpoint = "clean; Remove-VM -Name * #"
    schedule = Schedule("it's $env:nightly", odd_checkpoint, "01:00", vms="lab*")
    host = SimHost(lab_host(lab_vm(odd_vm), lab_vm("lab-02"), schedules=(schedule,)))
    host.apply()
    host.powershell(f"Checkpoint-VM -Name {pwsh.quote(odd_vm)} -SnapshotName {pwsh.quote(odd_checkpoint)}")
    host.powershell(f"Checkpoint-VM -Name 'lab-02' -SnapshotName {pwsh.quote(odd_checkpoint)}")
    host.apply()  # the task's definition is unchanged: nothing to do
    host.set_cpus("lab-02", 6)
    host.powershell(
        f"Stop-VM -Name {pwsh.quote(odd_vm)} -TurnOff -Force; Set-VMProcessor -Confirm:$false -VMName {pwsh.quote(odd_vm)} -Count 6"
    )

    host.start_task(schedule_task_name(schedule.name))

    facts = host.facts()
    assert sorted(facts.vms) == sorted([odd_vm, "lab-02"])  # nothing was removed, nothing injected
    for name in (odd_vm, "lab-02"):
        vm = facts.vm(name)
        assert vm is not None and (vm.cpus, vm.parent_checkpoint, vm.state) == (2, odd_checkpoint, "Running")
    task = next(t for t in facts.tasks if t.name == schedule_task_name(schedule.name))
    assert task.last_result == 0 and schedule.name in task.description


def test_a_schedule_too_big_for_one_task_is_refused_with_a_hint() -> None:
    vms = tuple(lab_vm(f"lab-{i:03}") for i in range(150))
    host = lab_host(*vms, schedules=(NIGHTLY,))
    with pytest.raises(RenderError, match="split the schedule's VMs"):
        desired_schedule(host, RENDERER, NIGHTLY, "6.3")
    # About 30 VMs fit one task's command line (README, Limits): the script carries the host lock and the
    # state folder's check.
    assert desired_schedule(lab_host(*vms[:30]), RENDERER, NIGHTLY, "6.3").vm_names == tuple(v.name for v in vms[:30])


def test_the_nightly_task_leaves_a_vm_alone_whose_name_a_hand_made_clone_shares() -> None:
    """Someone cloned lab-01 by hand after the task was installed (Export-VM, Import-VM -Copy -GenerateNewId:
    the clone keeps the name and the checkpoints). The task runs with no admin box to refuse it, so the
    script itself must not guess which lab-01 is meant: neither is restored, lab-02 still is, and the task's
    result says it failed."""
    host = classroom(NIGHTLY)
    host.powershell(
        "Stop-VM -Name 'lab-01' -Force\n"
        "Export-VM -Name 'lab-01' -Path 'C:\\clone' -Confirm:$false\n"
        "$config = @(Get-ChildItem -LiteralPath 'C:\\clone\\lab-01\\Virtual Machines' -Filter '*.xml')[0].FullName\n"
        "New-Item -ItemType Directory -Path 'C:\\clone\\vm' -Force | Out-Null\n"  # no page says Import-VM makes it (audit J L3)
        "Import-VM -Path $config -Copy -GenerateNewId -VirtualMachinePath 'C:\\clone\\vm' "
        "-VhdDestinationPath 'C:\\clone\\vm' -Confirm:$false | Out-Null\n"
        "Get-VM -Name 'lab-01' | Set-VMProcessor -Count 5 -Confirm:$false\n"
    )
    host.set_cpus("lab-02", 6)

    host.start_task(TASK)

    facts = host.facts()
    both = [vm for vm in facts.vms.all if vm.name == "lab-01"]
    assert len(both) == 2 and [vm.cpus for vm in both] == [5, 5]  # neither rolled back
    assert all(vm.state == "Off" for vm in both)
    assert facts.vm("lab-02").cpus == 2  # type: ignore[union-attr]
    task = next(t for t in facts.tasks if t.name == TASK)
    assert task.last_result == 1
