"""The output of a run goes away before the run ends: nobody reads it any more, but every host still
converges to the end and the journal says how the run ended (cli/closed_output.py).

The stories: the admin pipes `orchestrate apply` into `head -1` (or quits `less`) and the pipe closes after
the first line; a cron job's log is redirected to a disk that fills up midway.
"""

from __future__ import annotations

import errno
import os
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


# ---- the console script itself, for the commands that only read (audit I L3, L4) -------------------------

CONSOLE_SCRIPT = [CLI[0], "-c", "from orchestrator.cli.entry import run; run()"]


def test_a_read_only_command_into_a_full_disk_says_so_in_one_line(tmp_path: Path) -> None:
    """`orchestrate validate inv.yaml -o json > /dev/full` and `orchestrate history > /dev/full` in a cron
    job whose log disk filled: one line on stderr and a non-zero exit, no traceback."""
    env = cli_env(ORCHESTRATE_STATE_DIR=str(tmp_path / "state"))
    for args in (["validate", str(DEMO), "-o", "json"], ["history"]):
        with open("/dev/full", "w") as full:
            done = subprocess.run([*CONSOLE_SCRIPT, *args], stdout=full, stderr=subprocess.PIPE, text=True, env=env,
                                  timeout=120, check=False)
        assert done.returncode == 1, done.stderr
        assert done.stderr == "orchestrate: cannot write the output: No space left on device\n", args


def test_history_into_head_ends_quietly_with_the_closed_pipes_code(tmp_path: Path) -> None:
    """`orchestrate history -o json | head -1`: the reader had what it wanted. Nothing on stderr, and 141
    (128 + SIGPIPE, what a shell shows for any program whose pipe closed), never 1 ("a host failed")."""
    state = tmp_path / "state"
    for _ in range(3):
        assert CliRunner().invoke(main, ["apply", str(DEMO), "--state-dir", str(state), "-o", "json"]).exit_code == 0
    for args in (["history", "-o", "json"], ["history", "-v"]):
        reader, writer = os.pipe()
        os.close(reader)  # head has exited before the first line is written: every write is EPIPE
        try:
            done = subprocess.run([*CONSOLE_SCRIPT, *args], stdout=writer, stderr=subprocess.PIPE, text=True,
                                  env=cli_env(ORCHESTRATE_STATE_DIR=str(state)), timeout=120, check=False)
        finally:
            os.close(writer)
        assert done.returncode == 141, (args, done.stderr)
        assert done.stderr == "", args


def test_a_run_with_stdout_closed_runs_to_its_end_and_exits_with_its_own_code(tmp_path: Path) -> None:
    """`orchestrate apply inv.yaml -o json >&-`: Python gives no sys.stdout at all. The run converges both
    hosts, exits 0 and is journaled as changed, not left to show as interrupted."""
    state = tmp_path / "state"
    done = subprocess.run([*CONSOLE_SCRIPT, "apply", str(DEMO), "-o", "json"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, env=cli_env(ORCHESTRATE_STATE_DIR=str(state)),
                          preexec_fn=lambda: os.close(1), timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert vms_on(state, "hv01.demo.local") == DEMO_VMS["hv01.demo.local"]
    history = CliRunner().invoke(main, ["history", "--state-dir", str(state), "-o", "json"])
    assert '"status": "changed"' in history.stdout
