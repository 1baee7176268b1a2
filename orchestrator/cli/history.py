"""`orchestrate history`: the runs the journal remembers, newest first, as a table or JSON lines (one `run`
line per run, then the recap)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from orchestrator import exit_codes
from orchestrator.cli.group import main
from orchestrator.cli.options import common_options
from orchestrator.cli.output import finish, json_line, refuse, refuse_state_dir, state_dir_or_exit
from orchestrator.journal import Journal, JournalError, RunDetail, journal_path
from orchestrator.patterns import NoHostMatched, PatternError, select_names

STATUS_STYLES = {
    "ok": "green",
    "changed": "yellow",
    "failed": "red",
    "locked": "red",
    "interrupted": "magenta",
    "running": "cyan",
    "skipped": "dim",
}


@main.command("history")
@click.option(
    # no -n: that is --dry-run in every other command
    "--last", type=click.IntRange(min=1), default=20, show_default=True, help="How many runs to show."
)
@common_options
def history(last: int, output: str, verbosity: int, limit: str | None, state_dir: Path | None) -> None:
    """Show past runs: when, what, on which inventory, and how each host ended.

    \b
    -v adds every host's result and every action with its timing and error.
    --limit PATTERN keeps the runs that touched a matching host (names and globs; groups are not known here).
    Runs whose process died are shown as interrupted. The journal is in the state directory
    (--state-dir), the same one whichever folder you run from.

    \b
    Examples:
      orchestrate history
      orchestrate history --last 5 -v
      orchestrate history --limit hv01.demo.local --output json

    Exit codes: 0 shown (also when there is none), 2 a bad --limit (malformed, or matching no host the
    journal has seen), or a state directory or journal that cannot be read, 130 interrupted, 141 the
    reader of the output went away (| head). Reads only: works on a read-only state directory.
    """
    # A state dir that is a file (or lies under one) is refused like apply refuses it, not "no runs";
    # a journal that is damaged or from a newer orchestrator too. Nothing is created or written.
    state = state_dir_or_exit(state_dir, output, writable=False)
    _refuse_under_a_file(state, output)
    details = _load(state, last, limit)
    if output == "json":
        for detail in details:
            json_line("run", **_as_json(detail, verbosity))
        finish(exit_codes.OK, runs=len(details), state_dir=str(state))
    console = Console(highlight=False, soft_wrap=False)
    if not console.is_terminal:
        # A log, a pipe or cron's mail has no width to fit: rows take the width their names and errors need,
        # so no host name or status is ever cut to '…' (audit I M6; the recap does the same, report.py).
        console = Console(highlight=False, soft_wrap=False, width=_LOG_WIDTH)
    if not details:
        where = f" touching hosts matching {limit!r}" if limit else ""
        console.print(f"No runs{where} recorded in {state}.")
        return
    console.print(_runs_table(details))
    if verbosity:
        for detail in details:
            _print_detail(console, detail, verbosity)


_LOG_WIDTH = 4096


def _refuse_under_a_file(state: Path, output: str) -> None:
    """A state dir below a file (`notes.txt/state`, a typo) cannot hold a journal: history says so instead
    of "No runs recorded", which monitoring would take for "nothing ran". (A preview goes on there,
    unrecorded; history has nothing to show but the mistake.)"""
    from orchestrator.statedir import wrong_kind

    if state.exists():
        return
    existing = next((parent for parent in state.parents if parent.exists()), None)
    if existing is not None and not existing.is_dir():
        refuse_state_dir(wrong_kind(existing, "read the state directory"), output)


def _load(state: Path, last: int, limit: str | None) -> list[RunDetail]:
    """The runs to show; exits 2 on a bad pattern or an unusable journal. Never creates a state dir, never
    writes: the journal is opened read-only (sqlite `mode=ro`), so history works on a read-only state
    directory, and a run whose process died shows as interrupted without being marked (the next run's
    start marks it: Runner.apply)."""
    if not journal_path(state).exists():
        return []
    try:
        with Journal.open(state, read_only=True) as journal:
            hosts = None
            if limit is not None:
                names = journal.host_names()
                try:
                    hosts = select_names(names, limit)
                except NoHostMatched:
                    if not names:  # no host recorded yet: no name can be wrong, there is just nothing
                        return []
                    raise
            return [journal.run(summary.id) for summary in journal.runs(last=last, hosts=hosts)]
    except PatternError as error:  # malformed, or matching no host the journal has seen (with close names)
        refuse(f"--limit {limit!r}: {error}")
    except (JournalError, sqlite3.DatabaseError) as error:
        refuse(f"cannot read the journal in {state}: {error}")


def _as_json(detail: RunDetail, verbosity: int) -> dict[str, Any]:
    data = detail.to_dict()
    if not verbosity:
        data.pop("actions")
    return data


def _runs_table(details: list[RunDetail]) -> Table:
    """One line per run, narrow enough for an 80-column terminal or a cron mail."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1), collapse_padding=True)
    table.add_column("Run", justify="right", no_wrap=True)
    table.add_column("Started (UTC)", no_wrap=True)
    table.add_column("Command", overflow="fold", min_width=7)
    table.add_column("Inventory", overflow="fold", min_width=9)
    table.add_column("ok/chg/fail", justify="center", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Took", justify="right", no_wrap=True)
    for detail in details:
        run = detail.run
        counts = run.counts
        hosts = Text.assemble(
            (str(counts.ok), "green"),
            "/",
            (str(counts.changed), "yellow"),
            "/",
            (str(counts.failed + counts.locked), "red"),
        )
        table.add_row(
            str(run.id),
            _when(run.started),
            run.command.removeprefix("orchestrate "),
            run.inventory,
            hosts,
            _status(run.status, run.exit_code),
            _duration(run.duration),
        )
    return table


def _print_detail(console: Console, detail: RunDetail, verbosity: int) -> None:
    run = detail.run
    console.print()
    header = f"Run {run.id}: {run.command} {run.inventory} (pid {run.pid} on {run.admin_host})"
    console.print(Text(header, style="bold"))
    if verbosity > 1 and run.options:
        console.print(f"  options: {json.dumps(dict(run.options), sort_keys=True)}")
    hosts = Table(show_edge=False, pad_edge=False, box=None)
    hosts.add_column("Host", no_wrap=True)
    hosts.add_column("Status", no_wrap=True)
    hosts.add_column("Error", overflow="fold")
    for result in detail.hosts:
        hosts.add_row(result.host, _status(result.status), result.error or "")
    if detail.hosts:
        console.print(hosts)
    if detail.actions:
        actions = Table(show_edge=False, pad_edge=False, box=None)
        actions.add_column("Host", no_wrap=True)
        actions.add_column("#", justify="right")
        actions.add_column("Action", overflow="fold")
        actions.add_column("Status", no_wrap=True)
        actions.add_column("Took", justify="right", no_wrap=True)
        actions.add_column("Error", overflow="fold")
        if verbosity > 1:
            actions.add_column("Script sha256", no_wrap=True)
        for action in detail.actions:
            row = [
                action.host,
                str(action.index),
                action.summary,
                _status(action.status),
                _duration(action.duration),
                action.error or "",
            ]
            if verbosity > 1:
                row.append((action.script_sha256 or "")[:12])
            actions.add_row(*row)
        console.print(actions)
    for export in detail.exports:
        console.print(f"  exported {export.vm} on {export.host} to {export.path} ({export.size_bytes} bytes)")


def _status(status: str, exit_code: int | None = None) -> Text:
    label = status if exit_code is None else f"{status} ({exit_code})"
    return Text(label, style=STATUS_STYLES.get(status, ""))


def _when(stamp: str) -> str:
    """`2026-11-25T19:45:01.123+00:00` -> `2026-11-25 19:45`."""
    return stamp[:16].replace("T", " ")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"
