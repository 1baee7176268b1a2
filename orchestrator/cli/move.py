"""`orchestrate move`: a VM from its inventory host to another, through a share, never lost, never running twice.

The move is a sequence of Runner runs, one host at a time (each with its lock, its journal entry and its
events), planned by orchestrator.transfer:

    1. source: turn the VM off, Export-VM to the share          (MoveExport)
    2. target: Import-VM -Copy (same id), Start-VM, check it     (MoveImport)
    3. source: remove the VM and its disks, or keep it off        (MoveFinish)

Any failure runs the undo: if the source VM is still there (same id), the copy on the target is removed
(by id: never another VM) and then the source is put back in the power state it had, in that order, so
the two never run at once. If the source is already gone, the target's copy is the VM and stays.
The export stays on the share in every case (a backup), recorded in the journal like any export.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from orchestrator.cli import main
from orchestrator.cli.export import action_results, refuse_path, say, timeout_option
from orchestrator.cli.import_cmd import host_or_exit, single_host_options
from orchestrator.cli.options import EXIT_INVALID_INPUT
from orchestrator.cli.output import load_inventory_or_exit, resolve_state_dir


@dataclass(frozen=True, slots=True)
class Probe:
    """A run that plans nothing: its facts say whether the source VM is still there before an undo."""

    command: str = "move (check)"

    def plan(self, host: Any, facts: Any) -> Any:
        from orchestrator.plan import Plan

        return Plan()

    def verify(self, host: Any, plan: Any, facts: Any) -> Any:
        from orchestrator.operations import Verdict

        return Verdict()


@dataclass(slots=True)
class MoveResult:
    """How a move ended: ok, or failed at `step` and undone (or not, with why)."""

    ok: bool
    step: str = ""
    error: str | None = None
    export_path: str | None = None
    undo: list[str] = field(default_factory=list)
    inventory_change: str | None = None
    exit_code: int = 0


def move_vm(
    inventory: Any,
    vm_name: str,
    target: str,
    via: str,
    *,
    state_dir: Path,
    emit: Callable[[Any], None],
    transport_factory: Any = None,
    keep_source: bool = False,
    dry_run: bool = False,
    timeout: int | None = None,
    wait_lock: float = 0.0,
    now: datetime | None = None,
) -> MoveResult:
    """Move `vm_name` from the inventory host that lists it to `target`. Never prints (emit gets events).
    Nothing is done, and the exit code is 3, when another run holds either host."""
    from orchestrator.locks import HostLock, HostLocked
    from orchestrator.runner import EXIT_LOCKED

    source = source_host(inventory, vm_name)
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
            return MoveResult(False, "locking the hosts", str(locked), exit_code=EXIT_LOCKED)
    try:
        steps = _Steps(
            inventory, state_dir, emit, transport_factory, wait_lock, frozenset(lock.host for lock in locks)
        )
        return _move(steps, vm_name, source, target, via, keep_source, dry_run, timeout, now)
    finally:
        for lock in locks:
            lock.release()


@dataclass(frozen=True, slots=True)
class _Steps:
    """Runs one operation on one host through the Runner (journal, events), under the move's locks."""

    inventory: Any
    state_dir: Path
    emit: Callable[[Any], None]
    transport_factory: Any
    wait_lock: float
    held: frozenset[str]

    def run(self, host: str, operation: Any, command: str) -> Any:
        from orchestrator.runner import Runner, RunOptions

        options = RunOptions(
            state_dir=self.state_dir, forks=1, wait_lock=self.wait_lock, command=command, held_locks=self.held
        )
        runner = Runner(
            self.inventory, options, self.emit, transport_factory=self.transport_factory, operation=operation
        )
        return runner.apply([host])


def _move(
    steps: _Steps,
    vm_name: str,
    source: str,
    target: str,
    via: str,
    keep_source: bool,
    dry_run: bool,
    timeout: int | None,
    now: datetime | None,
) -> MoveResult:
    from orchestrator.journal import Journal
    from orchestrator.runner import EXIT_FAILED
    from orchestrator.transfer import MoveExport, MoveFinish, MoveImport, inventory_change

    state_dir = steps.state_dir
    run = steps.run
    spec = steps.inventory.hosts[source].vm(vm_name)
    moment = now or datetime.now(UTC)
    suffix = " --dry-run" if dry_run else ""

    def failed(result: Any, host: str) -> str | None:
        outcome = result.outcomes[host]
        if result.exit_code == 0 and outcome.status != "failed":
            return None
        return outcome.error or f"the run on {host} failed (exit {result.exit_code})"

    # 0. the target must not already hold the VM (a copy an interrupted move left there has the source's id):
    #    refuse before anything changes, so the undo below can never remove a VM this run did not import.
    if not dry_run:
        # ... and reach the share (the double hop): probed here, and on the source before its VM is stopped.
        check = run(target, MoveImport(vm_name, "", "", check_only=True, command="move", via=via), "move")
        error = failed(check, target)
        if error is not None:
            return MoveResult(False, f"check on {target}", error, exit_code=check.exit_code or EXIT_FAILED)

    # 1. the source: off, exported to the share
    export_op = MoveExport(
        vm_name, via, moment, timeout_seconds=timeout, check_only=dry_run, command="move" + suffix
    )
    first = run(source, export_op, "move" + suffix)
    seen = export_op.seen.get(source)
    error = failed(first, source)
    if error is not None:
        result = MoveResult(False, f"export on {source}", error, exit_code=first.exit_code or EXIT_FAILED)
        if seen is not None and not dry_run:
            result.undo = undo(run, failed, source, target, seen, step=1)
        return result
    assert seen is not None
    exported = next((e for e in action_results(first.outcomes[source]) if e.get("path")), {})
    export_path = str(exported.get("path") or "")
    if not dry_run and export_path and first.run_id is not None:
        Journal.open(state_dir).record_export(
            first.run_id, source, vm_name, export_path, int(exported.get("size_bytes") or 0)
        )

    # 2. the target: imported (same id), started, checked
    import_op = MoveImport(
        vm_name,
        seen.vm_id,
        export_path,
        switch=spec.switch if spec else None,
        vm_path=spec.path if spec else None,
        timeout_seconds=timeout,
        check_only=dry_run,
        command="move" + suffix,
        via=via,
    )
    second = run(target, import_op, "move" + suffix)
    error = failed(second, target)
    if error is not None:
        result = MoveResult(
            False, f"import on {target}", error, export_path, exit_code=second.exit_code or EXIT_FAILED
        )
        if not dry_run:
            result.undo = undo(run, failed, source, target, seen, step=2)
        return result
    if dry_run:
        return MoveResult(True, "dry run", None, export_path)
    observed = second.outcomes[target].facts.vm(vm_name) if second.outcomes[target].facts else None

    # 3. the source: removed (or kept off)
    third = run(source, MoveFinish(seen, keep_source=keep_source), "move")
    error = failed(third, source)
    if error is not None:
        result = MoveResult(
            False,
            f"removing the source on {source}",
            error,
            export_path,
            exit_code=third.exit_code or EXIT_FAILED,
        )
        result.undo = undo(run, failed, source, target, seen, step=3)
        return result
    change = inventory_change(source, target, vm_name, observed, spec, keep_source=keep_source)
    return MoveResult(True, "done", None, export_path, inventory_change=change)


def undo(
    run: Callable[[str, Any, str], Any],
    failed: Callable[[Any, str], str | None],
    source: str,
    target: str,
    seen: Any,
    *,
    step: int,
) -> list[str]:
    """Put things back after a failed step; returns what it did, in words. The source decides: while its VM
    (same id) is there, the target's copy goes first, then the source gets its power state back."""
    from orchestrator.transfer import UndoSource, UndoTarget

    notes: list[str] = []
    if step >= 2:
        check = run(source, Probe(), "move (check)")
        facts = check.outcomes[source].facts
        if facts is None:
            notes.append(
                f"could not read {source} ({failed(check, source)}); nothing undone on {target}: "
                f"check both hosts before running the VM anywhere"
            )
            return notes
        present = facts.vm(seen.vm_name)
        if present is None or present.id.lower() != seen.vm_id.lower():
            notes.append(
                f"the source VM is already gone from {source}: the copy on {target} is the VM and stays"
            )
            return notes
        removed = run(target, UndoTarget(seen.vm_name, seen.vm_id), "move (undo)")
        problem = failed(removed, target)
        if problem is not None:
            notes.append(
                f"could not remove the copy on {target} ({problem}); the source stays off so the VM never "
                "runs twice: remove the copy, then start the source"
            )
            return notes
        notes.append(f"removed the copy on {target}")
    restored = run(source, UndoSource(seen), "move (undo)")
    problem = failed(restored, source)
    if problem is not None:
        notes.append(f"could not put {seen.vm_name} on {source} back to {seen.state}: {problem}")
    else:
        notes.append(f"{seen.vm_name} on {source} is {seen.state} as before")
    return notes


def source_host(inventory: Any, vm_name: str) -> str:
    """The one inventory host that lists the VM (a move works from the inventory as it is)."""
    hosts = [name for name, host in inventory.hosts.items() if host.vm(vm_name) is not None]
    if len(hosts) != 1:
        raise LookupError(
            f"VM {vm_name!r} is listed on {len(hosts)} inventory hosts ({', '.join(hosts) or 'none'}); "
            "a move needs exactly one"
        )
    return hosts[0]


@main.command()
@click.argument("inventory", type=click.Path(dir_okay=False))
@click.option("--vm", "vm_name", required=True, metavar="NAME", help="The VM, as the inventory names it.")
@click.option("--to", "target", required=True, metavar="HOST", help="The inventory host to move it to.")
@click.option(
    "--via", required=True, metavar="SHARE", help="A share both hosts reach, e.g. \\\\nas\\exports."
)
@click.option("--keep-source", is_flag=True, help="Keep the source VM (off) instead of removing it.")
@timeout_option
@single_host_options
def move(
    inventory: str,
    vm_name: str,
    target: str,
    via: str,
    keep_source: bool,
    timeout: int | None,
    **kwargs: Any,
) -> None:
    """Move VM NAME from the inventory host that lists it to HOST, through SHARE.

    \b
    1. on the source: a running VM is turned off (so nothing written after the copy is lost), exported to
       SHARE\\<vm>\\<UTC time> (kept there afterwards, and in the journal);
    2. on HOST: Import-VM copies it (same VM id) into the host's VM folder, Start-VM, and the guest is
       checked (running, MultiPoint Premium through KVP);
    3. on the source: the VM and its disks are removed (--keep-source: kept, off).
    If any step fails, the copy on HOST is removed and the source VM is put back exactly as it was
    (running if it ran): no VM is ever lost or running twice. The move ends by printing the inventory
    change that makes the next `orchestrate apply` a no-op.

    \b
    Examples:
      orchestrate move school.yaml --vm lab-a-03 --to hv02 --via '\\\\nas\\exports'
      orchestrate move school.yaml --vm library --to hv01 --via '\\\\nas\\exports' --dry-run

    Exit codes: 0 moved, 1 a step failed (and was undone), 2 invalid input, 3 a host is locked.
    """
    from orchestrator.report import JsonReporter, TextReporter

    output = kwargs["output"]
    refuse_path(via, "--via", share_only=True)
    loaded = load_inventory_or_exit(inventory, output, kwargs.get("ask_pass", False))
    host_or_exit(loaded, target, "--to")
    try:
        source = source_host(loaded, vm_name)
    except LookupError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_INVALID_INPUT)
    if source == target:
        click.echo(f"error: VM {vm_name!r} is already on {target} in the inventory", err=True)
        sys.exit(EXIT_INVALID_INPUT)
    verbosity = kwargs.get("verbosity", 0)
    reporter = JsonReporter(verbosity=verbosity) if output == "json" else TextReporter(verbosity=verbosity)
    try:
        result = move_vm(
            loaded,
            vm_name,
            target,
            via,
            state_dir=resolve_state_dir(kwargs.get("state_dir")),
            emit=reporter,
            keep_source=keep_source,
            dry_run=bool(kwargs.get("dry_run")),
            timeout=timeout,
            wait_lock=kwargs.get("wait_lock", 0.0),
        )
    finally:
        reporter.close()
    if result.ok:
        if result.inventory_change:
            say(
                output,
                "move_done",
                vm=vm_name,
                source=source,
                target=target,
                export=result.export_path,
                inventory_change=result.inventory_change,
                text=f"moved {vm_name} from {source} to {target}; "
                f"export kept at {result.export_path}\n{result.inventory_change}",
            )
        else:
            say(
                output,
                "move_checked",
                vm=vm_name,
                source=source,
                target=target,
                text=f"dry run: {vm_name} can move from {source} to {target} via {via}",
            )
        sys.exit(0)
    say(
        output,
        "move_failed",
        vm=vm_name,
        step=result.step,
        error=result.error,
        undo=result.undo,
        text=f"move of {vm_name} failed at {result.step}: {result.error}\n"
        + "\n".join(f"  undo: {note}" for note in result.undo),
    )
    sys.exit(result.exit_code or 1)
