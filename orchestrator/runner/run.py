"""Runs one operation over the selected hosts in parallel, with the journal opened once for the run.

One host failing never stops the others: every failure becomes that host's outcome. The runner emits events
and never prints; the CLI chooses how to show them and exits with the run's code.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, fields, is_dataclass, replace
from pathlib import Path

from orchestrator import events as ev
from orchestrator import exit_codes, stop_request
from orchestrator.model import HostSpec, Inventory
from orchestrator.operations import Converge, Export, Operation
from orchestrator.operations.export import ExportedCopy
from orchestrator.render import Renderer
from orchestrator.runner.host import HostWork
from orchestrator.runner.journal_guard import RunJournal
from orchestrator.runner.results import HostOutcome, RunResult
from orchestrator.statedir import StateDirError
from orchestrator.transport.base import Transport
from orchestrator.transport.registry import OpenTransports

TransportFactory = Callable[[HostSpec, Path], Transport]

# After the first Ctrl-C or SIGTERM: how long the run waits for the running hosts, whose remote commands were
# signalled, to come back with what they know, before it deletes every shell (RunOptions.interrupt_grace).
INTERRUPT_GRACE = 30.0
# Signalling every running command, and deleting every shell (after the grace, or at once on a second
# signal): at most this long, all hosts at the same time.
SIGNAL_DEADLINE = 10.0
ABORT_DEADLINE = 10.0


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
    # Seconds to wait after the first interrupt for the running hosts before their shells are deleted.
    interrupt_grace: float = INTERRUPT_GRACE


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
        self._ended = False
        if transport_factory is None:
            from orchestrator.transport.factory import open_transport

            transport_factory = open_transport
        # Every transport the hosts open is listed while it is open, so that an interrupt reaches it.
        self.transports = OpenTransports()
        self.transport_factory = self.transports.tracking(transport_factory)
        self.renderers: dict[Path | None, Renderer] = {}

    def emit(self, event: ev.Event) -> None:
        with self._emit_lock:
            if self._ended:
                return  # a host thread left running by an interrupt: the recap was the last word
            self._emit_raw(event)
            self._ended = isinstance(event, ev.Recap)

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
        with self._emit_lock:
            self._ended = False
        journal = RunJournal.open(self.options.state_dir, self._journal_fault, record=self.options.journal)
        try:
            journal.mark_interrupted()
            run_id = journal.start_run(
                self.options.command,
                journaled_inventory(self.inventory.path),
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
        finally:
            journal.close()
        self.emit(recap_event(outcomes, exit_code, self.options.dry_run, run_id))
        return RunResult(run_id, outcomes, exit_code)

    def _run_hosts(self, work: HostWork, host_names: Sequence[str]) -> tuple[dict[str, HostOutcome], bool]:
        """Every host through its pipeline, `forks` at a time, until a Ctrl-C (or SIGTERM, which the CLI
        turns into one); then `_stop` ends the run cleanly and the recap still comes."""
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
        unfinished: list[str] = []  # the hosts still running or waiting when the signal came
        try:
            for future in futures.values():
                # Waits; a host's own failure is already its outcome. A KeyboardInterrupt raised in a worker
                # (the signal arrived while its thread ran a callback) counts as the run's interrupt.
                error = _outcome_of(future)
                if isinstance(error, KeyboardInterrupt):
                    raise error
                if error is not None and not isinstance(error, Exception):
                    raise error  # SystemExit and the like: the process is going, not this host failing
        except KeyboardInterrupt:
            stop_request.forget()  # this is the interrupt the handler noted: never raise it a second time
            interrupted = True
            unfinished = [name for name, future in futures.items() if not future.done()]
            stop.set()
            for future in futures.values():
                future.cancel()
            self._stop({name: f for name, f in futures.items() if not f.done()})
            stop_request.forget()  # a second interrupt, which _stop took: the run has ended as it asks
        finally:
            pool.shutdown(wait=not interrupted, cancel_futures=True)
        outcomes: dict[str, HostOutcome] = {}
        for name, future in futures.items():
            if future.done() and not future.cancelled() and future.exception() is None:
                outcomes[name] = future.result()
            else:
                why = "not started" if future.cancelled() else "still running or stopped"
                outcomes[name] = HostOutcome(name, status="failed", failed=1, error=f"interrupted ({why})")
                unfinished.append(name)
                if not future.cancelled():
                    # Its thread has not finished: journal what is known now (it overwrites this if it
                    # still comes back before the process ends).
                    work.journal.host_finished(work.run_id, name, "failed", outcomes[name].error)
        # A signal that cut no host short (every host had already finished, or finished its work in the
        # grace anyway) leaves the run's own code: 130 says a host was stopped, and none was.
        cut_short = {name for name in unfinished if outcomes[name].status not in ("ok", "changed")}
        return outcomes, interrupted and bool(cut_short)

    def _stop(self, running: dict[str, Future[HostOutcome]]) -> None:
        """The first interrupt: no new host starts (the caller cancelled them); the remote commands running
        now are signalled (WS-Man Signal ctrl_c and terminate, transport/winrm.py `interrupt`); the run
        waits at most `interrupt_grace` seconds for those hosts to come back, counting down (InterruptWait
        events, one a second); then every shell still open is deleted (`abort`). A second interrupt
        stops the wait and deletes the shells at once; both steps take at most SIGNAL_DEADLINE and
        ABORT_DEADLINE seconds, all hosts at the same time. Nothing here lets a KeyboardInterrupt out.

        Threads of hosts that did not come back may still be in a Receive: they end with the host's reply
        to the deleted shell, or at the connection's read timeout, and the process exits after them.
        """
        busy = sorted(running)
        signalling: dict[str, int] = {}
        try:
            if busy:
                self.emit(
                    ev.HostWarning(
                        "(run)",
                        f"interrupted: no new host starts; stopping the remote commands of {len(busy)} running "
                        f"host(s) ({', '.join(busy)}), then deleting every shell",
                        "press Ctrl-C again to stop waiting and delete the shells now",
                    )
                )
            # Signalled on threads of their own, so that the countdown starts at once and a host that does
            # not answer its Signal holds up neither the others nor a second Ctrl-C.
            signaller = threading.Thread(
                target=lambda: signalling.update(done=self.transports.interrupt_all(SIGNAL_DEADLINE).total),
                name="interrupt",
                daemon=True,
            )
            signaller.start()
            end = time.monotonic() + max(0.0, self.options.interrupt_grace)
            while True:
                pending = sorted(name for name, future in running.items() if not future.done())
                left = end - time.monotonic()
                if not pending or left <= 0:
                    break
                self.emit(ev.InterruptWait(math.ceil(left), pending))
                wait_futures([running[name] for name in pending], timeout=min(1.0, left))
        except KeyboardInterrupt:
            self.emit(
                ev.HostWarning(
                    "(run)",
                    f"interrupted again: deleting every shell now (at most {ABORT_DEADLINE:.0f} s)",
                )
            )
        left_open = self.transports.hosts()
        deleted = self.transports.abort_all(ABORT_DEADLINE) if left_open else None
        if busy or left_open:
            parts = [f"{signalling.get('done', 0)} running command(s) signalled"]
            if deleted is not None:
                parts.append(f"{deleted.total} remaining shell(s) deleted")
                if deleted.unanswered:
                    parts.append(f"no answer in time from {', '.join(sorted(deleted.unanswered))}")
            self.emit(
                ev.HostWarning(
                    "(run)",
                    "stopped: " + "; ".join(parts),
                    "a host that did not answer keeps its shell until its idle timeout"
                    if deleted is not None and deleted.unanswered
                    else "",
                )
            )

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


def _outcome_of(future: Future[HostOutcome]) -> BaseException | None:
    """The future's exception, waited for in steps of a second: a signal handler only runs when the main
    thread executes Python code, and a signal delivered to another thread (or simulated with
    `_thread.interrupt_main`) would otherwise wait until the host is done. A stop the handler noted whose
    KeyboardInterrupt never came (lost in a `__del__` or a gc callback, stop_request.py) is raised here, at
    the next step."""
    while True:
        try:
            return future.exception(timeout=1.0)
        except TimeoutError:
            if stop_request.pending():
                raise KeyboardInterrupt from None


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


def journaled_inventory(shown: str) -> str:
    """The inventory as `history` shows it later: each source as an absolute path, so a run from cron (whose
    folder is $HOME) still says which file it was. A source that is no path on this box stays as typed."""
    if os.path.exists(shown):
        return os.path.abspath(shown)
    return ",".join(os.path.abspath(part) if part and os.path.exists(part) else part for part in shown.split(","))
