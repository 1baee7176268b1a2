"""What the subcommands share to read their input and to show results: loading the inventory, selecting
hosts, choosing a reporter, one-line results, refusals of bad arguments, and running an operation through
the Runner, so every command that touches hosts gets locks, the journal, dry-run preflight and JSON events
alike. The exit codes themselves are orchestrator.exit_codes."""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

import click

from orchestrator import exit_codes
from orchestrator.cli.options import default_state_dir
from orchestrator.model import Finding, Inventory


def print_findings(findings: Iterable[Finding], output: str) -> None:
    """Findings as `PATH:LINE:COL: severity: message` lines on stderr (stdout stays for JSON in json mode)."""
    for finding in findings:
        click.echo(finding.format(), err=True)


def output_mode() -> str:
    """The running command's --output (text when there is none, as for `--version`)."""
    ctx = click.get_current_context(silent=True)
    return str(ctx.params.get("output") or "text") if ctx is not None else "text"


def command_name() -> str:
    ctx = click.get_current_context(silent=True)
    return str(ctx.info_name) if ctx is not None and ctx.info_name else "orchestrate"


def json_line(event: str, **fields: Any) -> None:
    """One line of the JSON-lines contract (docs/output.md): an object whose first key is `event`."""
    click.echo(json.dumps({"event": event, **fields}, default=str, ensure_ascii=False))


def finish(exit_code: int, **fields: Any) -> NoReturn:
    """End a command that is not a run: with --output json its recap is the last line; then exit."""
    if output_mode() == "json":
        json_line("recap", command=command_name(), exit_code=exit_code, **fields)
    sys.exit(exit_code)


def invalid_input(errors: list[str], summary: str | None = None) -> NoReturn:
    """Exit 2 before any host is contacted: each error on stderr; with --output json an `invalid_input`
    line (the errors, as text) and the recap on stdout, so a script reading JSON always gets a recap."""
    for message in errors:
        click.echo(f"error: {message}", err=True)
    if summary:
        click.echo(summary, err=True)
    if output_mode() == "json":
        json_line("invalid_input", errors=errors)
    finish(exit_codes.INVALID_INPUT)


def load_inventory_or_exit(
    path: str | None, output: str, ask_pass: bool = False, *, limit: str | None = None
) -> Inventory:
    """Load and validate; on any error print the findings and exit 2 before any host is contacted.

    -i sources and vault passwords come from the command's options when it has them
    (options.inventory_options). With `limit`, only the hosts it selects are checked, so a broken host
    elsewhere does not stop a run on the others (pass it only when the command touches no other host).
    """
    from orchestrator.cli.options import inventory_inputs
    from orchestrator.inventory import load_inventory
    from orchestrator.inventory.fleet import foreign_hosts

    sources, vault = inventory_inputs(path)
    context = click.get_current_context(silent=True)
    params = context.params if context is not None else {}
    prompt = password_prompt() if ask_pass else None
    inventory = load_inventory(sources, ask_pass=prompt, vault=vault, limit=limit)
    print_findings(inventory.findings, output)
    if params.get("verbosity"):
        for name, reason in foreign_hosts(inventory.hostvars).items():
            click.echo(f"{name}: left alone, not a MultiPoint host ({reason})", err=True)
    if inventory.errors:
        if output == "json":
            json_line("invalid_input", errors=[f.format() for f in inventory.errors])
        click.echo(f"{inventory.path}: {len(inventory.errors)} error(s); nothing was contacted", err=True)
        finish(exit_codes.INVALID_INPUT)
    return inventory


def password_prompt() -> Callable[[str], str]:
    """--ask-pass: read each password from the terminal. Without one (cron, a pipe) there is nobody to ask:
    exit 2 with what to use instead, rather than getpass's GetPassWarning and a password echoed or read
    from stdin."""
    if not has_terminal():
        refuse(
            "--ask-pass needs a terminal to read the password from, and this run has none (cron, a pipe); "
            "set the password in the environment and point the inventory at it "
            "(ansible_password: \"{{ lookup('env', 'NAME') }}\") or use orchestrate_password_file"
        )

    def ask(host: str) -> str:
        return getpass.getpass(f"WinRM password for {host}: ")

    return ask


def has_terminal() -> bool:
    """Whether getpass can read from a terminal: it opens /dev/tty on POSIX (so a redirected stdin is fine
    at a console) and falls back to stdin with a GetPassWarning when there is none."""
    if os.name == "nt":
        return sys.stdin.isatty()
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return False
    os.close(fd)
    return True


def select_or_exit(inventory: Inventory, limit: str | None) -> list[str]:
    """The hosts `limit` selects, in inventory order; exit 2 when it is malformed or selects none of ours.

    When the inventory was loaded with this same limit, its selection is taken as it is (intersected with
    our hosts) and the pattern is NOT evaluated again: evaluating twice is not idempotent for a subscript
    (`lab[1:2]` over the already narrowed hv02, hv03 would give hv03 alone), and Ansible evaluates it once,
    over every inventory host (ansible/inventory/manager.py subset() and get_hosts()).
    """
    from orchestrator.patterns import PatternError, no_match_message, select_hosts, universe_of

    selection = inventory.selection
    if limit is not None and selection is not None and selection.pattern == limit:
        if selection.error is not None:
            refuse(f"--limit {limit!r}: {selection.error}")
        chosen = set(selection.hosts)
        hosts = [name for name in inventory.hosts if name in chosen]
        if not hosts:  # only hosts that are not ours: the same message as a pattern matching nothing
            refuse(f"--limit {limit!r}: {no_match_message(universe_of(inventory), limit)}")
        return hosts
    try:
        return select_hosts(inventory, limit)
    except PatternError as exc:
        refuse(f"--limit {limit!r}: {exc}")


def host_or_exit(inventory: Inventory, name: str, option: str) -> None:
    """`--host`/`--to` must name an inventory host exactly; else say which one was probably meant."""
    from orchestrator.patterns import close_names, host_list

    if name not in inventory.hosts:
        hosts = list(inventory.hosts)
        lines = [f"{option} {name!r} is not a host of the inventory"]
        guesses = close_names(name, hosts)
        if guesses:
            lines.append("did you mean " + " or ".join(repr(g) for g in guesses) + "?")
        lines.append(host_list(hosts))
        refuse("\n  ".join(lines))


def refuse(message: str) -> NoReturn:
    """An argument the command cannot use: say why on stderr and exit 2, before any host is contacted."""
    invalid_input([message])


def refuse_path(path: str, option: str, *, share_only: bool = False) -> None:
    """Exit 2 before any host is contacted when a path option cannot mean the same folder on the hosts."""
    from orchestrator.operations.export import path_problem

    problem = path_problem(path, share_only=share_only)
    if problem is not None:
        refuse(f"{option}: {problem}")


def resolve_state_dir(state_dir: Path | None) -> Path:
    return state_dir if state_dir is not None else default_state_dir()


def state_dir_or_exit(state_dir: Path | None, output: str, *, writable: bool) -> Path:
    """The state directory, checked before any host is contacted; a fault (read-only, full, a journal that
    is garbage, damaged, emptied or from a newer orchestrator) is one message naming the path and the fix,
    a JSON error event, and exit 2. The journal is opened for real and quick_check'ed here
    (runner.journal_guard.preflight): what the run would find is found while nothing was contacted."""
    from orchestrator.statedir import StateDirError

    state = resolve_state_dir(state_dir)
    try:
        check_state(state, writable=writable)
    except StateDirError as exc:
        refuse_state_dir(exc, output)
    return state


def check_state(state: Path, *, writable: bool) -> None:
    """The whole preflight of a state directory: the directory and its locks (statedir.check_state_dir),
    the journal itself (runner.journal_guard.preflight), then room for the run's first writes. Raises StateDirError."""
    from orchestrator.runner.journal_guard import preflight
    from orchestrator.statedir import check_room, check_state_dir

    check_state_dir(state, writable=writable)
    preflight(state, writable=writable)
    if writable:
        check_room(state)


def refuse_state_dir(exc: Any, output: str) -> NoReturn:
    """Exit 2 for a state directory (or journal) that cannot serve the command, before any host is
    contacted: one `error:` line with the fix; with --output json an `error` event (kind state_dir), the
    `invalid_input` line and the recap."""
    if output == "json":
        click.echo(
            json.dumps(
                {
                    "event": "error",
                    "kind": "state_dir",
                    "path": str(exc.path),
                    "problem": exc.problem,
                    "fix": exc.fix,
                }
            )
        )
    refuse(str(exc))


def preview_state_dir(state_dir: Path | None, output: str) -> tuple[Path, bool]:
    """For a preview (plan, schedules): (the state directory, whether the run is journaled). A read-only one
    is fine, unjournaled; any other fault exits 2 as state_dir_or_exit does."""
    from orchestrator.statedir import StateDirError

    state = resolve_state_dir(state_dir)
    try:
        check_state(state, writable=True)
        return state, True
    except StateDirError as exc:
        state_dir_or_exit(state, output, writable=False)
        # Say what is wrong: read-only is the usual reason, but a file among the folder's parents is another.
        click.echo(f"note: this preview is not recorded in `orchestrate history`: {exc.problem}", err=True)
        return state, False


def reporter_for(output: str, verbosity: int) -> Any:
    """The event sink of a run: JSON lines, or text with live progress (rich is imported only when needed).
    Guarded: a closed pipe or a full disk under the output must not fail a host halfway (cli/closed_output.py)."""
    from orchestrator.cli.closed_output import ClosedOutputGuard
    from orchestrator.report import JsonReporter, TextReporter

    return NotesContact(
        ClosedOutputGuard(JsonReporter(verbosity=verbosity) if output == "json" else TextReporter(verbosity=verbosity))
    )


class NotesContact:
    """Passes events on, and notes on the command's context when a host is first contacted: an interrupt
    that escapes a run after that must not be reported as "before any host was contacted" (cli/group.py)."""

    def __init__(self, reporter: Any) -> None:
        from orchestrator import events as ev

        self.reporter = reporter
        self.started = ev.HostStarted
        # Events come from the hosts' threads, where click has no current context: keep its meta now.
        context = click.get_current_context(silent=True)
        self.meta: dict[str, Any] = context.meta if context is not None else {}

    def __call__(self, event: Any) -> None:
        from orchestrator.cli.group import CONTACTED

        if isinstance(event, self.started):
            self.meta[CONTACTED] = True
        self.reporter(event)

    def close(self) -> None:
        self.reporter.close()


def say(output: str, event: str, *, text: str, problem: bool = False, **fields: Any) -> None:
    """One line for the admin: JSON lines on stdout with --output json, else text (on stderr when it is a
    `problem`, as the reporter puts failures: report.py)."""
    if output == "json":
        json_line(event, **fields)
    else:
        if problem:
            sys.stdout.flush()  # one log for both streams keeps the order
        click.echo(text, err=problem)


def run_operation(
    inventory_path: str,
    operation: Any,
    *,
    output: str,
    verbosity: int,
    limit: str | None,
    state_dir: Path | None,
    dry_run: bool = False,
    wait_lock: float = 0.0,
    forks: int = 10,
    ask_pass: bool = False,
    after: Callable[[Any, str], None] | None = None,
    quiet: bool = False,
    show_scripts: bool = False,
    templates: Path | None = None,
    command: str | None = None,
    **inventory_inputs: object,
) -> None:
    """Load, select, run `operation` on every selected host, exit with the run's code (0, 1, 2 or 3).
    (`inventory_inputs`, -i and the vault options, are read from the click context by load_inventory_or_exit.)"""
    from orchestrator.cli.vm_selection import vm_pattern_problem
    from orchestrator.runner import Runner, RunOptions
    from orchestrator.runner.journal_guard import JournalUnavailable

    inventory = load_inventory_or_exit(inventory_path, output, ask_pass, limit=limit)
    hosts = select_or_exit(inventory, limit)
    vm_problem = vm_pattern_problem(inventory, hosts, getattr(operation, "vm_glob", None), limited=limit is not None)
    if vm_problem is not None:
        refuse(vm_problem)
    # The run needs the typed hosts only. The variables as written, each value with its file:line origin
    # (about 30 KB per host), were for the checks and the selection above: let them go before the run, or a
    # 5,000-host run carries them to its end (issue 18: a dry run's peak memory grows linearly).
    inventory = replace(inventory, hostvars={})
    # After the input is known good (a bad inventory leaves no trace, not even a state dir), before any host.
    if dry_run or quiet:
        state, journaled = preview_state_dir(state_dir, output)
    else:
        state, journaled = state_dir_or_exit(state_dir, output, writable=True), True
    options = RunOptions(
        state_dir=state,
        journal=journaled,
        release_details=after is None,
        forks=forks,
        dry_run=dry_run,
        wait_lock=wait_lock,
        show_scripts=show_scripts,
        templates_dir=templates,
        command=command or operation.command + (" --dry-run" if dry_run and not quiet else ""),
    )
    from orchestrator.cli.hints import with_simulated_fixes

    reporter = reporter_for(output, verbosity)
    emit: Callable[[Any], None] = reporter
    if quiet and output != "json":
        emit = _problems_only(reporter)
    emit = with_simulated_fixes(inventory, options.state_dir, emit)
    held = RecapLast(emit) if output == "json" else None
    unavailable: JournalUnavailable | None = None
    try:
        result = Runner(inventory, options, held or emit, operation=operation).apply(hosts)
        if after is not None:
            after(result, output)
        if held is not None:
            held.release()
    except JournalUnavailable as exc:
        # The preflight passed, but the journal failed to open a moment later (filled up, replaced): the
        # runner raises this before any host is contacted, so it is the preflight's refusal, exit 2.
        unavailable = exc
    finally:
        reporter.close()
    if unavailable is not None:
        refuse_state_dir(unavailable, output)
    sys.exit(result.exit_code)


class RecapLast:
    """Passes a run's events on, but keeps its recap until the command has printed its results (exports,
    imports, task listings), so with --output json the recap is always the last line."""

    def __init__(self, emit: Callable[[Any], None]) -> None:
        self.emit = emit
        self.recap: Any = None

    def __call__(self, event: Any) -> None:
        from orchestrator import events as ev

        if isinstance(event, ev.Recap):
            self.recap = event
        else:
            self.emit(event)

    def release(self) -> None:
        if self.recap is not None:
            self.emit(self.recap)
            self.recap = None


def _problems_only(reporter: Callable[[Any], None]) -> Callable[[Any], None]:
    """For read-only listings: pass on warnings and failed hosts, not the plan/recap of a run that plans nothing."""
    from orchestrator import events as ev

    def emit(event: Any) -> None:
        if isinstance(event, ev.HostWarning) or (isinstance(event, ev.HostFinished) and event.status != "ok"):
            reporter(event)

    return emit
