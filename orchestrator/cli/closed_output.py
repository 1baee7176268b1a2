"""A run's output can go away before the run ends: that must never fail a host or stop it halfway.

`orchestrate apply inv.yaml | less` and the admin quits the pager, `| head -20` has read enough, or the disk
a log is redirected to fills up: the next write raises an OSError (EPIPE, ENOSPC). Without this guard the
error is raised inside the host's work (every event is written as it happens), so the runner records that
host as failed, and a host in the middle of its apply script is left half converged. With it, the first
failed write silences the output and the run goes on to its end, journaled as always: `orchestrate
history` shows how it ended, and the exit code is the run's own.

Silencing follows Python's documented recipe for a closed pipe (the signal module's "Note on SIGPIPE"):
point the stream's file descriptor at os.devnull, so that later writes, and the interpreter's final flush
at exit, go nowhere instead of raising again.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TextIO

from orchestrator import exit_codes


class ClosedOutputGuard:
    """Passes events to `reporter` until a write fails; then drops them, says so once on stderr if stderr
    still takes it, and keeps both standard streams quiet from then on."""

    def __init__(self, reporter: Callable[[Any], None]) -> None:
        self.reporter = reporter
        self.closed: OSError | None = None

    def __call__(self, event: Any) -> None:
        if self.closed is not None:
            return
        try:
            self.reporter(event)
        except OSError as exc:
            self._went_away(exc)

    def close(self) -> None:
        """The reporter's own close, even after the output went away: it also stops a live progress
        display's refresh thread. What it still writes may fail like any other write."""
        close = getattr(self.reporter, "close", None)
        if close is None:
            return
        try:
            close()
        except (OSError, ValueError) as exc:
            if self.closed is None and isinstance(exc, OSError):
                self._went_away(exc)

    def _went_away(self, exc: OSError) -> None:
        self.closed = exc
        for stream in (sys.stdout, sys.stderr):
            if not still_writable(stream):
                to_devnull(stream)
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(
                f"note: the output was closed ({exc.strerror or exc}); the run goes on without it, and "
                "`orchestrate history` shows how it ended\n"
            )
            sys.stderr.flush()


def still_writable(stream: TextIO) -> bool:
    try:
        stream.flush()
    except (OSError, ValueError):
        return False
    return True


def to_devnull(stream: TextIO) -> None:
    """Python's recipe (signal docs, "Note on SIGPIPE"): the descriptor now writes to os.devnull. What is
    still buffered in the stream is dropped with it, on the next flush."""
    try:
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError):
        return  # not a real file (a test's capture): nothing at exit will flush it to a closed pipe
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


# -- a read-only command's output that went away (group.Command: history, validate, ...) ---------------------
# `orchestrate history | head -1` closed the pipe, or `> /dev/full` and a full disk. A run's own output is
# guarded while it runs (ClosedOutputGuard above); these are for the rest.


def stdout_is_devnull() -> bool:
    """Whether stdout already writes to os.devnull (rich's answer to a broken pipe puts it there)."""
    try:
        return os.path.samestat(os.fstat(sys.stdout.fileno()), os.stat(os.devnull))
    except (OSError, ValueError, AttributeError):  # no descriptor (a test's capture)
        return False


def output_went_away(exc: OSError) -> bool:
    """Whether `exc` is a write to the output failing (a closed pipe, a full or broken disk): a stream's
    write names no file, an open or a write of a named file does (a read-only command writes no other)."""
    import errno

    return exc.errno in (errno.EPIPE, errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO) and exc.filename is None


def ended_by_output(exc: OSError) -> NoReturn:
    """EPIPE: quiet, exit 141. Anything else (ENOSPC): one line on stderr, exit 1. Either way stdout now
    writes to os.devnull, so that the interpreter's last flush does not fail again with a traceback."""
    import errno

    to_devnull(sys.stdout)
    if not still_writable(sys.stderr):
        to_devnull(sys.stderr)
    if exc.errno == errno.EPIPE:
        sys.exit(exit_codes.OUTPUT_CLOSED)
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(f"orchestrate: cannot write the output: {exc.strerror or exc}\n")
        sys.stderr.flush()
    sys.exit(exit_codes.OUTPUT_FAILED)
