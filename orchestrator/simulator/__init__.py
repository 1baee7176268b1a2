"""A simulated Hyper-V host that runs the PowerShell the templates render.

    sim = Simulator(state_path=None, seed={"os_sku": 77, "memory": "64GB", ...})
    result = sim.run(script, stdin="")   # .stdout .stderr .exit_code; never raises for what a script does

Three layers, kept apart as in a real shell: the language (language/: parse tree -> values and control flow),
the binder (binder.py: arguments -> a parameter set of the real signature) and the host (host/: the typed model
and the cmdlets). With a state path, the model is loaded before each run and written after it (atomically)
only when a cmdlet changed it; UNC shares live beside the host files and are shared by every simulated host of
that state dir. `session` says how the caller logged on (host/files.py's Session): a WinRM session that cannot
delegate is denied every share, as on a real host (MicrosoftDocs/PowerShell-Docs reference/docs-conceptual/
security/remoting/PS-remoting-second-hop.md); without one the caller sits at the host's console. The host's
PowerShell is the one its Windows ships (3.0 on 2012, 4.0 on 2012 R2: orchestrator.pwsh_level).
"""

from __future__ import annotations

import copy
import functools
import re
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from orchestrator.facts import guest_fields, guest_line
from orchestrator.host_lock import LOCK_FOLDER
from orchestrator.pwsh_level import powershell_version
from orchestrator.signatures import KNOWN_VERSIONS, available, common_parameters, normalize_version, signature
from orchestrator.simulator.commands import HostCommands
from orchestrator.simulator.host import guest
from orchestrator.simulator.host.acl import DEFAULT_USER, Identity
from orchestrator.simulator.host.context import HostContext
from orchestrator.simulator.host.files import FileSystem, Session, Shares
from orchestrator.simulator.host.model import VM, Adapter, Disk, FileEntry, Host, Snapshot, Task, norm_path
from orchestrator.simulator.language.console_encoding import OEM_CODEPAGE, UTF8_CODEPAGE
from orchestrator.simulator.language.errors import ScriptError
from orchestrator.simulator.language.flow import ExitSignal, ProcessKilled
from orchestrator.simulator.language.interpreter import Interpreter, format_error
from orchestrator.simulator.language.parser import parse
from orchestrator.simulator.language.values import PSRuntimeError
from orchestrator.simulator.state import (
    READ_ONLY_ERRNOS,
    SHARES_FILE,
    StateError,
    host_from_json,
    host_from_seed,
    host_to_json,
    load_shares,
    locked,
    read_json,
    save_shares,
    shares_to_json,
    write_atomic,
)

__all__ = ["RunResult", "Session", "Simulator", "StateError"]
_MAX_DEPTH = 8  # nested runs (a scheduled task starting a task...) before the simulator refuses


@dataclass(frozen=True, slots=True)
class RunResult:
    stdout: str
    stderr: str
    exit_code: int

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


class Simulator:
    def __init__(self, state_path: str | Path | None = None, seed: Mapping[str, Any] | None = None, *,
                 host_name: str | None = None, now: Callable[[], datetime] | None = None,
                 session: Session | None = None) -> None:
        self.state_path = Path(state_path) if state_path is not None else None
        self.session = session or Session()
        self._now = now
        self.mutation_log: list[str] = []
        self._depth = 0
        self._host_stamp: tuple[int, int, int] | None = None
        self._shares_stamp: tuple[int, int, int] | None = None
        name = host_name or (self.state_path.stem if self.state_path else "HV01")
        if self.state_path is not None and self.state_path.exists():
            self.host = host_from_json(read_json(self.state_path), str(self.state_path))
            self._seed_shares: dict[str, dict[str, Any]] = {}
        else:
            # Not written yet: the file appears with the first change, so a read-only run (a dry run, a
            # ping) on a fresh state dir leaves no trace.
            self.host, self._seed_shares = host_from_seed(seed, name)
        if self.state_path is not None:
            self._host_stamp = _stamp(self.state_path)
        self.shares = Shares(roots=dict(self._seed_shares))
        if self.state_path is not None and self._seed_shares:
            with locked(self.state_path.parent):
                shares = load_shares(self.state_path.parent)
                added = {k: v for k, v in self._seed_shares.items() if k not in shares.roots}
                if added:
                    shares.roots.update(added)
                    try:
                        save_shares(self.state_path.parent, shares)
                    except OSError as exc:
                        # A state dir this user cannot write: a read-only command still sees the seed's
                        # shares (kept in memory, merged at each load); a change fails when it is saved.
                        if exc.errno not in READ_ONLY_ERRNOS:
                            raise

    # -- public API ---------------------------------------------------------------------------------------------

    @property
    def mutations(self) -> int:
        """How many changes mutating cmdlets made since this Simulator was created."""
        return len(self.mutation_log)

    def run(self, script: str, stdin: str = "", *, identity: Identity | None = None,
            codepage: int = UTF8_CODEPAGE) -> RunResult:
        """Run one script as powershell.exe would; failures are exit code 1 with the error on stderr. It runs as
        the remote session's user unless `identity` says whom else (a local user at the host: host/acl.py), in a
        WinRM shell of `codepage` (the product opens every shell with 65001; language/console_encoding.py)."""
        return self._run(script, stdin, keep=False, identity=identity, codepage=codepage)[0]

    def hold(self, script: str, stdin: str = "", *, codepage: int = UTF8_CODEPAGE) -> tuple[RunResult, int]:
        """Run a script whose PowerShell process then keeps running (a script of another run still busy on the
        host, or an admin's console): the handles it opened stay open until `end_process` of its id, which is
        returned. Nothing else of the process goes on: it stands for "still running", not for more work."""
        return self._run(script, stdin, keep=True, codepage=codepage)

    def kill_after_changes(self, changes: int | None = None, *, named: str | None = None) -> None:
        """The next script run on this host that changes anything is killed right after its `changes`-th change
        (each mutating cmdlet call is one), or right after its first change whose log text starts with `named`
        ("Mount-VHD", "Set-VM lab-01"), and runs whole if it makes no such change: what an interrupted run
        leaves on a real host, where a script ended by the WinRM service's terminate or by Stop-Process keeps
        what it did and runs no finally block. Runs after that one are whole again."""
        if (changes is None) == (named is None) or (changes is not None and changes < 1) or named == "":
            raise ValueError("give the number of changes (at least 1) or the name of one, not both")

        def arm() -> bool:
            self.host.kill_after_changes = changes
            self.host.kill_after_change = named
            return True

        self._change(arm)

    def end_process(self, pid: int) -> bool:
        """A process `hold` kept running ends (it finished, or was killed): its handles close (host/handles.py).
        Returns whether it held any."""
        from orchestrator.simulator.host.handles import release_process

        return self._change(lambda: release_process(self.host, pid))

    def _run(self, script: str, stdin: str, *, keep: bool, identity: Identity | None = None,
             codepage: int = UTF8_CODEPAGE) -> tuple[RunResult, int]:
        pid_box: list[int] = []

        def execute() -> tuple[RunResult, bool]:
            result, dirty, pid = self._execute(script, stdin, keep=keep, identity=identity, codepage=codepage)
            pid_box.append(pid)
            return result, dirty

        if self.state_path is None:
            result, _ = execute()
        else:
            result = self._persisted(execute)
        return result, pid_box[0]

    def _change(self, change: Callable[[], bool]) -> bool:
        """A change to the model made from outside any script, loaded and saved like a run's."""
        if self.state_path is None:
            return change()
        changed: list[bool] = []

        def apply() -> tuple[None, bool]:
            changed.append(change())
            return None, changed[0]

        self._persisted(apply)
        return changed[0]

    def _persisted(self, work: Callable[[], tuple[Any, bool]]) -> Any:
        assert self.state_path is not None
        shares_path = self.state_path.parent / SHARES_FILE
        with locked(self.state_path.parent):
            # Reload unless the files are exactly the ones this object last read or wrote (same inode, size
            # and mtime): another process or simulator may have changed them since.
            host_stamp = _stamp(self.state_path)
            if host_stamp is None or host_stamp != self._host_stamp:
                if host_stamp is not None:
                    self.host = host_from_json(read_json(self.state_path), str(self.state_path))
                self._host_stamp = host_stamp
            shares_stamp = _stamp(shares_path)
            if shares_stamp is None or shares_stamp != self._shares_stamp:
                self.shares = load_shares(self.state_path.parent)
                for root, info in self._seed_shares.items():  # seed shares a read-only dir could not keep
                    self.shares.roots.setdefault(root, info)
                self._shares_stamp = shares_stamp
            self._host_stamp = self._shares_stamp = None  # until saved, memory may differ from the files
            result, dirty = work()
            if dirty:
                write_atomic(self.state_path, host_to_json(self.host))
            if self.shares.dirty:
                save_shares(self.state_path.parent, self.shares)
            self._host_stamp = _stamp(self.state_path)
            self._shares_stamp = _stamp(shares_path)
        return result

    def snapshot(self) -> dict[str, Any]:
        """The whole model as plain data (a deep copy): compare two snapshots to prove nothing changed."""
        return copy.deepcopy({"host": host_to_json(self.host)["host"], "shares": shares_to_json(self.shares)})

    @classmethod
    def from_facts(cls, facts: Mapping[str, Any], *, now: Callable[[], datetime] | None = None) -> Simulator:
        """An in-memory simulator that looks like the host the facts document describes (dry-run preflight)."""
        sim = cls(now=now)
        sim.host = _host_from_facts(facts)
        return sim

    # -- internals -------------------------------------------------------------------------------------------

    def _execute(self, script: str, stdin: str, *, keep: bool = False, identity: Identity | None = None,
                 codepage: int = UTF8_CODEPAGE) -> tuple[RunResult, bool, int]:
        """One PowerShell process: the script, then (unless `keep`) the process's end, which closes its handles."""
        if identity is None:
            identity = Identity.session(self.host.session_user or DEFAULT_USER, self.host.session_admin,
                                        self.host.creator_owns)
        fs = FileSystem(self.host.files, self.shares, lambda: None, self.session, identity)
        ctx = HostContext(self.host, fs, now=self._now, run_script=self._nested)
        ps_version = powershell_version(self.host.os_version)
        interp = Interpreter(HostCommands(ctx), stdin=stdin, now=ctx.now, new_guid=ctx.new_guid,
                             machine_name=self.host.name, ps_version=ps_version, console_codepage=codepage)
        ctx.interp = interp
        interp.static_hooks = ctx.static_hooks()
        interp.root.vars["pid"] = ctx.pid
        code = 0
        stderr: list[str] = []
        try:
            tree = parse(script, ps_version)
            interp.run(tree)
            if interp.last_failed:
                code = 1
        except ExitSignal as done:
            code = done.code
        except ProcessKilled:
            # Stop-Process ends a process with Process.Kill, which the .NET Framework's own source implements
            # as TerminateProcess(handle, -1) (referencesource System/services/monitoring/system/diagnosticts/
            # Process.cs); no page documents the code, and what WinRM reports for a terminated command is not
            # sourced either: the product relies only on its being non-zero (docs/real-hosts.md). The output
            # written before the kill was already on its way.
            code = -1
        except PSRuntimeError as err:
            stderr.append(format_error(err))
            code = 1
        except ScriptError as err:
            stderr.append(str(err))
            code = 1
        except RecursionError:
            stderr.append("The script failed due to call depth overflow.")
            code = 1
        except Exception as exc:  # an interpreter bug must not crash the caller; report it as a failed run
            stderr.append(f"simulator internal error: {type(exc).__name__}: {exc}\n{traceback.format_exc()}")
            code = 1
        if ctx.dirty and (self.host.kill_after_changes is not None or self.host.kill_after_change is not None):
            # This run changed less than the kill waited for (or nothing of that name): it ran whole.
            self.host.kill_after_changes = self.host.kill_after_change = None
        if not keep:
            ctx.end_process()
        stderr = interp.stderr + stderr + [f"WARNING: {w}" for w in ctx.warnings]
        self.mutation_log.extend(ctx.mutations)
        text_err = "\r\n".join(stderr) + ("\r\n" if stderr else "")
        result = RunResult("".join(interp.console), text_err, code)
        # The process is over: the context lets go of its interpreter, which holds the context (its commands,
        # its static hooks), so that reference counting frees both now rather than the cyclic collector later
        # (a dry run of a fleet makes two such pairs per host).
        ctx.interp = None
        return result, ctx.dirty, ctx.pid

    def _nested(self, script: str) -> RunResult:
        """A script a scheduled task runs on this host (powershell.exe -EncodedCommand ...)."""
        if self._depth >= _MAX_DEPTH:
            return RunResult("", "simulator: scheduled tasks nested too deeply", 1)
        self._depth += 1
        try:
            # The product's tasks run as SYSTEM (actions/schedule.ps1.j2: New-ScheduledTaskPrincipal -UserId SYSTEM).
            # Its powershell.exe is no WinRM shell's: its console has the system's OEM code page, not 65001.
            result, _, _ = self._execute(script, "", identity=Identity.system(), codepage=OEM_CODEPAGE)
        finally:
            self._depth -= 1
        return result


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _cmdlets_as_on(cmdlets: Any, os_version: str) -> dict[str, str]:
    """The recorded cmdlets (the facts' "cmdlets": each one's Parameters.Keys as the host's Get-Command gave
    them) whose parameters are the ones another Windows version's page lists, not its own version's: the copy
    takes them as the host has them (Host.cmdlets_as_on). The templates follow the host's list
    (render.recorded_cmdlets, Capabilities.has), so a dry run judges that script as the host will. Common
    parameters are left out of the comparison (they follow the host's PowerShell); a list that matches no page
    leaves the cmdlet as its own version's page has it, less what the list lacks (`_cmdlets_without`)."""
    if not isinstance(cmdlets, Mapping):
        return {}
    result: dict[str, str] = {}
    for name, reported in cmdlets.items():
        if not isinstance(reported, list | tuple | frozenset | set):
            continue
        version = _page_matching(str(name), tuple(str(p) for p in reported), os_version)
        if version is not None:
            result[str(name).lower()] = version
    return result


@functools.lru_cache(maxsize=4096)
def _page_matching(name: str, reported: tuple[str, ...], os_version: str) -> str | None:
    """The other version whose page lists exactly `reported` (common parameters aside) for `name`, or None
    when the host's own version's page does, or none does. The hosts of a fleet report a few distinct lists,
    so each is compared once per run, not once per host."""
    listed = frozenset(p.lower() for p in reported) - _common_names()
    if _page_parameters(name, os_version) in (None, listed):
        return None
    return next((version for version in KNOWN_VERSIONS
                 if version != os_version and _page_parameters(name, version) == listed), None)


@functools.cache
def _common_names() -> frozenset[str]:
    return frozenset(p.name.lower() for p in common_parameters("10.0"))


@functools.cache
def _page_parameters(name: str, version: str) -> frozenset[str] | None:
    """A cmdlet's own parameters on `version`'s page, lower case, without the common ones; None where that
    version has no such cmdlet. Shipped data: the same for every host of a run, so computed once (a dry run
    of 1,000 hosts asked it 40 times per host)."""
    if not available(name, version):
        return None
    found = signature(name, version)
    return frozenset(p.lower() for p in found.parameter_names()) - {p.name.lower() for p in found.common}


def _cmdlets_without(cmdlets: Any, host: Host) -> dict[str, list[str]]:
    """The parameters each recorded cmdlet's page lists (the page its copy takes: `_cmdlets_as_on`) that the
    host's Get-Command did not: the copy lacks them too (Host.cmdlets_without), so a list that matches no page
    is never taken as more than the host has. A Set-VMMemory recorded without Confirm is one without
    ShouldProcess there: `-Confirm:$false` fails to bind in the dry run as on the host (audit L M2; the 2012
    page's SYNTAX lists no -Confirm: docset/winserver2012-ps/hyper-v/Set-VMMemory.md). A parameter the host
    lists beyond the page is not added (stricter)."""
    if not isinstance(cmdlets, Mapping):
        return {}
    result: dict[str, list[str]] = {}
    for name, reported in cmdlets.items():
        if not isinstance(reported, list | tuple | frozenset | set):
            continue
        page = _page_parameters(str(name), host.cmdlet_version(str(name)))
        if page is None:
            continue
        missing = page - {str(p).lower() for p in reported}
        if missing:
            result[str(name).lower()] = sorted(missing)
    return result


def _host_from_facts(facts: Mapping[str, Any]) -> Host:
    info = facts.get("host") or {}
    host = Host(
        name=str(info.get("computer_name") or "HV01"),
        os_version=normalize_version(str(info.get("os_version") or "6.3")),
        os_sku=int(info.get("os_sku") or 8),
        hyperv_installed=bool(info.get("hyperv_installed", True)),
        logical_processors=int(info.get("logical_processors") or 8),
        memory=int(info.get("memory_total") or 32 * 1024**3),
        switches=list(facts.get("switches") or []),
        # The facts do not say whether the host gives a mounted disk drive letters by itself: it does not here
        # (stricter; host/guest_disks.py).
        automount=False,
    )
    host.cmdlets_as_on = _cmdlets_as_on(facts.get("cmdlets"), host.os_version)
    host.cmdlets_without = _cmdlets_without(facts.get("cmdlets"), host)
    if host.hyperv_installed:
        for folder in (host.vm_path, host.vhd_path):
            host.files[norm_path(folder)] = FileEntry(folder, "dir")
    editions = {"servermultipointpremium": 77, "servermultipointstandard": 76}
    for path, present in (facts.get("paths") or {}).items():
        if present:
            leaf = str(path).rstrip("\\").rsplit("\\", 1)[-1]
            kind = "file" if "." in leaf else "dir"
            host.files[norm_path(path)] = FileEntry(str(path), kind)
    for path, images in (facts.get("images") or {}).items():
        sku = None
        for image in images or []:
            sku = editions.get(str(image.get("edition_id", "")).lower(), sku)
        entry = host.files.get(norm_path(path)) or FileEntry(str(path), "file")
        entry.edition_sku = sku
        if str(path).lower().endswith((".vhd", ".vhdx")) and entry.vhd is None:
            entry.vhd = {"type": "Dynamic", "size": 0, "parent": None}
        if sku is not None and entry.volume is None:  # its partitions are not in the facts (guest.UNKNOWN_STYLE)
            entry.volume = guest.sysprepped_volume(sku, guest.UNKNOWN_STYLE)
        host.files[norm_path(path)] = entry
    for raw in facts.get("new_disks") or []:  # files where a new VM's disk would go (facts_body.ps1.j2)
        path = str(raw.get("path") or "")
        if path and norm_path(path) not in host.files:
            host.files[norm_path(path)] = FileEntry(path, "file", 4 * 1024**2, vhd={
                "type": "Differencing" if raw.get("parent") else "Dynamic", "size": 0, "parent": raw.get("parent") or None})
            if raw.get("marked"):
                marker = path + ".orchestrate-new"
                host.files[norm_path(marker)] = FileEntry(marker, "file", 0, text="")
    kvp_sku = {}
    for item in facts.get("kvp") or []:
        text = "".join(item.get("items") or [])
        m = re.search(r"<VALUE>(\d+)</VALUE></PROPERTY><PROPERTY NAME=\"Description\"[^<]*</PROPERTY>"
                      r"<PROPERTY NAME=\"ElementName\"[^<]*</PROPERTY><PROPERTY NAME=\"Name\" TYPE=\"string\">"
                      r"<VALUE>OSEditionId</VALUE>", text)
        if m:
            kvp_sku[str(item.get("vm_id", "")).lower()] = int(m.group(1))
    for raw in facts.get("vms") or []:
        vm_id = str(raw.get("id") or "").lower()
        vm = VM(id=vm_id, name=raw["name"], state=str(raw.get("state") or "Off"),
                generation=int(raw.get("generation") or 1), cpus=int(raw.get("cpus") or 1),
                memory_startup=int(raw.get("memory_startup") or 512 * 1024**2),
                dynamic_memory=bool(raw.get("dynamic_memory")), notes=raw.get("notes") or "",
                path=raw.get("path") or "")
        vm.memory_minimum = int(raw.get("memory_minimum") or vm.memory_minimum)
        vm.memory_maximum = int(raw.get("memory_maximum") or vm.memory_maximum)
        for i, disk in enumerate(raw.get("disks") or []):
            vm.disks.append(Disk(disk["path"], "IDE" if vm.generation == 1 else "SCSI", 0, i))
            if norm_path(disk["path"]) not in host.files:
                host.files[norm_path(disk["path"])] = FileEntry(
                    disk["path"], "file", 4 * 1024**2, vhd={"type": "Differencing" if disk.get("parent") else "Dynamic",
                                                           "size": 0, "parent": disk.get("parent")})
            if disk.get("marked"):
                marker = disk["path"] + ".orchestrate-new"
                host.files[norm_path(marker)] = FileEntry(marker, "file", 0, text="")
            parent = disk.get("parent")
            if parent and norm_path(parent) not in host.files:
                # The facts read one level of the chain: the drive's parent is on the host (its header names
                # it), its own parent is not known here. So a script that would take that file (a new VM's
                # disk of the same name) is refused on the copy as on the host (actions/create_vm.ps1.j2).
                host.files[norm_path(parent)] = FileEntry(parent, "file", 4 * 1024**2,
                                                          vhd={"type": "Dynamic", "size": 0, "parent": None})
        for adapter in raw.get("adapters") or []:
            vm.adapters.append(Adapter(adapter.get("name") or "Network Adapter", adapter.get("switch")))
        by_name: dict[str, str] = {}
        for cp in raw.get("checkpoints") or []:
            snap = Snapshot(id=str(cp.get("id") or "").lower(), name=cp["name"], parent_id=None,
                            created=_iso(cp.get("created")), notes=cp.get("notes") or "", config=vm.config(),
                            disks={d.path: 0 for d in vm.disks}, state="Off")
            vm.snapshots[snap.id] = snap
            by_name[snap.name] = snap.id
        for cp in raw.get("checkpoints") or []:
            parent = cp.get("parent")
            if parent:
                vm.snapshots[str(cp.get("id") or "").lower()].parent_id = by_name.get(parent, str(parent).lower())
        if raw.get("parent_checkpoint"):
            vm.current_snapshot = by_name.get(raw["parent_checkpoint"])
        vm.booted_from = kvp_sku.get(vm_id)
        assumed = _assumed_guest(vm.notes, vm.booted_from, host, vm)
        if assumed is not None and vm.state == "Running":
            host.assumed_guests[vm.id.lower()] = assumed
        host.vms[vm.id] = vm
    for raw in facts.get("tasks") or []:
        task = Task(name=raw["name"], path=raw.get("path") or "\\", description=raw.get("description") or "",
                    state=str(raw.get("state") or "Ready"), last_run=raw.get("last_run") or None,
                    last_result=int(raw.get("last_result") or 0))
        host.tasks[Host.task_key(task.path, task.name)] = task
    state_folder = facts.get("state_folder")
    if isinstance(state_folder, Mapping):  # its owner, so the copy's script refuses what the host's would
        host.session_user = str(state_folder.get("account") or "")
        host.files[norm_path(LOCK_FOLDER)] = FileEntry(LOCK_FOLDER, "dir", owner=state_folder.get("owner") or None)
    for raw in facts.get("moves") or []:  # move records (orchestrator/move_records.py), as text files
        path = str(raw.get("file") or "")
        if path:
            folder = path.rsplit("\\", 1)[0]
            host.files.setdefault(norm_path(folder), FileEntry(folder, "dir"))
            text = str(raw.get("text") or "")
            host.files[norm_path(path)] = FileEntry(path, "file", len(text.encode("utf-8")), text=text)
    return host


def _iso(value: Any) -> str:
    if not value:
        return "2000-01-01T00:00:00+00:00"
    text = str(value).replace("Z", "+00:00")
    text = re.sub(r"\.(\d{6})\d+", r".\1", text)
    try:
        return datetime.fromisoformat(text).isoformat()
    except ValueError:
        return "2000-01-01T00:00:00+00:00"


def _assumed_guest(notes: str, booted_from: int | None, host: Host, vm: VM) -> list[str] | None:
    """For a preflight copy: what a VM's guest in setup (its Notes line, orchestrator/actions.py
    GUEST_NOTES_PREFIX) is assumed to report once ready: the product's ready value and token, the computer
    name on the line, and the edition of the image its disk descends from (or the one KVP showed). The line is
    read by the product's one rule (orchestrator.facts.guest_line), as the plan and the wait read it."""
    line = guest_line(notes)
    fields = guest_fields(notes) or ()
    if line is None or line[1] != "setup" or not line[0]:
        return None
    edition = booted_from
    current = vm.disks[0].path if vm.disks else None
    seen: set[str] = set()
    while edition is None and current and norm_path(current) not in seen:
        seen.add(norm_path(current))
        entry = host.files.get(norm_path(current))
        if entry is None:
            break
        edition = entry.edition_sku
        current = (entry.vhd or {}).get("parent")
    return ["OrchestrateReady", line[0], fields[2] if len(fields) > 2 else vm.name.upper(), str(edition or "")]
