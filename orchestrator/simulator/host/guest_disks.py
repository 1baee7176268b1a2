r"""A VM's disk opened on the host: Mount-VHD / Dismount-VHD (Hyper-V), Get-Disk / Get-Partition and
Add-PartitionAccessPath / Remove-PartitionAccessPath (Storage).

Mounting a virtual disk makes it a disk of the host (Get-Disk shows it, numbered after the host's own disk 0)
and gives its volumes drive letters (MicrosoftDocs/windows-powershell-docs docset/winserver2012-ps/hyper-v/
Mount-VHD.md: -NoDriveLetter "without assigning drive letters to the volumes"; Example 3 pipes Mount-VHD
-PassThru to Get-Disk | Get-Partition), unless the host gives none by itself (`Host.automount` off: mountvol
/N, a partition's NoDefaultDriveLetter, a SAN policy; no page says when, or whether, the letters come: audit
K H1). The guest's Windows partition then shows its files under its letter, or under a folder that
Add-PartitionAccessPath made its access path, so New-Item, Set-Content, Test-Path and Remove-Item work in it
as on any drive; Remove-PartitionAccessPath, and Dismount-VHD (Dismount-VHD.md, -Path or -DiskNumber) for a
letter, write them back into the disk (host/guest.py volumes) and take the letter or the folder's mount away.

Access paths (docset/winserver2012-ps/storage/Add-PartitionAccessPath.md and Remove-PartitionAccessPath.md,
the same in docset/winserver2012r2-ps; the Storage provider's MSFT_Partition class and its AddAccessPath /
RemoveAccessPath methods, MicrosoftDocs/windows-driver-docs windows-driver-docs-pr/storage/
msft-partition.md, addaccesspath-msft-partition.md, removeaccesspath-msft-partition.md):
- "An access path can be a drive letter ... or a path to an empty directory on an NTFS volume"; AddAccessPath
  "returns an error if the path specified in AccessPath is a folder that is already in use (even if the
  directory is empty) or if it contains a path to a non-empty directory" (its errors: "The requested access
  path is already in use." 42002, "The access path is not valid." 42007). Here the folder must exist, be
  empty and be on the host's own drives (not inside another mounted volume, not a share).
- Only a basic data partition (GPT) can "host mounted folders" (MSFT_Partition, GptType), and mounted folders
  are "supported only on NTFS-formatted partitions" (the cmdlet page's notes): a GPT Recovery, System (EFI)
  or Reserved partition is refused, an MBR one (Type IFS, MbrType 7) is taken.
- Get-Partition's AccessPaths ("the various mount points for the partition. This list includes drive
  letters, in addition to mounted folders", MSFT_Partition) lists a partition's letter, its folders (with a
  trailing backslash) and its volume GUID path.
- Stricter than a host, where no page says: a partition takes one access path at a time (a letter or one
  folder; a second is refused as not modelled), only folder paths and only the DiskNumber/PartitionNumber set
  are modelled (-AssignDriveLetter and letter paths are refused as not modelled), and Dismount-VHD refuses a
  disk a partition of which still has a folder access path (no page says what a real host does then; the
  likely answer, a folder left as a mount point of a volume that is gone, would be worse for the next run).

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

import re
from typing import Any

from orchestrator.simulator.binder import BoundCall
from orchestrator.simulator.host import guest
from orchestrator.simulator.host.cmdlets_disk import torn_error
from orchestrator.simulator.host.context import HostContext
from orchestrator.simulator.host.model import FileEntry, Host, norm_path, share_root
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


def _show(ctx: HostContext, volume: dict[str, Any], root: str) -> None:
    """The volume's files on the host under `root` (a letter's "E:" or an access path's folder)."""
    base = root.rstrip("\\")
    for item in volume["files"].values():
        target = base + item["path"]
        ctx.fs.local[norm_path(target)] = FileEntry(target, item["kind"], len((item.get("text") or "")
                                                    .encode("utf-8")), text=item.get("text"))


def _take_back(ctx: HostContext, volume: dict[str, Any] | None, root: str) -> None:
    """What is under `root` on the host now goes back into the volume (and off the host); `root` stays."""
    base = root.rstrip("\\")
    prefix = norm_path(base) + ("" if norm_path(base).endswith("\\") else "\\")
    written = {k: e for k, e in ctx.fs.local.items() if k.startswith(prefix) and k != prefix}
    for key in written:
        del ctx.fs.local[key]
    if volume is not None:
        files = {}
        for key, item in written.items():
            # The path inside the volume as the script spelled it: norm_path only folds case and separators.
            inside = "\\" + item.path.replace("/", "\\").rstrip("\\")[-(len(key) - len(prefix)):]
            files[norm_path(inside)] = {"path": inside, "kind": item.kind, "text": item.text}
        volume["files"] = files


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
        given = not call.get("NoDriveLetter") and ctx.host.automount
        letter = _free_letter(ctx) if given and volume is not None else None
        entry.mounted = {"disk": number, "letter": letter, "paths": []}
        if letter is not None and volume is not None:
            _show(ctx, volume, f"{letter}:")
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
    for entry in entries:
        for partition, folder in _paths(entry):
            raise CmdletError(f"Failed to dismount the disk: partition {partition} of '{entry.path}' is still mounted "
                              f"at the folder '{folder}' (Remove-PartitionAccessPath first; the simulator refuses "
                              "what a real host does here, which no page says).", "AccessPathInUse",
                              "ResourceBusy", entry.path)
    out = []
    for entry in entries:
        letter = (entry.mounted or {}).get("letter")
        volume = guest.writable_volume(ctx.host, entry)
        if letter is not None:
            _take_back(ctx, volume, f"{letter}:")
            ctx.fs.local.pop(norm_path(f"{letter}:\\"), None)
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


def _layout(ctx: HostContext, entry: FileEntry) -> list[dict[str, Any]]:
    """The partitions of a mounted disk that holds Windows, in order: number, Type, size, GptType, MbrType,
    whether it holds Windows (the volume's files) and whether it is the system partition."""
    volume = guest.volume_of(ctx.host, entry.path)
    if volume is None:
        return []
    size = int((entry.vhd or {}).get("size") or 0)
    mbr = guest.partition_style(ctx.host, volume) == "MBR"
    rows = ([(kind, part_size, None, mbr_type, index == 2, index == 1)
             for index, (kind, part_size, mbr_type) in enumerate(MBR_LAYOUT, start=1)] if mbr else
            [(kind, part_size, gpt_type, None, kind == "Basic", kind == "System")
             for kind, part_size, gpt_type in GPT_LAYOUT])
    out, offset = [], MB
    for index, (kind, part_size, gpt_type, mbr_type, windows, system) in enumerate(rows, start=1):
        actual = part_size or max(0, size - offset)
        out.append({"number": index, "type": kind, "size": actual, "offset": offset, "gpt": gpt_type,
                    "mbr": mbr_type, "windows": windows, "system": system, "mbr_disk": mbr})
        offset += actual
    return out


def _mountable(row: dict[str, Any]) -> bool:
    """Whether the partition holds a volume that takes an access path: a GPT basic data partition, or an MBR
    one of type IFS (MSFT_Partition: only basic data partitions "host mounted folders (also called volume
    mount points)"; Add-PartitionAccessPath.md: "Mounted folders are supported only on NTFS-formatted
    partitions")."""
    return row["type"] in ("Basic", "IFS")


def _volume_guid_path(entry: FileEntry, number: int) -> str:
    import uuid

    return f"\\\\?\\Volume{{{uuid.uuid5(uuid.NAMESPACE_URL, f'{norm_path(entry.path)}#{number}')}}}\\"


def _paths(entry: FileEntry) -> list[tuple[int, str]]:
    """(partition number, folder) of each folder access path the mounted disk's partitions have."""
    return [(int(n), str(p)) for n, p in ((entry.mounted or {}).get("paths") or [])]


def _partitions(ctx: HostContext, number: int) -> list[PSObject]:
    if number == 0:
        return [PSObject({"DiskNumber": 0, "PartitionNumber": 1, "DriveLetter": "C", "Type": "Basic",
                          "GptType": GPT_BASIC, "Size": ctx.host.free_disk, "Offset": MB, "IsBoot": True,
                          "IsSystem": False, "AccessPaths": ["C:\\", "\\\\?\\Volume{00000000-0000-0000-0000-000000000000}\\"]},
                         STORAGE + "MSFT_Partition", ref=("partition", 0, 1))]
    entry = _mounted_disk(ctx, number)
    if entry is None:
        return []
    letter = (entry.mounted or {}).get("letter")
    out = []
    for row in _layout(ctx, entry):
        index = row["number"]
        paths: list[str] = []
        if _mountable(row):
            if row["windows"] and letter:
                paths.append(f"{letter}:\\")
            paths += [folder.rstrip("\\") + "\\" for n, folder in _paths(entry) if n == index]
            paths.append(_volume_guid_path(entry, index))
        props = {"DiskNumber": number, "PartitionNumber": index, "DriveLetter": letter if row["windows"] else None,
                 "AccessPaths": paths, "Type": row["type"], "GptType": row["gpt"], "Size": row["size"],
                 "Offset": row["offset"], "IsBoot": False, "IsSystem": row["system"]}
        if row["mbr_disk"]:
            props.update(MbrType=row["mbr"], IsActive=row["system"])
        out.append(PSObject(props, STORAGE + "MSFT_Partition", ref=("partition", number, index)))
    return out


def _mounted_disk(ctx: HostContext, number: int) -> FileEntry | None:
    return next((e for e in _mounted(ctx.host) if int(e.mounted["disk"]) == number), None)  # type: ignore[index]


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


def _one_partition(ctx: HostContext, call: BoundCall, cmdlet_name: str) -> tuple[FileEntry, dict[str, Any]]:
    """The mounted disk and the partition row that -DiskNumber and -PartitionNumber name (one of each)."""
    disks, numbers = _list(call.get("DiskNumber")), _list(call.get("PartitionNumber"))
    if len(disks) != 1 or len(numbers) != 1:
        raise CmdletError(f"The simulator models {cmdlet_name} for one -DiskNumber and one -PartitionNumber only.",
                          "NotSupported", "NotImplemented", terminating=True)
    disk, number = int(disks[0]), int(numbers[0])
    if disk == 0:
        raise CmdletError(f"The simulator models {cmdlet_name} on mounted virtual disks only, not on the host's "
                          "own disk 0.", "NotSupported", "NotImplemented", terminating=True)
    entry = _mounted_disk(ctx, disk)
    if entry is None:
        raise CmdletError(f"No MSFT_Partition objects found with property 'DiskNumber' equal to '{disk}'. Verify the "
                          "value of the property and retry.", "CmdletizationQuery_NotFound_DiskNumber",
                          "ObjectNotFound", disk)
    row = next((r for r in _layout(ctx, entry) if r["number"] == number), None)
    if row is None:
        raise CmdletError(f"No MSFT_Partition objects found with property 'PartitionNumber' equal to '{number}'. "
                          "Verify the value of the property and retry.", "CmdletizationQuery_NotFound_PartitionNumber",
                          "ObjectNotFound", number)
    return entry, row


def _access_path(call: BoundCall, cmdlet_name: str) -> str:
    if call.get("AssignDriveLetter"):
        raise CmdletError("The simulator does not model -AssignDriveLetter; give -AccessPath a folder.",
                          "NotSupported", "NotImplemented", terminating=True)
    value = call.get("AccessPath")
    if value is None or not to_string(value).strip():
        # RemoveAccessPath: the access path "is required and cannot be NULL"; AddAccessPath takes it or
        # AssignDriveLetter (removeaccesspath-msft-partition.md, addaccesspath-msft-partition.md).
        raise CmdletError("Invalid Parameter", "InvalidParameter", "InvalidArgument")
    text = to_string(value).strip()
    if re.fullmatch(r"[A-Za-z]:\\?", text):
        raise CmdletError(f"The simulator models folder access paths only, not a drive letter ({cmdlet_name} "
                          f"-AccessPath '{text}').", "NotSupported", "NotImplemented", terminating=True)
    return text


def _views(ctx: HostContext) -> list[str]:
    """The roots under which mounted guest volumes show on the host now: letters and folders."""
    out = []
    for entry in _mounted(ctx.host):
        letter = (entry.mounted or {}).get("letter")
        if letter:
            out.append(norm_path(f"{letter}:\\"))
        out += [norm_path(folder) for _n, folder in _paths(entry)]
    return out


@cmdlet("Add-PartitionAccessPath", "Storage", mutating=True)
def add_partition_access_path(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    path = _access_path(call, "Add-PartitionAccessPath")
    entry, row = _one_partition(ctx, call, "Add-PartitionAccessPath")
    key = norm_path(path)
    if any(key == view for view in _views(ctx)):
        raise CmdletError(f"The requested access path is already in use. ('{path}')", "AccessPathInUse",
                          "ResourceBusy", path)
    if not _mountable(row):
        raise CmdletError(f"Not Supported (partition {row['number']} is a {row['type']} partition: only a basic "
                          "data partition holds a volume that can be mounted at a folder).", "NotSupported",
                          "InvalidOperation", row["number"])
    if (row["windows"] and (entry.mounted or {}).get("letter")) or any(n == row["number"] for n, _f in _paths(entry)):
        raise CmdletError("The simulator models one access path per partition: this one already has one.",
                          "NotSupported", "NotImplemented", terminating=True)
    inside = next((view for view in _views(ctx) if key.startswith(view.rstrip("\\") + "\\")), None)
    if share_root(path) is not None or inside is not None or not re.match(r"[A-Za-z]:\\", path) \
            or ctx.fs.kind(path) != "dir":
        raise CmdletError(f"The access path is not valid. ('{path}': not an existing folder on the host's own "
                          "NTFS volumes)", "InvalidAccessPath", "InvalidArgument", path)
    if any(k.startswith(key + "\\") for k in ctx.fs.local):
        raise CmdletError(f"The access path is not valid. ('{path}' is not an empty folder)", "InvalidAccessPath",
                          "InvalidArgument", path)
    entry.mounted = {**(entry.mounted or {}), "paths": [*((entry.mounted or {}).get("paths") or []),
                                                        [row["number"], path.rstrip("\\")]]}
    if row["windows"]:
        volume = guest.writable_volume(ctx.host, entry)
        if volume is not None:
            _show(ctx, volume, path)
    ctx.mutated(f"Add-PartitionAccessPath {path}")
    if call.get("PassThru"):
        return [p for p in _partitions(ctx, int(entry.mounted["disk"])) if p.get("PartitionNumber") == row["number"]]
    return []


@cmdlet("Remove-PartitionAccessPath", "Storage", mutating=True)
def remove_partition_access_path(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    path = _access_path(call, "Remove-PartitionAccessPath")
    entry, row = _one_partition(ctx, call, "Remove-PartitionAccessPath")
    found = next((folder for n, folder in _paths(entry) if n == row["number"] and norm_path(folder) == norm_path(path)),
                 None)
    if found is None:
        raise CmdletError(f"The access path is not valid. ('{path}' is not an access path of partition "
                          f"{row['number']})", "InvalidAccessPath", "InvalidArgument", path)
    if row["windows"]:
        _take_back(ctx, guest.writable_volume(ctx.host, entry), found)
    # The folder stays, an empty folder again (RemoveAccessPath removes the mount, not the directory).
    entry.mounted = {**(entry.mounted or {}), "paths": [[n, f] for n, f in _paths(entry)
                                                        if not (n == row["number"] and f == found)]}
    ctx.mutated(f"Remove-PartitionAccessPath {path}")
    if call.get("PassThru"):
        return [p for p in _partitions(ctx, int(entry.mounted["disk"])) if p.get("PartitionNumber") == row["number"]]
    return []


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
