"""The state directory (journal, locks) as storage that can fail: one typed error per fault, and a preflight.

Why a preflight: a storage fault found halfway through a run means hosts were changed and the journal could
not say so. `check_state_dir` is cheap and touches no host, so the CLI calls it before contacting any host
and turns a `StateDirError` into one message (what is wrong with which path, and the fix) and exit 2.

Each fault is one `StateDirError` with `.path` (the file or directory at fault), `.problem` and `.fix`:
- the directory cannot be created, is not a directory, or is read-only (EROFS, EACCES, EPERM);
- the disk (or the user's quota) is full (ENOSPC, EDQUOT), found by writing a small probe file;
- `locks` (or `locks/runs`) is a file; the journal is a directory, empty (0 bytes: emptied under us, so it
  is never silently recreated as a new history), or not a SQLite database (garbage).

Read-only commands (`history`, `schedules`, `plan`) call `check_state_dir(path, writable=False)`: a state
directory that does not exist or is read-only is fine for them, only unreadable or garbage state is not.

Owner-only: the directories and files created here are 0o700 and 0o600 whatever the umask (the mode is set
with chmod after creation, because a umask can only remove bits and a strict one could remove ours too).
Existing files keep their mode: two admins may share a state directory on purpose.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
SQLITE_MAGIC = b"SQLite format 3\x00"
JOURNAL_FILE = "journal.sqlite3"
LOCKS_DIR = "locks"
RUN_LOCKS_DIR = "runs"
_PROBE = ".orchestrate-write-probe"
# The room a run needs beyond the open journal for its first writes (check_room).
ROOM_BYTES = 64 * 1024

_READ_ONLY = {errno.EROFS, errno.EACCES, errno.EPERM}
_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_WRONG_KIND = {errno.ENOTDIR, errno.EEXIST, errno.EISDIR}


class StateDirError(RuntimeError):
    """The state directory (or a file in it) cannot be used. The message names the path and the fix."""

    def __init__(self, path: Path | str, problem: str, fix: str) -> None:
        self.path = Path(path)
        self.problem = problem
        self.fix = fix
        super().__init__(f"{self.path}: {problem} (fix: {fix})")


def storage_error(path: Path | str, exc: OSError, doing: str) -> StateDirError:
    """An OSError met while `doing` something to `path` -> the StateDirError that explains it."""
    where = Path(path)
    home = where if where.is_dir() else where.parent
    code = exc.errno
    if code in _FULL:
        return StateDirError(
            where,
            f"the disk is full while trying to {doing}",
            f"free space on the file system of {home}, or pass --state-dir on another disk",
        )
    if code in _READ_ONLY:
        return StateDirError(
            where,
            f"cannot {doing}: read-only or no permission ({os.strerror(code or 0)})",
            f"give this user write access to {home} (or remount it read-write), or pass --state-dir "
            "with a writable directory; history, schedules and plan work on a read-only state directory",
        )
    if code in _WRONG_KIND:
        return wrong_kind(where, doing)
    return StateDirError(
        where, f"cannot {doing}: {os.strerror(code or 0) if code else exc}", "check the path and its disk"
    )


def wrong_kind(path: Path, doing: str) -> StateDirError:
    """A path that is a file where a directory belongs, or the reverse (or has a file among its parents)."""
    try:
        is_dir = path.is_dir()
    except OSError:
        is_dir = False
    found = "a directory" if is_dir else "not a directory"
    return StateDirError(
        path,
        f"cannot {doing}: {path} (or one of its parents) is {found} where the orchestrator keeps its state",
        f"move it away (mv '{path}' '{path}.bak') so the orchestrator can recreate it, or pass another "
        "--state-dir",
    )


def check_state_dir(path: Path | str, *, writable: bool) -> None:
    """Raise StateDirError if the state directory cannot serve a command; never contacts a host.

    `writable=True` (apply, checkpoint, rollback, move, ...): creates the directory (0o700) if missing and
    proves that a file can be written in it and in `locks/`. `writable=False` (history, schedules, plan):
    only what exists must be readable and of the right kind; nothing is created.
    """
    state = Path(path)
    if not writable and not state.exists():
        return
    if writable:
        ensure_private_dir(state)
        refuse_root_in_foreign_dir(state)
    elif not state.is_dir():
        raise wrong_kind(state, "read the state directory")
    check_journal_file(state / JOURNAL_FILE)
    locks = state / LOCKS_DIR
    for directory in (locks, locks / RUN_LOCKS_DIR):
        if directory.exists() and not directory.is_dir():
            raise wrong_kind(directory, "use the lock directory")
    if writable:
        ensure_private_dir(locks / RUN_LOCKS_DIR)
        _probe_write(state)
        _probe_write(locks)


def refuse_root_in_foreign_dir(state: Path) -> None:
    """Root may not write into a state directory another account owns.

    Every file made here is 0o600 and owned by whoever made it, so a lock file or a simulated host's state
    that `sudo orchestrate apply` creates in the service account's /var/lib/orchestrate (README's systemd
    example) is root's alone: that account's next nightly run cannot open it and fails on that host every
    night. Refusing up front keeps the directory usable by its owner; root has its own default directory
    whenever it is not handed someone else's.
    """
    geteuid = getattr(os, "geteuid", None)
    if geteuid is None or geteuid() != 0:
        return
    try:
        owner = state.stat().st_uid
    except OSError as exc:
        raise storage_error(state, exc, "read the state directory") from None
    if owner == 0:
        return
    try:
        import pwd

        name = pwd.getpwuid(owner).pw_name
    except (ImportError, KeyError):
        name = str(owner)
    raise StateDirError(
        state,
        f"the state directory belongs to {name} (uid {owner}), and files root writes there would be root's "
        f"alone: {name}'s own runs could no longer open their locks",
        f"run as its owner (sudo -u {name} orchestrate ...), or give root a state directory of its own "
        "(--state-dir or ORCHESTRATE_STATE_DIR)",
    )


def damaged_journal_fix(path: Path) -> str:
    """The fix for a journal that cannot be read as one: keep it aside (nothing is deleted), start afresh."""
    return f"move it away (mv '{path}' '{path}.damaged') to start a new history, or restore it from a backup"


def check_journal_file(path: Path) -> None:
    """The journal is absent, or a regular, readable, non-empty SQLite file."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise storage_error(path, exc, "read the journal") from None
    if stat.S_ISDIR(info.st_mode):
        raise wrong_kind(path, "open the journal")
    if info.st_size == 0:
        raise StateDirError(
            path,
            "the journal is empty (0 bytes): it was truncated or replaced, and the run history is gone",
            f"restore it from a backup; or, to start a new history on purpose, remove it (rm '{path}')",
        )
    try:
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise storage_error(path, exc, "read the journal") from None
    if head != SQLITE_MAGIC:
        raise StateDirError(
            path,
            "the journal is not a SQLite database (it holds something else, or is damaged)",
            damaged_journal_fix(path),
        )


def ensure_private_dir(path: Path) -> None:
    """Create `path` and any missing parents as 0o700 (whatever the umask); an existing one keeps its mode."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    if current.exists() and not current.is_dir():
        raise wrong_kind(current, f"create {path}")
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=DIR_MODE)
        except FileExistsError:
            if not directory.is_dir():
                raise wrong_kind(directory, f"create {path}") from None
            continue
        except OSError as exc:
            raise storage_error(directory, exc, "create the directory") from None
        with contextlib.suppress(OSError):
            os.chmod(directory, DIR_MODE)


def create_private_file(path: Path) -> bool:
    """Create `path` empty with mode 0o600 (whatever the umask) if it does not exist; True if we created it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return False
    except OSError as exc:
        raise storage_error(path, exc, "create the file") from None
    try:
        with contextlib.suppress(OSError, AttributeError):  # Windows: no fchmod (before 3.13), no modes
            os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return True


def check_room(state: Path | str) -> None:
    """After the journal is open (its WAL index made), prove there is room for a run's first writes: the
    run's row, a host's lock holder and a few actions in the WAL (ROOM_BYTES). Found here, a nearly full
    disk is a refusal before any host is contacted, not hosts failing on their lock write mid-run."""
    _probe_write(Path(state), ROOM_BYTES)


def _probe_write(directory: Path, size: int = 4096) -> None:
    """Write, sync and remove a file of `size` bytes: proves the directory is writable and the disk has room."""
    probe = directory / f"{_PROBE}-{os.getpid()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    except OSError as exc:
        raise storage_error(directory, exc, f"write in {directory}") from None
    try:
        line = b"orchestrate state directory write probe\n"  # 4 KiB by default: one page, as a journal write
        data = line * (size // len(line) + 1)
        while data:
            data = data[os.write(fd, data) :]
        os.fsync(fd)
    except OSError as exc:
        raise storage_error(directory, exc, f"write in {directory}") from None
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            probe.unlink()
