"""What every operation shares: the Operation shape, its Verdict, the scripts port, and the VM selection.

An operation is two pure functions: `plan(host, facts, scripts) -> Plan` (desired + observed -> actions)
and `verify(host, plan, facts) -> Verdict` (what the host reports after the run -> what is still wrong).
Whatever the planner saw that verify or the caller needs later travels in the Plan (`Plan.basis`), never in
the operation object, so one operation object serves every host of a run, in parallel, unchanged.

`scripts` is the port to the run's Renderer: a planner that must embed a whole script in an action (a
scheduled task's command) renders it there, so a `--templates` override reaches that script too, and no
planner ever builds a Renderer of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from orchestrator.actions import Action, RefuseVMs
from orchestrator.facts import SKU_MULTIPOINT_PREMIUM, HostFacts, VMFacts
from orchestrator.model import HostSpec, VMSpec
from orchestrator.names import matches_name
from orchestrator.plan import Plan


@dataclass(frozen=True, slots=True)
class Verdict:
    """After a run: errors fail the host; warnings are shown and journaled but do not."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    fix: str | None = None


class Scripts(Protocol):
    """The run's script renderer as a planner sees it (orchestrator.render.Renderer satisfies it)."""

    def render_operation(
        self,
        template: str,
        host: HostSpec,
        version: str | None,
        cmdlets: Mapping[str, Iterable[str]] | None = None,
        **context: Any,
    ) -> str: ...


class Operation(Protocol):
    command: str

    def plan(self, host: HostSpec, facts: HostFacts, scripts: Scripts) -> Plan: ...

    def verify(self, host: HostSpec, plan: Plan, facts: HostFacts) -> Verdict: ...


# -- which VMs an operation works on ----------------------------------------------------------------------------


def matches(vm_name: str, pattern: str | None, known: Iterable[str] = ()) -> bool:
    """--vm and a schedule's `vms`: an exact VM name (any of `known`, or this VM's) before any glob meaning,
    case-insensitive like Hyper-V's VM names (orchestrator.names says why and how to escape)."""
    return matches_name(vm_name, pattern, known=known)


@dataclass(frozen=True, slots=True)
class Selection:
    """The inventory VMs an operation works on (present on the host, matching --vm), notes on the rest, and
    the VMs a move holds (name, why): no operation touches those, and saying so fails the host."""

    vms: tuple[tuple[VMSpec, VMFacts], ...]
    notes: tuple[str, ...] = ()
    held: tuple[tuple[str, str], ...] = ()

    def refusal(self) -> RefuseVMs | None:
        if not self.held:
            return None
        return RefuseVMs(tuple(n for n, _ in self.held), "; ".join(f"VM {n!r} {why}" for n, why in self.held))


def with_refusals(actions: list[Action], *refusals: RefuseVMs | None) -> list[Action]:
    """The plan's actions with every refusal (given, or already among the actions) merged into one, last: a
    refusal throws on the host, so a second one would never be reached and its VMs never named."""
    found = [a for a in actions if isinstance(a, RefuseVMs)] + [r for r in refusals if r is not None]
    if not found:
        return actions
    kept = [a for a in actions if not isinstance(a, RefuseVMs)]
    if len(found) == 1:
        return [*kept, found[0]]
    names = tuple(n for r in found for n in r.vm_names)
    return [*kept, RefuseVMs(names, "; ".join(r.message for r in found))]


def select(host: HostSpec, facts: HostFacts, vm_glob: str | None, known: Iterable[str] = ()) -> Selection:
    """The VMs `--vm` selects on this host. `known`: every VM name of the inventory (the runner hands the
    operation all of them), so that `lab[1]`, a VM of another host, never selects `lab1` here as a glob."""
    known = [*known, *(vm.name for vm in host.vms)]
    chosen: list[tuple[VMSpec, VMFacts]] = []
    notes: list[str] = []
    held: list[tuple[str, str]] = []
    for vm in host.vms:
        if not matches(vm.name, vm_glob, known) or vm.state == "absent":
            continue
        record = facts.move_of(vm.name)
        if record is not None:
            held.append((vm.name, record.describe()))
            continue
        observed = facts.vm(vm.name)
        if observed is None:
            notes.append(
                f"VM {vm.name!r} is in the inventory but not on the host: skipped (apply creates it)"
            )
            continue
        chosen.append((vm, observed))
    if not chosen and not notes and not held:
        what = f"--vm {vm_glob!r}" if vm_glob else "the inventory"
        notes.append(f"no VM of {what} on this host: nothing to do")
    return Selection(tuple(chosen), tuple(notes), tuple(held))


# -- the guest must be MultiPoint Premium -------------------------------------------------------------------------


def edition_problems(observed: VMFacts, *, later: str = "check it later") -> tuple[list[str], list[str]]:
    """(errors, warnings) about a running VM's guest edition, reported by the guest through KVP: only
    MultiPoint Server Premium (OSEditionId 77) runs as a Hyper-V guest (multipoint-facts.md), so anything
    else fails loudly; a guest that has not reported yet is a warning."""
    sku = observed.guest_edition_sku
    if sku is None:
        return [], [f"VM {observed.name!r}: the guest has not reported its edition yet (KVP); {later}"]
    if sku != SKU_MULTIPOINT_PREMIUM:
        return [f"VM {observed.name!r} runs guest edition SKU {sku}, not MultiPoint Server Premium (77)"], []
    return [], []


PREMIUM_FIX = "rebuild the VM from Premium media: only Premium is supported as a Hyper-V guest"


def alike_refusal(host: HostSpec, facts: HostFacts, name: str, outcome: str) -> RefuseVMs | None:
    """A VM about to be named `name` on this host (a move's copy, an import's --name) where a VM of another
    name shares its alike_key: the scripts' `-eq` there may find both, so nothing is done (vm_index.py).
    `outcome`: what happens instead, and what to do."""
    alike = facts.vms.alike(name)
    if not alike:
        return None
    return RefuseVMs(
        (name,),
        f"{host.name} has a VM whose name a real host's name comparison may take for {name!r} "
        f"({', '.join(repr(vm.name) for vm in alike)}): {outcome}",
    )


def answer_file_refusal(vm_names: list[str], what: str) -> RefuseVMs | None:
    """A refusal for VMs whose guest is still in Windows setup, for an operation that would keep a copy of its
    disk (`what`: a checkpoint, an export): until SetupComplete.cmd deletes it, the disk holds the answer file
    with the Administrator password (Base64 only) and the domain-join password in plain text (docs/real-hosts.md,
    "How the guest's secrets travel"), which the baseline is taken only after, for this reason. None when there
    are none."""
    if not vm_names:
        return None
    return RefuseVMs(
        tuple(vm_names),
        f"VM(s) {', '.join(vm_names)}: their guest is still in setup (not ready yet), and its disk still holds the "
        f"answer file with the passwords until setup ends: {what} now would keep a copy of it; run "
        "`orchestrate apply` to wait until they are ready, then try again",
    )


def in_setup_refusal(vm_names: list[str], what: str) -> RefuseVMs | None:
    """A refusal for VMs whose guest is still in Windows setup (facts.VMFacts.guest_in_setup): `what` (a
    rollback, a move) would turn them off, and setup cut off cannot finish (multipoint-facts.md: "never power
    off during it"). None when there are none."""
    if not vm_names:
        return None
    return RefuseVMs(
        tuple(vm_names),
        f"VM(s) {', '.join(vm_names)}: their guest is still in setup (not ready yet), and {what} would turn "
        "them off, which Windows setup cannot survive; run `orchestrate apply` to wait until they are ready, "
        "then try again",
    )
