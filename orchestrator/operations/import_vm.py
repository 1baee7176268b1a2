"""`orchestrate import`: Compare-VM, then Import-VM of one exported VM on one host, checked afterwards. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.actions import ImportVM, RefuseVMs
from orchestrator.facts import HostFacts, VMFacts, managed_ids
from orchestrator.model import HostSpec
from orchestrator.operations.base import Scripts, Verdict, alike_refusal, edition_problems
from orchestrator.operations.export import IMPORT_MODES, export_folder_of, job_timeout, share_probe
from orchestrator.plan import Plan


def inventory_switch(host: HostSpec, name: str | None) -> str | None:
    """The switch the inventory names for a VM of that name on the host, else the one most of its VMs use."""
    if name:
        vm = host.vm(name)
        if vm is not None and vm.switch:
            return vm.switch
    counts: dict[str, int] = {}
    for vm in host.vms:
        if vm.switch:
            counts[vm.switch] = counts.get(vm.switch, 0) + 1
    if not counts:
        return None
    return max(sorted(counts), key=lambda s: counts[s])


def register_problem(source: str) -> str | None:
    """Why `--mode register` must not take this source, or None. Register runs the VM from its files where they
    lie; inside one of our export folders those are files that `orchestrate export --keep` deletes, folder and
    all, once newer exports of the VM exist (export.prune): the VM would lose its disks. A copy mode puts
    the files in the host's own VM folder instead."""
    folder = export_folder_of(source)
    if folder is None:
        return None
    return (
        f"{source} lies in the export folder {folder}, which `orchestrate export --keep` deletes once newer "
        "exports exist, and a registered VM would run from its files; use --mode copy (keeps the VM id) or "
        "copy-new-id, which copy them to the host's VM folder"
    )


def plan_import(
    host: HostSpec,
    facts: HostFacts,
    source: str,
    *,
    mode: str = "copy-new-id",
    new_name: str | None = None,
    start: bool = False,
    timeout_seconds: int = 3600,
    check_only: bool = False,
) -> Plan:
    """One ImportVM (Compare-VM first, on the host); with `start` the fragment starts the VM it imported
    (whatever its name turns out to be), so verify can check its edition."""
    if mode not in IMPORT_MODES:
        raise ValueError(f"import mode must be one of {', '.join(IMPORT_MODES)}, not {mode!r}")
    if new_name is not None and facts.vm(new_name) is not None:
        return Plan(
            (
                RefuseVMs(
                    (new_name,), f"a VM named {new_name!r} already exists on {host.name}: pick another --name"
                ),
            )
        )
    if new_name is not None and (alike := alike_refusal(host, facts, new_name, "pick another --name")):
        return Plan((alike,))
    spec = host.vm(new_name) if new_name else None
    action = ImportVM(
        source,
        mode=mode,
        new_name=new_name,
        switch=inventory_switch(host, new_name),
        vm_path=spec.path if spec else None,
        start=start,
        timeout_seconds=timeout_seconds,
        check_only=check_only,
    )
    return Plan((*share_probe(source, write=False, host=host), action))


@dataclass(frozen=True, slots=True)
class ImportBasis:
    """The host's VM ids when the import was planned."""

    vm_ids: frozenset[str]


@dataclass(frozen=True, slots=True)
class Import:
    """`orchestrate import --host HOST --from EXPORT_DIR`: one VM imported and checked."""

    source: str
    mode: str = "copy-new-id"
    new_name: str | None = None
    start: bool = False
    timeout_seconds: int | None = None
    check_only: bool = False
    command: str = "import"

    def plan(self, host: HostSpec, facts: HostFacts, scripts: Scripts) -> Plan:
        planned = plan_import(
            host,
            facts,
            self.source,
            mode=self.mode,
            new_name=self.new_name,
            start=self.start,
            timeout_seconds=job_timeout(host, self.timeout_seconds),
            check_only=self.check_only,
        )
        # The VM ids before the import: verify finds the one new VM among the facts after it.
        before = frozenset(v.id.lower() for v in facts.vms.all)  # every VM, a second one of a name too
        return Plan(planned.actions, planned.notes, basis=ImportBasis(before))

    def verify(self, host: HostSpec, plan: Plan, facts: HostFacts) -> Verdict:
        if self.check_only:
            return Verdict()
        before = plan.basis.vm_ids if isinstance(plan.basis, ImportBasis) else frozenset()
        new = [v for v in facts.vms.all if v.id.lower() not in before]
        if self.new_name is not None:
            new = [v for v in facts.vms.all if v.name.lower() == self.new_name.lower()]
        if len(new) != 1:
            return Verdict([f"after the import {len(new)} new VM(s) are on the host, not exactly one"])
        errors: list[str] = []
        warnings: list[str] = []
        if new[0].running:
            errors, warnings = edition_problems(new[0])
        if (lost := lost_marker(new[0])) is not None:
            warnings.append(lost)
        return Verdict(errors, warnings)


def lost_marker(observed: VMFacts) -> str | None:
    """A warning when the VM's marker of our checkpoints (its Notes' `orchestrate-checkpoints:` line,
    operations/retention.py) names ids none of its checkpoints has: Import-VM -GenerateNewId gives the VM a
    new id (Import-VM.md), and whether its checkpoints get new ones too is on no page (audit J L9). If they
    do, nothing can tell which of them were ours (the ids were the proof, and a name is no proof), so none is
    taken for ours: retention keeps them all, which never removes anyone's checkpoint but lets ours pile up.
    The line itself is rewritten without those ids by the next checkpoint or rollback."""
    live = {c.id.lower() for c in observed.checkpoints if c.id}
    lost = [marker_id for marker_id in managed_ids(observed.notes) if marker_id not in live]
    if not lost:
        return None
    return (
        f"VM {observed.name!r}: {len(lost)} checkpoint(s) orchestrate took are no longer known by their ids "
        "(the import gave the checkpoints new ones), so retention (keep) will not remove any of the VM's "
        "checkpoints; remove the old ones by hand when no longer needed (Get-VMSnapshot, Remove-VMSnapshot)"
    )
