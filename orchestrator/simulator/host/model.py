"""The typed model of one Hyper-V host: OS, capacity, switches, files, VMs, checkpoints and scheduled tasks.

No syntax lives here and no cmdlet: the cmdlet modules read and change this model, and state.py turns it
into JSON and back. Paths are kept as written and looked up case-insensitively, as NTFS does.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

GiB = 1024**3
HOST_RESERVE = 2 * GiB  # what the parent partition keeps for itself; VMs can only use the rest
EDITION_NAMES = {
    77: ("ServerMultiPointPremium", "Windows MultiPoint Server 2012 Premium"),
    76: ("ServerMultiPointStandard", "Windows MultiPoint Server 2012 Standard"),
    8: ("ServerDatacenter", "Windows Server 2012 R2 Datacenter"),
    7: ("ServerStandard", "Windows Server 2012 R2 Standard"),
}
OS_CAPTIONS = {
    76: "Microsoft Windows MultiPoint Server 2012 Standard",
    77: "Microsoft Windows MultiPoint Server 2012 Premium",
    7: "Microsoft Windows Server {name} Standard",
    8: "Microsoft Windows Server {name} Datacenter",
}
OS_BUILDS = {"6.2": "6.2.9200", "6.3": "6.3.9600", "10.0": "10.0.14393"}
OS_NAMES = {"6.2": "2012", "6.3": "2012 R2", "10.0": "2016"}
_NOTHING: frozenset[str] = frozenset()


_NORMALIZED: dict[str, str] = {}
_NORMALIZED_MAX = 8192  # entries; when full the memo starts again (bounded memory across many hosts)


def norm_path(path: str) -> str:
    """The lookup key of a Windows path: backslashes, no trailing separator, case folded. Memoised: the
    same few dozen paths are looked up hundreds of times in one apply (every file check, ACL, disk chain)."""
    found = _NORMALIZED.get(path)
    if found is None:
        p = path.replace("/", "\\")
        while len(p) > 3 and p.endswith("\\"):
            p = p[:-1]
        found = p.lower()
        if len(_NORMALIZED) >= _NORMALIZED_MAX:
            _NORMALIZED.clear()
        _NORMALIZED[path] = found
    return found


_PARENTS: dict[str, str] = {}
_SHARE_ROOTS: dict[str, str | None] = {}


def parent_path(path: str) -> str:
    """The folder a path is in ('' for a share's root). Memoised as norm_path is, and for the same reason:
    every file check and ACL walk asks it of the same few dozen paths."""
    found = _PARENTS.get(path)
    if found is None:
        found = _parent_path(path)
        if len(_PARENTS) >= _NORMALIZED_MAX:
            _PARENTS.clear()
        _PARENTS[path] = found
    return found


def _parent_path(path: str) -> str:
    p = path.replace("/", "\\").rstrip("\\")
    if p.startswith("\\\\"):
        parts = p.split("\\")
        if len(parts) <= 4:
            return ""
    head, _, _ = p.rpartition("\\")
    if len(head) == 2 and head.endswith(":"):
        return head + "\\"
    return head


def share_root(path: str) -> str | None:
    """'\\\\nas\\exports\\x' -> '\\\\nas\\exports' (lower-cased), None for a local path. Memoised as parent_path."""
    if path in _SHARE_ROOTS:
        return _SHARE_ROOTS[path]
    found = _share_root(path)
    if len(_SHARE_ROOTS) >= _NORMALIZED_MAX:
        _SHARE_ROOTS.clear()
    _SHARE_ROOTS[path] = found
    return found


def _share_root(path: str) -> str | None:
    p = path.replace("/", "\\")
    if not p.startswith("\\\\"):
        return None
    parts = p[2:].split("\\")
    if len(parts) < 2:
        return None
    return ("\\\\" + parts[0] + "\\" + parts[1]).lower()


@dataclass(slots=True)
class FileEntry:
    path: str
    kind: str = "file"  # "file" | "dir"
    size: int = 0
    edition_sku: int | None = None  # install media (VHDX / ISO / WIM) and the edition they contain
    vhd: dict[str, Any] | None = None  # {"type": "Dynamic"|"Differencing"|"Fixed", "size": n, "parent": path}
    content: int = 0  # a version counter standing for the disk's data; a checkpoint captures it
    export: dict[str, Any] | None = None  # an exported VM's configuration (the <GUID>.XML of an export)
    text: str | None = None  # a text file's content as a script wrote it (New-Item -Value, Set-Content), e.g. an answer file or a move record
    # A virtual disk's guest volume, once something wrote to it (host/guest.py): its files and its Windows'
    # state. None reads through to the parent disk, and a disk with install media has a sysprepped one.
    volume: dict[str, Any] | None = None
    # Mount-VHD on the host: {"disk": n, "letter": "E" or None, "paths": [[partition number, folder], ...]}
    # (the folders Add-PartitionAccessPath mounted its partitions at: host/guest_disks.py)
    mounted: dict[str, Any] | None = None
    # Who owns it (a SID; None: what the simulator was seeded with, shown as Administrators) and a folder's own
    # access rules once a script set them ({"protected": b, "rules": [...]}; None: inherited): host/acl.py.
    owner: str | None = None
    acl: dict[str, Any] | None = None
    # Half-written: a copy whose process was killed before it finished (Simulator.kill_after_changes). A disk
    # cmdlet refuses such a file (host/cmdlets_disk.py torn_error); what a real host makes of one is not known.
    torn: bool = False


@dataclass(slots=True)
class Disk:
    path: str
    controller_type: str = "SCSI"
    controller_number: int = 0
    controller_location: int = 0


@dataclass(slots=True)
class Adapter:
    name: str = "Network Adapter"
    switch: str | None = None
    mac: str = "000000000000"
    id: str = ""


@dataclass(slots=True)
class Snapshot:
    id: str
    name: str
    parent_id: str | None
    created: str  # ISO-8601 UTC
    notes: str = ""
    config: dict[str, Any] = field(default_factory=dict)  # the VM's settings when taken
    disks: dict[str, int] = field(default_factory=dict)  # disk path -> content version when taken
    state: str = "Off"


@dataclass(slots=True)
class VM:
    id: str
    name: str
    state: str = "Off"  # Off | Running | Saved | Paused
    generation: int = 1
    cpus: int = 1
    memory_startup: int = 512 * 1024**2
    dynamic_memory: bool = False
    memory_minimum: int = 512 * 1024**2
    memory_maximum: int = 1024**4
    notes: str = ""
    path: str = ""
    created: str = ""
    disks: list[Disk] = field(default_factory=list)
    dvds: list[str | None] = field(default_factory=list)
    adapters: list[Adapter] = field(default_factory=list)
    snapshots: dict[str, Snapshot] = field(default_factory=dict)
    current_snapshot: str | None = None  # the checkpoint the VM's present state descends from
    secure_boot: bool = True
    first_boot: str | None = None
    booted_from: int | None = None  # edition SKU of the media the guest OS came from, once it has run
    uptime_runs: int = 0
    # The running guest's memory (host/guest.py): its setup phase and the simulated seconds it still needs.
    # A checkpoint of a running VM keeps it, as a real checkpoint keeps the VM's memory.
    guest_run: dict[str, Any] | None = None

    CONFIG_FIELDS = ("generation", "cpus", "memory_startup", "dynamic_memory", "memory_minimum", "memory_maximum",
                     "notes", "disks", "dvds", "adapters", "secure_boot", "first_boot", "booted_from", "guest_run")

    def config(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.CONFIG_FIELDS:
            value = getattr(self, name)
            if name in ("disks", "adapters"):
                # Their fields are strings and numbers (tests/simulator/test_simulator_model_values.py):
                # reading them in order gives the dict asdict's recursive copy gave, at a fraction of its cost.
                value = [{key: getattr(item, key) for key in item.__slots__} for item in value]
            else:
                value = copy.deepcopy(value) if name == "guest_run" else copy.copy(value)
            out[name] = value
        return out

    def apply_config(self, config: dict[str, Any]) -> None:
        for name, value in config.items():
            if name == "disks":
                value = [Disk(**d) for d in value]
            elif name == "adapters":
                value = [Adapter(**a) for a in value]
            setattr(self, name, copy.deepcopy(value) if name == "guest_run" else copy.copy(value))


@dataclass(slots=True)
class Task:
    name: str
    path: str = "\\"
    description: str = ""
    actions: list[dict[str, Any]] = field(default_factory=list)
    triggers: list[dict[str, Any]] = field(default_factory=list)
    principal: dict[str, Any] | None = None
    # The task's MSFT_TaskSettings as registered (host/cmdlets_tasks.py); None, a task read from facts or an
    # older state file: Task Scheduler's defaults.
    settings: dict[str, Any] | None = None
    state: str = "Ready"
    last_run: str | None = None
    last_result: int = 267011  # SCHED_S_TASK_HAS_NOT_RUN, what a fresh task reports
    last_output: str = ""
    registered: str = ""


@dataclass(slots=True)
class Host:
    name: str = "HV01"
    os_version: str = "6.3"
    os_sku: int = 8
    hyperv_installed: bool = True
    logical_processors: int = 8
    memory: int = 32 * GiB
    switches: list[str] = field(default_factory=list)
    free_disk: int = 2 * 1024**4
    vm_path: str = "C:\\ProgramData\\Microsoft\\Windows\\Hyper-V"
    vhd_path: str = "C:\\Users\\Public\\Documents\\Hyper-V\\Virtual Hard Disks"
    files: dict[str, FileEntry] = field(default_factory=dict)
    vms: dict[str, VM] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    guid_counter: int = 0
    clock: str | None = None  # ISO time the simulated clock shows; None = real UTC time
    job_seconds: float = 0.0  # how long a Start-Job job stays Running, counted in Wait-Job -Timeout seconds
    # Hyper-V's own (VMMS) jobs still at work: {"kind": "export" | "merge", "vm_id", "path", "left": seconds}.
    # An export takes job_seconds of simulated time and runs on whatever happens to the PowerShell job that
    # started it (a CIM_ConcreteJob: MicrosoftDocs/win32 desktop-src/HyperV_v2/msvm-concretejob.md); a merge
    # of checkpoint files runs after Remove-VM / Remove-VMSnapshot (docset/winserver2012r2-ps/hyper-v/
    # Remove-VM.md; host/chains.py).
    vmms_jobs: list[dict[str, Any]] = field(default_factory=list)
    session_admin: bool = True  # False: the remote user is in Hyper-V Administrators only, not Administrators
    session_user: str = ""  # the remote user's SID ("": host/acl.DEFAULT_USER, the built-in Administrator)
    creator_owns: bool = False  # the host's policy makes even an administrator's new objects its own (host/acl.py)
    guest_setup_seconds: float = 30 * 60  # how long a guest's first-boot setup runs, in simulated time (guest.py)
    # Whether Mount-VHD gives a mounted disk's volumes drive letters by itself (host/guest_disks.py). A host
    # with automount off (mountvol /N), a SAN policy or an image partition's NoDefaultDriveLetter gives none,
    # and no page says when the letters come where it does (audit K H1): off, it never does.
    automount: bool = True
    # The updates Get-HotFix lists (Win32_QuickFixEngineering's HotFixID, "KB2842230"): none unless seeded, as a
    # host fresh from its 2012 media has none of those the product asks about (ping's WinRM memory check).
    hotfixes: list[str] = field(default_factory=list)
    guest_domains: list[str] = field(default_factory=list)  # AD domains the simulated network has (guest.py)
    # A copy built from facts (a dry run's preflight) knows no guest's disk: for a running VM whose guest is
    # in setup it assumes the guest reports what the host waits for (vm id -> [ready name, token, computer
    # name, edition]), so the preflight checks the script, not the guest's fate (Simulator.from_facts).
    assumed_guests: dict[str, list[str]] = field(default_factory=dict)
    # File handles still open by a process that runs on the host (host/handles.py): a handle of a script's
    # own process goes when its run ends; one of a process a test keeps running (Simulator.hold) stays.
    open_files: list[dict[str, Any]] = field(default_factory=list)
    # A test's kill (Simulator.kill_after_changes): the next script that changes anything is ended, as
    # Stop-Process or the WinRM service's terminate would end its powershell.exe, right after it made this
    # many changes. What it made stays; its finally blocks do not run (a killed process runs no code); its
    # handles close. `kill_after_change`: instead, right after its first change whose log text (HostContext.
    # mutated: the cmdlet's name and its target) starts with this.
    kill_after_changes: int | None = None
    kill_after_change: str | None = None
    # The host's power as Task Scheduler sees it (host/cmdlets_tasks.py, Start-ScheduledTask): on batteries, a
    # task with the default DisallowStartIfOnBatteries does not start. `battery_after_change`: a test's power
    # cut during the next task run, right after its first change whose log text starts with this (as
    # kill_after_change); a task with the default StopIfGoingOnBatteries is stopped there, and the host is on
    # batteries from then on.
    on_batteries: bool = False
    battery_after_change: str | None = None

    # A cmdlet whose parameters on this host are the ones its page lists for another Windows version (lower-case
    # name -> "6.2" / "6.3" / "10.0": the seed's `cmdlets_as_on`, or a dry run's copy of a host whose Get-Command
    # said so, Simulator.from_facts): a host that differs from its own version's pages, as a real one may (the
    # 2012 SYNTAX blocks left -Confirm out for cmdlets that have it: hyperv-cmdlets.json). Empty: every cmdlet
    # is as the host's own version's page lists it.
    cmdlets_as_on: dict[str, str] = field(default_factory=dict)
    # Properties this host's Hyper-V objects lack (short type name -> property names: {"VMSnapshot":
    # ["ProcessorCount"], "VirtualMachine": ["ParentSnapshotName"]}), for a test of a host that differs from
    # what the simulator believes: no 2012 page lists the properties of a VMSnapshot or a VirtualMachine
    # (Get-VMSnapshot.md, Get-VM.md give only the output type), and PowerShell reads a property an object
    # does not have as $null (audit J L5). Empty: every property objects.py builds.
    missing_properties: dict[str, list[str]] = field(default_factory=dict)
    # Parameters a cmdlet lacks on this host beside those of the page that gives it (lower-case name -> lower-case
    # parameter names): the seed's `cmdlets_without`, or a dry run's copy of a host whose Get-Command listed
    # fewer (Simulator.from_facts), e.g. a Set-VMMemory without -Confirm and -WhatIf, as the 2012 page's SYNTAX
    # shows it (audit L M2). Such a parameter does not bind, is not in Get-Command's list, and without -Confirm
    # the cmdlet has no ShouldProcess, so it never prompts.
    cmdlets_without: dict[str, list[str]] = field(default_factory=dict)

    def cmdlet_version(self, cmdlet: str) -> str:
        """The Windows version whose page gives this host's parameters of `cmdlet` (its own, unless
        `cmdlets_as_on` names another)."""
        return self.cmdlets_as_on.get(cmdlet.lower(), self.os_version) if self.cmdlets_as_on else self.os_version

    def cmdlet_lacks(self, cmdlet: str) -> frozenset[str]:
        """The parameters (lower case) this host's `cmdlet` lacks beside its page's (`cmdlets_without`)."""
        if not self.cmdlets_without:
            return _NOTHING
        return frozenset(self.cmdlets_without.get(cmdlet.lower(), ()))

    @property
    def os_build(self) -> str:
        return OS_BUILDS.get(self.os_version, self.os_version)

    @property
    def caption(self) -> str:
        template = OS_CAPTIONS.get(self.os_sku, "Microsoft Windows Server {name}")
        return template.format(name=OS_NAMES.get(self.os_version, "2012 R2"))

    def vmms_job_writing(self, path: str) -> dict[str, Any] | None:
        """The Hyper-V job still writing at or below `path` (or into a folder `path` lies in), if any."""
        key = norm_path(path)
        for job in self.vmms_jobs:
            for written in (job["path"], job.get("into")):  # a merge writes the file it merges into, too
                if not written:
                    continue
                target = norm_path(written)
                if key == target or key.startswith(target + "\\") or target.startswith(key + "\\"):
                    return job
        return None

    def vmms_job_of(self, vm_id: str) -> dict[str, Any] | None:
        """The VM's export or import still running (a merge of its checkpoint files does not stop a start)."""
        return next((job for job in self.vmms_jobs if job["vm_id"] == vm_id and job.get("kind") != "merge"), None)

    def committed_memory(self) -> int:
        return sum(vm.memory_startup for vm in self.vms.values() if vm.state in ("Running", "Paused"))

    def free_memory(self) -> int:
        return max(0, self.memory - HOST_RESERVE - self.committed_memory())

    def vm_by_name(self, name: str) -> list[VM]:
        lowered = name.lower()
        return [vm for vm in self.vms.values() if vm.name.lower() == lowered]

    @staticmethod
    def task_key(path: str, name: str) -> str:
        return (path or "\\").lower() + name.lower()
