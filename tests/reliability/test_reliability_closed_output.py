"""The output of a run goes away before the run ends: nobody reads it any more, but every host still
converges to the end and the journal says how the run ended (cli/closed_output.py).

The stories: the admin pipes `orchestrate apply` into `head -1` (or quits `less`) and the pipe closes after
the first line; a cron job's log is redirected to a disk that fills up midway.
"""

from __future__ import annotations

import errno
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from reliability_support import CLI, REPO, cli_env, journal_rows

from orchestrator.cli import main
from orchestrator.simulator import Simulator
from orchestrator.transport.simulated import state_file

DEMO = REPO / "inventories" / "demo.yaml"
DEMO_VMS = {
    "hv01.demo.local": {"lab-a-01", "lab-a-02", "lab-a-03"},
    "hv02.demo.local": {"library", "teacher's room (staff)", "exam-room"},
}


def vms_on(state: Path, host: str) -> set[str]:
    """The VM names the simulated host's saved model holds."""
    model = Simulator(state_path=state_file(state, host), host_name=host).snapshot()["host"]
    return {vm["name"] for vm in model["vms"]}


def test_a_pipe_closed_after_the_first_line_does_not_stop_the_run(tmp_path: Path) -> None:
    """`orchestrate apply demo.yaml --output json | head -1`: head reads the run_start line and exits."""
    state = tmp_path / "state"
    errors = tmp_path / "stderr.txt"
    with errors.open("w", encoding="utf-8") as stderr:
        child = subprocess.Popen(
            [*CLI, "apply", str(DEMO), "--output", "json", "--state-dir", str(state)],
            cwd=tmp_path, env=cli_env(), text=True, stdout=subprocess.PIPE, stderr=stderr,
        )
        assert child.stdout is not None
        first = child.stdout.readline()
        child.stdout.close()  # the reader is gone: the child's next write meets a closed pipe
        code = child.wait(timeout=120)
    said = errors.read_text(encoding="utf-8")

    assert '"event": "run_start"' in first
    assert code == 0, said
    assert "note: the output was closed" in said and "Traceback" not in said
    for host, names in DEMO_VMS.items():
        assert vms_on(state, host) == names
    [run] = journal_rows(state, "runs")
    assert run["status"] == "changed" and run["exit_code"] == 0


def test_a_full_disk_under_the_log_midway_leaves_every_host_converged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """cron writes the text output to a log whose disk fills after a few lines: the hosts converge anyway,
    the journal has the run, and the exit code is the run's own."""
    from orchestrator.report import TextReporter

    stock = TextReporter.__call__
    written: list[object] = []

    def filling(self: TextReporter, event: object) -> None:
        if len(written) == 5:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(event)
        stock(self, event)

    monkeypatch.setattr(TextReporter, "__call__", filling)
    state = tmp_path / "state"
    result = CliRunner().invoke(main, ["apply", str(DEMO), "--state-dir", str(state)], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    assert "note: the output was closed (No space left on device)" in result.stderr
    assert "recap" not in result.stdout  # nothing was written after the disk filled
    for host, names in DEMO_VMS.items():
        assert vms_on(state, host) == names
    [run] = journal_rows(state, "runs")
    assert run["status"] == "changed"


def test_the_reporter_is_still_closed_after_its_output_went_away(capsys: pytest.CaptureFixture[str]) -> None:
    """Its close stops a live progress display's refresh thread: it must run even when writing failed, and
    a failure there too is no error of the run."""
    from orchestrator.cli.closed_output import ClosedOutputGuard

    class Reporter:
        def __init__(self) -> None:
            self.seen: list[str] = []
            self.closed = False

        def __call__(self, event: str) -> None:
            if event == "second":
                raise BrokenPipeError(errno.EPIPE, "Broken pipe")
            self.seen.append(event)

        def close(self) -> None:
            self.closed = True
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    reporter = Reporter()
    guard = ClosedOutputGuard(reporter)
    for event in ("first", "second", "third"):
        guard(event)
    guard.close()

    assert reporter.seen == ["first"] and reporter.closed
    assert capsys.readouterr().err.count("note: the output was closed (Broken pipe)") == 1
