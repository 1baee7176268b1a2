"""Host-side scheduled rollback: desired schedules vs the host's tasks, and the script a task runs. Pure.

Every task lives under the task path \\MultiPoint\\ and runs as SYSTEM `powershell.exe ... -EncodedCommand
<base64>`, where the base64 (UTF-16LE, as -EncodedCommand wants) is the rollback script rendered from
templates/operations/rollback.ps1.j2 for the VMs it restores. So the job needs nothing from the admin box
at run time: the host rolls itself back even when the admin box is off.

Names: an inventory schedule `nightly reset` is the task `schedule nightly reset`; a confirm-or-revert job
for the checkpoint `pre-apply-20261125T201500Z` is the task `revert pre-apply-20261125T201500Z`. `apply`
converges only `schedule ...` tasks, so a pending revert survives the apply that installed it.

Change detection: the task's Description ends with `definition sha256:<16 hex>`, a hash of everything that
defines it (trigger, principal, command). A different hash (or none) re-registers the task; a task whose
schedule left the inventory is unregistered.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from orchestrator.actions import (
    TASK_ARGUMENT_PREFIX,
    TASK_DAY_NAMES,
    Action,
    ApplySchedule,
    RemoveCheckpoint,
    RemoveSchedule,
    RestoreCheckpoint,
    TakeCheckpoint,
)
from orchestrator.checkpoints import matches, retention, utc_stamp
from orchestrator.facts import HostFacts, TaskFacts
from orchestrator.model import HostSpec, Schedule
from orchestrator.operations import Converge, Verdict
from orchestrator.plan import Plan, plan_host
from orchestrator.render import Renderer, RenderError

TASK_PATH = "\\MultiPoint\\"
SCHEDULE_PREFIX = "schedule "
REVERT_PREFIX = "revert "
REVERT_CHECKPOINT_PREFIX = "pre-apply-"
TASK_TEMPLATE = "operations/rollback.ps1.j2"
POWERSHELL = "powershell.exe"
# Task Scheduler keeps an action's arguments up to 32767 characters; leave room for the prefix.
MAX_ARGUMENT = 32000
NOT_RUN_YET = 267011  # SCHED_S_TASK_HAS_NOT_RUN
_DEFINITION = re.compile(r"definition sha256:([0-9a-f]{16})")
_TASK_NAME_FORBIDDEN = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def task_label(name: str) -> str:
    """The name as a task name holds it: itself, or `h-<hash>` when it has characters a task name cannot
    hold (the Description still shows the real name)."""
    if _TASK_NAME_FORBIDDEN.search(name) or name != name.strip() or not name:
        return "h-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:12]
    return name


def schedule_task_name(name: str) -> str:
    """The task of an inventory schedule."""
    return SCHEDULE_PREFIX + task_label(name)


def revert_task_name(checkpoint: str) -> str:
    return REVERT_PREFIX + task_label(checkpoint)


def our_tasks(facts: HostFacts) -> list[TaskFacts]:
    return [t for t in facts.tasks if t.path.lower() == TASK_PATH.lower()]


def has_run(task: TaskFacts) -> bool:
    return task.last_run is not None and task.last_result != NOT_RUN_YET


def pending_reverts(facts: HostFacts) -> list[tuple[str, str]]:
    """(task name, checkpoint) of every revert task that has not fired yet."""
    return [
        (t.name, t.name[len(REVERT_PREFIX) :])
        for t in our_tasks(facts)
        if t.name.startswith(REVERT_PREFIX) and not has_run(t)
    ]


def definition_hash(task: TaskFacts) -> str | None:
    found = _DEFINITION.search(task.description or "")
    return found.group(1) if found else None


# -- the script a task runs -----------------------------------------------------------------------------------


@cache
def _renderer(folder: str | None) -> Renderer:
    return Renderer(Path(folder) if folder else None)


def task_script(
    host: HostSpec,
    restores: tuple[RestoreCheckpoint, ...],
    label: str,
    version: str | None,
    cmdlets: Mapping[str, Iterable[str]] | None = None,
) -> str:
    """The rollback script a task runs: each VM restored on its own (one failing does not stop the others),
    one JSON document, exit 1 when any VM failed (the task's Last Result).

    `cmdlets` are the parameters the host's own Get-Command reported (the facts), exactly as the apply
    script gets them: the task runs on that host, so what it may pass (e.g. -Confirm:$false to
    Restore-VMSnapshot) follows the host, and the signature data only where the facts are silent."""
    return _renderer(host.templates_dir).render_operation(
        TASK_TEMPLATE, host, version, cmdlets, restores=list(restores), label=label
    )


def encode_command(script: str) -> str:
    """What powershell.exe -EncodedCommand takes: base64 of the script's UTF-16LE bytes."""
    return base64.b64encode(script.lstrip("\ufeff").encode("utf-16-le")).decode("ascii")


def task_definition(
    host: HostSpec,
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
    encoded = encode_command(task_script(host, restores, title, version, cmdlets))
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
    schedule: Schedule,
    version: str | None,
    cmdlets: Mapping[str, Iterable[str]] | None = None,
) -> ApplySchedule:
    """The task an inventory schedule stands for: VMs of this host's inventory matching its `vms` glob, each
    rolled back to `checkpoint` and brought to its inventory power state."""
    restores = tuple(
        RestoreCheckpoint(vm.name, schedule.checkpoint, "off" if vm.state == "off" else "running")
        for vm in host.vms
        if vm.state != "absent" and matches(vm.name, schedule.vms)
    )
    days = tuple(d for d in schedule.days if d in TASK_DAY_NAMES)
    return task_definition(
        host,
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


def plan_schedules(host: HostSpec, facts: HostFacts) -> tuple[list[Action], list[str]]:
    """Unregister `schedule ...` tasks the inventory no longer has, then register new or changed ones.

    A schedule that restores no VM here (its glob matches none, or every match was refused by the host
    rules and dropped from the host) registers no task: a task that restores nothing would run every
    night, report success and hide that the classroom is not rolled back. Its existing task is removed,
    and a note (the second list) says why."""
    existing = {t.name: t for t in our_tasks(facts) if t.name.startswith(SCHEDULE_PREFIX)}
    cmdlets = facts.cmdlets or None
    wanted = [desired_schedule(host, s, facts.version, cmdlets) for s in host.schedules]
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


# -- apply --revert-after: confirm or revert -----------------------------------------------------------------

_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
MIN_REVERT_SECONDS = 60


def parse_duration(text: str) -> int:
    """`30m`, `2h`, `1h30m`, `90s` -> seconds. At least a minute: the apply itself must finish first."""
    found = _DURATION.match(text.strip().lower())
    if not text.strip() or found is None or not any(found.groups()):
        raise ValueError(f"{text!r} is not a duration such as 30m, 2h, 1h30m or 90s")
    hours, minutes, seconds = (int(g or 0) for g in found.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total < MIN_REVERT_SECONDS:
        raise ValueError(f"{text!r} is too short: give the apply at least {MIN_REVERT_SECONDS}s to finish")
    return total


def _touched_vms(plan: Plan, facts: HostFacts) -> list[str]:
    """Existing VMs the plan changes, in plan order (a VM the plan creates has nothing to go back to)."""
    names: list[str] = []
    for action in plan:
        name = getattr(action, "vm_name", None)
        if isinstance(name, str) and facts.vm(name) is not None and name not in names:
            names.append(name)
    return names


@dataclass(frozen=True, slots=True)
class ConvergeWithRevert:
    """`orchestrate apply --revert-after DURATION`: like apply, but first checkpoint every existing VM the
    plan changes (`pre-apply-<UTC time>`) and register a one-shot task that restores those checkpoints
    `delay_seconds` later, by the host's clock. `orchestrate confirm` removes the task; if nobody does
    (the admin box died, the change cut the network), the host rolls itself back."""

    delay_seconds: int
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    command: str = "apply --revert-after"

    @property
    def checkpoint_name(self) -> str:
        return REVERT_CHECKPOINT_PREFIX + utc_stamp(self.now)

    def plan(self, host: HostSpec, facts: HostFacts) -> Plan:
        base = plan_host(host, facts)
        touched = _touched_vms(base, facts)
        if not touched:
            note = "--revert-after: no existing VM changes here, so no revert task is installed"
            return Plan(base.actions, (*base.notes, note)) if not base.empty else base
        name = self.checkpoint_name
        protect = {name} | {c for _, c in pending_reverts(facts)}
        guard: list[Action] = []
        restores: list[RestoreCheckpoint] = []
        for vm_name in touched:
            observed = facts.vm(vm_name)
            spec = host.vm(vm_name)
            assert observed is not None and spec is not None  # _touched_vms keeps inventory VMs on the host
            if observed.checkpoint(name) is None:
                guard.append(TakeCheckpoint(vm_name, name))
            guard.extend(retention(spec, observed, adding=1, protect=protect))
            restores.append(RestoreCheckpoint(vm_name, name, "running" if observed.running else "off"))
        task = task_definition(
            host,
            kind="revert",
            label=name,
            restores=tuple(restores),
            version=facts.version,
            cmdlets=facts.cmdlets or None,
            trigger="once",
            delay_seconds=self.delay_seconds,
        )
        notes = (
            *base.notes,
            f"revert task {task.task_name!r} fires in {self.delay_seconds}s unless confirmed",
        )
        return Plan((*guard, task, *base.actions), notes)

    def verify(self, host: HostSpec, plan: Plan, facts: HostFacts) -> Verdict:
        base = Plan(tuple(a for a in plan if not _is_revert_guard(a, self.checkpoint_name)))
        verdict = Converge().verify(host, base, facts)
        errors = list(verdict.errors)
        for action in plan:
            if isinstance(action, ApplySchedule) and action.trigger == "once":
                if not any(t.name == action.task_name for t in our_tasks(facts)):
                    errors.append(f"the revert task {action.task_name!r} is not on the host after the apply")
            elif isinstance(action, TakeCheckpoint) and action.name == self.checkpoint_name:
                observed = facts.vm(action.vm_name)
                if observed is None or observed.checkpoint(action.name) is None:
                    errors.append(
                        f"VM {action.vm_name!r}: no checkpoint {action.name!r} for the revert to restore"
                    )
        return Verdict(errors, verdict.warnings, verdict.fix)


def _is_revert_guard(action: Action, checkpoint: str) -> bool:
    if isinstance(action, TakeCheckpoint):
        return action.name == checkpoint
    if isinstance(action, ApplySchedule):
        return action.trigger == "once"
    return isinstance(action, RemoveCheckpoint)


@dataclass(frozen=True, slots=True)
class Confirm:
    """`orchestrate confirm`: keep the change, i.e. unregister the host's revert tasks. A revert that already
    fired is removed too, but fails the host: the VMs went back, and the admin must know."""

    command: str = "confirm"

    def plan(self, host: HostSpec, facts: HostFacts) -> Plan:
        actions: list[Action] = []
        for task in our_tasks(facts):
            if not task.name.startswith(REVERT_PREFIX):
                continue
            ran = f"{task.last_run} (result {task.last_result})" if has_run(task) else None
            actions.append(RemoveSchedule(task.name, TASK_PATH, already_ran=ran))
        notes = () if actions else ("no pending revert task on this host: nothing to confirm",)
        return Plan(tuple(actions), notes)

    def verify(self, host: HostSpec, plan: Plan, facts: HostFacts) -> Verdict:
        errors: list[str] = []
        left = {t.name for t in our_tasks(facts)}
        for action in plan:
            if not isinstance(action, RemoveSchedule):
                continue
            if action.task_name in left:
                errors.append(f"the revert task {action.task_name!r} is still on the host")
            if action.already_ran:
                errors.append(
                    f"too late: {action.task_name!r} already ran at {action.already_ran}, so the VMs were rolled "
                    "back before this confirm"
                )
        fix = "apply again (with --revert-after) to make the change again" if errors else None
        return Verdict(errors, fix=fix)


@dataclass(frozen=True, slots=True)
class ListTasks:
    """`orchestrate schedules`: read-only; the facts carry every task under \\MultiPoint\\."""

    command: str = "schedules"

    def plan(self, host: HostSpec, facts: HostFacts) -> Plan:
        return Plan()

    def verify(self, host: HostSpec, plan: Plan, facts: HostFacts) -> Verdict:
        return Verdict()
