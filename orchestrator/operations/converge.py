"""`orchestrate apply`: make every host hold what the inventory says. Pure.

The VMs are diffed by orchestrator.plan (the pure desired-vs-observed VM diff); the host's scheduled rollback
tasks by orchestrator.operations.schedules. Verify re-plans against the facts the apply script printed:
anything left is an error, and every VM the run started must report MultiPoint Premium.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from orchestrator.actions import ApplySchedule, RefuseVMs, StartVM
from orchestrator.facts import HostFacts
from orchestrator.model import HostSpec
from orchestrator.operations.base import PREMIUM_FIX, Scripts, Verdict, edition_problems, with_refusals
from orchestrator.operations.schedules import desired_schedules, schedule_changes
from orchestrator.plan import Plan, plan_host


@dataclass(frozen=True, slots=True)
class ConvergeBasis:
    """What verify diffs the new facts against: the desired tasks as planned (already rendered)."""

    schedules: tuple[ApplySchedule, ...] = ()
    held: frozenset[str] = frozenset()  # VMs a move record holds: neither planned nor verified


def plan_converge(host: HostSpec, facts: HostFacts, scripts: Scripts, *, retake_baseline: bool = False) -> Plan:
    """The VM actions, then the schedule actions (tasks restore VMs that exist by then).

    A VM with a move record on this host is neither created, started nor changed, and no task restores it:
    a move is taking it (or took it) to another host, and the inventory may not know yet. The plan refuses
    it, last, naming the move and what to change (orchestrator.move_records)."""
    held = {vm.name: record for vm in host.vms if (record := facts.move_of(vm.name)) is not None}
    vms = plan_host(host, facts, hold=frozenset(held), retake_baseline=retake_baseline)
    kept = replace(host, vms=tuple(vm for vm in host.vms if vm.name not in held)) if held else host
    wanted = desired_schedules(kept, facts, scripts)
    schedule_actions, schedule_notes = schedule_changes(wanted, facts)
    refusal = (
        RefuseVMs(tuple(held), "; ".join(f"VM {name!r} {r.describe()}" for name, r in held.items()))
        if held
        else None
    )
    return Plan(
        tuple(with_refusals([*vms.actions, *schedule_actions], refusal)),
        (*vms.notes, *schedule_notes),
        basis=ConvergeBasis(wanted, frozenset(held)),
    )


def leftover(host: HostSpec, plan: Plan, facts: HostFacts) -> Plan:
    """What a converge would still do after the run: the VM diff and, as planned, the task diff."""
    basis = plan.basis if isinstance(plan.basis, ConvergeBasis) else ConvergeBasis()
    vms = plan_host(host, facts, hold=basis.held)
    tasks, _ = schedule_changes(basis.schedules, facts) if plan.basis is not None else ([], [])
    return Plan((*vms.actions, *tasks))


@dataclass(frozen=True, slots=True)
class Converge:
    """`orchestrate apply`: make every host hold what the inventory says."""

    command: str = "apply"
    retake_baseline: bool = False  # --retake-baseline: a lost baseline is taken anew from the VM as it is

    def plan(self, host: HostSpec, facts: HostFacts, scripts: Scripts) -> Plan:
        return plan_converge(host, facts, scripts, retake_baseline=self.retake_baseline)

    def verify(self, host: HostSpec, plan: Plan, facts: HostFacts) -> Verdict:
        errors: list[str] = []
        warnings: list[str] = []
        left = leftover(host, plan, facts)
        if not left.empty:
            pending = "; ".join(a.summary() for a in left)
            errors.append(f"verify: the host still differs from the inventory after apply: {pending}")
        fix = None
        for name in sorted({a.vm_name for a in plan if isinstance(a, StartVM)}):
            observed = facts.vm(name)
            if observed is not None and observed.guest_state == "ready":
                continue  # the wait for its guest checked OSEditionId 77 before its baseline (WaitGuestsReady)
            if observed is None:
                warnings.append(
                    f"VM {name!r}: the guest has not reported its edition yet (KVP); checked next run"
                )
                continue
            vm_errors, vm_warnings = edition_problems(observed, later="checked next run")
            errors += vm_errors
            warnings += vm_warnings
            if vm_errors:
                fix = PREMIUM_FIX
        return Verdict(errors, warnings, fix)
