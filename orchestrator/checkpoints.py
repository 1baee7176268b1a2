"""Checkpoints the orchestrator takes, restores and prunes: pure planners and the operations the runner drives.

Which checkpoints are ours? Hyper-V on 2012 R2 has no cmdlet that sets a checkpoint's Notes, and a
checkpoint's name must stay exactly what the admin asked for (`orchestrate rollback --to NAME` finds it by
that name, as Get-VMSnapshot shows it). So the marker lives in the VM's own Notes, on one line of its own:

    orchestrate-checkpoints: 6f1c...,a93e...

listing the ids of the checkpoints we made. The admin's own text in the Notes is kept as it is. Retention
removes only checkpoints whose id is on that line, oldest first, never the baseline and never the checkpoint
being restored; a user's own checkpoint (not on the line) is never touched. Applying a checkpoint brings back
the VM's Notes as they were when it was taken, so the restore fragment puts the marker line back afterwards
(templates/actions/restore_checkpoint.ps1.j2).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from orchestrator.actions import (
    CHECKPOINT_NOTES_PREFIX,
    Action,
    RefuseVMs,
    RemoveCheckpoint,
    RestoreCheckpoint,
    TakeCheckpoint,
)
from orchestrator.facts import CheckpointFacts, HostFacts, VMFacts
from orchestrator.model import HostSpec, VMSpec
from orchestrator.operations import Verdict
from orchestrator.plan import Plan

PRE_ROLLBACK_PREFIX = "pre-rollback-"


def managed_ids(notes: str) -> frozenset[str]:
    """The checkpoint ids on the marker line of a VM's Notes (ids compare case-insensitively, as GUIDs do)."""
    ids: set[str] = set()
    for line in (notes or "").splitlines():
        stripped = line.strip()
        if stripped.lower().startswith(CHECKPOINT_NOTES_PREFIX):
            rest = stripped[len(CHECKPOINT_NOTES_PREFIX) :]
            ids.update(part.strip().lower() for part in rest.split(",") if part.strip())
    return frozenset(ids)


def user_notes(notes: str) -> str:
    """The VM's Notes without our marker line: what the admin wrote."""
    kept = [
        line
        for line in (notes or "").splitlines()
        if not line.strip().lower().startswith(CHECKPOINT_NOTES_PREFIX)
    ]
    return "\n".join(kept)


def is_managed(observed: VMFacts, checkpoint: CheckpointFacts) -> bool:
    return bool(checkpoint.id) and checkpoint.id.lower() in managed_ids(observed.notes)


def utc_stamp(moment: datetime) -> str:
    """20261125T020000Z: sortable, free of characters a checkpoint or task name would trip on."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def matches(vm_name: str, pattern: str | None) -> bool:
    """--vm GLOB and a schedule's `vms`: a glob, case-insensitive like Hyper-V's VM names."""
    return pattern is None or fnmatch.fnmatchcase(vm_name.lower(), pattern.lower())


def retention(
    vm: VMSpec, observed: VMFacts, *, adding: int = 0, protect: Iterable[str] = ()
) -> list[RemoveCheckpoint]:
    """Removals that leave `checkpoints.keep` of our checkpoints once `adding` new ones exist.

    The baseline never counts and is never removed; `protect` names (the checkpoint being restored, those a
    pending revert needs) count but stay, so the oldest of the others go first. No `keep`: nothing is pruned.
    """
    keep = vm.checkpoints.keep
    if keep is None:
        return []
    ids = managed_ids(observed.notes)
    baseline = vm.checkpoints.baseline
    ours = [c for c in observed.checkpoints if c.id and c.id.lower() in ids and c.name != baseline]
    excess = len(ours) + adding - max(keep, 0)
    if excess <= 0:
        return []
    protected = set(protect)
    order = sorted(
        (c for c in ours if c.name not in protected),
        key=lambda c: (c.created or datetime.min.replace(tzinfo=UTC)).astimezone(UTC),
    )
    return [RemoveCheckpoint(observed.name, c.name, c.id) for c in order[:excess]]


def pending_revert_checkpoints(facts: HostFacts) -> frozenset[str]:
    """Checkpoint names a revert task that has not run yet will restore: retention must leave them."""
    from orchestrator.schedules import pending_reverts

    return frozenset(checkpoint for _, checkpoint in pending_reverts(facts))


@dataclass(frozen=True, slots=True)
class Selection:
    """The inventory VMs an operation works on (present on the host, matching --vm), and notes on the rest."""

    vms: tuple[tuple[VMSpec, VMFacts], ...]
    notes: tuple[str, ...] = ()


def select(host: HostSpec, facts: HostFacts, vm_glob: str | None) -> Selection:
    chosen: list[tuple[VMSpec, VMFacts]] = []
    notes: list[str] = []
    for vm in host.vms:
        if not matches(vm.name, vm_glob) or vm.state == "absent":
            continue
        observed = facts.vm(vm.name)
        if observed is None:
            notes.append(
                f"VM {vm.name!r} is in the inventory but not on the host: skipped (apply creates it)"
            )
            continue
        chosen.append((vm, observed))
    if not chosen and not notes:
        what = f"--vm {vm_glob!r}" if vm_glob else "the inventory"
        notes.append(f"no VM of {what} on this host: nothing to do")
    return Selection(tuple(chosen), tuple(notes))


# -- orchestrate checkpoint -----------------------------------------------------------------------------------


def plan_checkpoint(host: HostSpec, facts: HostFacts, name: str, vm_glob: str | None = None) -> Plan:
    """A checkpoint named exactly `name` of each selected VM, then retention. A VM that already has a
    checkpoint of that name is refused (last), so a rollback never lands on an older state by mistake."""
    selection = select(host, facts, vm_glob)
    protect = pending_revert_checkpoints(facts) | {name}
    actions: list[Action] = []
    taken: list[str] = []
    for vm, observed in selection.vms:
        existing = observed.checkpoint(name)
        if existing is not None:
            taken.append(vm.name)
            continue
        actions.append(TakeCheckpoint(vm.name, name))
        actions.extend(retention(vm, observed, adding=1, protect=protect))
    if taken:
        actions.append(
            RefuseVMs(
                tuple(taken),
                f"a checkpoint named {name!r} already exists on VM(s) {', '.join(taken)}: nothing taken there "
                "(pick a new name, e.g. with the date, or remove the old checkpoint)",
            )
        )
    return Plan(tuple(actions), selection.notes)


def verify_checkpoint(host: HostSpec, plan: Plan, facts: HostFacts) -> Verdict:
    """Each new checkpoint exists and is marked ours; each pruned one is gone; retention held."""
    errors: list[str] = []
    for action in plan:
        if isinstance(action, TakeCheckpoint):
            observed = facts.vm(action.vm_name)
            checkpoint = observed.checkpoint(action.name) if observed else None
            if observed is None or checkpoint is None:
                errors.append(f"VM {action.vm_name!r}: no checkpoint named {action.name!r} after the run")
            elif not is_managed(observed, checkpoint):
                errors.append(
                    f"VM {action.vm_name!r}: checkpoint {action.name!r} exists but is not marked as ours in the "
                    "VM's Notes (retention would never prune it)"
                )
        elif isinstance(action, RemoveCheckpoint):
            observed = facts.vm(action.vm_name)
            if observed and any(c.id.lower() == action.id.lower() for c in observed.checkpoints):
                errors.append(
                    f"VM {action.vm_name!r}: checkpoint {action.name!r} is still there after pruning"
                )
    errors.extend(_retention_errors(host, plan, facts))
    return Verdict(errors)


def _retention_errors(host: HostSpec, plan: Plan, facts: HostFacts) -> list[str]:
    """Retention held: no more of our checkpoints than `keep`, unless protected ones alone are more."""
    errors: list[str] = []
    protected = pending_revert_checkpoints(facts) | {
        a.name for a in plan if isinstance(a, RestoreCheckpoint | TakeCheckpoint)
    }
    for vm_name in sorted({getattr(a, "vm_name", "") for a in plan} - {""}):
        vm, observed = host.vm(vm_name), facts.vm(vm_name)
        if vm is None or observed is None or vm.checkpoints.keep is None:
            continue
        ids = managed_ids(observed.notes)
        ours = [c for c in observed.checkpoints if c.id.lower() in ids and c.name != vm.checkpoints.baseline]
        allowed = max(vm.checkpoints.keep, len([c for c in ours if c.name in protected]))
        if len(ours) > allowed:
            errors.append(f"VM {vm_name!r}: {len(ours)} of our checkpoints remain, more than keep: {allowed}")
    return errors


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """`orchestrate checkpoint --name NAME`: take NAME on the selected VMs, then apply retention."""

    name: str
    vm_glob: str | None = None
    command: str = "checkpoint"

    def plan(self, host: HostSpec, facts: HostFacts) -> Plan:
        return plan_checkpoint(host, facts, self.name, self.vm_glob)

    def verify(self, host: HostSpec, plan: Plan, facts: HostFacts) -> Verdict:
        return verify_checkpoint(host, plan, facts)


# -- orchestrate rollback -------------------------------------------------------------------------------------


def plan_rollback(
    host: HostSpec, facts: HostFacts, to: str, vm_glob: str | None = None, now: datetime | None = None
) -> Plan:
    """Per selected VM: the optional `pre-rollback-<UTC time>` safety checkpoint, the restore (which also sets
    the inventory's power state), then retention. VMs without the checkpoint are refused, last."""
    selection = select(host, facts, vm_glob)
    stamp = utc_stamp(now or datetime.now(UTC))
    protect = pending_revert_checkpoints(facts) | {to}
    actions: list[Action] = []
    missing: list[str] = []
    for vm, observed in selection.vms:
        if observed.checkpoint(to) is None:
            missing.append(vm.name)
            continue
        adding = 0
        if vm.checkpoints.pre_rollback:
            safety = PRE_ROLLBACK_PREFIX + stamp
            if observed.checkpoint(safety) is None:
                actions.append(TakeCheckpoint(vm.name, safety))
                adding = 1
            protect = protect | {safety}
        actions.append(
            RestoreCheckpoint(
                vm.name,
                to,
                "off" if vm.state == "off" else "running",
                before_checkpoint=observed.parent_checkpoint,
                before_state=observed.state,
            )
        )
        actions.extend(retention(vm, observed, adding=adding, protect=protect))
    if missing:
        known = {
            name: ", ".join(repr(c.name) for c in facts.vm(name).checkpoints) or "none"  # type: ignore[union-attr]
            for name in missing
        }
        detail = "; ".join(f"{name} has {known[name]}" for name in missing)
        actions.append(
            RefuseVMs(
                tuple(missing),
                f"no checkpoint named {to!r} on VM(s) {', '.join(missing)}: not rolled back ({detail})",
            )
        )
    return Plan(tuple(actions), selection.notes)


def verify_rollback(host: HostSpec, plan: Plan, facts: HostFacts) -> Verdict:
    """Not just the exit code: each restored VM must now descend from the checkpoint and be in its power state.
    (That its configuration equals the checkpoint's is checked on the host, where the checkpoint's settings
    are at hand, by the restore fragment itself.)"""
    errors: list[str] = []
    for action in plan:
        if not isinstance(action, RestoreCheckpoint):
            continue
        observed = facts.vm(action.vm_name)
        if observed is None:
            errors.append(f"VM {action.vm_name!r} is gone after the rollback")
            continue
        if observed.parent_checkpoint != action.name:
            errors.append(
                f"VM {action.vm_name!r}: after the rollback its parent checkpoint is "
                f"{observed.parent_checkpoint!r}, not {action.name!r}"
            )
        want = "Running" if action.state == "running" else "Off"
        if observed.state != want:
            errors.append(f"VM {action.vm_name!r}: after the rollback it is {observed.state}, not {want}")
    return Verdict(errors + verify_checkpoint(host, plan, facts).errors)


@dataclass(frozen=True, slots=True)
class Rollback:
    """`orchestrate rollback --to NAME`: restore NAME on the selected VMs and verify they are back on it."""

    to: str
    vm_glob: str | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    command: str = "rollback"

    def plan(self, host: HostSpec, facts: HostFacts) -> Plan:
        return plan_rollback(host, facts, self.to, self.vm_glob, self.now)

    def verify(self, host: HostSpec, plan: Plan, facts: HostFacts) -> Verdict:
        return verify_rollback(host, plan, facts)
