"""A move's record on the Hyper-V host: which VM is being (or was) moved where, by which box and run.

The admin box's journal cannot keep two boxes, or the host's own scheduled tasks, from touching a VM in the
middle of a move, so the record lives where the VM lives: one file per VM id under MOVES_FOLDER on the
source host, written by the move's first step, before the VM is stopped. Every facts script reads them, so
every command from every box knows; the host's rollback task skips a VM that has one. Phases:

    moving   the move began (export, import, start on the target): nothing may start or change the VM here
    moved    the target runs the copy; the source was removed (or kept off): apply must not recreate or
             start it here until the inventory lists it on the target

The undo (`orchestrate move --undo`, or the automatic one after a failed step or a signal) removes the
record when it has put the source back. The text is ASCII JSON (every other character escaped), so how
Windows PowerShell's New-Item encodes it cannot change what Get-Content -Raw reads back.

Unverified on a real host: the folder assumes the system drive is C: (ProgramData's default); a host where
it cannot be written fails the move's first step, before anything changed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass

MOVES_FOLDER = "C:\\ProgramData\\MultiPointOrchestrator\\moves"
PHASES = ("moving", "moved")


@dataclass(frozen=True, slots=True)
class MoveRecord:
    vm: str
    vm_id: str
    source: str
    target: str
    via: str
    phase: str
    state: str  # the source VM's power state when the move began (the undo restores it)
    box: str
    run: str
    since: str

    @property
    def file(self) -> str:
        return record_path(self.vm_id)

    def text(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=True, sort_keys=True)

    def describe(self) -> str:
        if self.phase == "moving":
            return (
                f"being moved to {self.target} by {self.box} (run {self.run}, since {self.since}); not touched "
                f"here: finish it with `orchestrate move ... --resume` or put it back with `--undo`"
            )
        return (
            f"was moved to {self.target} at {self.since}: move its entry from {self.source} to {self.target} in "
            f"the inventory (to create a new VM of that name here, delete {self.file} on {self.source})"
        )


def record_path(vm_id: str) -> str:
    return f"{MOVES_FOLDER}\\{vm_id.lower()}.json"


def parse_record(text: str) -> MoveRecord | None:
    """A record from a file's text; None for text that is not one of ours (never guessed at)."""
    try:
        raw = json.loads(text.lstrip("\ufeff"))
    except (ValueError, TypeError):
        return None
    if not isinstance(raw, Mapping):
        return None
    fields = {name: raw.get(name) for name in MoveRecord.__dataclass_fields__}
    if any(not isinstance(value, str) for value in fields.values()) or fields["phase"] not in PHASES:
        return None
    return MoveRecord(**fields)  # type: ignore[arg-type]


def records_by_name(records: tuple[MoveRecord, ...]) -> dict[str, MoveRecord]:
    """The record per VM name (VM names compare case-insensitively in Hyper-V, as the facts do)."""
    return {r.vm.lower(): r for r in records}
