"""The simulated hosts keep their state in the state directory too (`<state dir>/simulator`): its storage
faults are named like the journal's and the locks' (what, which file, the fix), and the read-only commands
work on a read-only state directory with simulated hosts as they do with real ones (audit I-L12).

The stories: the demo on a laptop whose disk fills up during `apply` (before: "internal error: OSError:
[Errno 28]"), and a colleague who may only read the shared state directory and runs `schedules` and `plan`
(before: both hosts failed on opening `_shares.json.lock` for writing).
"""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys

import pytest
from state_support import DEMO, ROOT, files, orchestrate
from test_journal_storage_faults import without_write_access

from orchestrator.journal import Journal


@pytest.mark.parametrize(
    ("code", "problem", "fix"),
    [
        (errno.ENOSPC, "the disk is full while trying to save the simulated host's state", "free space"),
        (errno.EROFS, "cannot save the simulated host's state: read-only or no permission", "write access"),
    ],
    ids=["disk-full", "read-only"],
)
def test_a_storage_fault_of_a_simulated_host_is_named_not_an_internal_error(tmp_path, monkeypatch, code, problem, fix):
    import orchestrator.simulator as simulator

    def fault(path, data):
        raise OSError(code, os.strerror(code))

    state = tmp_path / "state"
    monkeypatch.setattr(simulator, "write_atomic", fault)  # the simulator's save of a changed host

    result = orchestrate(state, "apply", DEMO, "--limit", "hv02.demo.local", "-o", "json")

    assert result.exit_code == 1, (result.output, result.exception)
    events = [json.loads(line) for line in result.stdout.splitlines()]
    [finished] = [e for e in events if e["event"] == "host_done"]
    assert finished["status"] == "failed"
    assert "internal error" not in finished["error"] and "OSError" not in finished["error"]
    assert finished["error"].startswith(f"state directory: {problem}"), finished["error"]
    assert str(state / "simulator" / "hv02.demo.local.json") in finished["error"]
    assert fix in finished["fix"]
    assert not (state / "simulator" / "hv02.demo.local.json").exists()  # nothing half-saved
    monkeypatch.undo()
    with Journal.open(state, read_only=True) as journal:
        [host] = journal.run(journal.runs()[0].id).hosts
    assert host.status == "failed" and host.error == finished["error"]


def test_schedules_and_plan_work_on_a_read_only_state_dir_with_simulated_hosts(tmp_path):
    state = tmp_path / "state"
    assert orchestrate(state, "apply", DEMO).exit_code == 0
    before = files(state)
    prefix = without_write_access(state)
    cli = [*prefix, sys.executable, "-c", "from orchestrator.cli import main; main()"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ORCHESTRATE_STATE_DIR": str(state)}
    try:
        schedules = subprocess.run(
            [*cli, "schedules", DEMO, "-o", "json"], capture_output=True, text=True, timeout=120, env=env
        )
        plan = subprocess.run([*cli, "plan", DEMO], capture_output=True, text=True, timeout=120, env=env)
    finally:
        for path in [state, *state.rglob("*")]:
            path.chmod(stat.S_IMODE(path.stat().st_mode) | 0o200)

    assert schedules.returncode == 0, schedules.stdout + schedules.stderr
    listed = {e["host"]: [t["name"] for t in e["tasks"]] for e in map(json.loads, schedules.stdout.splitlines())
              if e["event"] == "schedules"}
    assert listed == {"hv01.demo.local": ["schedule nightly reset"], "hv02.demo.local": []}
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "would change 0 action(s); 0 host(s) failed; exit 0" in plan.stdout
    for done in (schedules, plan):
        assert "not recorded in `orchestrate history`" in done.stderr  # and told why, once
        assert "internal error" not in done.stdout + done.stderr
    assert files(state) == before
