"""Virtual disk cmdlets (New-VHD, Get-VHD) and the VM transfer cmdlets (Export-VM, Import-VM, Compare-VM).

An export is a folder `<Path>\\<VMName>` with `Virtual Machines\\<ID>.XML` (holding the VM's configuration and
checkpoints), `Virtual Hard Disks\\` (copies of its disks) and `Snapshots\\`. Import reads that XML back:
registering in place keeps the ID, `-Copy` copies the disks, `-GenerateNewId` gives the VM (and, unverified, its
checkpoints) a new ID.
"""

from __future__ import annotations

import copy
from typing import Any

from orchestrator.hyperv_limits import DISK_SIZE_STEP, MAX_VHDX_SIZE, MIN_DISK_SIZE
from orchestrator.simulator.binder import BoundCall
from orchestrator.simulator.host import chains
from orchestrator.simulator.host.context import HostContext
from orchestrator.simulator.host.model import VM, Adapter, Disk, FileEntry, Snapshot, norm_path, parent_path
from orchestrator.simulator.host.objects import adapter_object, vhd_object, vm_object
from orchestrator.simulator.host.registry import CmdletError, cmdlet
from orchestrator.simulator.host.wildcard_paths import literal_path
from orchestrator.simulator.language.values import PSObject

MODULE = "Hyper-V"
MB = 1024**2


def torn_error(prefix: str, path: str) -> CmdletError:
    """A disk file a killed copy left half-written (model.FileEntry.torn). Win32's ERROR_FILE_CORRUPT text; what a
    real host does with such a file is not known (it may even open it and boot garbage): refused here, stricter."""
    return CmdletError(f"{prefix}\nThe file or directory is corrupted and unreadable. (0x80070570) ('{path}')",
                       "FileCorrupt", "ReadError", path)


def _attached(ctx: HostContext, path: str) -> bool:
    key = norm_path(path)
    return any(norm_path(d.path) == key for vm in ctx.host.vms.values() for d in vm.disks)


@cmdlet("New-VHD", MODULE, mutating=True)
def new_vhd(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    path = call.one("Path")
    if ctx.fs.exists(path):
        raise CmdletError(f"Failed to create the virtual hard disk.\nThe system failed to create '{path}': The file "
                          "exists. (0x80070050).", "ResourceExists", "ResourceExists", path)
    if not ctx.fs.parent_exists(path):
        raise CmdletError(f"Failed to create the virtual hard disk.\nThe system failed to create '{path}': The system "
                          "cannot find the path specified. (0x80070003).", "ObjectNotFound", "ObjectNotFound", path)
    if call.parameter_set == "Differencing":
        parent = call.get("ParentPath")
        parent_entry = ctx.fs.get(parent)
        if parent_entry is None or parent_entry.kind != "file":
            raise CmdletError(f"Failed to create the virtual hard disk.\nThe system failed to create '{path}': The "
                              f"system cannot find the file specified. (0x80070002). ('{parent}')", "ObjectNotFound",
                              "ObjectNotFound", parent)
        if parent_entry.torn:
            raise torn_error("Failed to create the virtual hard disk.", parent_entry.path)
        writer = chains.writable_leaf_of(ctx.host, parent_entry.path)
        if writer is not None:
            # The parent is the disk a VM that is not Off writes to now: the new child would be read through a
            # file that goes on changing under it. A third-party report (test-kitchen/kitchen-hyperv#11: "Unable
            # to Create Differencing Disk ... if the base machine is still running") says a real host refuses it;
            # no Microsoft page does, nor gives the text: refused here (stricter; audit L M1).
            raise CmdletError(f"Failed to create the virtual hard disk.\nThe process cannot access the file "
                              f"'{parent_entry.path}' because it is being used by another process (VM "
                              f"'{writer.name}' is {writer.state}).", "ResourceBusy", "ResourceBusy", parent)
        size = int((parent_entry.vhd or {}).get("size") or parent_entry.size)
        entry = FileEntry(path, "file", 4 * MB, vhd={"type": "Differencing", "size": size, "parent": parent_entry.path})
    else:
        size = int(call.get("SizeBytes") or 0)
        if size % DISK_SIZE_STEP or size < MIN_DISK_SIZE:
            # A real New-VHD refuses an unaligned size (PowerShell/PowerShell#25761: "Failed to create the virtual
            # hard disk.", InvalidParameter); 1 MB steps and 3 MB are stricter than it (hyperv_limits). The
            # second line of the text is the simulator's own.
            raise CmdletError(f"Failed to create the virtual hard disk.\nThe size {size} is not a whole multiple "
                              f"of 1 MB of at least 3 MB. ('{path}')", "InvalidParameter", "InvalidArgument", path)
        if size > MAX_VHDX_SIZE:  # orchestrator.hyperv_limits (the text is the simulator's own)
            raise CmdletError(f"Failed to create the virtual hard disk.\nThe size {size} is above the 64 TB a VHDX "
                              f"holds. ('{path}')", "InvalidParameter", "InvalidArgument", path)
        kind = "Fixed" if call.get("Fixed") else "Dynamic"
        file_size = size if kind == "Fixed" else 4 * MB
        free = [ctx.host.free_disk]
        if not ctx.fs.consume(path, file_size, free):
            raise CmdletError(f"Failed to create the virtual hard disk.\nThere is not enough space on the disk. "
                              f"('{path}')", "NotEnoughSpace", "WriteError", path)
        ctx.host.free_disk = free[0]
        entry = FileEntry(path, "file", file_size, vhd={"type": kind, "size": size, "parent": None})
    ctx.fs.add(entry)
    ctx.mutated(f"New-VHD {path}")
    return [vhd_object(entry, False)]


@cmdlet("Get-VHD", MODULE)
def get_vhd(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    if call.has("VMId"):
        vm = ctx.host.vms.get(str(call.get("VMId")).lower())
        if vm is None:
            raise CmdletError(f"Hyper-V was unable to find a virtual machine with ID \"{call.get('VMId')}\".",
                              "InvalidParameter", "InvalidArgument")
        paths = [d.path for d in vm.disks]
    else:
        paths = [literal_path("Get-VHD", path) for path in _list(call.get("Path"))]
    out = []
    for path in paths:
        entry = ctx.fs.get(path)
        if entry is None or entry.kind != "file":
            raise CmdletError(f"Getting the mounted storage instance for the path '{path}' failed.\nThe operation "
                              "cannot be performed while the object is in use.\nThe system cannot find the file "
                              "specified.", "ObjectNotFound", "ObjectNotFound", path)
        if entry.torn:
            raise torn_error(f"Getting the virtual hard disk '{path}' failed.", path)
        out.append(vhd_object(entry, _attached(ctx, entry.path)))
    return out


# -- transfer -------------------------------------------------------------------------------------------------


def _leaf(path: str) -> str:
    return path.replace("/", "\\").rstrip("\\").rsplit("\\", 1)[-1]


@cmdlet("Export-VM", MODULE, mutating=True)
def export_vm(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    out = []
    base = literal_path("Export-VM", call.get("Path")).rstrip("\\")
    for vm in ctx.vm_from_call(call, "Name"):
        # 2012 exports no running VM (exporting one is new in 2012 R2: hyperv-behaviour.md section 4). Whether
        # it exports a Paused VM, or one Starting, Stopping or Saving, is on no page: refused too, stricter
        # (audit J L6). The message is the simulator's own.
        if ctx.host.os_version == "6.2" and vm.state not in ("Off", "Saved"):
            raise CmdletError(f"Failed to export the virtual machine '{vm.name}'.\nThe operation cannot be performed "
                              f"while the virtual machine is in its current state ({vm.state}). Stop or save it "
                              "first.", "InvalidState", "InvalidOperation", vm.name)
        if not ctx.fs.share_known(base):
            raise CmdletError(f"Failed to export the virtual machine '{vm.name}'.\nThe network path was not found. "
                              f"('{base}')", "ObjectNotFound", "ObjectNotFound", base)
        folder = f"{base}\\{vm.name}"
        if ctx.fs.exists(folder + "\\Virtual Machines") or ctx.fs.exists(folder + "\\Virtual Hard Disks"):
            raise CmdletError(f"Failed to export the virtual machine '{vm.name}'.\nThe folder '{folder}' already "
                              "contains an exported virtual machine. Specify another export location or remove the "
                              "existing export.", "ResourceExists", "ResourceExists", folder)
        # Every file of the VM's own chains: the drives' and each checkpoint's, down to the base disks. A real
        # export may copy a differencing base's parent image too (chains.whole_chain): unverified, so the
        # stricter half of that is modelled, the room for it and the clash of leaf names, while the copy holds
        # the VM's own files only (docs/real-hosts.md, "Disks and checkpoints").
        files: list[str] = []
        whole: list[str] = []
        for start in [d.path for d in vm.disks] + [p for s in vm.snapshots.values() for p in s.disks]:
            files.extend(f for f in chains.own_chain(ctx.host, start) if f.lower() not in {x.lower() for x in files})
            whole.extend(f for f in chains.whole_chain(ctx.host, start) if f.lower() not in {x.lower() for x in whole})
        leaves: dict[str, str] = {}
        for f in whole:
            other = leaves.setdefault(_leaf(f).lower(), f)
            if other != f:
                raise CmdletError(f"Failed to export the virtual machine '{vm.name}'.\nFailed to copy file during "
                                  f"export. '{f}': File exists already. (0x80070050) ('{other}' has the same name)",
                                  "ResourceExists", "WriteError", f)
        disks = [ctx.fs.get(f) for f in files]
        total = sum(e.size for e in (ctx.fs.get(f) for f in whole) if e is not None)
        # Saved state: a VM not Off, and each checkpoint not taken Off, holds memory the export copies
        # (Export-VM.md: Snapshots and Virtual Machines are exported). Its size is on no page: room for the
        # startup memory is asked (unverified; audit J L8), while the copy holds no memory file.
        total += (vm.memory_startup if vm.state != "Off" else 0) + sum(
            int(s.config.get("memory_startup") or vm.memory_startup) for s in vm.snapshots.values() if s.state != "Off")
        free = [ctx.host.free_disk]
        if not ctx.fs.consume(folder, total, free):
            raise CmdletError(f"Failed to export the virtual machine '{vm.name}'.\nThere is not enough space on the "
                              f"disk. ('{folder}')", "NotEnoughSpace", "WriteError", folder)
        ctx.host.free_disk = free[0]
        for sub in ("", "\\Virtual Machines", "\\Virtual Hard Disks", "\\Snapshots"):
            ctx.fs.ensure_dir(folder + sub)
        disk_map: dict[str, str] = {}
        copies = {norm_path(e.path): f"{folder}\\Virtual Hard Disks\\{_leaf(e.path)}" for e in disks if e}
        for entry in disks:
            if entry is None:
                continue
            clone = chains.copy_chain(entry, copies[norm_path(entry.path)], copies)
            ctx.fs.add(clone)
            disk_map[entry.path] = clone.path
        config = {
            "id": vm.id, "name": vm.name, "state": vm.state, "config": vm.config(), "disk_map": disk_map,
            "snapshots": [_snap_to_dict(s) for s in vm.snapshots.values()], "current_snapshot": vm.current_snapshot,
            "created": vm.created,
        }
        ctx.fs.add(FileEntry(f"{folder}\\Virtual Machines\\{vm.id.upper()}.XML", "file", 32 * 1024, export=config))
        _vmms_export_job(ctx, vm, folder)
        ctx.mutated(f"Export-VM {vm.name} {folder}")
        if call.get("Passthru"):
            out.append(vm_object(ctx.host, vm))
    return out


def _vmms_export_job(ctx: HostContext, vm: VM, folder: str) -> None:
    """The export is Hyper-V's work (a VMMS job, Msvm_ConcreteJob), not PowerShell's: it takes the host's
    job_seconds of simulated time and goes on when the PowerShell job that asked for it is stopped or removed.
    Export-VM without -AsJob returns only when that work has ended (docset/winserver2012r2-ps/hyper-v/
    Export-VM.md, -AsJob: "Specifies that the cmdlet is to be run as a background job", so without it the
    cmdlet waits); a VMMS job is a CIM_ConcreteJob with PercentComplete and JobState (MicrosoftDocs/win32
    desktop-src/HyperV_v2/msvm-concretejob.md). Meanwhile its files are in use and its VM cannot be started
    (unverified, messages included: the simulator fails safe). Wait-Job and Start-Sleep pass its time."""
    seconds = float(ctx.host.job_seconds or 0)
    if seconds > 0:
        ctx.host.vmms_jobs.append({"kind": "export", "vm_id": vm.id, "path": folder, "left": seconds,
                                   "total": seconds})


def _snap_to_dict(s: Snapshot) -> dict[str, Any]:
    return {"id": s.id, "name": s.name, "parent_id": s.parent_id, "created": s.created, "notes": s.notes,
            "config": copy.deepcopy(s.config), "disks": dict(s.disks), "state": s.state}


def _read_export(ctx: HostContext, path: str) -> dict[str, Any]:
    entry = ctx.fs.get(path)
    if entry is None or entry.export is None:
        raise CmdletError(f"Failed to import a virtual machine.\nThe system cannot find the file specified. "
                          f"('{path}')", "ObjectNotFound", "ObjectNotFound", path)
    return entry.export


def _incompatibilities(ctx: HostContext, export: dict[str, Any], new_id: bool,
                       planned: VM | None = None) -> list[PSObject]:
    """What keeps the export from importing here. With the VM a Compare-VM report plans (`planned`), a missing
    switch's Source is that VM's network adapter, which Connect-VMNetworkAdapter can repair."""
    issues = []
    if not new_id and export["id"] in ctx.host.vms:
        issues.append(PSObject({"Message": "The operation failed because a virtual machine with the same identifier "
                                "already exists. Select a new identifier and try the operation again.",
                                "MessageId": 40010, "Source": None}, "Microsoft.HyperV.PowerShell.VMCompatibilityError"))
    switches = {s.lower() for s in ctx.host.switches}
    if planned is not None:
        for vm_adapter in planned.adapters:
            if vm_adapter.switch and vm_adapter.switch.lower() not in switches:
                issues.append(PSObject({"Message": f"Could not find Ethernet switch '{vm_adapter.switch}'.",
                                        "MessageId": 33012, "Source": adapter_object(planned, vm_adapter)},
                                       "Microsoft.HyperV.PowerShell.VMCompatibilityError"))
        return issues
    for adapter in export["config"].get("adapters", []):
        if adapter.get("switch") and adapter["switch"].lower() not in switches:
            issues.append(PSObject({"Message": f"Could not find Ethernet switch '{adapter['switch']}'.",
                                    "MessageId": 33012, "Source": adapter.get("name")},
                                   "Microsoft.HyperV.PowerShell.VMCompatibilityError"))
    return issues


# ShouldProcess: the 2012 and 2012 R2 Compare-VM pages list -Confirm and -WhatIf, and neither gives its
# ConfirmImpact, so it is taken as High like every such Hyper-V cmdlet (should_process.py; audit J M1).
@cmdlet("Compare-VM", MODULE, mutating=True)
def compare_vm(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    if call.has("CompatibilityReport"):
        # "Generates a new compatibility report" for a repaired one (Compare-VM.md, 2012, Example 2; Import-VM.md
        # Example 3): the same planned VM, its incompatibilities found again.
        report = call.get("CompatibilityReport")
        pending = ctx.pending_imports.get(getattr(report, "ref", None))
        if pending is None:
            raise CmdletError("The compatibility report is not valid: get one from Compare-VM on this host.",
                              "InvalidParameter", "InvalidArgument")
        planned = pending["vm"]
        issues = _incompatibilities(ctx, _read_export(ctx, pending["path"]), pending["new_id"], planned)
        return [_report(ctx, planned, issues, pending["path"], pending["copy"])]
    if not call.has("Path"):
        raise CmdletError("The simulator supports Compare-VM -Path or -CompatibilityReport only.",
                          "NotSupported", "NotImplemented", terminating=True)
    export = _read_export(ctx, call.get("Path"))
    new_id = bool(call.get("GenerateNewId"))
    # The VM the import would create, not registered: the report's VM, whose adapters a repair may change.
    planned = VM(id=ctx.new_guid() if new_id else export["id"], name=export["name"], state="Off",
                 created=export.get("created", ""))
    planned.apply_config(copy.deepcopy(export["config"]))
    ctx.pending_imports[planned.id] = {
        "path": call.get("Path"), "copy": bool(call.get("Copy")), "new_id": new_id, "vm": planned,
        "vhd": call.get("VhdDestinationPath"), "vmpath": call.get("VirtualMachinePath"),
        "folders": _destination_folders(call),
    }
    issues = _incompatibilities(ctx, export, new_id, planned)
    return [_report(ctx, planned, issues, call.get("Path"), bool(call.get("Copy")))]


def _report(ctx: HostContext, planned: VM, issues: list[PSObject], path: str, copying: bool) -> PSObject:
    return PSObject({"Incompatibilities": issues, "Path": path, "OperationType":
                     "CopyVirtualMachine" if copying else "RegisterVirtualMachine",
                     "VM": vm_object(ctx.host, planned)},
                    "Microsoft.HyperV.PowerShell.VMCompatibilityReport", ref=planned.id)


DESTINATION_FOLDERS = ("VirtualMachinePath", "SnapshotFilePath", "SmartPagingFilePath", "VhdDestinationPath")


def _destination_folders(call: BoundCall) -> dict[str, str]:
    return {name: str(call.get(name)) for name in DESTINATION_FOLDERS if call.get(name)}


def _require_folders(ctx: HostContext, folders: dict[str, str]) -> None:
    """A copy's destination folders must exist. The 2012 and 2012 R2 Import-VM pages say what each path is for
    (-VhdDestinationPath "Specifies the folder to which the virtual machine's VHD files are to be copied";
    -VirtualMachinePath, -SnapshotFilePath, -SmartPagingFilePath likewise) and never that Import-VM creates
    a folder that is missing: refused here, stricter (audit J L3); the message is the simulator's own. The
    import script makes every folder it names first (templates/actions/import_vm.ps1.j2)."""
    for name, folder in folders.items():
        if ctx.fs.kind(folder) != "dir":
            raise CmdletError(f"Failed to import a virtual machine.\nThe folder '{folder}' given as -{name} does not "
                              "exist. (0x80070003)", "ObjectNotFound", "ObjectNotFound", folder)


@cmdlet("Import-VM", MODULE, mutating=True)
def import_vm(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    planned: VM | None = None
    if call.has("CompatibilityReport"):
        pending = ctx.pending_imports.get(getattr(call.get("CompatibilityReport"), "ref", None))
        if pending is None:
            raise CmdletError("The compatibility report is not valid: get one from Compare-VM on this host.",
                              "InvalidParameter", "InvalidArgument")
        path, planned = pending["path"], pending["vm"]
        copying, new_id = pending["copy"], pending["new_id"]
        vhd_destination, vm_destination = pending["vhd"], pending["vmpath"]
        folders = pending.get("folders", {})
    else:
        path = call.get("Path")
        copying = bool(call.get("Copy"))
        new_id = bool(call.get("GenerateNewId"))
        vhd_destination, vm_destination = call.get("VhdDestinationPath"), call.get("VirtualMachinePath")
        folders = _destination_folders(call)
    _require_folders(ctx, folders)
    export = _read_export(ctx, path)
    issues = _incompatibilities(ctx, export, new_id, planned)
    if issues:
        raise CmdletError("Failed to import a virtual machine.\nUnable to import virtual machine due to configuration "
                          f"errors. Please use Compare-VM to repair the virtual machine.\n{issues[0].get('Message')}",
                          "OperationFailed", "InvalidOperation", path)
    # Hyper-V tells VMs apart by id: importing one whose name is taken gives two VMs of that name, as on a
    # real host (a script renames the new one afterwards).
    name = export["name"]
    vm_id = planned.id if planned is not None else ctx.new_guid() if new_id else export["id"]
    folder = parent_path(parent_path(path))
    vm = VM(id=vm_id, name=name, state="Off", created=export.get("created", ""))
    vm.apply_config(copy.deepcopy(export["config"]))
    disk_paths: dict[str, str] = {}
    for original, exported in export["disk_map"].items():
        if copying:
            dest_dir = vhd_destination or ctx.host.vhd_path
            dest = f"{dest_dir.rstrip(chr(92))}\\{_leaf(exported)}"
            if ctx.fs.exists(dest):
                raise CmdletError(f"Failed to import a virtual machine.\nThe file '{dest}' already exists.",
                                  "ResourceExists", "ResourceExists", dest)
            source = ctx.fs.get(exported)
            if source is None:
                raise CmdletError(f"Failed to import a virtual machine.\nThe system cannot find the file specified. "
                                  f"('{exported}')", "ObjectNotFound", "ObjectNotFound", exported)
            free = [ctx.host.free_disk]
            if not ctx.fs.consume(dest, source.size, free):
                raise CmdletError("Failed to import a virtual machine.\nThere is not enough space on the disk.",
                                  "NotEnoughSpace", "WriteError", dest)
            ctx.host.free_disk = free[0]
            ctx.fs.add(chains.copy_chain(source, dest, {}))
            disk_paths[original] = dest
        else:
            disk_paths[original] = exported
    if copying:  # each copied file's parent is the copy of its parent (chains.py)
        exported_to_copy = {norm_path(export["disk_map"][k]): v for k, v in disk_paths.items()}
        for dest in disk_paths.values():
            entry = ctx.fs.get(dest)
            parent = (entry.vhd or {}).get("parent") if entry else None
            if entry is not None and parent and norm_path(parent) in exported_to_copy:
                entry.vhd = dict(entry.vhd or {}, parent=exported_to_copy[norm_path(parent)])
    vm.disks = [Disk(disk_paths.get(d.path, d.path), d.controller_type, d.controller_number, d.controller_location)
                for d in vm.disks]
    vm.adapters = [Adapter(a.name, a.switch, a.mac, a.id) for a in (planned or vm).adapters]
    vm.path = vm_destination or (ctx.host.vm_path if copying else folder)
    # -GenerateNewId gives "a new unique identifier" to the VM (Import-VM.md, 2012 and 2012 R2, -GenerateNewId
    # and Example 2); whether its checkpoints keep theirs is on no page (nor on WMI's ImportSystemDefinition,
    # whose GenerateNewSystemIdentifier names the system's only). Here they get new ones too, the stricter
    # reading: the orchestrator's marker of its own checkpoints (lib/checkpoint_notes) then names none of
    # them, and the import says so (operations/import_vm.py; audit J L9).
    new_ids = {raw["id"]: (ctx.new_guid() if new_id else raw["id"]) for raw in export["snapshots"]}
    for raw in export["snapshots"]:
        snap = Snapshot(**copy.deepcopy(raw))
        snap.id = new_ids[snap.id]
        snap.parent_id = new_ids.get(snap.parent_id, snap.parent_id) if snap.parent_id else None
        snap.config["disks"] = [dict(d, path=disk_paths.get(d["path"], d["path"])) for d in snap.config.get("disks", [])]
        snap.disks = {disk_paths.get(p, p): v for p, v in snap.disks.items()}
        vm.snapshots[snap.id] = snap
    current = export.get("current_snapshot")
    vm.current_snapshot = new_ids.get(current, current) if current else None
    ctx.host.vms[vm.id] = vm
    ctx.mutated(f"Import-VM {name}")
    return [vm_object(ctx.host, vm)]


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
