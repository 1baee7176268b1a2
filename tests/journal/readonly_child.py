"""Runs, in a process that cannot write STATE_DIR, what an admin's commands do with the state directory.

Usage: python readonly_child.py STATE_DIR. Prints one JSON object: for each step, the outcome
("ok: ..." or the exception's type and message). The test runs it without write access to the directory
(as a normal user after chmod, or as root without CAP_DAC_OVERRIDE through setpriv).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from orchestrator.journal import Journal
from orchestrator.locks import HostLock
from orchestrator.statedir import check_state_dir


def outcome(step: Callable[[], Any]) -> dict[str, Any]:
    try:
        return {"ok": step()}
    except Exception as exc:  # the test asserts on the type: anything untyped is the failure it looks for
        return {"error": type(exc).__name__, "message": str(exc), "path": str(getattr(exc, "path", ""))}


def history(state: str) -> list[int]:
    with Journal.open(state, read_only=True) as journal:
        return [run.id for run in journal.runs()]


def main() -> int:
    state = sys.argv[1]
    report = {
        "preflight_read": outcome(lambda: check_state_dir(state, writable=False)),
        "preflight_write": outcome(lambda: check_state_dir(state, writable=True)),
        "history": outcome(lambda: history(state)),
        "journal_write": outcome(lambda: Journal.open(state).close()),
        "host_lock": outcome(lambda: HostLock.acquire(state, "hv01", None).release()),
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
