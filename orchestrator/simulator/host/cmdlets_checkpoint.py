"""Checkpoint (snapshot) cmdlets: take, list, restore, rename and remove, over a tree per VM.

A checkpoint captures the VM's configuration, its power state and each disk's content version; restoring it
brings all three back and makes it the parent of the VM's present state (ParentSnapshotName).
"""

from __future__ import annotations

import copy
from typing import Any

from orchestrator.hyperv_limits import MAX_CHECKPOINTS
from orchestrator.simulator.binder import BoundCall
from orchestrator.simulator.host import chains, guest
from orchestrator.simulator.host.context import HostContext
from orchestrator.simulator.host.model import VM, Snapshot
from orchestrator.simulator.host.objects import snapshot_object
from orchestrator.simulator.host.registry import CmdletError, cmdlet
from orchestrator.simulator.language.values import like, utc_iso

MODULE = "Hyper-V"


def _missing(ctx: HostContext) -> list[str]:
    """The VMSnapshot properties a test's host lacks (Host.missing_properties)."""
    return ctx.host.missing_properties.get("VMSnapshot", []) if ctx.host.missing_properties else []


def _not_found() -> CmdletError:
    return CmdletError("Unable to find a snapshot matching the given criteria.", "ObjectNotFound", "ObjectNotFound")


def _find(vm: VM, name: str | None, *, wildcards: bool = True) -> list[Snapshot]:
    """The VM's checkpoints, oldest first; with `name`, those it matches: as a pattern (`like`), or, where the
    cmdlet's -Name takes no wildcards, by the whole name ignoring case."""
    snaps = sorted(vm.snapshots.values(), key=lambda s: s.created)
    if name is None:
        return snaps
    if not wildcards:
        return [s for s in snaps if s.name.lower() == str(name).lower()]
    return [s for s in snaps if like(s.name, name)]


def snapshots_from_call(ctx: HostContext, call: BoundCall, name: str | None) -> list[tuple[VM, Snapshot]]:
    if call.has("VMSnapshot"):
        out = []
        for obj in _list(call.get("VMSnapshot")):
            vm_id, snap_id = obj.ref
            vm = ctx.host.vms.get(vm_id)
            if vm is None or snap_id not in vm.snapshots:
                raise _not_found()
            out.append((vm, vm.snapshots[snap_id]))
        return out
    vms = ctx.vm_from_call(call)
    found = [(vm, s) for vm in vms for s in _find(vm, name)]
    if not found and name is not None and not any(ch in name for ch in "*?"):
        raise _not_found()
    return found


@cmdlet("Checkpoint-VM", MODULE, mutating=True)
def checkpoint_vm(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    out = []
    for vm in ctx.vm_from_call(call, "Name"):
        if len(vm.snapshots) >= MAX_CHECKPOINTS:  # orchestrator.hyperv_limits (the text is the simulator's own)
            raise CmdletError(f"Checkpoint operation failed.\n'{vm.name}' could not create a checkpoint: a virtual "
                              f"machine holds at most {MAX_CHECKPOINTS} checkpoints.", "InvalidOperation",
                              "InvalidOperation", vm.name)
        now = ctx.now()
        name = call.get("SnapshotName") or f"{vm.name} - ({now.strftime('%m/%d/%Y - %I:%M:%S %p')})"
        disks = {}
        for disk in vm.disks:
            entry = ctx.fs.get(disk.path)
            disks[disk.path] = entry.content if entry else 0
        snap = Snapshot(id=ctx.new_guid(), name=name, parent_id=vm.current_snapshot, created=utc_iso(now),
                        notes=vm.notes, config=vm.config(), disks=disks, state=vm.state)
        vm.snapshots[snap.id] = snap
        vm.current_snapshot = snap.id
        for disk in vm.disks:  # the drive goes on writing to a new .avhdx (chains.py)
            if ctx.fs.get(disk.path) is not None:
                disk.path = chains.new_child(ctx, disk.path)
        ctx.mutated(f"Checkpoint-VM {vm.name} {name}")
        if call.get("Passthru"):
            out.append(snapshot_object(vm, snap, _missing(ctx)))
    return out


@cmdlet("Get-VMSnapshot", MODULE)
def get_vm_snapshot(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    """-Name is matched whole (ignoring case), not as a pattern: "Accept wildcard characters: False" on both
    pages (docset/winserver2012-ps and winserver2012r2-ps hyper-v/Get-VMSnapshot.md, -Name). A name that
    matches nothing is an error unless it holds `*` or `?` (the simulator's own reading; no page says)."""
    if call.has("Id"):
        wanted = str(call.get("Id")).lower()
        for vm in ctx.host.vms.values():
            if wanted in vm.snapshots:
                return [snapshot_object(vm, vm.snapshots[wanted], _missing(ctx))]
        raise _not_found()
    vms = ctx.vm_from_call(call)
    name = call.get("Name")
    out = [snapshot_object(vm, s, _missing(ctx)) for vm in vms for s in _find(vm, name, wildcards=False)]
    if not out and name is not None and not any(ch in name for ch in "*?"):
        raise _not_found()
    return out


@cmdlet("Restore-VMSnapshot", MODULE, mutating=True)
def restore_vm_snapshot(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    """A checkpoint taken while the VM ran (or was paused or saved) holds its memory, so applying it leaves the VM
    Saved, resuming where the checkpoint was taken; one taken while Off leaves it Off. Sources:
    MicrosoftDocs/Virtualization-Documentation virtualization/hyperv_on_windows/quick_start/
    walkthrough_checkpoints.md ("Standard Checkpoints - takes a snapshot of the VM and VM memory state"), and
    MicrosoftDocs/win32 desktop-src/Virtual/applyvirtualsystemsnapshot-msvm-virtualsystemmanagementservice.md
    (applies "the disk state, runtime state, and configuration values", the starting point "when it is next
    activated"). 2012 and 2012 R2 have standard checkpoints only.

    -Name is a pattern: "Accept wildcard characters: True" on the 2012 page (docset/winserver2012-ps/hyper-v/
    Restore-VMSnapshot.md, -Name). The 2012 R2 page says False, but the R2 pages mark no Hyper-V parameter as
    taking wildcards, not even Get-VM -Name whose examples use them, so the 2012 marking holds for both
    (wildcard_paths.py). So `lab[1]` names `lab1`, not `lab[1]`, as on a host that expands it. A pattern that
    matches several checkpoints of the VM is refused: which one a real host applies is on no page (stricter;
    the templates pass the checkpoint object instead, -VMSnapshot)."""
    name = call.get("Name")
    if call.has("VM"):
        vm = ctx.vm_from_call(call)[0]
        targets = [(vm, s) for s in _find(vm, str(name))]
    else:
        targets = snapshots_from_call(ctx, call, name)
    if not targets:
        raise _not_found()
    if not call.has("VMSnapshot"):
        for vm in {id(v): v for v, _ in targets}.values():
            snaps = [s for v, s in targets if v is vm]
            if len(snaps) > 1:
                raise CmdletError(f"The name '{name}' matches {len(snaps)} checkpoints of '{vm.name}' "
                                  f"({', '.join(s.name for s in snaps)}): the simulator does not guess which one "
                                  "Restore-VMSnapshot would apply. Pass the checkpoint (-VMSnapshot).",
                                  "AmbiguousCheckpointName", "InvalidArgument", name)
    out = []
    for vm, snap in targets[:1] if len({id(v) for v, _ in targets}) == 1 else targets:
        owned = chains.vm_files(ctx.host, vm)
        vm.apply_config(copy.deepcopy(snap.config))
        for disk in vm.disks:  # each drive on a new .avhdx child of the checkpoint's file (chains.py)
            entry = ctx.fs.get(disk.path)
            if entry is None:
                continue
            version = next((v for p, v in snap.disks.items() if p.lower() == disk.path.lower()), entry.content)
            entry.content = version
            disk.path = chains.new_child(ctx, disk.path)
        chains.collect(ctx, vm.id, owned)
        vm.state = "Saved" if snap.state in ("Running", "Paused", "Saved") else "Off"
        # The guest's memory comes back with a running checkpoint; one taken Off has none (guest.py).
        vm.guest_run = copy.deepcopy(snap.config.get("guest_run")) if vm.state == "Saved" else None
        vm.current_snapshot = snap.id
        ctx.mutated(f"Restore-VMSnapshot {vm.name} {snap.name}")
        if call.get("Passthru"):
            out.append(snapshot_object(vm, snap, _missing(ctx)))
    return out


@cmdlet("Remove-VMSnapshot", MODULE, mutating=True)
def remove_vm_snapshot(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    targets = snapshots_from_call(ctx, call, call.get("Name"))
    for vm, snap in targets:
        owned = chains.vm_files(ctx.host, vm)
        doomed = [snap]
        if call.get("IncludeAllChildSnapshots"):
            frontier = [snap.id]
            while frontier:
                current = frontier.pop()
                for child in vm.snapshots.values():
                    if child.parent_id == current:
                        doomed.append(child)
                        frontier.append(child.id)
        for s in doomed:
            if s.id not in vm.snapshots:
                continue
            for child in vm.snapshots.values():
                if child.parent_id == s.id:
                    child.parent_id = s.parent_id
            if vm.current_snapshot == s.id:
                vm.current_snapshot = s.parent_id
            del vm.snapshots[s.id]
            ctx.mutated(f"Remove-VMSnapshot {vm.name} {s.name}")
        chains.collect(ctx, vm.id, owned)
    return []


@cmdlet("Remove-VMSavedState", MODULE, mutating=True)
def remove_vm_saved_state(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    """Deletes the saved state of a Saved VM (or of checkpoints): the VM is then Off, its memory is lost and its
    disks are unaffected (docset/winserver2012-ps and winserver2012r2-ps hyper-v/Remove-VMSavedState.md,
    Description and Example 2). A VM that is not Saved has no saved state to delete: refused, as Hyper-V
    refuses a state change the VM's present state does not allow (the message is unverified)."""
    if call.has("VMSnapshot"):
        for vm, snap in snapshots_from_call(ctx, call, None):
            if snap.state in ("Running", "Paused", "Saved"):
                snap.state = "Off"
                ctx.mutated(f"Remove-VMSavedState {vm.name} {snap.name}")
        return []
    for vm in ctx.vm_from_call(call):
        if vm.state != "Saved":
            raise CmdletError(f"'{vm.name}' failed to delete the saved state.\nThe operation cannot be performed "
                              f"while the object is in its current state. (Virtual machine ID {vm.id})",
                              "InvalidState", "InvalidOperation", vm.name)
        guest.power_off(ctx.host, vm)  # its memory, the running guest, is gone
        vm.state = "Off"
        ctx.mutated(f"Remove-VMSavedState {vm.name}")
    return []


@cmdlet("Rename-VMSnapshot", MODULE, mutating=True)
def rename_vm_snapshot(ctx: HostContext, call: BoundCall, _items: Any) -> list[Any]:
    targets = snapshots_from_call(ctx, call, call.get("Name"))
    if not targets:
        raise _not_found()
    out = []
    for vm, snap in targets:
        snap.name = call.get("NewName")
        ctx.mutated(f"Rename-VMSnapshot {vm.name} {snap.name}")
        if call.get("Passthru"):
            out.append(snapshot_object(vm, snap, _missing(ctx)))
    return out


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
