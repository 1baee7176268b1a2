"""The pipeline for one host: facts -> host rules -> plan -> render -> (preflight | apply -> verify -> journal).

Per host, a run costs one read-only facts command and, when something must change, one apply command over
the same shell; the apply script ends by printing the new facts, which the operation verifies against its
plan. What the host reports per action is read into typed results (orchestrator.runner.results), and the
ones the journal keeps (exports made, old exports pruned) are journaled here, as the host reported them.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from orchestrator import events as ev
from orchestrator.actions import ExportVM, TakeCheckpoint
from orchestrator.facts import FactsError, HostFacts, facts_after_apply, load_document, parse_facts
from orchestrator.host_lock import LOCK_FILE, LOCK_FOLDER, STATE_FOLDER_FIX, admin_request, parse_holder
from orchestrator.host_rules import check_host
from orchestrator.locks import HostLock, HostLocked
from orchestrator.model import HostSpec
from orchestrator.operations import Operation
from orchestrator.plan import Plan
from orchestrator.render import Renderer, RenderError
from orchestrator.runner.journal_guard import RunJournal
from orchestrator.runner.results import Exported, ExportPruned, HostOutcome, Restored, typed_results
from orchestrator.statedir import StateDirError
from orchestrator.transport.base import Transport
from orchestrator.transport.errors import TransportError

# Dry-run preflights, one at a time. A preflight is pure CPU in this process (a simulator interpreting the
# apply script, no I/O), so under the interpreter lock two of them never run at once anyway; taking turns
# only spares the thread switches between them (every 5 ms, sys.getswitchinterval) and the caches they
# thrash. Hosts still gather their facts and wait on their networks in parallel.
_PREFLIGHTS = threading.Lock()


class RunContext(Protocol):
    """What the per-host pipeline needs of the run it is part of (orchestrator.runner.run.Runner)."""

    options: Any  # RunOptions
    transport_factory: Callable[[HostSpec, Path], Transport]

    def emit(self, event: ev.Event) -> None: ...

    def host_spec(self, name: str) -> HostSpec: ...

    def renderer_for(self, host: HostSpec) -> Renderer: ...


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class HostWork:
    """The pipeline for one host; one instance is shared by the worker threads (it keeps no per-host state)."""

    def __init__(self, runner: RunContext, operation: Operation, journal: RunJournal, run_id: int | None) -> None:
        self.runner = runner
        self.operation = operation
        self.journal = journal
        self.run_id = run_id
        self.options = runner.options

    def run_host(self, name: str) -> HostOutcome:
        host = self.runner.host_spec(name)
        self.runner.emit(ev.HostStarted(name))
        self.journal.host_started(self.run_id, name)
        # What the run learnt before a failure (the facts, the plan and its basis) stays in a failed outcome:
        # a move's undo needs the source VM as its export step saw it, even when that step's reply was lost.
        partial = HostOutcome(name)

        def failed() -> HostOutcome:
            return HostOutcome(name, facts=partial.facts, plan=partial.plan)

        try:
            if self.options.dry_run or name in self.options.held_locks:
                outcome = self._run(host, partial)
            else:
                with HostLock.acquire(self.options.state_dir, name, self.run_id, wait=self.options.wait_lock) as lock:
                    if lock.took_over is not None:
                        self._took_over(name, lock.took_over)
                    outcome = self._run(host, partial)
        except HostLocked as locked:
            outcome = HostOutcome(
                name, status="locked", error=str(locked), fix="wait for that run, or use --wait-lock"
            )
        except TransportError as exc:
            outcome = failed().fail(exc.message, exc.fix)
        except StateDirError as exc:  # the lock file could not be made: named, with its fix
            outcome = failed().fail(f"state directory: {exc.problem} ({exc.path})", exc.fix)
        except (FactsError, RenderError) as exc:
            outcome = failed().fail(str(exc))
        except Exception as exc:  # a bug must fail one host, not the whole run
            outcome = failed().fail(f"internal error: {type(exc).__name__}: {exc}")
        if outcome.status == "failed" and not outcome.failed:
            outcome.failed = 1
        self.journal.host_finished(self.run_id, name, outcome.status, outcome.error)
        if self.options.release_details:
            outcome.facts = outcome.plan = None
        self.runner.emit(
            ev.HostFinished(
                name,
                outcome.status,
                ok=outcome.ok,
                changed=outcome.changed,
                failed=outcome.failed,
                skipped=outcome.skipped,
                error=outcome.error,
                fix=outcome.fix,
            )
        )
        return outcome

    def _took_over(self, host: str, dead: Any) -> None:
        """A lock whose holder died is taken over, and said: that run may have left a change half-done."""
        run = f" run {dead.run_id}" if dead.run_id is not None else ""
        self.runner.emit(
            ev.HostWarning(
                host,
                f"took over the lock of a run that died:{run} `{dead.command}` on {dead.admin_host} (pid {dead.pid}, "
                f"since {dead.since}); it may have left a change half-done, which this run's facts will show",
                "see `orchestrate history` for what that run did; this run plans from the host as it is now",
            )
        )

    def _run(self, host: HostSpec, outcome: HostOutcome) -> HostOutcome:
        renderer = self.runner.renderer_for(host)
        transport = self.runner.transport_factory(host, self.options.state_dir)
        try:
            for warning in getattr(transport, "warnings", ()):
                # e.g. Basic over plain HTTP explicitly allowed: every run says so.
                self.runner.emit(ev.HostWarning(host.name, str(warning)))
            facts_doc = self._facts(host, renderer, transport)
            facts = parse_facts(facts_doc)
            outcome.facts = facts
            self.runner.emit(
                ev.HostFactsGathered(host.name, facts.caption, facts.version, facts.os_sku, len(facts.vms))
            )
            host, refused = self._check(host, facts, outcome)
            if outcome.status == "failed":
                return outcome
            plan = self.operation.plan(host, facts, renderer)
            outcome.plan = plan
            self._emit_plan(host, plan)
            if plan.empty:
                outcome.ok += 1
                outcome.status = "failed" if refused else "ok"
                return outcome
            # The host's own cmdlet parameters (from its facts) beat the version table: a patched host differs.
            script = renderer.render_apply(
                host, list(plan), facts.version, facts.cmdlets or None,
                lock=admin_request(self.options.command, self.run_id, self.options.wait_lock),
            )
            if self.options.show_scripts:
                self.runner.emit(ev.ScriptRendered(host.name, "apply", sha256(script), script))
            if self.options.dry_run:
                return self._preflight(host, plan, facts_doc, script, outcome, refused)
            return self._apply(host, plan, facts_doc, transport, script, outcome, refused)
        finally:
            transport.close()

    def _facts(self, host: HostSpec, renderer: Renderer, transport: Transport) -> dict[str, Any]:
        script = renderer.render_facts(host)
        if self.options.show_scripts:
            self.runner.emit(ev.ScriptRendered(host.name, "facts", sha256(script), script))
        result = transport.run(script, idempotent=True, timeout=host.operation_timeout, read_only=True)
        if not result.ok:
            raise FactsError(
                f"the facts script failed on the host: {_script_error(result.stdout, result.stderr)}"
            )
        return load_document(result.stdout)

    def _check(self, host: HostSpec, facts: HostFacts, outcome: HostOutcome) -> tuple[HostSpec, list[str]]:
        """Host problems fail the host; a VM's problem refuses that VM only (it is dropped from the plan)."""
        refused: list[str] = []
        for problem in check_host(host, facts):
            if problem.vm is None:
                outcome.fail(problem.message, problem.fix)
                return host, refused
            self.runner.emit(
                ev.HostWarning(host.name, f"VM {problem.vm!r} refused: {problem.message}", problem.fix)
            )
            refused.append(problem.vm)
            outcome.failed += 1
            outcome.error = outcome.error or f"VM {problem.vm!r} refused: {problem.message}"
            outcome.fix = outcome.fix or problem.fix
        if refused:
            host = replace(host, vms=tuple(vm for vm in host.vms if vm.name not in refused))
        return host, refused

    def _emit_plan(self, host: HostSpec, plan: Plan) -> None:
        for note in plan.notes:
            self.runner.emit(ev.HostWarning(host.name, note))
        for index, action in enumerate(plan):
            changes = [[prop, before, after] for prop, before, after in action.changes()]
            self.runner.emit(ev.PlannedAction(host.name, index, action.summary(), changes))
        self.runner.emit(ev.HostPlanned(host.name, len(plan), list(plan.notes)))

    def _preflight(
        self,
        host: HostSpec,
        plan: Plan,
        facts_doc: dict[str, Any],
        script: str,
        outcome: HostOutcome,
        refused: list[str],
    ) -> HostOutcome:
        """Run the apply script on a simulator seeded with the observed facts: the host itself is not touched."""
        from orchestrator.simulator import Simulator
        from orchestrator.transport.stdin import channel

        # A guest's files go along masked (every secret reads ********): the preflight runs the whole setup
        # and wait on the copy, and no real secret ever reaches a dry run.
        secrets = guest_secrets(self.runner.renderer_for(host), plan, reveal=False)
        with _PREFLIGHTS:
            result = Simulator.from_facts(facts_doc).run(*channel(script, secrets))
        error = None
        if result.exit_code != 0:
            error = _script_error(result.stdout, result.stderr)
        self.runner.emit(ev.PreflightDone(host.name, error is None, error))
        outcome.changed = len(plan)
        if error:
            return outcome.fail(f"preflight: the apply script would fail: {error}")
        outcome.status = "failed" if refused else "changed"
        return outcome

    def _apply(
        self,
        host: HostSpec,
        plan: Plan,
        facts_doc: dict[str, Any],
        transport: Transport,
        script: str,
        outcome: HostOutcome,
        refused: list[str],
    ) -> HostOutcome:
        digest = sha256(script)
        started = datetime.now(UTC)
        retries_before = len(getattr(transport, "retries", ()))
        # A guest's answer file (with its passwords) goes after the script on stdin, never into its text, so
        # the script the journal hashes and a user sees holds no secret (orchestrator.transport.stdin).
        secrets = guest_secrets(self.runner.renderer_for(host), plan, reveal=True)
        extra = {"secrets": secrets} if secrets else {}
        result = transport.run(
            script,
            idempotent=True,  # every action re-checks state first, so the script is safe to repeat
            timeout=host.operation_timeout + _waiting_seconds(plan) + self.options.wait_lock,
            on_output=ProgressLines(lambda line: self._progress(host.name, "stdout", line)),
            **extra,
        )
        secrets = {}
        try:
            document = load_document(result.stdout)
        except FactsError:
            document = {}
        finished = datetime.now(UTC)
        reported = {a.get("index"): a for a in _as_list(document.get("actions")) if isinstance(a, dict)}
        outcome.results = typed_results(plan, reported)
        self._journal_results(host.name, outcome)
        for restored in outcome.of_type(Restored):
            if (unverified := restored.warning()) is not None:
                self.runner.emit(ev.HostWarning(host.name, unverified))
        failed = document.get("failed") or None
        failed_index = failed.get("index") if isinstance(failed, dict) else None
        # A reply lost after the host ran the script makes the transport run it again; that second run finds
        # the work done and says "not changed". Under our lock nothing else changes the host, so a planned
        # action the rerun found done was done by the lost first run: journal it as changed.
        reran = any(
            getattr(error, "command_started", False)
            for error in list(getattr(transport, "retries", ()))[retries_before:]
        )
        done = []
        for index, action in enumerate(plan):
            status, error = self._action_status(index, reported, failed_index, failed, result)
            if reran and status == "ok":
                status = "changed"
            done.append((index, action.summary(), status, error))
        self.journal.record_actions(self.run_id, host.name, done, started, finished, script_sha256=digest)
        for index, summary, status, error in done:
            self.runner.emit(ev.ActionDone(host.name, index, summary, status, error))
            setattr(outcome, status, getattr(outcome, status) + 1)
        if "locked" in document and not document.get("ok"):
            return self._host_locked(host.name, document, outcome)
        if not result.ok and not document and not (result.stderr or "").strip():
            return outcome.fail(
                f"apply failed: the script ended on the host with exit code {result.exit_code} and no report: "
                "something stopped it there (a terminate, Stop-Process, the WinRM service, a restart) after it "
                "may have made some of its changes, so the actions are marked skipped, none confirmed",
                _after_a_stopped_script(self.options.command, plan),
            )
        if not result.ok or failed is not None:
            message = (
                failed.get("error")
                if isinstance(failed, dict)
                else _script_error(result.stdout, result.stderr)
            )
            return outcome.fail(f"{self.options.command.split()[0]} failed: {message}")  # "rollback failed: ..."
        try:
            new_facts = parse_facts(facts_after_apply(facts_doc, document["facts"]))
        except (KeyError, TypeError, FactsError) as exc:
            return outcome.fail(f"apply finished but its result could not be read: {exc}")
        outcome.facts = new_facts
        verdict = self.operation.verify(host, plan, new_facts)
        for warning in verdict.warnings:
            self.runner.emit(ev.HostWarning(host.name, warning))
        if verdict.errors:
            return outcome.fail("; ".join(verdict.errors), verdict.fix)
        if outcome.status != "failed":
            outcome.status = "failed" if refused else ("changed" if outcome.changed else "ok")
        return outcome

    @staticmethod
    def _host_locked(name: str, document: dict[str, Any], outcome: HostOutcome) -> HostOutcome:
        """The apply script could not take the lock on the host (orchestrator.host_lock): nothing of it ran.
        A readable holder makes the host `locked` (exit 3, like the admin box's own lock); without one the
        open failed for a reason of its own, which fails the host with that reason."""
        refusal = document.get("state_folder")
        if refusal:
            return outcome.fail(
                f"apply failed: {refusal}: its owner could change who may write there, so it is not used and "
                "nothing was changed",
                STATE_FOLDER_FIX,
            )
        holder = parse_holder(document.get("locked"))
        if holder is None:
            return outcome.fail(
                f"apply failed: {document.get('error') or 'could not take the host lock'} ({LOCK_FILE})",
                "if another run is changing this host, wait for it; otherwise check that the account may "
                f"write {LOCK_FOLDER} on the host",
            )
        outcome.status = "locked"
        outcome.error = f"{name} is locked on the host by {holder.describe()}; nothing was changed"
        outcome.fix = ("wait for that run to finish (the lock goes when its PowerShell ends, killed or not); "
                       "`orchestrate history` on that box tells what it does")
        return outcome

    def _journal_results(self, host: str, outcome: HostOutcome) -> None:
        """Exports the host made and old ones it removed: `--keep` later prunes only what the journal lists."""
        for result in outcome.results:
            if isinstance(result, Exported) and not result.check_only:
                self.journal.record_export(self.run_id, host, result.vm, result.path, result.size_bytes)
            elif isinstance(result, ExportPruned):
                self.journal.export_removed(result.export_id)

    @staticmethod
    def _action_status(
        index: int, reported: dict, failed_index: int | None, failed: Any, result: Any
    ) -> tuple[str, str | None]:
        if index == failed_index:
            return "failed", str(failed.get("error") or "failed")
        if index in reported:
            return ("changed" if reported[index].get("changed") else "ok"), None
        if failed_index is not None or not result.ok:
            return "skipped", None
        return "failed", "the script did not report this action"

    def _progress(self, host: str, stream: str, text: str) -> None:
        if stream != "stdout" or "##progress " not in text:
            return
        for line in text.splitlines():
            if line.startswith("##progress "):
                try:
                    record = json.loads(line[len("##progress ") :])
                    if record.get("ready") is True:  # a guest finished its setup (templates/actions/wait_guests)
                        self.runner.emit(
                            ev.GuestReady(
                                host,
                                str(record.get("vm", "")),
                                str(record.get("computer_name", "")),
                                int(record.get("edition_sku", 0)),
                                int(record.get("seconds", 0)),
                            )
                        )
                        continue
                    self.runner.emit(
                        ev.Progress(
                            host,
                            str(record.get("vm", "")),
                            str(record.get("op", "")),
                            int(record.get("percent", 0)),
                            str(record.get("detail", "")),
                        )
                    )
                except (ValueError, TypeError):
                    continue


class ProgressLines:
    """An on_output callback that hands on whole stdout lines: a transport's chunks (WinRM Receive replies)
    may split a `##progress` line anywhere, so the part after the last newline waits for the next chunk."""

    def __init__(self, on_line: Callable[[str], None]) -> None:
        self.on_line = on_line
        self.pending = ""

    def __call__(self, stream: str, text: str) -> None:
        if stream != "stdout":
            return
        *lines, self.pending = (self.pending + text).split("\n")
        for line in lines:
            self.on_line(line.rstrip("\r"))


def guest_secrets(renderer: Renderer, plan: Plan, *, reveal: bool) -> dict[str, str]:
    """The files each PrepareGuest of the plan reads from stdin: the VM's answer file (real only with
    `reveal`, for the WinRM channel; masked for a preflight) and its SetupComplete.cmd."""
    from orchestrator.actions import GUEST_READY_NAME, PrepareGuest
    from orchestrator.render import render_answer_file, render_setup_complete

    secrets: dict[str, str] = {}
    for action in plan:
        if isinstance(action, PrepareGuest):
            secrets[action.answer_secret] = render_answer_file(renderer, action.vm, reveal=reveal)
            secrets[action.setup_secret] = render_setup_complete(renderer, GUEST_READY_NAME, action.token_slot)
    return secrets


def _waiting_seconds(plan: Plan) -> float:
    """How much longer than the host's operation timeout the apply may take: its guests' setup wait."""
    from orchestrator.actions import GUEST_POLL_SECONDS, WaitGuestsReady

    return float(sum(a.timeout_seconds + 2 * GUEST_POLL_SECONDS for a in plan if isinstance(a, WaitGuestsReady)))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _after_a_stopped_script(command: str, plan: Plan) -> str:
    """What to do when a changing script was stopped on the host. Mostly the same command again, whose every
    action re-checks the host first. Kill sweeps (every change point of each command, then the command again)
    showed where that is not the whole answer, and the hint says so:
    - a move goes on from its record on the host (orchestrator.move_records);
    - an import cannot: the rerun refuses the VM or folder the stopped one made;
    - a checkpoint's rerun refuses, as "already exists", every VM the stopped one reached: it cannot tell
      that checkpoint from an older one of the same name, and refusing is what keeps a rollback from landing
      on an older state; the VMs it did not reach get theirs;
    - an export's rerun writes a new folder, and the stopped one's stays behind, perhaps half-written, and
      unknown to the journal, so `--keep` never removes it."""
    verb = command.split()[0] if command else "apply"
    if verb == "import":
        return ("a stopped import is not finished by running it again: the host may hold a VM it made (perhaps still "
                "under the export's name, before the rename to --name) and its folders; check Get-VM and the VM and "
                "disk folders on the host, remove what the stopped import made, and import again")
    if verb == "move":
        return ("a move puts the VM back itself when a step fails; if that did not happen, run `orchestrate move` "
                "again with --resume to finish it or --undo to put it back: the move's record on the host says how "
                "far it came")
    taken = sorted({action.name for action in plan if isinstance(action, TakeCheckpoint)})
    if verb == "checkpoint" and taken:
        names = ", ".join(repr(name) for name in taken)
        return (f"run `orchestrate checkpoint` again for the VMs it did not reach: those it reached already hold "
                f"{names} and are refused as 'already exists' (that checkpoint is this stopped run's if "
                "Get-VMSnapshot shows it made after the run began; nothing is taken twice)")
    folders = [action.folder for action in plan if isinstance(action, ExportVM) and not action.check_only]
    if verb == "export" and folders:
        return (f"run `orchestrate export` again: it writes new folders. The stopped run's ({', '.join(folders)}, "
                "perhaps with a -2, -3 ... suffix) may be half-written and are not in the journal, so `--keep` never "
                "removes them: delete them by hand once no export of the VM runs on the host (Hyper-V's own export job can "
                "outlive the stopped script)")
    return (f"run `orchestrate {verb}` again: every action re-checks the host before it changes anything, and "
            "finishes what the stopped script left")


def _first_line(text: str, limit: int = 500) -> str:
    text = (text or "").strip()
    line = text.splitlines()[0] if text else "no output"
    return line if len(line) <= limit else line[:limit] + "..."


def _script_error(stdout: str, stderr: str) -> str:
    try:
        document = load_document(stdout)
        if document.get("error"):
            return str(document["error"])
        failed = document.get("failed")
        if isinstance(failed, dict) and failed.get("error"):
            return str(failed["error"])
    except FactsError:
        pass
    return _first_line(stderr or stdout)
