"""Hyper-V VM cmdlets: create, read, configure, power and remove VMs, their adapters, drives and firmware.

Hyper-V's rules hold with its own messages: names must exist (or be free for New-VM), starting needs the
startup memory to fit, and on 2012 / 2012 R2 (6.2 / 6.3) processor count, startup memory, enabling dynamic
memory and adding adapters need the VM off (reference/hyperv-behaviour.md section 2).
"""

from __future__ import annotations

from typing import Any

from orchestrator.hyperv_limits import MAX_VM_MEMORY, MAX_VM_PROCESSORS, MIN_VM_MEMORY
from orchestrator.simulator.binder import BoundCall
from orchestrator.simulator.host import chains, guest, guest_disks
from orchestrator.simulator.host.cmdlets_checkpoint import snapshots_from_call
from orchestrator.simulator.host.cmdlets_disk import torn_error
from orchestrator.simulator.host.context import HostContext
from orchestrator.simulator.host.model import VM, Adapter, Disk, FileEntry, norm_path
from orchestrator.simulator.host.objects import (
    adapter_object,
    disk_object,
    dvd_object,
    snapshot_disk_object,
    switch_object,
    vm_inputs,
    vm_object,
    vm_object_from,
)
from orchestrator.simulator.host.registry import CmdletError, cmdlet
from orchestrator.simulator.host.wildcard_paths import literal_path
from orchestrator.simulator.language.values import PSObject, utc_iso

MODULE = "Hyper-V"
MB = 1024**2


def _running_change_refused(ctx: HostContext, vm: VM, device: str) -> CmdletError:
    return CmdletError(
        f"Failed to modify device '{device}'.\n'{vm.name}' failed to modify device '{device}'. (Virtual machine ID "
        f"{vm.id})\nThe operation cannot be performed while the virtual machine is in its current state.",
        "InvalidState", "InvalidOperation", vm.name)


def _old_host(ctx: HostContext) -> bool:
    return ctx.host.os_version in ("6.2", "6.3")


def _check_switch(ctx: HostContext, name: str | None) -> str | None:
    if name is None:
        return None
    for s in ctx.host.switches:
        if s.lower() == name.lower():
            return s
    raise CmdletError(f"Unable to find a virtual switch with name \"{name}\".", "ObjectNotFound", "ObjectNotFound",
                      name)


def _mac(ctx: HostContext) -> str:
    ctx.host.guid_counter += 1
    return f"00155D{ctx.host.guid_counter:06X}"


def new_adapter(ctx: HostContext, vm: VM, name: str, switch: str | None) -> Adapter:
    return Adapter(name=name, switch=switch, mac=_mac(ctx),
                   id=f"Microsoft:{vm.id.upper()}\\{ctx.new_guid().upper()}")


@cmdlet("Get-VM", MODULE)
def get_vm(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    if call.has("Id"):
        vm = ctx.host.vms.get(str(call.get("Id")).lower())
        if vm is None:
            raise CmdletError(f"Hyper-V was unable to find a virtual machine with ID \"{call.get('Id')}\".",
                              "InvalidParameter", "InvalidArgument")
        return [vm_object(ctx.host, vm)]
    return [ctx.object_for(("vm", vm.id), vm_inputs(ctx.host, vm), vm_object_from)
            for vm in ctx.vms_named(call.get("Name"))]


@cmdlet("New-VM", MODULE, mutating=True)
def new_vm(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    host = ctx.host
    name = call.get("Name") or "New Virtual Machine"
    if host.vm_by_name(name):
        raise CmdletError(f"Failed to create a new virtual machine.\nA virtual machine named '{name}' already exists "
                          "on this host.", "InvalidParameter", "ResourceExists", name)
    generation = int(call.get("Generation") or 1)
    if generation not in (1, 2):
        raise CmdletError(f"Cannot validate argument on parameter 'Generation'. The {generation} argument is greater "
                          "than the maximum allowed range of 2.", "ParameterArgumentValidationError", "InvalidData")
    switch = _check_switch(ctx, call.get("SwitchName"))
    vm_id = ctx.new_guid()
    base = call.get("Path") or host.vm_path
    path = base.rstrip("\\") + "\\" + name if call.has("Path") else base
    if call.has("Path") and ctx.fs.kind(base) != "dir":
        # New-VM.md (2012, -Path): "Specifies the directory to store the files for the new virtual machine";
        # whether New-VM makes a missing one is on no page: refused here (stricter; audit L L4), so the
        # templates make the folder first.
        raise CmdletError(f"Failed to create a new virtual machine.\nThe folder '{base}' given as -Path does not "
                          "exist.", "ObjectNotFound", "ObjectNotFound", base)
    startup = int(call.get("MemoryStartupBytes") or 512 * MB)
    if not MIN_VM_MEMORY <= startup <= MAX_VM_MEMORY:  # orchestrator.hyperv_limits
        raise CmdletError(f"Failed to create a new virtual machine.\nInvalid startup memory amount for '{name}': it "
                          "lies between 32 MB and 1 TB.", "InvalidParameter", "InvalidArgument", name)
    vm = VM(id=vm_id, name=name, generation=generation, memory_startup=startup, path=path, created=utc_iso(ctx.now()))
    vm.memory_minimum = min(vm.memory_minimum, vm.memory_startup)
    controller = "IDE" if generation == 1 else "SCSI"
    if call.has("VHDPath"):
        vhd = call.get("VHDPath")
        if ctx.fs.kind(vhd) != "file":
            raise CmdletError(f"Failed to create a new virtual machine.\nThe system cannot find the file specified. "
                              f"('{vhd}')", "ObjectNotFound", "ObjectNotFound", vhd)
        if ctx.fs.get(vhd).torn:  # type: ignore[union-attr]
            raise torn_error("Failed to create a new virtual machine.", vhd)
        if any(norm_path(d.path) == norm_path(vhd) for v in host.vms.values() for d in v.disks):
            # As Add-VMHardDiskDrive here: no page says a real host refuses it (unverified, stricter).
            raise CmdletError(f"Failed to create a new virtual machine.\nThe file '{vhd}' is already in use by "
                              "another virtual machine.", "ResourceBusy", "ResourceBusy", vhd)
        vm.disks.append(Disk(vhd, controller, 0, 0))
    elif call.has("NewVHDPath"):
        vhd = call.get("NewVHDPath")
        if ctx.fs.exists(vhd):
            raise CmdletError(f"Failed to create the virtual hard disk.\nThe system failed to create '{vhd}': The file "
                              "exists. (0x80070050).", "ResourceExists", "ResourceExists", vhd)
        ctx.fs.add(FileEntry(vhd, "file", 4 * MB, vhd={"type": "Dynamic", "size": int(call.get("NewVHDSizeBytes") or 0),
                                                        "parent": None}))
        vm.disks.append(Disk(vhd, controller, 0, 0))
    if generation == 1:
        vm.dvds.append(None)
    vm.adapters.append(new_adapter(ctx, vm, "Network Adapter", switch))
    vm.secure_boot = generation == 2
    host.vms[vm_id] = vm
    ctx.mutated(f"New-VM {name}")
    return [vm_object(host, vm)]


@cmdlet("Set-VM", MODULE, mutating=True)
def set_vm(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    out = []
    for vm in ctx.vm_from_call(call, "Name"):
        running = vm.state != "Off"
        if call.has("ProcessorCount") and call.get("ProcessorCount") != vm.cpus:
            if running and _old_host(ctx):
                raise _running_change_refused(ctx, vm, "Processor")
            _set_cpus(ctx, vm, int(call.get("ProcessorCount")))
        if call.has("MemoryStartupBytes") or call.has("DynamicMemory") or call.has("StaticMemory") or \
                call.has("MemoryMinimumBytes") or call.has("MemoryMaximumBytes"):
            dynamic = True if call.get("DynamicMemory") else (False if call.get("StaticMemory") else None)
            _set_memory(ctx, vm, call.get("MemoryStartupBytes"), dynamic, call.get("MemoryMinimumBytes"),
                        call.get("MemoryMaximumBytes"))
        if call.has("Notes"):
            vm.notes = call.get("Notes") or ""
        if call.has("NewVMName"):
            new_name = call.get("NewVMName")
            if any(v is not vm for v in ctx.host.vm_by_name(new_name)):
                raise CmdletError(f"A virtual machine named '{new_name}' already exists on this host.",
                                  "InvalidParameter", "ResourceExists", new_name)
            vm.name = new_name
        ctx.mutated(f"Set-VM {vm.name}")
        if call.get("Passthru"):
            out.append(vm_object(ctx.host, vm))
    return out


def _set_cpus(ctx: HostContext, vm: VM, count: int) -> None:
    if count > MAX_VM_PROCESSORS:  # orchestrator.hyperv_limits (the text is the simulator's own)
        raise CmdletError(f"Failed to modify device 'Processor'.\n'{vm.name}' failed to modify device 'Processor'. "
                          f"(Virtual machine ID {vm.id})\nA virtual machine can have at most {MAX_VM_PROCESSORS} "
                          f"virtual processors, not {count}.", "InvalidParameter", "InvalidArgument", vm.name)
    if count < 1 or count > ctx.host.logical_processors:
        raise CmdletError(f"Failed to modify device 'Processor'.\n'{vm.name}' failed to modify device 'Processor'. "
                          f"(Virtual machine ID {vm.id})\nThe virtual machine cannot have more virtual processors "
                          f"({count}) than the host has logical processors ({ctx.host.logical_processors}).",
                          "InvalidParameter", "InvalidArgument", vm.name)
    vm.cpus = count


def _set_memory(ctx: HostContext, vm: VM, startup: int | None, dynamic: bool | None, minimum: int | None,
                maximum: int | None) -> None:
    running = vm.state != "Off"
    if running and _old_host(ctx):
        if startup is not None and startup != vm.memory_startup:
            raise _running_change_refused(ctx, vm, "Memory")
        if dynamic is not None and dynamic != vm.dynamic_memory:
            raise _running_change_refused(ctx, vm, "Memory")
        if minimum is not None and minimum > vm.memory_minimum:
            raise _running_change_refused(ctx, vm, "Memory")
        if maximum is not None and maximum < vm.memory_maximum:
            raise _running_change_refused(ctx, vm, "Memory")
    new_startup = vm.memory_startup if startup is None else int(startup)
    new_dynamic = vm.dynamic_memory if dynamic is None else bool(dynamic)
    new_min = vm.memory_minimum if minimum is None else int(minimum)
    new_max = vm.memory_maximum if maximum is None else int(maximum)
    if new_startup % (2 * MB) or new_startup < 32 * MB:
        raise CmdletError(f"Failed to modify device 'Memory'.\nInvalid startup memory amount specified for "
                          f"'{vm.name}': the value must be a multiple of 2 MB and at least 32 MB.",
                          "InvalidParameter", "InvalidArgument", vm.name)
    if new_startup > MAX_VM_MEMORY or (new_dynamic and (new_min < MIN_VM_MEMORY or new_max > MAX_VM_MEMORY)):
        raise CmdletError(f"Failed to modify device 'Memory'.\nInvalid memory settings for '{vm.name}': a virtual "
                          "machine's memory lies between 32 MB and 1 TB.", "InvalidParameter", "InvalidArgument",
                          vm.name)
    if new_dynamic and not new_min <= new_startup <= new_max:
        raise CmdletError(f"Failed to modify device 'Memory'.\nInvalid memory settings for '{vm.name}': the "
                          "minimum memory must not exceed the startup memory, and the startup memory must not exceed "
                          "the maximum memory.", "InvalidParameter", "InvalidArgument", vm.name)
    vm.memory_startup, vm.dynamic_memory, vm.memory_minimum, vm.memory_maximum = new_startup, new_dynamic, new_min, new_max


@cmdlet("Set-VMProcessor", MODULE, mutating=True)
def set_vm_processor(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    for vm in ctx.vm_from_call(call):
        if call.has("Count") and call.get("Count") != vm.cpus:
            if vm.state != "Off" and _old_host(ctx):
                raise _running_change_refused(ctx, vm, "Processor")
            _set_cpus(ctx, vm, int(call.get("Count")))
            ctx.mutated(f"Set-VMProcessor {vm.name}")
    return []


@cmdlet("Set-VMMemory", MODULE, mutating=True)
def set_vm_memory(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    for vm in ctx.vm_from_call(call):
        dynamic = call.get("DynamicMemoryEnabled")
        _set_memory(ctx, vm, call.get("StartupBytes"), dynamic, call.get("MinimumBytes"), call.get("MaximumBytes"))
        ctx.mutated(f"Set-VMMemory {vm.name}")
    return []


def _boot_edition(ctx: HostContext, vm: VM) -> int | None:
    """The edition of the media the guest OS comes from: its first disk's chain of parents, else the DVD's ISO."""
    for disk in vm.disks:
        seen = set()
        path: str | None = disk.path
        while path and norm_path(path) not in seen:
            seen.add(norm_path(path))
            entry = ctx.fs.get(path)
            if entry is None:
                break
            if entry.edition_sku is not None:
                return entry.edition_sku
            path = (entry.vhd or {}).get("parent")
        break
    for iso in vm.dvds:
        entry = ctx.fs.get(iso) if iso else None
        if entry is not None and entry.edition_sku is not None:
            return entry.edition_sku
    return None


@cmdlet("Start-VM", MODULE, mutating=True)
def start_vm(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    out = []
    for vm in ctx.vm_from_call(call, "Name"):
        if vm.state == "Running":
            ctx.warn(f"The virtual machine '{vm.name}' is already in the specified state.")
            continue
        if vm.state not in ("Off", "Saved"):
            # No 2012 page says what Start-VM does to a Paused VM (or one mid-change); Resume-VM is the
            # documented way back from Paused (hh848525). Refused, stricter, with Hyper-V's state wording.
            raise CmdletError(f"'{vm.name}' failed to start.\nThe operation cannot be performed while the virtual "
                              f"machine is in its current state ({vm.state}).", "InvalidState", "InvalidOperation",
                              vm.name)
        if ctx.host.vmms_job_of(vm.id) is not None:
            raise CmdletError(f"'{vm.name}' failed to start.\nThe operation cannot be performed while the object is in "
                              f"its current state: an export of the virtual machine is in progress. (Virtual machine "
                              f"ID {vm.id})", "InvalidState", "InvalidOperation", vm.name)
        if vm.memory_startup > ctx.host.free_memory():
            raise CmdletError(
                f"'{vm.name}' failed to start.\nNot enough memory in the system to start the virtual machine "
                f"{vm.name} with ram size {vm.memory_startup // MB} megabytes. (Virtual machine ID {vm.id})",
                "OutOfMemory", "ResourceUnavailable", vm.name)
        mounted = guest_disks.mounted_in_chain(ctx.host, [d.path for d in vm.disks])
        if mounted is not None:
            raise guest_disks.in_use_error(f"'{vm.name}' failed to start.", mounted)
        for disk in vm.disks:
            if (ctx.fs.get(disk.path) or FileEntry(disk.path)).torn:
                raise torn_error(f"'{vm.name}' failed to start.", disk.path)
            if ctx.fs.kind(disk.path) != "file":
                raise CmdletError(f"'{vm.name}' failed to start.\nMicrosoft Emulated IDE Controller (Instance ID "
                                  f"...): Failed to Power on with Error 'The system cannot find the file specified.'"
                                  f"\nThe file '{disk.path}' cannot be found. (Virtual machine ID {vm.id})",
                                  "ObjectNotFound", "ObjectNotFound", vm.name)
            missing = chains.missing_parent(ctx.host, disk.path)
            if missing is not None:
                # A differencing disk is read through its parents (Get-VHD.md, 2012, Example 5 follows the chain
                # by ParentPath): without one, the drive cannot be opened. That a real Start-VM then fails is
                # sure; its wording is on no page (Hyper-V's "chain of virtual hard disks is broken" is
                # unsourced): the simulator's own text (audit L H1).
                raise CmdletError(f"'{vm.name}' failed to start.\nThe chain of virtual hard disks of '{disk.path}' is "
                                  f"broken: its parent '{missing}' cannot be found. (Virtual machine ID {vm.id})",
                                  "ObjectNotFound", "ObjectNotFound", vm.name)
        vm.state = "Running"
        vm.booted_from = _boot_edition(ctx, vm)
        guest.power_on(ctx.host, vm)  # the guest boots: resumes, runs setup, waits at OOBE or is ready
        vm.uptime_runs += 1
        for disk in vm.disks:
            entry = ctx.fs.get(disk.path)
            if entry is not None:
                entry.content += 1  # the guest writes to its disk while it runs
                ctx.fs.changed(disk.path)
        ctx.mutated(f"Start-VM {vm.name}")
        if call.get("Passthru"):
            out.append(vm_object(ctx.host, vm))
    return out


def saved_state_refused(vm: VM) -> CmdletError:
    """Stop-VM on a VM that is not Running (a Saved one, shut down or -TurnOff; an Off one asked to -Save; a
    Paused one). Stop-VM's page (docset/winserver2012r2-ps/hyper-v/Stop-VM.md,
    Description and Examples 1-3) speaks of shutting down through the guest or cutting the power of a running
    VM and says nothing of a Saved one, whose guest is not running. Unverified, so the simulator fails safe and
    refuses; the way out the docs do give is Remove-VMSavedState (Saved -> Off) or Start-VM (Saved -> Running)."""
    return CmdletError(f"'{vm.name}' failed to change state.\nThe operation cannot be performed while the object is "
                       f"in its current state. (Virtual machine ID {vm.id})", "InvalidState", "InvalidOperation",
                       vm.name)


@cmdlet("Stop-VM", MODULE, mutating=True)
def stop_vm(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    out = []
    for vm in ctx.vm_from_call(call, "Name"):
        target = "Saved" if call.get("Save") else "Off"
        if vm.state == target:
            ctx.warn(f"The virtual machine '{vm.name}' is already in the specified state.")
            continue
        if vm.state != "Running":
            # Saved, or an Off VM asked to -Save, or Paused (a guest that cannot answer a shutdown), or a state in
            # change: Stop-VM.md (2012, Examples 1-3) covers only a running VM, so the simulator refuses the rest
            # (stricter; audit L, L1). It used to save an Off VM with no memory and shut a Paused one down.
            raise saved_state_refused(vm)
        if target == "Off" and not call.get("TurnOff") and vm.state == "Running" and not guest.shuts_down(vm):
            # The first line is a real host's (MattHodge/PackerTemplates#18: "Hyper-V\Stop-VM : Failed to stop.",
            # OperationFailed); the second is the simulator's, unverified.
            raise CmdletError(f"Failed to stop.\nThe guest operating system of '{vm.name}' did not answer the "
                              "request to shut down.", "OperationFailed", "NotSpecified", vm.name)
        if target == "Off":
            guest.power_off(ctx.host, vm)  # a guest cut off in setup cannot finish it (guest.py)
        vm.state = target
        ctx.mutated(f"Stop-VM {vm.name}")
        if call.get("Passthru"):
            out.append(vm_object(ctx.host, vm))
    return out


@cmdlet("Remove-VM", MODULE, mutating=True)
def remove_vm(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    vms = ctx.vm_from_call(call, "Name")
    for vm in vms:
        if vm.state == "Running":
            raise CmdletError(f"The virtual machine '{vm.name}' is running. Turn it off before removing it.",
                              "InvalidState", "InvalidOperation", vm.name)
        owned = chains.vm_files(ctx.host, vm)
        del ctx.host.vms[vm.id]
        ctx.mutated(f"Remove-VM {vm.name}")
        chains.collect(ctx, vm.id, owned)  # the checkpoint files merge into the base disks after the VM is gone
    return []


@cmdlet("Get-VMNetworkAdapter", MODULE)
def get_vm_network_adapter(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    if call.get("ManagementOS") or call.get("All"):
        return []
    out = []
    for vm in ctx.vm_from_call(call):
        for adapter in vm.adapters:
            if call.has("Name") and adapter.name.lower() != str(call.get("Name")).lower():
                continue
            out.append(adapter_object(vm, adapter))
    return out


@cmdlet("Add-VMNetworkAdapter", MODULE, mutating=True)
def add_vm_network_adapter(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    """Adding a network adapter needs the VM off on 2012 and 2012 R2, and on a Gen 1 VM on every version:
    hot add of network adapters is new in Windows Server 2016 and for Gen 2 VMs only
    (MicrosoftDocs/windowsserverdocs virtualization/hyper-v/What-s-new-in-Hyper-V-on-Windows.md, "Hot add
    and remove for network adapters and memory"). No source gives the 2012 error text; the message is
    Hyper-V's usual "failed to add device ... current state" form."""
    switch = _check_switch(ctx, call.get("SwitchName"))
    out = []
    for vm in ctx.vm_from_call(call):
        if vm.state != "Off" and (_old_host(ctx) or vm.generation == 1):
            raise CmdletError(f"Failed to add device 'Ethernet Connection'.\n'{vm.name}' failed to add device "
                              f"'Ethernet Connection'. (Virtual machine ID {vm.id})\nThe operation cannot be performed "
                              "while the virtual machine is in its current state.", "InvalidState",
                              "InvalidOperation", vm.name)
        adapter = new_adapter(ctx, vm, call.get("Name") or "Network Adapter", switch)
        vm.adapters.append(adapter)
        ctx.mutated(f"Add-VMNetworkAdapter {vm.name}")
        if call.get("Passthru"):
            out.append(adapter_object(vm, adapter))
    return out


@cmdlet("Connect-VMNetworkAdapter", MODULE, mutating=True)
def connect_vm_network_adapter(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    """Connecting an adapter to a switch. Whether 2012 / 2012 R2 allow it on a running VM is unverified:
    the Connect-VMNetworkAdapter pages (MicrosoftDocs/windows-powershell-docs docset/winserver2012-ps and
    winserver2012r2-ps hyper-v/Connect-VMNetworkAdapter.md) say nothing of the VM's state, and only 2016
    documents live network changes (What-s-new-in-Hyper-V-on-Windows.md). So on 6.2/6.3 the simulator is
    strict and refuses it unless the VM is off, like the other device changes those versions refuse."""
    switch = _check_switch(ctx, call.get("SwitchName"))
    targets: list[tuple[VM, Adapter]] = []
    if call.has("VMNetworkAdapter"):
        for obj in _list(call.get("VMNetworkAdapter")):
            vm_id, adapter_id = obj.ref
            vm = ctx.host.vms.get(vm_id) or next(
                (p["vm"] for p in ctx.pending_imports.values() if p["vm"].id == vm_id), None)
            if vm is None:
                raise CmdletError("The virtual network adapter object is not valid or no longer exists.",
                                  "InvalidParameter", "InvalidArgument")
            targets.extend((vm, a) for a in vm.adapters if a.id == adapter_id)
    else:
        for vm in ctx.vms_named(call.get("VMName")):
            adapters = [a for a in vm.adapters
                        if not call.has("Name") or a.name.lower() == str(call.get("Name")).lower()]
            if not adapters:
                raise CmdletError(f"No network adapter is found with the given criteria on '{vm.name}'.",
                                  "ObjectNotFound", "ObjectNotFound", vm.name)
            targets.extend((vm, a) for a in adapters)
    for vm, _adapter in targets:
        if vm.state != "Off" and _old_host(ctx):
            raise _running_change_refused(ctx, vm, "Ethernet Connection")
    out = []
    for vm, adapter in targets:
        adapter.switch = switch
        ctx.mutated(f"Connect-VMNetworkAdapter {vm.name}")
        if call.get("Passthru"):
            out.append(adapter_object(vm, adapter))
    return out


@cmdlet("Get-VMSwitch", MODULE)
def get_vm_switch(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    names = call.get("Name")
    switches = ctx.host.switches
    if names is None:
        return [switch_object(s) for s in switches]
    from orchestrator.simulator.language.values import like

    out = []
    for name in _list(names):
        found = [s for s in switches if like(s, name)]
        if not found and not any(ch in name for ch in "*?"):
            raise CmdletError(f"Hyper-V was unable to find a virtual switch with name \"{name}\".", "InvalidParameter",
                              "InvalidArgument", name)
        out.extend(switch_object(s) for s in found)
    return out


@cmdlet("New-VMSwitch", MODULE, mutating=True)
def new_vm_switch(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    name = call.get("Name")
    if any(s.lower() == name.lower() for s in ctx.host.switches):
        raise CmdletError(f"Failed while adding virtual Ethernet switch connections.\nA virtual switch named '{name}' "
                          "already exists.", "ResourceExists", "ResourceExists", name)
    ctx.host.switches.append(name)
    ctx.mutated(f"New-VMSwitch {name}")
    return [switch_object(name)]


@cmdlet("Add-VMHardDiskDrive", MODULE, mutating=True)
def add_vm_hard_disk_drive(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    path = call.get("Path")
    out = []
    for vm in ctx.vm_from_call(call):
        if path is None or ctx.fs.kind(path) != "file":
            raise CmdletError(f"Failed to add device 'Virtual Hard Disk'.\nThe system cannot find the file specified. "
                              f"('{path}')", "ObjectNotFound", "ObjectNotFound", path)
        controller = call.get("ControllerType") or ("IDE" if vm.generation == 1 else "SCSI")
        if vm.generation == 2 and controller == "IDE":
            raise CmdletError("Generation 2 virtual machines do not support IDE controllers.", "InvalidParameter",
                              "InvalidArgument", vm.name)
        if vm.state != "Off" and controller == "IDE":
            raise CmdletError(f"Failed to add device 'Virtual Hard Disk'.\n'{vm.name}': an IDE disk can only be added "
                              "while the virtual machine is off.", "InvalidState", "InvalidOperation", vm.name)
        if ctx.fs.get(path).torn:  # type: ignore[union-attr]
            raise torn_error("Failed to add device 'Virtual Hard Disk'.", path)
        if any(norm_path(d.path) == norm_path(path) for v in ctx.host.vms.values() for d in v.disks):
            raise CmdletError(f"Failed to add device 'Virtual Hard Disk'.\nThe file '{path}' is already in use by "
                              "another virtual machine.", "ResourceBusy", "ResourceBusy", path)
        number = int(call.get("ControllerNumber") or 0)
        used = {d.controller_location for d in vm.disks if d.controller_type == controller and
                d.controller_number == number}
        location = call.get("ControllerLocation")
        if location is None:
            location = next(i for i in range(64) if i not in used)
        disk = Disk(path, controller, number, int(location))
        vm.disks.append(disk)
        ctx.mutated(f"Add-VMHardDiskDrive {vm.name}")
        if call.get("Passthru"):
            out.append(disk_object(vm, disk))
    return out


@cmdlet("Get-VMHardDiskDrive", MODULE)
def get_vm_hard_disk_drive(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    """A VM's drives, or with -VMSnapshot the drives a checkpoint holds (MicrosoftDocs/windows-powershell-docs
    docset/winserver2012-ps/hyper-v/Get-VMHardDiskDrive.md: the VMSnapshot parameter set, and Example 4
    "Gets the virtual hard drives from snapshot Before applying updates"): the files the VM had when the
    checkpoint was taken, which the VM's present .avhdx chain now stands on."""
    if call.has("VMSnapshot"):
        return [snapshot_disk_object(vm, disk) for vm, snap in snapshots_from_call(ctx, call, None)
                for disk in snap.config.get("disks", ())]
    return [disk_object(vm, d) for vm in ctx.vm_from_call(call) for d in vm.disks]


@cmdlet("Add-VMDvdDrive", MODULE, mutating=True)
def add_vm_dvd_drive(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    path = call.get("Path")
    if path is not None and ctx.fs.kind(path) != "file":
        raise CmdletError(f"Failed to add device 'Virtual CD/DVD Disk'.\nThe system cannot find the file specified. "
                          f"('{path}')", "ObjectNotFound", "ObjectNotFound", path)
    out = []
    for vm in ctx.vm_from_call(call):
        if vm.state != "Off" and vm.generation == 1:
            raise CmdletError(f"Failed to add device 'DVD Drive'.\n'{vm.name}': the operation cannot be performed "
                              "while the virtual machine is in its current state.", "InvalidState",
                              "InvalidOperation", vm.name)
        vm.dvds.append(path)
        ctx.mutated(f"Add-VMDvdDrive {vm.name}")
        if call.get("Passthru"):
            out.append(dvd_object(vm, len(vm.dvds) - 1, path))
    return out


@cmdlet("Get-VMDvdDrive", MODULE)
def get_vm_dvd_drive(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    """The VM's DVD drives (MicrosoftDocs/windows-powershell-docs docset/winserver2012-ps/hyper-v/
    Get-VMDvdDrive.md and its 2012 R2 page: by -VMName or -VM, optionally one -ControllerLocation)."""
    location = call.get("ControllerLocation")
    return [dvd_object(vm, index, path) for vm in ctx.vm_from_call(call) for index, path in enumerate(vm.dvds)
            if location is None or int(location) == index]


@cmdlet("Set-VMDvdDrive", MODULE, mutating=True)
def set_vm_dvd_drive(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    """Put a medium in a drive: the drives given as objects (-VMDvdDrive, piped from Get-VMDvdDrive: the
    Object set of docset/winserver2012r2-ps/hyper-v/Set-VMDvdDrive.md), else the first drive of each VM named."""
    path = call.get("Path")
    if path is not None:
        path = literal_path("Set-VMDvdDrive", path)
    if path is not None and ctx.fs.kind(path) != "file":
        raise CmdletError(f"Failed to modify device 'Virtual CD/DVD Disk'.\nThe system cannot find the file "
                          f"specified. ('{path}')", "ObjectNotFound", "ObjectNotFound", path)
    if call.has("VMDvdDrive"):
        drives = call.get("VMDvdDrive")
        for drive in drives if isinstance(drives, list) else [drives]:
            ref = getattr(drive, "ref", None)
            vm = ctx.host.vms.get(ref[0]) if isinstance(ref, tuple) else None
            if vm is None or not isinstance(ref[1], int) or ref[1] >= len(vm.dvds):
                raise CmdletError("The DVD drive object is not valid or no longer exists.", "InvalidParameter",
                                  "InvalidArgument")
            vm.dvds[ref[1]] = path
            ctx.mutated(f"Set-VMDvdDrive {vm.name}")
        return []
    for vm in ctx.vm_from_call(call):
        if not vm.dvds:
            raise CmdletError(f"No DVD drive is found with the given criteria on '{vm.name}'.", "ObjectNotFound",
                              "ObjectNotFound", vm.name)
        vm.dvds[0] = path
        ctx.mutated(f"Set-VMDvdDrive {vm.name}")
    return []


@cmdlet("Set-VMFirmware", MODULE, mutating=True)
def set_vm_firmware(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    for vm in ctx.vm_from_call(call):
        if vm.generation != 2:
            raise CmdletError(f"The operation is only supported on generation 2 virtual machines. ('{vm.name}' is "
                              "generation 1.)", "InvalidParameter", "InvalidArgument", vm.name)
        if call.has("EnableSecureBoot"):
            if vm.state != "Off":
                raise _running_change_refused(ctx, vm, "Firmware")
            vm.secure_boot = str(call.get("EnableSecureBoot")).lower() == "on"
        if call.has("FirstBootDevice"):
            device = call.get("FirstBootDevice")
            vm.first_boot = str(getattr(device, "ref", device))
        ctx.mutated(f"Set-VMFirmware {vm.name}")
    return []


@cmdlet("Get-VMHost", MODULE)
def get_vm_host(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    h = ctx.host
    return [PSObject({
        "Name": h.name, "ComputerName": h.name, "LogicalProcessorCount": h.logical_processors,
        "MemoryCapacity": h.memory, "VirtualMachinePath": h.vm_path, "VirtualHardDiskPath": h.vhd_path,
        "FullyQualifiedDomainName": h.name, "MacAddressMinimum": "00155D000000", "MacAddressMaximum": "00155DFFFFFF",
    }, "Microsoft.HyperV.PowerShell.VMHost", ref=h.name)]


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
