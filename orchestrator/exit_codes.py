"""The exit codes of `orchestrate`, and which run ends with which: the one place this policy lives.

The CLI exits with them; the runner records the same number in the journal and the recap event, so
`history` and `--output json` say what the process exit said.
"""

from __future__ import annotations

from collections.abc import Iterable

OK = 0  # every selected host is as it should be (changed or not)
HOST_FAILED = 1  # a host or one of its VMs failed; the other hosts went on (wins over a locked host)
INVALID_INPUT = 2  # the inventory or the command line is wrong: nothing was contacted
LOCKED = 3  # another run holds a host's lock and no host failed (wait for it, or --wait-lock)
# Ctrl-C, SIGTERM or SIGHUP: what was begun was put back first (128 + SIGINT, the shell's convention)
INTERRUPTED = 130
# A read-only command whose output went away: a closed pipe (`history | head -1`: the reader has what it
# wanted) is the shell's code for it, 128 + SIGPIPE; an output that cannot be written (a full disk) is 1.
OUTPUT_CLOSED = 141
OUTPUT_FAILED = 1


def for_statuses(statuses: Iterable[str]) -> int:
    """A run's code from its hosts' statuses: a failed host beats a locked one.

    A failure needs a person; a lock only needs a later try. A cron wrapper that retries on 3 and alerts on
    1 must never retry away a real failure because another host happened to be busy, so 3 means "the
    locks are the only problem" and 1 means "at least one host failed" (locked hosts may come with it).
    """
    seen = set(statuses)
    if "failed" in seen:
        return HOST_FAILED
    if "locked" in seen:
        return LOCKED
    return OK
