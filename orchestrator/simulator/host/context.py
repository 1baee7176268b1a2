"""What a cmdlet sees while it runs: the host model, its files, the clock, and a way to record changes."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from orchestrator.simulator.host.acl import DEFAULT_USER, Identity
from orchestrator.simulator.host.files import FileSystem
from orchestrator.simulator.host.model import VM, Host
from orchestrator.simulator.host.registry import CmdletError
from orchestrator.simulator.language.flow import ProcessKilled
from orchestrator.simulator.language.values import PSObject

if TYPE_CHECKING:
    from orchestrator.simulator.language.interpreter import Interpreter


class HostContext:
    def __init__(self, host: Host, fs: FileSystem, *, now: Callable[[], datetime] | None = None,
                 run_script: Callable[[str], Any] | None = None) -> None:
        self.host = host
        self.fs = fs
        self._now = now
        self.run_script = run_script
        self.interp: Interpreter | None = None
        # Who the script runs as (host/acl.py): the file system's identity, or the remote session's.
        self.identity = fs.identity or Identity.session(host.session_user or DEFAULT_USER, host.session_admin,
                                                        host.creator_owns)
        self.dirty = False
        self.mutations: list[str] = []
        self.warnings: list[str] = []
        self.jobs: dict[int, Any] = {}
        # Compare-VM reports of this run, by the planned VM's id: Import-VM -CompatibilityReport imports them.
        self.pending_imports: dict[str, dict[str, Any]] = {}
        self._objects: dict[Any, tuple[Any, Any, tuple[str, ...]]] = {}
        # Seconds this run spent in Start-Sleep: simulated time, so Get-Date after a sleep is that much later
        # (a polling loop with a deadline sees its deadline come), without any real waiting. On Windows,
        # Start-Sleep "suspends the activity in a script for the specified period of time" and Get-Date "gets
        # the current date and time" (MicrosoftDocs/PowerShell-Docs reference/3.0/Microsoft.PowerShell.Utility/Start-Sleep.md,
        # Get-Date.md): the wall clock moves on by the sleep.
        self.slept = 0.0
        # The id of the PowerShell process this run stands for ($PID): the owner of the handles it opens, which
        # go when the run (the process) ends (host/handles.py). Unique among the processes that still hold a
        # handle; reused otherwise, as Windows reuses process ids (multiples of 4).
        self.pid = 4 + max([1000, *(int(h["process"]) for h in host.open_files)])

    def static_hooks(self) -> dict[str, Any]:
        """The .NET types whose static methods need this host: [System.IO.File] (host/handles.py),
        [System.IO.Directory]'s access control and [System.Security.Principal.WindowsIdentity] (host/acl.py),
        [System.IO.Directory]::CreateDirectory (host/items.py)."""
        from orchestrator.simulator.host.acl import directory_static, identity_static
        from orchestrator.simulator.host.handles import file_static
        from orchestrator.simulator.host.items import create_directory

        return {"io.file": lambda lname, args: file_static(self, lname, args),
                "io.directory": lambda lname, args: (create_directory(self, args) if lname == "createdirectory"
                                                     else directory_static(self, lname, args)),
                "security.principal.windowsidentity": lambda lname, args: identity_static(self, lname, args)}

    def end_process(self) -> None:
        """The run is over, so its process ends: every handle it still holds is closed (host/handles.py)."""
        from orchestrator.simulator.host.handles import release_process

        if release_process(self.host, self.pid):
            self.mutated(f"process {self.pid} ended")

    def object_for(self, key: Any, inputs: Any, build: Any) -> Any:
        """A model object's PSObject, rebuilt only when `inputs` (everything `build` reads) differ from the
        last call's: a change to one VM leaves the others' objects as they are (before, any change to the host
        rebuilt every VM's object at the next Get-VM). Each caller gets a copy of its own, down to the objects
        inside it (a VM's drives and adapters), so that what a script sets on an object it got never shows
        in a later call's: the stricter choice, Get-VM's page says nothing of objects reused. Lists inside
        those (an adapter's empty IPAddresses) are shared: arrays are fixed-size, as in PowerShell ("Collection
        was of a fixed size"), so no script line changes one in place."""
        hit = self._objects.get(key)
        if hit is None or hit[0] != inputs:
            built = build(inputs)
            nested = tuple(name for name, value in built.props.items()
                           if type(value) is list and any(type(item) is PSObject for item in value))
            hit = (inputs, built, nested)
            self._objects[key] = hit
        return _fresh(hit[1], hit[2])

    def now(self) -> datetime:
        return self._clock() + timedelta(seconds=self.slept)

    def _clock(self) -> datetime:
        if self._now is not None:
            return self._now()
        if self.host.clock:
            return datetime.fromisoformat(self.host.clock)
        return datetime.now(UTC)

    def new_guid(self) -> str:
        return random_guid()

    def mutated(self, what: str) -> None:
        """Record a change to the model: the state file is written after the run only when this was called."""
        self.dirty = True
        self.mutations.append(what)
        host = self.host
        if host.kill_after_changes is None and host.kill_after_change is None:
            return
        if self.kill_due(what):
            host.kill_after_changes = host.kill_after_change = None
            if self.interp is not None:
                self.interp.killed = True
            raise ProcessKilled(what)
        if host.kill_after_changes is not None:
            host.kill_after_changes -= 1

    def kill_due(self, what: str) -> bool:
        """Whether the change `what` is the one after which this script is killed (a cmdlet that is cut off
        half-way, as a copy is, leaves its half-done work before it calls `mutated`)."""
        host = self.host
        if host.kill_after_changes is not None:
            return host.kill_after_changes <= 1
        return host.kill_after_change is not None and what.startswith(host.kill_after_change)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    # -- lookups with Hyper-V's own errors ----------------------------------------------------------------

    def vms_named(self, names: list[str] | str | None, *, must_exist: bool = True) -> list[VM]:
        if names is None:
            return sorted(self.host.vms.values(), key=lambda v: v.name.lower())
        if isinstance(names, str):
            names = [names]
        out: list[VM] = []
        for name in names:
            if any(ch in name for ch in "*?["):
                from orchestrator.simulator.language.values import like

                out.extend(v for v in self.host.vms.values() if like(v.name, name))
                continue
            found = self.host.vm_by_name(name)
            if not found and must_exist:
                raise CmdletError(f'Hyper-V was unable to find a virtual machine with name "{name}".',
                                  "InvalidParameter", "InvalidArgument", name)
            out.extend(found)
        return out

    def vm_from_call(self, call: Any, name_param: str = "VMName", object_param: str = "VM") -> list[VM]:
        """The VMs a Hyper-V cmdlet targets: by name, or the VM objects given (piped or -VM)."""
        if call.has(object_param):
            vms = []
            for obj in _as_list(call.get(object_param)):
                ref = getattr(obj, "ref", None)
                vm = self.host.vms.get(ref) if isinstance(ref, str) else None
                if vm is None:
                    raise CmdletError("The virtual machine object is not valid or no longer exists.",
                                      "InvalidParameter", "InvalidArgument")
                vms.append(vm)
            return vms
        return self.vms_named(call.get(name_param))


def random_guid() -> str:
    """A random (version 4, RFC 4122 variant) GUID in its lower-case text form, as str(uuid.uuid4()) gives:
    the same bits set from 16 random bytes, without building a UUID object (a converge makes about twenty)."""
    n = int.from_bytes(os.urandom(16), "big")
    n = (n & ~(0xF000 << 64)) | (4 << 76)  # version 4
    n = (n & ~(0xC000 << 48)) | (0x8000 << 48)  # the RFC 4122 variant
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _fresh(obj: PSObject, nested: tuple[str, ...]) -> PSObject:
    """A copy of a cached object: its property dict, and the lists of objects in it (`nested`: a VM's
    drives, adapters, DVD drives) with each of those objects' property dicts, its own."""
    props = dict(obj.props)
    for name in nested:
        props[name] = [PSObject(dict(item.props), item.type_name, item.ref, item.text) if type(item) is PSObject
                       else item for item in props[name]]
    return PSObject(props, obj.type_name, obj.ref, obj.text)
