"""A journal the run cannot open is refused like any other state-directory fault: one `error:` line naming
the file and the fix, exit 2 (nothing was contacted), and with `-o json` the `error` event, `invalid_input`
and the recap. Never a traceback with exit 1 ("a host failed") and an empty stdout.

The stories (audit I-H1): cron's nightly rollback meets a journal whose header survived but whose body was
cut off (a restore that stopped half-way), a disk with room for the preflight's probe but not for the WAL
index SQLite makes when it opens the journal, and a journal that a newer orchestrator on the same box has
already migrated. And the journal failing to open a moment after the preflight passed (the disk filled up
in between): still exit 2 for a run, and a move goes on unjournaled, so that its undo can still run.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from state_support import DEMO, files, orchestrate

from orchestrator.journal import Journal, JournalStorageError


@pytest.fixture(scope="module")
def applied(tmp_path_factory) -> Path:
    """The demo applied once: simulated hosts with VMs and a `clean` baseline, and a journal with one run."""
    state = tmp_path_factory.mktemp("applied") / "state"
    result = orchestrate(state, "apply", DEMO)
    assert result.exit_code == 0, result.output
    return state


@pytest.fixture
def state(applied: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "state"
    for name, data in files(applied).items():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_bytes(data)
    return copy


class FullAfterThePreflight(Journal):
    """The journal as the runner opens it once the preflight has passed: the disk filled up in between."""

    @classmethod
    def open(cls, state_dir, **_):
        raise JournalStorageError(
            Path(state_dir) / "journal.sqlite3", "the disk is full while trying to open the journal", "free space"
        )


def assert_refused(result, state: Path, journal_before: bytes, hosts_before: dict[str, bytes], *words: str):
    """Exit 2, one `error:` line on stderr with the fix, the JSON error event, invalid_input and the recap;
    the journal and the simulated hosts as they were (no host was contacted)."""
    assert result.exit_code == 2, (result.output, result.stderr, result.exception)
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    assert str(state / "journal.sqlite3") in errors[0] and "(fix: " in errors[0]
    for word in words:
        assert word in errors[0], errors[0]
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0]["event"] == "error" and lines[0]["kind"] == "state_dir"
    assert lines[0]["path"] == str(state / "journal.sqlite3") and lines[0]["fix"]
    assert lines[1] == {"event": "invalid_input", "errors": [errors[0].removeprefix("error: ")]}
    assert lines[-1]["event"] == "recap" and lines[-1]["exit_code"] == 2
    assert (state / "journal.sqlite3").read_bytes() == journal_before
    assert files(state / "simulator") == hosts_before


COMMANDS = [
    ("apply", DEMO),
    ("apply", DEMO, "--dry-run"),
    ("plan", DEMO),
    ("schedules", DEMO),
    ("checkpoint", DEMO, "--name", "before-lesson"),
    ("rollback", DEMO, "--to", "clean"),
    ("move", DEMO, "--vm", "library", "--to", "hv01.demo.local", "--via", "\\\\demo-nas\\exports"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:1] + c[2:3]))
def test_a_journal_damaged_past_its_header_is_refused_before_any_host(state: Path, command):
    journal = state / "journal.sqlite3"
    os.truncate(journal, journal.stat().st_size // 2)  # the header is intact, half of the pages are gone
    before, hosts = journal.read_bytes(), files(state / "simulator")

    result = orchestrate(state, *command, "-o", "json")

    assert_refused(result, state, before, hosts, "damaged", "mv '")


@pytest.mark.parametrize("command", [COMMANDS[0], COMMANDS[2], COMMANDS[5]], ids=["apply", "plan", "rollback"])
def test_a_journal_from_a_newer_orchestrator_is_refused_before_any_host(state: Path, command):
    journal = state / "journal.sqlite3"
    with sqlite3.connect(journal) as db:
        db.execute("INSERT INTO schema_version VALUES (99)")
    db.close()
    before, hosts = journal.read_bytes(), files(state / "simulator")

    result = orchestrate(state, *command, "-o", "json")

    assert_refused(result, state, before, hosts, "schema version 99", "newer orchestrator")


def test_a_disk_too_full_for_the_wal_index_is_refused_as_a_full_disk(state: Path, monkeypatch):
    """The probe's 4 KiB fit, the WAL index (-shm, 32 KiB) SQLite makes at open does not: SQLite says only
    "disk I/O error" (SQLITE_IOERR_SHMSIZE). Injected: no test may need a real full file system."""
    import orchestrator.journal as journal_module

    configure = journal_module._configure
    real_statvfs = os.statvfs

    def no_room_for_the_wal_index(db, *, writable: bool, wal: bool = True) -> None:
        if writable and wal:
            fault = sqlite3.OperationalError("disk I/O error")
            fault.sqlite_errorcode = 4874  # SQLITE_IOERR_SHMSIZE
            raise fault
        configure(db, writable=writable, wal=wal)

    def sixteen_kib_free(path):
        real = real_statvfs(path)
        return os.statvfs_result((*real[:3], 4, 4, *real[5:]))  # f_bfree, f_bavail: 4 blocks of 4 KiB

    journal = state / "journal.sqlite3"
    before, hosts = journal.read_bytes(), files(state / "simulator")
    monkeypatch.setattr(journal_module, "_configure", no_room_for_the_wal_index)
    monkeypatch.setattr(os, "statvfs", sixteen_kib_free)

    result = orchestrate(state, "rollback", DEMO, "--to", "clean", "--vm", "lab-a-*", "-o", "json")

    assert_refused(result, state, before, hosts, "the disk is full (16 KiB free) while trying to open the journal")
    assert "free space on the file system" in result.stderr
    assert "still in its output" not in result.stderr  # no run has started: there is no output to point to


def test_a_journal_that_fails_to_open_after_the_preflight_is_still_exit_2(state: Path, monkeypatch):
    """The disk fills up between the preflight and the run's own open of the journal."""
    import orchestrator.runner.journal_guard as guard


    journal = state / "journal.sqlite3"
    before, hosts = journal.read_bytes(), files(state / "simulator")
    monkeypatch.setattr(guard, "Journal", FullAfterThePreflight)  # the run's own open, not the preflight's

    result = orchestrate(state, "apply", DEMO, "-o", "json")

    assert_refused(result, state, before, hosts, "the disk is full")


def test_a_move_whose_journal_fails_after_the_preflight_goes_on_unjournaled(state: Path, monkeypatch):
    """A move is several runs: a journal lost between them must not stop it half-way (the VM exported and
    off), or its undo could not run either. Each step says it is not journaled."""
    import orchestrator.runner.journal_guard as guard


    with Journal.open(state, read_only=True) as journal:
        runs_before = len(journal.runs())
    monkeypatch.setattr(guard, "Journal", FullAfterThePreflight)  # the run's own open, not the preflight's

    result = orchestrate(
        state, "move", DEMO, "--vm", "library", "--to", "hv01.demo.local", "--via", "\\\\demo-nas\\exports", "-o", "json"
    )

    assert result.exit_code == 0, (result.output, result.stderr, result.exception)
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert any(e["event"] == "move_done" for e in events), events
    warnings = [e for e in events if e["event"] == "warning" and e.get("host") == "(journal)"]
    assert warnings and all("not journaled" in w["message"] for w in warnings), warnings
    monkeypatch.undo()
    with Journal.open(state, read_only=True) as journal:
        assert len(journal.runs()) == runs_before
