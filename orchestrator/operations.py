"""What a run does to each host, as data: `apply` converges; later operations (checkpoint, rollback, export)
plan other actions through the same pipeline (facts -> rules -> plan -> render -> run -> verify).

An operation is two pure functions: plan (desired + observed -> actions) and verify (what the host reports
after the run -> what is still wrong). The runner owns everything else: parallelism, locks, the journal,
transports, events. So a new operation never re-implements the dangerous parts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from orchestrator.actions import StartVM
from orchestrator.facts import SKU_MULTIPOINT_PREMIUM, HostFacts
from orchestrator.model import HostSpec
from orchestrator.plan import Plan, plan_host


@dataclass(frozen=True, slots=True)
class Verdict:
    """After a run: errors fail the host; warnings are shown and journaled but do not."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    fix: str | None = None


class Operation(Protocol):
    command: str

    def plan(self, host: HostSpec, facts: HostFacts) -> Plan: ...

    def verify(self, host: HostSpec, plan: Plan, facts: HostFacts) -> Verdict: ...


@dataclass(frozen=True, slots=True)
class Converge:
    """`orchestrate apply`: make every host hold what the inventory says."""

    command: str = "apply"

    def plan(self, host: HostSpec, facts: HostFacts) -> Plan:
        return plan_host(host, facts)

    def verify(self, host: HostSpec, plan: Plan, facts: HostFacts) -> Verdict:
        errors: list[str] = []
        warnings: list[str] = []
        leftover = plan_host(host, facts)
        if not leftover.empty:
            pending = "; ".join(a.summary() for a in leftover)
            errors.append(f"verify: the host still differs from the inventory after apply: {pending}")
        fix = None
        # A VM we just started must report Premium (OSEditionId 77) through KVP; anything else fails loudly.
        for name in sorted({a.vm_name for a in plan if isinstance(a, StartVM)}):
            observed = facts.vm(name)
            sku = observed.guest_edition_sku if observed else None
            if sku is None:
                warnings.append(
                    f"VM {name!r}: the guest has not reported its edition yet (KVP); checked next run"
                )
            elif sku != SKU_MULTIPOINT_PREMIUM:
                errors.append(f"VM {name!r} runs guest edition SKU {sku}, not MultiPoint Server Premium (77)")
                fix = "rebuild the VM from Premium media: only Premium is supported as a Hyper-V guest"
        return Verdict(errors, warnings, fix)
