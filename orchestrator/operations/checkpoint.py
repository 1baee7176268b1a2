"""`orchestrate checkpoint --name NAME`: take NAME on the selected VMs, then apply retention. Pure.

Which checkpoints are ours, and how retention picks the ones to prune: orchestrator.operations.retention.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.actions import Action, RefuseVMs, RemoveCheckpoint, RestoreCheckpoint, TakeCheckpoint
from orchestrator.facts import HostFacts
from orchestrator.model import HostSpec
from orchestrator.operations.base import Scripts, Verdict, answer_file_refusal, select, with_refusals
from orchestrator.operations.host_tasks import pending_revert_checkpoints
from orchestrator.operations.retention import is_managed, managed_ids, retention
from orchestrator.plan import Plan


def plan_checkpoint(
    host: HostSpec, facts: HostFacts, name: str, vm_glob: str | None = None, known: frozenset[str] = frozenset()
) -> Plan:
    """A checkpoint named exactly `name` of each selected VM, then retention. A VM that already has a
    checkpoint of that name is refused (last), so a rollback never lands on an older state by mistake; so is
    a VM whose guest is still in setup (its disk holds the answer file: base.answer_file_refusal)."""
    selection = select(host, facts, vm_glob, known)
    protect = pending_revert_checkpoints(facts) | {name}
    actions: list[Action] = []
    taken: list[str] = []
    alike: list[str] = []
    in_setup: list[str] = []
    for vm, observed in selection.vms:
        if observed.guest_in_setup:
            in_setup.append(vm.name)
            continue
        existing = observed.checkpoint(name)
        if existing is not None:
            taken.append(vm.name)
            continue
        if observed.checkpoints_alike(name):  # -eq on a real host could find it and take it for ours
            alike.append(vm.name)
            continue
        actions.append(TakeCheckpoint(vm.name, name))
        actions.extend(retention(vm, observed, adding=1, protect=protect))
    own = (
        RefuseVMs(
            tuple(taken),
            f"a checkpoint named {name!r} already exists on VM(s) {', '.join(taken)}: nothing taken there "
            "(pick a new name, e.g. with the date, or remove the old checkpoint)",
        )
        if taken
        else None
    )
    similar = (
        RefuseVMs(
            tuple(alike),
            f"VM(s) {', '.join(alike)} have a checkpoint whose name a real host's name comparison may take for "
            f"{name!r}: nothing taken there (pick a name that differs in more than case, accents or ligatures)",
        )
        if alike
        else None
    )
    setup = answer_file_refusal(in_setup, "a checkpoint")
    return Plan(tuple(with_refusals(actions, own, similar, setup, selection.refusal())), selection.notes)


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
    protected = {name.lower() for name in pending_revert_checkpoints(facts)} | {
        a.name.lower() for a in plan if isinstance(a, RestoreCheckpoint | TakeCheckpoint)
    }
    for vm_name in sorted({getattr(a, "vm_name", "") for a in plan} - {""}):
        vm, observed = host.vm(vm_name), facts.vm(vm_name)
        if vm is None or observed is None or vm.checkpoints.keep is None:
            continue
        ids = managed_ids(observed.notes)
        baseline = (vm.checkpoints.baseline or "").lower()
        ours = [c for c in observed.checkpoints if c.id.lower() in ids and c.name.lower() != baseline]
        allowed = max(vm.checkpoints.keep, len([c for c in ours if c.name.lower() in protected]))
        if len(ours) > allowed:
            errors.append(f"VM {vm_name!r}: {len(ours)} of our checkpoints remain, more than keep: {allowed}")
    return errors


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """`orchestrate checkpoint --name NAME`: take NAME on the selected VMs, then apply retention."""

    name: str
    vm_glob: str | None = None
    command: str = "checkpoint"
    known_names: frozenset[str] = frozenset()  # every VM name of the inventory (the runner sets it)

    def plan(self, host: HostSpec, facts: HostFacts, scripts: Scripts) -> Plan:
        return plan_checkpoint(host, facts, self.name, self.vm_glob, self.known_names)

    def verify(self, host: HostSpec, plan: Plan, facts: HostFacts) -> Verdict:
        return verify_checkpoint(host, plan, facts)
