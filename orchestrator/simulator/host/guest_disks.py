r"""A VM's disk opened on the host: Mount-VHD / Dismount-VHD (Hyper-V) and Get-Disk / Get-Partition (Storage).

Mounting a virtual disk makes it a disk of the host (Get-Disk shows it, numbered after the host's own disk 0)
and gives its volumes drive letters (MicrosoftDocs/windows-powershell-docs docset/winserver2012-ps/hyper-v/
Mount-VHD.md: -NoDriveLetter "without assigning drive letters to the volumes"; Example 3 pipes Mount-VHD
-PassThru to Get-Disk | Get-Partition). The guest's Windows partition then shows its files under its letter,
so New-Item, Set-Content, Test-Path and Remove-Item work in it as on any drive; Dismount-VHD (Dismount-VHD.md,
-Path or -DiskNumber) writes them back into the disk (host/guest.py volumes) and takes the letter away.

What a real host does that the simulator models strictly (docs/real-hosts.md lists them as unverified):
- A sysprepped GPT (generation 2) image has four partitions: Recovery, System (EFI), Reserved (MSR) and the
  Basic one holding Windows; only the Basic partition gets a letter. An MBR (generation 1) image has the
  active System partition and the Windows one (MBR_LAYOUT); Get-Disk's PartitionStyle says which
  (guest.partition_style). A disk without Windows has no
  partitions (a new, uninitialised disk).
- A disk that is mounted cannot be mounted again, nor started in a VM, and a disk of a running VM's chain
  cannot be mounted: "The process cannot access the file because it is being used by another process."
- -ReadOnly is refused (the simulator does not model a write-protected volume; never more lenient).
- A partition without a drive letter reports DriveLetter as $null here ([char]0 on a real host): a template
  must test for a letter, not for truth.
Get-Disk and Get-Partition are CDXML functions of the Storage module (their outputs are CimInstance#ROOT/
Microsoft/Windows/Storage/MSFT_Disk and MSFT_Partitions, and they take -CimSession, -ThrottleLimit and -AsJob:
docset/winserver2012-ps/storage/Get-Disk.md and Get-Partition.md): they see the global $ErrorActionPreference
only (simulator/commands.py CDXML_MODULES).
"""

from __future__ import annotations

from typing import Any

from orchestrator.simulator.binder import BoundCall
from orchestrator.simulator.host import guest
from orchestrator.simulator.host.cmdlets_disk import torn_error
from orchestrator.simulator.host.context import HostContext
from orchestrator.simulator.host.model import FileEntry, Host, norm_path
from orchestrator.simulator.host.objects import vhd_object
from orchestrator.simulator.host.registry import CmdletError, cmdlet
from orchestrator.simulator.host.wildcard_paths import literal_path
from orchestrator.simulator.language.values import PSObject, to_string

STORAGE = "Microsoft.Management.Infrastructure.CimInstance#ROOT/Microsoft/Windows/Storage/"
MB = 1024**2
GPT_BASIC = "{ebd0a0a2-b9e5-4433-87c0-68b6b72699c7}"
GPT_LAYOUT = (  # (type, size, GptType) of a sysprepped generation 2 Windows Server 2012 disk, in order
    ("Recovery", 300 * MB, "{de94bba4-06d1-4d40-a16a-bfd50179d6ac}"),
    ("System", 100 * MB, "{c12a7328-f81f-11d2-ba4b-00a0c93ec93b}"),
    ("Reserved", 128 * MB, "{e3c9e316-0b5c-4db8-817d-f92df00215ae}"),
    ("Basic", 0, GPT_BASIC),
)
# (type, size, MbrType) of a BIOS (generation 1) disk: the 350 MB active System partition, then the Windows one
# filling the rest (the unattend reference's ModifyPartitions page, "Applies To: ... Windows Server 2012", its
# BIOS-based example: learn.microsoft.com previous-versions ff716319). Both NTFS: Get-Partition's Type "IFS".
MBR_LAYOUT = (("IFS", 350 * MB, 7), ("IFS", 0, 7))


def in_use_error(prefix: str, path: str) -> CmdletError:
    return CmdletError(f"{prefix}\nThe process cannot access the file because it is being used by another process. "
                       f"('{path}')", "InUse", "ResourceBusy", path)


def _chain(host: Host, path: str) -> list[str]:
    out: list[str] = []
    current: str | None = path
    while current and norm_path(current) in host.files and norm_path(current) not in out:
        out.append(norm_path(current))
        current = (host.files[norm_path(current)].vhd or {}).get("parent")
    return out


def mounted_in_chain(host: Host, paths: list[str]) -> str | None:
    """The path of a file in these disks' chains that is mounted on the host, if any."""
    for path in paths:
        for key in _chain(host, path):
            if host.files[key].mounted is not None:
                return host.files[key].path
    return None


def _busy_in_a_vm(host: Host, path: str) -> bool:
    key = norm_path(path)
    return any(key in _chain(host, d.path) for vm in host.vms.values() if vm.state != "Off" for d in vm.disks)


def _mounted(host: Host) -> list[FileEntry]:
    return sorted((e for e in host.files.values() if e.mounted is not None), key=lambda e: e.mounted["disk"])  # type: ignore[index]


def _free_letter(ctx: HostContext) -> str:
    used = ctx.fs.drives() | {str((e.mounted or {}).get("letter") or "").lower() for e in _mounted(ctx.host)}
    for letter in "defghijklmnopqrstuvwxyz":
        if letter not in used:
            return letter.upper()
    raise CmdletError("Failed to mount the disk: no drive letter is free.", "NoDriveLetter", "ResourceUnavailable")


@cmdlet("Mount-VHD", "Hyper-V", mutating=True)
def mount_vhd(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    if call.get("ReadOnly"):
        raise CmdletError("The simulator does not model read-only mounts (Mount-VHD -ReadOnly).", "NotSupported",
                          "NotImplemented", terminating=True)
    out = []
    for path in _list(call.get("Path")):
        path = literal_path("Mount-VHD", path)
        entry = ctx.fs.get(path)
        if entry is None or entry.kind != "file" or entry.vhd is None:
            raise CmdletError(f"Failed to mount the disk.\nThe system cannot find the file specified. ('{path}')",
                              "ObjectNotFound", "ObjectNotFound", path)
        if entry.torn:
            raise torn_error("Failed to mount the disk.", entry.path)
        if entry.mounted is not None or _busy_in_a_vm(ctx.host, entry.path):
            raise in_use_error("Failed to mount the disk.", entry.path)
        numbers = {int((e.mounted or {})["disk"]) for e in _mounted(ctx.host)}
        number = next(n for n in range(1, 64) if n not in numbers)
        volume = guest.writable_volume(ctx.host, entry)
        letter = None if call.get("NoDriveLetter") or volume is None else _free_letter(ctx)
        entry.mounted = {"disk": number, "letter": letter}
        if letter is not None and volume is not None:
            for item in volume["files"].values():
                target = f"{letter}:{item['path']}"
                ctx.fs.local[norm_path(target)] = FileEntry(target, item["kind"], len((item.get("text") or "")
                                                            .encode("utf-8")), text=item.get("text"))
            ctx.fs.local[norm_path(f"{letter}:\\")] = FileEntry(f"{letter}:\\", "dir")
        ctx.mutated(f"Mount-VHD {entry.path}")
        if call.get("Passthru"):
            out.append(_vhd(entry))
    return out


@cmdlet("Dismount-VHD", "Hyper-V", mutating=True)
def dismount_vhd(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    if call.has("DiskNumber"):
        wanted = int(call.get("DiskNumber"))
        entries = [e for e in _mounted(ctx.host) if int(e.mounted["disk"]) == wanted]  # type: ignore[index]
        if not entries:
            raise CmdletError(f"Failed to dismount the disk: no virtual disk is mounted as disk {wanted}.",
                              "ObjectNotFound", "ObjectNotFound", wanted)
    else:
        entries = []
        for path in _list(call.get("Path")):
            path = literal_path("Dismount-VHD", path)
            entry = ctx.fs.get(path)
            if entry is None or entry.mounted is None:
                raise CmdletError(f"Failed to dismount the disk: the virtual disk '{path}' is not mounted.",
                                  "ObjectNotMounted", "InvalidOperation", path)
            entries.append(entry)
    out = []
    for entry in entries:
        letter = (entry.mounted or {}).get("letter")
        volume = guest.writable_volume(ctx.host, entry)
        if letter is not None:
            prefix = norm_path(f"{letter}:\\")
            written = {k: e for k, e in ctx.fs.local.items() if k == prefix or k.startswith(prefix)}
            for key in written:
                del ctx.fs.local[key]
            if volume is not None:
                volume["files"] = {
                    norm_path(e.path[2:]): {"path": e.path[2:], "kind": e.kind, "text": e.text}
                    for k, e in written.items() if k != prefix
                }
        entry.mounted = None
        ctx.mutated(f"Dismount-VHD {entry.path}")
        if call.get("Passthru"):
            out.append(_vhd(entry))
    return out


def _vhd(entry: FileEntry) -> PSObject:
    obj = vhd_object(entry, entry.mounted is not None)
    obj.props["DiskNumber"] = (entry.mounted or {}).get("disk")
    return obj


# -- Storage ------------------------------------------------------------------------------------------------


def _disk_object(ctx: HostContext, number: int, entry: FileEntry | None) -> PSObject:
    if entry is None:  # the host's own system disk
        return PSObject({"Number": 0, "FriendlyName": "Simulated host disk", "Path": "\\\\?\\simulated#disk0",
                         "Location": "", "PartitionStyle": "GPT", "OperationalStatus": "Online", "IsOffline": False,
                         "IsReadOnly": False, "IsSystem": True, "IsBoot": True, "BusType": "SAS",
                         "Size": ctx.host.free_disk}, STORAGE + "MSFT_Disk", ref=("disk", 0))
    volume = guest.volume_of(ctx.host, entry.path)
    style = guest.partition_style(ctx.host, volume) if volume is not None else "RAW"
    return PSObject({"Number": number, "FriendlyName": "Microsoft Virtual Disk", "Path": f"\\\\?\\vhd#{number}",
                     "Location": entry.path, "PartitionStyle": style,
                     "OperationalStatus": "Online", "IsOffline": False, "IsReadOnly": False, "IsSystem": False,
                     "IsBoot": False, "BusType": "File Backed Virtual",
                     "Size": int((entry.vhd or {}).get("size") or 0)},
                    STORAGE + "MSFT_Disk", ref=("disk", number))


def _disks(ctx: HostContext) -> list[PSObject]:
    return [_disk_object(ctx, 0, None)] + [_disk_object(ctx, int(e.mounted["disk"]), e)  # type: ignore[index]
                                           for e in _mounted(ctx.host)]


@cmdlet("Get-Disk", "Storage")
def get_disk(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    disks = _disks(ctx)
    if call.has("Number"):
        wanted = [int(n) for n in _list(call.get("Number"))]
        found = [d for d in disks if d.get("Number") in wanted]
        missing = [n for n in wanted if n not in {d.get("Number") for d in found}]
        if missing:
            raise CmdletError(f"No MSFT_Disk objects found with property 'Number' equal to '{missing[0]}'. Verify the "
                              "value of the property and retry.", "CmdletizationQuery_NotFound_Number",
                              "ObjectNotFound", missing[0])
        return found
    if call.has("Path"):
        wanted_paths = {to_string(p).lower() for p in _list(call.get("Path"))}
        return [d for d in disks if to_string(d.get("Path")).lower() in wanted_paths]
    if call.has("Partition"):
        number = _list(call.get("Partition"))[0].get("DiskNumber")
        return [d for d in disks if d.get("Number") == number]
    if call.has("FriendlyName") or call.has("UniqueId"):
        raise CmdletError("The simulator supports Get-Disk [-Number], -Path and -Partition only.", "NotSupported",
                          "NotImplemented", terminating=True)
    return disks


def _partitions(ctx: HostContext, number: int) -> list[PSObject]:
    if number == 0:
        return [PSObject({"DiskNumber": 0, "PartitionNumber": 1, "DriveLetter": "C", "Type": "Basic",
                          "GptType": GPT_BASIC, "Size": ctx.host.free_disk, "Offset": MB, "IsBoot": True,
                          "IsSystem": False}, STORAGE + "MSFT_Partition", ref=("partition", 0, 1))]
    entry = next((e for e in _mounted(ctx.host) if int(e.mounted["disk"]) == number), None)  # type: ignore[index]
    volume = guest.volume_of(ctx.host, entry.path) if entry is not None else None
    if entry is None or volume is None:
        return []
    size = int((entry.vhd or {}).get("size") or 0)
    letter = (entry.mounted or {}).get("letter")
    mbr = guest.partition_style(ctx.host, volume) == "MBR"
    # (type, size, GptType, MbrType, holds Windows, is the system partition) of each partition, in order
    layout = ([(kind, part_size, None, mbr_type, index == 2, index == 1)
               for index, (kind, part_size, mbr_type) in enumerate(MBR_LAYOUT, start=1)] if mbr else
              [(kind, part_size, gpt_type, None, kind == "Basic", kind == "System")
               for kind, part_size, gpt_type in GPT_LAYOUT])
    out, offset = [], MB
    for index, (kind, part_size, gpt_type, mbr_type, windows, system) in enumerate(layout, start=1):
        actual = part_size or max(0, size - offset)
        props = {"DiskNumber": number, "PartitionNumber": index, "DriveLetter": letter if windows else None,
                 "Type": kind, "GptType": gpt_type, "Size": actual, "Offset": offset, "IsBoot": False,
                 "IsSystem": system}
        if mbr:
            props.update(MbrType=mbr_type, IsActive=system)
        out.append(PSObject(props, STORAGE + "MSFT_Partition", ref=("partition", number, index)))
        offset += actual
    return out


@cmdlet("Get-Partition", "Storage")
def get_partition(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    numbers = [int(d.get("Number")) for d in _disks(ctx)]
    if call.has("Disk"):
        numbers = [int(_list(call.get("Disk"))[0].get("Number"))]
    elif call.has("DiskNumber"):
        numbers = [int(n) for n in _list(call.get("DiskNumber"))]
        known = {int(d.get("Number")) for d in _disks(ctx)}
        for n in numbers:
            if n not in known:
                raise CmdletError(f"No MSFT_Partition objects found with property 'DiskNumber' equal to '{n}'. Verify "
                                  "the value of the property and retry.", "CmdletizationQuery_NotFound_DiskNumber",
                                  "ObjectNotFound", n)
    parts = [p for n in numbers for p in _partitions(ctx, n)]
    if call.has("PartitionNumber"):
        wanted = {int(n) for n in _list(call.get("PartitionNumber"))}
        parts = [p for p in parts if p.get("PartitionNumber") in wanted]
    if call.has("DriveLetter"):
        letters = {to_string(v).upper() for v in _list(call.get("DriveLetter"))}
        parts = [p for p in parts if to_string(p.get("DriveLetter") or "").upper() in letters]
        if not parts:
            raise CmdletError(f"No MSFT_Partition objects found with property 'DriveLetter' equal to "
                              f"'{sorted(letters)[0]}'. Verify the value of the property and retry.",
                              "CmdletizationQuery_NotFound_DriveLetter", "ObjectNotFound")
    return parts


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
