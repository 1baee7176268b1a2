"""The admin's story on a simulated host: checkpoint a drifted VM, change it again, roll back, and prune.

Every assertion reads the host's state through a fresh facts run (what Get-VM / Get-VMSnapshot report).
"""

from __future__ import annotations

from datetime import UTC, datetime

from checkpoint_support import SimHost, converge_plan, lab_host, lab_vm

from orchestrator.operations.checkpoint import plan_checkpoint, verify_checkpoint
from orchestrator.operations.retention import managed_ids, user_notes
from orchestrator.operations.rollback import plan_rollback, verify_rollback

NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def provisioned(*vms) -> SimHost:
    host = SimHost(lab_host(*vms))
    host.apply()
    return host


def test_rollback_brings_back_the_checkpointed_drift_not_the_inventory() -> None:
    host = provisioned(lab_vm("lab-01", cpus=2))
    host.set_cpus("lab-01", 3)  # drift away from the inventory (which says 2)
    taken = host.run(plan_checkpoint(host.spec, host.facts(), "before-lesson"))
    assert taken.exit_code == 0, taken.error
    host.set_cpus("lab-01", 5)  # the lesson changes it again

    plan = plan_rollback(host.spec, host.facts(), "before-lesson", now=NOON)
    outcome = host.run(plan)

    assert outcome.exit_code == 0, outcome.error
    vm = host.facts().vm("lab-01")
    assert vm is not None
    assert vm.cpus == 3  # a re-apply of the inventory would have given 2
    assert vm.parent_checkpoint == "before-lesson"
    assert vm.state == "Running"  # the inventory's power state
    assert verify_rollback(host.spec, plan, host.facts()).errors == []
    # ...and the inventory still sees the drift: the rollback was not a re-apply.
    assert [a.summary() for a in converge_plan(host.spec, host.facts())][:2] == [
        "stop VM lab-01",
        "set CPUs of lab-01",
    ]


def test_the_checkpoint_keeps_the_exact_name_and_the_admins_notes() -> None:
    host = provisioned(lab_vm("lab-01"))
    host.powershell("Set-VM -Confirm:$false -Name 'lab-01' -Notes 'Room 4, ask Ana before changing'")
    name = "vor der Prüfung: 'exam' #1"
    plan = plan_checkpoint(host.spec, host.facts(), name)
    assert host.run(plan).exit_code == 0

    vm = host.facts().vm("lab-01")
    assert vm is not None
    checkpoint = vm.checkpoint(name)
    assert checkpoint is not None  # Get-VMSnapshot shows exactly the name asked for
    assert user_notes(vm.notes) == "Room 4, ask Ana before changing"
    assert checkpoint.id.lower() in managed_ids(vm.notes)
    assert verify_checkpoint(host.spec, plan, host.facts()).errors == []


def test_an_off_vm_is_rolled_back_and_stays_off() -> None:
    host = provisioned(lab_vm("exam", state="off"))
    assert host.run(plan_checkpoint(host.spec, host.facts(), "ready")).exit_code == 0
    host.powershell("Set-VMProcessor -Confirm:$false -VMName 'exam' -Count 6; Start-VM -Name 'exam'")

    outcome = host.run(plan_rollback(host.spec, host.facts(), "ready", now=NOON))

    assert outcome.exit_code == 0, outcome.error
    vm = host.facts().vm("exam")
    assert vm is not None and (vm.cpus, vm.state, vm.parent_checkpoint) == (2, "Off", "ready")


def test_a_vm_without_the_checkpoint_fails_clearly_and_the_others_go_on() -> None:
    host = provisioned(lab_vm("lab-01"), lab_vm("lab-02"))
    assert host.run(plan_checkpoint(host.spec, host.facts(), "friday", vm_glob="lab-01")).exit_code == 0
    host.set_cpus("lab-01", 4)
    host.set_cpus("lab-02", 4)

    outcome = host.run(plan_rollback(host.spec, host.facts(), "friday", now=NOON))

    assert outcome.exit_code == 1
    assert "no checkpoint named 'friday' on VM(s) lab-02" in (outcome.error or "")
    facts = host.facts()
    assert facts.vm("lab-01").cpus == 2 and facts.vm("lab-01").parent_checkpoint == "friday"  # type: ignore[union-attr]
    assert facts.vm("lab-02").cpus == 4  # type: ignore[union-attr]


def test_pre_rollback_safety_net_keeps_the_state_being_discarded() -> None:
    host = provisioned(lab_vm("lab-01", pre_rollback=True, keep=5))
    assert host.run(plan_checkpoint(host.spec, host.facts(), "monday")).exit_code == 0
    host.set_cpus("lab-01", 7)

    assert host.run(plan_rollback(host.spec, host.facts(), "monday", now=NOON)).exit_code == 0

    vm = host.facts().vm("lab-01")
    assert vm is not None and vm.cpus == 2
    safety = vm.checkpoint("pre-rollback-20261125T120000Z")
    assert safety is not None and safety.id.lower() in managed_ids(vm.notes)
    # The safety net really holds the discarded state: rolling back to it brings CPUs 7 back.
    assert host.run(plan_rollback(host.spec, host.facts(), safety.name, now=NOON)).exit_code == 0
    assert host.facts().vm("lab-01").cpus == 7  # type: ignore[union-attr]


def test_a_checkpoint_name_already_taken_is_refused_not_reused() -> None:
    host = provisioned(lab_vm("lab-01"), lab_vm("lab-02"))
    host.powershell("Checkpoint-VM -Name 'lab-02' -SnapshotName 'friday'")  # a user's own

    outcome = host.run(plan_checkpoint(host.spec, host.facts(), "friday"))

    assert outcome.exit_code == 1
    assert "already exists on VM(s) lab-02" in (outcome.error or "")
    facts = host.facts()
    assert facts.vm("lab-01").checkpoint("friday") is not None  # type: ignore[union-attr]
    lab02 = facts.vm("lab-02")
    assert lab02 is not None and [c.name for c in lab02.checkpoints].count("friday") == 1
    assert lab02.checkpoint("friday").id.lower() not in managed_ids(lab02.notes)  # type: ignore[union-attr]
