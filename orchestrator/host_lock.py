"""The lock on the Hyper-V host itself: what a changing script takes first, and how its holder is told.

Every script that changes a host (the apply script of every command, each step of export, import and move,
and the host's own scheduled rollback) opens one file on the host, `C:\\ProgramData\\MultiPointOrchestrator\\
host.lock`, for reading and writing while sharing it for reading only, writes who it is into it, and keeps it
open until it ends. A second script's open then fails with a sharing violation, and it reads the holder
through a read-only open that shares everything. The operating system closes the handle when the holding
PowerShell ends in any way, killed included, so a lock never outlives its holder (sources:
orchestrator/simulator/host/handles.py; how it works and fails: docs/host-lock.md).

A lock held by one script cannot span several WinRM commands (each is its own powershell.exe). What a move
needs between its commands is kept by the move records on both hosts (orchestrator.move_records), which
every changing script honours; the host lock makes each script's re-check and change one step that no other
changing script interleaves with. The admin box's own lock (orchestrator.locks) stays the fast path: one box
never sends two changing scripts to a host at once.
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from typing import Any

from orchestrator.move_records import MOVES_FOLDER
from orchestrator.pwsh import Code

LOCK_TEMPLATE = "lib/host_lock.ps1.j2"  # the part every changing script opens with
LOCK_FOLDER = MOVES_FOLDER.rsplit("\\", 1)[0]
LOCK_FILE = LOCK_FOLDER + "\\host.lock"
# How long the host's own scheduled rollback waits for a run that holds the lock before it gives up (its
# Last Result is then 1 and its output names the holder): long enough for an apply, short enough that the
# classroom is restored before the morning.
TASK_WAIT_SECONDS = 30 * 60
TASK_POLL_SECONDS = 15
TASK_COMMAND = Code("('scheduled task ' + $taskLabel)")
MAX_HOLDER_TEXT = 2000  # what is read of a holder's record; a longer one is cut (it is only shown)
# Who may own the state folder (besides the script's own account), and the groups that get full control of it
# (lib/state_folder.ps1.j2): Administrators, SYSTEM (the scheduled rollback runs as SYSTEM) and Hyper-V
# Administrators (who may run every Hyper-V cmdlet anyway, and whose members may run this product). Well-known
# SIDs, not names, since names are localized (learn.microsoft.com/windows/win32/secauthz/well-known-sids;
# S-1-5-32-578 is DOMAIN_ALIAS_RID_HYPER_V_ADMINS, new in 2012).
STATE_FOLDER_OWNERS = ("S-1-5-32-544", "S-1-5-18", "S-1-5-32-578")  # Administrators first: the owner it is given
# What an admin does about a state folder the script refused (lib/state_folder.ps1.j2: somebody else owns it,
# so somebody else may have written in it). takeown /A "gives ownership to the Administrators group instead of
# the current user", /R recurses, /D Y answers its prompt (learn.microsoft.com windows-server/administration/
# windows-commands/takeown).
STATE_FOLDER_FIX = (
    f"on the host, as an administrator: look at what is in {LOCK_FOLDER} (a move record there that no orchestrate "
    f"run wrote must not stay), then delete the folder (Remove-Item -LiteralPath '{LOCK_FOLDER}' -Recurse) or make "
    f"the Administrators group its owner (takeown /F {LOCK_FOLDER} /A /R /D Y); then run again"
)


@dataclass(frozen=True, slots=True)
class LockRequest:
    """What a script writes as the holder (its admin box, run and command) and how long it waits: an admin
    box's script as long as `--wait-lock` says (by default not at all: the run reports the host as locked,
    exit 3, and cron tries again); the host's own task TASK_WAIT_SECONDS."""

    box: str
    run: int | None
    command: str | Code
    wait_seconds: int = 0
    poll_seconds: int = TASK_POLL_SECONDS
    # The script runs as SYSTEM (the host's own task): a folder it owns is trusted as is, so the part that
    # hands an administrator's own folder to the Administrators group is left out of its short command line.
    as_system: bool = False

    def template_context(self) -> dict[str, Any]:
        return {
            "lock_file": LOCK_FILE,
            "lock_folder": LOCK_FOLDER,
            "state_owners": STATE_FOLDER_OWNERS,
            "lock_box": self.box,
            "lock_run": self.run,
            "lock_command": self.command,
            "lock_wait": self.wait_seconds,
            "lock_poll": self.poll_seconds,
            "lock_as_system": self.as_system,
        }


ADMIN_POLL_SECONDS = 5


def admin_request(command: str, run_id: int | None, wait_seconds: float = 0) -> LockRequest:
    """An admin box's script: it waits for the host lock as long as the run waits for this box's own lock
    (`--wait-lock`), so a cron rollback with `--wait-lock 900` waits for another box's apply too."""
    return LockRequest(box=admin_box_name(), run=run_id, command=command, wait_seconds=max(0, int(wait_seconds)),
                       poll_seconds=ADMIN_POLL_SECONDS)


def task_request() -> LockRequest:
    """The host's own scheduled rollback: its command is the task's label, which the task script holds in
    $taskLabel (written once: a task's command line is short, orchestrator.operations.schedules)."""
    return LockRequest(
        box="the host itself", run=None, command=TASK_COMMAND, wait_seconds=TASK_WAIT_SECONDS, as_system=True
    )


def admin_box_name() -> str:
    return socket.gethostname() or "unknown admin box"


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds a host's lock, as its record says (every field may be missing from a record we did not write)."""

    box: str | None = None
    run: int | None = None
    command: str | None = None
    since: str | None = None
    pid: int | None = None

    def describe(self) -> str:
        parts = [self.box or "an unknown box"]
        if self.run is not None:
            parts.append(f"run {self.run}")
        if self.command:
            parts.append(f"`{self.command}`")
        text = ", ".join(parts)
        if self.pid is not None:
            text += f" (PowerShell pid {self.pid})"
        if self.since:
            text += f" since {self.since}"
        return text


def parse_holder(text: Any) -> Holder | None:
    """The holder record a script read from the lock file; None when there is none or it is not ours. Never
    raises: the record is only shown, and a torn one (read while its writer wrote it) must not fail a run."""
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        data = json.loads(text[:MAX_HOLDER_TEXT])
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None

    def text_of(key: str) -> str | None:
        value = data.get(key)
        return str(value)[:200] if isinstance(value, (str, int)) and not isinstance(value, bool) else None

    def int_of(key: str) -> int | None:
        value = data.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    return Holder(text_of("box"), int_of("run"), text_of("command"), text_of("since"), int_of("pid"))
