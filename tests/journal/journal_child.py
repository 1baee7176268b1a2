"""A second orchestrator process for the journal tests: it starts a run, locks a host, says so, then obeys.

Usage: python journal_child.py STATE_DIR HOST [COMMAND]
Prints one JSON line {"run_id": N, "pid": P} once the run is recorded and the host lock is held, then reads
stdin: "release" finishes the run and releases the lock cleanly; "spin" records actions without end (to be
killed in the middle of a write); end of input exits without cleaning up.
The tests SIGKILL it to play a crash at a random point.
"""

from __future__ import annotations

import json
import os
import sys

from orchestrator.journal import Journal
from orchestrator.locks import HostLock


def main() -> int:
    state_dir, host = sys.argv[1], sys.argv[2]
    command = sys.argv[3] if len(sys.argv) > 3 else "orchestrate apply"
    journal = Journal.open(state_dir)
    for stale in journal.mark_interrupted():
        print(json.dumps({"interrupted": stale.id}), flush=True)
    run_id = journal.start_run(command, "classroom.yaml", {"forks": 2})
    journal.host_started(run_id, host)
    lock = HostLock.acquire(state_dir, host, run_id, command=command)
    print(
        json.dumps({"run_id": run_id, "pid": os.getpid(), "took_over": lock.took_over is not None}),
        flush=True,
    )
    for line in sys.stdin:
        if line.strip() == "release":
            journal.record_action(run_id, host, 0, "create VM seat-1", "changed", 0.0, 1.0, None, None)
            journal.host_finished(run_id, host, "changed")
            lock.release()
            journal.finish_run(run_id, "changed", 0)
            print(json.dumps({"released": run_id}), flush=True)
        elif line.strip() == "spin":
            print(json.dumps({"spinning": run_id}), flush=True)
            index = 0
            while True:
                journal.record_action(run_id, host, index, f"step {index}", "ok", 0.0, 0.5, "0" * 64, None)
                index += 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
