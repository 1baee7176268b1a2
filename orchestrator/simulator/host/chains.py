"""Checkpoint disk chains: every checkpoint puts each drive on a new .avhdx whose parent is the file before it.

What Hyper-V does with a VM's disk files, and what this module models:
- `Checkpoint-VM`: each drive's present file becomes read-only, the checkpoint's own point in time, and the
  drive goes on writing to a new differencing disk (.avhdx) beside it whose parent is that file
  (MicrosoftDocs/Virtualization-Documentation virtualization/hyper-v-on-windows/user-guide/checkpoints.md:
  checkpoint files are .avhdx differencing disks next to the VHDX; never delete them by hand).
- `Restore-VMSnapshot`: the drive moves to a new .avhdx child of the checkpoint's file; the file the VM wrote
  to until then is no longer anybody's and is discarded.
- `Remove-VMSnapshot` and `Remove-VM`: a file no checkpoint and no drive names any more is merged into its one
  child (or discarded when it has none); `Remove-VM` "deletes the configuration only, not VHDs, and merges
  any checkpoints into the VHDs after deletion" (MicrosoftDocs/windows-powershell-docs
  docset/winserver2012r2-ps/hyper-v/Remove-VM.md, Description). The merge is a Hyper-V job in the background:
  for the host's job_seconds of simulated time the file and the one it merges into stay in use (model.Host
  vmms_jobs), so a script that deletes the base disk must wait for the merge. A file that two branches share
  (two children) is not merged.
- The base disk (the first file of a chain that is not an .avhdx) is never deleted by Hyper-V, and a
  differencing base's parent (the shared image) is never the VM's own.
How long a real merge takes, and the exact file names (`<disk>_<GUID>.avhdx`), are unverified.
"""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING

from orchestrator.simulator.host.model import VM, FileEntry, Host, norm_path, parent_path

if TYPE_CHECKING:
    from orchestrator.simulator.host.context import HostContext

CHILD_SIZE = 4 * 1024**2  # a fresh .avhdx holds only its headers
# A checkpoint file's own `_<GUID>`: a child of lab_01_<GUID>.avhdx is lab_01_<new GUID>.avhdx.
_CHILD_SUFFIX = re.compile(r"_[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")


def is_checkpoint_file(path: str) -> bool:
    """A checkpoint's differencing file: .avhdx beside a VHDX drive, .avhd beside a VHD one (Get-VHD.md, 2012,
    Example 5 lists "*.vhd, *.vhdx, *.vhds, *.avhd, *.avhdx"; windowsserverdocs' Hyper-V scalability page:
    "Each checkpoint is stored as an .avhd file")."""
    return path.lower().endswith((".avhdx", ".avhd"))


def new_child(ctx: HostContext, parent: str) -> str:
    """A new differencing disk beside `parent`, holding the same data (content version), whose parent it is."""
    entry = ctx.fs.get(parent)
    folder = parent_path(parent)
    stem = _CHILD_SUFFIX.sub("", parent.replace("/", "\\").rsplit("\\", 1)[-1].rsplit(".", 1)[0])
    # A VHD chain's child is a VHD too (New-VHD.md: "The file extension you specify determines the format").
    extension = ".avhd" if parent.lower().endswith((".vhd", ".avhd")) else ".avhdx"
    path = f"{folder}\\{stem}_{ctx.new_guid().upper()}{extension}"
    size = int((entry.vhd or {}).get("size") or 0) if entry is not None else 0
    ctx.fs.add(FileEntry(path, "file", CHILD_SIZE, edition_sku=entry.edition_sku if entry else None,
                         vhd={"type": "Differencing", "size": size, "parent": parent},
                         content=entry.content if entry else 0))
    ctx.host.free_disk = max(0, ctx.host.free_disk - CHILD_SIZE)
    return path


def own_chain(host: Host, path: str) -> list[str]:
    """`path`, then its parents while they are checkpoint files, then the base disk: the files that are the
    VM's own (a differencing base's parent, the shared image, is not among them)."""
    out: list[str] = []
    current: str | None = path
    while current and norm_path(current) in host.files and current not in out:
        out.append(current)
        if not is_checkpoint_file(current):
            break
        current = (host.files[norm_path(current)].vhd or {}).get("parent")
    return out


def whole_chain(host: Host, path: str) -> list[str]:
    """`path`, then every parent down to the first disk that has none: what Export-VM may copy. Reports of
    later Windows versions say Hyper-V exports a differencing disk's parents too, the shared image included,
    into the one `Virtual Hard Disks` folder (hashicorp/vagrant#7040 and #13115, eryph-org/eryph#123: a linked
    clone's export fails with "File exists already" when two leaf names meet). No 2012 page says either way:
    unverified, so Export-VM here asks room for all of it and refuses the clash (the stricter reading)."""
    out: list[str] = []
    current: str | None = path
    while current and norm_path(current) in host.files and current not in out and len(out) < 64:
        out.append(current)
        current = (host.files[norm_path(current)].vhd or {}).get("parent")
    return out


def _named(host: Host) -> set[str]:
    """Every file a drive writes to or a checkpoint stands on, of every VM."""
    keys: set[str] = set()
    for vm in host.vms.values():
        keys.update(norm_path(d.path) for d in vm.disks)
        for snap in vm.snapshots.values():
            keys.update(norm_path(p) for p in snap.disks)
            keys.update(norm_path(d["path"]) for d in snap.config.get("disks", []) if d.get("path"))
    return keys


def _chain_keys(host: Host, start: str) -> list[str]:
    """The norm_path keys of `start` and every parent below it that is on the host (at most 64, so a damaged
    chain that names itself ends): a differencing disk is read through its parents (Get-VHD.md, 2012, Example
    5 follows a chain by ParentPath), so each of them is part of the chain."""
    out: list[str] = []
    current: str | None = norm_path(start)
    while current and current in host.files and current not in out and len(out) < 64:
        out.append(current)
        parent = (host.files[current].vhd or {}).get("parent")
        current = norm_path(parent) if parent else None
    return out


def in_use(host: Host, path: str) -> bool:
    """True when some VM's chain names the file, whatever the VM's state (its drive, a checkpoint's file, or any
    parent of either, the shared image under a differencing disk included), or a merge writes it. A running
    VM holds its chain open; an Off VM does not, but deleting or renaming a file its chain stands on breaks
    that chain for good (Start-VM refuses it: missing_parent), so the simulator refuses it in every state
    (stricter than a host, which would let the file of an Off VM's chain go)."""
    return chain_holder(host, path) is not None or host.vmms_job_writing(path) is not None


def chain_holder(host: Host, path: str) -> VM | None:
    """The first VM one of whose chains (its drives' or its checkpoints') names `path` (in_use)."""
    key = norm_path(path)
    for vm in host.vms.values():
        starts = [d.path for d in vm.disks]
        for snap in vm.snapshots.values():
            starts.extend(snap.disks)
            starts.extend(d["path"] for d in snap.config.get("disks", []) if d.get("path"))
        if any(key in _chain_keys(host, start) for start in starts):
            return vm
    return None


def held_by_running(host: Host, path: str) -> VM | None:
    """The VM, not Off, one of whose drives' own files (own_chain: the drive's file, its checkpoint files and
    its base disk) is `path`: Hyper-V has them open while the VM runs (or is saved, paused, changing state).
    No 2012 page says whether a copy of such a file is refused; the simulator refuses it (stricter). A shared
    image under a differencing base is opened for reading only, and not counted here (unverified)."""
    key = norm_path(path)
    for vm in host.vms.values():
        if vm.state == "Off":
            continue
        for disk in vm.disks:
            if key in {norm_path(f) for f in own_chain(host, disk.path)}:
                return vm
    return None


def writable_leaf_of(host: Host, path: str) -> VM | None:
    """The VM, not Off, whose drive writes to `path` now (the leaf of its chain)."""
    key = norm_path(path)
    return next((vm for vm in host.vms.values() if vm.state != "Off"
                 and any(norm_path(d.path) == key for d in vm.disks)), None)


def missing_parent(host: Host, path: str) -> str | None:
    """The first parent that a file of `path`'s chain names and the host lacks: that chain is broken (a base disk
    deleted under a differencing child). None when the chain is whole."""
    for key in _chain_keys(host, path):
        parent = (host.files[key].vhd or {}).get("parent")
        if parent and norm_path(parent) not in host.files:
            return str(parent)
    return None


def vm_files(host: Host, vm: VM) -> set[str]:
    """Every file of `vm`'s own chains (its drives' and its checkpoints'), as norm_path keys: what a merge after
    Remove-VM, Remove-VMSnapshot or Restore-VMSnapshot of this VM may take away. Hyper-V merges the VM's "any
    snapshots" (Remove-VM.md, Description), never another VM's files, nor an exported copy's: an export folder's
    .avhdx files are plain files no VM names, and stay."""
    paths = [d.path for d in vm.disks]
    for snap in vm.snapshots.values():
        paths.extend(snap.disks)
        paths.extend(d["path"] for d in snap.config.get("disks", []) if d.get("path"))
    return {norm_path(f) for path in paths for f in own_chain(host, path)}


def collect(ctx: HostContext, vm_id: str, owned: set[str]) -> None:
    """Merge away the checkpoint files of `owned` (vm_files before the change) nobody names any more (see the
    module docstring)."""
    host = ctx.host
    while True:
        named = _named(host)
        merging = {norm_path(j["path"]) for j in host.vmms_jobs if j.get("kind") == "merge"}
        children: dict[str, list[FileEntry]] = {}
        for entry in host.files.values():
            parent = (entry.vhd or {}).get("parent")
            if parent and norm_path(entry.path) not in merging:
                children.setdefault(norm_path(parent), []).append(entry)
        doomed = next((e for key, e in host.files.items() if key in owned and is_checkpoint_file(e.path)
                       and key not in named and key not in merging and len(children.get(key, [])) <= 1), None)
        if doomed is None:
            return
        parent = (doomed.vhd or {}).get("parent")
        kids = children.get(norm_path(doomed.path), [])
        for child in kids:  # the child now reads through to the grandparent
            if child.volume is None and doomed.volume is not None:  # ...and keeps what the merged file held
                child.volume = copy.deepcopy(doomed.volume)
            child.vhd = dict(child.vhd or {}, parent=parent)
        if kids and parent and norm_path(parent) in host.files and not is_checkpoint_file(parent):
            host.files[norm_path(parent)].size += doomed.size  # merged into the base disk
        seconds = float(host.job_seconds or 0)
        if seconds > 0:
            host.vmms_jobs.append({"kind": "merge", "vm_id": vm_id, "path": doomed.path, "into": parent,
                                   "left": seconds, "total": seconds})
        else:
            host.files.pop(norm_path(doomed.path), None)
        ctx.mutated(f"merge {doomed.path}")


def copy_chain(entry: FileEntry, path: str, parents: dict[str, str]) -> FileEntry:
    """A copy of a chain file at `path`, its parent pointer moved to the parent's copy where there is one."""
    clone = copy.deepcopy(entry)
    clone.path = path
    parent = (clone.vhd or {}).get("parent")
    if parent and norm_path(parent) in parents:
        clone.vhd = dict(clone.vhd or {}, parent=parents[norm_path(parent)])
    return clone
