"""`orchestrate move`: the planners of each step of a two-host move, and of its undo. Pure.

The workflow that runs them (both locks, the order, the undo decision, the journal) is
orchestrator.runner.move:

    1. source: turn the VM off, Export-VM to the share          (MoveExport)
    2. target: Import-VM -Copy (same id), Start-VM, check it     (MoveImport)
    3. source: remove the VM and its disks, or keep it off        (MoveFinish)

and, after a failure, UndoTarget (remove the copy, by id) then UndoSource (the source's power state back).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from orchestrator.actions import (
    Action,
    CheckParentDisks,
    ClearMoveRecord,
    DiscardVM,
    ExportVM,
    ImportVM,
    RefuseVMs,
    SetPowerState,
    StartVM,
    StopVM,
    WriteMoveRecord,
)
from orchestrator.facts import HostFacts, VMFacts
from orchestrator.host_rules import chain_dependents
from orchestrator.model import HostSpec, VMSpec
from orchestrator.move_records import MoveRecord
from orchestrator.operations.base import Scripts, Verdict, alike_refusal, edition_problems, in_setup_refusal
from orchestrator.operations.export import (
    PATTERN_NAME_REFUSAL,
    export_folder,
    job_timeout,
    longest_export_path,
    pattern_name_on_literal_export,
    share_probe,
)
from orchestrator.plan import Plan
from orchestrator.windows_paths import MAX_PATH


@dataclass(frozen=True, slots=True)
class MoveSource:
    """What the source VM was when the move began: the undo puts it back exactly so."""

    host: str
    vm_name: str
    vm_id: str
    state: str

    @classmethod
    def from_record(cls, record: MoveRecord) -> MoveSource:
        return cls(record.source, record.vm, record.vm_id, record.state)


def fingerprint(observed: VMFacts) -> tuple[object, ...]:
    """What the source VM is after its export, as far as the facts show it: the finish step removes it only
    if it is still exactly so (off, same size, same checkpoints). Unverified: a guest started and stopped
    again between the steps with nothing else changed shows the same fingerprint (Hyper-V reports no
    last-run time we read), so the record also makes apply, rollback and the host's tasks leave it off."""
    return (
        observed.state,
        observed.cpus,
        observed.memory_startup,
        observed.parent_checkpoint,
        tuple(sorted(c.id.lower() for c in observed.checkpoints)),
        tuple(sorted(d.path.lower() for d in observed.disks)),
    )


@dataclass(frozen=True, slots=True)
class FinishRefused:
    """The finish step found the source changed since its export: nothing is removed and nothing undone."""

    reason: str


@dataclass(frozen=True, slots=True)
class MoveExport:
    """Move, step 1 on the source: turn a running VM off (a move copies a quiet VM, so nothing written after
    the export is lost), then export it to the share."""

    vm_name: str
    via: str
    now: datetime
    timeout_seconds: int | None = None
    check_only: bool = False
    command: str = "move"
    record: MoveRecord | None = None  # the move's record, without the VM's id and state (the plan adds them)
    keep_source: bool = False  # the finish step leaves the source off instead of removing it with its disks

    def plan(self, host: HostSpec, facts: HostFacts, scripts: Scripts) -> Plan:
        """The plan's basis is the source VM as it was (a MoveSource): the undo puts it back exactly so. The
        record goes first, before the VM is stopped: from then on nothing from any box starts it here.

        A VM the host rules refused (runner/host.py drops it from `host`: a name two VMs share, a state such
        as Paused) is not stopped or exported: the plan is empty, and the refusal is the step's error."""
        if not any(vm.name.lower() == self.vm_name.lower() for vm in host.vms):
            return Plan(())
        earlier = facts.move_of(self.vm_name)
        if earlier is not None:
            return Plan((RefuseVMs((self.vm_name,), f"VM {self.vm_name!r} {earlier.describe()}"),))
        observed = facts.vm(self.vm_name)
        if observed is None:
            return Plan(
                (RefuseVMs((self.vm_name,), f"no VM named {self.vm_name!r} on {host.name}: nothing moved"),)
            )
        if observed.guest_in_setup:
            refusal = in_setup_refusal([observed.name], "a move")
            return Plan((refusal,) if refusal is not None else ())
        dependents = () if self.keep_source else chain_dependents(facts, observed)
        if dependents:
            # The finish step removes the source with its disk files (DiscardVM): another VM standing on one of
            # them could never start again. Its script refuses that too, walking the whole chains; the facts
            # show one level, which is enough to say it before anything is stopped (audit L H1).
            other, file = dependents[0]
            return Plan((RefuseVMs((self.vm_name,), f"VM {self.vm_name}: VM {other!r} on {host.name} stands on its "
                                   f"disk {file} (a differencing disk on it), and a move removes the source with "
                                   "its disks, after which that VM could never start: nothing moved; give "
                                   f"{other!r} a disk of its own first, or move with --keep-source"),))
        folder = export_folder(self.via, self.vm_name, self.now)
        if pattern_name_on_literal_export(observed.name, facts):
            return Plan((RefuseVMs((self.vm_name,), PATTERN_NAME_REFUSAL.format(
                names=observed.name, version=facts.version).replace("not exported", "nothing moved")),))
        if longest_export_path(folder, observed.name, observed) >= MAX_PATH:
            return Plan((RefuseVMs((self.vm_name,), f"VM {self.vm_name}: its export to {self.via} would write "
                                   f"files whose paths pass Windows' {MAX_PATH} characters: nothing moved; move "
                                   "it through a share with a shorter path"),))
        seen = MoveSource(host.name, observed.name, observed.id, observed.state)
        actions: list[Action] = share_probe(self.via, write=not self.check_only, host=host)
        if self.record is not None and not self.check_only:
            record = replace(self.record, vm=observed.name, vm_id=observed.id.lower(), state=observed.state)
            actions.append(WriteMoveRecord(observed.name, record.file, record.phase, record.text()))
        if observed.state not in ("Off", "Saved") and not self.check_only:
            # A saved VM is quiet already, and its saved state travels in the export: left as it is.
            actions.append(StopVM(self.vm_name, reason="move: the copy is taken from a VM that is off"))
        actions.append(
            ExportVM(
                self.vm_name,
                self.via,
                folder,
                timeout_seconds=job_timeout(host, self.timeout_seconds),
                check_only=self.check_only,
            )
        )
        return Plan(tuple(actions), basis=seen)

    def verify(self, host: HostSpec, plan: Plan, facts: HostFacts) -> Verdict:
        observed = facts.vm(self.vm_name)
        if observed is None:
            return Verdict([f"VM {self.vm_name!r} is gone from {host.name} after its export"])
        if not self.check_only and observed.state not in ("Off", "Saved"):
            return Verdict([f"VM {self.vm_name!r} is {observed.state} after the export, not Off"])
        return Verdict()


@dataclass(frozen=True, slots=True)
class MoveImport:
    """Move, step 2 on the target: import the export (same VM id, files copied), start it, check it."""

    vm_name: str
    vm_id: str
    export_path: str
    switch: str | None = None
    vm_path: str | None = None
    timeout_seconds: int | None = None
    check_only: bool = False
    command: str = "move"
    via: str = ""  # the share the export is on: probed (read) before the move's first change
    parents: tuple[str, ...] = ()  # the images under the VM's differencing disk: must be here too

    def plan(self, host: HostSpec, facts: HostFacts, scripts: Scripts) -> Plan:
        if facts.vm(self.vm_name) is not None:
            return Plan(
                (
                    RefuseVMs(
                        (self.vm_name,),
                        f"a VM named {self.vm_name!r} already exists on {host.name}: not moved (if an earlier "
                        "move of it was cut short, finish it with `orchestrate move ... --resume` or put it back "
                        "with `--undo`)",
                    ),
                )
            )
        alike = alike_refusal(
            host, facts, self.vm_name,
            "not moved, as the steps after the import could act on that VM; rename one of them first",
        )
        if alike is not None:
            return Plan((alike,))
        probe = [*share_probe(self.via, write=False, host=host),
                 *([CheckParentDisks(self.vm_name, self.parents)] if self.parents else [])]
        if self.check_only:
            return Plan(tuple(probe))
        return Plan(
            (
                *probe,
                ImportVM(
                    self.export_path,
                    mode="copy",
                    switch=self.switch,
                    vm_path=self.vm_path,
                    expect_id=self.vm_id,
                    timeout_seconds=job_timeout(host, self.timeout_seconds),
                ),
                StartVM(self.vm_name),
            )
        )

    def verify(self, host: HostSpec, plan: Plan, facts: HostFacts) -> Verdict:
        if self.check_only:
            return Verdict()
        observed = facts.vm(self.vm_name)
        if observed is None or observed.id.lower() != self.vm_id.lower():
            return Verdict(
                [f"VM {self.vm_name!r} with id {self.vm_id} is not on {host.name} after the import"]
            )
        if not observed.running:
            return Verdict(
                [f"VM {self.vm_name!r} is {observed.state} on {host.name} after Start-VM, not Running"]
            )
        errors, warnings = edition_problems(observed)
        return Verdict(errors, warnings)


@dataclass(frozen=True, slots=True)
class MoveFinish:
    """Move, step 3 on the source, once the target runs the VM: remove it (or leave it off: `keep_source`)."""

    source: MoveSource
    keep_source: bool = False
    command: str = "move"
    expected: tuple[object, ...] | None = None  # the source's fingerprint after the export
    record: MoveRecord | None = None  # the move's record, phase "moved" (written after the removal)

    def plan(self, host: HostSpec, facts: HostFacts, scripts: Scripts) -> Plan:
        """Remove the source (or keep it off) only while it is exactly as the export left it: a VM someone
        started (or changed) since then holds work the copy lacks, so it is refused, and nothing undone."""
        observed = facts.vm(self.source.vm_name)
        done = [WriteMoveRecord(self.source.vm_name, self.record.file, "moved", self.record.text())] if self.record else []
        if observed is None or observed.id.lower() != self.source.vm_id.lower():
            return Plan(tuple(done))
        if self.expected is not None and fingerprint(observed) != self.expected:
            reason = (
                f"VM {observed.name!r} on {host.name} changed after its export (it is {observed.state} now): "
                "not removed, and the copy on the target was left running. Both hold work now: compare them, "
                "keep one, and remove the other by hand"
            )
            return Plan((RefuseVMs((observed.name,), reason),), basis=FinishRefused(reason))
        if self.keep_source:
            stop = [StopVM(observed.name, reason="move: kept off, the target runs it")] if observed.state != "Off" else []
            return Plan((*stop, *done))
        return Plan((DiscardVM(observed.name, observed.id, "moved away", require_off=True), *done))

    def verify(self, host: HostSpec, plan: Plan, facts: HostFacts) -> Verdict:
        observed = facts.vm(self.source.vm_name)
        if self.keep_source:
            if observed is not None and observed.state != "Off":
                return Verdict([f"VM {self.source.vm_name!r} still {observed.state} on {host.name}"])
            return Verdict()
        if observed is not None and observed.id.lower() == self.source.vm_id.lower():
            return Verdict([f"VM {self.source.vm_name!r} is still on {host.name} after its removal"])
        return Verdict()


@dataclass(frozen=True, slots=True)
class UndoTarget:
    """After a failed move: remove the copy on the target, only the VM with the source's id (never another)."""

    vm_name: str
    vm_id: str
    command: str = "move (undo)"

    def plan(self, host: HostSpec, facts: HostFacts, scripts: Scripts) -> Plan:
        observed = facts.vm(self.vm_name)
        if observed is None or observed.id.lower() != self.vm_id.lower():
            return Plan()
        return Plan((DiscardVM(self.vm_name, self.vm_id, "undo of a failed move"),))

    def verify(self, host: HostSpec, plan: Plan, facts: HostFacts) -> Verdict:
        observed = facts.vm(self.vm_name)
        if observed is not None and observed.id.lower() == self.vm_id.lower():
            return Verdict([f"the copy of {self.vm_name!r} is still on {host.name}"])
        return Verdict()


@dataclass(frozen=True, slots=True)
class UndoSource:
    """After a failed move: the source VM back in the power state it had when the move began."""

    source: MoveSource
    command: str = "move (undo)"

    def plan(self, host: HostSpec, facts: HostFacts, scripts: Scripts) -> Plan:
        """The power state back, then the move record gone: the VM is this host's again."""
        observed = facts.vm(self.source.vm_name)
        record = facts.move_of(self.source.vm_name)
        clear = [ClearMoveRecord(self.source.vm_name, record.file)] if record is not None else []
        if observed is None or observed.state == self.source.state:
            return Plan(tuple(clear))
        return Plan((SetPowerState(observed.name, self.source.state, observed.state), *clear))

    def verify(self, host: HostSpec, plan: Plan, facts: HostFacts) -> Verdict:
        observed = facts.vm(self.source.vm_name)
        if observed is None:
            return Verdict([f"VM {self.source.vm_name!r} is not on {host.name}"])
        if observed.state != self.source.state:
            return Verdict(
                [f"VM {self.source.vm_name!r} is {observed.state}, not {self.source.state} as before"]
            )
        return Verdict()


@dataclass(frozen=True, slots=True)
class Probe:
    """A run that plans nothing: its facts say whether the source VM is still there before an undo."""

    command: str = "move (check)"

    def plan(self, host: HostSpec, facts: HostFacts, scripts: Scripts) -> Plan:
        return Plan()

    def verify(self, host: HostSpec, plan: Plan, facts: HostFacts) -> Verdict:
        return Verdict()


def inventory_change(
    source_host: str,
    target_host: str,
    vm_name: str,
    observed: VMFacts | None,
    spec: VMSpec | None,
    *,
    keep_source: bool = False,
) -> str:
    """The inventory edit that makes the next `apply` a no-op, as YAML comments and one entry: the VM's entry
    goes to the target host's multipoint_vms with what the VM really has (a drift made before the move came
    along), and leaves the source's (or, with --keep-source, stays there as `state: "off"`)."""
    entry: dict[str, Any] = {"name": vm_name}
    if spec is not None:
        entry.update({"cpus": spec.cpus, "memory": spec.memory})
        if spec.switch:
            entry["switch"] = spec.switch
    if observed is not None:
        entry["cpus"] = observed.cpus
        entry["memory"] = observed.memory_startup
        if observed.switches:
            entry["switch"] = observed.switches[0]
        if observed.dynamic_memory:
            entry["dynamic_memory"] = {"min": observed.memory_minimum, "max": observed.memory_maximum}
    if keep_source:
        head = f'# {source_host}: keep the entry of {vm_name!r}, with state: "off" (the VM stays there, off)'
    else:
        head = f"# {source_host}: remove the entry of {vm_name!r} from multipoint_vms"
    lines = [
        head,
        f"# {target_host}: add it to multipoint_vms with these values (keep its other keys: disk, stations,",
        "# checkpoints, as they were):",
        "- {" + ", ".join(f"{k}: {_yaml_value(v, k)}" for k, v in entry.items()) + "}",
    ]
    if spec is not None and observed is not None:
        drift = [
            f"{name} {before} -> {after}"
            for name, before, after in (
                ("cpus", spec.cpus, observed.cpus),
                ("memory", spec.memory, observed.memory_startup),
            )
            if before != after
        ]
        if drift:
            lines.append(
                f"# (the VM kept what it had on {source_host}, not its old entry: {', '.join(drift)})"
            )
    return "\n".join(lines)


def _yaml_value(value: Any, key: str = "") -> str:
    if isinstance(value, int) and not isinstance(value, bool) and key in SIZE_KEYS:
        return _size(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_yaml_value(v, k)}" for k, v in value.items()) + "}"
    return _yaml_scalar(value)


SIZE_KEYS = frozenset({"memory", "min", "max"})


def _size(value: int) -> str:
    """Bytes as the inventory writes sizes (it wants a unit): the largest unit that divides exactly."""
    for unit, factor in (("TB", 1024**4), ("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if value and value % factor == 0:
            return f"{value // factor}{unit}"
    return f"{value}B"


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, bool | int):
        return str(value).lower() if isinstance(value, bool) else str(value)
    text = str(value)
    return "'" + text.replace("'", "''") + "'"
