"""Model objects as the Hyper-V module returns them: PSObjects with Hyper-V's real property names and enums."""

from __future__ import annotations

import uuid
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
    return PSObject({
        "Path": disk.path, "ControllerType": PSEnum(f"{HV}.ControllerType", disk.controller_type,
                                                     0 if disk.controller_type == "IDE" else 1),
        "ControllerNumber": disk.controller_number, "ControllerLocation": disk.controller_location,
        "DiskNumber": None, "Name": "Hard Drive", "VMName": vm.name, "VMId": Guid(vm.id), "ComputerName": "",
        "IsDeleted": False,
    }, f"{HV}.HardDiskDrive", ref=(vm.id, disk.path),
        text=f"HardDiskDrive (Name = 'Hard Drive on {disk.controller_type} controller number "
             f"{disk.controller_number} at location {disk.controller_location}') [VMName = '{vm.name}']")


def dvd_object(vm: VM, index: int, path: str | None) -> PSObject:
    return PSObject({"Path": path, "ControllerType": PSEnum(f"{HV}.ControllerType", "IDE" if vm.generation == 1
                     else "SCSI", 0 if vm.generation == 1 else 1), "ControllerNumber": 1 if vm.generation == 1 else 0,
                     "ControllerLocation": index, "Name": "DVD Drive", "VMName": vm.name, "VMId": Guid(vm.id),
                     "DvdMediaType": PSEnum(f"{HV}.DvdMediaType", "ISO" if path else "None", 1 if path else 0)},
                    f"{HV}.DvdDrive", ref=(vm.id, index))


def adapter_object(vm: VM, adapter: Adapter) -> PSObject:
    return PSObject({
        "Name": adapter.name, "SwitchName": adapter.switch, "MacAddress": adapter.mac, "VMName": vm.name,
        "VMId": Guid(vm.id), "Id": adapter.id, "Connected": adapter.switch is not None, "IsLegacy": False,
        "Status": [], "IPAddresses": [], "DynamicMacAddressEnabled": True,
    }, f"{HV}.VMNetworkAdapter", ref=(vm.id, adapter.id),
        text=f"VMNetworkAdapter (Name = '{adapter.name}', VMName = '{vm.name}') [VMId = '{vm.id}']")


def vm_object(host: Host, vm: VM) -> PSObject:
    parent = vm.snapshots.get(vm.current_snapshot) if vm.current_snapshot else None
    return PSObject({
        "Name": vm.name, "Id": Guid(vm.id), "VMId": Guid(vm.id), "VMName": vm.name, "State": vm_state(vm.state),
        "Generation": vm.generation, "ProcessorCount": vm.cpus, "MemoryStartup": vm.memory_startup,
        "MemoryAssigned": vm.memory_startup if vm.state == "Running" else 0,
        "DynamicMemoryEnabled": vm.dynamic_memory, "MemoryMinimum": vm.memory_minimum,
        "MemoryMaximum": vm.memory_maximum, "Notes": vm.notes, "Path": vm.path, "ConfigurationLocation": vm.path,
        "SnapshotFileLocation": vm.path, "ParentSnapshotId": Guid(parent.id) if parent else None,
        "ParentSnapshotName": parent.name if parent else None,
        "HardDrives": [disk_object(vm, d) for d in vm.disks],
        "NetworkAdapters": [adapter_object(vm, a) for a in vm.adapters],
        "DVDDrives": [dvd_object(vm, i, p) for i, p in enumerate(vm.dvds)],
        "Status": "Operating normally", "Uptime": "00:00:00", "ComputerName": host.name,
        "CreationTime": parse_time(vm.created), "IsClustered": False, "Version": "5.0" if host.os_version != "6.2"
        else "4.0", "Heartbeat": None, "ReplicationState": PSEnum(f"{HV}.VMReplicationState", "Disabled", 0),
    }, f"{HV}.VirtualMachine", ref=vm.id, text=f"VirtualMachine (Name = '{vm.name}') [Id = '{vm.id}']")


def snapshot_object(vm: VM, snap: Snapshot) -> PSObject:
    parent = vm.snapshots.get(snap.parent_id) if snap.parent_id else None
    return PSObject({
        "Name": snap.name, "VMName": vm.name, "VMId": Guid(vm.id), "Id": Guid(snap.id),
        "ParentSnapshotId": Guid(parent.id) if parent else None, "ParentSnapshotName": parent.name if parent else None,
        "CreationTime": parse_time(snap.created), "Notes": snap.notes,
        "SnapshotType": PSEnum(f"{HV}.SnapshotType", "Standard", 5), "State": vm_state(snap.state),
        "ProcessorCount": snap.config.get("cpus"), "MemoryStartup": snap.config.get("memory_startup"),
        "DynamicMemoryEnabled": snap.config.get("dynamic_memory"), "MemoryMinimum": snap.config.get("memory_minimum"),
        "MemoryMaximum": snap.config.get("memory_maximum"), "Generation": snap.config.get("generation"),
        "Path": vm.path,
        "IsDeleted": False, "ComputerName": "",
    }, f"{HV}.VMSnapshot", ref=(vm.id, snap.id), text=f"VMSnapshot (Name = '{snap.name}', VMName = '{vm.name}')")


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
