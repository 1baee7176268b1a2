"""Runs one operation over the selected hosts in parallel, with the journal opened once for the run.

One host failing never stops the others: every failure becomes that host's outcome. The runner emits events
and never prints; the CLI chooses how to show them and exits with the run's code.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields, is_dataclass, replace
from pathlib import Path

from orchestrator import events as ev
from orchestrator import exit_codes
from orchestrator.model import HostSpec, Inventory
from orchestrator.operations import Converge, Export, Operation
from orchestrator.operations.export import ExportedCopy
from orchestrator.render import Renderer
from orchestrator.runner.host import HostWork
from orchestrator.runner.journal_guard import RunJournal
from orchestrator.runner.results import HostOutcome, RunResult
from orchestrator.statedir import StateDirError
from orchestrator.transport.base import Transport

TransportFactory = Callable[[HostSpec, Path], Transport]


@dataclass(frozen=True, slots=True)
class RunOptions:
    state_dir: Path
    forks: int = 10
    dry_run: bool = False
    show_scripts: bool = False
    wait_lock: float = 0.0
    templates_dir: Path | None = None
    command: str = "apply"
    # Hosts whose lock the caller already holds for a longer job (a move holds both hosts across its runs).
    held_locks: frozenset[str] = frozenset()
    # False for a preview on a read-only state directory: nothing is journaled (runner/journal_guard.py).
    journal: bool = True
    # True when nobody reads the outcomes' facts and plans after the run (a plain apply or plan): each host's
    # are dropped once its recap line is known, so a fleet's dry run does not hold every host's in memory.
    release_details: bool = False


class Runner:
    """Applies (or previews) an operation on the selected hosts."""

    def __init__(
        self,
        inventory: Inventory,
        options: RunOptions,
        emit: ev.Emit,
        transport_factory: TransportFactory | None = None,
        operation: Operation | None = None,
    ) -> None:
        self.inventory = inventory
        self.operation: Operation = operation or Converge()
        self.options = options
        self._emit_lock = threading.Lock()
        self._emit_raw = emit
        if transport_factory is None:
            from orchestrator.transport.factory import open_transport

            transport_factory = open_transport
        self.transport_factory = transport_factory
        self.renderers: dict[Path | None, Renderer] = {}

    def emit(self, event: ev.Event) -> None:
        with self._emit_lock:
            self._emit_raw(event)

    def host_spec(self, name: str) -> HostSpec:
        """The inventory host with `--templates` folded in, so that every script of the run comes from the same
        template folder (the renderer is chosen by the host's folder)."""
        host = self.inventory.hosts[name]
        if self.options.templates_dir is not None:
            host = replace(host, templates_dir=str(self.options.templates_dir))
        return host

    def renderer_for(self, host: HostSpec) -> Renderer:
        """One Renderer per template folder: templates are parsed once and reused across hosts. It is also the
        scripts port the operations plan with (scheduled-task scripts)."""
        folder = Path(host.templates_dir) if host.templates_dir else None
        with self._emit_lock:
            if folder not in self.renderers:
                self.renderers[folder] = Renderer(folder)
            return self.renderers[folder]

    def apply(self, host_names: Sequence[str]) -> RunResult:
        journal = RunJournal.open(self.options.state_dir, self._journal_fault, record=self.options.journal)
        journal.mark_interrupted()
        run_id = journal.start_run(
            self.options.command,
            self.inventory.path,
            {"dry_run": self.options.dry_run, "hosts": list(host_names), "forks": self.options.forks},
        )
        operation = self._with_names(self._with_history(self.operation, journal, host_names))
        self.emit(ev.RunStarted(run_id, self.options.command, list(host_names), self.options.dry_run))
        work = HostWork(self, operation, journal, run_id)
        outcomes, interrupted = self._run_hosts(work, host_names)
        if interrupted:
            exit_code, status = exit_codes.INTERRUPTED, "aborted"  # stopped by a signal, ended cleanly
        else:
            exit_code = exit_codes.for_statuses(o.status for o in outcomes.values())
            status = run_status(outcomes.values(), exit_code)
        journal.finish_run(run_id, status, exit_code)
        self.emit(recap_event(outcomes, exit_code, self.options.dry_run, run_id))
        return RunResult(run_id, outcomes, exit_code)

    def _run_hosts(self, work: HostWork, host_names: Sequence[str]) -> tuple[dict[str, HostOutcome], bool]:
        """Every host through its pipeline, `forks` at a time. A Ctrl-C (or SIGTERM, which the CLI turns into
        one) stops new work: hosts not started yet never start, the running ones finish their script (an
        apply script is not cut in the middle of a change), then the run ends with the recap and is
        journaled as aborted. A second Ctrl-C stops waiting: the remote commands still running end on
        the host at their own deadline, and this process exits once their threads return."""
        forks = max(1, min(self.options.forks, len(host_names) or 1))
        pool = ThreadPoolExecutor(max_workers=forks, thread_name_prefix="host")
        stop = threading.Event()

        def run_host(name: str) -> HostOutcome:
            if stop.is_set():  # a worker takes the next host at once: the stop must be checked here
                return HostOutcome(name, status="failed", failed=1, error="interrupted (not started)")
            try:
                return work.run_host(name)
            except KeyboardInterrupt:
                stop.set()
                raise

        futures = {name: pool.submit(run_host, name) for name in host_names}
        interrupted = False
        try:
            for future in futures.values():
                # Waits; a host's own failure is already its outcome. A KeyboardInterrupt raised in a worker
                # (the signal arrived while its thread ran a callback) counts as the run's interrupt.
                error = future.exception()
                if isinstance(error, KeyboardInterrupt):
                    raise error
                if error is not None and not isinstance(error, Exception):
                    raise error  # SystemExit and the like: the process is going, not this host failing
        except KeyboardInterrupt:
            interrupted = True
            stop.set()
            for future in futures.values():
                future.cancel()
            running = [name for name, f in futures.items() if f.running()]
            if running:
                self.emit(
                    ev.HostWarning(
                        "(run)",
                        f"interrupted: no new host starts; waiting for {len(running)} running host(s) "
                        f"({', '.join(running)}) to finish the script they run",
                        "press Ctrl-C again to stop waiting",
                    )
                )
            try:
                for name in running:
                    futures[name].exception()
            except KeyboardInterrupt:
                pass
        finally:
            pool.shutdown(wait=not interrupted, cancel_futures=True)
        outcomes: dict[str, HostOutcome] = {}
        for name, future in futures.items():
            if future.done() and not future.cancelled() and future.exception() is None:
                outcomes[name] = future.result()
            else:
                why = "not started" if future.cancelled() else "still running or stopped"
                outcomes[name] = HostOutcome(name, status="failed", failed=1, error=f"interrupted ({why})")
        return outcomes, interrupted

    def _with_names(self, operation: Operation) -> Operation:
        """An operation that selects VMs by --vm gets every VM name of the inventory: an exact name anywhere
        selects that VM only, never a glob match on another host (orchestrator.names)."""
        if not is_dataclass(operation) or "known_names" not in {f.name for f in fields(operation)}:
            return operation
        names = frozenset(vm.name for host in self.inventory.hosts.values() for vm in host.vms)
        return replace(operation, known_names=names)  # type: ignore[type-var]

    def _journal_fault(self, fault: StateDirError) -> None:
        self.emit(
            ev.HostWarning(
                "(journal)",
                f"the journal failed during the run, so this run's history is incomplete ({fault.problem}); the "
                "output above and the recap still tell what the hosts did",
                fault.fix,
            )
        )

    def _with_history(self, operation: Operation, journal: RunJournal, host_names: Sequence[str]) -> Operation:
        """`export --keep N` prunes only exports the journal lists: hand the planner that history as data."""
        if not isinstance(operation, Export) or operation.keep is None or operation.check_only:
            return operation
        history = {
            name: {
                vm.name: tuple(ExportedCopy(r.id, r.path) for r in journal.exports(name, vm.name))
                for vm in self.inventory.hosts[name].vms
            }
            for name in host_names
        }
        return replace(operation, history=history)


def run_status(outcomes: Sequence[HostOutcome] | object, exit_code: int) -> str:
    if exit_code == exit_codes.LOCKED:
        return "locked"
    if exit_code:
        return "failed"
    return "changed" if any(o.changed for o in outcomes) else "ok"  # type: ignore[attr-defined]


def recap_event(
    outcomes: dict[str, HostOutcome], exit_code: int, dry_run: bool, run_id: int | None
) -> ev.Recap:
    hosts = {
        name: {"ok": o.ok, "changed": o.changed, "failed": o.failed, "skipped": o.skipped}
        for name, o in outcomes.items()
    }
    return ev.Recap(
        changed=sum(o.changed for o in outcomes.values()),
        failed=sum(1 for o in outcomes.values() if o.status == "failed"),
        hosts=hosts,
        exit_code=exit_code,
        dry_run=dry_run,
        run_id=run_id,
        locked=sum(1 for o in outcomes.values() if o.status == "locked"),
    )


def apply_inventory(
    inventory: Inventory, host_names: Sequence[str], options: RunOptions, emit: ev.Emit
) -> RunResult:
    """Convenience for the CLI and tests: one Runner, one call."""
    return Runner(inventory, options, emit).apply(host_names)
