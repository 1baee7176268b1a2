"""Desired state (inventory) vs observed state (facts) -> the ordered actions that converge a host. Pure.

No I/O and no host access: given the same HostSpec and HostFacts, the same plan, so the plan is tested
without any host and a dry run shows exactly what an apply would do. Converged hosts plan nothing, which
is what makes a second apply a no-op.

Hyper-V rules the ordering respects (reference/hyperv-behaviour.md): on 2012 and 2012 R2 the processor
count, the startup memory and switching dynamic memory on or off need the VM off; from 2016 a running VM
can also have its static memory resized, but never its processor count. Network adapters are added to a
running VM only from 2016 and on Gen 2 ("Hot add and remove for network adapters and memory",
MicrosoftDocs/windowsserverdocs What-s-new-in-Hyper-V-on-Windows.md); reconnecting an adapter of a running
VM is undocumented on 2012 / 2012 R2, so there a switch change is taken as off-only too (fails safe: a
stop and start always works). Such a change is wrapped in a stop and a start, and only when the VM is
running.

A VM with `guest` settings (issue 15) is set up before its baseline: created, its answer file written into its
disk while it is off (PrepareGuest), started, and waited for until its guest reports ready (one
WaitGuestsReady per host for all its guests, after every VM's own steps); only then its baseline, and a stop if
it should be off. A VM whose guest is still in setup (its Notes say so: facts.VMFacts.guest_state) is never
powered off: it is started if it is off and waited for again, and a change that needs it off is refused with
that reason. An answer file goes only into a VM this plan creates, never into one that exists (it may have
booted).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from orchestrator.actions import (
    Action,
    ConnectSwitch,
    CreateVM,
    GuestWait,
    PrepareGuest,
    RefuseVMs,
    RemoveVM,
    SetMemory,
    SetProcessor,
    StartVM,
    StopVM,
    TakeCheckpoint,
    WaitGuestsReady,
)
from orchestrator.facts import HostFacts, VMFacts, managed_ids
from orchestrator.model import DynamicMemory, HostSpec, VMSpec


@dataclass(frozen=True, slots=True)
class Plan(Sequence[Action]):
    """The actions for one host, in order, plus notes the admin should read (e.g. VMs we do not manage).

    `basis` is what the planner saw that verify, or the workflow after the run, needs again (an import's VM
    ids before it, a move's source VM as it was): each operation types its own. It lives here, never in
    the operation object, so planning stays pure and one operation serves every host of a run at once."""

    actions: tuple[Action, ...] = ()
    notes: tuple[str, ...] = field(default=())
    basis: Any = None

    def __iter__(self) -> Iterator[Action]:
        return iter(self.actions)

    def __len__(self) -> int:
        return len(self.actions)

    def __getitem__(self, index):  # type: ignore[override]
        return self.actions[index]

    @property
    def empty(self) -> bool:
        return not self.actions


def plan_host(
    host: HostSpec, facts: HostFacts, hold: frozenset[str] = frozenset(), *, retake_baseline: bool = False
) -> Plan:
    """Every VM action that makes the host hold what the inventory's VMs say, in a safe order. (The host's
    scheduled tasks are planned beside it, by orchestrator.operations.converge.)"""
    actions: list[Action] = []
    lost: list[str] = []
    waits: list[GuestWait] = []
    after_wait: list[Action] = []
    in_setup: list[str] = []
    no_image: list[str] = []
    saved: list[str] = []
    for vm in host.vms:
        if vm.name in hold:  # held VMs (a move's) are the caller's to report, never planned here
            continue
        observed = facts.vm(vm.name)
        if baseline_lost(vm, observed) and not retake_baseline:
            lost.append(vm.name)
            continue
        if (
            observed is not None
            and observed.state == "Saved"
            and vm.state != "absent"
            and _off_only_changes(vm, observed, facts.version)
        ):
            saved.append(vm.name)  # its change needs it off, and only discarding its saved memory turns it off
            continue
        if observed is None and vm.guest is not None and vm.state != "absent" and (
            vm.disk is None or vm.disk.kind not in ("parent", "copy_from")
        ):
            no_image.append(vm.name)  # an answer file goes into a sysprepped image's Windows, not an empty disk
            continue
        guest = plan_guest(vm, observed, facts.version)
        if guest is None:
            actions.extend(plan_vm(vm, observed, facts.version))
            continue
        before, wait, after, refused = guest
        actions.extend(before)
        waits.append(wait)
        after_wait.extend(after)
        if refused:
            in_setup.append(vm.name)
    if waits:
        actions.append(WaitGuestsReady(tuple(waits)))
        actions.extend(after_wait)
    if in_setup:
        actions.append(
            RefuseVMs(
                tuple(in_setup),
                f"VM(s) {', '.join(in_setup)}: their guest was still in setup when this run began, so nothing "
                "that turns them off (a CPU, memory or switch change) is done in this run: Windows setup cut "
                "off cannot finish; apply again once the guest is ready",
            )
        )
    if no_image:
        actions.append(
            RefuseVMs(
                tuple(no_image),
                f"VM(s) {', '.join(no_image)}: `guest` needs a disk made from a sysprepped image (disk: parent or "
                "copy_from), whose Windows reads the answer file at its first boot; not created",
            )
        )
    if saved:
        actions.append(
            RefuseVMs(
                tuple(saved),
                f"VM(s) {', '.join(saved)} are Saved, and a CPU, memory or switch change needs them off: a saved VM "
                "turns off only by discarding the memory it saved, so nothing is changed there; start them "
                "(Start-VM) and apply again, which shuts them down for the change and starts them after",
            )
        )
    if lost:
        actions.append(
            RefuseVMs(
                tuple(lost),
                f"VM(s) {', '.join(lost)} lost their baseline checkpoint (someone removed it): not changed, and no "
                "baseline is taken from their current state by itself, since every rollback would then restore "
                "that state; restore the checkpoint, or run `orchestrate apply --retake-baseline` to take it anew "
                "from the VMs as they are",
            )
        )
    wanted = {vm.name.lower() for vm in host.vms}  # as the scripts compare VM names (vm_index.py)
    unmanaged = sorted(name for name in facts.vms if name.lower() not in wanted)
    notes = [f"VM {name!r} is on the host but not in the inventory: left alone" for name in unmanaged]
    # Hyper-V fixes a VM's generation when it is created ("can't be changed" after creation: MicrosoftDocs
    # Virtualization-Documentation, Should-I-create-a-generation-1-or-2-virtual-machine-in-Hyper-V.md): a VM
    # found with the other one is left as it is, and said so, rather than silently differing forever.
    notes += [
        f"VM {vm.name!r} is generation {observed.generation} on the host but generation {vm.generation} in the "
        "inventory: a VM's generation cannot change, so it is left as it is (set generation: "
        f"{observed.generation} to match, or recreate the VM)"
        for vm in host.vms
        if vm.state != "absent" and (observed := facts.vm(vm.name)) is not None and observed.generation != vm.generation
    ]
    return Plan(tuple(actions), tuple(notes))


def baseline_lost(vm: VMSpec, observed: VMFacts | None) -> bool:
    """The VM's baseline is gone although we once took checkpoints of it (our marker line lists some).

    A VM with no checkpoint of ours yet (just created, a crash before its baseline, or adopted from the
    admin) gets its first baseline as before; a baseline that disappeared later is reported, never retaken
    silently from whatever state the VM is in now."""
    baseline = vm.checkpoints.baseline
    if not baseline or observed is None or vm.state == "absent" or observed.checkpoint(baseline) is not None:
        return False
    if observed.guest_in_setup:
        return False  # its baseline comes once the guest is ready: it never had one to lose
    return bool(managed_ids(observed.notes))


def plan_vm(vm: VMSpec, observed: VMFacts | None, version: str) -> list[Action]:
    if vm.state == "absent":
        if observed is None:
            return []
        stop = StopVM(vm.name, reason="the VM is to be removed", or_turn_off=True)
        return ([stop] if observed.running else []) + [
            RemoveVM(vm.name)
        ]
    if observed is None:
        return _create(vm)
    return _converge(vm, observed, version)


GuestSteps = tuple[list[Action], GuestWait, list[Action], bool]


def plan_guest(vm: VMSpec, observed: VMFacts | None, version: str) -> GuestSteps | None:
    """For a VM with `guest` that is new or whose guest is still in setup: (its steps before the host's wait,
    its wait, its steps after it, whether a change was refused because it would turn the VM off). None when
    the VM plans as any other (no guest settings, to be removed, or its guest is ready or was never ours)."""
    guest = vm.guest
    if guest is None or vm.state == "absent":
        return None
    computer_name = guest.name_for(vm.name)
    wait = GuestWait(vm.name, computer_name, guest.ready_timeout,
                     guest.domain.name if guest.domain is not None else None)
    after: list[Action] = []
    if observed is None:
        before: list[Action] = [CreateVM(vm), PrepareGuest(vm), StartVM(vm.name)]
        refused = False
    elif observed.cut_off_in_create and observed.state == "Off":
        # A run was stopped between New-VM and the guest line (the create's marker is still there): the VM
        # never started. Its settings are finished, then its guest is set up as a new VM's would be.
        settings = (SetProcessor, SetMemory, ConnectSwitch)
        before = [a for a in _converge(vm, observed, version) if isinstance(a, settings)]
        before += [PrepareGuest(vm), StartVM(vm.name, before=observed.state)]
        refused = False
    elif observed.guest_state == "writing" and observed.state == "Off":
        # A run was stopped while it wrote the answer file into the disk of this VM, which never started since:
        # written again (the fragment dismounts the disk first if the stopped run left it mounted), then started.
        before = [PrepareGuest(vm), StartVM(vm.name, before=observed.state)]
        refused = bool(_off_only_changes(vm, observed, version))
    elif observed.guest_in_setup:
        # Resumed: the answer file is in the disk (or the guest booted, even from a disk whose writing was cut
        # off: its wait then tells what the guest shows): never written again, only waited for.
        before = [] if observed.running else [StartVM(vm.name, before=observed.state)]
        refused = bool(_off_only_changes(vm, observed, version))
        if vm.checkpoints.baseline and observed.checkpoint(vm.checkpoints.baseline) is not None:
            return before, wait, after, refused
    else:
        return None
    if vm.checkpoints.baseline:
        after.append(TakeCheckpoint(vm.name, vm.checkpoints.baseline))
    if vm.state == "off":
        after.append(StopVM(vm.name, reason="desired state is off (once its guest is ready and checkpointed)"))
    return before, wait, after, refused


def _off_only_changes(vm: VMSpec, observed: VMFacts, version: str) -> list[Action]:
    """The stop _converge would make for changes that need the VM off, were it running (refused while its guest
    sets up: even a VM found off is then started for its setup, not changed)."""
    running = replace(observed, state="Running")
    return [a for a in _converge(vm, running, version) if isinstance(a, StopVM) and a.reason.startswith("needed")]


def _create(vm: VMSpec) -> list[Action]:
    """A new VM is created off, checkpointed while still clean, then started if it should run."""
    actions: list[Action] = [CreateVM(vm)]
    if vm.checkpoints.baseline:
        actions.append(TakeCheckpoint(vm.name, vm.checkpoints.baseline))
    if vm.state == "running":
        actions.append(StartVM(vm.name))
    return actions


def _converge(vm: VMSpec, observed: VMFacts, version: str) -> list[Action]:
    offline: list[Action] = []  # changes Hyper-V only makes while the VM is off
    online: list[Action] = []  # changes a running VM takes
    if observed.cpus != vm.cpus:
        offline.append(SetProcessor(vm.name, vm.cpus, before=observed.cpus))
    memory_change = _memory_change(vm, observed)
    if memory_change is not None:
        needs_off = version != "10.0" or memory_change.dynamic != memory_change.before_dynamic
        (offline if needs_off else online).append(memory_change)
    # Case aside, as Hyper-V finds a switch by name and the connect script's -ne compares (host_rules._vm_switch):
    # `classroom lan` is the host's `Classroom LAN`, which the adapter then reports; compared exactly, every
    # apply planned a reconnect and failed its verify.
    if vm.switch and vm.switch.lower() not in {name.lower() for name in observed.switches}:
        before = observed.switches[0] if observed.switches else None
        connect = ConnectSwitch(vm.name, vm.switch, before=before)
        (offline if _switch_needs_off(observed, version) else online).append(connect)

    actions: list[Action] = []
    running = observed.running
    if offline and running:
        actions.append(
            StopVM(
                vm.name,
                reason="needed for: " + ", ".join(a.summary() for a in offline),
                unless=tuple(check for action in offline for check in _still_needed(action)),
            )
        )
        running = False
    actions += offline + online
    if vm.checkpoints.baseline and observed.checkpoint(vm.checkpoints.baseline) is None:
        actions.append(TakeCheckpoint(vm.name, vm.checkpoints.baseline))
    if vm.state == "running" and not running:
        actions.append(StartVM(vm.name, before=observed.state if observed.state != "Running" else "Off"))
    elif vm.state == "off" and running:
        actions.append(StopVM(vm.name))
    return actions


def _still_needed(action: Action) -> list[tuple[str, object]]:
    """What the VM must still differ in for a wrapped off-only change to be needed (StopVM.unless)."""
    if isinstance(action, SetProcessor):
        return [("cpus", action.count)]
    if isinstance(action, SetMemory):
        checks: list[tuple[str, object]] = [
            ("memory_startup", action.startup),
            ("dynamic_memory", action.dynamic is not None),
        ]
        if action.dynamic is not None:
            checks += [("memory_minimum", action.dynamic.minimum), ("memory_maximum", action.dynamic.maximum)]
        return checks
    if isinstance(action, ConnectSwitch):
        return [("switch", action.switch)]
    return []


def _switch_needs_off(observed: VMFacts, version: str) -> bool:
    """On 2012 / 2012 R2 every switch change; from 2016 adding the first adapter to a Gen 1 VM."""
    if version != "10.0":
        return True
    return not observed.adapters and observed.generation == 1


def _memory_change(vm: VMSpec, observed: VMFacts) -> SetMemory | None:
    before_dynamic = (
        DynamicMemory(observed.memory_minimum, observed.memory_maximum) if observed.dynamic_memory else None
    )
    if observed.memory_startup == vm.memory and before_dynamic == vm.dynamic_memory:
        return None
    return SetMemory(
        vm.name,
        startup=vm.memory,
        dynamic=vm.dynamic_memory,
        before_startup=observed.memory_startup,
        before_dynamic=before_dynamic,
    )
