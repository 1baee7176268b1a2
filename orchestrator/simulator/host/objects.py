"""Model objects as the Hyper-V module returns them: PSObjects with Hyper-V's real property names and enums."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from orchestrator.simulator.host.model import VM, Adapter, Disk, FileEntry, Host, Snapshot
from orchestrator.simulator.language.values import Guid, PSEnum, PSObject

HV = "Microsoft.HyperV.PowerShell"
VM_STATES = {"Other": 1, "Running": 2, "Off": 3, "Stopping": 4, "Saved": 6, "Paused": 9, "Starting": 10}
VHD_TYPES = {"Fixed": 2, "Dynamic": 3, "Differencing": 4}


def vm_state(name: str) -> PSEnum:
    return PSEnum(f"{HV}.VMState", name, VM_STATES.get(name, 1))


def parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def disk_object(vm: VM, disk: Disk) -> PSObject:
    return _disk_object(vm.name, vm.id, disk.path, disk.controller_type, disk.controller_number,
                        disk.controller_location)


def snapshot_disk_object(vm: VM, disk: dict[str, Any]) -> PSObject:
    """A drive as a checkpoint holds it (Snapshot.config["disks"]: the VM's Disk fields when it was taken)."""
    return _disk_object(vm.name, vm.id, disk["path"], disk["controller_type"], disk["controller_number"],
                        disk["controller_location"])


def _disk_object(vm_name: str, vm_id: str, path: str, controller_type: str, number: int, location: int) -> PSObject:
    return PSObject({
        "Path": path, "ControllerType": PSEnum(f"{HV}.ControllerType", controller_type,
                                                0 if controller_type == "IDE" else 1),
        "ControllerNumber": number, "ControllerLocation": location,
        "DiskNumber": None, "Name": "Hard Drive", "VMName": vm_name, "VMId": Guid(vm_id), "ComputerName": "",
        "IsDeleted": False,
    }, f"{HV}.HardDiskDrive", ref=(vm_id, path),
        text=f"HardDiskDrive (Name = 'Hard Drive on {controller_type} controller number "
             f"{number} at location {location}') [VMName = '{vm_name}']")


def dvd_object(vm: VM, index: int, path: str | None) -> PSObject:
    return _dvd_object(vm.name, vm.id, vm.generation, index, path)


def _dvd_object(vm_name: str, vm_id: str, generation: int, index: int, path: str | None) -> PSObject:
    return PSObject({"Path": path, "ControllerType": PSEnum(f"{HV}.ControllerType", "IDE" if generation == 1
                     else "SCSI", 0 if generation == 1 else 1), "ControllerNumber": 1 if generation == 1 else 0,
                     "ControllerLocation": index, "Name": "DVD Drive", "VMName": vm_name, "VMId": Guid(vm_id),
                     "DvdMediaType": PSEnum(f"{HV}.DvdMediaType", "ISO" if path else "None", 1 if path else 0)},
                    f"{HV}.DvdDrive", ref=(vm_id, index))


def adapter_object(vm: VM, adapter: Adapter) -> PSObject:
    return _adapter_object(vm.name, vm.id, adapter.name, adapter.switch, adapter.mac, adapter.id)


def _adapter_object(vm_name: str, vm_id: str, name: str, switch: str | None, mac: str, adapter_id: str) -> PSObject:
    return PSObject({
        "Name": name, "SwitchName": switch, "MacAddress": mac, "VMName": vm_name,
        "VMId": Guid(vm_id), "Id": adapter_id, "Connected": switch is not None, "IsLegacy": False,
        "Status": [], "IPAddresses": [], "DynamicMacAddressEnabled": True,
    }, f"{HV}.VMNetworkAdapter", ref=(vm_id, adapter_id),
        text=f"VMNetworkAdapter (Name = '{name}', VMName = '{vm_name}') [VMId = '{vm_id}']")


def vm_object(host: Host, vm: VM) -> PSObject:
    return vm_object_from(vm_inputs(host, vm))


def vm_inputs(host: Host, vm: VM) -> tuple[Any, ...]:
    """Everything a VM's PSObject is made of, as one comparable value. `vm_object_from` reads nothing else,
    so equal inputs build equal objects: Get-VM reuses a VM's object while its inputs stay the same
    (building the object costs about ten times as much as this tuple), and every call still shows the VM
    as it is at that moment, as the cmdlet's page has it: Get-VM "gets the virtual machines" as
    Microsoft.HyperV.PowerShell.VirtualMachine objects, and its Example 2 filters them on their current
    State (MicrosoftDocs/windows-powershell-docs docset/winserver2012r2-ps/hyper-v/Get-VM.md)."""
    parent = vm.snapshots.get(vm.current_snapshot) if vm.current_snapshot else None
    return (
        host.name, host.os_version, vm.name, vm.id, vm.state, vm.generation, vm.cpus, vm.memory_startup,
        vm.dynamic_memory, vm.memory_minimum, vm.memory_maximum, vm.notes, vm.path, vm.created,
        (parent.id, parent.name) if parent else None,
        tuple((d.path, d.controller_type, d.controller_number, d.controller_location) for d in vm.disks),
        tuple((a.name, a.switch, a.mac, a.id) for a in vm.adapters),
        tuple(vm.dvds),
        tuple(host.missing_properties.get("VirtualMachine", ())),
    )


def vm_object_from(inputs: tuple[Any, ...]) -> PSObject:
    (host_name, os_version, name, vm_id, state, generation, cpus, memory_startup, dynamic_memory, memory_minimum,
     memory_maximum, notes, path, created, parent, disks, adapters, dvds, missing) = inputs
    props = {
        "Name": name, "Id": Guid(vm_id), "VMId": Guid(vm_id), "VMName": name, "State": vm_state(state),
        "Generation": generation, "ProcessorCount": cpus, "MemoryStartup": memory_startup,
        "MemoryAssigned": memory_startup if state == "Running" else 0,
        "DynamicMemoryEnabled": dynamic_memory, "MemoryMinimum": memory_minimum,
        "MemoryMaximum": memory_maximum, "Notes": notes, "Path": path, "ConfigurationLocation": path,
        "SnapshotFileLocation": path, "ParentSnapshotId": Guid(parent[0]) if parent else None,
        "ParentSnapshotName": parent[1] if parent else None,
        "HardDrives": [_disk_object(name, vm_id, *disk) for disk in disks],
        "NetworkAdapters": [_adapter_object(name, vm_id, *adapter) for adapter in adapters],
        "DVDDrives": [_dvd_object(name, vm_id, generation, i, p) for i, p in enumerate(dvds)],
        "Status": "Operating normally", "Uptime": "00:00:00", "ComputerName": host_name,
        "CreationTime": parse_time(created), "IsClustered": False, "Version": "5.0" if os_version != "6.2"
        else "4.0", "Heartbeat": None, "ReplicationState": PSEnum(f"{HV}.VMReplicationState", "Disabled", 0),
    }
    if os_version == "6.2":
        # Generation 2 VMs came with 2012 R2: New-VM.md of 2012 has no -Generation, and no 2012 page lists a
        # Generation property of the VM object. Left out, it reads as $null there (a template must take $null
        # for generation 1: `$vm.Generation -ne 2`, never `-eq 1`), stricter than a host that might have it.
        del props["Generation"]
    return _without(missing, PSObject(props, f"{HV}.VirtualMachine", ref=vm_id,
                                      text=f"VirtualMachine (Name = '{name}') [Id = '{vm_id}']"))


def _without(missing: Iterable[str], obj: PSObject) -> PSObject:
    """The object without the properties a test's host lacks (Host.missing_properties)."""
    for name in missing:
        obj.props.pop(name, None)
    return obj


def snapshot_object(vm: VM, snap: Snapshot, missing: Iterable[str] = ()) -> PSObject:
    parent = vm.snapshots.get(snap.parent_id) if snap.parent_id else None
    return _without(missing, PSObject({
        "Name": snap.name, "VMName": vm.name, "VMId": Guid(vm.id), "Id": Guid(snap.id),
        "ParentSnapshotId": Guid(parent.id) if parent else None, "ParentSnapshotName": parent.name if parent else None,
        "CreationTime": parse_time(snap.created), "Notes": snap.notes,
        "SnapshotType": PSEnum(f"{HV}.SnapshotType", "Standard", 5), "State": vm_state(snap.state),
        "ProcessorCount": snap.config.get("cpus"), "MemoryStartup": snap.config.get("memory_startup"),
        "DynamicMemoryEnabled": snap.config.get("dynamic_memory"), "MemoryMinimum": snap.config.get("memory_minimum"),
        "MemoryMaximum": snap.config.get("memory_maximum"), "Generation": snap.config.get("generation"),
        "Path": vm.path,
        "IsDeleted": False, "ComputerName": "",
    }, f"{HV}.VMSnapshot", ref=(vm.id, snap.id), text=f"VMSnapshot (Name = '{snap.name}', VMName = '{vm.name}')"))


def vhd_object(entry: FileEntry, attached: bool) -> PSObject:
    vhd = entry.vhd or {"type": "Dynamic", "size": entry.size, "parent": None}
    fmt = "VHDX" if entry.path.lower().endswith(".vhdx") else "VHD"
    return PSObject({
        "Path": entry.path, "VhdFormat": PSEnum("Microsoft.Vhd.PowerShell.VhdFormat", fmt, 3 if fmt == "VHDX" else 2),
        "VhdType": PSEnum("Microsoft.Vhd.PowerShell.VhdType", vhd["type"], VHD_TYPES.get(vhd["type"], 3)),
        "FileSize": entry.size, "Size": int(vhd.get("size") or 0), "ParentPath": vhd.get("parent"),
        "Attached": attached, "DiskNumber": None, "ComputerName": "", "MinimumSize": None,
        "LogicalSectorSize": 512, "PhysicalSectorSize": 4096, "BlockSize": 33554432,
        "FragmentationPercentage": 0, "Alignment": 1, "DiskIdentifier": "",
    }, "Microsoft.Vhd.PowerShell.VirtualHardDisk", ref=entry.path)


def switch_object(name: str) -> PSObject:
    return PSObject({"Name": name, "SwitchType": PSEnum(f"{HV}.VMSwitchType", "External", 2),
                     "Id": Guid(str(uuid.uuid5(uuid.NAMESPACE_URL, "vmswitch:" + name.lower()))),
                     "NetAdapterInterfaceDescription": "Simulated adapter", "AllowManagementOS": True},
                    f"{HV}.VMSwitch", ref=name, text=f"VMSwitch (Name = '{name}')")


def drop_nones(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if v is not None}
