"""Actions: the small, frozen steps a plan is made of. Each knows its template and how to describe itself.

The plan (plan.py) decides which actions a host needs; the renderer (render.py) turns each action into
PowerShell with the template named by `template`, passing the action itself as `action` in the template's
context. Every template re-checks the host's state before it changes anything, so a script is safe to repeat.

`changes()` is the dry-run diff: (property, before, after) triples, where before is None for something new.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from orchestrator.host_lock import LOCK_FOLDER
from orchestrator.model import DynamicMemory, Schedule, VMSpec

Change = tuple[str, Any, Any]

# Marks checkpoints the orchestrator made, in the checkpoint's Notes, so retention never touches a user's own.


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
    # A stop that wraps off-only changes: what the VM must still differ in for the stop to be needed,
    # re-checked on the host right before Stop-VM ((property, wanted) pairs: cpus, memory_startup,
    # dynamic_memory, memory_minimum, memory_maximum, switch). Facts can be stale (another box, a person):
    # a change already made means no needless reboot of a classroom VM.
    unless: tuple[tuple[str, object], ...] = ()
    # A stop before the VM is removed: when its guest does not shut down (no Windows yet, Windows setup, the
    # shutdown service off), it is turned off instead. Any other stop then fails with the way out.
    or_turn_off: bool = False
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
    before: str = "Off"  # the state it is started from, as the plan shows it (a Saved VM is resumed from it)
    template: ClassVar[str] = "actions/start_vm.ps1.j2"
    verb: ClassVar[str] = "start VM"

    @property
    def target(self) -> str:
        return self.vm_name

    def changes(self) -> list[Change]:
        return [("state", self.before, "Running")]


@dataclass(frozen=True, slots=True)
class TakeCheckpoint(Action):
    """A checkpoint named exactly `name` (as Get-VMSnapshot shows it); ours are listed on the VM's Notes marker
    line (templates/lib/checkpoint_notes.ps1.j2)."""

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


TASK_ARGUMENT_PREFIX = "-NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand "
TASK_DAY_NAMES = {
    "mon": "Monday",
    "tue": "Tuesday",
    "wed": "Wednesday",
    "thu": "Thursday",
    "fri": "Friday",
    "sat": "Saturday",
    "sun": "Sunday",
}


@dataclass(frozen=True, slots=True)
class ApplySchedule(Action):
    """Register (or re-register) one Windows Scheduled Task under \\MultiPoint\\ that runs, as SYSTEM, a
    rendered rollback script passed with -EncodedCommand. orchestrator.operations.schedules builds it.

    The task is named `<kind> <task_label>` ("schedule nightly reset", "revert pre-apply-..."); its
    Description, `multipoint-orchestrator <kind>: <label>; definition sha256:<digest>`, carries the hash of
    the whole definition, which `apply` compares to tell a changed schedule. The template joins these parts
    on the host, so each inventory value stays one literal of its own.

    `trigger` is "weekly" (at `at` on `days`) or "once" (`delay_seconds` after the script runs on the host:
    the confirm-or-revert deadline, measured by the host's own clock).
    """

    schedule: Schedule | None = None
    vm_names: tuple[str, ...] = field(default_factory=tuple)
    kind: str = "schedule"  # "schedule" (inventory) or "revert" (apply --revert-after)
    label: str = ""  # the schedule's name, or the revert's checkpoint name
    task_label: str = ""  # the label, or a hash of it when it holds characters a task name cannot
    digest: str = ""
    task_path: str = "\\MultiPoint\\"
    encoded_command: str = ""
    trigger: str = "weekly"
    at: str = "00:00"
    days: tuple[str, ...] = ()
    delay_seconds: int = 0
    replaces: bool = False  # a task of that name exists with another definition
    template: ClassVar[str] = "actions/schedule.ps1.j2"
    verb: ClassVar[str] = "register task for"

    @property
    def target(self) -> str:
        return self.label

    @property
    def task_name(self) -> str:
        return f"{self.kind} {self.task_label}"

    @property
    def description(self) -> str:
        return f"multipoint-orchestrator {self.kind}: {self.label}; definition sha256:{self.digest}"

    def summary(self) -> str:
        return f"register task {self.task_name!r}"

    @property
    def argument_prefix(self) -> str:
        return TASK_ARGUMENT_PREFIX

    @property
    def argument(self) -> str:
        """powershell.exe's arguments: the script travels whole, encoded, so the host needs no file of ours."""
        return TASK_ARGUMENT_PREFIX + self.encoded_command

    @property
    def weekdays(self) -> list[str]:
        """The days as New-ScheduledTaskTrigger -DaysOfWeek names them."""
        return [TASK_DAY_NAMES[d] for d in self.days if d in TASK_DAY_NAMES]

    def changes(self) -> list[Change]:
        if self.trigger == "once":
            when = f"once, {self.delay_seconds}s after apply"
        else:
            when = f"{','.join(self.days)} at {self.at}"
        return [
            ("task", "(other definition)" if self.replaces else None, f"{when}: {', '.join(self.vm_names)}")
        ]


@dataclass(frozen=True, slots=True)
class RemoveSchedule(Action):
    """Unregister one task under \\MultiPoint\\ (a schedule gone from the inventory, or a confirmed revert)."""

    task_name: str
    task_path: str = "\\MultiPoint\\"
    already_ran: str | None = None  # a revert task removed after it fired: "<last run> (result <n>)"
    template: ClassVar[str] = "actions/remove_schedule.ps1.j2"
    verb: ClassVar[str] = "unregister task"

    @property
    def target(self) -> str:
        return self.task_name

    def summary(self) -> str:
        return f"unregister task {self.task_name!r}"

    def changes(self) -> list[Change]:
        return [("task", self.task_name, None)]


# -- checkpoints and rollback (operations/checkpoint.py and rollback.py plan these) ------------------------------------------------------

# The VM's own Notes carry the ids of the checkpoints the orchestrator made, on one line of their own:
#   orchestrate-checkpoints: <id>,<id>
# No cmdlet on 2012 R2 sets a checkpoint's Notes, and the checkpoint's name must stay what the admin asked for.
CHECKPOINT_NOTES_PREFIX = "orchestrate-checkpoints:"


@dataclass(frozen=True, slots=True)
class RestoreCheckpoint(Action):
    """Turn the VM off, apply the checkpoint named `name` (Restore-VMSnapshot -Confirm:$false), keep our marker
    line in the VM's Notes, check the VM now descends from it with its configuration, then bring the VM to
    `state` ("running" or "off")."""

    vm_name: str
    name: str
    state: str = "running"
    before_checkpoint: str | None = None  # what the VM descends from now (for the dry-run diff)
    before_state: str | None = None
    template: ClassVar[str] = "actions/restore_checkpoint.ps1.j2"
    verb: ClassVar[str] = "restore checkpoint of"

    @property
    def target(self) -> str:
        return self.vm_name

    def summary(self) -> str:
        return f"restore checkpoint {self.name!r} of {self.vm_name}"

    def changes(self) -> list[Change]:
        """The state row only when the VM ends in another state than it is in now. The inventory says
        `running`, Hyper-V says `Running`: its state names compare without regard to case (a PowerShell
        enum), so `Running -> running` is no change and is not shown as one; a change is shown in
        Hyper-V's spelling, as StartVM and StopVM show theirs."""
        changes: list[Change] = [("parent checkpoint", self.before_checkpoint, self.name)]
        if self.before_state is None or self.before_state.casefold() != self.state.casefold():
            changes.append(("state", self.before_state, _HYPERV_STATE.get(self.state.casefold(), self.state)))
        return changes


_HYPERV_STATE = {"running": "Running", "off": "Off"}  # the inventory's power states as Hyper-V names them


@dataclass(frozen=True, slots=True)
class RemoveCheckpoint(Action):
    """Remove one of the orchestrator's checkpoints (by id: names may repeat) and drop it from the marker line.
    Hyper-V merges its differencing disk; the VM's present state is untouched."""

    vm_name: str
    name: str
    id: str
    template: ClassVar[str] = "actions/remove_checkpoint.ps1.j2"
    verb: ClassVar[str] = "remove checkpoint of"

    @property
    def target(self) -> str:
        return self.vm_name

    def summary(self) -> str:
        return f"remove checkpoint {self.name!r} of {self.vm_name}"

    def changes(self) -> list[Change]:
        return [("checkpoint", self.name, None)]


@dataclass(frozen=True, slots=True)
class RefuseVMs(Action):
    """A plan-time refusal for some VMs (no such checkpoint, a name already taken). Planned last, so every other
    VM's actions run first; on the host it fails with `message`, which fails the host with that text."""

    vm_names: tuple[str, ...]
    message: str
    template: ClassVar[str] = "actions/refuse.ps1.j2"
    verb: ClassVar[str] = "refuse"

    @property
    def target(self) -> str:
        return f"{len(self.vm_names)} VM(s)"

    def summary(self) -> str:
        return f"refuse {', '.join(self.vm_names)}"

    def changes(self) -> list[Change]:
        return [("refused", None, self.message)]


# -- export, import and move (operations/export.py, import_vm.py and move.py plan these) ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExportVM(Action):
    """Export-VM into `folder` (PATH\\<vm>\\<UTC time>; the host appends -2, -3, ... if it exists), run as a job
    whose progress is printed as `##progress` lines. Before it starts: `destination` must exist and have room
    for the VM's disk files. A running VM is exported live (`live`: the host exports a running VM, 2012 R2 and
    later), or with `stop_first` saved (Stop-VM -Save) and started again afterwards, whatever happens. Without
    `live` the fragment exports only a VM that is Off or Saved when it runs (the move's own export: the VM was
    turned off by the step before). A failed export removes its partial folder.
    The fragment reports {vm, path, size_bytes, config} as the action's result."""

    vm_name: str
    destination: str
    folder: str
    stop_first: bool = False
    live: bool = False
    timeout_seconds: int = 3600
    check_only: bool = False  # --dry-run: run the pre-checks on the host, export nothing
    template: ClassVar[str] = "actions/export_vm.ps1.j2"
    verb: ClassVar[str] = "export VM"

    @property
    def target(self) -> str:
        return self.vm_name

    def summary(self) -> str:
        what = "check export of" if self.check_only else "export"
        return f"{what} {self.vm_name} to {self.folder}"

    def changes(self) -> list[Change]:
        out: list[Change] = [("export", None, self.folder)]
        if self.stop_first:
            out.append(("state during export", "Running", "Saved (then running again)"))
        return out


@dataclass(frozen=True, slots=True)
class RemoveExport(Action):
    """Delete one export folder the journal says we made (`--keep N` retention)."""

    vm_name: str
    path: str
    export_id: int = 0
    template: ClassVar[str] = "actions/remove_export.ps1.j2"
    verb: ClassVar[str] = "remove export of"

    @property
    def target(self) -> str:
        return self.vm_name

    def summary(self) -> str:
        return f"remove export {self.path} of {self.vm_name}"

    def changes(self) -> list[Change]:
        return [("export", self.path, None)]


@dataclass(frozen=True, slots=True)
class ImportVM(Action):
    """Compare-VM, then Import-VM of the one VM under `source` (an export folder, or its configuration file).

    `mode`: register (use the files in place, keep the ID), copy (copy them, keep the ID) or copy-new-id.
    Copies go to the host's default VM folder (or `vm_path`), disks into a folder named after the VM.
    A missing virtual switch is fixed by connecting the adapter to `switch` (the inventory's); any other
    incompatibility, or a VM of the same name on the host (unless `new_name`), refuses with the report.
    `expect_id` (a move) refuses an export whose VM is not that one. The fragment reports
    {name, id, incompatibilities, fixed} as the action's result; `check_only` runs Compare-VM only."""

    source: str
    mode: str = "copy-new-id"
    new_name: str | None = None
    switch: str | None = None
    vm_path: str | None = None
    expect_id: str | None = None
    start: bool = False  # start it once imported (its edition is then checked through KVP)
    timeout_seconds: int = 3600
    check_only: bool = False
    template: ClassVar[str] = "actions/import_vm.ps1.j2"
    verb: ClassVar[str] = "import VM from"

    @property
    def target(self) -> str:
        return self.source

    def summary(self) -> str:
        what = "check import" if self.check_only else f"import ({self.mode})"
        name = f" as {self.new_name}" if self.new_name else ""
        return f"{what} from {self.source}{name}"

    def changes(self) -> list[Change]:
        return [("vm", None, self.new_name or f"(the VM exported in {self.source})")]


@dataclass(frozen=True, slots=True)
class DiscardVM(Action):
    """Remove the VM with exactly this name AND id, turned off first, with the disk files it uses (never a
    differencing disk's parent). A move uses it for the copy on the target after a failure, and for the
    source once the target runs; the id makes sure it never removes another VM of the same name."""

    vm_name: str
    vm_id: str
    reason: str = ""
    # The finish step of a move: the VM must still be off when the host gets to it (re-checked there, right
    # before Remove-VM, so a start between the plan and the run is refused, not deleted).
    require_off: bool = False
    template: ClassVar[str] = "actions/discard_vm.ps1.j2"
    verb: ClassVar[str] = "remove VM"

    @property
    def target(self) -> str:
        return self.vm_name

    def summary(self) -> str:
        why = f" ({self.reason})" if self.reason else ""
        return f"remove VM {self.vm_name} and its disks{why}"

    def changes(self) -> list[Change]:
        return [("vm", "present", None)]


@dataclass(frozen=True, slots=True)
class SetPowerState(Action):
    """Bring a VM to a Hyper-V state it was in (Running, Off, Saved): a move puts the source back as it was."""

    vm_name: str
    state: str
    before: str | None = None
    template: ClassVar[str] = "actions/set_power_state.ps1.j2"
    verb: ClassVar[str] = "set power state of"

    @property
    def target(self) -> str:
        return self.vm_name

    def changes(self) -> list[Change]:
        return [("state", self.before, self.state)]


@dataclass(frozen=True, slots=True)
class CheckParentDisks(Action):
    """Before a move stops or changes anything: every image the VM's disk is a differencing child of must be
    on this (the target) host at the same path. Export-VM's page says only that its Virtual Hard Disks folder
    holds "the ... virtual hard disks of the specified virtual machine" (docset/winserver2012-ps/hyper-v/
    Export-VM.md, DESCRIPTION); whether that includes the shared image under a differencing disk is on no
    page (the simulator copies the VM's own chain only: chains.own_chain, unverified). If it does not, the
    import keeps the disk's parent path, the VM cannot start on a target without that image, and by then its
    source is exported and off (audit J M3). Fail-safe: the move requires the image on the target either way.
    Changes nothing on the host."""

    vm_name: str
    parents: tuple[str, ...]
    template: ClassVar[str] = "actions/check_parent_disks.ps1.j2"
    verb: ClassVar[str] = "check the parent disks of"

    @property
    def target(self) -> str:
        return self.vm_name


@dataclass(frozen=True, slots=True)
class CheckShare(Action):
    """Probe a share before an export, import or move stops or changes anything: that it is there and, with
    `write`, that this session may create (and at once delete) a file in it. A WinRM session that cannot
    delegate (NTLM, Kerberos without delegation) is denied every share: Hyper-V and the file cmdlets reach
    an SMB path with the caller's identity, which cannot make a second hop (MicrosoftDocs/PowerShell-Docs
    reference/docs-conceptual/security/remoting/PS-remoting-second-hop.md). The failure says "double hop"
    and names the three fixes. Changes nothing on the host (the probe file is gone when it returns)."""

    path: str
    write: bool = True
    # The session asked for Kerberos delegation: if the share is still denied, the likely cause is a ticket
    # that is not forwardable, and the failure says so too (operations/export.py share_probe).
    forwarded_ticket: bool = False
    template: ClassVar[str] = "actions/check_share.ps1.j2"
    verb: ClassVar[str] = "check share"

    @property
    def target(self) -> str:
        return self.path

    def summary(self) -> str:
        return f"check {'write' if self.write else 'read'} access to {self.path}"


# -- move records on the host (orchestrator/move_records.py) ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class WriteMoveRecord(Action):
    """Write (or replace) the move record of a VM on this host: before a move stops the source ("moving"),
    and once the target runs the copy ("moved"). `text` is the record's ASCII JSON."""

    vm_name: str
    path: str
    phase: str
    text: str
    template: ClassVar[str] = "actions/write_move_record.ps1.j2"
    verb: ClassVar[str] = "record the move of"

    @property
    def target(self) -> str:
        return self.vm_name

    def summary(self) -> str:
        return f"record the move of {self.vm_name} ({self.phase})"


@dataclass(frozen=True, slots=True)
class ClearMoveRecord(Action):
    """Remove a VM's move record once an undo put the source back: the VM is this host's again."""

    vm_name: str
    path: str
    template: ClassVar[str] = "actions/clear_move_record.ps1.j2"
    verb: ClassVar[str] = "clear the move record of"

    @property
    def target(self) -> str:
        return self.vm_name


# -- a new VM's guest: the answer file, first boot, readiness (issue 15; orchestrator.plan plans these) ----------

# The guest's line in the VM's own Notes, beside the checkpoints' line:
#   orchestrate-guest: <token> writing <computer name> the answer file is being written into the disk of the
#                                                      VM, which never started: a run stopped there (a mount
#                                                      outlives its process) is redone while the VM is off
#   orchestrate-guest: <token> setup <computer name>   the answer file is in the disk: never written again
#   orchestrate-guest: <token> ready <computer name>   the guest reported <token> through KVP as that Premium
#                                                      server
# Notes are part of the VM's configuration, so a checkpoint keeps the line and a restored baseline says ready.
GUEST_NOTES_PREFIX = "orchestrate-guest:"
# The value SetupComplete.cmd writes under HKLM\SOFTWARE\Microsoft\Virtual Machine\Guest, which the host reads
# as a GuestExchangeItem (templates/guest/SetupComplete.cmd.j2).
GUEST_READY_NAME = "OrchestrateReady"
GUEST_POLL_SECONDS = 30


# What SetupComplete.cmd is rendered with where its ready value goes (`ready_token`). PrepareGuest puts in, on
# the host, the token it made for this VM's setup, `ready` and a new GUID's 32 hex digits, and writes the same
# token on the VM's Notes line; the wait compares what KVP shows with the Notes line's token. Why not a token
# per VM name: "Once created, key-value pairs remain until they're deleted" (MicrosoftDocs/windowsserverdocs
# virtualization/hyper-v/integration-services-data-exchange.md), and no page says sysprep clears them, so an
# image captured from a finished guest may already report a same-named VM's token while its setup still runs,
# with the answer file on its disk (audit D, F3). Letters, digits and dashes: cmd-safe.
GUEST_TOKEN_SLOT = "orchestrate-ready-token"
# The mark every answer file orchestrate writes carries: an XML comment after its root element, added by
# render.render_answer_file whatever the template (a site's override too). PrepareGuest refuses an image's own
# \\Windows\\Panther\\unattend.xml (Setup caches an answer file there, "Windows Setup Automation Overview"),
# and a file there with this mark is ours, from a run cut off after writing it (audit K L2).
GUEST_ANSWER_MARK = "orchestrate-answer-file"
# Where PrepareGuest mounts a guest disk's partitions (Add-PartitionAccessPath -AccessPath, a folder per
# partition under a folder per run named by its token): inside the state folder, which only Administrators,
# SYSTEM and Hyper-V Administrators may open (lib/state_folder.ps1.j2), on the host's system drive, NTFS as a
# mounted folder needs ("a path to an empty directory on an NTFS volume", Add-PartitionAccessPath.md). No drive
# letter is used (audit K H1: a host need not give the mounted disk any).
GUEST_MOUNT_FOLDER = LOCK_FOLDER + "\\guest-disks"


@dataclass(frozen=True, slots=True)
class PrepareGuest(Action):
    """Write the answer file and SetupComplete.cmd into a new, never-started VM's system disk: the guest line
    goes into the VM's Notes first as "writing", then Mount-VHD -NoDriveLetter, each basic partition mounted at
    a folder of its own under GUEST_MOUNT_FOLDER until the one with \\Windows\\System32 is found, the two files
    written, the folders unmounted and Dismount-VHD always (finally), and the line becomes "setup": from then
    on no run writes again. A run stopped before that (its process killed: no finally runs, and the disk
    stays mounted) leaves "writing" on a VM that never started, and the next run takes away what it left
    mounted at folders, dismounts the disk if it is still mounted and writes both files again. Both files' text
    arrives after the script on stdin (`answer_secret`, `setup_secret`: orchestrator.transport.stdin), never in
    the script: the answer file holds the passwords."""

    vm: VMSpec
    template: ClassVar[str] = "actions/prepare_guest.ps1.j2"
    verb: ClassVar[str] = "prepare the guest of"

    @property
    def target(self) -> str:
        return self.vm.name

    @property
    def vm_name(self) -> str:
        return self.vm.name

    @property
    def token_slot(self) -> str:
        return GUEST_TOKEN_SLOT

    @property
    def ready_name(self) -> str:
        return GUEST_READY_NAME

    @property
    def answer_mark(self) -> str:
        return GUEST_ANSWER_MARK

    @property
    def mount_root(self) -> str:
        return GUEST_MOUNT_FOLDER

    @property
    def answer_secret(self) -> str:
        from orchestrator.transport.stdin import secret_name

        return secret_name("answer", self.vm.name)

    @property
    def setup_secret(self) -> str:
        from orchestrator.transport.stdin import secret_name

        return secret_name("setup", self.vm.name)

    @property
    def computer_name(self) -> str:
        guest = self.vm.guest
        return guest.name_for(self.vm.name) if guest is not None else ""

    def changes(self) -> list[Change]:
        guest = self.vm.guest
        if guest is None:
            return []
        out: list[Change] = [
            ("computer name", None, self.computer_name),
            ("time zone", None, guest.time_zone),
            ("locale", None, guest.locale),
            ("product key", None, "(a secret)" if not isinstance(guest.product_key, str) else guest.product_key),
        ]
        if guest.domain is not None:
            out.append(("domain", None, guest.domain.name))
        out.append(("answer file", None, "\\Windows\\Panther\\unattend.xml (passwords sent apart, never shown)"))
        return out


@dataclass(frozen=True, slots=True)
class GuestWait:
    """One VM the wait watches: its computer name and how long its setup may take (the token it reports is on
    its Notes line: GUEST_TOKEN_SLOT says why)."""

    vm_name: str
    computer_name: str
    timeout_seconds: int
    domain: str | None = None  # the domain its answer file joins: a guest that reports none is not ready


@dataclass(frozen=True, slots=True)
class WaitGuestsReady(Action):
    """Wait, on the host, until every listed guest reports its token through KVP (GuestExchangeItems), all at
    once, polling every `poll_seconds`; print a `##progress` line per VM ("specializing, 6 of 45 min") and one
    with `ready` when a guest is ready; check it reports MultiPoint Premium (OSEditionId 77) and mark the
    VM's Notes line ready. A guest not ready within its timeout, a Standard guest, or a VM turned off during
    setup fails the action (after every other guest was waited for) with what the host could see."""

    waits: tuple[GuestWait, ...] = ()
    poll_seconds: int = GUEST_POLL_SECONDS
    template: ClassVar[str] = "actions/wait_guests.ps1.j2"
    verb: ClassVar[str] = "wait for the guests of"

    @property
    def target(self) -> str:
        return f"{len(self.waits)} VM(s)"  # each name stays a literal of its own in the script

    @property
    def timeout_seconds(self) -> int:
        return max((w.timeout_seconds for w in self.waits), default=0)

    @property
    def ready_name(self) -> str:
        return GUEST_READY_NAME

    @property
    def wait_list(self) -> list[dict[str, Any]]:
        """The waits as PowerShell maps (the template writes them as one literal)."""
        return [
            {"vm": w.vm_name, "computer_name": w.computer_name, "timeout": w.timeout_seconds, "domain": w.domain}
            for w in self.waits
        ]

    def summary(self) -> str:
        return f"wait until {', '.join(w.vm_name for w in self.waits)} report ready (setup of the guest)"

    def changes(self) -> list[Change]:
        return [("guest", "setting up", f"ready as {w.computer_name} (at most {w.timeout_seconds // 60} min)")
                for w in self.waits]
