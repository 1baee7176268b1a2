"""Confirm-or-revert: `orchestrate apply --revert-after DURATION` and `orchestrate confirm`. Pure.

The apply checkpoints every existing VM it is about to change (`pre-apply-<UTC time>`) and registers a
one-shot host task that restores them later by the host's clock; `confirm` unregisters that task. If
nobody confirms (the admin box died, the change cut the network), the host rolls itself back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from orchestrator.actions import (
    Action,
    ApplySchedule,
    RemoveCheckpoint,
    RemoveSchedule,
    RestoreCheckpoint,
    TakeCheckpoint,
)
from orchestrator.facts import HostFacts
from orchestrator.model import HostSpec
from orchestrator.operations.base import Scripts, Verdict
from orchestrator.operations.converge import Converge
from orchestrator.operations.host_tasks import (
    REVERT_CHECKPOINT_PREFIX,
    REVERT_PREFIX,
    TASK_PATH,
    has_run,
    our_tasks,
    pending_reverts,
)
from orchestrator.operations.retention import retention, utc_stamp
from orchestrator.operations.schedules import task_definition
from orchestrator.plan import Plan

_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
MIN_REVERT_SECONDS = 60


def duration_seconds(text: str) -> int:
    """`30m`, `2h`, `1h30m`, `90s` -> seconds (the durations --revert-after and --wait-lock take)."""
    found = _DURATION.match(text.strip().lower())
    if not text.strip() or found is None or not any(found.groups()):
        raise ValueError(f"{text!r} is not a duration such as 30m, 2h, 1h30m or 90s")
    hours, minutes, seconds = (int(g or 0) for g in found.groups())
    return hours * 3600 + minutes * 60 + seconds


def parse_duration(text: str) -> int:
    """`30m`, `2h`, `1h30m`, `90s` -> seconds. At least a minute: the apply itself must finish first."""
    total = duration_seconds(text)
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

    def plan(self, host: HostSpec, facts: HostFacts, scripts: Scripts) -> Plan:
        base = Converge().plan(host, facts, scripts)
        touched = _touched_vms(base, facts)
        # A guest still in setup gets nothing this run but the wait and its baseline (plan.plan_host), and a
        # checkpoint of it now would keep the answer file on its disk (base.answer_file_refusal), and its
        # restore would turn setup off: it is left out of the revert, and the notes say so.
        in_setup = [name for name in touched if facts.vm(name).guest_in_setup]  # type: ignore[union-attr]
        touched = [name for name in touched if name not in in_setup]
        setup_note = (
            (f"--revert-after: VM(s) {', '.join(in_setup)} are left out of the revert: their guest is still in "
             "setup, and a checkpoint now would keep its answer file (this run only waits for it and takes its "
             "baseline)",)
            if in_setup
            else ()
        )
        if not touched:
            # Said also when nothing at all changes: the admin asked for a safety net, and must learn none is set.
            note = "--revert-after: no existing VM changes here, so no revert task is installed"
            return Plan(base.actions, (*base.notes, *setup_note, note), base.basis)
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
            scripts,
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
            *setup_note,
            f"revert task {task.task_name!r} fires in {self.delay_seconds}s unless confirmed",
        )
        return Plan((*guard, task, *base.actions), notes, base.basis)

    def verify(self, host: HostSpec, plan: Plan, facts: HostFacts) -> Verdict:
        base = Plan(tuple(a for a in plan if not _is_revert_guard(a, self.checkpoint_name)), basis=plan.basis)
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

    def plan(self, host: HostSpec, facts: HostFacts, scripts: Scripts) -> Plan:
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
