"""Host-side scheduled rollback: desired schedules vs the host's tasks, and the script a task runs. Pure.

Every task runs as SYSTEM `powershell.exe ... -EncodedCommand <base64>`, where the base64 (UTF-16LE, as
-EncodedCommand wants) is the rollback script rendered from templates/operations/rollback.ps1.j2 for the
VMs it restores, through the run's scripts port (so a `--templates` override reaches it). The job needs
nothing from the admin box at run time: the host rolls itself back even when the admin box is off. Task
names and how a task's state is read: orchestrator.operations.host_tasks.

Change detection: the task's Description ends with `definition sha256:<16 hex>`, a hash of everything that
defines it (trigger, principal, settings, command). A different hash (or none) re-registers the task; a task
whose schedule left the inventory is unregistered. The settings (TASK_SETTINGS) joined the hash when the
template began to pass them, so a `schedule ...` task an older version registered with Task Scheduler's
battery defaults is registered again by the next apply. A pending `revert ...` task is not (apply leaves
reverts alone): it keeps the defaults until it fires or `confirm` removes it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from orchestrator.actions import (
    TASK_ARGUMENT_PREFIX,
    TASK_DAY_NAMES,
    Action,
    ApplySchedule,
    RemoveSchedule,
    RestoreCheckpoint,
)
from orchestrator.facts import HostFacts
from orchestrator.host_lock import task_request
from orchestrator.model import HostSpec, Schedule
from orchestrator.operations.base import Scripts, Verdict, matches
from orchestrator.operations.host_tasks import (
    SCHEDULE_PREFIX,
    TASK_PATH,
    definition_hash,
    our_tasks,
    task_label,
)
from orchestrator.plan import Plan
from orchestrator.render import RenderError

TASK_TEMPLATE = "operations/rollback.ps1.j2"
POWERSHELL = "powershell.exe"
# Task Scheduler keeps an action's arguments up to 32767 characters; leave room for the prefix.
MAX_ARGUMENT = 32000
# The New-ScheduledTaskSettingsSet switches templates/actions/schedule.ps1.j2 passes (its comment has the pages):
# the task starts, and goes on, when the host runs on batteries. Part of the definition hash.
TASK_SETTINGS = ("AllowStartIfOnBatteries", "DontStopIfGoingOnBatteries")


def task_script(
    scripts: Scripts,
    host: HostSpec,
    restores: tuple[RestoreCheckpoint, ...],
    label: str,
    version: str | None,
    cmdlets: Mapping[str, Iterable[str]] | None = None,
) -> str:
    """The rollback script a task runs: each VM restored on its own (one failing does not stop the others),
    one JSON document, exit 1 when any VM failed (the task's Last Result). It runs under the host lock
    (orchestrator.host_lock): a run that holds it is waited for, up to TASK_WAIT_SECONDS, then the task
    fails naming that run, and restores nothing.

    `cmdlets` are the parameters the host's own Get-Command reported (the facts), exactly as the apply
    script gets them: the task runs on that host, so what it may pass (e.g. -Confirm:$false to
    Restore-VMSnapshot) follows the host, and the signature data only where the facts are silent."""
    return scripts.render_operation(
        TASK_TEMPLATE, host, version, cmdlets, restores=list(restores), label=label, guest_helpers=False,
        **task_request().template_context(),
    )


def encode_command(script: str) -> str:
    """What powershell.exe -EncodedCommand takes: base64 of the script's UTF-16LE bytes."""
    return base64.b64encode(script.lstrip("\ufeff").encode("utf-16-le")).decode("ascii")


def task_definition(
    host: HostSpec,
    scripts: Scripts,
    *,
    kind: str,
    label: str,
    restores: tuple[RestoreCheckpoint, ...],
    version: str | None,
    trigger: str,
    cmdlets: Mapping[str, Iterable[str]] | None = None,
    at: str = "00:00",
    days: tuple[str, ...] = (),
    delay_seconds: int = 0,
    schedule: Schedule | None = None,
) -> ApplySchedule:
    title = f"{kind} {label!r}: restore {', '.join(r.vm_name for r in restores) or 'no VM'}"
    encoded = encode_command(task_script(scripts, host, restores, title, version, cmdlets))
    argument = TASK_ARGUMENT_PREFIX + encoded
    if len(argument) > MAX_ARGUMENT:
        raise RenderError(
            f"the {kind} task for {label!r} would need a command line of {len(argument)} characters, more than Task "
            f"Scheduler keeps ({MAX_ARGUMENT}); split the schedule's VMs over several schedules"
        )
    definition = json.dumps(
        {
            "trigger": trigger,
            "at": at,
            "days": [TASK_DAY_NAMES[d] for d in days],
            "delay": delay_seconds,
            "execute": POWERSHELL,
            "argument": argument,
            "principal": "SYSTEM",
            "settings": list(TASK_SETTINGS),
        },
        sort_keys=True,
    )
    digest = hashlib.sha256(definition.encode("utf-8")).hexdigest()[:16]
    return ApplySchedule(
        schedule=schedule,
        vm_names=tuple(r.vm_name for r in restores),
        kind=kind,
        label=label,
        task_label=task_label(label),
        digest=digest,
        task_path=TASK_PATH,
        encoded_command=encoded,
        trigger=trigger,
        at=at,
        days=days,
        delay_seconds=delay_seconds,
    )


def desired_schedule(
    host: HostSpec,
    scripts: Scripts,
    schedule: Schedule,
    version: str | None,
    cmdlets: Mapping[str, Iterable[str]] | None = None,
) -> ApplySchedule:
    """The task an inventory schedule stands for: VMs of this host's inventory matching its `vms` glob, each
    rolled back to `checkpoint` and brought to its inventory power state."""
    restores = tuple(
        RestoreCheckpoint(vm.name, schedule.checkpoint, "off" if vm.state == "off" else "running")
        for vm in host.vms
        if vm.state != "absent" and matches(vm.name, schedule.vms, [v.name for v in host.vms])
    )
    days = tuple(d for d in schedule.days if d in TASK_DAY_NAMES)
    return task_definition(
        host,
        scripts,
        kind="schedule",
        label=schedule.name,
        restores=restores,
        version=version,
        cmdlets=cmdlets,
        trigger="weekly",
        at=schedule.at,
        days=days,
        schedule=schedule,
    )


def desired_schedules(host: HostSpec, facts: HostFacts, scripts: Scripts) -> tuple[ApplySchedule, ...]:
    """The task each inventory schedule stands for on this host (rendered for the host's version and cmdlets)."""
    cmdlets = facts.cmdlets or None
    return tuple(desired_schedule(host, scripts, s, facts.version, cmdlets) for s in host.schedules)


def plan_schedules(host: HostSpec, facts: HostFacts, scripts: Scripts) -> tuple[list[Action], list[str]]:
    """Unregister `schedule ...` tasks the inventory no longer has, then register new or changed ones."""
    return schedule_changes(desired_schedules(host, facts, scripts), facts)


def schedule_changes(wanted: Iterable[ApplySchedule], facts: HostFacts) -> tuple[list[Action], list[str]]:
    """The actions that turn the host's `schedule ...` tasks into `wanted`, and notes.

    Apart from the rendering, so verify can diff the same desired tasks against the facts the apply printed.
    A schedule that restores no VM here (its glob matches none, or every match was refused by the host
    rules and dropped from the host) registers no task: a task that restores nothing would run every
    night, report success and hide that the classroom is not rolled back. Its existing task is removed,
    and a note (the second list) says why."""
    existing = {t.name: t for t in our_tasks(facts) if t.name.startswith(SCHEDULE_PREFIX)}
    wanted = list(wanted)
    notes = [
        f"schedule {w.label!r} matches no VM to restore on this host: no task is registered"
        + (" and its existing task is removed" if w.task_name in existing else "")
        for w in wanted
        if not w.vm_names
    ]
    wanted = [w for w in wanted if w.vm_names]
    wanted_names = {w.task_name for w in wanted}
    actions: list[Action] = [
        RemoveSchedule(name, TASK_PATH) for name in sorted(existing) if name not in wanted_names
    ]
    for want in wanted:
        current = existing.get(want.task_name)
        if current is not None and definition_hash(current) == want.digest:
            continue
        if current is not None:
            want = _replacing(want)
        actions.append(want)
    return actions, notes


def _replacing(action: ApplySchedule) -> ApplySchedule:
    return replace(action, replaces=True)


@dataclass(frozen=True, slots=True)
class ListTasks:
    """`orchestrate schedules`: read-only; the facts carry every task under \\MultiPoint\\."""

    command: str = "schedules"

    def plan(self, host: HostSpec, facts: HostFacts, scripts: Scripts) -> Plan:
        return Plan()

    def verify(self, host: HostSpec, plan: Plan, facts: HostFacts) -> Verdict:
        return Verdict()
