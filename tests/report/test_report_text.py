"""The text reporter: readable lines for people, one live bar per VM on a terminal, nothing live in cron."""

from __future__ import annotations

import io

from rich.console import Console

from orchestrator import events as ev
from orchestrator.report import JsonReporter, TextReporter


def run_events(reporter) -> None:
    reporter(ev.RunStarted(1, "export", ["hv01"], False))
    reporter(ev.HostStarted("hv01"))
    reporter(ev.PlannedAction("hv01", 0, "create VM lab [1]", [["memory", None, 8 * 1024**3]]))
    for percent in (10, 60):
        reporter(ev.Progress("hv01", "lab-01", "export", percent))
        reporter(ev.Progress("hv01", "lab-02", "export", percent // 2))
    reporter(ev.ActionDone("hv01", 0, "create VM lab [1]", "failed", "boom"))
    reporter(ev.HostFinished("hv01", "failed", failed=1, error="apply failed: boom", fix="do x"))
    reporter(ev.Recap(0, 1, {"hv01": {"ok": 0, "changed": 0, "failed": 1, "skipped": 0}}, 1))
    reporter.close()


def test_without_a_terminal_the_text_is_plain_lines_with_sizes_and_markup_escaped():
    out = io.StringIO()
    run_events(TextReporter(console=Console(file=out, force_terminal=False, width=120)))
    text = out.getvalue()
    assert "create VM lab [1]" in text  # brackets in names are not swallowed as markup
    assert "memory: (none) -> 8GB" in text
    # the host's error only restates its failed action's: said once, with the fix (audit I L7)
    assert "failed hv01: create VM lab [1]: boom" in text and "fix: do x" in text
    assert "apply failed: boom" not in text
    # no live bars when nobody watches; the log still shows progress, a line per quarter done, never a redraw
    assert "lab-01: export 60%" in text and "lab-02: export 30%" in text
    assert "export 10%" not in text and "lab-02: export 5%" not in text
    assert "hv01: gathering facts" in text
    assert "\r" not in text and "\x1b" not in text
    assert "1 host(s) failed; exit 1" in text


def test_on_a_terminal_each_vm_gets_its_own_progress_bar():
    out = io.StringIO()
    reporter = TextReporter(console=Console(file=out, force_terminal=True, width=120))
    reporter(ev.HostStarted("hv01"))
    reporter(ev.Progress("hv01", "lab-01", "export", 40))
    reporter(ev.Progress("hv01", "lab-02", "export", 70))
    tasks = {task.fields["host"]: task.completed for task in reporter.progress.tasks}
    assert tasks["hv01 lab-01"] == 40 and tasks["hv01 lab-02"] == 70
    reporter(ev.HostFinished("hv01", "changed", changed=2))
    assert reporter.progress.tasks == []
    reporter.close()


def test_json_reporter_writes_one_object_per_line_and_warnings_also_to_stderr():
    out, err = io.StringIO(), io.StringIO()
    reporter = JsonReporter(out=out, err=err)
    reporter(ev.HostWarning("hv01", "VM 'x' refused: no image", "copy it"))
    reporter(ev.Recap(0, 0, {}, 0))
    lines = out.getvalue().splitlines()
    assert [line.startswith("{") for line in lines] == [True, True]
    assert "warning: hv01: VM 'x' refused" in err.getvalue()


def test_in_a_log_the_recap_never_cuts_a_host_name_or_a_count():
    """cron's mail of a district's rollback (audit I M6): 80 columns, or 40, and host names that differ only
    at their end. Each name and each count is there in full, whichever way the table is drawn."""
    stem = "hyperv-host-number-0001.classroom-building-north.school-district-example"
    names = [f"{stem}.site-a.local", f"{stem}.site-b.local", f"hôte-{stem}.local"]
    hosts = {name: {"ok": 12345, "changed": 0, "failed": 1, "skipped": 0} for name in names}
    for width in (80, 40):
        for encoding in ("utf-8", "latin-1"):  # latin-1: rich draws the table in ASCII
            raw = io.BytesIO()
            file = io.TextIOWrapper(raw, encoding=encoding, errors="replace")
            reporter = TextReporter(console=Console(file=file, force_terminal=False, width=width))
            reporter(ev.Recap(0, 3, hosts, 1))
            reporter.close()
            file.flush()
            text = raw.getvalue().decode(encoding)
            assert "…" not in text and "..." not in text, (width, encoding, text)
            for name in names:
                assert name in text.replace("?", "ô"), (width, encoding, text)
            assert text.count("12345") == 3
