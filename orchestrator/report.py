"""Turns run events into what the admin reads: a text recap with live progress, or JSON lines.

Text: one line per notable event (facts, each planned change as before -> after, each action's outcome,
warnings), a live spinner per host while it works on a terminal, and a recap table. Without a terminal (cron,
a log file) there is nothing live to redraw, so progress comes as plain lines instead: when a host starts,
when it starts applying, each long job per quarter done, and how each host ended. JSON: stdout carries only JSON lines, one object per event; human text goes to stderr.
Both reporters see the same events, so they can never disagree.

What needs a person goes to stderr in text mode too: warnings, a failed action or preflight, each failed or
locked host, and, when the exit is not 0, one summary line naming the hosts (`problem_summary`; JSON mode
writes the same line). `orchestrate apply ... >/dev/null` in a crontab then mails exactly the problems, and
`>> run.log 2>> run.err` leaves run.err empty on a good night.
"""

from __future__ import annotations

import functools
import json
import sys
from typing import Any, TextIO

from rich.console import Console
from rich.control import strip_control_codes
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn
from rich.table import Table
from rich.text import Text

from orchestrator import events as ev
from orchestrator import exit_codes
from orchestrator.sizes import format_size

_SIZE_PROPERTIES = {"memory", "dynamic_memory", "disk (new)"}
_STATUS_STYLE = {
    "ok": "green",
    "changed": "yellow",
    "failed": "bold red",
    "skipped": "dim",
    "locked": "magenta",
}


def format_value(prop: str, value: Any) -> str:
    if value is None:
        return "(none)"
    if prop in _SIZE_PROPERTIES and isinstance(value, int):
        return format_size(value)
    if prop == "dynamic_memory" and isinstance(value, str) and "-" in value:
        low, _, high = value.partition("-")
        if low.isdigit() and high.isdigit():
            return f"{format_size(int(low))}..{format_size(int(high))}"
    return str(value)


SUMMARY_NAMES = 10  # a fleet's summary line names this many hosts of each kind, then counts the rest


class Problems:
    """The failed and locked hosts of a run, as its HostFinished events said, for the summary line."""

    def __init__(self) -> None:
        self.failed: list[str] = []
        self.locked: list[str] = []

    def note(self, event: ev.Event) -> None:
        if isinstance(event, ev.HostFinished):
            if event.status == "failed":
                self.failed.append(event.host)
            elif event.status == "locked":
                self.locked.append(event.host)

    def summary(self, command: str, recap: ev.Recap) -> str | None:
        return problem_summary(command, recap.exit_code, self.failed, self.locked)


def problem_summary(command: str, exit_code: int, failed: list[str], locked: list[str]) -> str | None:
    """The one stderr line that ends a run whose exit is not 0, e.g. `apply: exit 1: 1 host(s) failed:
    hva.test.local; 1 host(s) locked by another run: hvb.test.local (see above, and orchestrate history)`."""
    if exit_code == 0:
        return None

    def names(hosts: list[str]) -> str:
        shown = ", ".join(hosts[:SUMMARY_NAMES])
        return shown + (f" and {len(hosts) - SUMMARY_NAMES} more" if len(hosts) > SUMMARY_NAMES else "")

    parts = ["interrupted"] if exit_code == exit_codes.INTERRUPTED else []
    if failed:
        parts.append(f"{len(failed)} host(s) failed: {names(failed)}")
    if locked:
        parts.append(f"{len(locked)} host(s) locked by another run: {names(locked)}")
    detail = "; ".join(parts) or "see above"
    return f"{command or 'orchestrate'}: exit {exit_code}: {detail} (see above, and `orchestrate history`)"


class JsonReporter:
    """JSON lines on stdout (one object per event); warnings also as text on stderr for people watching,
    and the summary line of a run whose exit is not 0."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None, verbosity: int = 0) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.verbosity = verbosity
        self.problems = Problems()

    command: str = ""

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.ScriptRendered) and self.verbosity < 1 and event.purpose == "facts":
            return
        data = event.to_dict()
        if isinstance(event, ev.RunStarted):
            self.command = event.command
        elif isinstance(event, ev.Recap):  # every recap names its command (docs/output.md)
            data["command"] = self.command
        self.out.write(json.dumps(data, default=str, ensure_ascii=False) + "\n")
        self.out.flush()
        self.problems.note(event)
        if isinstance(event, ev.HostWarning):
            self.err.write(f"warning: {event.host}: {event.message}\n")
        elif isinstance(event, ev.Recap) and (summary := self.problems.summary(self.command, event)):
            self.err.write(summary + "\n")
            self.err.flush()

    def close(self) -> None:
        return None


class TextReporter:
    """Readable lines plus live progress; the recap table at the end."""

    def __init__(self, console: Console | None = None, verbosity: int = 0, err_console: Console | None = None) -> None:
        """`console` for the plan, progress and recap; `err_console` for what needs a person (warnings,
        failures, the summary line). Given one console only, everything goes to it."""
        self.console = console or Console(highlight=False, soft_wrap=True, emoji=False)  # a VM may be ":x:"
        if err_console is None:
            err_console = self.console if console is not None else Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)
        self.err_console = err_console
        self.err_plain = not err_console.is_terminal and err_console.color_system is None and err_console.soft_wrap
        self.problems = Problems()
        self.command = ""
        self.verbosity = verbosity
        self.unchanged: set[str] = set()  # hosts planned with nothing to do, said when they end ok
        self.action_errors: dict[str, set[str]] = {}  # per host, the errors its failed actions showed
        self.warned: dict[str, set[str]] = {}  # per host, the warnings shown (a refused VM's is its host's error)
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.fields[host]}[/bold]"),
            TextColumn("{task.description}"),
            BarColumn(bar_width=20),
            console=self.console,
            transient=True,
            disable=not self.console.is_terminal,
        )
        self.tasks: dict[str, TaskID] = {}
        self.live = self.console.is_terminal
        self.plain = not self.live and self.console.color_system is None and self.console.soft_wrap
        self.quarters: dict[str, int] = {}
        self.counted_down = False  # an interrupt's countdown has been printed (logged mode)
        self.progress.start()

    def close(self) -> None:
        self.progress.stop()

    def _task(self, host: str, description: str, completed: float | None = None) -> None:
        if not self.live:  # the bars are disabled (nobody watches): keeping their tasks up to date buys nothing
            return
        if host not in self.tasks:
            self.tasks[host] = self.progress.add_task(description, host=host, total=None)
        self.progress.update(self.tasks[host], description=description, completed=completed)

    def _line(self, template: str, *values: Any) -> None:
        """One line: `template` is rich markup with a `{}` for each value; the values (inventory text, host
        output) are never read as markup.

        A log or a pipe (no terminal, no colour) gets the markup's text, written as is: the template's text
        (once per template) with the values put in. Rich's full print (segments, measuring, wrapping) cost ten
        times more per line, and markup built only to be stripped again (escape, then parse) most of the
        rest: together about a fifth of a dry run's CPU per host. The template's text is the same either way
        (soft wrap never wraps, no style is drawn, and rich's control characters are dropped here too); the
        values are more exact here, as written, where rich's escape doubled a trailing backslash or lost one
        before a bracket. tests/report/test_report_plain_lines.py checks both with hypothesis.
        """
        if self.plain:
            self.console.file.write(_plain(template).format(*(strip_control_codes(str(v)) for v in values)) + "\n")
            return
        self.console.print(template.format(*(_esc(v) for v in values)), markup=True, highlight=False)

    def _problem(self, template: str, *values: Any) -> None:
        """`_line` on the error console. stdout is flushed first: when both go to one log (`> run.log 2>&1`)
        the lines stay in the order they happened."""
        if self.err_console is self.console:
            self._line(template, *values)
            return
        self.console.file.flush()
        if self.err_plain:
            file = self.err_console.file
            file.write(_plain(template).format(*(strip_control_codes(str(v)) for v in values)) + "\n")
            file.flush()
            return
        self.err_console.print(template.format(*(_esc(v) for v in values)), markup=True, highlight=False)

    def _logged(self, event: ev.Event) -> None:
        """Progress as plain lines, for a log that nobody watches live (no terminal)."""
        match event:
            case ev.HostStarted(host=host):
                self._line("  {}: gathering facts", host)
            case ev.HostPlanned(host=host, actions=count) if count:
                self._line("  {}: {} action(s) to run", host, count)
            case ev.Progress(host=host, vm=vm, operation=op, percent=percent):
                key = f"{host}\0{vm}\0{op}"
                quarter = min(percent, 100) // 25
                if quarter > self.quarters.get(key, 0):
                    self.quarters[key] = quarter
                    self._line("  {}: {}: {} {}%", host, vm, op, percent)
            case ev.HostFinished(host=host, status=status, changed=changed) if status in ("ok", "changed"):
                self._line("  {}: {} ({} changed)", host, status, changed)
            case ev.InterruptWait(seconds_left=left):
                # A log gets the first line, then one every 5 seconds and the last three.
                if not self.counted_down or left % 5 == 0 or left <= 3:
                    self.counted_down = True
                    self._line(*_countdown(event))
            case _:
                pass

    def __call__(self, event: ev.Event) -> None:
        if not self.live:
            self._logged(event)
        self.problems.note(event)
        match event:
            case ev.RunStarted(dry_run=dry_run, hosts=hosts, command=command):
                self.command = command
                mode = " (dry run: nothing will change)" if dry_run else ""
                self._line("[bold]{}[/bold] on {} host(s){}", command, len(hosts), mode)
            case ev.StepStarted(command=command, hosts=hosts):
                self._line("  [bold]{}[/bold]: {}", command, ", ".join(hosts))
            case ev.HostStarted(host=host):
                self._task(host, "gathering facts")
            case ev.HostFactsGathered(host=host, os=os_name, version=version, vms=vms):
                self._task(host, "planning")
                if self.verbosity:
                    self._line("  {}: {} ({}), {} VM(s)", host, os_name or "Windows", version, vms)
            case ev.HostWarning(host=host, message=message, fix=fix):
                self.warned.setdefault(host, set()).add(message)
                if fix:
                    self._problem("  [yellow]warning[/yellow] {}: {} [dim](fix: {})[/dim]", host, message, fix)
                else:
                    self._problem("  [yellow]warning[/yellow] {}: {}", host, message)
            case ev.PlannedAction(host=host, summary=summary, changes=changes):
                self._line("  [yellow]~[/yellow] {}: {}", host, summary)
                for prop, before, after in changes:
                    self._line("      {}: {} -> {}", prop, format_value(prop, before), format_value(prop, after))
            case ev.HostPlanned(host=host, actions=count):
                self._task(host, "applying" if count else "nothing to do")
                if count == 0:  # said when the host ends ok: a host whose VMs were refused does not match
                    self.unchanged.add(host)
            case ev.ScriptRendered(host=host, purpose=purpose, script=script, sha256=digest):
                if purpose != "facts" or self.verbosity:
                    self._line("  --- {}: {} script (sha256 {}) ---", host, purpose, digest[:12])
                    self.console.print(script, markup=False, highlight=False)
            case ev.PreflightDone(host=host, ok=ok, error=error):
                if ok:
                    self._line("  [green]preflight ok[/green] {}: the script runs cleanly on a simulated copy", host)
                else:
                    self._problem("  [red]preflight failed[/red] {}: {}", host, error or "")
            case ev.ActionDone(host=host, summary=summary, status=status, error=error):
                # The planned diff above already said what changes; repeat only what went otherwise.
                if status in ("failed", "skipped") or self.verbosity:
                    style = _STATUS_STYLE.get(status, "")
                    template = f"  [{style}]{{}}[/{style}] {{}}: {{}}" if style else "  {} {}: {}"
                    line = self._problem if status == "failed" else self._line
                    if status == "failed" and error:
                        self.action_errors.setdefault(host, set()).add(error)
                    if error:
                        line(template + ": {}", status, host, summary, error)
                    else:
                        line(template, status, host, summary)
            case ev.Progress(host=host, vm=vm, operation=op, percent=percent, detail=detail):
                # One bar per VM (several VMs of a host may export at once), under the host's name.
                key = f"{host}\0{vm}"
                if not self.live:
                    return
                if key not in self.tasks:
                    self.tasks[key] = self.progress.add_task("", host=f"{host} {vm}", total=100)
                self.progress.update(self.tasks[key], description=detail or f"{op} {percent}%", completed=percent)
            case ev.GuestReady(host=host, vm=vm, computer_name=computer_name, edition_sku=sku, seconds=seconds):
                self._line(
                    "  [green]ready[/green] {}: {} is {} (MultiPoint Premium, edition {}) after {} min",
                    host, vm, computer_name, sku, seconds // 60,
                )
            case ev.HostFinished(host=host, status=status, error=error, fix=fix):
                for key in [k for k in self.tasks if k == host or k.startswith(f"{host}\0")]:
                    self.progress.remove_task(self.tasks.pop(key))
                if host in self.unchanged:
                    self.unchanged.discard(host)
                    if status == "ok":
                        self._line("  [green]=[/green] {}: matches the inventory", host)
                said = self.action_errors.pop(host, set())
                warned = self.warned.pop(host, set())
                if status == "failed" and error in warned:
                    # a refused VM: its warning above said what and how to fix it; the host's line says only
                    # that the host failed for it
                    self._problem("  [bold red]failed[/bold red] {}: for the refusal above", host)
                elif status == "failed" and _repeats(error, said):
                    # "rollback failed: <the error of the failed action just above>": said once is enough
                    if fix:
                        self._problem("      fix: {}", fix)
                elif status in ("failed", "locked"):
                    if fix:
                        self._problem("  [bold red]{}[/bold red] {}: {}\n      fix: {}", status, host, error or "", fix)
                    else:
                        self._problem("  [bold red]{}[/bold red] {}: {}", status, host, error or "")
            case ev.InterruptWait():
                if self.live:  # on a terminal one line that counts down; in a log, lines (see _logged)
                    template, *values = _countdown(event)
                    self._task("(interrupt)", template.format(*(_esc(v) for v in values)))
            case ev.Recap():
                self.progress.stop()
                self._recap(event)
            case _:
                pass

    def _recap(self, recap: ev.Recap) -> None:
        title = "recap (dry run)" if recap.dry_run else "recap"
        # A log, a pipe or cron's mail has no width to fit: the table takes the width its names need, and
        # no host name (two that differ only at the end) or count is ever cut to "…".
        unbounded = not self.console.is_terminal
        drawn = recap_plain(title, recap.hosts, self.console, any_width=unbounded) if self.plain else None
        if drawn is not None:
            self.console.file.write(drawn)
        else:
            console = _wide_enough(self.console, recap.hosts) if unbounded else self.console
            console.print(recap_table(title, recap.hosts))
        verb = "would change" if recap.dry_run else "changed"
        locked = f"; {recap.locked} host(s) locked by another run" if recap.locked else ""
        self._line("{} {} action(s); {} host(s) failed{}; exit {}", verb, recap.changed, recap.failed, locked, recap.exit_code)
        summary = self.problems.summary(self.command, recap)
        if summary is not None and self.err_console is not self.console:
            self._problem("{}", summary)


_RECAP_COLUMNS = ("host", "ok", "changed", "failed", "skipped")


def recap_table(title: str, hosts: dict[str, dict[str, int]]) -> Table:
    """The recap as a rich table: on a terminal in colour, and wherever `recap_plain` cannot draw it."""
    table = Table(title=title, title_justify="left")
    for column in _RECAP_COLUMNS:
        table.add_column(column, justify="left" if column == "host" else "right")
    for host, counts in hosts.items():
        table.add_row(
            _esc(host),  # a cell is markup: a host name is not
            str(counts["ok"]),
            f"[yellow]{counts['changed']}[/yellow]" if counts["changed"] else "0",
            f"[red]{counts['failed']}[/red]" if counts["failed"] else "0",
            str(counts["skipped"]),
        )
    return table


def _recap_width(hosts: dict[str, dict[str, int]]) -> int:
    """The columns the recap table needs so that nothing in it is cut (rich's heavy box, one space of padding)."""
    from rich.cells import cell_len

    widths = [len(name) for name in _RECAP_COLUMNS]
    for host, counts in hosts.items():
        values = (host, *(str(counts[column]) for column in _RECAP_COLUMNS[1:]))
        widths = [max(w, cell_len(v)) for w, v in zip(widths, values, strict=True)]
    return sum(widths) + 3 * len(widths) + 1


def _wide_enough(console: Console, hosts: dict[str, dict[str, int]]) -> Console:
    """`console`, or one like it on the same file but as wide as the recap needs (not a terminal: no width)."""
    width = _recap_width(hosts)
    if width <= console.width:
        return console
    return Console(
        file=console.file,
        width=width,
        color_system=console.color_system,  # type: ignore[arg-type]
        force_terminal=False,
        highlight=False,
        soft_wrap=True,
        emoji=False,
        legacy_windows=console.legacy_windows,
    )


def recap_plain(
    title: str, hosts: dict[str, dict[str, int]], console: Console, *, any_width: bool = False
) -> str | None:
    """`recap_table` as rich prints it without colour (a log, a pipe, cron's mail), character for character,
    written directly: rich measured and rendered every cell, about 0.3 ms per host, a second and a half for a
    5,000-host recap. Only the case where nothing wraps: printable ASCII host names (one column per character)
    and a table no wider than the console, on a console that draws boxes in Unicode. Anything else gives None,
    and rich draws it. tests/report/test_report_recap_plain.py compares the two with hypothesis.
    `any_width`: the console's width does not bound the table (a log, a pipe): it is as wide as it needs."""
    if not hosts or console.options.ascii_only or console.legacy_windows:
        return None
    rows = [(host, str(c["ok"]), str(c["changed"]), str(c["failed"]), str(c["skipped"])) for host, c in hosts.items()]
    if not all(host.isascii() and host.isprintable() and host == host.strip() and host for host, *_ in rows):
        return None
    widths = [max(len(name), *(len(row[i]) for row in rows)) for i, name in enumerate(_RECAP_COLUMNS)]
    if not any_width and sum(widths) + 3 * len(widths) + 1 > console.width:
        return None

    def line(left: str, fill: str, middle: str, right: str) -> str:
        return left + middle.join(fill * (w + 2) for w in widths) + right + "\n"

    def cells(values: tuple[str, ...], edge: str, inner: str) -> str:
        texts = [f" {v.ljust(w) if i == 0 else v.rjust(w)} " for i, (v, w) in enumerate(zip(values, widths, strict=True))]
        return edge + inner.join(texts) + edge + "\n"

    out = [title + "\n", line("┏", "━", "┳", "┓"), cells(_RECAP_COLUMNS, "┃", "┃"), line("┡", "━", "╇", "┩")]
    out.extend(cells(row, "│", "│") for row in rows)
    out.append(line("└", "─", "┴", "┘"))
    return "".join(out)


def _repeats(error: str | None, said: set[str]) -> bool:
    """Whether a host's error only repeats the error of one of its failed actions (`<command> failed: E`)."""
    if not error or not said:
        return False
    _, colon, rest = error.partition(" failed: ")
    return bool(colon) and rest in said


def _countdown(event: ev.InterruptWait) -> tuple[Any, ...]:
    """The countdown line: its template, then its values."""
    return (
        "  [yellow]interrupted[/yellow]: stopping {} host(s) ({}): {} s left before every shell is deleted "
        "(Ctrl-C again: delete them now)",
        len(event.hosts), ", ".join(event.hosts), event.seconds_left,
    )


@functools.lru_cache(maxsize=256)
def _plain(template: str) -> str:
    """A line template's text without its markup; its `{}` slots stay (a template holds no other brace)."""
    return Text.from_markup(template, emoji=False).plain


def _esc(text: Any) -> str:
    """Inventory text (VM names may hold brackets) must not be read as rich markup."""
    from rich.markup import escape

    return escape(str(text))
