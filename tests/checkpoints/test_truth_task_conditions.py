"""The host's rollback tasks run on batteries, name their folder in full, and run as SYSTEM (audit B, B-1 and B-3).

Task Scheduler's defaults keep a task from starting on batteries and stop it when the host goes onto them
(MicrosoftDocs/win32 desktop-src/TaskSchd/tasksettings-disallowstartifonbatteries.md and
tasksettings-stopifgoingonbatteries.md: "The default is True."). A host on a UPS that Windows sees as a battery
would then skip the night's reset, or stop it halfway. The tasks are registered with
New-ScheduledTaskSettingsSet -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries (templates/actions/
schedule.ps1.j2); a task an older version registered without them is registered again by the next apply.
The simulated host stands for a real one: its power (Host.on_batteries, Host.battery_after_change), the
folder of a task as given, and the one principal it runs (orchestrator/simulator/host/cmdlets_tasks.py).
On a simulated 2012 (6.2) and 2012 R2 (6.3) host alike.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from checkpoint_support import RENDERER, SEED, SimHost, converge_plan, lab_host, lab_vm

from orchestrator.actions import TASK_ARGUMENT_PREFIX, TASK_DAY_NAMES, ApplySchedule
from orchestrator.model import Schedule, VMSpec
from orchestrator.operations.confirm import ConvergeWithRevert
from orchestrator.operations.host_tasks import NOT_RUN_YET
from orchestrator.operations.schedules import POWERSHELL, desired_schedule
from orchestrator.simulator import Simulator

NIGHTLY = Schedule("nightly reset", "clean", "03:30", days=("mon", "tue", "wed", "thu", "fri"), vms="lab-*")
TASK = "schedule nightly reset"
VERSIONS = pytest.mark.parametrize("os_version", ["6.2", "6.3"], ids=["2012", "2012R2"])


def classroom_vm(os_version: str, name: str, cpus: int = 2) -> VMSpec:
    """A classroom VM of the generation the host has (2012 knows only generation 1)."""
    return replace(lab_vm(name, cpus=cpus), generation=1 if os_version == "6.2" else 2)


def classroom(os_version: str, *schedules: Schedule) -> SimHost:
    """Two classroom VMs at their baseline `clean`, and the inventory's schedules, applied."""
    vms = (classroom_vm(os_version, "lab-01"), classroom_vm(os_version, "lab-02"))
    host = SimHost(lab_host(*vms, schedules=schedules), Simulator(None, {**SEED, "os_version": os_version}))
    host.apply()
    return host


def cpus(host: SimHost) -> list[int]:
    facts = host.facts()
    return [facts.vm(n).cpus for n in ("lab-01", "lab-02")]  # type: ignore[union-attr]


def states(host: SimHost) -> list[str]:
    facts = host.facts()
    return [facts.vm(n).state for n in ("lab-01", "lab-02")]  # type: ignore[union-attr]


def task_facts(host: SimHost, name: str = TASK):
    return next(t for t in host.facts().tasks if t.name == name)


def hash_before_settings(action: ApplySchedule) -> str:
    """The definition hash a version before the battery settings wrote into the Description: the same definition
    without its `settings` (orchestrator/operations/schedules.py, task_definition, as it was)."""
    definition = {
        "trigger": action.trigger,
        "at": action.at,
        "days": [TASK_DAY_NAMES[d] for d in action.days],
        "delay": action.delay_seconds,
        "execute": POWERSHELL,
        "argument": TASK_ARGUMENT_PREFIX + action.encoded_command,
        "principal": "SYSTEM",
    }
    return hashlib.sha256(json.dumps(definition, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def as_an_older_version_left_it(host: SimHost) -> None:
    """The nightly task as the version before the settings registered it: Task Scheduler's defaults, and the
    hash of its definition then."""
    task = host.sim.host.tasks["\\multipoint\\" + TASK]
    wanted = desired_schedule(host.spec, RENDERER, NIGHTLY, host.facts().version)
    task.settings = None
    task.description = task.description.replace(wanted.digest, hash_before_settings(wanted))


@VERSIONS
def test_on_batteries_the_nightly_task_still_rolls_the_classroom_back(os_version: str) -> None:
    # given the nightly reset installed, and a day of changes in the classroom
    host = classroom(os_version, NIGHTLY)
    host.set_cpus("lab-01", 5)
    host.set_cpus("lab-02", 6)
    # and a power cut in the night: the host runs on its UPS, which Windows counts as a battery
    host.sim.host.on_batteries = True

    # when the task's time comes
    host.start_task(TASK)

    # then it ran, and the classroom is back at its baseline
    assert cpus(host) == [2, 2]
    assert states(host) == ["Running", "Running"]
    task = task_facts(host)
    assert task.last_run is not None and task.last_result == 0


@VERSIONS
def test_a_power_cut_during_the_nightly_rollback_does_not_stop_it_halfway(os_version: str) -> None:
    host = classroom(os_version, NIGHTLY)
    host.set_cpus("lab-01", 5)
    host.set_cpus("lab-02", 6)
    # the power fails right after the task turned lab-01 off, before it restored anything
    host.sim.host.battery_after_change = "Stop-VM lab-01"

    host.start_task(TASK)

    assert host.sim.host.on_batteries  # the cut came during the run
    assert cpus(host) == [2, 2]
    assert states(host) == ["Running", "Running"]  # not left Off for the morning
    assert task_facts(host).last_result == 0


@VERSIONS
def test_a_task_an_older_version_registered_without_the_settings_is_registered_again(os_version: str) -> None:
    # given a host whose nightly task an older version registered, with Task Scheduler's battery defaults
    host = classroom(os_version, NIGHTLY)
    as_an_older_version_left_it(host)
    host.set_cpus("lab-01", 5)
    host.sim.host.on_batteries = True
    host.start_task(TASK)
    assert cpus(host) == [5, 2]  # on batteries that task does not even start
    assert task_facts(host).last_result == NOT_RUN_YET
    host.sim.host.on_batteries = False

    # when the admin applies with this version (which also sets lab-01 back)
    plan = converge_plan(host.spec, host.facts())
    registered = [a for a in plan if isinstance(a, ApplySchedule)]
    assert [(a.task_name, a.replaces) for a in registered] == [(TASK, True)]
    host.apply()

    # then the task is one that runs on batteries, and a second apply leaves it alone
    assert converge_plan(host.spec, host.facts()).empty
    host.set_cpus("lab-01", 5)
    host.sim.host.on_batteries = True
    host.start_task(TASK)
    assert cpus(host) == [2, 2]
    assert task_facts(host).last_result == 0


@VERSIONS
def test_the_revert_after_safety_net_fires_on_batteries(os_version: str) -> None:
    # given an apply --revert-after that gave lab-01 four processors
    host = classroom(os_version)
    changed = host.with_inventory(replace(host.spec, vms=(classroom_vm(os_version, "lab-01", 4), *host.spec.vms[1:])))
    operation = ConvergeWithRevert(1800, now=datetime(2026, 11, 25, 20, 0, tzinfo=UTC))
    assert changed.run(operation.plan(changed.spec, changed.facts(), RENDERER)).exit_code == 0
    assert cpus(changed)[0] == 4
    revert = "revert pre-apply-20261125T200000Z"

    # when nobody confirmed, the host is on its UPS at the deadline, and the revert task fires
    changed.sim.host.on_batteries = True
    changed.start_task(revert)

    # then the change is rolled back all the same
    assert cpus(changed) == [2, 2]
    assert states(changed) == ["Running", "Running"]
    assert task_facts(changed, revert).last_result == 0


@VERSIONS
def test_a_task_folder_is_found_only_by_its_full_path(os_version: str) -> None:
    # "To specify a full TaskPath you need to include the leading and trailing \" (Register-ScheduledTask, 2012)
    host = classroom(os_version, NIGHTLY)
    count = "@(Get-ScheduledTask -TaskPath '{}' -ErrorAction SilentlyContinue).Count"

    assert host.sim.run(count.format("\\MultiPoint\\")).stdout.strip() == "1"
    assert host.sim.run(count.format("MultiPoint")).stdout.strip() == "0"
    assert host.sim.run(count.format("\\MultiPoint")).stdout.strip() == "0"

    refused = host.sim.run(
        "$a = New-ScheduledTaskAction -Execute 'powershell.exe' -Argument '-NoProfile'\n"
        "Register-ScheduledTask -TaskName 'by hand' -TaskPath 'MultiPoint' -Action $a -ErrorAction Stop | Out-Null"
    )
    assert refused.exit_code != 0
    assert "leading and trailing" in refused.stderr
    assert [t.name for t in host.facts().tasks] == [TASK]


@VERSIONS
def test_a_task_registered_to_run_as_another_account_is_not_run_as_system(os_version: str) -> None:
    # given a task someone registered by hand under \MultiPoint\ to roll lab-01 back as Local Service
    host = classroom(os_version, NIGHTLY)
    host.set_cpus("lab-01", 5)
    task = host.sim.host.tasks["\\multipoint\\" + TASK]
    host.powershell(
        f"$a = New-ScheduledTaskAction -Execute 'powershell.exe' -Argument '{task.actions[0]['arguments']}'\n"
        "$p = New-ScheduledTaskPrincipal -UserId 'LOCALSERVICE' -LogonType ServiceAccount\n"
        "Register-ScheduledTask -TaskName 'by hand' -TaskPath '\\MultiPoint\\' -Action $a -Principal $p | Out-Null"
    )

    # when it is started, the simulator does not lend it SYSTEM's rights
    started = host.sim.run("Start-ScheduledTask -TaskName 'by hand' -TaskPath '\\MultiPoint\\' -ErrorAction Stop")

    assert started.exit_code != 0 and "LOCALSERVICE" in started.stderr
    assert cpus(host)[0] == 5
    # while the product's own task, registered as SYSTEM, still runs
    host.start_task(TASK)
    assert cpus(host) == [2, 2]
