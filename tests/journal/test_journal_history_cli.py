"""`orchestrate history`: the admin looks back at what ran, as a table or as JSON for scripts."""

from __future__ import annotations

import json

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
        ("nowhere", []),
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
