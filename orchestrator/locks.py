"""Per-host locks, so two runs never interleave changes on one Hyper-V host, and a killed run never blocks.

The mechanism, and why: an exclusive OS file lock on `<state_dir>/locks/<host>.lock`, held through an open
descriptor for as long as a run changes the host (`fcntl.flock` on Linux and macOS, `msvcrt.locking` on
Windows). The kernel drops such a lock the moment the holding process dies, SIGKILL and power-off of the
process included, so a dead holder can never keep a host locked and no pid heuristics are needed to decide
that a lock is stale: if we can take it, its holder is gone. That also makes it immune to pid reuse, which a
"pid in a table" lock is not without recording the process start time. The alternatives were weaker:
an O_EXCL lock file or a SQLite row survives its dead holder and needs that guesswork; `fcntl.lockf` (POSIX
record locks) belongs to the process, not the descriptor, so it would not even exclude two lock attempts
inside one process.

The lock file's body is a small JSON document naming the holder (pid, run id, command, admin box, since),
written after the lock is taken and emptied before it is released. It is only information, for the message
of `HostLocked` ("locked by run 12, `orchestrate apply`, pid 4242, since ..."). A non-empty body found when we
take the lock therefore means the previous holder died without releasing: `HostLock.took_over` names it, so
the runner can say that it took a stale lock over. Lock files are never deleted: deleting a lock file while
another process waits on it is the classic way to let two processes "hold" one lock.

Limits: flock on NFS is emulated with POSIX record locks by Linux; keep the state directory on a local disk.
Locks exclude processes, and separate lock objects in one process too (flock belongs to the open file);
one run is expected to lock a host once.

Nothing here stores secrets: the holder's command is given by the caller, who must pass masked text.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

from orchestrator.statedir import FILE_MODE, LOCKS_DIR, ensure_private_dir, storage_error

_WINDOWS_RESERVED = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"COM{i}" for i in range(10)),
    *(f"LPT{i}" for i in range(10)),
}
# On Windows the locked byte lies far past the body, because msvcrt locks are mandatory: a locked body could
# not be read by the process that wants to name the holder.
_WINDOWS_LOCK_OFFSET = 1 << 30


def utc_now() -> str:
    """UTC time as ISO 8601 with milliseconds, the one timestamp format of the journal and the locks."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class FileLock:
    """An exclusive, non-blocking OS lock on one file, released by the kernel when the holder dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; never blocks. The file (0o600) and its folder (0o700) are created
        if missing. A storage fault (read-only, disk full, `locks` a file) is a StateDirError naming the path."""
        if self._fd is not None:
            return True
        ensure_private_dir(self.path.parent)
        fd = self._open()
        try:
            locked = _lock(fd)
        except OSError as exc:
            os.close(fd)
            raise storage_error(self.path, exc, "lock the file") from None
        except BaseException:
            os.close(fd)
            raise
        if not locked:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def _open(self) -> int:
        """Open the lock file, creating it owner-only (0o600 whatever the umask) if it is new."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, FILE_MODE)
        except FileExistsError:
            pass
        except OSError as exc:
            raise storage_error(self.path, exc, "create the lock file") from None
        else:
            with contextlib.suppress(OSError, AttributeError):  # Windows: no fchmod (before 3.13), no modes
                os.fchmod(fd, FILE_MODE)
            return fd
        try:
            return os.open(self.path, os.O_RDWR)
        except OSError as exc:
            raise storage_error(self.path, exc, "open the lock file") from None

    def read_body(self) -> str:
        """The body, read through our own descriptor (only while we hold the lock)."""
        assert self._fd is not None, "read_body needs the lock"
        try:
            os.lseek(self._fd, 0, os.SEEK_SET)
            chunks = []
            while chunk := os.read(self._fd, 65536):
                chunks.append(chunk)
        except OSError as exc:
            raise storage_error(self.path, exc, "read the lock holder") from None
        return b"".join(chunks).decode("utf-8", errors="replace")

    def write_body(self, text: str) -> None:
        """Replace the body (only while we hold the lock)."""
        assert self._fd is not None, "write_body needs the lock"
        try:
            os.ftruncate(self._fd, 0)
            os.lseek(self._fd, 0, os.SEEK_SET)
            data = text.encode("utf-8")
            while data:
                written = os.write(self._fd, data)
                data = data[written:]
        except OSError as exc:
            raise storage_error(self.path, exc, "write the lock holder") from None

    def release(self, *, clear_body: bool = True) -> None:
        """Empty the body (a clean release leaves no trace) and drop the lock. Safe to call twice."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if clear_body:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, 0)
            _unlock(fd)
        finally:
            os.close(fd)


if sys.platform == "win32":  # pragma: no cover - exercised on Windows admin boxes only
    import msvcrt

    def _lock(fd: int) -> bool:
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        with contextlib.suppress(OSError):
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def held_elsewhere(path: Path) -> bool:
    """Whether some live process holds the lock on `path`, found without writing anything: the file is
    opened read-only and never created, and the lock is taken for an instant only (for `history` on a
    read-only state directory). A missing file is a lock nobody holds; a file that cannot be opened
    counts as held (it cannot be told, and "still running" is the cautious answer)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    except OSError:
        return True
    try:
        try:
            locked = _lock(fd)
        except OSError:
            return True
        if locked:
            _unlock(fd)
        return not locked
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class LockHolder:
    """Who holds (or held) a host lock, as written in the lock file."""

    pid: int
    run_id: int | None
    command: str
    since: str
    admin_host: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> LockHolder | None:
        """The holder named by a lock body, or None if the body is empty or not (yet) a whole document."""
        try:
            data = json.loads(text)
            return cls(
                pid=int(data["pid"]),
                run_id=None if data.get("run_id") is None else int(data["run_id"]),
                command=str(data.get("command", "")),
                since=str(data.get("since", "")),
                admin_host=str(data.get("admin_host", "")),
            )
        except (ValueError, TypeError, KeyError):
            return None


class HostLocked(Exception):
    """Another live run holds the host's lock. The CLI turns this into exit code 3 and prints the message."""

    def __init__(self, host: str, holder: LockHolder | None, waited: float = 0.0) -> None:
        self.host = host
        self.holder = holder
        self.waited = waited
        super().__init__(self._message())

    @property
    def holder_pid(self) -> int | None:
        return self.holder.pid if self.holder else None

    @property
    def holder_command(self) -> str | None:
        return self.holder.command if self.holder else None

    @property
    def since(self) -> str | None:
        return self.holder.since if self.holder else None

    @property
    def run_id(self) -> int | None:
        return self.holder.run_id if self.holder else None

    def _message(self) -> str:
        waited = f" after waiting {self.waited:g}s" if self.waited else ""
        if self.holder is None:
            who = "another process (it has not named itself yet)"
        else:
            h = self.holder
            run = f"run {h.run_id}" if h.run_id is not None else "a run"
            where = f" on {h.admin_host}" if h.admin_host else ""
            who = f"{run} ({h.command or 'unknown command'}, pid {h.pid}{where}) since {h.since}"
        return (
            f"host {self.host} is locked by {who}{waited}; "
            "let it finish, or pass --wait-lock SECONDS to wait for it"
        )


def lock_path(state_dir: Path | str, host: str) -> Path:
    """`<state_dir>/locks/<host>.lock`, with the name made safe for any file system.

    Host names are compared without case (they are DNS names; `HV1` and `hv1` are one machine), anything but
    letters, digits, `-`, `_` and `.` is percent-encoded, and Windows device names are escaped.
    """
    if not host:
        raise ValueError("a host lock needs a host name")
    stem = quote(host.lower(), safe="-_.")
    if stem.split(".")[0].upper() in _WINDOWS_RESERVED:
        stem = f"%{ord(stem[0]):02X}{stem[1:]}"
    return Path(state_dir) / LOCKS_DIR / f"{stem}.lock"


def default_command() -> str:
    """The program and its subcommand only (`orchestrate apply`): arguments could hold something private."""
    program = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "orchestrate"
    sub = next((a for a in sys.argv[1:2] if not a.startswith("-")), "")
    return f"{program} {sub}".strip()


class HostLock:
    """A held host lock; a context manager that releases it on exit. Get one with `HostLock.acquire`."""

    def __init__(self, host: str, file_lock: FileLock, holder: LockHolder, took_over: LockHolder | None):
        self.host = host
        self.path = file_lock.path
        self.holder = holder
        #: The previous holder if it died holding the lock (its body was still there): a stale lock taken over.
        self.took_over = took_over
        self._file_lock = file_lock

    @classmethod
    def acquire(
        cls,
        state_dir: Path | str,
        host: str,
        run_id: int | None,
        wait: float = 0.0,
        *,
        command: str | None = None,
        poll: float = 0.05,
    ) -> HostLock:
        """Take the host's lock, waiting up to `wait` seconds for a live holder to release it.

        Raises HostLocked naming the holder when it is still held after `wait`. A lock whose holder died is
        taken at once (the kernel released it); `took_over` then names the dead holder.
        """
        file_lock = FileLock(lock_path(state_dir, host))
        started = time.monotonic()
        deadline = started + max(0.0, wait)
        delay = max(0.001, poll)
        while not file_lock.try_acquire():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise HostLocked(
                    host, read_holder(file_lock.path), waited=round(time.monotonic() - started, 1)
                )
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.5)
        try:
            previous = LockHolder.from_json(file_lock.read_body())
            holder = LockHolder(
                pid=os.getpid(),
                run_id=run_id,
                command=default_command() if command is None else command,
                since=utc_now(),
                admin_host=socket.gethostname(),
            )
            file_lock.write_body(holder.to_json())
        except BaseException:
            file_lock.release(clear_body=False)
            raise
        return cls(host, file_lock, holder, previous)

    def release(self) -> None:
        """Release the lock (idempotent)."""
        self._file_lock.release()

    @property
    def held(self) -> bool:
        return self._file_lock.held

    def __enter__(self) -> HostLock:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def read_holder(path: Path, attempts: int = 5) -> LockHolder | None:
    """Who holds the lock at `path`, from its body.

    A holder that has just taken the lock may not have written its name yet: the body is then empty, partial,
    or still names the dead previous holder. Such a body is read again a few times before we settle for it.
    """
    holder = None
    for attempt in range(attempts):
        try:
            holder = LockHolder.from_json(path.read_text(encoding="utf-8"))
        except OSError:
            holder = None
        if holder is not None and not _surely_dead(holder):
            return holder
        if attempt + 1 < attempts:
            time.sleep(0.02)
    return holder


def _surely_dead(holder: LockHolder) -> bool:
    """True only when the holder ran on this machine and its pid is gone (POSIX; elsewhere we cannot tell)."""
    if sys.platform == "win32" or holder.admin_host != socket.gethostname():
        return False
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False
