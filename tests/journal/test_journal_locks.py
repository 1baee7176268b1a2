"""Host locks between real processes: a live holder is named, a waiting run gets the lock, a dead one is taken over.

Every test that starts a child process bounds its waits and kills the child in a finally.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from orchestrator.journal import Journal
from orchestrator.locks import HostLock, HostLocked, lock_path

CHILD = Path(__file__).with_name("journal_child.py")
TIMEOUT = 20.0


class Child:
    """A second orchestrator run in its own process (journal_child.py)."""

    def __init__(self, state_dir: Path, host: str, command: str = "orchestrate apply") -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(CHILD), str(state_dir), host, command],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.ready = self.read_line("run_id")

    def read_line(self, key: str) -> dict:
        """The next JSON line that has `key`, within TIMEOUT seconds."""
        box: list[dict] = []

        def reader() -> None:
            for line in self.proc.stdout:  # type: ignore[union-attr]
                data = json.loads(line)
                if key in data:
                    box.append(data)
                    return

        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        thread.join(TIMEOUT)
        if not box:
            self.kill()
            raise AssertionError(f"child never said {key!r}: {self.proc.stderr.read()}")  # type: ignore[union-attr]
        return box[0]

    def send(self, line: str) -> None:
        self.proc.stdin.write(line + "\n")  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(TIMEOUT)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()


pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses SIGKILL")


def test_a_second_run_on_a_locked_host_is_told_who_holds_it(tmp_path):
    child = Child(tmp_path, "hv1")
    try:
        with pytest.raises(HostLocked) as caught:
            HostLock.acquire(tmp_path, "hv1", run_id=None)
        locked = caught.value
        assert locked.holder_pid == child.proc.pid
        assert locked.run_id == child.ready["run_id"]
        assert locked.holder_command == "orchestrate apply"
        assert locked.since
        message = str(locked)
        assert f"pid {child.proc.pid}" in message and f"run {child.ready['run_id']}" in message
        assert "--wait-lock" in message
        # Host names are DNS names: another spelling of the same host is the same lock.
        with pytest.raises(HostLocked):
            HostLock.acquire(tmp_path, "HV1", run_id=None)
        # Another host is free.
        with HostLock.acquire(tmp_path, "hv2", run_id=None) as other:
            assert other.held
    finally:
        child.kill()


def test_a_run_that_waits_gets_the_lock_once_the_holder_releases(tmp_path):
    child = Child(tmp_path, "hv1")
    try:
        timer = threading.Timer(0.3, child.send, args=("release",))
        timer.start()
        started = time.monotonic()
        with HostLock.acquire(tmp_path, "hv1", run_id=99, wait=TIMEOUT) as lock:
            waited = time.monotonic() - started
            assert lock.took_over is None  # released cleanly, nothing stale
            assert lock.holder.pid == os.getpid() and lock.holder.run_id == 99
        assert 0.2 < waited < TIMEOUT
        assert child.read_line("released")
        timer.join()
    finally:
        child.kill()


def test_waiting_too_short_still_fails_and_says_how_long_it_waited(tmp_path):
    child = Child(tmp_path, "hv1")
    try:
        started = time.monotonic()
        with pytest.raises(HostLocked, match=r"after waiting 0\.\d+s") as caught:
            HostLock.acquire(tmp_path, "hv1", run_id=None, wait=0.4)
        assert 0.35 < time.monotonic() - started < 5
        assert caught.value.holder_pid == child.proc.pid
    finally:
        child.kill()


def test_a_lock_held_by_a_killed_run_is_taken_over_and_the_run_marked_interrupted(tmp_path):
    child = Child(tmp_path, "hv1")
    run_id, pid = child.ready["run_id"], child.ready["pid"]
    child.kill()  # SIGKILL: no cleanup, the lock body and the `running` row stay behind

    with HostLock.acquire(tmp_path, "hv1", run_id=None) as lock:
        assert lock.took_over is not None
        assert lock.took_over.pid == pid and lock.took_over.run_id == run_id

    with Journal.open(tmp_path) as journal:
        assert journal.runs()[0].status == "running"
        marked = journal.mark_interrupted()
        assert [r.id for r in marked] == [run_id]
        detail = journal.run(run_id)
        assert detail.run.status == "interrupted"
        assert detail.run.exit_code is None
        assert detail.run.finished is not None  # its last recorded activity
        assert [(h.host, h.status) for h in detail.hosts] == [("hv1", "interrupted")]
        assert journal.mark_interrupted() == []  # once only


def test_the_next_run_after_a_crash_marks_it_and_converges(tmp_path):
    first = Child(tmp_path, "hv1")
    first.kill()
    second = Child(tmp_path, "hv1")
    try:
        assert second.ready["took_over"] is True
        second.send("release")
        second.read_line("released")
    finally:
        second.kill()
    with Journal.open(tmp_path) as journal:
        statuses = {r.id: r.status for r in journal.runs()}
    assert statuses == {first.ready["run_id"]: "interrupted", second.ready["run_id"]: "changed"}


def test_a_live_run_is_never_marked_interrupted_even_if_its_pid_looks_dead(tmp_path):
    child = Child(tmp_path, "hv1")
    try:
        with Journal.open(tmp_path) as journal:
            # Pretend the recorded pid is gone (or was reused): liveness comes from the lock, not the pid.
            journal._db.execute("UPDATE runs SET pid = 999999999")
            assert journal.mark_interrupted() == []
            assert journal.run(child.ready["run_id"]).run.status == "running"
    finally:
        child.kill()


def test_a_dead_run_is_marked_even_if_its_pid_was_reused_by_a_live_process(tmp_path):
    child = Child(tmp_path, "hv1")
    child.kill()
    with Journal.open(tmp_path) as journal:
        journal._db.execute("UPDATE runs SET pid = ?", (os.getpid(),))  # a live process now owns that pid
        assert [r.id for r in journal.mark_interrupted()] == [child.ready["run_id"]]


def test_our_own_open_run_is_not_interrupted_by_our_own_check(tmp_path):
    with Journal.open(tmp_path) as journal:
        run_id = journal.start_run("orchestrate apply", "inv.yaml", {})
        assert journal.mark_interrupted() == []
        with Journal.open(tmp_path) as other_connection:
            assert other_connection.mark_interrupted() == []  # the lock excludes other descriptors too
        journal.finish_run(run_id, "ok", 0)
        assert journal.run(run_id).run.status == "ok"


def test_two_lock_objects_exclude_each_other_even_in_one_process(tmp_path):
    with HostLock.acquire(tmp_path, "hv1", run_id=1, command="orchestrate apply") as first:
        with pytest.raises(HostLocked) as caught:
            HostLock.acquire(tmp_path, "hv1", run_id=2)
        assert caught.value.run_id == 1 and caught.value.holder_pid == os.getpid()
    assert not first.held
    assert lock_path(tmp_path, "hv1").read_text() == ""  # a clean release leaves no holder behind
    with HostLock.acquire(tmp_path, "hv1", run_id=2) as second:
        assert second.took_over is None


@pytest.mark.parametrize(
    ("host", "name"),
    [("hv1", "hv1.lock"), ("HV1.school.local", "hv1.school.local.lock"), ("fe80::1", "fe80%3A%3A1.lock"),
     ("../etc", "..%2Fetc.lock"), ("con", "%63on.lock")],
)  # fmt: skip
def test_lock_files_are_safe_names_inside_the_locks_folder(tmp_path, host, name):
    path = lock_path(tmp_path, host)
    assert path.parent == tmp_path / "locks" and path.name == name


def test_a_lock_needs_a_host_name(tmp_path):
    with pytest.raises(ValueError, match="host name"):
        lock_path(tmp_path, "")


@pytest.mark.parametrize("delay", [0.0, 0.02, 0.1, 0.25])
def test_a_run_killed_in_the_middle_of_writing_leaves_a_whole_journal(tmp_path, delay):
    child = Child(tmp_path, "hv1")
    child.send("spin")
    child.read_line("spinning")
    time.sleep(delay)
    child.kill()
    with Journal.open(tmp_path) as journal:
        assert journal._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        [marked] = journal.mark_interrupted()
        actions = journal.run(marked.id).actions
        assert [a.index for a in actions] == list(range(len(actions)))  # every committed action is whole
        with HostLock.acquire(tmp_path, "hv1", run_id=None) as lock:
            assert lock.took_over is not None and lock.took_over.run_id == marked.id


def test_an_apply_that_takes_over_a_dead_runs_lock_says_so(tmp_path):
    """Before, the runner took a stale lock over without a word: the admin never learnt that a run had died
    mid-change on that host."""
    from click.testing import CliRunner

    from orchestrator.cli import main

    child = Child(tmp_path, "hv1")
    dead_pid = child.ready["pid"]
    child.kill()
    inventory = tmp_path / "inv.yaml"
    inventory.write_text(
        "all:\n  hosts:\n    hv1:\n      ansible_connection: simulator\n      multipoint_vms: []\n", encoding="utf-8"
    )

    result = CliRunner().invoke(main, ["apply", str(inventory), "--state-dir", str(tmp_path)])

    assert result.exit_code == 0, result.output
    assert "took over the lock of a run that died" in result.output and f"pid {dead_pid}" in result.output
