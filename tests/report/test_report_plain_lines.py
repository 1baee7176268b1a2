"""A log's lines (no terminal, no colour) are the markup's text with the values put in, without building
markup for each value only to strip it again (report.TextReporter._line): they must read as the markup's
text always did, for any host, VM, summary or error text, brackets, braces and control characters included,
and backslashes now as written."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text

from orchestrator import events as ev
from orchestrator.report import TextReporter, _esc

_PIECES = [*"ab[]/\\{}:#@ \t\x07\x08\x0b\x0c\r\n-~=é", "[bold]", "[/]", "[red]", "\\[", "{0}", "[/red]"]
_TEXT = st.lists(st.sampled_from(_PIECES), max_size=8).map("".join)
# Before, a log's line was built as markup with every value escaped, then stripped to its text. Rich's escape
# is not exact: a value's trailing backslash came out doubled, a backslash before a bracket disappeared, and
# an opening bracket in one value with a closing one in the next read as a tag and vanished. With values
# free of brackets and backslashes the lines must read exactly as before (the templates' own text); any
# value at all now reaches the log as written.
_PLAIN_VALUE = _TEXT.map(lambda t: t.translate(str.maketrans("[]\\", "()/")))


def _events(host: str, vm: str, summary: str, message: str, fix: str, error: str) -> list[ev.Event]:
    return [
        ev.RunStarted(1, f"apply {message}", [host], True),
        ev.StepStarted(1, f"export {vm}", [host, vm]),
        ev.HostStarted(host),
        ev.HostFactsGathered(host, message, "6.3", 7, 2),
        ev.HostWarning(host, message, fix),
        ev.HostWarning(host, message, ""),
        ev.PlannedAction(host, 0, summary, [["memory", None, 8 * 1024**3], [vm, message, fix]]),
        ev.HostPlanned(host, 1, []),
        ev.HostPlanned(host, 0, []),
        ev.PreflightDone(host, True, None),
        ev.PreflightDone(host, False, error),
        ev.ActionDone(host, 0, summary, "failed", error),
        ev.ActionDone(host, 0, summary, "skipped", None),
        ev.ActionDone(host, 0, summary, message or "odd", error),
        ev.Progress(host, vm, summary, 60),
        ev.GuestReady(host, vm, message, 7, 1260),
        ev.InterruptWait(12, [host, vm]),
        ev.HostFinished(host, "failed", failed=1, error=error, fix=fix),
        ev.HostFinished(host, "locked", error=error, fix=None),
        ev.HostFinished(host, "changed", changed=3),
        ev.Recap(2, 1, {host: {"ok": 0, "changed": 2, "failed": 1, "skipped": 0}}, 1, dry_run=True, locked=1),
    ]


class _EscapedThenStripped(TextReporter):
    """The log's line as it was made before: every value escaped into the markup, then the markup's text."""

    def _line(self, template: str, *values: object) -> None:
        text = template.format(*(_esc(v) for v in values))
        self.console.file.write(Text.from_markup(text, emoji=False).plain + "\n")


def _printed(events: list[ev.Event], verbosity: int, kind: type[TextReporter] = TextReporter) -> str:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, color_system=None, soft_wrap=True, highlight=False,
                      emoji=False, width=120)
    reporter = kind(console=console, verbosity=verbosity)
    assert reporter.plain  # a log: the fast path is the one taken
    for event in events:
        reporter(event)
    reporter.close()
    return out.getvalue()


@settings(max_examples=150, deadline=None)
@given(host=_PLAIN_VALUE, vm=_PLAIN_VALUE, summary=_PLAIN_VALUE, message=_PLAIN_VALUE, fix=_PLAIN_VALUE,
       error=_PLAIN_VALUE, verbosity=st.integers(0, 1))
def test_a_log_reads_as_before_for_any_text_without_brackets_or_backslashes(
    host: str, vm: str, summary: str, message: str, fix: str, error: str, verbosity: int
) -> None:
    events = _events(host or "hv01", vm, summary, message, fix, error)
    assert _printed(events, verbosity) == _printed(events, verbosity, _EscapedThenStripped)


def test_a_vm_name_with_brackets_and_braces_reaches_the_log_as_written() -> None:
    text = _printed([ev.PlannedAction("hv01", 0, "create VM lab[1]{0}", [])], 0)
    assert text == "  ~ hv01: create VM lab[1]{0}\n"


def test_a_path_ending_in_a_backslash_reaches_the_log_as_written() -> None:
    text = _printed([ev.PreflightDone("hv01", False, "cannot write D:\\VMs\\")], 0)
    assert text == "  preflight failed hv01: cannot write D:\\VMs\\\n"


@settings(max_examples=150, deadline=None)
@given(host=_TEXT, summary=_TEXT, error=_TEXT, fix=_TEXT)
def test_any_value_brackets_and_backslashes_included_reaches_the_log_as_written(
    host: str, summary: str, error: str, fix: str
) -> None:
    error, fix = f"e{error}", f"f{fix}"  # an empty error or fix adds no text at all
    events = [ev.ActionDone(host, 0, summary, "failed", error), ev.HostFinished(host, "failed", error=error, fix=fix)]
    text = _printed(events, 1)
    strip = str.maketrans("", "", "\x07\x08\x0b\x0c\r")  # what rich drops from any text it prints
    expected = f"  failed {host}: {summary}: {error}\n  failed {host}: {error}\n      fix: {fix}\n"
    assert text == expected.translate(strip)
