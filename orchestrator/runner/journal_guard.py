"""The run's journal, guarded: a storage fault in the middle of a run never hides what the hosts did.

The CLI checks the state directory before any host is contacted (orchestrator.statedir), so a fault here
means the disk filled up or the journal was taken away during the run. From then on the run goes on, its
events and recap still tell every change the hosts made, and the first fault is reported once as a
warning naming the path and the fix; the next run's `mark_interrupted` and facts reconcile the rest.

A preview on a read-only state directory (`plan`, `schedules`) runs with no journal at all: it changes no
host, so there is nothing the history must keep, and the admin is told it is not recorded.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from orchestrator.journal import Journal, JournalError, JournalStorageError, check_journal
from orchestrator.journal import _sqlite_storage_error as sqlite_storage_error
from orchestrator.statedir import StateDirError


class JournalUnavailable(StateDirError):
    """The run's journal could not be opened, so the run did not start: no host was contacted. The CLI's
    preflight opens the journal too, so this means it failed in between (a disk that filled up, a journal
    replaced); the CLI refuses as its preflight would (exit 2). `.path`, `.problem`, `.fix` are the fault's."""


def preflight(state_dir: Path, *, writable: bool) -> None:
    """The journal's part of the CLI's preflight, before any host is contacted: opened as the run will
    open it, and checked (journal.check_journal). Raises JournalStorageError (a StateDirError)."""
    check_journal(state_dir, writable=writable)


class RunJournal:
    """The journal methods a run uses; each a no-op once a storage fault happened (or with no journal)."""

    def __init__(self, journal: Journal | None, on_fault: Callable[[StateDirError], None]) -> None:
        self._journal = journal
        self._on_fault = on_fault
        self.fault: StateDirError | None = None

    @classmethod
    def open(cls, state_dir: Path, on_fault: Callable[[StateDirError], None], *, record: bool = True) -> RunJournal:
        """The run's journal; JournalUnavailable if it cannot be opened (nothing has been done yet)."""
        if not record:
            return cls(None, on_fault)
        try:
            return cls(Journal.open(state_dir), on_fault)
        except StateDirError as exc:
            raise JournalUnavailable(exc.path, exc.problem, exc.fix) from None
        except JournalError as exc:  # not a storage fault, but the run cannot be journaled all the same
            raise JournalUnavailable(Path(state_dir), str(exc), "see the message; run again") from None

    def close(self) -> None:
        """The run is over: the connection is closed now, not whenever the garbage collector finds it (its
        close writes: SQLite checkpoints the WAL into the journal). A host thread an interrupt left running
        finds the journal closed and journals nothing more."""
        journal, self._journal = self._journal, None
        if journal is not None:
            try:
                journal.close()
            except sqlite3.Error as exc:  # the checkpoint at close failed: the rows are in the WAL already
                fault = sqlite_storage_error(journal.path, exc, "close the journal")
                if fault is None:
                    raise
                self._on_fault(fault)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(Journal, name)  # AttributeError for a name the journal does not have

        def guarded(*args: Any, **kwargs: Any) -> Any:
            if self._journal is None or self.fault is not None:
                return [] if name in ("exports", "mark_interrupted") else None
            journal = self._journal
            try:
                return method(journal, *args, **kwargs)
            except sqlite3.ProgrammingError:  # closed under a thread that had already looked it up
                if self._journal is None:
                    return [] if name in ("exports", "mark_interrupted") else None
                raise
            except JournalStorageError as exc:
                self.fault = exc
                self._on_fault(exc)
                return [] if name in ("exports", "mark_interrupted") else None

        return guarded

