"""Export, import and move of MultiPoint VMs: pure planners, the export folder naming, and `--keep` retention.

An export goes to `PATH\\<vm>\\<UTC time as yyyyMMddTHHmmssfffZ>`; the host appends `-2`, `-3`, ... when that
folder exists, so two exports never share a folder. Export-VM itself then writes `<that folder>\\<VM name>\\`
with `Virtual Machines`, `Virtual Hard Disks` and `Snapshots`. Which exports are ours is the journal's word
(orchestrator.journal exports table): `--keep N` removes only folders recorded there, oldest first, and only
ones that look like an export folder we name.

Nothing here touches a host or the journal: the CLI reads the journal and hands the planners plain data, and
the runner runs what they plan. A move is three of these operations in sequence (cli/move.py drives them):
export on the source, import and start on the target, then remove the source; any failure runs the undo
operations, which remove the copy on the target (by VM id) and put the source back in its power state.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from orchestrator.actions import (
    Action,
    CheckShare,
    DiscardVM,
    ExportVM,
    ImportVM,
    RefuseVMs,
    RemoveExport,
    SetPowerState,
    StartVM,
    StopVM,
)
from orchestrator.checkpoints import select
from orchestrator.facts import SKU_MULTIPOINT_PREMIUM, HostFacts, VMFacts
from orchestrator.model import HostSpec
from orchestrator.operations import Verdict
from orchestrator.plan import Plan

IMPORT_MODES = ("register", "copy", "copy-new-id")
# yyyyMMddTHHmmssfffZ, optionally with the host's -N suffix: the only folder names retention ever deletes.
STAMP_RE = re.compile(r"^\d{8}T\d{9}Z(-\d+)?$")
# Characters Windows does not allow in a folder name, and controls.
_UNSAFE_NAME = re.compile(r'[<>:"/\\|?*\x00-\x1f]')
# Export-VM of a running VM needs Windows Server 2012 R2 (6.3) or later (hyperv-behaviour.md section 4).
LIVE_EXPORT_MIN_VERSION = (6, 3)


def export_stamp(moment: datetime) -> str:
    """20261125T200512345Z: UTC, milliseconds, sortable, safe in a path."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y%m%dT%H%M%S") + f"{moment.microsecond // 1000:03d}Z"


def folder_name(vm_name: str) -> str:
    """A VM name as one folder name: characters Windows refuses become '_', trailing dots and spaces go."""
    cleaned = _UNSAFE_NAME.sub("_", vm_name).rstrip(" .")
    return cleaned or "_"


def export_folder(to: str, vm_name: str, moment: datetime) -> str:
    """PATH\\<vm>\\<stamp> (before the host's collision suffix)."""
    return f"{to.rstrip(chr(92))}\\{folder_name(vm_name)}\\{export_stamp(moment)}"


def is_export_folder(path: str, vm_name: str) -> bool:
    """Does `path` look like an export folder we name for this VM? Retention deletes nothing else."""
    parts = path.rstrip("\\").split("\\")
    return len(parts) >= 3 and bool(STAMP_RE.match(parts[-1])) and parts[-2] == folder_name(vm_name)


_ABSOLUTE = re.compile(r"^(?:[A-Za-z]:\\|\\\\[^\\]+\\[^\\]+)")


def path_problem(path: str, *, share_only: bool = False) -> str | None:
    """Why a path given on the command line cannot be used on the hosts, or None: it must be absolute as a
    host sees it (D:\\exports or \\\\server\\share\\...), and a move's must be a share both hosts reach."""
    if share_only and not path.startswith("\\\\"):
        return f"'{path}' is not a share (\\\\server\\share): the source and the target must both reach it"
    if not _ABSOLUTE.match(path):
        return f"'{path}' is not an absolute Windows path (like D:\\exports or \\\\server\\share)"
    return None


def job_timeout(host: HostSpec, requested: int | None) -> int:
    """The deadline of one export/import job on the host: `--timeout`, else a minute less than the host's
    operation timeout (orchestrate_operation_timeout), so the job stops cleanly, and the script reports it,
    before the connection's own deadline gives up on the script."""
    if requested is not None:
        return max(1, int(requested))
    return max(60, int(host.operation_timeout) - 60)


def supports_live_export(facts: HostFacts) -> bool:
    try:
        major, minor = (int(p) for p in facts.version.split(".")[:2])
    except ValueError:
        return True
    return (major, minor) >= LIVE_EXPORT_MIN_VERSION


@dataclass(frozen=True, slots=True)
class ExportedCopy:
    """One of our exports as the journal has it (newest first in the lists handed to the planners)."""

    id: int
    path: str


def prune(
    vm_name: str, history: Sequence[ExportedCopy], keep: int | None, adding: int = 1
) -> list[RemoveExport]:
    """Removals that leave `keep` exports of the VM once `adding` new ones exist: the oldest go first.
    Only folders named like ours are ever removed; anything else in the journal is left alone."""
    if keep is None:
        return []
    ours = [e for e in history if is_export_folder(e.path, vm_name)]
    stay = max(keep - adding, 0)
    return [RemoveExport(vm_name, e.path, e.id) for e in ours[stay:]]


def share_probe(path: str, *, write: bool) -> list[Action]:
    """The read-only share probe that goes first in a transfer's plan, so a share the session cannot reach
    (the double hop) fails the run before any VM is stopped or changed; nothing for a local path. A write
    probe tries the folder written to; a read probe tries the share itself (\\\\server\\share), leaving a
    missing export folder to the import's own clearer message."""
    unc = path.replace("/", "\\")
    if not unc.startswith("\\\\"):
        return []
    if not write:
        server, _, rest = unc[2:].partition("\\")
        unc = "\\\\" + server + "\\" + rest.split("\\", 1)[0]
        return [CheckShare(unc, write=False)]
    return [CheckShare(path, write=True)]


# -- orchestrate export ----------------------------------------------------------------------------------------


def plan_export(
    host: HostSpec,
    facts: HostFacts,
    to: str,
    *,
    now: datetime,
    vm_glob: str | None = None,
    allow_stop: bool = False,
    keep: int | None = None,
    history: Mapping[str, Sequence[ExportedCopy]] | None = None,
    timeout_seconds: int = 3600,
    check_only: bool = False,
) -> Plan:
    """Per selected VM: the export, then `--keep` retention of our older exports of it. A running VM on a host
    that cannot export it live (2012) is refused unless `allow_stop` lets it be saved for the export."""
    selection = select(host, facts, vm_glob)
    live = supports_live_export(facts)
    actions: list[Action] = []
    refused: list[str] = []
    for vm, observed in selection.vms:
        stop_first = False
        if observed.running and not live:
            if not allow_stop:
                refused.append(vm.name)
                continue
            stop_first = True
        actions.append(
            ExportVM(
                vm.name,
                to,
                export_folder(to, vm.name, now),
                stop_first=stop_first,
                timeout_seconds=timeout_seconds,
                check_only=check_only,
            )
        )
        if not check_only:
            actions.extend(prune(vm.name, (history or {}).get(vm.name, ()), keep))
    if refused:
        actions.append(
            RefuseVMs(
                tuple(refused),
                f"VM(s) {', '.join(refused)} are running and this host (Windows {facts.version}) cannot export a "
                "running VM: not exported (pass --allow-stop to save them for the export and start them again "
                "afterwards)",
            )
        )
    if any(isinstance(a, ExportVM) for a in actions):
        actions[:0] = share_probe(to, write=not check_only)
    return Plan(tuple(actions), selection.notes)


def verify_export(host: HostSpec, plan: Plan, facts: HostFacts) -> Verdict:
    """Each exported VM is still there, and a VM saved for its export runs again; pruned folders are the
    host's word (the fragment fails when Remove-Item does)."""
    errors: list[str] = []
    for action in plan:
        if not isinstance(action, ExportVM):
            continue
        observed = facts.vm(action.vm_name)
        if observed is None:
            errors.append(f"VM {action.vm_name!r} is gone after its export")
        elif action.stop_first and not action.check_only and not observed.running:
            errors.append(
                f"VM {action.vm_name!r} was saved for its export and is {observed.state} now, not Running"
            )
    return Verdict(errors)


@dataclass(frozen=True, slots=True)
class Export:
    """`orchestrate export --to PATH`: export the selected VMs, record them, prune with `--keep`."""

    to: str
    vm_glob: str | None = None
    allow_stop: bool = False
    keep: int | None = None
    history: Mapping[str, Mapping[str, Sequence[ExportedCopy]]] = field(
        default_factory=dict
    )  # host -> vm -> ...
    timeout_seconds: int | None = None
    check_only: bool = False
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    command: str = "export"

    def plan(self, host: HostSpec, facts: HostFacts) -> Plan:
        return plan_export(
            host,
            facts,
            self.to,
            now=self.now,
            vm_glob=self.vm_glob,
            allow_stop=self.allow_stop,
            keep=self.keep,
            history=self.history.get(host.name, {}),
            timeout_seconds=job_timeout(host, self.timeout_seconds),
            check_only=self.check_only,
        )

    def verify(self, host: HostSpec, plan: Plan, facts: HostFacts) -> Verdict:
        return verify_export(host, plan, facts)


# -- orchestrate import ----------------------------------------------------------------------------------------


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
    return Plan((*share_probe(source, write=False), action))


def edition_problems(observed: VMFacts) -> tuple[list[str], list[str]]:
    """(errors, warnings) about a running VM's guest edition, as apply's verify judges it."""
    sku = observed.guest_edition_sku
    if sku is None:
        return [], [f"VM {observed.name!r}: the guest has not reported its edition yet (KVP); check it later"]
    if sku != SKU_MULTIPOINT_PREMIUM:
        return [f"VM {observed.name!r} runs guest edition SKU {sku}, not MultiPoint Server Premium (77)"], []
    return [], []


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
    before: dict[str, frozenset[str]] = field(default_factory=dict)  # host -> VM ids seen at plan time

    def plan(self, host: HostSpec, facts: HostFacts) -> Plan:
        self.before[host.name] = frozenset(v.id.lower() for v in facts.vms.values())
        return plan_import(
            host,
            facts,
            self.source,
            mode=self.mode,
            new_name=self.new_name,
            start=self.start,
            timeout_seconds=job_timeout(host, self.timeout_seconds),
            check_only=self.check_only,
        )

    def verify(self, host: HostSpec, plan: Plan, facts: HostFacts) -> Verdict:
        if self.check_only:
            return Verdict()
        before = self.before.get(host.name, frozenset())
        new = [v for v in facts.vms.values() if v.id.lower() not in before]
        if self.new_name is not None:
            new = [v for v in facts.vms.values() if v.name == self.new_name]
        if len(new) != 1:
            return Verdict([f"after the import {len(new)} new VM(s) are on the host, not exactly one"])
        errors: list[str] = []
        warnings: list[str] = []
        if new[0].running:
            errors, warnings = edition_problems(new[0])
        return Verdict(errors, warnings)


# -- orchestrate move ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MoveSource:
    """What the source VM was when the move began: the undo puts it back exactly so."""

    host: str
    vm_name: str
    vm_id: str
    state: str


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
    seen: dict[str, MoveSource] = field(default_factory=dict)

    def plan(self, host: HostSpec, facts: HostFacts) -> Plan:
        observed = facts.vm(self.vm_name)
        if observed is None:
            return Plan(
                (RefuseVMs((self.vm_name,), f"no VM named {self.vm_name!r} on {host.name}: nothing moved"),)
            )
        self.seen[host.name] = MoveSource(host.name, observed.name, observed.id, observed.state)
        actions: list[Action] = share_probe(self.via, write=not self.check_only)
        if observed.state not in ("Off", "Saved") and not self.check_only:
            # A saved VM is quiet already, and its saved state travels in the export: left as it is.
            actions.append(StopVM(self.vm_name, reason="move: the copy is taken from a VM that is off"))
        actions.append(
            ExportVM(
                self.vm_name,
                self.via,
                export_folder(self.via, self.vm_name, self.now),
                timeout_seconds=job_timeout(host, self.timeout_seconds),
                check_only=self.check_only,
            )
        )
        return Plan(tuple(actions))

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

    def plan(self, host: HostSpec, facts: HostFacts) -> Plan:
        if facts.vm(self.vm_name) is not None:
            return Plan(
                (
                    RefuseVMs(
                        (self.vm_name,),
                        f"a VM named {self.vm_name!r} already exists on {host.name}: not moved",
                    ),
                )
            )
        probe = share_probe(self.via, write=False)
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

    def plan(self, host: HostSpec, facts: HostFacts) -> Plan:
        observed = facts.vm(self.source.vm_name)
        if observed is None or observed.id.lower() != self.source.vm_id.lower():
            return Plan()
        if self.keep_source:
            return Plan(
                (StopVM(observed.name, reason="move: kept off, the target runs it"),)
                if observed.state != "Off"
                else ()
            )
        return Plan((DiscardVM(observed.name, observed.id, "moved away"),))

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

    def plan(self, host: HostSpec, facts: HostFacts) -> Plan:
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

    def plan(self, host: HostSpec, facts: HostFacts) -> Plan:
        observed = facts.vm(self.source.vm_name)
        if observed is None or observed.state == self.source.state:
            return Plan()
        return Plan((SetPowerState(observed.name, self.source.state, observed.state),))

    def verify(self, host: HostSpec, plan: Plan, facts: HostFacts) -> Verdict:
        observed = facts.vm(self.source.vm_name)
        if observed is None:
            return Verdict([f"VM {self.source.vm_name!r} is not on {host.name}"])
        if observed.state != self.source.state:
            return Verdict(
                [f"VM {self.source.vm_name!r} is {observed.state}, not {self.source.state} as before"]
            )
        return Verdict()


def inventory_change(
    source_host: str,
    target_host: str,
    vm_name: str,
    observed: VMFacts | None,
    spec: Any,
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
