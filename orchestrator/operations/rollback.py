"""`orchestrate rollback --to NAME`: restore NAME on the selected VMs, verify they are back on it. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from orchestrator.actions import Action, RefuseVMs, RestoreCheckpoint, TakeCheckpoint
from orchestrator.facts import HostFacts
from orchestrator.model import HostSpec
from orchestrator.operations.base import Scripts, Verdict, in_setup_refusal, select, with_refusals
from orchestrator.operations.checkpoint import verify_checkpoint
from orchestrator.operations.host_tasks import pending_revert_checkpoints
from orchestrator.operations.retention import retention, utc_stamp
from orchestrator.plan import Plan

PRE_ROLLBACK_PREFIX = "pre-rollback-"



def plan_rollback(
    host: HostSpec, facts: HostFacts, to: str, vm_glob: str | None = None, now: datetime | None = None, known: frozenset[str] = frozenset()
) -> Plan:
    """Per selected VM: the optional `pre-rollback-<UTC time>` safety checkpoint, the restore (which also sets
    the inventory's power state), then retention. VMs without the checkpoint are refused, last."""
    selection = select(host, facts, vm_glob, known)
    stamp = utc_stamp(now or datetime.now(UTC))
    protect = pending_revert_checkpoints(facts) | {to}
    actions: list[Action] = []
    missing: list[str] = []
    alike: list[str] = []
    in_setup: list[str] = []
    for vm, observed in selection.vms:
        if observed.guest_in_setup:
            in_setup.append(vm.name)
            continue
        if observed.checkpoint(to) is None:
            missing.append(vm.name)
            continue
        if observed.checkpoints_alike(to):  # -eq on a real host finds it too: two matches, or the wrong one
            alike.append(vm.name)
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
    own = None
    if missing:
        known = {
            name: ", ".join(repr(c.name) for c in facts.vm(name).checkpoints) or "none"  # type: ignore[union-attr]
            for name in missing
        }
        detail = "; ".join(f"{name} has {known[name]}" for name in missing)
        own = RefuseVMs(
            tuple(missing),
            f"no checkpoint named {to!r} on VM(s) {', '.join(missing)}: not rolled back ({detail})",
        )
    similar = (
        RefuseVMs(
            tuple(alike),
            f"VM(s) {', '.join(alike)} also have a checkpoint whose name a real host's name comparison may take "
            f"for {to!r}: not rolled back (rename one of them on the host: Rename-VMSnapshot)",
        )
        if alike
        else None
    )
    setup = in_setup_refusal(in_setup, "a rollback")
    return Plan(tuple(with_refusals(actions, own, similar, setup, selection.refusal())), selection.notes)


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
        # The facts read the parent from $vm.ParentSnapshotName, a property no 2012 page lists: a host without
        # it reports none, which is unknown, not another checkpoint (audit J L5); the restore's own result
        # names it then (runner/results.py Restored), so it is not said twice here.
        parent = observed.parent_checkpoint
        if parent is not None and parent.lower() != action.name.lower():  # as the script's -ne compares
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
    known_names: frozenset[str] = frozenset()  # every VM name of the inventory (the runner sets it)

    def plan(self, host: HostSpec, facts: HostFacts, scripts: Scripts) -> Plan:
        return plan_rollback(host, facts, self.to, self.vm_glob, self.now, self.known_names)

    def verify(self, host: HostSpec, plan: Plan, facts: HostFacts) -> Verdict:
        return verify_rollback(host, plan, facts)
