"""The MultiPoint rules for one host's VMs (multipoint-facts.md): edition, stations, seats, sizing, names."""

from __future__ import annotations

from collections.abc import Iterator

from orchestrator.hyperv_limits import (
    DISK_SIZE_STEP,
    MAX_CHECKPOINTS,
    MAX_VHDX_SIZE,
    MAX_VM_MEMORY,
    MAX_VM_PROCESSORS,
    MIN_DISK_SIZE,
    MIN_VM_MEMORY,
)
from orchestrator.model import (
    MAX_SEATS_PER_VM,
    STATION_TYPES,
    VM_STATION_TYPES,
    Finding,
    HostSpec,
    Location,
    VMSpec,
)
from orchestrator.rules.findings import at, finding, not_a_choice, shown
from orchestrator.rules.names import checkpoint_name_problem, name_problem, printable_problem
from orchestrator.rules.sizing import floor_for
from orchestrator.sizes import format_size
from orchestrator.vm_index import alike_key
from orchestrator.windows_paths import is_absolute

EDITIONS = ("premium", "standard")
GENERATIONS = (1, 2)
STATES = ("running", "off", "absent")


def check_vms(host: HostSpec) -> Iterator[Finding]:
    seen: dict[str, VMSpec] = {}
    for vm in host.vms:
        yield from check_vm(host, vm)
        # The scripts find a VM with -eq: case aside, and linguistically on a real host (vm_index.alike_key).
        key = alike_key(vm.name)
        if key in seen:
            first = seen[key].location
            where = f" (first at line {first.line})" if first else ""
            same = seen[key].name.lower() == vm.name.lower()
            yield finding(
                "error",
                f"host {host.name}: two VMs are named {shown(vm.name)}{where}" if same else
                f"host {host.name}: the VMs {shown(seen[key].name)}{where} and {shown(vm.name)} have names a "
                "real host's name comparison may take for one",
                "give every VM and classroom on a host its own name"
                + ("" if same else ", one that differs in more than case, accents or ligatures"),
                at(vm.locations, "name", vm.location),
            )
        else:
            seen[key] = vm


def check_vm(host: HostSpec, vm: VMSpec) -> Iterator[Finding]:
    loc = vm.locations
    label = f"VM {shown(vm.name)} on {host.name}"
    problem = name_problem(vm.name)
    if problem:
        yield finding("error", f"{label}: the name {problem}", "rename the VM", at(loc, "name", vm.location))
    if vm.edition not in EDITIONS:
        yield not_a_choice(label, "edition", vm.edition, EDITIONS, at(loc, "edition", vm.location))
    elif vm.edition == "standard":
        yield finding(
            "error",
            f"{label}: MultiPoint Server Standard cannot run as a Hyper-V guest",
            "use edition: premium and Premium media",
            at(loc, "edition", vm.location),
        )
    if vm.generation not in GENERATIONS:
        yield finding(
            "error",
            f"{label}: generation {shown(vm.generation)} is not one of: 1, 2",
            "use generation: 2 (or 1 for legacy BIOS)",
            at(loc, "generation", vm.location),
        )
    if vm.state not in STATES:
        yield not_a_choice(label, "state", vm.state, STATES, at(loc, "state", vm.location))
    yield from _check_size(vm, label)
    yield from _check_stations(vm, label)
    yield from _check_disk(vm, label)
    if vm.switch is not None:
        problem = printable_problem(vm.switch)
        if problem:
            yield finding(
                "error",
                f"{label}: the switch name {problem}",
                "write the switch's name as shown by Get-VMSwitch",
                at(loc, "switch", vm.location),
            )
    if vm.path is not None and not vm.path.strip():
        yield finding(
            "error",
            f"{label}: path is empty",
            "give the VM folder or remove path",
            at(loc, "path", vm.location),
        )
    elif vm.path is not None and not is_absolute(vm.path):
        yield _relative(label, "path", vm.path, "D:\\VMs", at(loc, "path", vm.location))
    cp = vm.checkpoints
    if cp.baseline is not None:
        problem = checkpoint_name_problem(cp.baseline)
        if problem:
            yield finding(
                "error",
                f"{label}: the baseline checkpoint name {problem}",
                "write a printable name without spaces at its ends",
                at(loc, "checkpoints", vm.location),
            )
    if cp.keep is not None and cp.keep < 1:
        yield finding(
            "error",
            f"{label}: checkpoints keep must be at least 1, not {cp.keep}",
            "keep: 1 or more (or remove keep to keep them all)",
            at(loc, "checkpoints", vm.location),
        )
    elif cp.keep is not None and cp.keep > MAX_CHECKPOINTS - 2:
        # The baseline and one pre-rollback (or revert) checkpoint stand beside the kept ones.
        yield finding(
            "error",
            f"{label}: checkpoints keep is {cp.keep}, but a Hyper-V VM holds at most {MAX_CHECKPOINTS} "
            "checkpoints, its baseline and a pre-rollback checkpoint among them: Checkpoint-VM would fail first",
            f"keep: {MAX_CHECKPOINTS - 2} or fewer",
            at(loc, "checkpoints", vm.location),
        )


MEMORY_STEP = 2 * 1024**2


def _check_memory_granularity(vm: VMSpec, label: str) -> Iterator[Finding]:
    """Memory sizes that are whole multiples of 2 MB, refused before any change. Unverified (docs/real-hosts.md):
    Microsoft's pages for New-VM and Set-VMMemory (2012, 2012 R2) state no granularity, and the simulator's
    Set-VMMemory refuses other sizes. Checked here because the apply script creates the VM with New-VM first
    and sets its memory after: a size refused there would leave a VM made by half. Refusing a size a real
    host might take is the safe side of not knowing; every size written in GB or in even MB passes."""
    sizes = [("memory", vm.memory)]
    if vm.dynamic_memory is not None:
        sizes += [("dynamic_memory min", vm.dynamic_memory.minimum), ("dynamic_memory max", vm.dynamic_memory.maximum)]
    for what, size in sizes:
        if size > 0 and size % MEMORY_STEP:
            rounded = -(-size // MEMORY_STEP) * MEMORY_STEP
            yield finding(
                "error",
                f"{label}: {what} is {format_size(size)}, not a whole multiple of 2 MB",
                f"write {format_size(rounded)} or another multiple of 2 MB",
                at(vm.locations, what.split()[0], vm.location),
            )


def _check_size(vm: VMSpec, label: str) -> Iterator[Finding]:
    loc = vm.locations
    if vm.cpus < 1:
        yield finding(
            "error",
            f"{label}: cpus must be at least 1, not {vm.cpus}",
            "give 1 or more virtual processors",
            at(loc, "cpus", vm.location),
        )
    elif vm.cpus > MAX_VM_PROCESSORS:
        yield finding(
            "error",
            f"{label}: cpus is {vm.cpus}, and a Hyper-V VM on Windows Server 2012 or 2012 R2 has at most "
            f"{MAX_VM_PROCESSORS} virtual processors (Set-VMProcessor would fail after New-VM made the VM)",
            f"give {MAX_VM_PROCESSORS} or fewer",
            at(loc, "cpus", vm.location),
        )
    if vm.memory <= 0:
        yield finding(
            "error",
            f"{label}: memory must be positive",
            "write a size like 8GB",
            at(loc, "memory", vm.location),
        )
    elif not MIN_VM_MEMORY <= vm.memory <= MAX_VM_MEMORY:
        yield finding(
            "error",
            f"{label}: memory is {format_size(vm.memory)}, outside the {format_size(MIN_VM_MEMORY)} to "
            f"{format_size(MAX_VM_MEMORY)} a Hyper-V VM on Windows Server 2012 or 2012 R2 takes",
            "write a size like 8GB",
            at(loc, "memory", vm.location),
        )
    dm = vm.dynamic_memory
    if dm is not None:
        if dm.minimum <= 0 or dm.maximum <= 0:
            yield finding(
                "error",
                f"{label}: dynamic_memory min and max must be positive",
                "write sizes like 2GB",
                at(loc, "dynamic_memory", vm.location),
            )
        elif dm.minimum < MIN_VM_MEMORY or dm.maximum > MAX_VM_MEMORY:
            yield finding(
                "error",
                f"{label}: dynamic_memory min is {format_size(dm.minimum)} and max {format_size(dm.maximum)}; "
                f"Hyper-V takes a minimum of at least {format_size(MIN_VM_MEMORY)} and a maximum of at most "
                f"{format_size(MAX_VM_MEMORY)} (Set-VMMemory would fail after New-VM made the VM)",
                f"keep min and max within {format_size(MIN_VM_MEMORY)} to {format_size(MAX_VM_MEMORY)}",
                at(loc, "dynamic_memory", vm.location),
            )
        elif not dm.minimum <= vm.memory <= dm.maximum:
            yield finding(
                "error",
                f"{label}: dynamic_memory needs min <= memory <= max, but min is {format_size(dm.minimum)}, "
                f"memory {format_size(vm.memory)}, max {format_size(dm.maximum)}",
                "raise max, lower min, or change memory so that it lies between them",
                at(loc, "dynamic_memory", vm.location),
            )
    yield from _check_memory_granularity(vm, label)
    seats = vm.stations.total
    if seats > MAX_SEATS_PER_VM or vm.cpus < 1 or vm.memory <= 0:
        return
    floor = floor_for(seats)
    if vm.cpus < floor.cpus:
        yield finding(
            "warning",
            f"{label}: {vm.cpus} cpus is below the MultiPoint floor of {floor.cpus} for {seats} seats",
            f"cpus: {floor.cpus}",
            at(loc, "cpus", vm.location),
        )
    if vm.memory < floor.memory:
        yield finding(
            "warning",
            f"{label}: memory {format_size(vm.memory)} is below the MultiPoint floor of "
            f"{format_size(floor.memory)} for {seats} seats",
            f"memory: {format_size(floor.memory)}",
            at(loc, "memory", vm.location),
        )


def _check_stations(vm: VMSpec, label: str) -> Iterator[Finding]:
    where = at(vm.locations, "stations", vm.location)
    counts = vm.stations.as_dict()
    negative = [name for name, count in counts.items() if count < 0]
    for name in negative:
        yield finding(
            "error",
            f"{label}: station count {name} must be 0 or more, not {counts[name]}",
            "write a count of 0 or more",
            where,
        )
    for name in STATION_TYPES:
        if name not in VM_STATION_TYPES and counts[name] > 0:
            yield finding(
                "error",
                f"{label}: {name} stations are not supported in a VM; a MultiPoint VM takes only rdp and "
                "usb_over_ethernet stations",
                "use rdp or usb_over_ethernet stations, or put this station on a physical MultiPoint server",
                where,
            )
    if vm.stations.total > MAX_SEATS_PER_VM:
        yield finding(
            "error",
            f"{label}: {vm.stations.total} seats exceed the {MAX_SEATS_PER_VM} stations one Premium VM serves",
            f"use multipoint_classrooms: {{name: ..., seats: {vm.stations.total}}} to split them over "
            f"several VMs",
            where,
        )


def _check_disk(vm: VMSpec, label: str) -> Iterator[Finding]:
    where = at(vm.locations, "disk", vm.location)
    if vm.disk is None:
        if vm.state != "absent":
            yield finding(
                "error",
                f"{label}: no disk given",
                "add disk: {parent: <sysprepped Premium VHDX>}, "
                "{copy_from: <VHDX>} or {size: 60GB, iso: <install ISO>} (or in multipoint_vm_defaults)",
                where,
            )
        return
    if vm.disk.kind == "new" and (vm.disk.size or 0) <= 0:
        yield finding("error", f"{label}: the disk size must be positive", "write a size like 60GB", where)
    elif vm.disk.kind == "new" and (vm.disk.size or 0) % DISK_SIZE_STEP:
        # New-VHD refuses an unaligned size (orchestrator.hyperv_limits has the sources); refused here, before
        # the marker file and the disk are made.
        size = vm.disk.size or 0
        rounded = max(MIN_DISK_SIZE, -(-size // DISK_SIZE_STEP) * DISK_SIZE_STEP)
        yield finding(
            "error",
            f"{label}: the disk size {format_size(size)} is not a whole multiple of 1 MB, and New-VHD refuses an "
            "unaligned size",
            f"write {format_size(rounded)}, or a size like 60GB",
            where,
        )
    elif vm.disk.kind == "new" and (vm.disk.size or 0) < MIN_DISK_SIZE:
        yield finding(
            "error",
            f"{label}: the disk size {format_size(vm.disk.size or 0)} is below {format_size(MIN_DISK_SIZE)}, the "
            "smallest virtual hard disk a Microsoft page names",
            "write a size like 60GB",
            where,
        )
    elif vm.disk.kind == "new" and (vm.disk.size or 0) > MAX_VHDX_SIZE:
        yield finding(
            "error",
            f"{label}: the disk size {format_size(vm.disk.size or 0)} is above the {format_size(MAX_VHDX_SIZE)} "
            "a VHDX holds",
            "write a size like 60GB",
            where,
        )
    for value in (vm.disk.source, vm.disk.iso):
        if value is not None and not value.strip():
            yield finding(
                "error", f"{label}: the disk path is empty", "give the full path of the file", where
            )
        elif value is not None and not is_absolute(value):
            yield _relative(label, "disk", value, "D:\\images\\mps2012-premium.vhdx", where)
    yield from _check_image_format(vm, label)


def _relative(label: str, key: str, path: str, example: str, where: Location | None) -> Finding:
    """A relative path means a different folder to each API on the host (orchestrator.windows_paths)."""
    return finding(
        "error",
        f"{label}: {key} '{path}' is not a full path: the host would complete it from a current directory, "
        "which differs between PowerShell and Hyper-V",
        f"write the path from its drive or share, like {example} or \\\\server\\share\\...",
        where,
    )


def _check_image_format(vm: VMSpec, label: str) -> Iterator[Finding]:
    """A `parent` or `copy_from` image must be a .vhdx file (any case), for either generation.

    The create script (templates/actions/create_vm.ps1.j2) always makes the VM's disk as `<VM>.vhdx`: a
    differencing disk on `parent` (New-VHD -Path <VM>.vhdx -ParentPath <image> -Differencing), or a copy of
    `copy_from` renamed to `<VM>.vhdx`. Hyper-V reads a disk's format from its file name: New-VHD "creates one
    or more new virtual hard disks in either VHD format or the newer VHDX format. The file extension you
    specify determines the format." (MicrosoftDocs/windows-powershell-docs docset/winserver2012-ps/hyper-v/
    New-VHD.md, DESCRIPTION); Convert-VHD: "The format is determined by the file extension of the specified
    files, either .vhdx or .vhd" (same docset, Convert-VHD.md); virtdisk's VIRTUAL_STORAGE_TYPE ties
    VIRTUAL_STORAGE_TYPE_DEVICE_VHD to "(.vhd file)" and ..._VHDX to "(.vhdx file)" (learn.microsoft.com/
    windows/win32/api/virtdisk/ns-virtdisk-virtual_storage_type). So a `.vhd` copy renamed `.vhdx` is a VHD
    file under a VHDX name, and a `.vhd` parent asks for a VHDX child of a VHD parent, which no Microsoft page
    says works (Convert-VHD.md's Example 2 shows a VHD child on a VHD parent, the BPA rule "Avoid using
    VHD-format differencing virtual hard disks" says to "convert the chain" to VHDX: neither mixes formats).
    A generation 2 VM boots only from a "SCSI virtual hard disk (.VHDX)" (MicrosoftDocs/windowsserverdocs
    WindowsServerDocs/virtualization/hyper-v/plan/Should-I-create-a-generation-1-or-2-virtual-machine-in-
    Hyper-V.md, "How can I boot the virtual machine?"). Generation 1 is refused too: nothing sourced says its
    mixed chain would work (docs/real-hosts.md, Disks, lists it as unverified). Refused here, in validation,
    so nothing is made on the host; the fix names Convert-VHD, whose 2012 page converts "a source VHD to a
    destination VHDX" (Example 1). The size/iso form needs no rule: New-VHD makes `<VM>.vhdx`, a VHDX."""
    disk = vm.disk
    if disk is None or disk.kind not in ("parent", "copy_from") or not disk.source or not disk.source.strip():
        return
    source = disk.source
    if source.lower().endswith(".vhdx"):
        return
    where = at(vm.locations, f"disk.{disk.kind}", at(vm.locations, "disk", vm.location))
    disk_name = "<VM>.vhdx" if getattr(vm.name, "from_env", False) else f"{vm.name}.vhdx"
    if disk.kind == "parent":
        why = (f"the VM's disk {disk_name} is made as a VHDX differencing disk on it, and no Microsoft page "
               "says a VHDX disk can stand on a parent of another format (a generation 2 VM boots only from "
               "a VHDX)")
    else:
        why = (f"the copy becomes the VM's disk {disk_name}, and Hyper-V takes a disk's format from its file "
               "name: the copy would be another format under a .vhdx name")
    message = f"{label}: disk {disk.kind} {shown(source)} is not a .vhdx image: {why}"
    lowered = source.lower()
    if lowered.endswith(".vhd"):
        if getattr(source, "from_env", False):
            fix = ("convert the image on the host with Convert-VHD -Path <the .vhd> -DestinationPath "
                   f"<the same name ending .vhdx>, and give that .vhdx as {disk.kind}")
        else:
            converted = source[:-4] + ".vhdx"
            fix = (f"convert it on the host: Convert-VHD -Path {_quoted(source)} -DestinationPath "
                   f"{_quoted(converted)}, then write {disk.kind}: {converted}")
    elif lowered.endswith(".iso"):
        fix = "an install ISO goes in disk: {size: 60GB, iso: <the ISO>}; parent and copy_from take a .vhdx"
    else:
        fix = f"give a .vhdx image as {disk.kind} (Convert-VHD makes one from a .vhd)"
    yield finding("error", message, fix, where)


def _quoted(path: str) -> str:
    """A path as a PowerShell single-quoted literal, for a command the admin copies."""
    return "'" + path.replace("'", "''") + "'"
