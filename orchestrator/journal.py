"""The run journal: what every run did, host by host and action by action, in `<state_dir>/journal.sqlite3`.

Why SQLite (stdlib, WAL): runs are few but must survive a crash at any instant, several runs (from cron and
by hand) may write at once, and `orchestrate history` must read while a run writes. WAL gives readers that
never block the writer and a database that is whole after SIGKILL; `busy_timeout` makes concurrent writers
queue instead of failing. One `Journal` object is shared by the runner's worker threads: it keeps a single
connection behind a lock (writes are a few rows per action, so the lock is never the bottleneck), and
multi-row writes run in `BEGIN IMMEDIATE` transactions so that two processes never deadlock on an upgrade.

Interrupted runs: each run holds an OS file lock, `<state_dir>/locks/runs/<run id>.lock`, from `start_run`
to `finish_run` (see orchestrator.locks for why OS locks). The kernel drops it when the process dies, so
`mark_interrupted` (called at the start of every run, by the runner only) can tell for certain that a run
still marked `running` has no live process any more, without trusting pids, which the system reuses. A
read-only journal (`history`) makes the same check without writing and shows such a run as interrupted.

Secrets never go into the journal. Every text field accepts a plain `str` only (a `model.Secret` is
refused with TypeError, and so is a Secret inside `options`); callers must pass text that is already masked
(summaries and errors as they would be shown to the admin, never a rendered script: store its sha256).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from orchestrator.locks import FileLock, held_elsewhere, utc_now
from orchestrator.statedir import (
    JOURNAL_FILE,
    LOCKS_DIR,
    RUN_LOCKS_DIR,
    StateDirError,
    check_journal_file,
    create_private_file,
    damaged_journal_fix,
    ensure_private_dir,
    storage_error,
)

BUSY_TIMEOUT_MS = 30_000
# Below this much free space, a storage fault of the journal is reported as the disk being full: SQLite
# says "disk I/O error" when the WAL index (-shm, 32 KiB) cannot be grown, which says nothing to an admin.
NEARLY_FULL_BYTES = 1024 * 1024

# `locked`: the host was left alone because another live run held its lock.
HostStatus = Literal["ok", "changed", "failed", "skipped", "locked"]
HOST_STATUSES: tuple[str, ...] = ("ok", "changed", "failed", "skipped", "locked")
ACTION_STATUSES: tuple[str, ...] = ("ok", "changed", "failed", "skipped")
RUN_STATUSES: tuple[str, ...] = ("ok", "changed", "failed", "locked", "invalid", "aborted")
RUNNING = "running"
INTERRUPTED = "interrupted"

# Each migration brings the schema from version N-1 to N. Never edit a released one; append a new one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            command TEXT NOT NULL,
            inventory TEXT NOT NULL,
            options TEXT NOT NULL DEFAULT '{}',
            pid INTEGER NOT NULL,
            admin_host TEXT NOT NULL,
            started TEXT NOT NULL,
            finished TEXT,
            status TEXT NOT NULL DEFAULT 'running',
            exit_code INTEGER
        )""",
        """CREATE TABLE host_results (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            host TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'running',
            started TEXT NOT NULL,
            finished TEXT,
            error TEXT,
            PRIMARY KEY (run_id, host)
        )""",
        "CREATE INDEX host_results_host ON host_results(host)",
        """CREATE TABLE actions (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            host TEXT NOT NULL,
            idx INTEGER NOT NULL,
            summary TEXT NOT NULL,
            status TEXT NOT NULL,
            started TEXT NOT NULL,
            finished TEXT NOT NULL,
            script_sha256 TEXT,
            error TEXT,
            PRIMARY KEY (run_id, host, idx)
        )""",
        """CREATE TABLE exports (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            host TEXT NOT NULL,
            vm TEXT NOT NULL,
            path TEXT NOT NULL,
            size_bytes INTEGER NOT NULL,
            created TEXT NOT NULL,
            removed TEXT
        )""",
        "CREATE INDEX exports_host_vm ON exports(host, vm)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
# Journal.quick_check: up to this size the whole file is checked; above it, the newest rows only.
QUICK_CHECK_BYTES = 16 * 1024 * 1024
# Each table, and one index over it, whose newest entries Journal.quick_check reads on a big journal.
_NEWEST: tuple[tuple[str, str | None], ...] = (
    ("runs", None),
    ("host_results", "host_results_host"),
    ("actions", None),
    ("exports", "exports_host_vm"),
)
_INDEX_KEYS = {"host_results_host": "host DESC", "exports_host_vm": "host DESC, vm DESC"}


class JournalError(RuntimeError):
    """The journal cannot be used (e.g. written by a newer orchestrator, or an unknown run id)."""


class JournalStorageError(StateDirError, JournalError):
    """The journal's storage failed (disk full, read-only, damaged, emptied or replaced under us): one
    message naming the file and the fix. Both a StateDirError and a JournalError, for either handler."""


class JournalTooNew(JournalStorageError):
    """The journal was written by a newer orchestrator (a schema version this one does not know). A
    JournalStorageError so that every handler of an unusable journal names the file and the fix."""

    def __init__(self, path: Path, version: int) -> None:
        super().__init__(
            path,
            f"the journal has schema version {version}, newer than this orchestrator knows ({SCHEMA_VERSION})",
            "use a newer orchestrator or another --state-dir",
        )


# SQLite's primary result codes (sqlite3.Error.sqlite_errorcode & 0xFF), https://www.sqlite.org/rescode.html
_SQLITE_READONLY = 8
_SQLITE_IOERR = 10
_SQLITE_CORRUPT = 11
_SQLITE_FULL = 13
_SQLITE_CANTOPEN = 14
_SQLITE_NOTADB = 26


def _as_journal_error(exc: StateDirError) -> JournalStorageError:
    """The same fault as a JournalStorageError, so `except JournalError` handlers catch it too."""
    if isinstance(exc, JournalStorageError):
        return exc
    return JournalStorageError(exc.path, exc.problem, exc.fix)


def _sqlite_storage_error(path: Path, exc: sqlite3.Error, doing: str) -> JournalStorageError | None:
    """A SQLite error that is a storage fault -> its JournalStorageError; None for anything else (a bug)."""
    code = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
    full = _disk_nearly_full(path.parent) if code in (_SQLITE_FULL, _SQLITE_IOERR, _SQLITE_CANTOPEN) else None
    if code == _SQLITE_FULL or full is not None:
        # Opening or creating the journal happens before any host is contacted: no run output to point to.
        during_run = not doing.startswith(("open ", "create ", "read ", "check "))
        return JournalStorageError(
            path,
            f"the disk is full{f' ({full})' if full else ''} while trying to {doing}"
            + ("; what hosts did in this run is still in its output" if during_run else ""),
            f"free space on the file system of {path.parent}, or pass --state-dir on another disk",
        )
    if code == _SQLITE_READONLY:
        return JournalStorageError(
            path,
            f"cannot {doing}: the journal or its directory is read-only",
            f"give this user write access to {path.parent}, or pass --state-dir with a writable directory; "
            "history, schedules and plan work on a read-only state directory",
        )
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return JournalStorageError(
            path,
            f"cannot {doing}: the journal is damaged ({exc})",
            damaged_journal_fix(path),
        )
    if code in (_SQLITE_IOERR, _SQLITE_CANTOPEN):
        return JournalStorageError(
            path, f"cannot {doing}: {exc}", f"check {path} and its disk (permissions, space, the device)"
        )
    return None


Timestamp = datetime | str | float


@dataclass(frozen=True, slots=True)
class HostCounts:
    ok: int = 0
    changed: int = 0
    failed: int = 0
    skipped: int = 0
    locked: int = 0
    interrupted: int = 0
    running: int = 0


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One run as `history` lists it."""

    id: int
    command: str
    inventory: str
    options: Mapping[str, Any]
    pid: int
    admin_host: str
    started: str
    finished: str | None
    status: str
    exit_code: int | None
    hosts: tuple[str, ...] = ()
    counts: HostCounts = field(default_factory=HostCounts)

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish (for an interrupted run, to its last recorded activity)."""
        if self.finished is None:
            return None
        return (_parse(self.finished) - _parse(self.started)).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["options"] = dict(self.options)
        data["hosts"] = list(self.hosts)
        data["duration"] = self.duration
        return data


@dataclass(frozen=True, slots=True)
class HostResult:
    run_id: int
    host: str
    status: str
    started: str
    finished: str | None
    error: str | None


@dataclass(frozen=True, slots=True)
class ActionRecord:
    run_id: int
    host: str
    index: int
    summary: str
    status: str
    started: str
    finished: str
    script_sha256: str | None
    error: str | None

    @property
    def duration(self) -> float:
        return (_parse(self.finished) - _parse(self.started)).total_seconds()


@dataclass(frozen=True, slots=True)
class ExportRecord:
    id: int
    run_id: int
    host: str
    vm: str
    path: str
    size_bytes: int
    created: str
    removed: str | None


@dataclass(frozen=True, slots=True)
class RunDetail:
    """One run with everything recorded about it."""

    run: RunSummary
    hosts: tuple[HostResult, ...]
    actions: tuple[ActionRecord, ...]
    exports: tuple[ExportRecord, ...]

    def to_dict(self) -> dict[str, Any]:
        data = self.run.to_dict()
        data["results"] = [asdict(h) for h in self.hosts]
        data["actions"] = [asdict(a) | {"duration": a.duration} for a in self.actions]
        data["exports"] = [asdict(e) for e in self.exports]
        return data


def journal_path(state_dir: Path | str) -> Path:
    return Path(state_dir) / JOURNAL_FILE


def check_journal(state_dir: Path | str, *, writable: bool) -> None:
    """The preflight's look at the journal itself, before any host is contacted (after check_state_dir).

    The journal is opened the way the run will open it (writable: created if missing, migrated, its WAL
    and WAL index made; read-only: only if it exists, with sqlite `mode=ro`) and `PRAGMA quick_check`ed.
    So a journal damaged past its header, one written by a newer orchestrator, and a disk too full for
    the WAL index are each one JournalStorageError naming the file and the fix, instead of a traceback
    once the run has started. Costs a few milliseconds.
    """
    state = Path(state_dir)
    if not writable and not journal_path(state).exists():
        return
    with Journal.open(state, read_only=not writable) as journal:
        journal.quick_check()


class Journal:
    """The run journal of one state directory. Thread-safe; open once per process and share it."""

    def __init__(self, state_dir: Path, connection: sqlite3.Connection, *, read_only: bool = False) -> None:
        self.state_dir = state_dir
        self.path = journal_path(state_dir)
        self.read_only = read_only
        self._db = connection
        self._mutex = threading.RLock()
        self._run_locks: dict[int, FileLock] = {}
        self._identity = _identity(self.path)

    # -- opening --------------------------------------------------------------------------------------------

    @classmethod
    def open(cls, state_dir: Path | str, *, read_only: bool = False) -> Journal:
        """Open the journal of `state_dir`.

        Writable (the default): the directory (0o700) and the database (0o600) are created if missing, a new
        database fully built under a temporary name and then linked into place, so a crash can never leave an
        empty journal behind that would later read as "emptied under us". Read-only (`history`, `schedules`,
        `plan`): nothing is created or migrated and nothing can be written (sqlite `mode=ro`); in a read-only
        directory, where SQLite cannot create the WAL index (-shm), the file is opened `immutable=1`, which
        is sound because nobody can be writing through a directory that refuses writes to everyone.
        A storage fault is a JournalStorageError naming the file and the fix.
        """
        state = Path(state_dir)
        path = journal_path(state)
        try:
            if read_only:
                check_journal_file(path)
                if not path.exists():
                    raise JournalStorageError(
                        path, "there is no journal yet", "run a command that changes hosts first"
                    )
                return cls(state, _connect_read_only(path), read_only=True)
            ensure_private_dir(state)
            check_journal_file(path)
            _sweep_abandoned_builds(path)
            if not path.exists():
                _create_journal(path)
            db = _connect(path)
        except StateDirError as exc:
            raise _as_journal_error(exc) from None
        try:
            _migrate(db, path)
        except sqlite3.Error as exc:
            db.close()
            raise _sqlite_storage_error(path, exc, "open the journal") or exc from None
        except BaseException:
            db.close()
            raise
        return cls(state, db)

    def close(self) -> None:
        """Close the connection. A run not finished by now never will be: its liveness lock is dropped, so the
        next `mark_interrupted` marks it interrupted."""
        with self._mutex:
            for liveness in self._run_locks.values():
                liveness.release()
            self._run_locks.clear()
            self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        with self._read():
            return _read_version(self._db)

    @contextlib.contextmanager
    def _write(self, doing: str = "write the journal") -> Iterator[sqlite3.Connection]:
        with self._mutex:
            if self.read_only:
                raise JournalStorageError(
                    self.path,
                    f"cannot {doing}: the journal was opened read-only",
                    "open it writable (Journal.open(state_dir)) for commands that change hosts",
                )
            self._check_same_file(doing)
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise _sqlite_storage_error(self.path, exc, doing) or exc from None
            try:
                yield self._db
            except BaseException as exc:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise _sqlite_storage_error(self.path, exc, doing) or exc from None
                if isinstance(exc, StateDirError):  # a liveness lock under locks/runs
                    raise _as_journal_error(exc) from None
                raise
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                raise _sqlite_storage_error(self.path, exc, doing) or exc from None

    @contextlib.contextmanager
    def _read(self, doing: str = "read the journal") -> Iterator[sqlite3.Connection]:
        with self._mutex:
            try:
                yield self._db
            except sqlite3.Error as exc:
                raise _sqlite_storage_error(self.path, exc, doing) or exc from None

    def _check_same_file(self, doing: str) -> None:
        """The journal we opened is still the file at its path, and not emptied: a journal truncated, removed
        or replaced under a run is reported, never silently recreated (SQLite would write a new, empty
        history into a 0-byte file)."""
        try:
            now = _identity(self.path)
        except OSError as exc:
            raise JournalStorageError(
                self.path,
                f"cannot {doing}: the journal disappeared while this run was using it ({exc.strerror})",
                "find who removed it (a cleanup job?); restore it from a backup; this run's output still "
                "tells what the hosts did",
            ) from None
        if now[2] == 0 or now[:2] != self._identity[:2]:
            what = "emptied (0 bytes)" if now[2] == 0 else "replaced by another file"
            raise JournalStorageError(
                self.path,
                f"cannot {doing}: the journal was {what} while this run was using it",
                "find who changed it (a cleanup job? a restore?); restore it from a backup; this run's output "
                "still tells what the hosts did",
            )

    # -- runs -----------------------------------------------------------------------------------------------

    def start_run(self, command: str, inventory: str, options: Mapping[str, Any] | None = None) -> int:
        """Record a new run of this process and hold its liveness lock until `finish_run`; returns its id."""
        row = (
            _plain(command, "command"),
            _plain(inventory, "inventory"),
            _options_json(options or {}),
            os.getpid(),
            socket.gethostname(),
            utc_now(),
        )
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO runs (command, inventory, options, pid, admin_host, started) VALUES (?,?,?,?,?,?)",
                row,
            )
            run_id = int(cursor.lastrowid or 0)
            # Taken inside the transaction: nobody can see the run before its liveness lock is held.
            liveness = FileLock(self._run_lock_path(run_id))
            if not liveness.try_acquire():
                raise JournalError(f"the liveness lock of new run {run_id} is held by another process")
            self._run_locks[run_id] = liveness
        return run_id

    def finish_run(self, run_id: int, status: str, exit_code: int) -> None:
        """Record how the run ended and drop its liveness lock."""
        if status not in RUN_STATUSES:
            raise ValueError(f"run status must be one of {', '.join(RUN_STATUSES)}, not {status!r}")
        with self._write() as db:
            updated = db.execute(
                "UPDATE runs SET status = ?, exit_code = ?, finished = ? WHERE id = ?",
                (status, int(exit_code), utc_now(), run_id),
            ).rowcount
            if not updated:
                raise JournalError(f"no run {run_id} in the journal")
        with self._mutex:
            liveness = self._run_locks.pop(run_id, None)
        if liveness is not None:
            liveness.release()
            with contextlib.suppress(OSError):
                liveness.path.unlink()

    def mark_interrupted(self) -> list[RunSummary]:
        """Mark runs that never finished and whose process is gone as `interrupted`; returns them.

        A run's process is gone when its liveness lock can be taken. The run's end is set to its last recorded
        activity, and its hosts that were still running become `interrupted` too. A read-only journal cannot
        be marked: it returns [] and such runs still show as running.
        """
        if self.read_only:
            return []
        with self._read() as _db:
            candidates = [
                int(r["id"])
                for r in _db.execute("SELECT id FROM runs WHERE status = ?", (RUNNING,))
                if int(r["id"]) not in self._run_locks
            ]
        marked: list[int] = []
        for run_id in candidates:
            liveness = FileLock(self._run_lock_path(run_id))
            if not liveness.try_acquire():
                continue  # its process is alive
            try:
                with self._write() as db:
                    last = _last_activity(db, run_id)
                    changed = db.execute(
                        "UPDATE runs SET status = ?, finished = ? WHERE id = ? AND status = ?",
                        (INTERRUPTED, last, run_id, RUNNING),
                    ).rowcount
                    db.execute(
                        "UPDATE host_results SET status = ?, finished = COALESCE(finished, ?) "
                        "WHERE run_id = ? AND status = ?",
                        (INTERRUPTED, last, run_id, RUNNING),
                    )
                if changed:
                    marked.append(run_id)
            finally:
                liveness.release()
                with contextlib.suppress(OSError):
                    liveness.path.unlink()
        return [s for s in (self._summary(i) for i in marked) if s is not None]

    # -- hosts and actions ----------------------------------------------------------------------------------

    def host_started(self, run_id: int, host: str) -> None:
        with self._write() as db:
            db.execute(
                """INSERT INTO host_results (run_id, host, status, started) VALUES (?, ?, ?, ?)
                   ON CONFLICT (run_id, host) DO UPDATE
                   SET status = excluded.status, started = excluded.started, finished = NULL, error = NULL""",
                (run_id, _plain(host, "host"), RUNNING, utc_now()),
            )

    def host_finished(self, run_id: int, host: str, status: str, error: str | None = None) -> None:
        """Record a host's outcome (a host skipped before it started gets a row too)."""
        if status not in HOST_STATUSES:
            raise ValueError(f"host status must be one of {', '.join(HOST_STATUSES)}, not {status!r}")
        now = utc_now()
        with self._write() as db:
            db.execute(
                """INSERT INTO host_results (run_id, host, status, started, finished, error)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT (run_id, host) DO UPDATE
                   SET status = excluded.status, finished = excluded.finished, error = excluded.error""",
                (run_id, _plain(host, "host"), status, now, now, _plain_or_none(error, "error")),
            )

    def record_action(
        self,
        run_id: int,
        host: str,
        index: int,
        summary: str,
        status: str,
        started: Timestamp,
        finished: Timestamp,
        script_sha256: str | None = None,
        error: str | None = None,
    ) -> None:
        """Record one action of a host's plan: its masked summary, outcome, timings and error."""
        self.record_actions(run_id, host, [(index, summary, status, error)], started, finished, script_sha256)

    def record_actions(
        self,
        run_id: int,
        host: str,
        actions: Sequence[tuple[int, str, str, str | None]],
        started: Timestamp,
        finished: Timestamp,
        script_sha256: str | None = None,
    ) -> None:
        """Record the actions of one run of a host's script, each (index, masked summary, status, error).

        One transaction for all of them: they come from one result document, so they are journaled together
        or, on a storage fault, not at all; and a transaction each cost about 23 us of CPU (BEGIN IMMEDIATE,
        the same-file check, COMMIT), 0.35 ms for a 15-action converge against 0.09 ms in one. Every row is
        checked before anything is written."""
        rows = []
        for index, summary, status, error in actions:
            if status not in ACTION_STATUSES:
                raise ValueError(f"action status must be one of {', '.join(ACTION_STATUSES)}, not {status!r}")
            rows.append(
                (
                    run_id,
                    _plain(host, "host"),
                    int(index),
                    _plain(summary, "summary"),
                    status,
                    _timestamp(started, "started"),
                    _timestamp(finished, "finished"),
                    _plain_or_none(script_sha256, "script_sha256"),
                    _plain_or_none(error, "error"),
                )
            )
        if not rows:
            return
        with self._write() as db:
            db.executemany(
                """INSERT OR REPLACE INTO actions
                   (run_id, host, idx, summary, status, started, finished, script_sha256, error)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                rows,
            )

    # -- exports --------------------------------------------------------------------------------------------

    def record_export(self, run_id: int, host: str, vm: str, path: str, size_bytes: int) -> int:
        """Record an export we made (so `--keep N` can prune only ours); returns its id."""
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO exports (run_id, host, vm, path, size_bytes, created) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    _plain(host, "host"),
                    _plain(vm, "vm"),
                    _plain(path, "path"),
                    int(size_bytes),
                    utc_now(),
                ),
            )
            return int(cursor.lastrowid or 0)

    def export_removed(self, export_id: int) -> None:
        """Record that a pruned export is gone; it no longer counts toward `--keep`."""
        with self._write() as db:
            db.execute(
                "UPDATE exports SET removed = ? WHERE id = ? AND removed IS NULL", (utc_now(), export_id)
            )

    def exports(self, host: str, vm: str, *, include_removed: bool = False) -> list[ExportRecord]:
        """Exports of `vm` on `host` made by us, newest first."""
        query = "SELECT * FROM exports WHERE host = ? AND vm = ?"
        if not include_removed:
            query += " AND removed IS NULL"
        with self._read() as db:
            rows = db.execute(query + " ORDER BY id DESC", (host, vm)).fetchall()
        return [_export(r) for r in rows]

    # -- reading --------------------------------------------------------------------------------------------

    def runs(self, last: int | None = None, hosts: Iterable[str] | None = None) -> list[RunSummary]:
        """The latest runs, newest first; with `hosts`, only runs that touched one of them."""
        where, params = "", []
        if hosts is not None:
            names = list(hosts)
            where = (
                f"WHERE id IN (SELECT run_id FROM host_results WHERE host IN ({','.join('?' * len(names))}))"
            )
            params.extend(names)
        limit = ""
        if last is not None:
            limit = "LIMIT ?"
            params.append(max(0, int(last)))
        with self._read() as db:
            rows = db.execute(f"SELECT * FROM runs {where} ORDER BY id DESC {limit}", params).fetchall()
            return [self._summary_from(r) for r in rows]

    def run(self, run_id: int) -> RunDetail:
        """Everything about one run; JournalError if there is no such run."""
        with self._read():
            summary = self._summary(run_id)
            if summary is None:
                raise JournalError(f"no run {run_id} in the journal")
            hosts = self._db.execute(
                "SELECT * FROM host_results WHERE run_id = ? ORDER BY started, host", (run_id,)
            ).fetchall()
            actions = self._db.execute(
                "SELECT * FROM actions WHERE run_id = ? ORDER BY host, idx", (run_id,)
            ).fetchall()
            exports = self._db.execute(
                "SELECT * FROM exports WHERE run_id = ? ORDER BY id", (run_id,)
            ).fetchall()
        return RunDetail(
            run=summary,
            hosts=tuple(self._host_result(summary, r) for r in hosts),
            actions=tuple(
                ActionRecord(
                    run_id=r["run_id"],
                    host=r["host"],
                    index=r["idx"],
                    summary=r["summary"],
                    status=r["status"],
                    started=r["started"],
                    finished=r["finished"],
                    script_sha256=r["script_sha256"],
                    error=r["error"],
                )
                for r in actions
            ),
            exports=tuple(_export(r) for r in exports),
        )

    def _host_result(self, summary: RunSummary, row: sqlite3.Row) -> HostResult:
        result = HostResult(**_row_dict(row))
        if summary.status == INTERRUPTED and result.status == RUNNING:  # a dead run only a reader saw dead
            result = replace(result, status=INTERRUPTED, finished=result.finished or summary.finished)
        return result

    def quick_check(self, *, full_up_to: int | None = None) -> None:
        """A JournalStorageError naming the damage, for the preflight to refuse before any host is contacted.

        Up to QUICK_CHECK_BYTES (about 16 MiB, ~90 ms) the whole file gets SQLite's `PRAGMA quick_check`.
        A bigger journal (a large fleet's, after months) would make every run wait seconds for it, so only
        the pages a run reads and writes next are read: the newest row of every table and of every index,
        which is where a journal cut off or half-restored loses its pages first. Deeper damage is then found
        by the run's own reads and writes, and reported as a journal fault (the run goes on, warned).
        """
        limit = QUICK_CHECK_BYTES if full_up_to is None else full_up_to
        with self._read("check the journal") as db:
            if self.path.stat().st_size <= limit:
                found = [str(r[0]) for r in db.execute("PRAGMA quick_check").fetchall()]
            else:
                found = ["ok"]
                for table, index in _NEWEST:
                    db.execute(f"SELECT * FROM {table} ORDER BY rowid DESC LIMIT 1").fetchall()
                    if index is not None:
                        db.execute(
                            f"SELECT * FROM {table} INDEXED BY {index} ORDER BY {_INDEX_KEYS[index]} LIMIT 1"
                        ).fetchall()
        if found != ["ok"]:
            raise JournalStorageError(
                self.path,
                f"the journal is damaged (quick_check: {'; '.join(found)[:300]})",
                damaged_journal_fix(self.path),
            )

    def host_names(self) -> list[str]:
        """Every host the journal has seen, in order of first appearance (for `history --limit`)."""
        with self._read() as db:
            rows = db.execute("SELECT host FROM host_results GROUP BY host ORDER BY MIN(rowid)").fetchall()
        return [r["host"] for r in rows]

    # -- helpers --------------------------------------------------------------------------------------------

    def _run_lock_path(self, run_id: int) -> Path:
        return self.state_dir / LOCKS_DIR / RUN_LOCKS_DIR / f"{run_id}.lock"

    def _summary(self, run_id: int) -> RunSummary | None:
        with self._read():
            row = self._db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
            return None if row is None else self._summary_from(row)

    def _dead(self, run_id: int, status: str) -> bool:
        """A run still marked running whose process is gone, as a read-only journal sees it: it cannot mark
        the run (only a run's own start does, `mark_interrupted`), so it shows it as interrupted."""
        return self.read_only and status == RUNNING and not held_elsewhere(self._run_lock_path(run_id))

    def _summary_from(self, row: sqlite3.Row) -> RunSummary:
        results = self._db.execute(
            "SELECT host, status FROM host_results WHERE run_id = ? ORDER BY rowid", (row["id"],)
        ).fetchall()
        status, finished = row["status"], row["finished"]
        dead = self._dead(row["id"], status)
        if dead:
            status, finished = INTERRUPTED, _last_activity(self._db, row["id"])
        tally: dict[str, int] = {}
        for r in results:
            shown = INTERRUPTED if dead and r["status"] == RUNNING else r["status"]
            tally[shown] = tally.get(shown, 0) + 1
        return RunSummary(
            id=row["id"],
            command=row["command"],
            inventory=row["inventory"],
            options=json.loads(row["options"]),
            pid=row["pid"],
            admin_host=row["admin_host"],
            started=row["started"],
            finished=finished,
            status=status,
            exit_code=row["exit_code"],
            hosts=tuple(r["host"] for r in results),
            counts=HostCounts(**{k: v for k, v in tally.items() if k in HostCounts.__slots__}),
        )


def _last_activity(db: sqlite3.Connection, run_id: int) -> str | None:
    """The last time the journal heard of a run: where an interrupted run is taken to have ended."""
    row = db.execute(
        """SELECT MAX(t) AS last FROM (
            SELECT started AS t FROM runs WHERE id = :id
            UNION ALL SELECT started FROM host_results WHERE run_id = :id
            UNION ALL SELECT finished FROM host_results WHERE run_id = :id
            UNION ALL SELECT finished FROM actions WHERE run_id = :id)""",
        {"id": run_id},
    ).fetchone()
    return None if row is None else row[0]


def _identity(path: Path) -> tuple[int, int, int]:
    """(device, inode, size) of the journal file: what `_check_same_file` compares."""
    info = path.stat()
    return info.st_dev, info.st_ino, info.st_size


def _configure(db: sqlite3.Connection, *, writable: bool, wal: bool = True) -> None:
    db.row_factory = sqlite3.Row
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if writable and wal:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
    elif writable:  # a new journal being built (_create_journal): every page in the file at each COMMIT
        db.execute("PRAGMA journal_mode = DELETE")
        db.execute("PRAGMA synchronous = FULL")
    db.execute("PRAGMA foreign_keys = ON")


def _connect(path: Path, *, wal: bool = True) -> sqlite3.Connection:
    try:
        db = sqlite3.connect(
            path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,  # we issue BEGIN/COMMIT ourselves
            check_same_thread=False,  # shared by worker threads, serialised by Journal._mutex
        )
    except sqlite3.Error as exc:
        raise _sqlite_storage_error(path, exc, "open the journal") or exc from None
    try:
        _configure(db, writable=True, wal=wal)
    except sqlite3.Error as exc:
        db.close()
        raise _sqlite_storage_error(path, exc, "open the journal") or exc from None
    return db


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """`mode=ro`; in a directory where SQLite cannot create the -shm file, `immutable=1` (see Journal.open)."""
    base = "file:" + quote(str(path.resolve()))
    last: sqlite3.Error | None = None
    for query in ("?mode=ro", "?mode=ro&immutable=1"):
        db = sqlite3.connect(
            base + query,
            uri=True,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
        try:
            _configure(db, writable=False)
            version = _read_version(db)
        except sqlite3.Error as exc:
            db.close()
            last = exc
            code = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
            if code in (_SQLITE_READONLY, _SQLITE_CANTOPEN):
                continue  # the WAL index cannot be created here: read the file as it is
            break
        if version > SCHEMA_VERSION:
            db.close()
            raise JournalTooNew(path, version)
        return db
    assert last is not None
    raise _sqlite_storage_error(path, last, "read the journal") or last


ABANDONED_BUILD_AGE_S = 600.0


def _sweep_abandoned_builds(path: Path) -> None:
    """Remove the temporary files of journal builds whose process is gone (`.journal.sqlite3.new-PID-TID`
    and its -journal, -wal, -shm), which a kill -9 during `_create_journal` leaves behind.

    A file is removed only when both hold: its process no longer exists here (`os.kill(pid, 0)` says
    ESRCH; a process of another user answers EPERM and counts as alive), and the file is older than ten
    minutes (a build takes milliseconds). The age covers a process in another PID namespace sharing the
    directory, whose PID means nothing here: its live build is never taken from under it. A file that
    cannot be removed is left; it is litter, never read.
    """
    pattern = re.compile(rf"^\.{re.escape(path.name)}\.new-(\d+)-\d+(?:-journal|-wal|-shm)?$")
    now = time.time()
    with contextlib.suppress(OSError), os.scandir(path.parent) as entries:
        for entry in entries:
            match = pattern.match(entry.name)
            if match is None or int(match.group(1)) == os.getpid():
                continue
            with contextlib.suppress(OSError):
                if now - entry.stat(follow_symlinks=False).st_mtime < ABANDONED_BUILD_AGE_S:
                    continue
                if _process_exists(int(match.group(1))):
                    continue
                os.unlink(entry.path)


def _process_exists(pid: int) -> bool:
    """Whether a process with this id exists here (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _create_journal(path: Path) -> None:
    """Build a new journal beside `path` (0o600) and link it into place; a journal another process created
    in the meantime wins and ours is discarded. No reader ever sees a half-made or empty journal.

    The new database is built in rollback-journal mode (journal_mode=DELETE), so that every page is in the
    file itself once the last COMMIT returns. Built in WAL mode, the pages would sit in `-wal` until the
    close's checkpoint, and on a nearly full disk that checkpoint fails without a word (sqlite3's close
    does not raise): the file linked into place then lacked them, and every later run found a "damaged"
    journal. The file is then read back (quick_check, the schema version) and fsynced, and only then
    linked; any fault on the way is a JournalStorageError (on a full disk, the disk-full one) and leaves no
    journal behind. `_connect` switches the linked journal to WAL.
    """
    temporary = path.with_name(f".{path.name}.new-{os.getpid()}-{threading.get_ident()}")
    leftovers = [temporary, *(Path(f"{temporary}{suffix}") for suffix in ("-journal", "-wal", "-shm"))]
    for leftover in leftovers:
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()
    create_private_file(temporary)
    try:
        db = _connect(temporary, wal=False)
        try:
            _migrate(db, path)
            _verify_new(db, path)
        except sqlite3.Error as exc:
            raise _sqlite_storage_error(path, exc, "create the journal") or exc from None
        finally:
            db.close()
        try:
            _fsync(temporary)
            os.link(temporary, path)
        except FileExistsError:
            pass
        except OSError as exc:
            raise storage_error(path, exc, "create the journal") from None
        with contextlib.suppress(OSError):
            _fsync(path.parent)  # the link itself survives a power cut (not possible on every platform)
    finally:
        for leftover in leftovers:
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def _verify_new(db: sqlite3.Connection, path: Path) -> None:
    """A journal just built reads back whole, at the current schema version, with no rollback journal
    pending; else the JournalStorageError that says so (on a full disk, the disk-full one)."""
    mode = db.execute("PRAGMA journal_mode").fetchone()[0]
    check = [row[0] for row in db.execute("PRAGMA quick_check").fetchall()]
    version = _read_version(db)
    if check == ["ok"] and version == SCHEMA_VERSION and str(mode).lower() == "delete":
        return
    problem = f"quick_check {'; '.join(check)[:200]}, schema version {version}, journal mode {mode}"
    full = _disk_nearly_full(path.parent)
    if full is not None:
        raise JournalStorageError(
            path,
            f"the disk is full ({full}) while trying to create the journal: the new journal did not read "
            f"back whole ({problem}), so it was not put in place",
            f"free space on the file system of {path.parent}, or pass --state-dir on another disk",
        )
    raise JournalStorageError(
        path,
        f"cannot create the journal: the new journal did not read back whole ({problem}), so it was not put "
        "in place",
        f"check {path.parent} and its disk (space, the device), then run again",
    )


def _fsync(path: Path) -> None:
    """Flush a file (or a directory: the names in it) to the disk."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if path.is_dir() else os.O_RDONLY
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _disk_nearly_full(directory: Path) -> str | None:
    """"12 KiB free" (or "no inodes free") when the file system of `directory` has too little room left for
    the journal (its WAL index alone takes 32 KiB); None when it has room or cannot be asked."""
    try:
        info = os.statvfs(directory)
    except (OSError, AttributeError):  # Windows has no statvfs
        return None
    free = info.f_bavail * info.f_frsize
    if free < NEARLY_FULL_BYTES:
        return f"{free // 1024} KiB free"
    if info.f_files and not info.f_favail:
        return "no inodes free"
    return None


def _read_version(db: sqlite3.Connection) -> int:
    """The schema version without creating anything (read-only connections)."""
    exists = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if not exists:
        return 0
    row = db.execute("SELECT MAX(version) AS v FROM schema_version").fetchone()
    return int(row[0] or 0)


def _current_version(db: sqlite3.Connection) -> int:
    db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = db.execute("SELECT MAX(version) AS v FROM schema_version").fetchone()
    return int(row[0] or 0)


def _migrate(db: sqlite3.Connection, path: Path) -> None:
    """Bring the schema up to SCHEMA_VERSION, one migration per transaction; safe against a parallel opener."""
    db.execute("BEGIN IMMEDIATE")
    try:
        version = _current_version(db)
        if version > SCHEMA_VERSION:
            raise JournalTooNew(path, version)
        for number in range(version + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[number - 1]:
                db.execute(statement)
            db.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _plain(value: object, name: str) -> str:
    """Only plain strings reach the journal; a Secret (or anything else) is a programming error."""
    if type(value) is not str:
        raise TypeError(
            f"journal field {name!r} takes a plain str of masked text, not {type(value).__name__}"
        )
    return value


def _plain_or_none(value: object, name: str) -> str | None:
    return None if value is None else _plain(value, name)


def _options_json(options: Mapping[str, Any]) -> str:
    def refuse(value: object) -> object:
        raise TypeError(f"journal options take JSON values only (masked text), not {type(value).__name__}")

    return json.dumps(dict(options), sort_keys=True, default=refuse)


def _timestamp(value: Timestamp, name: str) -> str:
    """A datetime (aware), epoch seconds, or an ISO 8601 string -> the journal's UTC ISO text."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("journal timestamps must be timezone-aware (UTC)")
        return value.astimezone(UTC).isoformat(timespec="milliseconds")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).isoformat(timespec="milliseconds")
    try:
        moment = _parse(_plain(value, name))
    except ValueError:
        raise ValueError(
            f"journal field {name!r} takes a timestamp (aware datetime, epoch seconds or ISO 8601), "
            f"not {value!r}"
        ) from None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _parse(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _export(row: sqlite3.Row) -> ExportRecord:
    return ExportRecord(**_row_dict(row))


def _row_dict(row: sqlite3.Row) -> dict[str, Any]:
    # A sqlite3.Row iterates over its values, not its keys, hence keys() here.
    return {key: row[key] for key in row.keys()}  # noqa: SIM118
