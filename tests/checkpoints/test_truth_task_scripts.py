"""Issue 13, findings 2 and 10: a scheduled task's script follows the host's own cmdlet list (the facts),
as the apply script does; and a schedule that restores no VM registers no task (an existing one goes)."""

from __future__ import annotations

import base64
from dataclasses import replace

import pytest
from checkpoint_support import RENDERER, SEED, SimHost, converge_plan, lab_host, lab_vm

from orchestrator.actions import ApplySchedule, RemoveSchedule
from orchestrator.facts import HostFacts
from orchestrator.model import Schedule, VMSpec
from orchestrator.operations.confirm import ConvergeWithRevert
from orchestrator.operations.host_tasks import schedule_task_name
from orchestrator.simulator import Simulator

NIGHTLY = Schedule("nightly reset", "clean", "02:30", days=("mon", "tue", "wed", "thu", "fri"), vms="lab-*")
RESTORE_WITHOUT_CONFIRM = frozenset({"VMSnapshot", "VMName", "Name", "Passthru", "AsJob"})
RESTORE_WITH_CONFIRM = RESTORE_WITHOUT_CONFIRM | {"WhatIf", "Confirm"}


def classroom_vm(os_version: str, name: str, cpus: int = 2) -> VMSpec:
    """A lab VM of the generation the host can run: 2012 (6.2) has only generation 1."""
    return replace(lab_vm(name, cpus=cpus), generation=1 if os_version == "6.2" else 2)


def classroom(os_version: str, *schedules: Schedule) -> SimHost:
    spec = lab_host(classroom_vm(os_version, "lab-01"), classroom_vm(os_version, "lab-02"), schedules=schedules)
    return SimHost(spec, Simulator(None, {**SEED, "os_version": os_version}))


def with_restore_parameters(facts: HostFacts, parameters: frozenset[str]) -> HostFacts:
    return replace(facts, cmdlets={**facts.cmdlets, "Restore-VMSnapshot": parameters})


def task_scripts(actions) -> list[str]:
    return [
        base64.b64decode(a.encoded_command).decode("utf-16-le") for a in actions if isinstance(a, ApplySchedule)
    ]


@pytest.mark.parametrize("os_version", ["6.2", "6.3"])
@pytest.mark.parametrize(
    ("parameters", "confirms"), [(RESTORE_WITH_CONFIRM, True), (RESTORE_WITHOUT_CONFIRM, False)]
)
def test_the_nightly_task_passes_confirm_exactly_when_the_hosts_restore_cmdlet_has_it(
    os_version: str, parameters: frozenset[str], confirms: bool
) -> None:
    host = classroom(os_version, NIGHTLY)
    facts = with_restore_parameters(host.facts(), parameters)

    [script] = task_scripts(converge_plan(host.spec, facts))

    assert "Restore-VMSnapshot -VMSnapshot $snapshot" in script
    assert ("Restore-VMSnapshot -VMSnapshot $snapshot -Confirm:$false" in script) is confirms


@pytest.mark.parametrize("os_version", ["6.2", "6.3"])
@pytest.mark.parametrize(
    ("parameters", "confirms"), [(RESTORE_WITH_CONFIRM, True), (RESTORE_WITHOUT_CONFIRM, False)]
)
def test_the_revert_after_task_follows_the_hosts_restore_cmdlet_too(
    os_version: str, parameters: frozenset[str], confirms: bool
) -> None:
    host = classroom(os_version)
    host.apply()
    drifted = host.with_inventory(lab_host(classroom_vm(os_version, "lab-01", cpus=3), classroom_vm(os_version, "lab-02")))
    facts = with_restore_parameters(drifted.facts(), parameters)

    [script] = task_scripts(ConvergeWithRevert(600).plan(drifted.spec, facts, RENDERER))

    assert ("Restore-VMSnapshot -VMSnapshot $snapshot -Confirm:$false" in script) is confirms


@pytest.mark.parametrize("os_version", ["6.2", "6.3"])
def test_a_schedule_matching_no_vm_registers_no_task_and_says_so(os_version: str) -> None:
    host = classroom(os_version, Schedule("exam reset", "clean", "03:00", days=("mon",), vms="exam-*"))

    plan = converge_plan(host.spec, host.facts())
    host.apply()

    assert not any(isinstance(a, ApplySchedule) for a in plan)
    assert any("'exam reset' matches no VM" in note for note in plan.notes)
    assert not any(t.name == schedule_task_name("exam reset") for t in host.facts().tasks)


@pytest.mark.parametrize("os_version", ["6.2", "6.3"])
def test_when_every_vm_of_a_schedule_is_refused_its_existing_task_is_removed(os_version: str) -> None:
    host = classroom(os_version, NIGHTLY)
    host.apply()
    assert any(t.name == schedule_task_name(NIGHTLY.name) for t in host.facts().tasks)
    # The host rules refused both lab VMs: the runner drops them from the host before planning.
    refused = host.with_inventory(replace(host.spec, vms=()))

    plan = converge_plan(refused.spec, refused.facts())
    outcome = refused.run(plan)

    assert outcome.exit_code == 0, outcome.error
    assert [a.task_name for a in plan if isinstance(a, RemoveSchedule)] == [schedule_task_name(NIGHTLY.name)]
    assert any("removed" in note for note in plan.notes)
    assert not any(t.name == schedule_task_name(NIGHTLY.name) for t in refused.facts().tasks)
