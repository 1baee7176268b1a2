"""`orchestrate history`: the admin looks back at what ran, as a table or as JSON for scripts."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys

import pytest
from click.testing import CliRunner

from orchestrator.cli import main
from orchestrator.journal import Journal


def runs_of(result) -> list[dict]:
    """The `run` lines of `history --output json` (docs/output.md); the last line is the recap."""
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert lines[-1]["event"] == "recap" and lines[-1]["runs"] == len(lines) - 1
    assert all(line["event"] == "run" for line in lines[:-1])
    return lines[:-1]


def history(state_dir, *args: str):
    result = CliRunner().invoke(
        main,
        ["history", "--state-dir", str(state_dir), *args],
        env={"COLUMNS": "200"},
        catch_exceptions=False,
    )
    return result


@pytest.fixture
def state(tmp_path):
    """Two finished runs (a failed apply on hv1+hv2, then a rollback on lab-a) and one whose process died."""
    state = tmp_path / "state"
    with Journal.open(state) as journal:
        first = journal.start_run("orchestrate apply", "classroom.yaml", {"forks": 5})
        journal.host_started(first, "hv1")
        journal.record_action(first, "hv1", 0, "create VM seat-1", "changed", 0.0, 42.0, "ab" * 32, None)
        journal.host_finished(first, "hv1", "changed")
        journal.host_started(first, "hv2")
        journal.record_action(first, "hv2", 0, "create VM seat-2", "failed", 0.0, 3.0, "cd" * 32, "no memory")
        journal.host_finished(first, "hv2", "failed", "New-VM: no memory")
        journal.finish_run(first, "failed", 1)
        second = journal.start_run("orchestrate rollback", "classroom.yaml", {})
        journal.host_finished(second, "lab-a", "ok")
        journal.finish_run(second, "ok", 0)
        dead = journal.start_run("orchestrate apply", "classroom.yaml", {})
        journal.host_started(dead, "hv1")
        journal._run_locks.pop(dead).release()  # as if its process had been killed
    return state


def test_no_journal_yet_means_no_runs_and_nothing_created(tmp_path):
    missing = tmp_path / "never-used"
    result = history(missing)
    assert result.exit_code == 0
    assert "No runs recorded" in result.output
    assert runs_of(history(missing, "-o", "json")) == []
    assert not missing.exists()


def test_the_table_lists_runs_newest_first_with_host_counts_and_status(state):
    result = history(state)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.strip()[:1].isdigit()]
    assert [line.split()[0] for line in lines] == ["3", "2", "1"]
    assert "interrupted" in lines[0]  # the dead run is found and marked
    assert "rollback" in lines[1] and "1/0/0" in lines[1] and "ok (0)" in lines[1]
    assert "apply" in lines[2] and "0/1/1" in lines[2] and "failed (1)" in lines[2]
    assert "classroom.yaml" in lines[2]


def test_verbose_shows_every_host_and_action_with_timings_and_errors(state):
    output = history(state, "-v", "--last", "3").output
    assert "Run 1: orchestrate apply classroom.yaml" in output
    assert "create VM seat-1" in output and "42.0s" in output
    assert "New-VM: no memory" in output
    assert "abababababab" not in output
    assert "abababababab" in history(state, "-vv").output  # the script's sha256, shortened


def test_json_is_one_line_per_run_with_its_hosts_then_the_recap(state):
    runs = runs_of(history(state, "--output", "json"))
    assert [r["id"] for r in runs] == [3, 2, 1]
    apply_run = runs[2]
    assert apply_run["status"] == "failed" and apply_run["exit_code"] == 1
    assert apply_run["counts"]["changed"] == 1 and apply_run["counts"]["failed"] == 1
    assert apply_run["options"] == {"forks": 5}
    assert {r["host"]: r["status"] for r in apply_run["results"]} == {"hv1": "changed", "hv2": "failed"}
    assert "actions" not in apply_run
    assert runs[0]["status"] == "interrupted"
    verbose = runs_of(history(state, "-o", "json", "-v"))[2]
    assert [(a["host"], a["status"], a["duration"]) for a in verbose["actions"]] == [
        ("hv1", "changed", 42.0),
        ("hv2", "failed", 3.0),
    ]


def test_last_keeps_the_newest_runs(state):
    runs = runs_of(history(state, "-o", "json", "--last", "2"))
    assert [r["id"] for r in runs] == [3, 2]


@pytest.mark.parametrize(
    ("pattern", "ids"),
    [
        ("hv2", [1]),
        ("hv*", [3, 1]),
        ("lab-?", [2]),
        ("all,!hv1", [2, 1]),
        ("~lab|hv2", [2, 1]),
    ],
)
def test_limit_keeps_the_runs_that_touched_matching_hosts(state, pattern, ids):
    result = history(state, "-o", "json", "--limit", pattern)
    assert result.exit_code == 0
    assert [r["id"] for r in runs_of(result)] == ids


def test_a_malformed_limit_is_invalid_input(state):
    result = history(state, "--limit", "~hv[")
    assert result.exit_code == 2
    assert "--limit" in result.output


# -- refusals and read-only (audit I-L1, I-L2, I-L11) --------------------------------------------------------


def test_a_limit_naming_no_host_of_the_journal_is_refused_with_the_close_names(state):
    """`--help` promises exit 2 for a bad --limit: a typo is not "no runs" (monitoring would believe it)."""
    for args in ([], ["-o", "json"]):
        result = history(state, "--limit", "hv-1", *args)
        assert result.exit_code == 2, result.output
        assert "host pattern 'hv-1' matches no host in the journal" in result.stderr
        assert "did you mean 'hv1'?" in result.stderr and "hosts: hv1, hv2, lab-a" in result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == {"event": "recap", "command": "history", "exit_code": 2}


def test_a_limit_on_a_journal_with_no_host_yet_shows_no_runs(tmp_path):
    with Journal.open(tmp_path / "state"):
        pass
    result = history(tmp_path / "state", "--limit", "hv1")
    assert result.exit_code == 0 and "No runs touching hosts matching 'hv1'" in result.output


@pytest.mark.parametrize("below", ["", "sub"])
def test_a_state_dir_that_is_a_file_is_refused_not_no_runs(tmp_path, below):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a folder", encoding="utf-8")
    target = notes / below if below else notes

    def from_cron(*args: str):  # as cron sets it: click's own check of --state-dir does not apply
        return CliRunner().invoke(main, ["history", *args], env={"ORCHESTRATE_STATE_DIR": str(target)})

    result = from_cron()
    assert result.exit_code == 2, result.output
    assert "No runs" not in result.output
    assert f"{notes} (or one of its parents) is not a directory" in result.stderr
    assert result.stderr.startswith("error: ") and "(fix: " in result.stderr
    lines = [json.loads(line) for line in from_cron("-o", "json").stdout.splitlines()]
    assert lines[0]["event"] == "error" and lines[0]["kind"] == "state_dir"
    assert lines[-1] == {"event": "recap", "command": "history", "exit_code": 2}
    assert notes.read_text(encoding="utf-8") == "not a folder"


def test_history_writes_nothing_and_still_shows_a_dead_run_as_interrupted(state):
    """history reads; only a run's own start marks dead runs (mark_interrupted belongs to the runner)."""
    journal_file = state / "journal.sqlite3"
    before = journal_file.read_bytes()

    result = history(state, "-o", "json", "-v")

    assert result.exit_code == 0, result.output
    dead = runs_of(result)[0]
    assert dead["status"] == "interrupted" and dead["finished"] is not None
    assert [(r["host"], r["status"]) for r in dead["results"]] == [("hv1", "interrupted")]
    assert dead["counts"]["interrupted"] == 1 and dead["counts"]["running"] == 0
    assert journal_file.read_bytes() == before
    db = sqlite3.connect(f"file:{journal_file}?mode=ro", uri=True)
    try:
        assert db.execute("SELECT status FROM runs WHERE id = 3").fetchone() == ("running",)
    finally:
        db.close()


def test_a_run_still_alive_shows_as_running(tmp_path):
    with Journal.open(tmp_path / "state") as journal:
        run_id = journal.start_run("orchestrate apply", "classroom.yaml", {})
        journal.host_started(run_id, "hv1")
        runs = runs_of(history(tmp_path / "state", "-o", "json"))
        assert [(r["id"], r["status"]) for r in runs] == [(run_id, "running")]
        journal.finish_run(run_id, "ok", 0)


def test_history_works_on_a_read_only_state_dir(state):
    """README and every read-only refusal say: history, schedules and plan work on a read-only state
    directory. Run as the admin's cron job would, by a process that cannot write there."""
    from test_journal_storage_faults import ROOT, without_write_access

    prefix = without_write_access(state)
    try:
        done = subprocess.run(
            [*prefix, sys.executable, "-c", "from orchestrator.cli import main; main()", "history", "-o", "json"],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONPATH": str(ROOT), "ORCHESTRATE_STATE_DIR": str(state)},
        )
    finally:
        for path in [state, *state.rglob("*")]:
            path.chmod(stat.S_IMODE(path.stat().st_mode) | 0o200)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["id"], r["status"]) for r in lines[:-1]] == [(3, "interrupted"), (2, "ok"), (1, "failed")]
    assert sorted(p.name for p in state.iterdir()) == ["journal.sqlite3", "locks"]  # nothing made there


def test_a_log_keeps_every_long_host_name_and_status_whole(tmp_path):
    # cron mails history's output: 80 columns by default, and the names differ only at their ends.
    state = tmp_path / "state"
    names = [f"hyperv-host-0001.classroom-building-north.school-district-example.site-{x}.local" for x in "ab"]
    with Journal.open(state) as journal:
        run = journal.start_run("orchestrate apply", "/etc/orchestrate/inventories/classroom-building-north.yaml")
        for name in names:
            journal.host_started(run, name)
            journal.host_finished(run, name, "failed", "New-VM: the operation failed because the file was not found")
        journal.finish_run(run, "failed", 1)

    result = CliRunner().invoke(main, ["history", "--state-dir", str(state), "-v"], env={"COLUMNS": "80"})

    assert result.exit_code == 0, result.output
    assert "…" not in result.output
    for name in names:
        assert any(name in line and "failed" in line for line in result.output.splitlines()), result.output
    assert "/etc/orchestrate/inventories/classroom-building-north.yaml" in result.output
