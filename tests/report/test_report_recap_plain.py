"""The recap in a log (no terminal, no colour) is written directly instead of through rich's table layout
(report.recap_plain): for any hosts and counts it must read exactly as rich printed it, and wherever it could
differ (a name rich would measure or wrap otherwise, a table wider than the console, no Unicode) rich draws
it as before."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from orchestrator import events as ev
from orchestrator.report import TextReporter, recap_plain, recap_table

_NAME = st.lists(st.sampled_from([*"abz09-._[]\\/:@ ", "[bold]", "[/]", "é", "\t", "漢"]), max_size=12).map("".join)
_COUNTS = st.fixed_dictionaries({k: st.integers(0, 10**6) for k in ("ok", "changed", "failed", "skipped")})


def _console(width: int, **extra: object) -> Console:
    """The console TextReporter makes for a log, printing into a buffer."""
    return Console(file=io.StringIO(), highlight=False, soft_wrap=True, emoji=False, width=width, **extra)


def _rich_text(title: str, hosts: dict[str, dict[str, int]], width: int) -> str:
    console = _console(width)
    console.print(recap_table(title, hosts))
    return console.file.getvalue()  # type: ignore[attr-defined]


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_NAME, _COUNTS, min_size=1, max_size=6), st.booleans(), st.integers(30, 140))
def test_the_recap_of_a_log_reads_as_rich_printed_it(hosts: dict[str, dict[str, int]], dry_run: bool,
                                                      width: int) -> None:
    """Rich's markup escape is not exact with backslashes (a trailing one came out doubled, as the log's lines
    found: test_report_plain_lines.py); without them the text is rich's, and with them each name reads as
    written."""
    title = "recap (dry run)" if dry_run else "recap"
    drawn = recap_plain(title, hosts, _console(width))
    if drawn is None:
        return
    if not any("\\" in host for host in hosts):
        assert drawn == _rich_text(title, hosts, width)
    rows = drawn.splitlines()[4:-1]
    assert [row.split("│")[1].strip() for row in rows] == list(hosts)


def test_an_admins_ordinary_fleet_gets_the_direct_recap_and_the_same_text() -> None:
    hosts = {f"hv{i:04d}.school.example": {"ok": i % 3, "changed": i % 5, "failed": i % 2, "skipped": 0}
             for i in range(1, 200)}
    drawn = recap_plain("recap", hosts, _console(80))
    assert drawn is not None and drawn == _rich_text("recap", hosts, 80)


def test_names_rich_would_measure_or_wrap_and_narrow_or_ascii_consoles_go_to_rich() -> None:
    counts = {"ok": 1, "changed": 0, "failed": 0, "skipped": 0}
    assert recap_plain("recap", {"hv-漢字": counts}, _console(80)) is None  # two columns per character
    assert recap_plain("recap", {"hv\t01": counts}, _console(80)) is None
    assert recap_plain("recap", {"h" * 60: counts}, _console(80)) is None  # wider than the console: rich wraps
    assert recap_plain("recap", {"hv01": counts}, _console(80, legacy_windows=True)) is None
    ascii_console = Console(file=io.TextIOWrapper(io.BytesIO(), encoding="ascii"), highlight=False, soft_wrap=True,
                            emoji=False, width=80)
    assert recap_plain("recap", {"hv01": counts}, ascii_console) is None
    assert recap_plain("recap", {}, _console(80)) is None


def test_the_reporter_prints_a_too_wide_recap_at_the_width_it_needs_in_a_log() -> None:
    """A log has no width (audit I M6): the table is drawn as rich draws it on a console wide enough, never
    cut to the console's 50 columns."""
    console = _console(50)
    reporter = TextReporter(console=console)
    hosts = {"a-host-name-long-enough-to-wrap.example": {"ok": 1, "changed": 2, "failed": 0, "skipped": 0}}
    reporter(ev.Recap(changed=2, failed=0, hosts=hosts, exit_code=0, dry_run=True))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    needed = len("a-host-name-long-enough-to-wrap.example") + len("okchangedfailedskipped") + 3 * 5 + 1
    assert text.startswith(_rich_text("recap (dry run)", hosts, needed))
    assert "| a-host-name-long-enough-to-wrap.example |" in text.replace("│", "|")
    assert text.endswith("would change 2 action(s); 0 host(s) failed; exit 0\n")
