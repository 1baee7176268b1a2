"""`orchestrate export`: the export folder naming, `--keep` retention of our exports, the share probe. Pure.

An export goes to `PATH\\<vm>\\<UTC time as yyyyMMddTHHmmssfffZ>`; the host appends `-2`, `-3`, ... when that
folder exists, so two exports never share a folder. Export-VM itself then writes `<that folder>\\<VM name>\\`
with `Virtual Machines`, `Virtual Hard Disks` and `Snapshots`. Which exports are ours is the journal's word
(orchestrator.journal exports table): `--keep N` removes only folders recorded there, oldest first, and only
ones that look like an export folder we name.

Nothing here touches a host or the journal: the runner reads the journal's exports and hands them to the
operation as plain data (`Export.history`), runs what it plans, and journals what the host reports. Import
and move build on these helpers: orchestrator.operations.import_vm and orchestrator.operations.move.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from orchestrator.actions import (
    Action,
    CheckShare,
    ExportVM,
    RefuseVMs,
    RemoveExport,
)
from orchestrator.facts import HostFacts, VMFacts
from orchestrator.model import HostSpec
from orchestrator.operations.base import Scripts, Verdict, answer_file_refusal, select, with_refusals
from orchestrator.plan import Plan
from orchestrator.windows_paths import MAX_PATH, is_absolute

IMPORT_MODES = ("register", "copy", "copy-new-id")
# yyyyMMddTHHmmssfffZ, optionally with the host's -N suffix: the only folder names retention ever deletes.
STAMP_RE = re.compile(r"^\d{8}T\d{9}Z(-\d+)?$")
# Characters Windows does not allow in a folder name, and controls.
_UNSAFE_NAME = re.compile(r'[<>:"/\\|?*\x00-\x1f]')
# Export-VM of a running VM needs Windows Server 2012 R2 (6.3) or later (hyperv-behaviour.md section 4).
LIVE_EXPORT_MIN_VERSION = (6, 3)
# What a host that cannot export live (2012) exports: no page says whether 2012 exports a Paused VM, or one
# Starting, Stopping or Saving (hyperv-behaviour.md section 4 dates only the running VM's export to 2012 R2),
# so only these two, whose disks and memory are still, are taken to export there (audit J L6).
QUIET_STATES = frozenset({"Off", "Saved"})


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


def export_folder_of(path: str) -> str | None:
    """The export folder (PATH\\<vm>\\<stamp>, as `export_folder` names them) that `path` is or lies inside, or
    None: what `--keep` retention may one day delete with everything in it."""
    parts = path.replace("/", "\\").rstrip("\\").split("\\")
    for end in range(len(parts), 2, -1):
        if STAMP_RE.match(parts[end - 1]) and parts[end - 2] and not _UNSAFE_NAME.search(parts[end - 2]):
            return "\\".join(parts[:end])
    return None


def path_problem(path: str, *, share_only: bool = False) -> str | None:
    """Why a path given on the command line cannot be used on the hosts, or None: it must be absolute as a
    host sees it (D:\\exports or \\\\server\\share\\...), and a move's must be a share both hosts reach."""
    if share_only and not path.startswith("\\\\"):
        return f"'{path}' is not a share (\\\\server\\share): the source and the target must both reach it"
    if not is_absolute(path):
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
    """Whether Export-VM takes a running VM here (2012 R2 and later, LIVE_EXPORT_MIN_VERSION). A version the
    facts did not give in a form we read is taken as 2012's answer: the export then asks for --allow-stop
    instead of trying a live export a 2012 host refuses (audit J L7)."""
    return _at_least(facts, LIVE_EXPORT_MIN_VERSION, unknown=False)


def _at_least(facts: HostFacts, minimum: tuple[int, int], *, unknown: bool) -> bool:
    """Whether the host's Windows is `minimum` or later; `unknown` when its version cannot be read."""
    try:
        major, minor = (int(p) for p in facts.version.split(".")[:2])
    except ValueError:
        return unknown
    return (major, minor) >= minimum


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


def share_probe(path: str, *, write: bool, host: HostSpec) -> list[Action]:
    """The read-only share probe that goes first in a transfer's plan, so a share the session cannot reach
    (the double hop) fails the run before any VM is stopped or changed; nothing for a local path. A write
    probe tries the folder written to; a read probe tries the share itself (\\\\server\\share), leaving a
    missing export folder to the import's own clearer message.

    A host reached with Kerberos delegation also gets the forwardable-ticket fix: pywinrm then asks for
    delegation (winrm/transport.py, HTTPKerberosAuth delegate=True), and MIT and Heimdal send the ticket on
    whether or not the host is trusted for delegation (jborean93's table of GSS_C_DELEG_FLAG against a
    Microsoft KDC, gist cdc6cef5e7540ade39912ca08020706b), but only a forwardable one, which MIT's kinit
    asks for only when told (`kinit -f`: ansible/ansible#37815)."""
    forwarded = host.connection.transport == "kerberos" and host.connection.kerberos_delegation
    unc = path.replace("/", "\\")
    if not unc.startswith("\\\\"):
        return []
    if not write:
        server, _, rest = unc[2:].partition("\\")
        unc = "\\\\" + server + "\\" + rest.split("\\", 1)[0]
        return [CheckShare(unc, write=False, forwarded_ticket=forwarded)]
    return [CheckShare(path, write=True, forwarded_ticket=forwarded)]


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
    known: frozenset[str] = frozenset(),
) -> Plan:
    """Per selected VM: the export, then `--keep` retention of our older exports of it. A running VM on a host
    that cannot export it live (2012) is refused unless `allow_stop` lets it be saved for the export; on such
    a host a VM neither Running, Off nor Saved (Paused, or a state in change) is refused even with it: saving
    and starting it again afterwards would turn a Paused VM into a running one, and what Stop-VM -Save does
    there is on no page (QUIET_STATES; the host rules refuse such a VM before any plan, this is the planner's
    own guard). A VM whose guest is still in setup is refused (its disk holds the answer file:
    base.answer_file_refusal)."""
    selection = select(host, facts, vm_glob, known)
    live = supports_live_export(facts)
    actions: list[Action] = []
    refused: list[str] = []
    unsettled: list[tuple[str, str]] = []
    in_setup: list[str] = []
    too_long: list[str] = []
    patterned: list[str] = []
    for vm, observed in selection.vms:
        if observed.guest_in_setup:
            in_setup.append(vm.name)
            continue
        if longest_export_path(export_folder(to, vm.name, now), vm.name, observed) >= MAX_PATH:
            too_long.append(vm.name)
            continue
        if pattern_name_on_literal_export(vm.name, facts):
            patterned.append(vm.name)
            continue
        stop_first = False
        if not live and observed.state not in QUIET_STATES:
            if not observed.running:
                unsettled.append((vm.name, observed.state))
                continue
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
                live=live,
                timeout_seconds=timeout_seconds,
                check_only=check_only,
            )
        )
        if not check_only:
            actions.extend(prune(vm.name, (history or {}).get(vm.name, ()), keep))
    own = None
    if refused:
        own = RefuseVMs(
            tuple(refused),
            f"VM(s) {', '.join(refused)} are running and this host (Windows {facts.version}) cannot export a "
            "running VM: not exported (pass --allow-stop to save them for the export and start them again "
            "afterwards)",
        )
    not_quiet = None
    if unsettled:
        not_quiet = RefuseVMs(
            tuple(name for name, _ in unsettled),
            f"VM(s) {', '.join(f'{name} ({state})' for name, state in unsettled)}: this host (Windows "
            f"{facts.version}) exports only a VM that is Off or Saved, and what saving one in that state does "
            "is on no page: not exported, with or without --allow-stop (let it settle, or resume it, and export "
            "again)",
        )
    if any(isinstance(a, ExportVM) for a in actions):
        actions[:0] = share_probe(to, write=not check_only, host=host)
    setup = answer_file_refusal(in_setup, f"an export to {to}")
    long_paths = None
    if too_long:
        long_paths = RefuseVMs(
            tuple(too_long),
            f"VM(s) {', '.join(too_long)}: an export to {to} would write files whose paths pass Windows' "
            f"{MAX_PATH} characters (the export nests the VM's name: {to}\\<vm>\\<stamp>\\<vm>\\Virtual Hard "
            "Disks\\<disk>), which Export-VM cannot write: not exported; export to a shorter path",
        )
    patterns = None
    if patterned:
        patterns = RefuseVMs(tuple(patterned), PATTERN_NAME_REFUSAL.format(names=", ".join(patterned), version=facts.version))
    refusals = (own, not_quiet, setup, long_paths, patterns, selection.refusal())
    return Plan(tuple(with_refusals(actions, *refusals)), selection.notes)


_PATTERN_CHARACTERS = frozenset("[]*?`")
LITERAL_EXPORT_PATH_MIN_VERSION = (6, 3)  # the first Export-VM page whose -Path says "Accept wildcard characters: False"
PATTERN_NAME_REFUSAL = (
    "VM(s) {names}: the name holds [ ] * ? or a backtick, which Export-VM -Path on Windows {version} may read "
    "literally (its page says it takes no wildcards), so the escaped export folder could be another folder: "
    "not exported; rename the VM (Rename-VM, then the inventory) to export or move it"
)


def pattern_name_on_literal_export(vm_name: str, facts: HostFacts) -> bool:
    """Whether an export of `vm_name` on this host would hand Export-VM an escaped path it may read literally.

    The export's folder holds the VM's name, and a name with `[ ] * ?` (or a backtick) is passed escaped, as
    the 2012 page's "Accept wildcard characters: True" for -Path asks. The 2012 R2 page says False: if R2 reads
    -Path literally, the backticks are part of the name there, and whether Export-VM then fails or makes a
    folder of that name beside ours (a stray full-size export the clean-up never removes) is on no page
    (audit J L4). Refused on 2012 R2 and later, where the pages disagree with the escaping; 2012 escapes as
    its page says."""
    if not _PATTERN_CHARACTERS.intersection(vm_name):
        return False
    return _at_least(facts, LITERAL_EXPORT_PATH_MIN_VERSION, unknown=True)  # unknown: the safe answer


def longest_export_path(folder: str, vm_name: str, observed: VMFacts) -> int:
    """The longest path an export into `folder` writes: Export-VM makes `<folder>\\<VM name>` with `Virtual
    Hard Disks\\<each disk file>` and `Virtual Machines\\<VM id>.xml` (hyperv-behaviour.md, section 4;
    Export-VM.md), plus the template's collision suffix (`-99`), against MAX_PATH (orchestrator.windows_paths),
    which Export-VM keeps to as far as any page says (audit H, H4)."""
    base = len(folder) + len("-99") + 1 + len(vm_name)
    files = [len("Virtual Machines\\") + 36 + len(".xml")]
    files += [len("Virtual Hard Disks\\") + len(d.path.replace("/", "\\").rsplit("\\", 1)[-1]) for d in observed.disks]
    return base + 1 + max(files)


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
    known_names: frozenset[str] = frozenset()  # every VM name of the inventory (the runner sets it)

    def plan(self, host: HostSpec, facts: HostFacts, scripts: Scripts) -> Plan:
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
            known=self.known_names,
        )

    def verify(self, host: HostSpec, plan: Plan, facts: HostFacts) -> Verdict:
        return verify_export(host, plan, facts)
