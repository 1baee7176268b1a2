"""Actions: the small, frozen steps a plan is made of. Each knows its template and how to describe itself.

The plan (plan.py) decides which actions a host needs; the renderer (render.py) turns each action into
PowerShell with the template named by `template`, passing the action itself as `action` in the template's
context. Every template re-checks the host's state before it changes anything, so a script is safe to repeat.

`changes()` is the dry-run diff: (property, before, after) triples, where before is None for something new.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from orchestrator.model import DynamicMemory, Schedule, VMSpec

Change = tuple[str, Any, Any]

# Marks checkpoints the orchestrator made, in the checkpoint's Notes, so retention never touches a user's own.
CHECKPOINT_MARKER = "orchestrate:managed"


@dataclass(frozen=True, slots=True)
class Action:
    """Base of every action. `vm` names the VM the action is about ('' for host-level actions)."""

    template: ClassVar[str] = ""
    verb: ClassVar[str] = ""

    @property
    def target(self) -> str:
        return ""

    def summary(self) -> str:
        return f"{self.verb} {self.target}".strip()

    def changes(self) -> list[Change]:
        return []


@dataclass(frozen=True, slots=True)
class CreateVM(Action):
    """Create the VM's disk (differencing, copy or new plus ISO), the VM, its size and its switch."""

    vm: VMSpec
    template: ClassVar[str] = "actions/create_vm.ps1.j2"
    verb: ClassVar[str] = "create VM"

    @property
    def target(self) -> str:
        return self.vm.name

    def changes(self) -> list[Change]:
        vm = self.vm
        out: list[Change] = [
            ("generation", None, vm.generation),
            ("cpus", None, vm.cpus),
            ("memory", None, vm.memory),
        ]
        if vm.dynamic_memory:
            out.append(("dynamic_memory", None, f"{vm.dynamic_memory.minimum}-{vm.dynamic_memory.maximum}"))
        if vm.disk:
            out.append((f"disk ({vm.disk.kind})", None, vm.disk.image or vm.disk.size))
        if vm.switch:
            out.append(("switch", None, vm.switch))
        return out


@dataclass(frozen=True, slots=True)
class SetProcessor(Action):
    vm_name: str
    count: int
    before: int | None = None
    template: ClassVar[str] = "actions/set_processor.ps1.j2"
    verb: ClassVar[str] = "set CPUs of"

    @property
    def target(self) -> str:
        return self.vm_name

    def changes(self) -> list[Change]:
        return [("cpus", self.before, self.count)]


@dataclass(frozen=True, slots=True)
class SetMemory(Action):
    """Startup memory and dynamic memory (None = static)."""

    vm_name: str
    startup: int
    dynamic: DynamicMemory | None = None
    before_startup: int | None = None
    before_dynamic: DynamicMemory | None = None
    template: ClassVar[str] = "actions/set_memory.ps1.j2"
    verb: ClassVar[str] = "set memory of"

    @property
    def target(self) -> str:
        return self.vm_name

    def changes(self) -> list[Change]:
        out: list[Change] = []
        if self.before_startup != self.startup:
            out.append(("memory", self.before_startup, self.startup))
        if self.before_dynamic != self.dynamic:
            fmt = lambda d: f"{d.minimum}-{d.maximum}" if d else "static"  # noqa: E731
            out.append(("dynamic_memory", fmt(self.before_dynamic), fmt(self.dynamic)))
        return out


@dataclass(frozen=True, slots=True)
class ConnectSwitch(Action):
    vm_name: str
    switch: str
    before: str | None = None
    template: ClassVar[str] = "actions/connect_switch.ps1.j2"
    verb: ClassVar[str] = "connect switch of"

    @property
    def target(self) -> str:
        return self.vm_name

    def changes(self) -> list[Change]:
        return [("switch", self.before, self.switch)]


@dataclass(frozen=True, slots=True)
class StopVM(Action):
    """Stop a VM; `reason` says why (desired state off, or a change that needs the VM off)."""

    vm_name: str
    reason: str = "desired state is off"
    template: ClassVar[str] = "actions/stop_vm.ps1.j2"
    verb: ClassVar[str] = "stop VM"

    @property
    def target(self) -> str:
        return self.vm_name

    def changes(self) -> list[Change]:
        return [("state", "Running", "Off")]


@dataclass(frozen=True, slots=True)
class StartVM(Action):
    vm_name: str
    template: ClassVar[str] = "actions/start_vm.ps1.j2"
    verb: ClassVar[str] = "start VM"

    @property
    def target(self) -> str:
        return self.vm_name

    def changes(self) -> list[Change]:
        return [("state", "Off", "Running")]


@dataclass(frozen=True, slots=True)
class TakeCheckpoint(Action):
    """A checkpoint named exactly `name` (as Get-VMSnapshot shows it); ours carry CHECKPOINT_MARKER."""

    vm_name: str
    name: str
    managed: bool = True
    template: ClassVar[str] = "actions/checkpoint.ps1.j2"
    verb: ClassVar[str] = "checkpoint"

    @property
    def target(self) -> str:
        return self.vm_name

    def changes(self) -> list[Change]:
        return [("checkpoint", None, self.name)]


@dataclass(frozen=True, slots=True)
class RemoveVM(Action):
    """Only for a VM the inventory marks `state: absent`: VMs merely missing from the inventory are kept."""

    vm_name: str
    template: ClassVar[str] = "actions/remove_vm.ps1.j2"
    verb: ClassVar[str] = "remove VM"

    @property
    def target(self) -> str:
        return self.vm_name

    def changes(self) -> list[Change]:
        return [("vm", "present", None)]


@dataclass(frozen=True, slots=True)
class ApplySchedule(Action):
    """Converge one Windows Scheduled Task that runs a rendered rollback script on the host."""

    schedule: Schedule
    vm_names: tuple[str, ...] = field(default_factory=tuple)
    template: ClassVar[str] = "actions/schedule.ps1.j2"
    verb: ClassVar[str] = "schedule"

    @property
    def target(self) -> str:
        return self.schedule.name


@dataclass(frozen=True, slots=True)
class RemoveSchedule(Action):
    task_name: str
    template: ClassVar[str] = "actions/remove_schedule.ps1.j2"
    verb: ClassVar[str] = "remove schedule"

    @property
    def target(self) -> str:
        return self.task_name
