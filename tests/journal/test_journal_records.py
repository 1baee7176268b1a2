"""The journal records runs, hosts, actions and exports; many threads write at once; secrets never get in."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta

import pytest

from orchestrator.journal import SCHEMA_VERSION, Journal, JournalError, journal_path
from orchestrator.model import Secret


@pytest.fixture
def journal(tmp_path):
    with Journal.open(tmp_path / "state") as opened:
        yield opened


def test_opening_creates_the_state_dir_the_schema_and_wal(tmp_path):
    state = tmp_path / "nested" / "state"
    with Journal.open(state) as journal:
        assert journal.schema_version == SCHEMA_VERSION
    db = sqlite3.connect(journal_path(state))
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"schema_version", "runs", "host_results", "actions", "exports"} <= tables
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    with Journal.open(state) as again:  # reopening migrates nothing twice
        assert again.schema_version == SCHEMA_VERSION
        assert again._db.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == SCHEMA_VERSION


def test_a_journal_from_a_newer_orchestrator_is_refused(tmp_path):
    with Journal.open(tmp_path) as journal:
        journal._db.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION + 1,))
    with pytest.raises(JournalError, match="newer"):
        Journal.open(tmp_path)


def test_a_run_story_from_start_to_history(journal):
    t0 = datetime(2026, 11, 25, 22, 0, tzinfo=UTC)
    run_id = journal.start_run("orchestrate apply", "classroom.yaml", {"forks": 5, "limit": "hv*"})
    journal.host_started(run_id, "hv1")
    journal.host_started(run_id, "hv2")
    journal.record_action(run_id, "hv1", 0, "create VM seat-1", "changed", t0, t0 + timedelta(seconds=42),
                          "a" * 64, None)  # fmt: skip
    journal.record_action(run_id, "hv2", 0, "create VM seat-2", "failed", t0.isoformat(), "2026-11-25T22:00:03Z",
                          "b" * 64, "New-VM: not enough memory")  # fmt: skip
    journal.host_finished(run_id, "hv1", "changed")
    journal.host_finished(run_id, "hv2", "failed", "New-VM: not enough memory")
    journal.host_finished(run_id, "hv3", "skipped")  # never started: unreachable
    journal.finish_run(run_id, "failed", 1)

    [summary] = journal.runs(last=5)
    assert (summary.id, summary.command, summary.inventory) == (run_id, "orchestrate apply", "classroom.yaml")
    assert summary.options == {"forks": 5, "limit": "hv*"}
    assert (summary.status, summary.exit_code) == ("failed", 1)
    assert summary.hosts == ("hv1", "hv2", "hv3")
    assert (summary.counts.changed, summary.counts.failed, summary.counts.skipped, summary.counts.ok) == (
        1,
        1,
        1,
        0,
    )
    assert summary.duration is not None and summary.duration >= 0

    detail = journal.run(run_id)
    by_host = {a.host: a for a in detail.actions}
    assert by_host["hv1"].duration == 42.0
    assert by_host["hv2"].duration == 3.0
    assert by_host["hv2"].error == "New-VM: not enough memory"
    assert by_host["hv1"].started == "2026-11-25T22:00:00.000+00:00"
    assert {h.host: h.error for h in detail.hosts}["hv2"] == "New-VM: not enough memory"
    assert detail.to_dict()["actions"][0]["duration"] in (42.0, 3.0)


def test_runs_are_newest_first_limited_and_filtered_by_host(journal):
    ids = []
    for hosts in (["hv1"], ["hv2"], ["hv1", "hv3"]):
        run_id = journal.start_run("orchestrate apply", "inv.yaml", {})
        for host in hosts:
            journal.host_finished(run_id, host, "ok")
        journal.finish_run(run_id, "ok", 0)
        ids.append(run_id)
    assert [r.id for r in journal.runs()] == ids[::-1]
    assert [r.id for r in journal.runs(last=2)] == ids[:0:-1]
    assert [r.id for r in journal.runs(hosts=["hv1"])] == [ids[2], ids[0]]
    assert journal.runs(hosts=[]) == []
    assert journal.host_names() == ["hv1", "hv2", "hv3"]


def test_exports_are_listed_newest_first_and_pruned_ones_drop_out(journal):
    run_id = journal.start_run("orchestrate export", "inv.yaml", {"keep": 2})
    made = [
        journal.record_export(run_id, "hv1", "seat-1", f"E:\\exports\\seat-1-{i}", 1000 + i) for i in range(3)
    ]
    journal.record_export(run_id, "hv1", "seat-2", "E:\\exports\\seat-2-0", 5)
    listed = journal.exports("hv1", "seat-1")
    assert [e.id for e in listed] == made[::-1]
    assert (listed[0].vm, listed[0].path, listed[0].size_bytes) == ("seat-1", "E:\\exports\\seat-1-2", 1002)
    journal.export_removed(made[0])
    assert [e.id for e in journal.exports("hv1", "seat-1")] == made[:0:-1]
    assert len(journal.exports("hv1", "seat-1", include_removed=True)) == 3
    assert journal.run(run_id).exports[0].id == made[0]


def test_many_threads_and_a_second_connection_write_at_once(journal, tmp_path):
    run_id = journal.start_run("orchestrate apply", "inv.yaml", {})
    other = Journal.open(tmp_path / "state")
    errors: list[BaseException] = []

    def worker(db: Journal, host: str) -> None:
        try:
            db.host_started(run_id, host)
            for index in range(40):
                db.record_action(run_id, host, index, f"step {index}", "ok", 0.0, 1.0, None, None)
            db.host_finished(run_id, host, "ok")
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [
        threading.Thread(target=worker, args=(journal if i % 2 else other, f"hv{i}")) for i in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    other.close()
    assert errors == []
    journal.finish_run(run_id, "ok", 0)
    detail = journal.run(run_id)
    assert len(detail.actions) == 8 * 40
    assert detail.run.counts.ok == 8


@pytest.mark.parametrize(
    "call",
    [
        lambda j, r: j.start_run("orchestrate apply", "inv.yaml", {"password": Secret("hunter2")}),
        lambda j, r: j.record_action(r, "hv1", 0, Secret("hunter2"), "ok", 0.0, 1.0, None, None),
        lambda j, r: j.record_action(r, "hv1", 0, "create", "failed", 0.0, 1.0, None, Secret("hunter2")),
        lambda j, r: j.host_finished(r, "hv1", "failed", Secret("hunter2")),
        lambda j, r: j.start_run(Secret("hunter2"), "inv.yaml", {}),
    ],
)
def test_secrets_are_refused_everywhere(journal, call):
    run_id = journal.start_run("orchestrate apply", "inv.yaml", {})
    with pytest.raises(TypeError, match="masked"):
        call(journal, run_id)
    raw = b"".join(p.read_bytes() for p in journal.state_dir.glob("journal.sqlite3*"))
    assert b"hunter2" not in raw


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda j, r: j.host_finished(r, "hv1", "done"), "host status"),
        (lambda j, r: j.record_action(r, "hv1", 0, "x", "great", 0.0, 1.0), "action status"),
        (lambda j, r: j.finish_run(r, "great", 0), "run status"),
        (lambda j, r: j.finish_run(r + 1000, "ok", 0), "no run"),
        (lambda j, r: j.run(r + 1000), "no run"),
        (lambda j, r: j.record_action(r, "hv1", 0, "x", "ok", datetime(2026, 1, 1), 1.0), "timezone"),
    ],
)
def test_wrong_values_are_refused_with_a_reason(journal, call, message):
    run_id = journal.start_run("orchestrate apply", "inv.yaml", {})
    with pytest.raises((ValueError, JournalError), match=message):
        call(journal, run_id)


def test_records_for_an_unknown_run_are_refused(journal):
    with pytest.raises(sqlite3.IntegrityError):
        journal.host_started(12345, "hv1")


def test_a_timestamp_that_is_not_one_is_refused_naming_the_field(journal):
    run_id = journal.start_run("orchestrate apply", "inv.yaml", {})
    with pytest.raises(ValueError, match="'started' takes a timestamp"):
        journal.record_action(run_id, "hv1", 0, "create VM", "ok", "ab" * 32, 1.0)


def test_a_run_left_open_when_its_journal_closes_is_interrupted_next_time(tmp_path):
    with Journal.open(tmp_path) as journal:
        run_id = journal.start_run("orchestrate apply", "inv.yaml", {})
    with Journal.open(tmp_path) as journal:
        assert [r.id for r in journal.mark_interrupted()] == [run_id]
        assert journal.run(run_id).run.status == "interrupted"


def test_a_hosts_actions_are_journaled_together_or_not_at_all(journal):
    # One script's result document says how every action of the host went: the journal keeps all of them,
    # in plan order, or (when one row is wrong) none, never the first half.
    run_id = journal.start_run("orchestrate apply", "inv.yaml", {})
    journal.record_actions(
        run_id, "hv1", [(0, "create VM lab-01", "changed", None), (1, "start VM lab-01", "failed", "no room")],
        0.0, 2.0, script_sha256="ab" * 32,
    )
    with pytest.raises(ValueError, match="action status"):
        journal.record_actions(
            run_id, "hv2", [(0, "create VM lab-02", "changed", None), (1, "start VM lab-02", "great", None)],
            0.0, 2.0,
        )
    with pytest.raises(TypeError, match="masked"):
        journal.record_actions(run_id, "hv3", [(0, "create VM", "ok", None), (1, Secret("hunter2"), "ok", None)],
                               0.0, 1.0)

    actions = journal.run(run_id).actions
    assert [(a.host, a.index, a.summary, a.status, a.error) for a in actions] == [
        ("hv1", 0, "create VM lab-01", "changed", None),
        ("hv1", 1, "start VM lab-01", "failed", "no room"),
    ]
