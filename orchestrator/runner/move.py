"""The two-host move: a VM from its inventory host to another, through a share, never lost, never running twice.

The move is a sequence of runs, one host at a time (each with its journal entry and its events), planned by
orchestrator.operations.move, with both hosts locked from the first step to the last undo:

    0. target: the share is reachable and no VM of that name is there   (MoveImport, check only)
    1. source: turn the VM off, Export-VM to the share                   (MoveExport)
    2. target: Import-VM -Copy (same id), Start-VM, check it              (MoveImport)
    3. source: remove the VM and its disks, or keep it off                 (MoveFinish)

Any failure runs the undo: if the source VM is still there (same id), the copy on the target is removed
(by id: never another VM) and then the source is put back in the power state it had, in that order, so
the two never run at once. If the source is already gone, the target's copy is the VM and stays.
The export stays on the share in every case (a backup), journaled like any export (by the host pipeline).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from orchestrator import events as ev
from orchestrator import exit_codes, stop_request
from orchestrator.locks import HostLock, HostLocked
from orchestrator.model import Inventory
from orchestrator.move_records import MoveRecord
from orchestrator.operations import Operation
from orchestrator.operations.move import (
    FinishRefused,
    MoveExport,
    MoveFinish,
    MoveImport,
    MoveSource,
    Probe,
    UndoSource,
    UndoTarget,
    fingerprint,
    inventory_change,
)
from orchestrator.runner.journal_guard import JournalUnavailable
from orchestrator.runner.results import Exported, RunResult
from orchestrator.runner.run import Runner, RunOptions, TransportFactory


@dataclass(slots=True)
class MoveResult:
    """How a move ended: ok, or failed at `step` and undone (or not, with why)."""

    ok: bool
    source: str = ""
    step: str = ""
    error: str | None = None
    export_path: str | None = None
    undo: list[str] = field(default_factory=list)
    inventory_change: str | None = None
    exit_code: int = exit_codes.OK
    failed_host: str | None = None  # the host the failing step ran on (data, so no caller parses `step`)
    # The one recap of the whole move (every step's counts per host), for the caller to emit after it has
    # reported how the move ended: the recap is the last event of a command.
    recap: ev.Recap | None = None

    @property
    def final_exit_code(self) -> int:
        return exit_codes.OK if self.ok else self.exit_code or exit_codes.HOST_FAILED


class OneRun:
    """The move's steps are runs of their own (each journaled); to the reader of the events they are steps
    of one run: one run_start, a `step` per inner run, every host event as it comes, one recap at the end."""

    def __init__(self, emit: ev.Emit) -> None:
        self.emit = emit
        self.hosts: dict[str, dict[str, int]] = {}
        self.failed: set[str] = set()
        self.changed = 0

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.RunStarted):
            self.emit(ev.StepStarted(event.run_id, event.command, list(event.hosts)))
        elif isinstance(event, ev.Recap):
            self.changed += event.changed
            for host, counts in event.hosts.items():
                total = self.hosts.setdefault(host, dict.fromkeys(("ok", "changed", "failed", "skipped"), 0))
                for key, count in counts.items():
                    total[key] = total.get(key, 0) + count
        else:
            if isinstance(event, ev.HostFinished) and event.status in ("failed", "locked"):
                self.failed.add(event.host)
            self.emit(event)

    def recap(self, exit_code: int, dry_run: bool) -> ev.Recap:
        return ev.Recap(self.changed, len(self.failed), dict(self.hosts), exit_code, dry_run)


class MoveRefused(ValueError):
    """The move cannot start as asked (the VM is not on exactly one inventory host, or already on the target)."""


def source_host(inventory: Inventory, vm_name: str) -> str:
    """The one inventory host that lists the VM (a move works from the inventory as it is)."""
    hosts = [name for name, host in inventory.hosts.items() if host.vm(vm_name) is not None]
    if len(hosts) != 1:
        raise MoveRefused(
            f"VM {vm_name!r} is listed on {len(hosts)} inventory hosts ({', '.join(hosts) or 'none'}); "
            "a move needs exactly one"
        )
    return hosts[0]


def movable(inventory: Inventory, vm_name: str, target: str, mode: str = "move") -> str:
    """The VM's source host, or MoveRefused saying why this move cannot start as asked."""
    source = source_host(inventory, vm_name)
    if source == target:
        raise MoveRefused(f"VM {vm_name!r} is already on {target} in the inventory")
    spec = inventory.hosts[source].vm(vm_name)
    if mode == "move" and spec is not None and spec.classroom:
        # A classroom's VMs are numbered from one entry (lab-a-01..NN on one host): the inventory cannot say
        # that one of them lives elsewhere, so the next apply would recreate it here. Refused up front.
        raise MoveRefused(
            f"VM {vm_name!r} is one of classroom {spec.classroom!r}, which the inventory keeps on {source} as a "
            f"whole: move the classroom by changing its host in the inventory, not one VM of it to {target}"
        )
    return source


def move_vm(
    inventory: Inventory,
    vm_name: str,
    target: str,
    via: str,
    *,
    state_dir: Path,
    emit: ev.Emit,
    transport_factory: TransportFactory | None = None,
    keep_source: bool = False,
    dry_run: bool = False,
    timeout: int | None = None,
    wait_lock: float = 0.0,
    now: datetime | None = None,
    mode: str = "move",
) -> MoveResult:
    """Move `vm_name` from the inventory host that lists it to `target`. Never prints (emit gets events: one
    run_start, then each step's events; the recap is the result's, for the caller to emit last).
    Nothing is done, and the exit code is 3, when another run holds either host.

    `mode` "undo" puts back a move an earlier run left unfinished (by its record on the source); "resume"
    finishes it when the target runs the copy, else undoes it. A Ctrl-C or SIGTERM (which the CLI turns
    into KeyboardInterrupt) during a move runs the same undo before the process ends."""
    source = movable(inventory, vm_name, target, mode)
    run = OneRun(emit)
    command = "move --dry-run" if dry_run else "move" if mode == "move" else f"move --{mode}"
    emit(ev.RunStarted(None, command, [source, target], dry_run))
    result = _locked_move(
        inventory, vm_name, source, target, via, state_dir, run, transport_factory, keep_source, dry_run,
        timeout, wait_lock, now, mode,
    )
    result.recap = run.recap(result.final_exit_code, dry_run)
    return result


def _locked_move(
    inventory: Inventory,
    vm_name: str,
    source: str,
    target: str,
    via: str,
    state_dir: Path,
    emit: ev.Emit,
    transport_factory: TransportFactory | None,
    keep_source: bool,
    dry_run: bool,
    timeout: int | None,
    wait_lock: float,
    now: datetime | None,
    mode: str,
) -> MoveResult:
    locks: list[HostLock] = []
    if not dry_run:
        # Both hosts stay locked from the first step to the last undo: an `apply` from cron in between would
        # start the source VM again (the inventory still lists it there) while the target runs it.
        try:
            for name in sorted({source, target}):
                locks.append(
                    HostLock.acquire(
                        state_dir, name, None, wait=wait_lock, command=f"orchestrate move {vm_name}"
                    )
                )
        except HostLocked as locked:
            for lock in locks:
                lock.release()
            return MoveResult(False, source, "locking the hosts", str(locked), exit_code=exit_codes.LOCKED)
    try:
        steps = _Steps(inventory, state_dir, emit, transport_factory, wait_lock, frozenset(lock.host for lock in locks))
        if mode in ("undo", "resume"):
            return _settle(steps, vm_name, source, target, keep_source, resume=mode == "resume")
        moment = now or datetime.now(UTC)
        record = MoveRecord(
            vm_name, "", source, target, via, "moving", "", socket.gethostname(), _move_id(moment), moment.isoformat()
        )
        try:
            return _move(steps, vm_name, source, target, via, keep_source, dry_run, timeout, moment, record)
        except KeyboardInterrupt:
            if dry_run:
                raise
            # The step in flight has ended (the runner waits for it); put back what the move began. The
            # signal is taken: the undo's own steps must not see it again (stop_request.py).
            stop_request.forget()
            settled = _settle(steps, vm_name, source, target, keep_source, resume=False)
            notes = settled.undo or [settled.error or "nothing was begun that needs undoing"]
            return MoveResult(
                False, source, "interrupted", "interrupted by a signal", undo=notes, exit_code=exit_codes.INTERRUPTED
            )
    finally:
        for lock in locks:
            lock.release()


@dataclass(frozen=True, slots=True)
class _Steps:
    """Runs one operation on one host through the Runner (journal, events), under the move's locks."""

    inventory: Inventory
    state_dir: Path
    emit: ev.Emit
    transport_factory: TransportFactory | None
    wait_lock: float
    held: frozenset[str]

    def run(self, host: str, operation: Operation, command: str) -> RunResult:
        options = RunOptions(
            state_dir=self.state_dir, forks=1, wait_lock=self.wait_lock, command=command, held_locks=self.held
        )
        runner = Runner(
            self.inventory, options, self.emit, transport_factory=self.transport_factory, operation=operation
        )
        try:
            return runner.apply([host])
        except JournalUnavailable as fault:
            # The journal failed to open between the CLI's preflight and this step (nothing of the step ran).
            # The move must go on, or its undo could not run: this step and the next run unjournaled.
            self.emit(
                ev.HostWarning(
                    "(journal)",
                    f"the journal cannot be opened, so this step of the move is not journaled ({fault.problem}); "
                    "the output above and the recap still tell what the hosts did",
                    fault.fix,
                )
            )
            unjournaled = replace(options, journal=False)
            return Runner(
                self.inventory, unjournaled, self.emit, transport_factory=self.transport_factory, operation=operation
            ).apply([host])

    @staticmethod
    def failed(result: RunResult, host: str) -> str | None:
        outcome = result.outcomes[host]
        if result.exit_code == 0 and outcome.status != "failed":
            return None
        return outcome.error or f"the run on {host} failed (exit {result.exit_code})"


def _move(
    steps: _Steps,
    vm_name: str,
    source: str,
    target: str,
    via: str,
    keep_source: bool,
    dry_run: bool,
    timeout: int | None,
    moment: datetime,
    record: MoveRecord,
) -> MoveResult:
    spec = steps.inventory.hosts[source].vm(vm_name)
    command = "move --dry-run" if dry_run else "move"
    # A differencing disk's image stays behind on an export: the target must hold it already (CheckParentDisks).
    parents = (spec.disk.source,) if spec is not None and spec.disk is not None and spec.disk.kind == "parent" \
        and spec.disk.source else ()

    def stopped(result: RunResult, host: str, step: str, export_path: str | None = None) -> MoveResult | None:
        error = steps.failed(result, host)
        if error is None:
            return None
        return MoveResult(False, source, step, error, export_path, exit_code=result.exit_code or exit_codes.HOST_FAILED,
                          failed_host=host)

    # 0. the target must not already hold the VM (a copy an interrupted move left there has the source's id),
    #    and must reach the share (the double hop): refused before anything changes, so the undo below can
    #    never remove a VM this run did not import.
    if not dry_run:
        check = steps.run(target, MoveImport(vm_name, "", "", check_only=True, via=via, parents=parents), "move")
        if (refused := stopped(check, target, f"check on {target}")) is not None:
            return refused

    # 1. the source: off, exported to the share
    export_op = MoveExport(
        vm_name, via, moment, timeout_seconds=timeout, check_only=dry_run, command=command, record=record,
        keep_source=keep_source,
    )
    first = steps.run(source, export_op, command)
    planned = first.outcomes[source].plan
    seen = planned.basis if planned is not None and isinstance(planned.basis, MoveSource) else None
    if (result := stopped(first, source, f"export on {source}")) is not None:
        if seen is not None and not dry_run:
            result.undo = undo(steps, source, target, seen, step=1)
        return result
    assert seen is not None
    exported = next((e for e in first.outcomes[source].of_type(Exported) if e.path), None)
    export_path = exported.path if exported else ""
    after_export = first.outcomes[source].facts
    left = after_export.vm(vm_name) if after_export is not None else None
    expected = fingerprint(left) if left is not None else None

    # 2. the target: imported (same id), started, checked
    import_op = MoveImport(
        vm_name,
        seen.vm_id,
        export_path,
        switch=spec.switch if spec else None,
        vm_path=spec.path if spec else None,
        timeout_seconds=timeout,
        check_only=dry_run,
        command=command,
        via=via,
        parents=parents,
    )
    second = steps.run(target, import_op, command)
    if (result := stopped(second, target, f"import on {target}", export_path)) is not None:
        if not dry_run:
            result.undo = undo(steps, source, target, seen, step=2)
        return result
    if dry_run:
        return MoveResult(True, source, "dry run", None, export_path)
    target_facts = second.outcomes[target].facts
    observed = target_facts.vm(vm_name) if target_facts else None

    # 3. the source: removed (or kept off)
    finish = MoveFinish(seen, keep_source=keep_source, expected=expected, record=replace(record, vm_id=seen.vm_id, state=seen.state, phase="moved"))
    third = steps.run(source, finish, "move")
    if (result := stopped(third, source, f"removing the source on {source}", export_path)) is not None:
        planned = third.outcomes[source].plan
        if planned is not None and isinstance(planned.basis, FinishRefused):
            result.undo = ["nothing undone: " + planned.basis.reason]
        else:
            result.undo = undo(steps, source, target, seen, step=3)
        return result
    change = inventory_change(source, target, vm_name, observed, spec, keep_source=keep_source)
    return MoveResult(True, source, "done", None, export_path, inventory_change=change)


def _move_id(moment: datetime) -> str:
    """A label for the move in its record (box and time say the rest)."""
    return "move-" + moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _settle(
    steps: _Steps, vm_name: str, source: str, target: str, keep_source: bool, *, resume: bool
) -> MoveResult:
    """An unfinished move, from its record on the source: resumed (the target runs the copy: finish) or
    undone (the copy removed, the source back as it was, the record gone)."""
    check = steps.run(source, Probe(), "move (check)")
    facts = check.outcomes[source].facts
    if facts is None:
        return MoveResult(False, source, f"reading {source}", steps.failed(check, source), exit_code=exit_codes.HOST_FAILED,
                          failed_host=source)
    record = facts.move_of(vm_name)
    if record is None or record.phase != "moving":
        what = "no unfinished move" if record is None else f"a finished move (to {record.target})"
        return MoveResult(
            False, source, "finding the move", f"{source} has {what} of VM {vm_name!r}: nothing to do",
            exit_code=exit_codes.INVALID_INPUT,
        )
    seen = MoveSource.from_record(record)
    if resume:
        probe = steps.run(record.target, Probe(), "move (check)")
        copy = probe.outcomes[record.target].facts
        present = copy.vm(vm_name) if copy is not None else None
        if present is not None and present.id.lower() == seen.vm_id.lower() and present.running:
            finish = MoveFinish(seen, keep_source=keep_source, record=replace(record, phase="moved"))
            done = steps.run(source, finish, "move --resume")
            if (error := steps.failed(done, source)) is not None:
                return MoveResult(False, source, f"removing the source on {source}", error, exit_code=exit_codes.HOST_FAILED,
                                  failed_host=source)
            return MoveResult(True, source, "resumed", None, record.via, undo=[f"{record.target} runs {vm_name}; the source is done"])
    notes = undo(steps, source, record.target, seen, step=2)
    failed = any(note.startswith("could not") for note in notes)
    return MoveResult(
        not failed, source, "undone", "the undo did not finish" if failed else None, undo=notes,
        exit_code=exit_codes.HOST_FAILED if failed else exit_codes.OK,
    )


def undo(steps: _Steps, source: str, target: str, seen: MoveSource, *, step: int) -> list[str]:
    """Put things back after a failed step; returns what it did, in words. The source decides: while its VM
    (same id) is there, the target's copy goes first, then the source gets its power state back."""
    notes: list[str] = []
    if step >= 2:
        check = steps.run(source, Probe(), "move (check)")
        facts = check.outcomes[source].facts
        if facts is None:
            notes.append(
                f"could not read {source} ({steps.failed(check, source)}); nothing undone on {target}: "
                f"check both hosts before running the VM anywhere"
            )
            return notes
        present = facts.vm(seen.vm_name)
        if present is None or present.id.lower() != seen.vm_id.lower():
            notes.append(
                f"the source VM is already gone from {source}: the copy on {target} is the VM and stays"
            )
            return notes
        if present.running:
            # Someone (another box, a person, a task) started the source after the move stopped it: it and the
            # copy may both hold work now. Removing either would lose some, so neither is.
            notes.append(
                f"nothing undone: {seen.vm_name} runs on {source} again (started after the move stopped it), and "
                f"the copy on {target} may run too; both may hold work now: compare them, keep one, remove the "
                "other by hand"
            )
            return notes
        removed = steps.run(target, UndoTarget(seen.vm_name, seen.vm_id), "move (undo)")
        problem = steps.failed(removed, target)
        if problem is not None:
            notes.append(
                f"could not remove the copy on {target} ({problem}); the source stays off so the VM never "
                "runs twice: remove the copy, then start the source"
            )
            return notes
        notes.append(f"removed the copy on {target}")
    restored = steps.run(source, UndoSource(seen), "move (undo)")
    problem = steps.failed(restored, source)
    if problem is not None:
        notes.append(f"could not put {seen.vm_name} on {source} back to {seen.state}: {problem}")
    else:
        notes.append(f"{seen.vm_name} on {source} is {seen.state} as before")
    return notes

