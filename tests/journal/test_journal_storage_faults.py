"""Storage faults of the state directory end in one typed error naming the path and the fix, found by a
preflight before any host is contacted; a journal emptied or replaced is noticed, never recreated blank.

The stories: the admin's state directory sits on a disk that filled up, was remounted read-only, or was
"cleaned" by a script that truncated the journal, made `locks` a file, or left garbage in the journal.
Each must be told plainly (StateDirError: .path, .fix) instead of a traceback; read-only commands (history)
keep working on a read-only directory; state files are owner-only whatever the umask.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.journal import Journal, JournalStorageError
from orchestrator.locks import FileLock, HostLock, lock_path
from orchestrator.statedir import StateDirError, check_state_dir

CHILD = Path(__file__).with_name("readonly_child.py")
ROOT = Path(__file__).resolve().parents[2]


def recorded_journal(state: Path, runs: int = 2) -> list[int]:
    with Journal.open(state) as journal:
        ids = []
        for _ in range(runs):
            run_id = journal.start_run("orchestrate apply", "school.yaml")
            journal.host_started(run_id, "hv01")
            journal.host_finished(run_id, "hv01", "changed")
            journal.finish_run(run_id, "changed", 0)
            ids.append(run_id)
        return ids


# -- read-only state directory ------------------------------------------------------------------------------


def without_write_access(state: Path) -> list[str]:
    """The command prefix that runs a child unable to write `state` (chmod'ed read-only)."""
    for path in [state, *state.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(stat.S_IMODE(mode) & ~0o222)
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root, and setpriv (util-linux) is missing to drop CAP_DAC_OVERRIDE")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner"]


def test_a_read_only_state_dir_is_refused_by_the_preflight_and_history_still_works(tmp_path: Path):
    state = tmp_path / "state"
    ids = recorded_journal(state)
    prefix = without_write_access(state)
    try:
        done = subprocess.run(
            [*prefix, sys.executable, str(CHILD), str(state)],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    finally:
        for path in [state, *state.rglob("*")]:
            path.chmod(stat.S_IMODE(path.stat().st_mode) | 0o200)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)

    assert report["preflight_read"] == {"ok": None}
    assert report["history"] == {"ok": sorted(ids, reverse=True)}  # sqlite mode=ro (immutable in a ro dir)
    refused = report["preflight_write"]
    assert refused["error"] == "StateDirError" and refused["path"] == str(state)
    assert "read-only or no permission" in refused["message"] and "--state-dir" in refused["message"]
    for step in ("journal_write", "host_lock"):
        assert report[step]["error"] in ("StateDirError", "JournalStorageError"), report[step]
        assert "fix:" in report[step]["message"]


# -- damaged, garbage, wrong kinds --------------------------------------------------------------------------


def test_a_garbage_journal_is_named_and_never_overwritten(tmp_path: Path):
    state = tmp_path / "state"
    state.mkdir()
    journal = state / "journal.sqlite3"
    journal.write_bytes(b"this is not a database\n" * 100)

    for attempt in (lambda: check_state_dir(state, writable=True), lambda: Journal.open(state)):
        with pytest.raises(StateDirError) as caught:
            attempt()
        assert caught.value.path == journal and "not a SQLite database" in caught.value.problem
        assert "mv" in caught.value.fix
    assert journal.read_bytes().startswith(b"this is not a database")


def test_a_damaged_journal_is_a_named_error_when_it_is_read(tmp_path: Path):
    state = tmp_path / "state"
    recorded_journal(state, runs=30)
    journal = state / "journal.sqlite3"
    data = bytearray(journal.read_bytes())
    data[100:] = b"\xff" * (len(data) - 100)  # the header survives, every page after it is noise
    journal.write_bytes(bytes(data))

    with pytest.raises(JournalStorageError) as caught, Journal.open(state) as opened:
        opened.runs()
    assert "damaged" in caught.value.problem and caught.value.path == journal


@pytest.mark.parametrize("big", [False, True], ids=["whole-file-check", "newest-rows-check"])
def test_the_preflight_finds_a_journal_whose_last_pages_are_damaged(tmp_path: Path, monkeypatch, big):
    """The preflight's check_journal: quick_check of the whole file, or on a big journal (where that would
    cost seconds per run) a read of every table's and index's newest entries, where a cut-off or half-restored
    journal loses its pages first."""
    import orchestrator.journal as journal_module
    from orchestrator.journal import check_journal

    state = tmp_path / "state"
    recorded_journal(state, runs=200)
    journal = state / "journal.sqlite3"
    with sqlite3.connect(journal) as db:
        page = db.execute("PRAGMA page_size").fetchone()[0]
    db.close()
    data = bytearray(journal.read_bytes())
    data[-page:] = b"\xff" * page  # the newest page is noise; the header and the schema survive
    journal.write_bytes(bytes(data))
    if big:
        monkeypatch.setattr(journal_module, "QUICK_CHECK_BYTES", 0)

    for writable in (True, False):
        with pytest.raises(JournalStorageError) as caught:
            check_journal(state, writable=writable)
        assert "damaged" in caught.value.problem and caught.value.path == journal and "mv" in caught.value.fix


def test_a_journal_that_is_a_directory_is_named(tmp_path: Path):
    state = tmp_path / "state"
    (state / "journal.sqlite3").mkdir(parents=True)
    for attempt in (lambda: check_state_dir(state, writable=True), lambda: Journal.open(state)):
        with pytest.raises(StateDirError) as caught:
            attempt()
        assert caught.value.path == state / "journal.sqlite3" and "is a directory" in caught.value.problem


def test_locks_that_is_a_file_is_named_by_the_preflight_and_by_the_lock(tmp_path: Path):
    state = tmp_path / "state"
    recorded_journal(state, runs=0)
    shutil.rmtree(state / "locks", ignore_errors=True)
    (state / "locks").write_text("oops", encoding="utf-8")

    with pytest.raises(StateDirError) as caught:
        check_state_dir(state, writable=True)
    assert caught.value.path == state / "locks" and "not a directory" in caught.value.problem
    with pytest.raises(StateDirError):
        HostLock.acquire(state, "hv01", None)
    with Journal.open(state) as journal, pytest.raises(StateDirError):
        journal.start_run("orchestrate apply", "school.yaml")  # its liveness lock lives under locks/


# -- disk full ----------------------------------------------------------------------------------------------


def full_disk(real_write):
    def write(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    return write


def test_a_full_disk_is_found_by_the_preflight(tmp_path: Path, monkeypatch):
    state = tmp_path / "state"
    monkeypatch.setattr(os, "write", full_disk(os.write))
    with pytest.raises(StateDirError) as caught:
        check_state_dir(state, writable=True)
    assert "disk is full" in caught.value.problem and "free space" in caught.value.fix
    assert not list(state.glob(".orchestrate-write-probe*"))  # the probe is cleaned up


def test_a_full_disk_while_taking_a_host_lock_is_named_and_leaves_the_lock_free(tmp_path: Path, monkeypatch):
    state = tmp_path / "state"
    monkeypatch.setattr(os, "write", full_disk(os.write))
    with pytest.raises(StateDirError) as caught:
        HostLock.acquire(state, "hv01", None)
    assert caught.value.path == lock_path(state, "hv01") and "disk is full" in caught.value.problem
    monkeypatch.undo()
    HostLock.acquire(state, "hv01", None).release()  # nobody holds it


def test_a_full_disk_while_journaling_is_a_named_error_and_the_journal_stays_whole(tmp_path: Path):
    """SQLite's own SQLITE_FULL, forced with max_page_count (SQLite writes through its own C I/O layer)."""
    state = tmp_path / "state"
    with Journal.open(state) as journal:
        run_id = journal.start_run("orchestrate apply", "school.yaml")
        journal.record_action(run_id, "hv01", 0, "create VM lab-01", "changed", 0.0, 1.0)
        pages = journal._db.execute("PRAGMA page_count").fetchone()[0]
        journal._db.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(JournalStorageError) as caught:
            journal.record_action(run_id, "hv01", 1, "x" * 200_000, "changed", 1.0, 2.0)
        assert "disk is full" in caught.value.problem and "still in its output" in caught.value.problem
        journal._db.execute("PRAGMA max_page_count = 1073741823")
        assert [a.summary for a in journal.run(run_id).actions] == ["create VM lab-01"]


def test_a_first_run_whose_checkpoint_cannot_happen_links_no_half_built_journal(tmp_path: Path, monkeypatch):
    """Audit I-H2: on a nearly full disk, the close of the connection that built a new journal could not
    checkpoint its WAL into the file, and said nothing; the file linked into place lacked the schema, and
    every later run found a "damaged" journal. Injected here by a second connection that keeps the build's
    WAL from being checkpointed at close (as the full disk did). The journal put in place must be whole."""
    import orchestrator.journal as journal_module

    real_connect = journal_module._connect
    keepers: list[sqlite3.Connection] = []

    def connect_and_hold_the_wal(path: Path, **kwargs) -> sqlite3.Connection:
        db = real_connect(path, **kwargs)
        if path.name.startswith(".journal.sqlite3.new"):
            keeper = sqlite3.connect(path)
            keeper.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # a reader: close is not the last
            keepers.append(keeper)
        return db

    state = tmp_path / "state"
    monkeypatch.setattr(journal_module, "_connect", connect_and_hold_the_wal)
    try:
        Journal.open(state).close()
    except JournalStorageError as refused:  # refusing is fine too, as long as nothing half-made is left
        assert not (state / "journal.sqlite3").exists(), refused
    finally:
        for keeper in keepers:
            keeper.close()
    monkeypatch.undo()

    with Journal.open(state) as journal:  # the next run: the journal is whole (or made afresh)
        run_id = journal.start_run("orchestrate apply", "school.yaml")
        journal.finish_run(run_id, "ok", 0)
        assert [r.id for r in journal.runs()] == [run_id]
    with sqlite3.connect(state / "journal.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()


def test_a_disk_full_while_creating_the_journal_leaves_no_journal_and_the_next_run_works(
    tmp_path: Path, monkeypatch
):
    """SQLITE_FULL while the new journal is built (forced with max_page_count): the disk-full error, no
    journal and no temporary file left behind; once there is room again, the next run creates it."""
    import orchestrator.journal as journal_module

    real_connect = journal_module._connect

    def tiny_disk(path: Path, **kwargs) -> sqlite3.Connection:
        db = real_connect(path, **kwargs)
        if path.name.startswith(".journal.sqlite3.new"):
            db.execute("PRAGMA max_page_count = 2")
        return db

    state = tmp_path / "state"
    monkeypatch.setattr(journal_module, "_connect", tiny_disk)
    with pytest.raises(JournalStorageError) as caught:
        Journal.open(state)
    assert "the disk is full while trying to create the journal" in caught.value.problem
    assert "still in its output" not in caught.value.problem  # no run has started yet
    assert "free space" in caught.value.fix
    assert sorted(p.name for p in state.iterdir() if p.is_file()) == []
    monkeypatch.undo()

    with Journal.open(state) as journal:
        assert journal.runs() == []


def test_a_build_killed_midway_leaves_litter_that_a_later_run_sweeps_once_its_process_is_gone(tmp_path: Path):
    """kill -9 while the first run built its journal left `.journal.sqlite3.new-PID-TID` (and -journal) in the
    state dir. A later run removes an abandoned build once it is ten minutes old and its process is gone,
    but never a fresh one, nor one whose process still exists: that build may still be linked into place."""
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    no_such_pid = int(Path("/proc/sys/kernel/pid_max").read_text()) + 1  # above pid_max: never a process
    hour_ago = os.stat(state).st_mtime - 3600

    def litter(pid: int, suffix: str = "", *, old: bool = True) -> Path:
        leftover = state / f".journal.sqlite3.new-{pid}-140213{suffix}"
        leftover.write_bytes(b"half a journal")
        if old:
            os.utime(leftover, (hour_ago, hour_ago))
        return leftover

    abandoned = [litter(no_such_pid), litter(no_such_pid, "-journal")]
    just_killed = litter(no_such_pid + 1, old=False)
    still_building = litter(os.getppid())

    with Journal.open(state) as journal:
        assert journal.runs() == []
    assert not any(leftover.exists() for leftover in abandoned)
    assert just_killed.exists() and still_building.exists()
    assert (state / "journal.sqlite3").exists()


# -- emptied under us ---------------------------------------------------------------------------------------


def test_a_journal_truncated_to_zero_bytes_is_noticed_not_recreated(tmp_path: Path):
    state = tmp_path / "state"
    recorded_journal(state)
    journal = state / "journal.sqlite3"
    os.truncate(journal, 0)

    with pytest.raises(StateDirError) as caught:
        Journal.open(state)
    assert "empty (0 bytes)" in caught.value.problem and "rm" in caught.value.fix
    assert journal.stat().st_size == 0  # still the admin's to restore: nothing was written into it


def test_a_journal_truncated_during_a_run_is_noticed_at_the_next_write(tmp_path: Path):
    state = tmp_path / "state"
    with Journal.open(state) as journal:
        run_id = journal.start_run("orchestrate apply", "school.yaml")
        os.truncate(state / "journal.sqlite3", 0)  # a cleanup job, mid-run
        with pytest.raises(JournalStorageError) as caught:
            journal.host_started(run_id, "hv01")
        assert "emptied (0 bytes) while this run was using it" in caught.value.problem


def test_a_journal_replaced_during_a_run_is_noticed_at_the_next_write(tmp_path: Path):
    state = tmp_path / "state"
    recorded_journal(state / "other")
    with Journal.open(state) as journal:
        run_id = journal.start_run("orchestrate apply", "school.yaml")
        os.replace(state / "other" / "journal.sqlite3", state / "journal.sqlite3")
        with pytest.raises(JournalStorageError, match="replaced by another file"):
            journal.finish_run(run_id, "ok", 0)


# -- owner-only ---------------------------------------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_state_files_are_owner_only_whatever_the_umask(tmp_path: Path):
    state = tmp_path / "a" / "state"
    old = os.umask(0)
    try:
        with Journal.open(state) as journal:
            run_id = journal.start_run("orchestrate apply", "school.yaml")
            HostLock.acquire(state, "hv01", run_id).release()
            modes = {
                p.relative_to(tmp_path).as_posix(): stat.S_IMODE(p.stat().st_mode)
                for p in [tmp_path / "a", *sorted((tmp_path / "a").rglob("*"))]
            }
    finally:
        os.umask(old)
    files = {k: v for k, v in modes.items() if not (tmp_path / k).is_dir()}
    dirs = {k: v for k, v in modes.items() if (tmp_path / k).is_dir()}
    assert "a/state/journal.sqlite3-wal" in files  # SQLite gives -wal/-shm the database's mode
    assert set(files.values()) == {0o600}, files
    assert set(dirs.values()) == {0o700}, dirs


def test_a_lock_file_is_created_owner_only_even_with_a_permissive_umask(tmp_path: Path):
    old = os.umask(0o000)
    try:
        lock = FileLock(tmp_path / "locks" / "hv01.lock")
        assert lock.try_acquire()
        lock.release()
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "locks" / "hv01.lock").stat().st_mode) == 0o600


def test_the_preflight_passes_on_a_healthy_or_missing_state_dir(tmp_path: Path):
    check_state_dir(tmp_path / "missing", writable=False)
    assert not (tmp_path / "missing").exists()  # read-only commands create nothing
    check_state_dir(tmp_path / "new", writable=True)
    assert (tmp_path / "new" / "locks" / "runs").is_dir()
    recorded_journal(tmp_path / "new")
    check_state_dir(tmp_path / "new", writable=True)
    check_state_dir(tmp_path / "new", writable=False)
    with sqlite3.connect(tmp_path / "new" / "journal.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 2


def test_a_preview_says_why_it_is_not_recorded(tmp_path: Path):
    """`--state-dir` points through a file (a typo: notes.txt/state). A dry run still previews, unrecorded,
    and its note names the file among the parents instead of calling the folder read-only."""
    from click.testing import CliRunner

    from orchestrator.cli import main

    (tmp_path / "notes.txt").write_text("not a folder", encoding="utf-8")
    state = tmp_path / "notes.txt" / "state"
    inventory = tmp_path / "inv.yaml"
    inventory.write_text("all:\n  hosts:\n    hv01:\n      ansible_host: 127.0.0.1\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["apply", str(inventory), "--dry-run", "--state-dir", str(state)])
    assert "note: this preview is not recorded in `orchestrate history`" in result.stderr
    assert f"{tmp_path / 'notes.txt'} (or one of its parents) is not a directory" in result.stderr
    assert "read-only" not in result.stderr
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "not a folder"


def test_root_is_refused_in_a_state_dir_another_account_owns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # The service account 'orchestrate' owns /var/lib/orchestrate (systemd's StateDirectory=); an admin runs
    # `sudo orchestrate apply` there. The lock files root would create (0600, root's) would lock the
    # account's nightly job out of that host for good, so the run is refused before anything is written.
    state = tmp_path / "var-lib-orchestrate"
    state.mkdir()
    if os.geteuid() == 0:
        os.chown(state, 999, 999)
    else:  # a non-root test run: be root for the check, in a directory this (non-root) user owns
        monkeypatch.setattr("orchestrator.statedir.os.geteuid", lambda: 0)

    with pytest.raises(StateDirError) as refused:
        check_state_dir(state, writable=True)

    assert "belongs to" in refused.value.problem and "sudo -u" in refused.value.fix
    assert list(state.iterdir()) == []  # no journal, no locks, nothing of root's
    check_state_dir(state, writable=False)  # reading (history) stays allowed
