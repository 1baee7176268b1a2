"""The host's own nightly rollback never runs in the middle of an apply: it takes the host lock too
(orchestrator/host_lock.py), waits for the run that holds it, and gives up naming it, restoring nothing.
Before, the task restored the classroom while an apply was changing it."""

from __future__ import annotations

import json

from checkpoint_support import RENDERER, SimHost, lab_host, lab_vm

from orchestrator.host_lock import LOCK_TEMPLATE, TASK_WAIT_SECONDS, LockRequest
from orchestrator.model import Schedule

NIGHTLY = Schedule("nightly reset", "clean", "03:30", vms="lab-*")
TASK = "schedule nightly reset"


def classroom() -> SimHost:
    host = SimHost(lab_host(lab_vm("lab-01"), lab_vm("lab-02"), schedules=(NIGHTLY,)))
    host.apply()
    return host


def an_apply_still_running(host: SimHost) -> int:
    """Box `laptop`'s apply (run 7) is still at work on the host: it ran the shipped lock-taking part of every
    changing script and has not reached its end, so its PowerShell holds the host lock."""
    request = LockRequest(box="laptop", run=7, command="apply")
    script = RENDERER.render_operation(LOCK_TEMPLATE, host.spec, "6.3", **request.template_context())
    result, pid = host.sim.hold(script)
    assert result.exit_code == 0, result.stderr
    return pid


def test_the_nightly_task_waits_for_a_running_apply_then_gives_up_naming_it() -> None:
    host = classroom()
    host.set_cpus("lab-01", 5)  # the day's drift the task would undo
    pid = an_apply_still_running(host)

    host.start_task(TASK)

    task = next(t for t in host.facts().tasks if t.name == TASK)
    assert task.last_result == 1
    record = json.loads(host.sim.host.tasks[host.sim.host.task_key("\\MultiPoint\\", TASK)].last_output)
    assert record["ok"] is False and "could not take the host lock" in record["error"]
    assert json.loads(record["locked"])["box"] == "laptop" and json.loads(record["locked"])["run"] == 7
    # It waited its bounded time for the apply (simulated: Start-Sleep moves the host's clock), then gave up.
    assert TASK_WAIT_SECONDS <= record["waited_seconds"] <= TASK_WAIT_SECONDS + 60
    assert record["vms"] == [] and host.facts().vm("lab-01").cpus == 5  # nothing restored under the apply

    host.sim.end_process(pid)  # the apply ends
    host.start_task(TASK)
    task = next(t for t in host.facts().tasks if t.name == TASK)
    assert task.last_result == 0
    assert host.facts().vm("lab-01").cpus == 2


def test_a_task_that_finds_the_lock_free_restores_at_once() -> None:
    host = classroom()
    host.set_cpus("lab-02", 6)
    host.start_task(TASK)
    assert host.facts().vm("lab-02").cpus == 2
    assert host.sim.host.open_files == []  # the task's PowerShell ended: its handle closed with it
