"""A refused task registration fails the apply (issue 13, finding 4).

The ScheduledTasks cmdlets are CDXML functions: they see only the global $ErrorActionPreference, never the
'Stop' the apply script sets inside the WinRM bootstrap's script block (PowerShell/PowerShell#4568, #24389). The
admin's session here belongs to Hyper-V Administrators but not to Administrators, so Hyper-V obeys it and the
Task Scheduler answers "Access is denied." to a task that runs as SYSTEM.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from checkpoint_support import RENDERER, SEED, SimHost, converge_plan, lab_host, lab_vm

from orchestrator.model import Schedule, VMSpec
from orchestrator.operations.confirm import ConvergeWithRevert
from orchestrator.simulator import Simulator

NIGHTLY = Schedule("nightly reset", "clean", "02:30", days=("mon", "tue", "wed", "thu", "fri"), vms="lab-*")
VERSIONS = pytest.mark.parametrize("os_version", ["6.2", "6.3"], ids=["2012", "2012R2"])


def classroom_vm(os_version: str, name: str, cpus: int = 2) -> VMSpec:
    """A classroom VM of the generation the host has (2012 knows only generation 1)."""
    return replace(lab_vm(name, cpus=cpus), generation=1 if os_version == "6.2" else 2)


def demo_classroom(os_version: str, *, admin: bool) -> SimHost:
    """The demo classroom, converged, on a host whose remote session is (or is not) a local Administrator."""
    seed = {**SEED, "os_version": os_version, "session_admin": admin}
    vms = (classroom_vm(os_version, "lab-01"), classroom_vm(os_version, "lab-02"))
    host = SimHost(lab_host(*vms), Simulator(None, seed))
    host.apply()
    return host


@VERSIONS
def test_a_refused_nightly_task_fails_the_apply_instead_of_reporting_changed(os_version: str) -> None:
    host = demo_classroom(os_version, admin=False)
    scheduled = host.with_inventory(replace(host.spec, schedules=(NIGHTLY,)))

    outcome = scheduled.run(converge_plan(scheduled.spec, scheduled.facts()))

    assert outcome.exit_code == 1
    assert outcome.error is not None and "Access is denied." in outcome.error
    assert not any(a.get("changed") for a in outcome.document.get("actions") or [])
    assert scheduled.facts().tasks == ()


@VERSIONS
def test_revert_after_changes_no_vm_when_its_revert_task_is_refused(os_version: str) -> None:
    host = demo_classroom(os_version, admin=False)
    changed = host.with_inventory(replace(host.spec, vms=(classroom_vm(os_version, "lab-01", 4), *host.spec.vms[1:])))
    operation = ConvergeWithRevert(1800, now=datetime(2026, 11, 25, 20, 0, tzinfo=UTC))

    outcome = changed.run(operation.plan(changed.spec, changed.facts(), RENDERER))

    assert outcome.exit_code == 1
    assert outcome.error is not None and "Access is denied." in outcome.error
    facts = changed.facts()
    assert facts.vm("lab-01").cpus == 2  # type: ignore[union-attr]  # the change never ran
    assert facts.vm("lab-01").state == "Running"  # type: ignore[union-attr]
    assert facts.tasks == ()


@VERSIONS
def test_an_administrator_session_registers_the_same_task(os_version: str) -> None:
    host = demo_classroom(os_version, admin=True)
    scheduled = host.with_inventory(replace(host.spec, schedules=(NIGHTLY,)))

    scheduled.apply()

    assert [t.name for t in scheduled.facts().tasks] == ["schedule nightly reset"]



@VERSIONS
def test_a_refused_unregistration_fails_the_apply_and_the_task_stays(os_version: str) -> None:
    host = demo_classroom(os_version, admin=True)
    scheduled = host.with_inventory(replace(host.spec, schedules=(NIGHTLY,)))
    scheduled.apply()
    scheduled.sim.host.session_admin = False  # from now on the admin connects as a Hyper-V Administrator only
    unscheduled = scheduled.with_inventory(replace(scheduled.spec, schedules=()))

    outcome = unscheduled.run(converge_plan(unscheduled.spec, unscheduled.facts()))

    assert outcome.exit_code == 1
    assert outcome.error is not None and "Access is denied." in outcome.error
    assert [t.name for t in unscheduled.facts().tasks] == ["schedule nightly reset"]
