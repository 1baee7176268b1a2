"""`orchestrate apply`: make every host hold what the inventory says. Pure.

The VMs are diffed by orchestrator.plan (the pure desired-vs-observed VM diff); the host's scheduled rollback
tasks by orchestrator.operations.schedules. Verify re-plans against the facts the apply script printed:
anything left is an error, and every VM the run started must report MultiPoint Premium.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.actions import ApplySchedule, StartVM
from orchestrator.facts import HostFacts
from orchestrator.model import HostSpec
from orchestrator.operations.base import PREMIUM_FIX, Scripts, Verdict, edition_problems
from orchestrator.operations.schedules import desired_schedules, schedule_changes
from orchestrator.plan import Plan, plan_host


@dataclass(frozen=True, slots=True)
class ConvergeBasis:
    """What verify diffs the new facts against: the desired tasks as planned (already rendered)."""

    schedules: tuple[ApplySchedule, ...] = ()


def plan_converge(host: HostSpec, facts: HostFacts, scripts: Scripts) -> Plan:
    """The VM actions, then the schedule actions (tasks restore VMs that exist by then)."""
    vms = plan_host(host, facts)
    wanted = desired_schedules(host, facts, scripts)
    schedule_actions, schedule_notes = schedule_changes(wanted, facts)
    return Plan(
        (*vms.actions, *schedule_actions), (*vms.notes, *schedule_notes), basis=ConvergeBasis(wanted)
    )


def leftover(host: HostSpec, plan: Plan, facts: HostFacts) -> Plan:
    """What a converge would still do after the run: the VM diff and, as planned, the task diff."""
    vms = plan_host(host, facts)
    basis = plan.basis if isinstance(plan.basis, ConvergeBasis) else ConvergeBasis()
    tasks, _ = schedule_changes(basis.schedules, facts) if plan.basis is not None else ([], [])
    return Plan((*vms.actions, *tasks))


@dataclass(frozen=True, slots=True)
class Converge:
    """`orchestrate apply`: make every host hold what the inventory says."""

    command: str = "apply"

    def plan(self, host: HostSpec, facts: HostFacts, scripts: Scripts) -> Plan:
        return plan_converge(host, facts, scripts)

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
